#include "pipeline/steps/command_step.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
// GCC 12 with the sanitizers warns inside <regex> itself (a false -Wmaybe-uninitialized in
// std::function moves of NFA states), as in builtin_steps.cc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <utility>

#include "pipeline/expression.h"

extern char** environ;

namespace raypipe::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr size_t kStderrTailLines = 20;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Result<std::pair<Fd, Fd>> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return UnavailableError(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  return std::make_pair(Fd(fds[0]), Fd(fds[1]));
}

struct Metric {
  std::string name;
  std::regex regex;
};

struct ParsedArguments {
  std::vector<std::string> argv;
  std::string working_dir;  // absolute
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::pair<std::string, std::string>> inputs;  // name, source
  std::vector<std::string> outputs;
  std::vector<Metric> metrics;
};

Result<std::string> TextAt(const nlohmann::json& value, const std::string& field) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return ValueToText(value);
  return InvalidArgumentError("Arguments." + field + ": expected a string, found " +
                              std::string(JsonTypeName(value)));
}

Result<ParsedArguments> ParseArguments(const nlohmann::json& arguments,
                                       const std::string& pipeline_dir) {
  ParsedArguments parsed;
  if (!arguments.is_object()) return InvalidArgumentError("Arguments: expected an object");
  auto command = arguments.find("Command");
  if (command == arguments.end() || !command->is_array() || command->empty()) {
    return InvalidArgumentError("Arguments.Command: expected a non-empty list");
  }
  for (size_t i = 0; i < command->size(); ++i) {
    ASSIGN_OR_RETURN(std::string arg, TextAt((*command)[i], "Command[" + std::to_string(i) + "]"));
    parsed.argv.push_back(std::move(arg));
  }
  std::string wd = ".";
  if (auto it = arguments.find("WorkingDirectory"); it != arguments.end()) {
    ASSIGN_OR_RETURN(wd, TextAt(*it, "WorkingDirectory"));
  }
  parsed.working_dir = (fs::path(pipeline_dir) / wd).lexically_normal().string();
  if (parsed.working_dir.size() > 1 && parsed.working_dir.back() == '/') {
    parsed.working_dir.pop_back();
  }
  if (auto it = arguments.find("Environment"); it != arguments.end() && it->is_object()) {
    for (const auto& [key, value] : it->items()) {
      ASSIGN_OR_RETURN(std::string text, TextAt(value, "Environment." + key));
      parsed.environment.emplace_back(key, std::move(text));
    }
  }
  if (auto it = arguments.find("Inputs"); it != arguments.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& input = (*it)[i];
      std::string at = "Inputs[" + std::to_string(i) + "]";
      if (!input.is_object() || !input.contains("InputName") || !input.contains("Source")) {
        return InvalidArgumentError("Arguments." + at + ": expected {InputName, Source}");
      }
      ASSIGN_OR_RETURN(std::string name, TextAt(input["InputName"], at + ".InputName"));
      ASSIGN_OR_RETURN(std::string source, TextAt(input["Source"], at + ".Source"));
      parsed.inputs.emplace_back(std::move(name), std::move(source));
    }
  }
  if (auto it = arguments.find("Outputs"); it != arguments.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& output = (*it)[i];
      std::string at = "Outputs[" + std::to_string(i) + "]";
      if (!output.is_object() || !output.contains("OutputName")) {
        return InvalidArgumentError("Arguments." + at + ": expected {OutputName}");
      }
      ASSIGN_OR_RETURN(std::string name, TextAt(output["OutputName"], at + ".OutputName"));
      parsed.outputs.push_back(std::move(name));
    }
  }
  if (auto it = arguments.find("MetricDefinitions"); it != arguments.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& metric = (*it)[i];
      std::string at = "MetricDefinitions[" + std::to_string(i) + "]";
      if (!metric.is_object() || !metric.contains("Name") || !metric.contains("Regex")) {
        return InvalidArgumentError("Arguments." + at + ": expected {Name, Regex}");
      }
      ASSIGN_OR_RETURN(std::string name, TextAt(metric["Name"], at + ".Name"));
      ASSIGN_OR_RETURN(std::string regex, TextAt(metric["Regex"], at + ".Regex"));
      try {
        parsed.metrics.push_back({std::move(name), std::regex(regex, std::regex::ECMAScript)});
      } catch (const std::regex_error& e) {
        return InvalidArgumentError("Arguments." + at + ".Regex: invalid regular expression: " +
                                    e.what());
      }
    }
  }
  return parsed;
}

