// A real crash: `raypipe pipeline run` is killed with SIGKILL in the middle of a slow Command
// step; `raypipe execution retry` then completes the execution under the same id, keeping the
// step that had committed.

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

std::string Raypipe() { return std::string(RAYPIPE_BINARY_DIR) + "/bin/raypipe"; }

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Starts argv with stdout and stderr to `log`; returns the pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class EngineCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/engine_crash_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(EngineCrashTest, KillNineMidStepThenRetryCompletes) {
  std::ofstream(dir_ + "/first.sh") << "echo run >> \"" << dir_ << "/first.count\"\n"
                                    << "echo data > \"$RAYPIPE_OUTPUT_OUT/data.txt\"\n";
  std::ofstream(dir_ + "/slow.sh")
      << "if [ -f \"" << dir_ << "/block\" ]; then echo $$ > \"" << dir_
      << "/started.tmp\"; mv \"" << dir_ << "/started.tmp\" \"" << dir_
      << "/started\"; sleep 30; fi\n"
      << "cat \"$RAYPIPE_INPUT_DATA/data.txt\" > \"$RAYPIPE_OUTPUT_OUT/copy.txt\"\n";
  std::ofstream(dir_ + "/block") << "1";
  std::ofstream(dir_ + "/pipeline.yaml") << R"(Version: "2020-12-01"
Steps:
  - Name: First
    Type: Command
    Arguments: {Command: ["sh", "first.sh"], Outputs: [{OutputName: out}]}
  - Name: Slow
    Type: Command
    Arguments:
      Command: ["sh", "slow.sh"]
      Inputs: [{InputName: data, Source: {Get: Steps.First.Outputs.out}}]
      Outputs: [{OutputName: out}]
)";
  const std::string home = dir_ + "/home";
  pid_t pid = Spawn({Raypipe(), "--home", home, "pipeline", "run", dir_ + "/pipeline.yaml"},
                    dir_ + "/run.log");
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!fs::exists(dir_ + "/started") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(dir_ + "/started")) << Read(dir_ + "/run.log");
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(Wait(pid), 128 + SIGKILL);
  // The orphaned command (its own process group) goes too, as after a machine loss.
  pid_t step_group = std::stoi(Read(dir_ + "/started"));
  kill(-step_group, SIGKILL);

  // The progress output names the execution: "execution exec-<id> ...".
  const std::string log = Read(dir_ + "/run.log");
  const size_t at = log.find("execution exec-");
  ASSERT_NE(at, std::string::npos) << log;
  const size_t begin = at + std::string("execution ").size();
  const size_t end = log.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-", begin);
  ASSERT_NE(end, std::string::npos) << log;
  const std::string id = log.substr(begin, end - begin);

  fs::remove(dir_ + "/block");
  pid_t retry = Spawn({Raypipe(), "--home", home, "execution", "retry", id},
                      dir_ + "/retry.log");
  EXPECT_EQ(Wait(retry), 0) << Read(dir_ + "/retry.log");
  EXPECT_EQ(Read(dir_ + "/first.count"), "run\n");  // committed before the crash: kept

  pid_t steps = Spawn({Raypipe(), "--home", home, "--output", "json", "execution", "steps", id},
                      dir_ + "/steps.json");
  ASSERT_EQ(Wait(steps), 0) << Read(dir_ + "/steps.json");
  nlohmann::json runs = nlohmann::json::parse(Read(dir_ + "/steps.json"), nullptr, false);
  ASSERT_TRUE(runs.is_array()) << Read(dir_ + "/steps.json");
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) EXPECT_EQ(run["StepStatus"], "Succeeded") << run.dump();
}

}  // namespace
