#include "cli/app.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/context.h"
#include "cli/registry.h"

namespace raypipe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A registry with one group and a command that records what its handler received.
class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_.program = "raypipe";
    info_.version = "9.8.7";
    info_.description = "Test program.";
    ASSERT_TRUE(registry_.AddGroup("things", "Work with things").ok());

    CommandSpec make;
    make.path = "things make";
    make.summary = "Make a thing";
    make.flags.push_back(
        FlagSpec::Value("count", FlagType::kInt64, "N", "How many").Default("3").Min(0).Max(100));
    make.flags.push_back(FlagSpec::Value("seed", FlagType::kUint64, "S", "Seed").Default("42"));
    make.flags.push_back(FlagSpec::Value("ratio", FlagType::kDouble, "X", "Ratio"));
    make.flags.push_back(FlagSpec::Value("out", FlagType::kString, "FILE", "Where").Required());
    make.flags.push_back(FlagSpec::Bool("force", "Overwrite"));
    make.flags.push_back(
        FlagSpec::Value("param", FlagType::kString, "K=V", "A parameter").Repeated());
    make.flags.push_back(
        FlagSpec::Value("mode", FlagType::kString, "", "Mode").OneOf({"fast", "slow"}));
    make.args.push_back(ArgSpec::Optional("NAME", "The thing's name"));
    make.handler = [this](CommandContext& context, const ParsedArgs& args) {
      ++runs_;
      home_ = context.options().home.string();
      json_ = context.json();
      executor_ = std::string(ExecutorKindName(context.options().executor));
      ray_address_ = context.options().ray_address;
      ray_cpus_ = context.options().ray_cpus;
      count_ = args.GetInt64("count");
      seed_ = args.GetUint64("seed");
      ratio_ = args.GetDouble("ratio");
      out_ = args.GetString("out");
      force_ = args.GetBool("force");
      out_given_ = args.Has("out");
      count_given_ = args.Has("count");
      params_ = args.GetAll("param");
      mode_ = args.GetString("mode");
      name_ = args.GetArg("NAME");
      return exit_code_;
    };
    ASSERT_TRUE(registry_.Add(std::move(make)).ok());

    CommandSpec get;
    get.path = "things get";
    get.summary = "Get things";
    get.args.push_back(ArgSpec::Required("GROUP", "The group"));
    get.args.push_back(ArgSpec::Required("ID", "Record ids").Variadic());
    get.handler = [this](CommandContext& context, const ParsedArgs& args) {
      ++runs_;
      ids_ = args.GetArgs("ID");
      group_ = args.GetArg("GROUP");
      context.PrintTable({"group", "count"}, {{group_, static_cast<int64_t>(ids_.size())}});
      return kExitSuccess;
    };
    ASSERT_TRUE(registry_.Add(std::move(get)).ok());

    CommandSpec fail;
    fail.huge_pages = true;
    fail.path = "broken";
    fail.summary = "Always fails";
    fail.handler = [](CommandContext& context, const ParsedArgs&) {
      return context.Fail(NotFoundError("no such thing 'x'"));
    };
    ASSERT_TRUE(registry_.Add(std::move(fail)).ok());
  }

  int Run(const std::vector<std::string>& args) {
    out_stream_.str("");
    err_stream_.str("");
    RunEnvironment env{out_stream_, err_stream_,
                       [this](const std::string& name) -> std::optional<std::string> {
                         auto it = environment_.find(name);
                         if (it == environment_.end()) return std::nullopt;
                         return it->second;
                       },
                       "/work/dir"};
    env.before_handler = [this](const CommandSpec& command) {
      before_handler_.push_back(command.path + (command.huge_pages ? " (huge pages)" : ""));
      before_handler_runs_ = runs_;
    };
    return RunCommandLine(registry_, info_, args, env);
  }

  std::string out() const { return out_stream_.str(); }
  std::string err() const { return err_stream_.str(); }

  AppInfo info_;
  CommandRegistry registry_;
  std::map<std::string, std::string> environment_;
  std::ostringstream out_stream_;
  std::ostringstream err_stream_;
  int exit_code_ = kExitSuccess;

  int runs_ = 0;
  std::string home_, executor_, ray_address_, out_, mode_, name_, group_;
  std::optional<double> ray_cpus_;
  bool json_ = false, force_ = false, out_given_ = false, count_given_ = false;
  int64_t count_ = -1;
  uint64_t seed_ = 0;
  double ratio_ = -1;
  std::vector<std::string> params_, ids_;
  std::vector<std::string> before_handler_;  // the commands before_handler saw
  int before_handler_runs_ = -1;             // runs_ when it was last called
};

