#include "cli/executor_options.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "compute/local_executor.h"
#include "ml/kernels.h"

#ifdef RAYPIPE_WITH_RAY
#include "compute/ray/ray_executor.h"
#endif

namespace raypipe::cli {

namespace {

std::string EnvOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

#ifdef RAYPIPE_WITH_RAY

constexpr std::string_view kStartHint =
    "start one with 'ray start --head --port 6379' (or scripts/ray-cluster start DIR) and pass "
    "--ray-address HOST:PORT";

// Runs `argv` without a shell (the address is user input) and answers its standard output.
Result<std::string> RunCapture(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return InternalError("fork failed");
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = read(fds[0], buffer, sizeof(buffer))) > 0 ||
         (got < 0 && errno == EINTR)) {
    if (got > 0) output.append(buffer, static_cast<size_t>(got));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return UnavailableError("'" + argv[0] + "' failed (exit status " +
                            std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  return output;
}

// The cluster's CPUs, as Ray reports them (its C++ API cannot tell): a short Python driver.
Result<double> ClusterCpus(const std::string& address, const std::string& node_ip) {
  static constexpr char kScript[] =
      "import sys, ray\n"
      "ray.init(address=sys.argv[1], _node_ip_address=sys.argv[2], logging_level='ERROR',\n"
      "         log_to_driver=False)\n"
      "print('cpus', ray.cluster_resources().get('CPU', 0))\n";
  // RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps a loopback node address as given (Ray otherwise
  // rewrites 127.0.0.1 to the routable address and never finds the GCS).
  Result<std::string> output =
      RunCapture({"/usr/bin/env", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0", "timeout", "-k", "5",
                  "60", RAYPIPE_RAY_PYTHON, "-c", kScript, address, node_ip});
  if (output.ok()) {
    size_t at = output->rfind("cpus ");
    if (at != std::string::npos) {
      Result<double> cpus = ParseCpus(
          std::string_view(*output).substr(at + 5, output->find('\n', at) - at - 5), "cpus");
      if (cpus.ok()) return cpus;
    }
  }
  return UnavailableError("cannot ask the Ray cluster at " + address +
                          " for its CPUs; give them with --ray-cpus N or RAYPIPE_RAY_CPUS");
}

#endif  // RAYPIPE_WITH_RAY

}  // namespace

std::vector<std::string> BuiltExecutors() {
#ifdef RAYPIPE_WITH_RAY
  return {"local", "ray"};
#else
  return {"local"};
#endif
}

Result<double> ParseCpus(std::string_view text, std::string_view what) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  double cpus = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), cpus);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(cpus) ||
      cpus <= 0) {
    return InvalidArgumentError("invalid value '" + std::string(text) + "' for " +
                                std::string(what) + ": expected a positive number of CPUs");
  }
  return cpus;
}

Result<std::string> RayAddressFor(const GlobalOptions& options) {
  std::string address = options.ray_address.empty() ? EnvOr("RAY_ADDRESS", "")
                                                     : options.ray_address;
  if (address.empty()) {
    return InvalidArgumentError(
        "--executor ray needs the cluster's address: give --ray-address HOST:PORT or set "
        "RAY_ADDRESS (start a cluster with 'ray start --head --port 6379')");
  }
  if (address == "auto" || address.starts_with("ray://")) {
    return InvalidArgumentError("Ray address '" + address +
                                "': raypipe connects to HOST:PORT of the head's GCS only");
  }
  return address;
}

Result<std::unique_ptr<compute::Executor>> OpenExecutorFor(const CommandContext& context,
                                                           const compute::KernelRegistry& kernels) {
  const GlobalOptions& options = context.options();
  if (options.executor == ExecutorKind::kLocal) {
    compute::LocalExecutorOptions local;
    local.registry = &kernels;
    local.capacity =
        compute::Resources{std::max(1.0, static_cast<double>(std::thread::hardware_concurrency())), 0};
    ASSIGN_OR_RETURN(auto executor, compute::LocalExecutor::Open(local));
    return std::unique_ptr<compute::Executor>(std::move(executor));
  }
#ifdef RAYPIPE_WITH_RAY
  ASSIGN_OR_RETURN(std::string address, RayAddressFor(options));
  compute::RayExecutorOptions ray;
  ray.address = address;
  ray.node_ip_address = EnvOr("RAYPIPE_RAY_NODE_IP", "");
  ray.registry = &kernels;
  // The codecs Ray's workers use (compute::RegisterWorkerKernels registers the same ones).
  compute::CodecRegistry codecs = compute::CodecRegistry::WithBuiltins();
  RETURN_IF_ERROR(ml::RegisterMlCodecs(codecs));
  ray.codecs = &codecs;
  double cpus = options.ray_cpus.value_or(0);
  if (cpus <= 0) {
    std::string from_env = EnvOr("RAYPIPE_RAY_CPUS", "");
    if (!from_env.empty()) {
      ASSIGN_OR_RETURN(cpus, ParseCpus(from_env, "RAYPIPE_RAY_CPUS"));
    }
  }
  auto explain = [&](const Status& status) {
    if (status.code() != StatusCode::kUnavailable) return status;
    return UnavailableError("no Ray cluster answers at " + address + ": " +
                            std::string(kStartHint));
  };
  if (cpus <= 0) {
    // Refuse an unreachable cluster before spending seconds asking it for its CPUs.
    compute::RayExecutorOptions probe = ray;
    probe.capacity = compute::Resources{1, 0};
    if (Status reachable = compute::RayExecutor::CheckReachable(probe); !reachable.ok()) {
      return explain(reachable);
    }
    std::string node_ip = ray.node_ip_address;
    if (node_ip.empty()) node_ip = address.substr(0, address.rfind(':'));
    ASSIGN_OR_RETURN(cpus, ClusterCpus(address, node_ip));
  }
  ray.capacity = compute::Resources{cpus, 0};
  Result<std::unique_ptr<compute::RayExecutor>> executor = compute::RayExecutor::Open(ray);
  if (!executor.ok()) return explain(executor.status());
  return std::unique_ptr<compute::Executor>(std::move(*executor));
#else
  return UnimplementedError(
      "--executor ray: this raypipe was built without the Ray backend (run scripts/setup, which "
      "installs Ray's C++ API, and build again)");
#endif
}

}  // namespace raypipe::cli
