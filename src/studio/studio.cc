#include "studio/studio.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "studio/api.h"

#ifndef RAYPIPE_STUDIO_UI_DIR
#define RAYPIPE_STUDIO_UI_DIR ""
#endif

namespace raypipe::studio {
namespace {

std::string_view ContentTypeOf(std::string_view path) {
  auto ends_with = [path](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".json")) return "application/json";
  return "application/octet-stream";
}

// A UI file path is letters, digits, '-', '_', '.' and '/' with no ".." and no hidden files.
bool IsSafeUiPath(std::string_view path) {
  if (path.empty() || path.size() > 200) return false;
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  return path.find("..") == std::string_view::npos && path.front() != '.' &&
         path.find("/.") == std::string_view::npos;
}

void SecurityHeaders(serving::HttpResponse& response) {
  // Only our own scripts and styles run; data is never markup (see ui/README in the module).
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
}

void ServeUiFile(const std::string& ui_dir, const serving::HttpRequest& request,
                 serving::HttpResponse& response) {
  SecurityHeaders(response);
  if (request.method != "GET" && request.method != "HEAD") {
    response.status = 405;
    response.headers.emplace_back("Allow", "GET, HEAD");
    response.body = "only GET and HEAD are served outside /api/\n";
    return;
  }
  std::string relative = request.path == "/" ? "index.html" : request.path.substr(1);
  if (!IsSafeUiPath(relative)) {
    response.status = 404;
    response.body = "not found: " + request.path + "\n";
    return;
  }
  std::ifstream file(ui_dir + "/" + relative, std::ios::binary);
  if (!file) {
    response.status = 404;
    response.body = "not found: " + request.path + "\n";
    return;
  }
  std::ostringstream text;
  text << file.rdbuf();
  response.status = 200;
  response.content_type = std::string(ContentTypeOf(relative));
  response.body = text.str();
  response.headers.emplace_back("Cache-Control", "no-cache");
}

}  // namespace

struct Studio::State {
  std::string ui_dir;
  std::unique_ptr<pipeline::EngineHost> host;
  std::unique_ptr<experiments::ExperimentStore> experiments;
  std::unique_ptr<registry::ModelRegistry> registry;
  std::unique_ptr<serving::EndpointStore> endpoints;
  std::unique_ptr<featurestore::FeatureStore> features;
  std::unique_ptr<ExecutionLauncher> launcher;
  std::unique_ptr<Router> router;
  std::unique_ptr<serving::HttpServer> server;  // stopped before the rest is destroyed
};

Result<std::unique_ptr<Studio>> Studio::Start(StudioOptions options) {
  auto state = std::make_unique<State>();
  state->ui_dir = options.ui_dir.empty() ? std::string(RAYPIPE_STUDIO_UI_DIR) : options.ui_dir;
  std::error_code error;
  if (state->ui_dir.empty() ||
      !std::filesystem::is_regular_file(state->ui_dir + "/index.html", error)) {
    return NotFoundError("the studio's UI files are not in '" + state->ui_dir +
                         "' (no index.html there)");
  }
  const std::string home = options.host_options.home;
  ASSIGN_OR_RETURN(state->host, pipeline::EngineHost::Open(std::move(options.host_options)));
  store::MetadataStore* metadata = &state->host->metadata();
  ASSIGN_OR_RETURN(state->experiments, experiments::ExperimentStore::Open(metadata));
  ASSIGN_OR_RETURN(state->registry, registry::ModelRegistry::Open(metadata));
  ASSIGN_OR_RETURN(state->endpoints, serving::EndpointStore::Open(metadata));
  featurestore::FeatureStoreOptions feature_options;
  feature_options.home = home;
  ASSIGN_OR_RETURN(state->features, featurestore::FeatureStore::Open(feature_options));
  state->launcher = std::make_unique<ExecutionLauncher>(&state->host->engine());

  state->router = std::make_unique<Router>(options.auth_token);
  ApiContext context{state->host.get(),      state->experiments.get(), state->registry.get(),
                     state->endpoints.get(), state->features.get(),    state->launcher.get()};
  RETURN_IF_ERROR(AddMetaRoutes(*state->router));
  RETURN_IF_ERROR(AddPipelineRoutes(*state->router, context));
  RETURN_IF_ERROR(AddExperimentRoutes(*state->router, context));
  RETURN_IF_ERROR(AddRegistryRoutes(*state->router, context));

  serving::HttpServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.workers = options.workers;
  server_options.max_body_bytes = 1024 * 1024;
  const Router* router = state->router.get();
  const std::string ui_dir = state->ui_dir;
  ASSIGN_OR_RETURN(state->server,
                   serving::HttpServer::Start(
                       server_options, [router, ui_dir](const serving::HttpRequest& request,
                                                        serving::HttpResponse& response) {
                         if (request.path == "/api" || request.path.rfind("/api/", 0) == 0) {
                           router->Dispatch(request, response);
                         } else {
                           ServeUiFile(ui_dir, request, response);
                         }
                       }));
  return std::unique_ptr<Studio>(new Studio(std::move(state)));
}

Studio::Studio(std::unique_ptr<State> state) : state_(std::move(state)) {}

Studio::~Studio() { Shutdown(std::chrono::milliseconds(0)); }

int Studio::port() const { return state_->server->port(); }

const std::string& Studio::ui_dir() const { return state_->ui_dir; }

void Studio::Shutdown(std::chrono::milliseconds drain) {
  state_->server->Shutdown(drain);
  state_->launcher->StopAll();
}

}  // namespace raypipe::studio
