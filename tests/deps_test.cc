// Checks that the pinned third-party libraries installed by scripts/setup are the ones linked.

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <string>

namespace {

TEST(DependenciesTest, XGBoostIsThePinnedVersion) {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  std::string linked =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  EXPECT_EQ(linked, RAYPIPE_XGBOOST_VERSION);
}

}  // namespace
