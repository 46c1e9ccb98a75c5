#include "cli/endpoint_commands.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/context.h"
#include "core/logging.h"
#include "registry/model_registry.h"
#include "serving/deployment.h"
#include "serving/endpoint_runner.h"
#include "serving/endpoint_store.h"
#include "serving/http_client.h"
#include "store/artifact_store.h"
#include "store/home.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::cli {

namespace {

using nlohmann::json;

// The stores under RAYPIPE_HOME that endpoint commands use.
struct Stores {
  std::unique_ptr<store::SqliteMetadataStore> metadata;
  std::unique_ptr<store::ArtifactStore> artifacts;
  std::unique_ptr<registry::ModelRegistry> registry;
  std::unique_ptr<serving::EndpointStore> endpoints;
};

Result<Stores> OpenStores(const CommandContext& context) {
  Stores stores;
  const std::filesystem::path& home = context.options().home;
  ASSIGN_OR_RETURN(stores.metadata, store::OpenHomeMetadata(home));
  ASSIGN_OR_RETURN(stores.artifacts, store::OpenHomeArtifacts(home));
  ASSIGN_OR_RETURN(stores.registry, registry::ModelRegistry::Open(stores.metadata.get()));
  ASSIGN_OR_RETURN(stores.endpoints, serving::EndpointStore::Open(stores.metadata.get()));
  return stores;
}

std::string VariantText(const serving::VariantConfig& variant, double total_weight) {
  char share[32];
  std::snprintf(share, sizeof(share), "%.0f%%", 100.0 * variant.weight / total_weight);
  return variant.name + "=" + variant.group + ":" + std::to_string(variant.version) + " (" +
         share + ")";
}

std::string Url(const serving::EndpointConfig& config) {
  return "http://" + config.host + ":" + std::to_string(config.port);
}

json ToJson(const serving::EndpointConfig& config, bool probe) {
  json variants = json::array();
  double total = 0;
  for (const auto& variant : config.variants) total += variant.weight;
  for (const auto& variant : config.variants) {
    variants.push_back({{"name", variant.name},
                        {"model_package", variant.group + ":" + std::to_string(variant.version)},
                        {"weight", variant.weight},
                        {"traffic", variant.weight / total}});
  }
  json out = {{"name", config.name},
              {"url", Url(config)},
              {"host", config.host},
              {"port", config.port},
              {"variants", variants},
              {"revision", config.revision},
              {"created_at", config.created_at},
              {"updated_at", config.updated_at}};
  if (probe) out["status"] = std::string(serving::ServingStateName(serving::ProbeEndpoint(config)));
  return out;
}

// The variants given by --model-package (one AllTraffic variant) or --variant (repeated).
Result<std::optional<std::vector<serving::VariantConfig>>> VariantsFromFlags(
    const ParsedArgs& args) {
  const bool has_package = args.Has("model-package");
  const bool has_variants = args.Has("variant");
  if (has_package && has_variants) {
    return InvalidArgumentError("give either --model-package or --variant, not both");
  }
  std::vector<serving::VariantConfig> variants;
  if (has_package) {
    ASSIGN_OR_RETURN(serving::VariantConfig variant,
                     serving::ParseModelPackageRef(args.GetString("model-package")));
    variants.push_back(std::move(variant));
  } else if (has_variants) {
    for (const std::string& text : args.GetAll("variant")) {
      ASSIGN_OR_RETURN(serving::VariantConfig variant, serving::ParseVariantSpec(text));
      variants.push_back(std::move(variant));
    }
  } else {
    return std::optional<std::vector<serving::VariantConfig>>();
  }
  return std::optional<std::vector<serving::VariantConfig>>(std::move(variants));
}

void PrintEndpoint(CommandContext& context, const serving::EndpointConfig& config, bool probe) {
  json object = ToJson(config, probe);
  if (!context.json()) {
    double total = 0;
    for (const auto& variant : config.variants) total += variant.weight;
    std::string variants;
    for (const auto& variant : config.variants) {
      if (!variants.empty()) variants += ", ";
      variants += VariantText(variant, total);
    }
    object["variants"] = variants;
  }
  context.PrintObject(object);
}

int RunCreate(CommandContext& context, const ParsedArgs& args) {
  auto specs = VariantsFromFlags(args);
  if (!specs.ok()) return context.UsageError(specs.status().message());
  if (!specs->has_value()) return context.UsageError("give --model-package or --variant");
  auto stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  serving::DeployRequest request;
  request.endpoint = args.GetArg("NAME");
  request.variants = std::move(**specs);
  request.host = args.GetString("host");
  request.port = static_cast<int>(args.GetInt64("port"));
  request.allow_unapproved = args.GetBool("allow-unapproved");
  auto deployed = serving::DeployEndpoint(*stores->registry, *stores->artifacts,
                                          *stores->endpoints, std::move(request),
                                          serving::DeployMode::kCreate);
  if (!deployed.ok()) return context.Fail(deployed.status());
  const serving::EndpointConfig& created = deployed->config;
  context.PrintLine("created endpoint " + created.name + "; serve it with: raypipe serve " +
                    created.name);
  PrintEndpoint(context, created, false);
  return kExitSuccess;
}

int RunList(CommandContext& context, const ParsedArgs&) {
  auto stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  auto endpoints = stores->endpoints->List();
  if (!endpoints.ok()) return context.Fail(endpoints.status());
  std::vector<Row> rows;
  for (const auto& config : *endpoints) {
    double total = 0;
    for (const auto& variant : config.variants) total += variant.weight;
    std::string variants;
    for (const auto& variant : config.variants) {
      if (!variants.empty()) variants += ", ";
      variants += VariantText(variant, total);
    }
    rows.push_back({config.name, variants, Url(config), config.revision, config.updated_at});
  }
  context.PrintTable({"name", "variants", "url", "revision", "updated_at"}, rows);
  return kExitSuccess;
}

int RunDescribe(CommandContext& context, const ParsedArgs& args) {
  auto stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  auto config = stores->endpoints->Get(args.GetArg("NAME"));
  if (!config.ok()) return context.Fail(config.status());
  PrintEndpoint(context, *config, true);
  return kExitSuccess;
}

int RunUpdate(CommandContext& context, const ParsedArgs& args) {
  auto specs = VariantsFromFlags(args);
  if (!specs.ok()) return context.UsageError(specs.status().message());
  const std::vector<std::string> weights = args.GetAll("weight");
  if (!specs->has_value() && weights.empty() && !args.Has("port")) {
    return context.UsageError("nothing to update: give --model-package, --variant, --weight or "
                              "--port");
  }
  auto stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  const std::string name = args.GetArg("NAME");
  auto current = stores->endpoints->Get(name);
  if (!current.ok()) return context.Fail(current.status());
  // New specs (resolved and checked by DeployEndpoint) or the record's own variants.
  std::vector<serving::VariantConfig> variants =
      specs->has_value() ? std::move(**specs) : current->variants;
  for (const std::string& text : weights) {
    const size_t equals = text.find('=');
    std::optional<double> weight =
        equals == std::string::npos ? std::nullopt : ParseDouble(text.substr(equals + 1));
    if (!weight || !(*weight > 0)) {
      return context.UsageError("--weight " + text + ": expected VARIANT=WEIGHT with WEIGHT > 0");
    }
    bool found = false;
    for (auto& variant : variants) {
      if (variant.name == text.substr(0, equals)) {
        variant.weight = *weight;
        found = true;
      }
    }
    if (!found) {
      return context.Fail(NotFoundError("--weight " + text + ": endpoint " + name +
                                        " has no variant '" + text.substr(0, equals) + "'"));
    }
  }
  std::optional<int> port;
  if (args.Has("port")) port = static_cast<int>(args.GetInt64("port"));
  Result<serving::EndpointConfig> updated = *current;
  bool changed = true;
  if (specs->has_value()) {
    serving::DeployRequest request;
    request.endpoint = name;
    request.variants = std::move(variants);
    request.port = port;
    request.allow_unapproved = args.GetBool("allow-unapproved");
    auto deployed = serving::DeployEndpoint(*stores->registry, *stores->artifacts,
                                            *stores->endpoints, std::move(request),
                                            serving::DeployMode::kUpdate);
    if (!deployed.ok()) return context.Fail(deployed.status());
    updated = std::move(deployed->config);
    changed = deployed->changed;
  } else {
    // Only weights or the port change: the versions are the record's, already checked.
    updated = stores->endpoints->Update(name, std::move(variants), port);
  }
  if (!updated.ok()) return context.Fail(updated.status());
  if (changed) {
    context.PrintLine("updated endpoint " + name + " to revision " +
                      std::to_string(updated->revision) +
                      "; a running server swaps models without dropping requests");
  } else {
    context.PrintLine("endpoint " + name + " already serves these versions (revision " +
                      std::to_string(updated->revision) + " kept)");
  }
  PrintEndpoint(context, *updated, false);
  return kExitSuccess;
}

int RunDelete(CommandContext& context, const ParsedArgs& args) {
  auto stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  const std::string name = args.GetArg("NAME");
  if (Status status = stores->endpoints->Delete(name); !status.ok()) return context.Fail(status);
  context.PrintLine("deleted endpoint " + name + " (a running server keeps serving until stopped)");
  if (context.json()) context.PrintObject({{"deleted", name}});
  return kExitSuccess;
}

int RunInvoke(CommandContext& context, const ParsedArgs& args) {
  if (args.Has("body") == args.Has("body-file")) {
    return context.UsageError("give exactly one of --body and --body-file");
  }
  std::string body = args.GetString("body");
  if (args.Has("body-file")) {
    std::ifstream file(args.GetString("body-file"), std::ios::binary);
    if (!file) return context.Fail(NotFoundError("cannot read --body-file " +
                                                 args.GetString("body-file")));
    std::stringstream text;
    text << file.rdbuf();
    body = text.str();
  }
  auto stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  auto config = stores->endpoints->Get(args.GetArg("NAME"));
  if (!config.ok()) return context.Fail(config.status());
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", args.GetString("content-type")}};
  if (args.Has("accept")) headers.emplace_back("Accept", args.GetString("accept"));
  if (args.Has("auth-token-file")) {
    auto token = ReadTokenFile(args.GetString("auth-token-file"));
    if (!token.ok()) return context.Fail(token.status());
    headers.emplace_back("Authorization", "Bearer " + *token);
  }
  auto client = serving::HttpClient::Connect(config->host, config->port);
  if (!client.ok()) {
    return context.Fail(UnavailableError(
        "endpoint " + config->name + " is not being served at " + Url(*config) + " (" +
        std::string(client.status().message()) + "); start it with: raypipe serve " +
        config->name));
  }
  auto response = (*client)->Send("POST", "/invocations", headers, body);
  if (!response.ok()) return context.Fail(response.status());
  if (response->status / 100 != 2) {
    std::string message = response->body;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return context.Fail(UnknownError("endpoint " + config->name + " answered " +
                                     std::to_string(response->status) + ": " + message));
  }
  context.out() << response->body;
  if (!response->body.empty() && response->body.back() != '\n') context.out() << "\n";
  context.out().flush();
  return kExitSuccess;
}

// Blocks SIGTERM and SIGINT in this thread (and so in the server threads it starts) and restores
// the old mask on destruction; the signals are then taken with sigtimedwait.
class ScopedSignalBlock {
 public:
  ScopedSignalBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~ScopedSignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_;
  sigset_t old_;
};

int RunServe(CommandContext& context, const ParsedArgs& args) {
  auto stores = OpenStores(context);
  if (!stores.ok()) return context.Fail(stores.status());
  serving::EndpointRunnerOptions options;
  options.endpoint = args.GetArg("NAME");
  if (args.Has("host")) options.host = args.GetString("host");
  if (args.Has("port")) options.port = static_cast<int>(args.GetInt64("port"));
  options.workers = static_cast<int>(args.GetInt64("workers"));
  if (args.Has("auth-token-file")) {
    auto token = ReadTokenFile(args.GetString("auth-token-file"));
    if (!token.ok()) return context.Fail(token.status());
    options.auth_token = *token;
  }
  const auto drain = std::chrono::milliseconds(
      static_cast<int64_t>(args.GetDouble("drain-timeout") * 1000.0));
  const auto poll = std::chrono::milliseconds(args.GetInt64("poll-interval-ms"));

  ScopedSignalBlock signals;  // before any server thread starts, so they inherit the mask
  auto runner = serving::EndpointRunner::Start(options, stores->endpoints.get(),
                                               stores->registry.get(), stores->artifacts.get());
  if (!runner.ok()) return context.Fail(runner.status());
  const serving::EndpointConfig& config = (*runner)->config();
  std::string variants;
  for (const auto& variant : config.variants) {
    if (!variants.empty()) variants += ", ";
    variants += variant.name + "=" + variant.group + ":" + std::to_string(variant.version);
  }
  const std::string host = options.host.value_or(config.host);
  context.err() << "serving endpoint " << config.name << " (" << variants << ") on http://"
                << host << ":" << (*runner)->port() << (options.auth_token.empty() ? "" : " with a bearer token")
                << "; SIGTERM or Ctrl-C drains and stops\n";
  context.err().flush();

  while (true) {
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(poll.count() / 1000);
    timeout.tv_nsec = static_cast<long>((poll.count() % 1000) * 1'000'000);
    const int signal_number = sigtimedwait(&signals.set(), nullptr, &timeout);
    if (signal_number == SIGTERM || signal_number == SIGINT) break;
    Result<bool> swapped = (*runner)->Refresh();
    if (!swapped.ok()) {
      RAYPIPE_LOG(Warning) << "endpoint " << config.name
                           << ": keeping the current models: " << swapped.status().ToString();
    } else if (*swapped) {
      RAYPIPE_LOG(Info) << "endpoint " << config.name << ": now serving revision "
                        << (*runner)->config().revision;
    }
  }
  context.err() << "draining (up to " << args.GetDouble("drain-timeout") << " s)\n";
  context.err().flush();
  (*runner)->Shutdown(drain);
  context.err() << "stopped\n";
  return kExitSuccess;
}

FlagSpec VariantFlag() {
  return FlagSpec::Value("variant", FlagType::kString, "NAME=GROUP:VERSION[:WEIGHT]",
                         "A production variant (repeat for a traffic split by weight)")
      .Repeated();
}

FlagSpec PackageFlag() {
  return FlagSpec::Value("model-package", FlagType::kString, "GROUP[:VERSION]",
                         "Serve this model package version (default: the latest Approved) as "
                         "the one variant AllTraffic");
}

FlagSpec UnapprovedFlag() {
  return FlagSpec::Bool("allow-unapproved", "Deploy versions that are not Approved");
}

FlagSpec TokenFlag(std::string help) {
  return FlagSpec::Value("auth-token-file", FlagType::kString, "FILE", std::move(help));
}

}  // namespace

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return NotFoundError("cannot read --auth-token-file " + path);
  std::stringstream text;
  text << file.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) return InvalidArgumentError("--auth-token-file " + path + " is empty");
  return token;
}

