#include "store/home.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace raypipe::store {
namespace {

using ::testing::HasSubstr;

class HomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("raypipe_home_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path root_;
};

TEST_F(HomeTest, CreatesTheHomeAndOpensBothStoresInTheirPlaces) {
  std::filesystem::path home = root_ / "nested" / "home";
  Result<std::unique_ptr<SqliteMetadataStore>> metadata = OpenHomeMetadata(home);
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_TRUE(std::filesystem::is_regular_file(home / "metadata.db"));
  EXPECT_EQ(MetadataPathOf(home), (home / "metadata.db").string());

  Result<std::unique_ptr<ArtifactStore>> artifacts = OpenHomeArtifacts(home);
  ASSERT_TRUE(artifacts.ok()) << artifacts.status().ToString();
  Result<ArtifactRef> stored = (*artifacts)->PutBytes("hello");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  Result<std::string> path = (*artifacts)->PathOf(stored->digest);
  ASSERT_TRUE(path.ok());
  EXPECT_THAT(*path, ::testing::StartsWith(ArtifactsRootOf(home)));
}

TEST_F(HomeTest, AHomeThatCannotBeCreatedIsNamed) {
  std::ofstream(root_ / "file") << "not a directory";
  std::filesystem::path home = root_ / "file" / "home";
  Result<std::unique_ptr<SqliteMetadataStore>> metadata = OpenHomeMetadata(home);
  ASSERT_FALSE(metadata.ok());
  EXPECT_EQ(metadata.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(metadata.status().message(), HasSubstr(home.string()));
}

}  // namespace
}  // namespace raypipe::store
