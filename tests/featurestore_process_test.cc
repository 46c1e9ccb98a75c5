// The feature store across processes: several `raypipe featurestore ingest` processes into one
// group at once, and kill -9 in the middle of an ingestion followed by a rerun. Each must leave
// exactly the input's records: nothing lost, nothing twice.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "data/csv.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

constexpr const char* kDefinition = R"({
  "FeatureGroupName": "houses",
  "RecordIdentifierFeatureName": "house_id",
  "EventTimeFeatureName": "event_time",
  "FeatureDefinitions": [
    {"FeatureName": "house_id", "FeatureType": "Integral"},
    {"FeatureName": "event_time", "FeatureType": "String"},
    {"FeatureName": "price", "FeatureType": "Fractional"},
    {"FeatureName": "city", "FeatureType": "String"}
  ],
  "OnlineStoreConfig": {"EnableOnlineStore": true},
  "OfflineStoreConfig": {}
})";

class FeatureStoreProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "raypipe-fs-process-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    home_ = dir_ + "/home";
    std::ofstream(dir_ + "/group.json") << kDefinition;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Rows [first, first + count): id, an ISO event time, price = 2 * id, a city.
  std::string WriteInput(const std::string& name, int first, int count) {
    std::string path = dir_ + "/" + name;
    std::ofstream out(path);
    out << "house_id,event_time,price,city\n";
    for (int id = first; id < first + count; ++id) {
      out << id << ",2026-11-26T" << (id % 24 < 10 ? "0" : "") << id % 24 << ":00:00Z,"
          << id * 2 << ".5,\"c, " << id % 5 << "\"\n";
    }
    return path;
  }

  pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
    const std::string binary = std::string(RAYPIPE_BINARY_DIR) + "/bin/raypipe";
    std::vector<std::string> argv_strings = {binary, "--home", home_};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& text : argv_strings) argv.push_back(text.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = -1;
    int error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(error, 0) << "cannot start " << binary;
    return error == 0 ? pid : -1;
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // Runs raypipe to the end; answers its exit code (-1 when killed by a signal).
  int Run(const std::vector<std::string>& args, std::string* output = nullptr) {
    const std::string log = dir_ + "/run.log";
    pid_t pid = Spawn(args, log);
    if (pid < 0) return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    if (output != nullptr) *output = ReadFile(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::vector<std::string> Ingest(const std::string& input, int actors, int batch) {
    return {"featurestore", "ingest",       "houses",        "--input",
            input,          "--definition", dir_ + "/group.json", "--actors",
            std::to_string(actors), "--batch-size", std::to_string(batch)};
  }

  // The offline store's rows, as exported; checks each id once with its input's values.
  void ExpectExactly(int first, int count) {
    std::string output;
    ASSERT_EQ(Run({"featurestore", "export", "houses", "--out", dir_ + "/export.csv"}, &output),
              0)
        << output;
    auto table = raypipe::data::ReadCsvFile(dir_ + "/export.csv");
    ASSERT_TRUE(table.ok()) << table.status();
    ASSERT_EQ(table->num_rows(), static_cast<size_t>(count));
    auto ids = (*table->ColumnByName("house_id"))->int64s();
    auto prices = (*table->ColumnByName("price"))->float64s();
    std::map<int64_t, int> seen;
    for (size_t i = 0; i < ids.size(); ++i) {
      ++seen[ids[i]];
      EXPECT_EQ(prices[i], ids[i] * 2 + 0.5);
    }
    ASSERT_EQ(seen.size(), static_cast<size_t>(count));
    EXPECT_EQ(seen.begin()->first, first);
    EXPECT_EQ(seen.rbegin()->first, first + count - 1);
    ASSERT_EQ(Run({"featurestore", "get-record", "houses", std::to_string(first + count / 2)},
                  &output),
              0)
        << output;
  }

  int CountOfflineFiles() {
    int files = 0;
    std::error_code error;
    fs::path root = fs::path(home_) / "featurestore" / "offline";
    for (auto it = fs::recursive_directory_iterator(root, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (it->path().extension() == ".rpcol") ++files;
    }
    return files;
  }

  std::string dir_;
  std::string home_;
};

TEST_F(FeatureStoreProcessTest, ConcurrentIngestProcessesLoseNothingAndDuplicateNothing) {
  std::string a = WriteInput("a.csv", 0, 6000);
  std::string b = WriteInput("b.csv", 4000, 6000);
  std::vector<pid_t> pids;
  pids.push_back(Spawn(Ingest(a, 2, 300), dir_ + "/p0.log"));
  pids.push_back(Spawn(Ingest(b, 3, 250), dir_ + "/p1.log"));
  pids.push_back(Spawn(Ingest(a, 4, 1000), dir_ + "/p2.log"));
  pids.push_back(Spawn(Ingest(b, 1, 700), dir_ + "/p3.log"));
  for (size_t i = 0; i < pids.size(); ++i) {
    ASSERT_GT(pids[i], 0);
    int status = 0;
    waitpid(pids[i], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "process " << i << ": " << ReadFile(dir_ + "/p" + std::to_string(i) + ".log");
  }
  ExpectExactly(0, 10000);
}

TEST_F(FeatureStoreProcessTest, KillNineThenRerunGivesExactlyTheInput) {
  std::string input = WriteInput("in.csv", 0, 20000);
  // Kill at several points: after the first committed file, and later.
  int kills = 0;
  for (int kill_after_files : {1, 40}) {
    pid_t pid = Spawn(Ingest(input, 4, 50), dir_ + "/killed.log");
    ASSERT_GT(pid, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      if (CountOfflineFiles() >= kill_after_files) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!exited) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      EXPECT_TRUE(WIFSIGNALED(status));
      ++kills;
    }
  }
  EXPECT_GE(kills, 1) << "every ingestion finished before it could be killed";
  std::string output;
  ASSERT_EQ(Run(Ingest(input, 3, 500), &output), 0) << output;
  ExpectExactly(0, 20000);
  // And once more: nothing is added.
  ASSERT_EQ(Run(Ingest(input, 2, 5000), &output), 0) << output;
  EXPECT_NE(output.find("ingested 0 of 20000"), std::string::npos) << output;
  ExpectExactly(0, 20000);
}

TEST_F(FeatureStoreProcessTest, RejectedRowsMakeTheExitCodeNonZero) {
  std::ofstream(dir_ + "/bad.csv") << "house_id,event_time,price,city\n"
                                      "1,2026-11-26T00:00:00Z,1.5,a\n"
                                      "2,not-a-time,1.5,b\n";
  std::string output;
  EXPECT_EQ(Run(Ingest(dir_ + "/bad.csv", 1, 10), &output), 1);
  EXPECT_NE(output.find("1 rows were rejected"), std::string::npos) << output;
  std::vector<std::string> allow = Ingest(dir_ + "/bad.csv", 1, 10);
  allow.push_back("--allow-rejects");
  EXPECT_EQ(Run(allow, &output), 0) << output;
  EXPECT_EQ(Run({"featurestore", "get-record", "houses", "2"}, &output), 1);
  EXPECT_EQ(Run({"featurestore", "get-record", "houses", "1"}, &output), 0) << output;
}

}  // namespace