TEST_F(AppTest, BeforeHandlerSeesOnlyTheCommandAboutToRun) {
  EXPECT_EQ(Run({"things", "get", "g", "1"}), 0) << err();
  EXPECT_EQ(before_handler_runs_, 0);  // called before the handler ran
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(Run({"broken"}), 1);
  // Help, version and usage errors run no handler, so no hook either.
  EXPECT_EQ(Run({"things", "get", "--help"}), 0);
  EXPECT_EQ(Run({"--version"}), 0);
  EXPECT_EQ(Run({"things", "get"}), 2);
  EXPECT_EQ(before_handler_, (std::vector<std::string>{"things get", "broken (huge pages)"}));
}

TEST_F(AppTest, FlagsWithSpaceAndEqualsAndDefaults) {
  EXPECT_EQ(Run({"things", "make", "--out", "a.csv", "--seed=7", "--ratio", "0.25"}), 0)
      << err();
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(out_, "a.csv");
  EXPECT_EQ(seed_, 7u);
  EXPECT_DOUBLE_EQ(ratio_, 0.25);
  EXPECT_EQ(count_, 3);  // the default
  EXPECT_FALSE(count_given_);
  EXPECT_TRUE(out_given_);
  EXPECT_FALSE(force_);
  EXPECT_EQ(name_, "");
  EXPECT_TRUE(params_.empty());
  EXPECT_EQ(err(), "");
}

TEST_F(AppTest, ValueFlagTakesDashValueAndBoolFlagsParse) {
  EXPECT_EQ(Run({"things", "make", "--out", "-", "--force", "--count=-0", "widget"}), 0) << err();
  EXPECT_EQ(out_, "-");
  EXPECT_TRUE(force_);
  EXPECT_EQ(count_, 0);
  EXPECT_EQ(name_, "widget");
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--force=false"}), 0) << err();
  EXPECT_FALSE(force_);
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--force=maybe"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("invalid value 'maybe' for --force"));
}

TEST_F(AppTest, DoubleDashEndsFlags) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--", "--force"}), 0) << err();
  EXPECT_EQ(name_, "--force");
  EXPECT_FALSE(force_);
}

TEST_F(AppTest, NegativeNumberIsAnArgument) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "-5"}), 0) << err();
  EXPECT_EQ(name_, "-5");
}

TEST_F(AppTest, RepeatedFlagKeepsOrder) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--param", "a=1", "--param=b=2"}), 0) << err();
  EXPECT_EQ(params_, (std::vector<std::string>{"a=1", "b=2"}));
}

TEST_F(AppTest, NonRepeatedFlagTwiceIsAUsageError) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--out", "y"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("flag --out given more than once"));
  EXPECT_EQ(runs_, 0);
}

TEST_F(AppTest, UnknownFlagNamesItSuggestsAndHints) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--cuont", "4"}), kExitUsage);
  EXPECT_EQ(err(),
            "raypipe: error: unknown flag --cuont for 'raypipe things make'; did you mean "
            "--count?\nRun 'raypipe things make --help' for usage.\n");
  EXPECT_EQ(out(), "");
  EXPECT_EQ(runs_, 0);
}

TEST_F(AppTest, SingleDashFlagIsRejected) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "-f"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("unknown flag '-f'"));
}

TEST_F(AppTest, MissingRequiredFlag) {
  EXPECT_EQ(Run({"things", "make"}), kExitUsage);
  EXPECT_THAT(err(), StartsWith("raypipe: error: missing required flag --out\n"));
  EXPECT_EQ(runs_, 0);
}

TEST_F(AppTest, FlagWithoutValue) {
  EXPECT_EQ(Run({"things", "make", "--out"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("flag --out needs a value"));
}

TEST_F(AppTest, BadNumbersNameTheFlag) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--count", "ten"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("invalid value 'ten' for --count: expected an integer"));
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--count", "10x"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("invalid value '10x' for --count"));
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--count", "101"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("--count: must be at most 100"));
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--count=-1"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("--count: must be at least 0"));
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--seed", "-1"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("for --seed: expected a non-negative integer"));
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--seed", "99999999999999999999999"}),
            kExitUsage);
  EXPECT_THAT(err(), HasSubstr("for --seed"));
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--ratio", "nan"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("for --ratio: expected a number"));
  EXPECT_EQ(runs_, 0);
}

TEST_F(AppTest, ChoicesAreEnforced) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--mode", "medium"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("invalid value 'medium' for --mode: expected one of fast, slow"));
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--mode", "slow"}), 0);
  EXPECT_EQ(mode_, "slow");
}

