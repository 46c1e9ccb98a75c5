#pragma once

// A Ray cluster of a test suite's own (tests/ray_*_test.cc): started with scripts/ray-cluster in
// the suite's directory and stopped by that directory, never by a bare `ray stop` that could end
// someone else's cluster.

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace raypipe::testing_support {

// Runs `command` with /bin/sh; its standard output, and the exit code in *exit_code.
inline std::string Shell(const std::string& command, int* exit_code) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *exit_code = -1;
    return output;
  }
  char buffer[4096];
  size_t read = 0;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, read);
  int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

// Starts a cluster with `num_cpus` CPUs in `dir` (keep it short: Ray's socket paths are
// limited), owned by this process. True with its address in *address_or_error, else false with
// the script's output there.
inline bool StartTestRayCluster(const std::string& dir, int num_cpus,
                                std::string* address_or_error) {
  int exit_code = 0;
  std::string output = Shell("timeout 120 " + std::string(RAYPIPE_SOURCE_DIR) +
                                 "/scripts/ray-cluster start " + dir + " --num-cpus " +
                                 std::to_string(num_cpus) + " --owner-pid " +
                                 std::to_string(getpid()),
                             &exit_code);
  if (exit_code != 0) {
    *address_or_error = "ray-cluster start failed: " + output;
    return false;
  }
  *address_or_error = output.substr(0, output.find('\n'));
  return true;
}

// Adds a node with `num_cpus` CPUs on this machine to the cluster started in `dir` (its own
// temp dir `dir`/nK, ports and resources): placement groups then have two nodes to spread
// over. True with the node's temp dir in *node_dir_or_error, else false with the script's
// output there (the script's messages go to stderr). StopTestRayCluster stops it with the rest.
inline bool AddTestRayNode(const std::string& dir, int num_cpus, std::string* node_dir_or_error) {
  int exit_code = 0;
  std::string output = Shell("timeout 120 " + std::string(RAYPIPE_SOURCE_DIR) +
                                 "/scripts/ray-cluster add-node " + dir + " --num-cpus " +
                                 std::to_string(num_cpus),
                             &exit_code);
  if (exit_code != 0) {
    *node_dir_or_error = "ray-cluster add-node failed: " + output;
    return false;
  }
  *node_dir_or_error = output.substr(0, output.find('\n'));
  return !node_dir_or_error->empty();
}

// Stops the cluster in `dir`; removes `dir` when that worked and no test failed, else keeps it
// for Ray's logs and says where they are.
inline void StopTestRayCluster(const std::string& dir) {
  int exit_code = 0;
  std::string output = Shell("timeout 60 " + std::string(RAYPIPE_SOURCE_DIR) +
                                 "/scripts/ray-cluster stop " + dir + " 2>&1",
                             &exit_code);
  EXPECT_EQ(exit_code, 0) << "ray-cluster stop failed: " << output;
  if (exit_code == 0 && !::testing::UnitTest::GetInstance()->Failed()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  } else {
    fprintf(stderr, "Ray's logs are kept in %s\n", dir.c_str());
  }
}

// A test suite's cluster: Start in SetUpTestSuite, Stop in TearDownTestSuite.
class SuiteRayCluster {
 public:
  // Starts a cluster of `num_cpus` CPUs in a fresh directory under /tmp (short: Ray's socket
  // paths are limited). "" when it started, else what failed.
  std::string Start(int num_cpus) {
    char dir_template[] = "/tmp/rp-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) return "cannot create a directory under /tmp";
    dir_ = dir_template;
    std::string address;
    if (!StartTestRayCluster(dir_, num_cpus, &address)) return address;
    address_ = address;
    return "";
  }

  // Stops it as StopTestRayCluster does; nothing when it was never started.
  void Stop() {
    if (!dir_.empty()) StopTestRayCluster(dir_);
    dir_.clear();
    address_.clear();
  }

  const std::string& dir() const { return dir_; }
  const std::string& address() const { return address_; }  // "" unless started

 private:
  std::string dir_;
  std::string address_;
};

}  // namespace raypipe::testing_support
