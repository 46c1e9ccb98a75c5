#include "core/env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/ids.h"

namespace raypipe::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / NewId("env_test")).string();
    ASSERT_TRUE(env_.CreateDirs(dir_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  PosixEnv env_;
  std::string dir_;
};

TEST_F(EnvTest, WriteReadAndSize) {
  ASSERT_TRUE(env_.WriteFile(Path("a.txt"), "hello").ok());
  EXPECT_EQ(*env_.ReadFile(Path("a.txt")), "hello");
  EXPECT_EQ(*env_.FileSize(Path("a.txt")), 5);
  EXPECT_TRUE(env_.FileExists(Path("a.txt")));
  ASSERT_TRUE(env_.WriteFile(Path("a.txt"), "x").ok());  // truncates
  EXPECT_EQ(*env_.ReadFile(Path("a.txt")), "x");
}

TEST_F(EnvTest, MissingPathsAreNotFoundAndNamed) {
  Result<std::string> missing = env_.ReadFile(Path("nope"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(Path("nope")));
  EXPECT_FALSE(env_.FileExists(Path("nope")));
  EXPECT_EQ(env_.FileSize(Path("nope")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.ListDir(Path("nope")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.RenameFile(Path("nope"), Path("b")).code(), StatusCode::kNotFound);
  EXPECT_TRUE(env_.RemoveAll(Path("nope")).ok());
  EXPECT_EQ(env_.WriteFile(Path("no/such/dir/f"), "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.ReadFile(dir_).status().code(), StatusCode::kInvalidArgument);  // a directory
}

TEST_F(EnvTest, StreamFileInChunksAndStopsOnError) {
  std::string big(3 * (1 << 20) + 17, 'z');
  ASSERT_TRUE(env_.WriteFile(Path("big"), big).ok());
  size_t total = 0;
  int chunks = 0;
  ASSERT_TRUE(env_.StreamFile(Path("big"),
                              [&](std::string_view chunk) {
                                total += chunk.size();
                                ++chunks;
                                return Status::Ok();
                              })
                  .ok());
  EXPECT_EQ(total, big.size());
  EXPECT_EQ(chunks, 4);
  Status stopped =
      env_.StreamFile(Path("big"), [](std::string_view) { return DataLossError("stop"); });
  EXPECT_EQ(stopped.code(), StatusCode::kDataLoss);
}

TEST_F(EnvTest, DirectoriesListingAndRemoval) {
  ASSERT_TRUE(env_.CreateDirs(Path("x/y/z")).ok());
  ASSERT_TRUE(env_.CreateDirs(Path("x/y/z")).ok());  // idempotent
  ASSERT_TRUE(env_.WriteFile(Path("x/b"), "1").ok());
  ASSERT_TRUE(env_.WriteFile(Path("x/a"), "2").ok());
  EXPECT_THAT(*env_.ListDir(Path("x")), ElementsAre("a", "b", "y"));
  EXPECT_EQ(env_.CreateDirs(Path("x/a")).code(), StatusCode::kAlreadyExists);  // a file
  EXPECT_EQ(env_.Stat(Path("x/y"))->type, FileType::kDirectory);
  EXPECT_EQ(env_.Stat(Path("x/a"))->type, FileType::kRegular);
  ASSERT_TRUE(env_.RemoveAll(Path("x")).ok());
  EXPECT_FALSE(env_.FileExists(Path("x")));
}

TEST_F(EnvTest, RenameReplacesAtomically) {
  ASSERT_TRUE(env_.WriteFile(Path("new"), "new").ok());
  ASSERT_TRUE(env_.WriteFile(Path("old"), "old").ok());
  ASSERT_TRUE(env_.RenameFile(Path("new"), Path("old")).ok());
  EXPECT_EQ(*env_.ReadFile(Path("old")), "new");
  EXPECT_FALSE(env_.FileExists(Path("new")));
}

TEST_F(EnvTest, WriteFileAtomicLeavesNoTemporaries) {
  ASSERT_TRUE(env_.WriteFileAtomic(Path("cfg"), "v1").ok());
  ASSERT_TRUE(env_.WriteFileAtomic(Path("cfg"), "v2").ok());
  EXPECT_EQ(*env_.ReadFile(Path("cfg")), "v2");
  EXPECT_THAT(*env_.ListDir(dir_), ElementsAre("cfg"));
}

TEST_F(EnvTest, SymlinksAreReportedNotFollowed) {
  ASSERT_TRUE(env_.WriteFile(Path("target"), "t").ok());
  ASSERT_TRUE(env_.CreateSymlink("target", Path("link")).ok());
  EXPECT_EQ(env_.Stat(Path("link"))->type, FileType::kSymlink);
  EXPECT_EQ(*env_.ReadLink(Path("link")), "target");
  EXPECT_EQ(*env_.ReadFile(Path("link")), "t");
  EXPECT_EQ(env_.CreateSymlink("x", Path("link")).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(env_.RemoveAll(Path("link")).ok());
  EXPECT_TRUE(env_.FileExists(Path("target")));
}

TEST_F(EnvTest, CopyKeepsContentAndExecuteBit) {
  ASSERT_TRUE(env_.WriteFile(Path("script"), "#!/bin/sh\n").ok());
  ASSERT_EQ(chmod(Path("script").c_str(), 0755), 0);
  ASSERT_TRUE(env_.CopyFile(Path("script"), Path("copy")).ok());
  EXPECT_EQ(*env_.ReadFile(Path("copy")), "#!/bin/sh\n");
  EXPECT_TRUE(env_.Stat(Path("copy"))->executable);
  EXPECT_EQ(env_.CopyFile(dir_, Path("dircopy")).code(), StatusCode::kInvalidArgument);
}

TEST_F(EnvTest, MakeReadOnlyClearsWriteBits) {
  ASSERT_TRUE(env_.WriteFile(Path("f"), "x").ok());
  ASSERT_TRUE(env_.MakeReadOnly(Path("f")).ok());
  struct stat info;
  ASSERT_EQ(stat(Path("f").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0222, 0u);
  EXPECT_TRUE(env_.SyncFile(Path("f")).ok());
  EXPECT_TRUE(env_.SyncDir(dir_).ok());
  EXPECT_EQ(env_.MakeReadOnly(dir_).code(), StatusCode::kInvalidArgument);
}

TEST(PosixErrorTest, MapsErrnoToCodes) {
  EXPECT_EQ(PosixError("x", ENOENT).code(), StatusCode::kNotFound);
  EXPECT_EQ(PosixError("x", EEXIST).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(PosixError("x", EACCES).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(PosixError("x", ENOSPC).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixError("x", EIO).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(PosixError("x", EIO).IsTransient());
  EXPECT_THAT(std::string(PosixError("open /p", ENOENT).message()), HasSubstr("open /p: "));
}

class FaultInjectionEnvTest : public EnvTest {
 protected:
  FaultInjectionEnv faulty_{&env_};
};

TEST_F(FaultInjectionEnvTest, FailsTheNthWriteWithATornFile) {
  faulty_.FailNth(FaultInjectionEnv::Op::kWrite, 2);
  EXPECT_TRUE(faulty_.WriteFile(Path("one"), "first").ok());
  Status failed = faulty_.WriteFile(Path("two"), "abcdef");
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(failed.message()), HasSubstr("injected fault"));
  EXPECT_EQ(*env_.ReadFile(Path("two")), "abc");             // torn
  EXPECT_TRUE(faulty_.WriteFile(Path("three"), "ok").ok());  // not sticky
  EXPECT_EQ(faulty_.Count(FaultInjectionEnv::Op::kWrite), 3);
}

TEST_F(FaultInjectionEnvTest, AtomicWriteKeepsOldContentOnWriteOrRenameFailure) {
  ASSERT_TRUE(faulty_.WriteFileAtomic(Path("state"), "old").ok());
  faulty_.FailNth(FaultInjectionEnv::Op::kWrite, 1);
  EXPECT_FALSE(faulty_.WriteFileAtomic(Path("state"), "new content").ok());
  EXPECT_EQ(*env_.ReadFile(Path("state")), "old");
  faulty_.FailNth(FaultInjectionEnv::Op::kRename, 1);
  EXPECT_FALSE(faulty_.WriteFileAtomic(Path("state"), "new content").ok());
  EXPECT_EQ(*env_.ReadFile(Path("state")), "old");
  faulty_.FailNth(FaultInjectionEnv::Op::kSync, 1);
  EXPECT_FALSE(faulty_.WriteFileAtomic(Path("state"), "new content").ok());
  EXPECT_EQ(*env_.ReadFile(Path("state")), "old");
  EXPECT_THAT(*env_.ListDir(dir_), ElementsAre("state"));  // temporaries cleaned up
}

TEST_F(FaultInjectionEnvTest, StickyFaultsAndHeal) {
  faulty_.FailNth(FaultInjectionEnv::Op::kRename, 1, /*sticky=*/true);
  ASSERT_TRUE(faulty_.WriteFile(Path("a"), "a").ok());
  EXPECT_FALSE(faulty_.RenameFile(Path("a"), Path("b")).ok());
  EXPECT_FALSE(faulty_.RenameFile(Path("a"), Path("b")).ok());
  faulty_.Heal();
  EXPECT_TRUE(faulty_.RenameFile(Path("a"), Path("b")).ok());
  faulty_.FailNth(FaultInjectionEnv::Op::kRead, 1);
  EXPECT_EQ(faulty_.ReadFile(Path("b")).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(*faulty_.ReadFile(Path("b")), "a");
}

TEST_F(FaultInjectionEnvTest, FailedCopyIsTorn) {
  ASSERT_TRUE(env_.WriteFile(Path("src"), "0123456789").ok());
  faulty_.FailNth(FaultInjectionEnv::Op::kWrite, 1);
  EXPECT_FALSE(faulty_.CopyFile(Path("src"), Path("dst")).ok());
  EXPECT_EQ(*env_.ReadFile(Path("dst")), "01234");
}

TEST(DefaultEnvTest, IsAPosixEnv) {
  Env* env = DefaultEnv();
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env, DefaultEnv());
  EXPECT_TRUE(env->FileExists(std::filesystem::temp_directory_path().string()));
}

}  // namespace
}  // namespace raypipe::core
