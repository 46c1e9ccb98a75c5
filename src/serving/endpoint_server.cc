#include "serving/endpoint_server.h"

#include "serving/body_parser.h"

namespace raypipe::serving {

namespace {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char difference = 0;
  for (size_t char_idx = 0; char_idx < a.size(); ++char_idx) {
    difference |= static_cast<unsigned char>(a[char_idx] ^ b[char_idx]);
  }
  return difference == 0;
}

void SetError(HttpResponse& response, int status, std::string_view message) {
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::string(message) + "\n";
}

}  // namespace

EndpointServer::EndpointServer(std::string auth_token) : auth_token_(std::move(auth_token)) {}

EndpointServer::~EndpointServer() { Shutdown(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<EndpointServer>> EndpointServer::Start(EndpointServerOptions options) {
  std::unique_ptr<EndpointServer> server(new EndpointServer(std::move(options.auth_token)));
  EndpointServer* self = server.get();
  ASSIGN_OR_RETURN(server->http_,
                   HttpServer::Start(std::move(options.http),
                                     [self](const HttpRequest& request, HttpResponse& response) {
                                       self->Handle(request, response);
                                     }));
  return server;
}

void EndpointServer::Shutdown(std::chrono::milliseconds drain) {
  if (http_ != nullptr) http_->Shutdown(drain);
}

uint64_t EndpointServer::NextRandom() {
  // SplitMix64 over a shared counter: lock-free and well spread.
  uint64_t z = random_state_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void EndpointServer::Handle(const HttpRequest& request, HttpResponse& response) {
  if (request.path == "/invocations") {
    if (request.method != "POST") {
      response.headers.emplace_back("Allow", "POST");
      return SetError(response, 405, "use POST /invocations");
    }
    const auto start = std::chrono::steady_clock::now();
    Invoke(request, response);
    metrics_.ObserveLatency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return;
  }
  if (request.path == "/ping") {
    if (request.method != "GET" && request.method != "HEAD") {
      return SetError(response, 405, "use GET /ping");
    }
    if (runtime_.Current() == nullptr) return SetError(response, 503, "no model loaded yet");
    response.body = "";
    return;
  }
  if (request.path == "/metrics") {
    if (request.method != "GET") return SetError(response, 405, "use GET /metrics");
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics_.Render();
    return;
  }
  SetError(response, 404,
           "no route " + request.path + "; this endpoint serves GET /ping, POST /invocations and "
           "GET /metrics");
}

void EndpointServer::Invoke(const HttpRequest& request, HttpResponse& response) {
  auto reject = [&](int status, std::string_view message) {
    metrics_.CountRejected(status);
    SetError(response, status, message);
  };
  if (!auth_token_.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    std::string_view authorization = request.Header("authorization");
    if (authorization.substr(0, kBearer.size()) != kBearer ||
        !ConstantTimeEquals(authorization.substr(kBearer.size()), auth_token_)) {
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return reject(401, "missing or wrong bearer token (Authorization: Bearer <token>)");
    }
  }
  Result<BodyFormat> format = ParseContentType(request.Header("content-type"));
  if (!format.ok()) return reject(415, format.status().message());
  Result<BodyFormat> reply_format = ParseAccept(request.Header("accept"), *format);
  if (!reply_format.ok()) return reject(406, reply_format.status().message());
  std::shared_ptr<const VariantSet> variants = runtime_.Current();
  if (variants == nullptr) return reject(503, "no model loaded yet");

  const Variant* variant = nullptr;
  if (std::string_view target = request.Header("x-amzn-sagemaker-target-variant");
      !target.empty()) {
    variant = variants->Find(target);
    if (variant == nullptr) {
      return reject(400, "no variant '" + std::string(target) + "' on this endpoint");
    }
  } else {
    variant = &variants->Pick(NextRandom());
  }
  VariantMetrics& counters = *variant->metrics;
  counters.requests.fetch_add(1, std::memory_order_relaxed);
  response.headers.emplace_back("X-Raypipe-Variant", variant->name);
  response.headers.emplace_back("X-Raypipe-Model", variant->model_version);

  Result<FeatureRows> rows = ParseBody(*format, request.body, variant->model->features());
  if (!rows.ok()) {
    counters.errors_4xx.fetch_add(1, std::memory_order_relaxed);
    return SetError(response, 400, rows.status().message());
  }
  Result<std::vector<float>> predictions = variant->model->Predict(rows->values, rows->num_rows);
  if (!predictions.ok()) {
    const bool client_error = predictions.status().code() == StatusCode::kInvalidArgument;
    (client_error ? counters.errors_4xx : counters.errors_5xx)
        .fetch_add(1, std::memory_order_relaxed);
    return SetError(response, client_error ? 400 : 500,
                    "prediction failed: " + std::string(predictions.status().message()));
  }
  response.status = 200;
  response.content_type = std::string(ContentTypeName(*reply_format));
  response.body = FormatPredictions(*predictions, *reply_format);
}

}  // namespace raypipe::serving
