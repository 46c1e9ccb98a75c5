// Training parity with Python's xgboost (issue 5): `raypipe train` and bench/peers/train.py
// (pandas + xgboost 3.2.0 from .deps/venv, installed by scripts/setup) train on the same
// generated housing rows, the same split, the same standardization and the same
// hyperparameters; their validation RMSE must agree within 1%.

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

struct Output {
  int exit_code = -1;
  std::string text;
};

Output Shell(const std::string& command) {
  Output output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  std::array<char, 4096> buffer;
  size_t got = 0;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.text.append(buffer.data(), got);
  int status = pclose(pipe);
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return output;
}

TEST(XgboostParityTest, ValidationRmseMatchesPythonXgboostWithinOnePercent) {
  const std::string python = std::string(RAYPIPE_SOURCE_DIR) + "/.deps/venv/bin/python";
  ASSERT_TRUE(fs::exists(python)) << python << " is missing: run scripts/setup";
  char pattern[] = "/tmp/xgboost_parity_test.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const std::string raypipe = std::string(RAYPIPE_BINARY_DIR) + "/bin/raypipe";

  Output generate = Shell(raypipe + " datasets housing --rows 10000 --seed 7 --out " + dir + "/all.csv");
  ASSERT_EQ(generate.exit_code, 0) << generate.text;
  // The first 8,000 rows train, the last 2,000 validate (the generator's rows are independent).
  {
    std::ifstream in(dir + "/all.csv");
    std::ofstream train(dir + "/train.csv"), validation(dir + "/validation.csv");
    std::string line;
    std::getline(in, line);
    train << line << "\n";
    validation << line << "\n";
    for (int row = 0; std::getline(in, line); ++row) (row < 8000 ? train : validation) << line << "\n";
  }

  Output ours = Shell(raypipe + " --output json train --train " + dir + "/train.csv --validation " +
                      dir + "/validation.csv --target PRICE --standardize --num-round 100" +
                      " --hyperparameter tree_method=approx --hyperparameter objective=reg:squarederror" +
                      " --hyperparameter eval_metric=rmse --hyperparameter seed=47" +
                      " --hyperparameter max_depth=6 --hyperparameter eta=0.3 --out " + dir + "/model");
  ASSERT_EQ(ours.exit_code, 0) << ours.text;
  nlohmann::json result = nlohmann::json::parse(ours.text, nullptr, false);
  ASSERT_TRUE(result.is_object()) << ours.text;
  const double our_rmse = result["metrics"].value("validation:rmse", -1.0);

  Output peer = Shell(python + " " + RAYPIPE_SOURCE_DIR + "/bench/peers/train.py " + dir +
                      "/train.csv " + dir + "/validation.csv --reps 1 --rounds 100");
  ASSERT_EQ(peer.exit_code, 0) << peer.text;
  const size_t at = peer.text.find("rmse=");
  ASSERT_NE(at, std::string::npos) << peer.text;
  const double peer_rmse = std::atof(peer.text.c_str() + at + 5);

  ASSERT_GT(peer_rmse, 0.0) << peer.text;
  EXPECT_LT(std::abs(our_rmse - peer_rmse) / peer_rmse, 0.01)
      << "raypipe " << our_rmse << " vs python xgboost " << peer_rmse;
  fs::remove_all(dir);
}

}  // namespace
