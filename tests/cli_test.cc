// End-to-end tests of the `raypipe` binary: each test runs it as a subprocess and checks its exit
// code, standard output and standard error.
//
// The help texts are golden files under tests/golden/cli/; after an intended change, regenerate
// them with RAYPIPE_UPDATE_GOLDEN=1 (or --update_golden) and review the diff.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/huge_pages.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kHousingHeader[] =
    "PRICE,YEAR_BUILT,SQUARE_FEET,NUM_BEDROOMS,NUM_BATHROOMS,LOT_ACRES,GARAGE_SPACES,"
    "FRONT_PORCH,DECK";

bool update_golden = false;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("raypipe_cli_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Runs build/bin/raypipe with `args` in the test's directory. `env` entries override the
  // process environment; a nullopt value removes the variable. RAYPIPE_HOME is removed unless
  // given, so the developer's own setting cannot change the outcome.
  Outcome Run(const std::vector<std::string>& args,
              std::map<std::string, std::optional<std::string>> env = {}) {
    const std::string binary = RAYPIPE_BINARY_DIR "/bin/raypipe";
    const fs::path out_path = dir_ / "stdout.txt";
    const fs::path err_path = dir_ / "stderr.txt";
    env.try_emplace("RAYPIPE_HOME", std::nullopt);

    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string text(*entry);
      if (env.count(text.substr(0, text.find('='))) == 0) env_strings.push_back(text);
    }
    for (const auto& [name, value] : env) {
      if (value) env_strings.push_back(name + "=" + *value);
    }
    std::vector<char*> envp;
    for (std::string& text : env_strings) envp.push_back(text.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings = {binary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& text : argv_strings) argv.push_back(text.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
    pid_t pid = 0;
    int spawn_error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(),
                                  envp.data());
    posix_spawn_file_actions_destroy(&actions);
    Outcome outcome;
    if (spawn_error != 0) {
      ADD_FAILURE() << "cannot start " << binary << ": " << std::strerror(spawn_error);
      return outcome;
    }
    int wait_status = 0;
    if (waitpid(pid, &wait_status, 0) != pid) {
      ADD_FAILURE() << "waitpid failed: " << std::strerror(errno);
      return outcome;
    }
    if (WIFEXITED(wait_status)) {
      outcome.exit_code = WEXITSTATUS(wait_status);
    } else {
      ADD_FAILURE() << "raypipe did not exit normally (status " << wait_status << ")";
    }
    outcome.out = ReadFile(out_path);
    outcome.err = ReadFile(err_path);
    return outcome;
  }

  // Compares `actual` with tests/golden/cli/<name>, or rewrites the file when updating.
  void ExpectGolden(const std::string& name, const std::string& actual) {
    ExpectFile(fs::path(RAYPIPE_SOURCE_DIR) / "tests" / "golden" / "cli" / name, actual);
  }

  // Compares `actual` with the file `golden`, or rewrites it when updating.
  void ExpectFile(const fs::path& golden, const std::string& actual) {
    if (update_golden) {
      std::ofstream(golden, std::ios::binary | std::ios::trunc) << actual;
      std::cerr << "updated " << golden << "\n";
      return;
    }
    ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with RAYPIPE_UPDATE_GOLDEN=1";
    EXPECT_EQ(actual, ReadFile(golden))
        << "the output differs from " << golden
        << "; if the change is intended, rerun with RAYPIPE_UPDATE_GOLDEN=1 and review the diff";
  }

  std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
};