// The file an argv element names under `working_dir`, or "" when it names none.
std::string CodeFileOf(const std::string& arg, const std::string& working_dir) {
  if (arg.empty() || arg.size() > 4096 || arg.front() == '-') return "";
  fs::path path = fs::path(arg).is_absolute() ? fs::path(arg) : fs::path(working_dir) / arg;
  path = path.lexically_normal();
  std::string text = path.string();
  if (text.compare(0, working_dir.size() + 1, working_dir + "/") != 0) return "";
  struct stat info;
  if (stat(text.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return "";
  return text;
}

// argv[0] resolved through PATH (from `environment`) when it has no '/'.
std::string ResolveProgram(const std::string& program, const std::string& path_variable) {
  if (program.find('/') != std::string::npos) return program;
  size_t start = 0;
  while (start <= path_variable.size()) {
    size_t end = path_variable.find(':', start);
    if (end == std::string::npos) end = path_variable.size();
    std::string dir = path_variable.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return program;
}

void ApplyMetrics(const std::vector<Metric>& metrics, const std::string& line,
                  std::map<std::string, double>* values) {
  for (const Metric& metric : metrics) {
    std::smatch match;
    if (std::regex_search(line, match, metric.regex) && match.size() >= 2) {
      try {
        size_t used = 0;
        std::string text = match[1].str();
        double value = std::stod(text, &used);
        if (used == text.size()) (*values)[metric.name] = value;
      } catch (const std::exception&) {
        // Not a number: ignored, as SageMaker does.
      }
    }
  }
}

// The input name of an artifact URI given directly in argv.
std::string ArgvInputName(size_t index) { return "Command[" + std::to_string(index) + "]"; }

}  // namespace

Result<std::vector<InputDeclaration>> CommandStepRunner::DeclareInputs(
    const nlohmann::json& arguments, const std::string& pipeline_dir) const {
  ASSIGN_OR_RETURN(ParsedArguments parsed, ParseArguments(arguments, pipeline_dir));
  std::vector<InputDeclaration> inputs;
  for (const auto& [name, source] : parsed.inputs) {
    std::string resolved = source;
    if (!IsArtifactUri(source)) {
      resolved = fs::path(source).is_absolute()
                     ? source
                     : (fs::path(parsed.working_dir) / source).lexically_normal().string();
    }
    inputs.push_back({name, resolved, InputDeclaration::Kind::kArtifact});
  }
  for (size_t i = 0; i < parsed.argv.size(); ++i) {
    if (IsArtifactUri(parsed.argv[i])) {
      inputs.push_back({ArgvInputName(i), parsed.argv[i], InputDeclaration::Kind::kArtifact});
      continue;
    }
    std::string file = CodeFileOf(parsed.argv[i], parsed.working_dir);
    if (file.empty()) continue;
    std::string relative = fs::path(file).lexically_relative(parsed.working_dir).string();
    inputs.push_back({"Code:" + relative, file, InputDeclaration::Kind::kCode});
  }
  return inputs;
}

Result<StepOutcome> CommandStepRunner::Run(StepContext& context) {
  ASSIGN_OR_RETURN(ParsedArguments parsed, ParseArguments(context.arguments, context.pipeline_dir));

  // The environment: ours, then Environment, then RAYPIPE_*.
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text(*entry);
    size_t eq = text.find('=');
    if (eq != std::string::npos) env[text.substr(0, eq)] = text.substr(eq + 1);
  }
  for (const auto& [key, value] : parsed.environment) env[key] = value;
  // An artifact URI in argv becomes the artifact's read-only path.
  for (size_t i = 0; i < parsed.argv.size(); ++i) {
    auto it = context.inputs.find(ArgvInputName(i));
    if (it != context.inputs.end() && IsArtifactUri(parsed.argv[i])) parsed.argv[i] = it->second.path;
  }
  for (const auto& [name, input] : context.inputs) {
    if (name.rfind("Code:", 0) == 0 || name.rfind("Command[", 0) == 0) continue;
    env["RAYPIPE_INPUT_" + EnvironmentNameOf(name)] = input.path;
  }
  for (const std::string& output : parsed.outputs) {
    std::string dir = context.staging_dir + "/" + output;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return UnavailableError("cannot create output directory " + dir + ": " + ec.message());
    env["RAYPIPE_OUTPUT_" + EnvironmentNameOf(output)] = dir;
  }
  env["RAYPIPE_EXECUTION_ID"] = context.execution_id;
  env["RAYPIPE_STEP_NAME"] = context.step_name;

  std::string program = ResolveProgram(parsed.argv[0], env.count("PATH") ? env["PATH"] : "");
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> argv_ptrs;
  for (std::string& arg : parsed.argv) argv_ptrs.push_back(arg.data());
  argv_ptrs.push_back(nullptr);
  std::vector<char*> env_ptrs;
  for (std::string& entry : env_strings) env_ptrs.push_back(entry.data());
  env_ptrs.push_back(nullptr);

  ASSIGN_OR_RETURN(auto out_pipe, MakePipe());
  ASSIGN_OR_RETURN(auto err_pipe, MakePipe());
  ASSIGN_OR_RETURN(auto exec_pipe, MakePipe());
  const std::string& wd = parsed.working_dir;

  pid_t pid = fork();
  if (pid < 0) return UnavailableError(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    setpgid(0, 0);
    // The command starts with default signal handling whatever raypipe set for itself: a
    // disposition of "ignore" survives execve (TrainDistributed ignores SIGPIPE), and so does
    // the forking thread's signal mask.
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) signal(sig, SIG_DFL);
    sigset_t no_signals;
    sigemptyset(&no_signals);
    sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_pipe.second.get(), 1);
    dup2(err_pipe.second.get(), 2);
    int error = 0;
    if (chdir(wd.c_str()) != 0) {
      error = errno;
    } else {
      execve(program.c_str(), argv_ptrs.data(), env_ptrs.data());
      error = errno;
    }
    ssize_t ignored = write(exec_pipe.second.get(), &error, sizeof(error));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);
  out_pipe.second.Reset();
  err_pipe.second.Reset();
  exec_pipe.second.Reset();

  int exec_error = 0;
  ssize_t got = read(exec_pipe.first.get(), &exec_error, sizeof(exec_error));
  if (got == static_cast<ssize_t>(sizeof(exec_error))) {
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    return InvalidArgumentError("Arguments.Command[0]: cannot run '" + parsed.argv[0] + "' in " +
                                wd + ": " + std::strerror(exec_error));
  }

  std::map<std::string, double> metrics;
  std::deque<std::string> stderr_tail;
  std::string partial[2];
  bool open_fd[2] = {true, true};
  int fds[2] = {out_pipe.first.get(), err_pipe.first.get()};
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  bool killed_hard = false;

  auto emit = [&](int stream, const std::string& line) {
    context.Log(line);
    ApplyMetrics(parsed.metrics, line, &metrics);
    if (stream == 1) {
      stderr_tail.push_back(line);
      if (stderr_tail.size() > kStderrTailLines) stderr_tail.pop_front();
    }
  };

  while (open_fd[0] || open_fd[1]) {
    if (!stopping && context.StopRequested()) {
      stopping = true;
      kill(-pid, SIGTERM);
      stop_deadline = std::chrono::steady_clock::now() + stop_grace_;
    }
    if (stopping && !killed_hard && std::chrono::steady_clock::now() >= stop_deadline) {
      kill(-pid, SIGKILL);
      killed_hard = true;
    }
    pollfd polls[2];
    int count = 0;
    int stream_of[2];
    for (int s = 0; s < 2; ++s) {
      if (!open_fd[s]) continue;
      polls[count] = {fds[s], POLLIN, 0};
      stream_of[count++] = s;
    }
    int ready = poll(polls, count, 100);
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < count && ready > 0; ++i) {
      if ((polls[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      int s = stream_of[i];
      char buffer[8192];
      ssize_t n = read(fds[s], buffer, sizeof(buffer));
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        open_fd[s] = false;
        if (!partial[s].empty()) emit(s, std::exchange(partial[s], std::string()));
        continue;
      }
      partial[s].append(buffer, static_cast<size_t>(n));
      size_t newline;
      while ((newline = partial[s].find('\n')) != std::string::npos) {
        emit(s, partial[s].substr(0, newline));
        partial[s].erase(0, newline + 1);
      }
      if (partial[s].size() > (1u << 20)) emit(s, std::exchange(partial[s], std::string()));
    }
  }

  int wstatus = 0;
  useconds_t backoff_us = 200;  // the process usually exits right after closing its pipes
  while (true) {
    pid_t done = waitpid(pid, &wstatus, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return InternalError("waitpid failed for the command");
    if (!stopping && context.StopRequested()) {
      stopping = true;
      kill(-pid, SIGTERM);
      stop_deadline = std::chrono::steady_clock::now() + stop_grace_;
    }
    if (stopping && !killed_hard && std::chrono::steady_clock::now() >= stop_deadline) {
      kill(-pid, SIGKILL);
      killed_hard = true;
    }
    usleep(backoff_us);
    backoff_us = std::min<useconds_t>(backoff_us * 2, 20000);
  }
  // Background children of the command that kept running die with its group.
  kill(-pid, SIGKILL);

  if (stopping) return CancelledError("stopped while the command was running");
  std::string tail;
  for (const std::string& line : stderr_tail) tail += "\n" + line;
  if (WIFSIGNALED(wstatus)) {
    int sig = WTERMSIG(wstatus);
    std::string message = "command '" + parsed.argv[0] + "' was killed by signal " +
                          std::to_string(sig) + " (" + strsignal(sig) + ")" + tail;
    if (sig == SIGKILL) return UnavailableError(message);
    return UnknownError(message);
  }
  int code = WEXITSTATUS(wstatus);
  if (code != 0) {
    return UnknownError("command '" + parsed.argv[0] + "' exited with code " +
                        std::to_string(code) + (tail.empty() ? "" : "; stderr tail:" + tail));
  }
  StepOutcome outcome;
  outcome.properties["ExitCode"] = code;
  outcome.metrics = std::move(metrics);
  return outcome;
}

}  // namespace raypipe::pipeline