TEST_F(AppTest, UnexpectedAndMissingArguments) {
  EXPECT_EQ(Run({"things", "make", "--out", "x", "a", "b"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("unexpected argument 'b' for 'raypipe things make'"));
  EXPECT_EQ(Run({"things", "get"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("missing argument GROUP"));
  EXPECT_EQ(Run({"things", "get", "g"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("missing argument ID"));
}

TEST_F(AppTest, VariadicArgumentTakesTheRest) {
  EXPECT_EQ(Run({"things", "get", "g", "1", "2", "3"}), 0) << err();
  EXPECT_EQ(group_, "g");
  EXPECT_EQ(ids_, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(out(), "group  count\ng      3\n");
}

TEST_F(AppTest, UnknownCommandSuggestsNearest) {
  EXPECT_EQ(Run({"thngs", "make"}), kExitUsage);
  EXPECT_EQ(err(),
            "raypipe: error: unknown command 'thngs' for 'raypipe'; did you mean 'things'?\n"
            "Run 'raypipe --help' for usage.\n");
  EXPECT_EQ(Run({"things", "mkae"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("unknown command 'mkae' for 'raypipe things'; did you mean "
                               "'make'?\nRun 'raypipe things --help'"));
  EXPECT_EQ(Run({"zzzzzz"}), kExitUsage);
  EXPECT_THAT(err(), Not(HasSubstr("did you mean")));
  // Help cannot rescue a command that does not exist.
  EXPECT_EQ(Run({"thngs", "--help"}), kExitUsage);
  EXPECT_EQ(out(), "");
}

TEST_F(AppTest, MissingCommandListsChoices) {
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("'raypipe' needs a command: broken, things"));
  EXPECT_EQ(Run({"things"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("'raypipe things' needs a command: get, make"));
}

TEST_F(AppTest, HelpAtEveryLevel) {
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_THAT(out(), StartsWith("Test program.\n\nUsage:\n  raypipe [global options]"));
  EXPECT_THAT(out(), HasSubstr("  things  Work with things\n"));
  EXPECT_THAT(out(), HasSubstr("--home DIR"));
  EXPECT_EQ(err(), "");

  EXPECT_EQ(Run({"things", "-h"}), 0);
  EXPECT_THAT(out(), HasSubstr("Usage:\n  raypipe things <command>"));
  EXPECT_THAT(out(), HasSubstr("  make  Make a thing\n"));

  EXPECT_EQ(Run({"things", "make", "--help"}), 0);
  EXPECT_THAT(out(), HasSubstr("Usage:\n  raypipe things make --out FILE [--count N] [--seed S] "
                               "[--ratio X] [--force] [--param K=V]... [--mode fast|slow] "
                               "[NAME]\n"));
  EXPECT_THAT(out(), HasSubstr("--count N"));
  EXPECT_THAT(out(), HasSubstr("How many (default: 3)"));
  EXPECT_THAT(out(), HasSubstr("Where (required)"));
  EXPECT_EQ(runs_, 0);
}

TEST_F(AppTest, HelpWinsOverFlagErrors) {
  EXPECT_EQ(Run({"things", "make", "--count", "abc", "--help"}), 0);
  EXPECT_THAT(out(), HasSubstr("Usage:\n  raypipe things make"));
  EXPECT_EQ(err(), "");
}

TEST_F(AppTest, Version) {
  EXPECT_EQ(Run({"--version"}), 0);
  EXPECT_EQ(out(), "raypipe 9.8.7\n");
  EXPECT_EQ(Run({"--output", "json", "--version"}), 0);
  EXPECT_EQ(out(), "{\n  \"name\": \"raypipe\",\n  \"version\": \"9.8.7\"\n}\n");
  EXPECT_EQ(Run({"--version=1"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("flag --version takes no value"));
}

TEST_F(AppTest, HomeFromFlagThenEnvironmentThenDefault) {
  EXPECT_EQ(Run({"things", "make", "--out", "x"}), 0);
  EXPECT_EQ(home_, "/work/dir/.raypipe");
  environment_["RAYPIPE_HOME"] = "state";
  EXPECT_EQ(Run({"things", "make", "--out", "x"}), 0);
  EXPECT_EQ(home_, "/work/dir/state");
  EXPECT_EQ(Run({"--home", "/abs/../home", "things", "make", "--out", "x"}), 0);
  EXPECT_EQ(home_, "/home");
  environment_["RAYPIPE_HOME"] = "";  // empty is unset
  EXPECT_EQ(Run({"things", "make", "--out", "x"}), 0);
  EXPECT_EQ(home_, "/work/dir/.raypipe");
  EXPECT_EQ(Run({"--home=", "things", "make", "--out", "x"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("--home needs a directory"));
}

TEST_F(AppTest, GlobalOptionsBeforeOrAfterThePath) {
  EXPECT_EQ(Run({"--output", "json", "things", "make", "--out", "x"}), 0) << err();
  EXPECT_TRUE(json_);
  EXPECT_EQ(Run({"things", "--home", "h", "make", "--out", "x", "--output=json"}), 0) << err();
  EXPECT_TRUE(json_);
  EXPECT_EQ(home_, "/work/dir/h");
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--output", "table"}), 0) << err();
  EXPECT_FALSE(json_);
  EXPECT_EQ(Run({"things", "make", "--out", "x", "--output", "yaml"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("invalid value 'yaml' for --output: expected one of table, json"));
  EXPECT_EQ(Run({"--output", "json", "--output", "json", "things", "make", "--out", "x"}),
            kExitUsage);
  EXPECT_THAT(err(), HasSubstr("--output given more than once"));
}

TEST_F(AppTest, CommandFlagBeforeItsCommandIsUnknown) {
  EXPECT_EQ(Run({"--count", "4", "things", "make", "--out", "x"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("unknown flag --count for 'raypipe'"));
}

TEST_F(AppTest, ExecutorRayIsRefusedWhenNotBuilt) {
  EXPECT_EQ(Run({"--executor", "ray", "--ray-address", "head:6379", "things", "make", "--out",
                 "x"}),
            kExitUsage);
  EXPECT_THAT(err(), HasSubstr("--executor ray: the commands of this raypipe do not run on "
                               "that executor yet (available: local)"));
  EXPECT_EQ(runs_, 0);

  info_.executors = {"local", "ray"};
  EXPECT_EQ(Run({"--executor", "ray", "--ray-address", "head:6379", "things", "make", "--out",
                 "x"}),
            0)
      << err();
  EXPECT_EQ(executor_, "ray");
  EXPECT_EQ(ray_address_, "head:6379");
  EXPECT_EQ(Run({"--executor", "ray", "--ray-address", "head", "things", "make", "--out", "x"}),
            kExitUsage);
  EXPECT_THAT(err(), HasSubstr("invalid value 'head' for --ray-address: expected HOST:PORT"));
  EXPECT_EQ(Run({"--ray-address", "h:70000", "things", "make", "--out", "x"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("the port must be 1 to 65535"));
  EXPECT_EQ(Run({"--ray-address", "h:1", "things", "make", "--out", "x"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("--ray-address is used only with --executor ray"));
}

TEST_F(AppTest, RayCpusIsAPositiveNumberUsedOnlyWithRay) {
  info_.executors = {"local", "ray"};
  EXPECT_EQ(Run({"--executor", "ray", "--ray-cpus", "3.5", "things", "make", "--out", "x"}), 0)
      << err();
  EXPECT_EQ(ray_cpus_, 3.5);
  EXPECT_EQ(Run({"--executor", "ray", "--ray-cpus", "0", "things", "make", "--out", "x"}),
            kExitUsage);
  EXPECT_THAT(err(), HasSubstr("invalid value '0' for --ray-cpus: expected a positive number"));
  EXPECT_EQ(Run({"--ray-cpus", "2", "things", "make", "--out", "x"}), kExitUsage);
  EXPECT_THAT(err(), HasSubstr("--ray-cpus is used only with --executor ray"));
  EXPECT_EQ(Run({"things", "make", "--out", "x"}), 0) << err();
  EXPECT_EQ(ray_cpus_, std::nullopt);
}

TEST_F(AppTest, HandlerExitCodeAndErrorsPassThrough) {
  exit_code_ = 1;
  EXPECT_EQ(Run({"things", "make", "--out", "x"}), 1);
  EXPECT_EQ(Run({"broken"}), kExitFailure);
  EXPECT_EQ(err(), "raypipe: error: no such thing 'x'\n");
}

TEST_F(AppTest, JsonOutputFromTheContext) {
  EXPECT_EQ(Run({"--output", "json", "things", "get", "g", "a"}), 0) << err();
  EXPECT_EQ(out(), "[\n  {\n    \"count\": 1,\n    \"group\": \"g\"\n  }\n]\n");
}

TEST_F(AppTest, ParseCommandLineReportsWhereItStopped) {
  std::ostringstream sink;
  RunEnvironment env{sink, sink, [](const std::string&) { return std::nullopt; }, "/w"};
  Invocation invocation =
      ParseCommandLine(registry_, info_, {"things", "make", "--bogus"}, env);
  EXPECT_FALSE(invocation.error.ok());
  EXPECT_EQ(invocation.node->FullName("raypipe"), "raypipe things make");
  invocation = ParseCommandLine(registry_, info_, {"things", "get", "g", "1"}, env);
  EXPECT_TRUE(invocation.error.ok()) << invocation.error;
  EXPECT_TRUE(invocation.node->is_command());
  EXPECT_EQ(invocation.options.home, "/w/.raypipe");
}

}  // namespace
}  // namespace raypipe::cli