TEST_F(CliTest, HelpMatchesGolden) {
  Outcome outcome = Run({"--help"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.err, "");
  ExpectGolden("help.txt", outcome.out);
  // -h is the same.
  EXPECT_EQ(Run({"-h"}).out, outcome.out);
}

TEST_F(CliTest, GroupAndCommandHelpMatchGolden) {
  Outcome group = Run({"datasets", "--help"});
  EXPECT_EQ(group.exit_code, 0);
  ExpectGolden("datasets_help.txt", group.out);
  Outcome command = Run({"datasets", "housing", "--help"});
  EXPECT_EQ(command.exit_code, 0);
  ExpectGolden("datasets_housing_help.txt", command.out);
  // Global options after the path and -h do not change the help.
  EXPECT_EQ(Run({"datasets", "housing", "-h", "--output", "json"}).out, command.out);
}

// The command names listed under "Commands:" in a help text.
std::vector<std::string> SubcommandsIn(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream in(help);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "Commands:") {
      inside = true;
    } else if (inside && line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ') {
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    } else if (inside && line.empty()) {
      break;
    }
  }
  return names;
}

// docs/cli.md is the help of every command, walked from `raypipe --help`: it cannot drift from
// the binary. Regenerate with RAYPIPE_UPDATE_GOLDEN=1.
TEST_F(CliTest, CliReferenceMatchesEveryCommandsHelp) {
  std::string doc =
      "# raypipe command reference\n\n"
      "Every command's `--help`, as the binary prints it. This file is generated: "
      "`RAYPIPE_UPDATE_GOLDEN=1 build/bin/cli_binary_test` rewrites it, and the test fails when "
      "it differs from the binary.\n";
  std::vector<std::vector<std::string>> pending = {{}};
  size_t commands = 0;
  while (!pending.empty()) {
    std::vector<std::string> path = pending.front();
    pending.erase(pending.begin());
    std::vector<std::string> args = path;
    args.push_back("--help");
    Outcome outcome = Run(args);
    ASSERT_EQ(outcome.exit_code, 0) << "--help of '" << ::testing::PrintToString(path) << "'";
    std::string title = "raypipe";
    for (const std::string& word : path) title += " " + word;
    std::string help = outcome.out;
    // The global options are the same for every command: shown once, under `raypipe`.
    const std::string global = "\nGlobal options (before or after the command):\n";
    if (size_t at = help.find(global); !path.empty() && at != std::string::npos) {
      size_t end = help.find("\n\n", at + global.size());
      help.erase(at, end == std::string::npos ? std::string::npos : end + 1 - at);
    }
    doc += "\n## " + title + "\n\n```\n" + help + "```\n";
    ++commands;
    std::vector<std::string> children = SubcommandsIn(outcome.out);
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      std::vector<std::string> child = path;
      child.push_back(*it);
      pending.insert(pending.begin(), child);
    }
  }
  EXPECT_GT(commands, 10u);
  ExpectFile(fs::path(RAYPIPE_SOURCE_DIR) / "docs" / "cli.md", doc);
}

TEST_F(CliTest, Version) {
  Outcome outcome = Run({"--version"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.out, std::string("raypipe ") + RAYPIPE_VERSION + "\n");
  EXPECT_EQ(outcome.err, "");

  Outcome json = Run({"--output=json", "--version"});
  EXPECT_EQ(json.exit_code, 0);
  nlohmann::json parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["version"], RAYPIPE_VERSION);
  EXPECT_EQ(parsed["name"], "raypipe");
}

TEST_F(CliTest, UnknownCommandIsAUsageErrorWithASuggestion) {
  Outcome outcome = Run({"datset", "housing"});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err,
            "raypipe: error: unknown command 'datset' for 'raypipe'; did you mean 'datasets'?\n"
            "Run 'raypipe --help' for usage.\n");
  Outcome nested = Run({"datasets", "husing"});
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_THAT(nested.err, HasSubstr("unknown command 'husing' for 'raypipe datasets'; did you "
                                    "mean 'housing'?"));
}

TEST_F(CliTest, NoCommandIsAUsageError) {
  Outcome outcome = Run({});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_THAT(outcome.err, StartsWith("raypipe: error: 'raypipe' needs a command: datasets, endpoint, "
                                         "execution, experiments, featurestore, model, pipeline, "
                                         "serve, studio, train, tune\n"));
}

