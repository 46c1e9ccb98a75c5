#include "cli/suggest.h"

#include <gtest/gtest.h>

namespace raypipe::cli {
namespace {

TEST(SuggestTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("rows", "rwos"), 1u);  // one swap
  EXPECT_EQ(EditDistance("datasets", "datasets"), 0u);
}

TEST(SuggestTest, NearestName) {
  std::vector<std::string> names = {"datasets", "pipeline", "execution", "experiments"};
  EXPECT_EQ(NearestName("datset", names), "datasets");
  EXPECT_EQ(NearestName("pipelin", names), "pipeline");
  EXPECT_EQ(NearestName("exec", names), "execution");  // a unique prefix
  EXPECT_EQ(NearestName("e", names), "");               // an ambiguous prefix
  EXPECT_EQ(NearestName("zebra", names), "");
  EXPECT_EQ(NearestName("", names), "");
  EXPECT_EQ(NearestName("x", {}), "");
}

}  // namespace
}  // namespace raypipe::cli
