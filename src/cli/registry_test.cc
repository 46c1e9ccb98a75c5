#include "cli/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace raypipe::cli {
namespace {

using ::testing::HasSubstr;

CommandSpec Spec(std::string path) {
  CommandSpec spec;
  spec.path = std::move(path);
  spec.summary = "summary of " + spec.path;
  spec.handler = [](CommandContext&, const ParsedArgs&) { return kExitSuccess; };
  return spec;
}

TEST(RegistryTest, BuildsTheTree) {
  CommandRegistry registry;
  ASSERT_TRUE(registry.AddGroup("execution", "Work with executions").ok());
  ASSERT_TRUE(registry.Add(Spec("execution list")).ok());
  ASSERT_TRUE(registry.Add(Spec("execution explain-cache")).ok());
  ASSERT_TRUE(registry.Add(Spec("serve")).ok());

  const CommandNode& root = registry.root();
  EXPECT_FALSE(root.is_command());
  ASSERT_EQ(root.children().size(), 2u);
  const CommandNode* execution = root.Child("execution");
  ASSERT_NE(execution, nullptr);
  EXPECT_EQ(execution->summary(), "Work with executions");
  EXPECT_FALSE(execution->is_command());
  const CommandNode* explain = execution->Child("explain-cache");
  ASSERT_NE(explain, nullptr);
  EXPECT_TRUE(explain->is_command());
  EXPECT_EQ(explain->command().summary, "summary of execution explain-cache");
  EXPECT_EQ(explain->FullName("raypipe"), "raypipe execution explain-cache");
  EXPECT_TRUE(root.Child("serve")->is_command());
  EXPECT_EQ(root.Child("nothing"), nullptr);
}

TEST(RegistryTest, GroupsMayBeImplicit) {
  CommandRegistry registry;
  ASSERT_TRUE(registry.Add(Spec("model groups")).ok());
  const CommandNode* model = registry.root().Child("model");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->summary(), "");
  // Declaring the summary afterwards is allowed once.
  EXPECT_TRUE(registry.AddGroup("model", "The model registry").ok());
  EXPECT_EQ(registry.AddGroup("model", "Again").code(), StatusCode::kAlreadyExists);
}

TEST(RegistryTest, RejectsTakenPaths) {
  CommandRegistry registry;
  ASSERT_TRUE(registry.Add(Spec("serve")).ok());
  EXPECT_EQ(registry.Add(Spec("serve")).code(), StatusCode::kAlreadyExists);
  Status below = registry.Add(Spec("serve now"));
  EXPECT_EQ(below.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(below.message()), HasSubstr("'serve' is a command, not a group"));
  EXPECT_EQ(registry.AddGroup("serve", "x").code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.Add(Spec("pipeline list")).ok());
  EXPECT_EQ(registry.Add(Spec("pipeline")).code(), StatusCode::kAlreadyExists);
}

TEST(RegistryTest, RejectsMalformedPaths) {
  CommandRegistry registry;
  for (const char* path : {"", "Datasets", "datasets  housing", " datasets", "data_sets",
                           "datasets-", "9lives", "a --b"}) {
    Status status = registry.Add(Spec(path));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "'" << path << "'";
  }
  EXPECT_TRUE(registry.root().children().empty());
  EXPECT_EQ(registry.AddGroup("Bad", "x").code(), StatusCode::kInvalidArgument);
}

TEST(RegistryTest, RejectsBadFlagDeclarations) {
  auto with_flag = [](FlagSpec flag) {
    CommandSpec spec = Spec("cmd");
    spec.flags.push_back(std::move(flag));
    return spec;
  };
  struct Case {
    FlagSpec flag;
    std::string message;
  };
  std::vector<Case> cases = {
      {FlagSpec::Value("Rows", FlagType::kInt64, "N", "x"), "lower-case"},
      {FlagSpec::Value("home", FlagType::kString, "DIR", "x"), "global option"},
      {FlagSpec::Bool("help", "x"), "global option"},
      {FlagSpec::Value("rows", FlagType::kInt64, "N", "x").Required().Default("1"),
       "required flag cannot have a default"},
      {FlagSpec::Value("rows", FlagType::kInt64, "N", "x").Default("many"),
       "invalid value 'many' for --rows"},
      {FlagSpec::Value("rows", FlagType::kInt64, "N", "x").Default("5").Max(4),
       "must be at most 4"},
      {FlagSpec::Bool("hard", "x").Repeated(), "boolean"},
      {FlagSpec::Value("n", FlagType::kInt64, "N", "x").OneOf({"1"}), "only string flags"},
  };
  for (Case& test_case : cases) {
    CommandRegistry registry;
    Status status = registry.Add(with_flag(std::move(test_case.flag)));
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(std::string(status.message()), HasSubstr(test_case.message));
    EXPECT_THAT(std::string(status.message()), HasSubstr("command 'cmd'"));
    EXPECT_TRUE(registry.root().children().empty());
  }
  CommandRegistry registry;
  CommandSpec twice = Spec("cmd");
  twice.flags.push_back(FlagSpec::Bool("hard", "x"));
  twice.flags.push_back(FlagSpec::Bool("hard", "y"));
  EXPECT_EQ(registry.Add(std::move(twice)).code(), StatusCode::kAlreadyExists);
}

TEST(RegistryTest, RejectsBadArgumentDeclarations) {
  CommandRegistry registry;
  CommandSpec variadic_first = Spec("a");
  variadic_first.args.push_back(ArgSpec::Required("IDS", "x").Variadic());
  variadic_first.args.push_back(ArgSpec::Required("MORE", "x"));
  EXPECT_THAT(std::string(registry.Add(std::move(variadic_first)).message()),
              HasSubstr("only the last argument may be variadic"));

  CommandSpec optional_first = Spec("b");
  optional_first.args.push_back(ArgSpec::Optional("A", "x"));
  optional_first.args.push_back(ArgSpec::Required("B", "x"));
  EXPECT_THAT(std::string(registry.Add(std::move(optional_first)).message()),
              HasSubstr("a required argument follows an optional one"));

  CommandSpec duplicate = Spec("c");
  duplicate.args.push_back(ArgSpec::Required("A", "x"));
  duplicate.args.push_back(ArgSpec::Required("A", "x"));
  EXPECT_EQ(registry.Add(std::move(duplicate)).code(), StatusCode::kAlreadyExists);

  CommandSpec no_handler = Spec("d");
  no_handler.handler = nullptr;
  EXPECT_THAT(std::string(registry.Add(std::move(no_handler)).message()), HasSubstr("no handler"));
  EXPECT_TRUE(registry.root().children().empty());
}

TEST(RegistryTest, SplitCommandPath) {
  Result<std::vector<std::string>> words = SplitCommandPath("featurestore get-record");
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(*words, (std::vector<std::string>{"featurestore", "get-record"}));
  EXPECT_FALSE(SplitCommandPath("a  b").ok());
}

}  // namespace
}  // namespace raypipe::cli