TEST_F(CliTest, UnknownFlagIsAUsageError) {
  Outcome outcome = Run({"datasets", "housing", "--out", "a.csv", "--row", "5"});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_EQ(outcome.err,
            "raypipe: error: unknown flag --row for 'raypipe datasets housing'; did you mean "
            "--rows?\nRun 'raypipe datasets housing --help' for usage.\n");
  EXPECT_FALSE(fs::exists(dir_ / "a.csv"));
}

TEST_F(CliTest, BadNumberIsAUsageErrorNamingTheFlag) {
  Outcome outcome = Run({"datasets", "housing", "--rows", "ten", "--out", "a.csv"});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_THAT(outcome.err,
              StartsWith("raypipe: error: invalid value 'ten' for --rows: expected an integer\n"));
  EXPECT_THAT(outcome.err, HasSubstr("Run 'raypipe datasets housing --help' for usage."));
  EXPECT_EQ(Run({"datasets", "housing", "--rows=-3", "--out", "a.csv"}).exit_code, 2);
  Outcome seed = Run({"datasets", "housing", "--seed", "1.5", "--out", "a.csv"});
  EXPECT_EQ(seed.exit_code, 2);
  EXPECT_THAT(seed.err, HasSubstr("for --seed"));
  EXPECT_FALSE(fs::exists(dir_ / "a.csv"));
}

TEST_F(CliTest, MissingRequiredFlag) {
  Outcome outcome = Run({"datasets", "housing", "--rows", "5"});
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_THAT(outcome.err, StartsWith("raypipe: error: missing required flag --out\n"));
}

TEST_F(CliTest, RayExecutorWithoutAClusterIsRefusedClearly) {
  std::ofstream(dir_ / "rows.csv") << "record_id,event_time,x\n1,2026-01-01T00:00:00Z,1.5\n";
  Outcome no_address = Run({"--executor", "ray", "featurestore", "ingest", "g", "--input",
                            "rows.csv"},
                           {{"RAY_ADDRESS", std::nullopt}});
  EXPECT_EQ(no_address.exit_code, 1);
  EXPECT_THAT(no_address.err, HasSubstr("--executor ray needs the cluster's address: give "
                                        "--ray-address HOST:PORT or set RAY_ADDRESS"));
  Outcome no_cluster = Run({"--executor", "ray", "--ray-address", "127.0.0.1:1", "featurestore",
                            "ingest", "g", "--input", "rows.csv"});
  EXPECT_EQ(no_cluster.exit_code, 1);
  EXPECT_THAT(no_cluster.err, HasSubstr("no Ray cluster answers at 127.0.0.1:1"));
}

// `raypipe train` re-executes with malloc's huge pages (core/huge_pages.h), where the kernel's
// transparent huge pages are in madvise mode; the other commands, and an opted-out run, do not.
TEST_F(CliTest, TrainRunsWithMallocHugePages) {
  if (!raypipe::core::MallocHugePagesAvailable()) {
    GTEST_SKIP() << "transparent huge pages are not in madvise mode here";
  }
  const std::string kLine = "malloc uses transparent huge pages";
  std::map<std::string, std::optional<std::string>> debug = {
      {"RAYPIPE_LOG_LEVEL", "debug"}, {"RAYPIPE_MALLOC_HUGE_PAGES", std::nullopt},
      {"GLIBC_TUNABLES", std::nullopt}};
  Outcome train = Run({"train", "--train", "missing.csv", "--target", "y", "--out", "m"}, debug);
  EXPECT_EQ(train.exit_code, 1);
  EXPECT_THAT(train.err, HasSubstr(kLine));
  EXPECT_THAT(train.err, HasSubstr("missing.csv"));

  Outcome tune = Run({"tune", "--train", "missing.csv", "--target", "y", "--integer", "d=1:3"},
                     debug);
  EXPECT_EQ(tune.exit_code, 1);
  EXPECT_THAT(tune.err, HasSubstr("missing.csv"));
  EXPECT_THAT(tune.err, Not(HasSubstr(kLine)));

  Outcome listing = Run({"model", "groups"}, debug);
  EXPECT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_THAT(listing.err, Not(HasSubstr(kLine)));

  debug["RAYPIPE_MALLOC_HUGE_PAGES"] = "0";
  Outcome opted_out = Run({"train", "--train", "missing.csv", "--target", "y", "--out", "m"},
                          debug);
  EXPECT_EQ(opted_out.exit_code, 1);
  EXPECT_THAT(opted_out.err, Not(HasSubstr(kLine)));
}

