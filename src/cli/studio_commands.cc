#include "cli/studio_commands.h"

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "cli/context.h"
#include "cli/endpoint_commands.h"
#include "cli/pipeline_commands.h"
#include "studio/studio.h"

namespace raypipe::cli {
namespace {

// Set by the SIGTERM / SIGINT handler. A handler rather than a blocked mask: a blocked mask is
// inherited by the Command steps' processes across exec, which could then not be stopped with
// SIGTERM; a handler is reset to the default by exec.
volatile sig_atomic_t stop_signal = 0;

extern "C" void OnStopSignal(int signal_number) { stop_signal = signal_number; }

// Installs the handler for SIGTERM and SIGINT and restores the previous ones on destruction.
class ScopedStopHandler {
 public:
  ScopedStopHandler() {
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &old_term_);
    sigaction(SIGINT, &action, &old_int_);
  }
  ~ScopedStopHandler() {
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
  }

 private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

int RunStudio(CommandContext& context, const ParsedArgs& args) {
  studio::StudioOptions options;
  options.host_options = PipelineHostOptions(context);
  options.host = args.GetString("host");
  options.port = static_cast<int>(args.GetInt64("port"));
  if (args.Has("auth-token-file")) {
    Result<std::string> token = ReadTokenFile(args.GetString("auth-token-file"));
    if (!token.ok()) return context.Fail(token.status());
    options.auth_token = *token;
  }
  if (args.Has("ui-dir")) options.ui_dir = args.GetString("ui-dir");

  stop_signal = 0;
  ScopedStopHandler handler;
  Result<std::unique_ptr<studio::Studio>> studio = studio::Studio::Start(std::move(options));
  if (!studio.ok()) return context.Fail(studio.status());
  const std::string url =
      "http://" + args.GetString("host") + ":" + std::to_string((*studio)->port()) + "/";
  context.err() << "studio on " << url << " (home " << context.options().home.string()
                << (args.Has("auth-token-file") ? "; state changes need the bearer token" : "")
                << "); SIGTERM or Ctrl-C stops\n";
  context.err().flush();
  while (stop_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  context.err() << "stopping (executions started here are asked to stop)\n";
  context.err().flush();
  (*studio)->Shutdown(std::chrono::milliseconds(2000));
  return kExitSuccess;
}

}  // namespace

Status RegisterStudioCommands(CommandRegistry& registry) {
  CommandSpec studio;
  studio.path = "studio";
  studio.summary = "Serve the web UI and REST API over the stores";
  studio.description =
      "Pipelines and their DAG, executions with live step status (start with parameters, stop, "
      "retry: they run in this process), step logs and cache explanations, lineage, experiments "
      "and run comparison, tuning trials, the model registry (approve / reject), endpoints and "
      "feature groups. The API is described at /api/openapi.json. Binds 127.0.0.1 unless "
      "--host says otherwise; with --auth-token-file, calls that change state need "
      "'Authorization: Bearer <token>'. SIGTERM or Ctrl-C stops.";
  studio.flags.push_back(FlagSpec::Value("port", FlagType::kInt64, "P", "Port (0 picks a free one)")
                             .Default("8000")
                             .Min(0)
                             .Max(65535));
  studio.flags.push_back(
      FlagSpec::Value("host", FlagType::kString, "ADDRESS", "Address to bind")
          .Default("127.0.0.1"));
  studio.flags.push_back(FlagSpec::Value("auth-token-file", FlagType::kString, "FILE",
                                         "Require this bearer token on calls that change state"));
  studio.flags.push_back(FlagSpec::Value("ui-dir", FlagType::kString, "DIR",
                                         "Serve the UI from DIR (default: the built-in one)"));
  studio.examples = {"raypipe studio", "raypipe studio --port 8001 --auth-token-file token.txt"};
  studio.handler = RunStudio;
  return registry.Add(std::move(studio));
}

}  // namespace raypipe::cli
