#include "studio/router.h"

#include <exception>
#include <set>
#include <utility>

namespace raypipe::studio {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Compares in time independent of where the strings differ (the token is a secret).
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t index = 0; index < a.size(); ++index) {
    difference |= static_cast<unsigned char>(a[index] ^ (index < b.size() ? b[index] : 0));
  }
  return difference == 0;
}

void WriteJson(serving::HttpResponse& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.headers.emplace_back("Cache-Control", "no-store");
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view target) {
  std::map<std::string, std::string> query;
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return query;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key_text(pair.substr(0, eq));
    std::string value_text(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    for (std::string* text : {&key_text, &value_text}) {
      for (char& c : *text) {
        if (c == '+') c = ' ';
      }
    }
    ASSIGN_OR_RETURN(std::string key, PercentDecode(key_text));
    ASSIGN_OR_RETURN(std::string value, PercentDecode(value_text));
    query[key] = std::move(value);
  }
  return query;
}

}  // namespace

const std::string& ApiRequest::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = path_params.find(name);
  return it == path_params.end() ? kEmpty : it->second;
}

std::string ApiRequest::Query(const std::string& name, std::string fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

Result<int64_t> ApiRequest::QueryInt(const std::string& name, int64_t fallback, int64_t min,
                                     int64_t max) const {
  auto it = query.find(name);
  if (it == query.end()) return fallback;
  const std::string& text = it->second;
  int64_t value = 0;
  bool valid = !text.empty() && text.size() <= 18;
  for (char c : text) {
    if (c < '0' || c > '9') {
      valid = false;
      break;
    }
    value = value * 10 + (c - '0');
  }
  if (!valid || value < min || value > max) {
    return InvalidArgumentError("query parameter '" + name + "': expected an integer from " +
                                std::to_string(min) + " to " + std::to_string(max) +
                                ", found '" + text + "'");
  }
  return value;
}

Result<nlohmann::json> ApiRequest::JsonBody() const {
  if (http == nullptr || http->body.empty()) return nlohmann::json::object();
  nlohmann::json body = nlohmann::json::parse(http->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return InvalidArgumentError("request body is not valid JSON");
  }
  if (!body.is_object()) {
    return InvalidArgumentError("request body must be a JSON object, found " +
                                std::string(body.type_name()));
  }
  return body;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

nlohmann::json ErrorBody(const Status& status) {
  return {{"error",
           {{"code", std::string(StatusCodeName(status.code()))},
            {"message", std::string(status.message())}}}};
}

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t index = 0; index < text.size(); ++index) {
    if (text[index] != '%') {
      out.push_back(text[index]);
      continue;
    }
    if (index + 2 >= text.size()) {
      return InvalidArgumentError("malformed percent escape in '" + std::string(text) + "'");
    }
    const int high = HexValue(text[index + 1]);
    const int low = HexValue(text[index + 2]);
    if (high < 0 || low < 0) {
      return InvalidArgumentError("malformed percent escape in '" + std::string(text) + "'");
    }
    out.push_back(static_cast<char>(high * 16 + low));
    index += 2;
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status Router::Add(Route route) {
  if (route.pattern.empty() || route.pattern.front() != '/' || !route.handler) {
    return InvalidArgumentError("route '" + route.pattern + "' needs a path starting with '/' "
                                "and a handler");
  }
  for (std::string_view segment : SplitPath(route.pattern)) {
    if (segment.find_first_of("{}") != std::string_view::npos && !IsParam(segment)) {
      return InvalidArgumentError("route '" + route.pattern + "': malformed segment '" +
                                  std::string(segment) + "'");
    }
  }
  for (const Route& existing : routes_) {
    if (existing.method == route.method && existing.pattern == route.pattern) {
      return AlreadyExistsError("route " + route.method + " " + route.pattern + " is declared twice");
    }
  }
  routes_.push_back(std::move(route));
  return Status::Ok();
}

std::optional<std::map<std::string, std::string>> Router::Match(const Route& route,
                                                                std::string_view path,
                                                                Status* error) const {
  const std::vector<std::string_view> pattern = SplitPath(route.pattern);
  const std::vector<std::string_view> segments = SplitPath(path);
  if (pattern.size() != segments.size()) return std::nullopt;
  std::map<std::string, std::string> params;
  for (size_t index = 0; index < pattern.size(); ++index) {
    if (IsParam(pattern[index])) {
      if (segments[index].empty()) return std::nullopt;
      Result<std::string> decoded = PercentDecode(segments[index]);
      if (!decoded.ok()) {
        *error = decoded.status();
        return std::nullopt;
      }
      params[std::string(pattern[index].substr(1, pattern[index].size() - 2))] = *decoded;
    } else if (pattern[index] != segments[index]) {
      return std::nullopt;
    }
  }
  return params;
}

bool Router::Matches(std::string_view path) const {
  Status ignored;
  for (const Route& route : routes_) {
    if (Match(route, path, &ignored)) return true;
  }
  return false;
}

void Router::Dispatch(const serving::HttpRequest& request, serving::HttpResponse& response) const {
  Status error;
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    std::optional<std::map<std::string, std::string>> params = Match(route, request.path, &error);
    if (!error.ok()) {
      WriteJson(response, 400, ErrorBody(error));
      return;
    }
    if (!params) continue;
    const bool head_of_get = request.method == "HEAD" && route.method == "GET";
    if (route.method != request.method && !head_of_get) {
      allowed.insert(route.method);
      continue;
    }
    if (route.changes_state && !auth_token_.empty()) {
      std::string_view header = request.Header("authorization");
      constexpr std::string_view kBearer = "Bearer ";
      if (header.substr(0, kBearer.size()) != kBearer) {
        WriteJson(response, 401,
                  ErrorBody(Status(StatusCode::kPermissionDenied,
                                   request.method + " " + request.path +
                                       " changes state and needs 'Authorization: Bearer "
                                       "<token>' (the studio was started with "
                                       "--auth-token-file)")));
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
        return;
      }
      if (!SameSecret(header.substr(kBearer.size()), auth_token_)) {
        WriteJson(response, 403,
                  ErrorBody(PermissionDeniedError("the bearer token is not the studio's token")));
        return;
      }
    }
    ApiRequest api;
    api.http = &request;
    api.path_params = std::move(*params);
    Result<std::map<std::string, std::string>> query = ParseQuery(request.target);
    if (!query.ok()) {
      WriteJson(response, 400, ErrorBody(query.status()));
      return;
    }
    api.query = std::move(*query);
    try {
      Result<ApiResponse> answer = route.handler(api);
      if (!answer.ok()) {
        WriteJson(response, HttpStatusFor(answer.status()), ErrorBody(answer.status()));
      } else {
        WriteJson(response, answer->status, answer->body);
      }
    } catch (const std::exception& exception) {
      WriteJson(response, 500,
                ErrorBody(InternalError(request.method + " " + request.path +
                                        ": unexpected exception: " + exception.what())));
    }
    return;
  }
  if (!allowed.empty()) {
    std::string allow;
    for (const std::string& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    WriteJson(response, 405,
              ErrorBody(Status(StatusCode::kInvalidArgument,
                               request.method + " is not allowed on " + request.path +
                                   " (allowed: " + allow + ")")));
    response.headers.emplace_back("Allow", allow);
    return;
  }
  WriteJson(response, 404,
            ErrorBody(NotFoundError("no API route " + request.method + " " + request.path +
                                    "; see /api/openapi.json")));
}

}  // namespace raypipe::studio
