#pragma once

// Routing for the studio's JSON API: a table of (method, path pattern) -> handler, where a
// pattern's `{name}` segment matches one percent-decoded path segment. The same table produces
// the OpenAPI document (openapi.h), so the document cannot drift from what is served.
//
//   Router router;
//   router.Add({"GET", "/api/executions/{id}", "Describe an execution", ..., handler});
//   router.Dispatch(http_request, http_response);
//
// Errors are JSON {"error": {"code": "NotFound", "message": "..."}} with the status code of
// HttpStatusFor. Thread-safe once every route is added (Dispatch only reads).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "serving/http_server.h"

namespace raypipe::studio {

// One API call as a handler sees it.
struct ApiRequest {
  const serving::HttpRequest* http = nullptr;
  std::map<std::string, std::string> path_params;  // {name} -> decoded segment
  std::map<std::string, std::string> query;        // decoded; the last value of a repeated key

  // The path parameter (REQUIRES: declared in the route's pattern).
  const std::string& Param(const std::string& name) const;
  // A query value, or `fallback` when absent.
  std::string Query(const std::string& name, std::string fallback = "") const;
  // A non-negative integer query value within [min, max]; InvalidArgument naming the parameter.
  Result<int64_t> QueryInt(const std::string& name, int64_t fallback, int64_t min,
                           int64_t max) const;
  // The body as a JSON object ({} when empty); InvalidArgument naming the offset otherwise.
  Result<nlohmann::json> JsonBody() const;
};

// A handler's answer: JSON with a status code (200 unless said otherwise).
struct ApiResponse {
  int status = 200;
  nlohmann::json body;
};

using RouteHandler = std::function<Result<ApiResponse>(const ApiRequest&)>;

struct Route {
  std::string method;   // "GET", "POST", ...
  std::string pattern;  // "/api/executions/{id}/steps/{step}"
  std::string summary;  // one line, for the OpenAPI document
  // Query parameters the route reads (name -> description), for the OpenAPI document.
  std::vector<std::pair<std::string, std::string>> query_params;
  bool changes_state = false;  // requires the token when one is configured
  RouteHandler handler;
};

// The HTTP status of a Status code: NotFound 404, InvalidArgument / OutOfRange 400,
// AlreadyExists / FailedPrecondition / Aborted 409, PermissionDenied 403, Unavailable 503,
// Unimplemented 501, others 500.
int HttpStatusFor(const Status& status);

// {"error": {"code": "NotFound", "message": "..."}}.
nlohmann::json ErrorBody(const Status& status);

// Percent-decodes `text` ('+' stays '+'); InvalidArgument for a malformed escape.
Result<std::string> PercentDecode(std::string_view text);
// Encodes every byte outside [A-Za-z0-9-._~].
std::string PercentEncode(std::string_view text);

class Router {
 public:
  // `auth_token` empty: no token required. Otherwise a route with changes_state needs
  // `Authorization: Bearer <token>` (401 without one, 403 with a wrong one).
  explicit Router(std::string auth_token = "") : auth_token_(std::move(auth_token)) {}

  // InvalidArgument for a malformed pattern; AlreadyExists for a duplicate (method, pattern).
  Status Add(Route route);

  const std::vector<Route>& routes() const { return routes_; }
  bool token_required() const { return !auth_token_.empty(); }

  // Whether some route's pattern matches `path` (under any method).
  bool Matches(std::string_view path) const;

  // Answers the request: 404 when no pattern matches, 405 (with Allow) when the pattern
  // matches under another method, the handler's answer otherwise. Exceptions from a handler
  // become a 500 with their message.
  void Dispatch(const serving::HttpRequest& request, serving::HttpResponse& response) const;

 private:
  std::optional<std::map<std::string, std::string>> Match(const Route& route,
                                                          std::string_view path,
                                                          Status* error) const;

  const std::string auth_token_;
  std::vector<Route> routes_;
};

}  // namespace raypipe::studio