TEST_F(CliTest, HousingIsDeterministicPerSeed) {
  ASSERT_EQ(Run({"datasets", "housing", "--rows", "200", "--seed", "7", "--out", "a.csv"})
                .exit_code,
            0);
  ASSERT_EQ(Run({"datasets", "housing", "--out=b.csv", "--seed=7", "--rows=200"}).exit_code, 0);
  ASSERT_EQ(Run({"datasets", "housing", "--rows", "200", "--seed", "8", "--out", "c.csv"})
                .exit_code,
            0);
  std::string a = ReadFile(dir_ / "a.csv");
  std::string b = ReadFile(dir_ / "b.csv");
  std::string c = ReadFile(dir_ / "c.csv");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);

  std::vector<std::string> lines = Lines(a);
  ASSERT_EQ(lines.size(), 201u);  // the header and 200 rows
  EXPECT_EQ(lines[0], kHousingHeader);
  for (size_t line_idx = 1; line_idx < lines.size(); ++line_idx) {
    EXPECT_EQ(std::count(lines[line_idx].begin(), lines[line_idx].end(), ','), 8)
        << "line " << line_idx + 1 << ": " << lines[line_idx];
  }
}

TEST_F(CliTest, HousingSummaryInTableAndJson) {
  Outcome table = Run({"datasets", "housing", "--rows", "25", "--out", "h.csv"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, StartsWith("wrote 25 housing rows (seed 42) to h.csv in "));
  EXPECT_EQ(table.err, "");

  Outcome json = Run({"datasets", "housing", "--rows", "25", "--out", "j.csv", "--output",
                      "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["rows"], 25);
  EXPECT_EQ(parsed["seed"], 42);
  EXPECT_EQ(parsed["path"], "j.csv");
  EXPECT_EQ(parsed["columns"].size(), 9u);
  EXPECT_TRUE(parsed["seconds"].is_number());
  // The defaults are rows 10000 and seed 42: same seed, same prefix of rows.
  EXPECT_EQ(ReadFile(dir_ / "h.csv"), ReadFile(dir_ / "j.csv"));
}

TEST_F(CliTest, HousingDefaultsToTenThousandRows) {
  ASSERT_EQ(Run({"datasets", "housing", "--out", "d.csv"}).exit_code, 0);
  EXPECT_EQ(Lines(ReadFile(dir_ / "d.csv")).size(), 10001u);
}

TEST_F(CliTest, HousingToStandardOutput) {
  ASSERT_EQ(Run({"datasets", "housing", "--rows", "30", "--seed", "3", "--out", "f.csv"})
                .exit_code,
            0);
  Outcome outcome = Run({"datasets", "housing", "--rows", "30", "--seed", "3", "--out", "-"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(outcome.out, ReadFile(dir_ / "f.csv"));
  EXPECT_THAT(outcome.err, StartsWith("wrote 30 housing rows (seed 3) to standard output"));
}

TEST_F(CliTest, HousingWriteFailureIsExitOneNamingThePath) {
  Outcome outcome = Run({"datasets", "housing", "--rows", "5", "--out", "missing/dir/h.csv"});
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_THAT(outcome.err, StartsWith("raypipe: error: "));
  EXPECT_THAT(outcome.err, HasSubstr("missing/dir"));
  EXPECT_EQ(outcome.out, "");
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int arg_idx = 1; arg_idx < argc; ++arg_idx) {
    if (std::string(argv[arg_idx]) == "--update_golden") update_golden = true;
  }
  const char* from_env = std::getenv("RAYPIPE_UPDATE_GOLDEN");
  if (from_env != nullptr && std::string(from_env) == "1") update_golden = true;
  return RUN_ALL_TESTS();
}
