#include "serving/endpoint_store.h"

#include <filesystem>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/sqlite_metadata_store.h"

namespace raypipe::serving {
namespace {

using ::testing::HasSubstr;

class EndpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("raypipe-endpoint-store-" + std::to_string(std::random_device()()));
    std::filesystem::create_directories(dir_);
    store::SqliteOptions options;
    options.path = (dir_ / "metadata.db").string();
    auto metadata = store::SqliteMetadataStore::Open(options);
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    metadata_ = std::move(*metadata);
    auto endpoints = EndpointStore::Open(metadata_.get(), &clock_);
    ASSERT_TRUE(endpoints.ok()) << endpoints.status();
    endpoints_ = std::move(*endpoints);
  }
  void TearDown() override {
    endpoints_.reset();
    metadata_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  core::ManualClock clock_;
  std::unique_ptr<store::SqliteMetadataStore> metadata_;
  std::unique_ptr<EndpointStore> endpoints_;
};

EndpointConfig Config(std::string name) {
  EndpointConfig config;
  config.name = std::move(name);
  config.variants = {{"AllTraffic", "housing", 2, 1.0}};
  return config;
}

TEST_F(EndpointStoreTest, CreateGetListUpdateDelete) {
  auto created = endpoints_->Create(Config("prod"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->revision, 1);
  EXPECT_EQ(created->created_at, "1970-01-01T00:00:00.000Z");
  ASSERT_TRUE(endpoints_->Create(Config("dev")).ok());
  EXPECT_EQ(endpoints_->Create(Config("prod")).status().code(), StatusCode::kAlreadyExists);

  auto listed = endpoints_->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "dev");

  clock_.Advance(std::chrono::seconds(5));
  auto updated = endpoints_->Update(
      "prod", {{"Blue", "housing", 2, 0.9}, {"Green", "housing", 3, 0.1}}, 9090);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision, 2);
  EXPECT_EQ(updated->port, 9090);
  EXPECT_EQ(updated->updated_at, "1970-01-01T00:00:05.000Z");
  auto got = endpoints_->Get("prod");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->variants.size(), 2u);
  EXPECT_EQ(got->variants[1], (VariantConfig{"Green", "housing", 3, 0.1}));

  EXPECT_EQ(endpoints_->Update("nope", Config("x").variants).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(endpoints_->Delete("prod").ok());
  EXPECT_EQ(endpoints_->Get("prod").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(endpoints_->Delete("prod").code(), StatusCode::kNotFound);
}

TEST_F(EndpointStoreTest, RejectsBadRecords) {
  EXPECT_FALSE(endpoints_->Create(Config("bad name")).ok());
  EndpointConfig port = Config("p");
  port.port = 70000;
  EXPECT_THAT(endpoints_->Create(port).status().message(), HasSubstr("out of range"));
  EndpointConfig unresolved = Config("u");
  unresolved.variants[0].version = 0;
  EXPECT_FALSE(endpoints_->Create(unresolved).ok());
  EndpointConfig twice = Config("t");
  twice.variants.push_back(twice.variants[0]);
  EXPECT_THAT(endpoints_->Create(twice).status().message(), HasSubstr("given twice"));
}

TEST(ParseSpecTest, ModelPackageRefs) {
  auto latest = ParseModelPackageRef("housing");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->group, "housing");
  EXPECT_EQ(latest->version, 0);
  EXPECT_EQ(latest->name, "AllTraffic");
  EXPECT_EQ(ParseModelPackageRef("housing:3")->version, 3);
  EXPECT_FALSE(ParseModelPackageRef("housing:x").ok());
  EXPECT_FALSE(ParseModelPackageRef(":3").ok());
}

TEST(ParseSpecTest, VariantSpecs) {
  auto variant = ParseVariantSpec("Blue=housing:3:0.25");
  ASSERT_TRUE(variant.ok()) << variant.status();
  EXPECT_EQ(*variant, (VariantConfig{"Blue", "housing", 3, 0.25}));
  EXPECT_EQ(ParseVariantSpec("Green=housing:latest")->weight, 1.0);
  EXPECT_THAT(ParseVariantSpec("housing:3").status().message(), HasSubstr("NAME=GROUP:VERSION"));
  EXPECT_THAT(ParseVariantSpec("B=housing:3:-1").status().message(),
              HasSubstr("must be a positive number"));
  EXPECT_FALSE(ParseVariantSpec("B=housing:0:1").ok());
}

}  // namespace
}  // namespace raypipe::serving