Status RegisterEndpointCommands(CommandRegistry& registry) {
  RETURN_IF_ERROR(registry.AddGroup("endpoint", "Real-time endpoints over registered models"));

  CommandSpec create;
  create.path = "endpoint create";
  create.summary = "Create an endpoint record for model package versions";
  create.description =
      "Records which model package versions the endpoint serves and where it listens; `raypipe "
      "serve NAME` then runs it. Only Approved versions deploy unless --allow-unapproved. A "
      "version left out means the group's latest Approved version, resolved now.";
  create.args.push_back(ArgSpec::Required("NAME", "Endpoint name (letters, digits, '-')"));
  create.flags.push_back(PackageFlag());
  create.flags.push_back(VariantFlag());
  create.flags.push_back(FlagSpec::Value("port", FlagType::kInt64, "P", "Port to serve on")
                             .Default("8080")
                             .Min(1)
                             .Max(65535));
  create.flags.push_back(FlagSpec::Value("host", FlagType::kString, "ADDRESS",
                                         "Address to bind (0.0.0.0 for every interface)")
                             .Default("127.0.0.1"));
  create.flags.push_back(UnapprovedFlag());
  create.examples = {"raypipe endpoint create housing-prod --model-package housing:3",
                     "raypipe endpoint create ab --variant Blue=housing:3:0.9 --variant "
                     "Green=housing:4:0.1"};
  create.handler = RunCreate;
  RETURN_IF_ERROR(registry.Add(std::move(create)));

  CommandSpec list;
  list.path = "endpoint list";
  list.summary = "List endpoints";
  list.handler = RunList;
  RETURN_IF_ERROR(registry.Add(std::move(list)));

  CommandSpec describe;
  describe.path = "endpoint describe";
  describe.summary = "Show an endpoint, its variants and whether it is being served";
  describe.args.push_back(ArgSpec::Required("NAME", "Endpoint name"));
  describe.handler = RunDescribe;
  RETURN_IF_ERROR(registry.Add(std::move(describe)));

  CommandSpec update;
  update.path = "endpoint update";
  update.summary = "Change an endpoint's model versions or traffic weights";
  update.description =
      "A running `raypipe serve` picks the change up within its poll interval and swaps the "
      "models in: requests in flight finish on the old models and none fails.";
  update.args.push_back(ArgSpec::Required("NAME", "Endpoint name"));
  update.flags.push_back(PackageFlag());
  update.flags.push_back(VariantFlag());
  update.flags.push_back(FlagSpec::Value("weight", FlagType::kString, "VARIANT=WEIGHT",
                                         "A new traffic weight for a variant")
                             .Repeated());
  update.flags.push_back(FlagSpec::Value("port", FlagType::kInt64, "P",
                                         "A new port (takes effect when serve restarts)")
                             .Min(1)
                             .Max(65535));
  update.flags.push_back(UnapprovedFlag());
  update.examples = {"raypipe endpoint update housing-prod --model-package housing:4",
                     "raypipe endpoint update ab --weight Blue=0.5 --weight Green=0.5"};
  update.handler = RunUpdate;
  RETURN_IF_ERROR(registry.Add(std::move(update)));

  CommandSpec remove;
  remove.path = "endpoint delete";
  remove.summary = "Delete an endpoint record";
  remove.args.push_back(ArgSpec::Required("NAME", "Endpoint name"));
  remove.handler = RunDelete;
  RETURN_IF_ERROR(registry.Add(std::move(remove)));

  CommandSpec invoke;
  invoke.path = "endpoint invoke";
  invoke.summary = "Send one request to a served endpoint and print the answer";
  invoke.args.push_back(ArgSpec::Required("NAME", "Endpoint name"));
  invoke.flags.push_back(FlagSpec::Value("content-type", FlagType::kString, "TYPE",
                                         "text/csv or application/json")
                             .Default("text/csv"));
  invoke.flags.push_back(FlagSpec::Value("body", FlagType::kString, "TEXT", "The request body"));
  invoke.flags.push_back(
      FlagSpec::Value("body-file", FlagType::kString, "FILE", "Read the request body from FILE"));
  invoke.flags.push_back(FlagSpec::Value("accept", FlagType::kString, "TYPE",
                                         "The reply type (default: the request's)"));
  invoke.flags.push_back(TokenFlag("Send the bearer token in FILE"));
  invoke.examples = {
      "raypipe endpoint invoke housing-prod --body '1990,2000,3,2,0.25,1,0,1'",
      "raypipe endpoint invoke housing-prod --content-type application/json --body "
      "'{\"instances\": [[1990,2000,3,2,0.25,1,0,1]]}'"};
  invoke.handler = RunInvoke;
  RETURN_IF_ERROR(registry.Add(std::move(invoke)));

  CommandSpec serve;
  serve.path = "serve";
  serve.summary = "Serve an endpoint in the foreground";
  serve.description =
      "GET /ping, POST /invocations (text/csv or application/json; Accept picks the reply), GET "
      "/metrics (Prometheus). Follows `raypipe endpoint update` without dropping requests. "
      "SIGTERM or Ctrl-C stops accepting, answers the requests in flight (up to "
      "--drain-timeout) and exits 0.";
  serve.args.push_back(ArgSpec::Required("NAME", "Endpoint name"));
  serve.flags.push_back(FlagSpec::Value("port", FlagType::kInt64, "P",
                                        "Port (default: the endpoint's, 8080 unless set)")
                            .Min(0)
                            .Max(65535));
  serve.flags.push_back(FlagSpec::Value("host", FlagType::kString, "ADDRESS",
                                        "Address to bind (default: the endpoint's, 127.0.0.1)"));
  serve.flags.push_back(TokenFlag("Require this bearer token on /invocations"));
  serve.flags.push_back(FlagSpec::Value("workers", FlagType::kInt64, "N",
                                        "Server threads, 0 for one per core")
                            .Default("0")
                            .Min(0)
                            .Max(1024));
  serve.flags.push_back(FlagSpec::Value("drain-timeout", FlagType::kDouble, "SECONDS",
                                        "How long a stop waits for requests in flight")
                            .Default("10")
                            .Min(0)
                            .Max(3600));
  serve.flags.push_back(FlagSpec::Value("poll-interval-ms", FlagType::kInt64, "MS",
                                        "How often the endpoint record is checked for updates")
                            .Default("1000")
                            .Min(10)
                            .Max(600000));
  serve.examples = {"raypipe serve housing-prod", "raypipe serve housing-prod --port 9000"};
  serve.handler = RunServe;
  return registry.Add(std::move(serve));
}

}  // namespace raypipe::cli
