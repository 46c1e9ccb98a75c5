#include "store/artifact_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/hash.h"
#include "core/ids.h"

namespace raypipe::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Flips one byte of a (read-only) stored file, as disk corruption would.
void FlipByte(const fs::path& path, size_t offset) {
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::string content = ReadText(path);
  ASSERT_LT(offset, content.size());
  content[offset] ^= 0x20;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / core::NewId("artifact_test");
    root_ = base_ / "artifacts";
    Result<std::unique_ptr<ArtifactStore>> store = ArtifactStore::Open({.root = root_.string()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override { fs::remove_all(base_); }

  // Builds a small tree in a new staging dir; `reverse` creates entries in the opposite order.
  std::string StageTree(bool reverse = false, const std::string& weights = "w1") {
    Result<std::string> staging = store_->NewStagingDir();
    EXPECT_TRUE(staging.ok());
    fs::path dir = fs::path(*staging) / "model";
    std::vector<std::function<void()>> steps = {
        [&] { WriteText(dir / "config.json", R"({"depth": 6})"); },
        [&] { WriteText(dir / "sub" / "weights.bin", weights); },
        [&] { fs::create_directories(dir / "empty"); },
        [&] {
          WriteText(dir / "run.sh", "#!/bin/sh\n");
          fs::permissions(dir / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
        },
        [&] {
          fs::create_directories(dir / "sub");
          fs::create_symlink("sub/weights.bin", dir / "latest");
        },
    };
    if (reverse) std::reverse(steps.begin(), steps.end());
    for (auto& step : steps) step();
    return dir.string();
  }

  fs::path base_;
  fs::path root_;
  std::unique_ptr<ArtifactStore> store_;
};

TEST_F(ArtifactStoreTest, PutBytesRoundTrip) {
  Result<ArtifactRef> ref = store_->PutBytes("hello artifacts");
  ASSERT_TRUE(ref.ok()) << ref.status();
  std::string hex = core::Sha256Hex("hello artifacts");
  EXPECT_EQ(ref->digest, "sha256:" + hex);
  EXPECT_EQ(ref->uri, "artifact://sha256:" + hex);
  EXPECT_EQ(ref->kind, "file");
  EXPECT_EQ(ref->size_bytes, 15);
  EXPECT_EQ(*store_->ReadBytes(ref->digest), "hello artifacts");
  EXPECT_EQ(*store_->ReadBytes(ref->uri), "hello artifacts");
  Result<std::string> path = store_->PathOf(ref->digest);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, (root_ / "objects" / hex.substr(0, 2) / hex.substr(2)).string());
  EXPECT_EQ(fs::status(*path).permissions() & fs::perms::owner_write, fs::perms::none);
  EXPECT_EQ(*store_->Describe(ref->digest), *ref);
  EXPECT_TRUE(store_->Verify(ref->digest).ok());
  EXPECT_TRUE(fs::is_empty(root_ / "staging"));
}

TEST_F(ArtifactStoreTest, EmptyContentIsAnArtifactToo) {
  Result<ArtifactRef> ref = store_->PutBytes("");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->size_bytes, 0);
  EXPECT_EQ(*store_->ReadBytes(ref->digest), "");
}

TEST_F(ArtifactStoreTest, IdempotentCommits) {
  ArtifactRef first = *store_->PutBytes("same");
  ArtifactRef second = *store_->PutBytes("same");
  EXPECT_EQ(first, second);
  Result<std::string> staging = store_->NewStagingDir();
  WriteText(fs::path(*staging) / "f", "same");
  ArtifactRef third = *store_->CommitStaged(*staging + "/f");
  EXPECT_EQ(third, first);
  EXPECT_FALSE(fs::exists(*staging + "/f"));  // the staged duplicate is removed
  size_t objects = 0;
  for (auto& entry : fs::recursive_directory_iterator(root_ / "objects"))
    objects += entry.is_regular_file();
  EXPECT_EQ(objects, 1u);
}

TEST_F(ArtifactStoreTest, CommitStagedFileMovesIt) {
  Result<std::string> staging = store_->NewStagingDir();
  ASSERT_TRUE(staging.ok());
  EXPECT_THAT(*staging, StartsWith((root_ / "staging").string() + "/"));
  WriteText(fs::path(*staging) / "evaluation.json", R"({"rmse": 12.5})");
  Result<ArtifactRef> ref = store_->CommitStaged(*staging + "/evaluation.json");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_FALSE(fs::exists(*staging + "/evaluation.json"));
  EXPECT_EQ(*store_->ReadBytes(ref->digest), R"({"rmse": 12.5})");
}

TEST_F(ArtifactStoreTest, DirectoryRoundTripAndEntries) {
  std::string staged = StageTree();
  Result<ArtifactRef> ref = store_->CommitStaged(staged);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind, "directory");
  EXPECT_EQ(ref->size_bytes, 12 + 2 + 10);  // config.json + weights.bin + run.sh
  EXPECT_FALSE(fs::exists(staged));
  EXPECT_EQ(*store_->ReadBytes(ref->digest, "sub/weights.bin"), "w1");
  EXPECT_EQ(*store_->ReadBytes(ref->digest, "./sub//weights.bin"), "w1");
  EXPECT_EQ(*store_->ReadBytes(ref->digest, "latest"), "w1");  // a link inside the tree
  EXPECT_EQ(*store_->ReadBytes(ref->digest, "config.json"), R"({"depth": 6})");
  Result<std::string> path = store_->PathOf(ref->digest, "sub/weights.bin");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(ReadText(*path), "w1");
  EXPECT_TRUE(fs::is_directory(*store_->PathOf(ref->digest, "empty")));
  EXPECT_EQ(store_->PathOf(ref->digest, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ReadBytes(ref->digest, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ReadBytes(ref->digest).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadBytes(ref->digest, "sub").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*store_->Describe(ref->digest), *ref);
  EXPECT_TRUE(store_->Verify(ref->digest).ok());
  // The manifest is stored and is the digest's preimage.
  std::string hex = ref->digest.substr(7);
  std::string manifest =
      ReadText(root_ / "manifests" / hex.substr(0, 2) / (hex.substr(2) + ".json"));
  EXPECT_EQ(core::Sha256Hex(manifest), hex);
  EXPECT_THAT(manifest, HasSubstr(R"("path":"run.sh","size":10,"type":"file")"));
}

TEST_F(ArtifactStoreTest, DirectoryDigestIgnoresPathOrderAndTimes) {
  ArtifactRef first = *store_->CommitStaged(StageTree(/*reverse=*/false));
  std::string second_staged = StageTree(/*reverse=*/true);
  fs::last_write_time(second_staged + "/config.json",
                      fs::file_time_type::clock::now() - std::chrono::hours(5));
  ArtifactRef second = *store_->CommitStaged(second_staged);
  EXPECT_EQ(first, second);
  EXPECT_FALSE(fs::exists(second_staged));
  // Content, names and the execute bit do matter.
  ArtifactRef changed = *store_->CommitStaged(StageTree(false, "w2"));
  EXPECT_NE(changed.digest, first.digest);
  std::string renamed = StageTree();
  fs::rename(renamed + "/config.json", renamed + "/config2.json");
  EXPECT_NE(store_->CommitStaged(renamed)->digest, first.digest);
  std::string not_exec = StageTree();
  fs::permissions(not_exec + "/run.sh",
                  fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::remove);
  EXPECT_NE(store_->CommitStaged(not_exec)->digest, first.digest);
}

TEST_F(ArtifactStoreTest, CorruptFileIsDetected) {
  ArtifactRef ref = *store_->PutBytes("precious model bytes");
  FlipByte(*store_->PathOf(ref.digest), 3);
  Status verified = store_->Verify(ref.digest);
  EXPECT_EQ(verified.code(), StatusCode::kDataLoss);
  std::string hex = ref.digest.substr(7);
  std::string found = core::Sha256Hex("preCious model bytes");
  EXPECT_EQ(verified.message(), "artifact " + ref.digest + " is corrupt: expected sha256:" + hex +
                                    ", found sha256:" + found);
  EXPECT_EQ(store_->ReadBytes(ref.digest).status().code(), StatusCode::kDataLoss);
}

TEST_F(ArtifactStoreTest, CorruptDirectoryNamesTheFile) {
  ArtifactRef ref = *store_->CommitStaged(StageTree());
  FlipByte(*store_->PathOf(ref.digest, "sub/weights.bin"), 0);
  Status verified = store_->Verify(ref.digest);
  EXPECT_EQ(verified.code(), StatusCode::kDataLoss);
  EXPECT_THAT(std::string(verified.message()),
              StartsWith("artifact " + ref.digest + " is corrupt: expected "));
  EXPECT_THAT(std::string(verified.message()), HasSubstr("(sub/weights.bin: expected sha256:"));
  Result<std::string> read = store_->ReadBytes(ref.digest, "sub/weights.bin");
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("sub/weights.bin"));
  EXPECT_TRUE(store_->ReadBytes(ref.digest, "config.json").ok());  // intact sibling still readable
  // A file added to a committed tree is corruption too.
  ArtifactRef other = *store_->CommitStaged(StageTree(false, "other"));
  WriteText(fs::path(*store_->PathOf(other.digest)) / "extra", "x");
  EXPECT_THAT(std::string(store_->Verify(other.digest).message()),
              HasSubstr("extra is unexpected"));
}

TEST_F(ArtifactStoreTest, RecommittingGoodContentRepairsACorruptObject) {
  ArtifactRef ref = *store_->PutBytes("repair me");
  FlipByte(*store_->PathOf(ref.digest), 0);
  ASSERT_FALSE(store_->Verify(ref.digest).ok());
  EXPECT_EQ(*store_->PutBytes("repair me"), ref);
  EXPECT_TRUE(store_->Verify(ref.digest).ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(root_ / "quarantine"), fs::directory_iterator()),
            1);
}

TEST_F(ArtifactStoreTest, MissingManifestIsRebuilt) {
  ArtifactRef ref = *store_->CommitStaged(StageTree());
  fs::remove_all(root_ / "manifests");
  EXPECT_EQ(*store_->ReadBytes(ref.digest, "sub/weights.bin"), "w1");
  EXPECT_EQ(*store_->Describe(ref.digest), ref);
}

TEST_F(ArtifactStoreTest, MalformedDigestsAndEscapingPathsAreRefused) {
  ArtifactRef dir = *store_->CommitStaged(StageTree());
  for (const char* digest :
       {"sha256:../../etc/passwd", "", "sha256:", "md5:abc",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "../objects/e3/b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}) {
    EXPECT_EQ(store_->PathOf(digest).status().code(), StatusCode::kInvalidArgument) << digest;
    EXPECT_EQ(store_->ReadBytes(digest).status().code(), StatusCode::kInvalidArgument) << digest;
    EXPECT_EQ(store_->Verify(digest).code(), StatusCode::kInvalidArgument) << digest;
  }
  for (const char* relative : {"../x", "sub/../../x", "/etc/passwd", "sub/.."}) {
    EXPECT_EQ(store_->PathOf(dir.digest, relative).status().code(), StatusCode::kInvalidArgument)
        << relative;
    EXPECT_EQ(store_->ReadBytes(dir.digest, relative).status().code(), StatusCode::kInvalidArgument)
        << relative;
  }
  EXPECT_EQ(store_->PathOf("sha256:" + std::string(64, '0')).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ArtifactStoreTest, CommitRefusesPathsOutsideStaging) {
  WriteText(base_ / "outside.txt", "x");
  for (const std::string& path :
       {(base_ / "outside.txt").string(), (root_ / "staging").string(),
        (root_ / "staging" / "..").string(), (root_ / "staging" / ".." / "objects").string(),
        std::string("relative/elsewhere")}) {
    Result<ArtifactRef> ref = store_->CommitStaged(path);
    EXPECT_EQ(ref.status().code(), StatusCode::kInvalidArgument) << path;
  }
  EXPECT_TRUE(fs::exists(base_ / "outside.txt"));
  // A staged path that is a symlink (to outside) is refused and the target left alone.
  std::string staging = *store_->NewStagingDir();
  fs::create_symlink(base_ / "outside.txt", staging + "/link");
  EXPECT_EQ(store_->CommitStaged(staging + "/link").status().code(), StatusCode::kInvalidArgument);
  fs::create_directory_symlink(base_, staging + "/dirlink");
  EXPECT_EQ(store_->CommitStaged(staging + "/dirlink/outside.txt").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadText(base_ / "outside.txt"), "x");
}

TEST_F(ArtifactStoreTest, SymlinksEscapingTheTreeAreRefused) {
  for (const char* target :
       {"/etc/passwd", "../../outside", "../sub/../../x", "../../..", "../.."}) {
    std::string staged = StageTree();
    fs::create_symlink(target, fs::path(staged) / "sub" / "bad");
    Result<ArtifactRef> ref = store_->CommitStaged(staged);
    EXPECT_EQ(ref.status().code(), StatusCode::kInvalidArgument) << target;
    EXPECT_THAT(std::string(ref.status().message()), HasSubstr("points outside the artifact"))
        << target;
  }
  EXPECT_TRUE(fs::is_empty(root_ / "objects"));
  // "sub/ok -> ../config.json" stays inside: fine.
  std::string staged = StageTree();
  fs::create_symlink("../config.json", fs::path(staged) / "sub" / "ok");
  Result<ArtifactRef> ref = store_->CommitStaged(staged);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(*store_->ReadBytes(ref->digest, "sub/ok"), R"({"depth": 6})");
}

TEST_F(ArtifactStoreTest, SpecialFilesAreRefused) {
  std::string staged = StageTree();
  ASSERT_EQ(mkfifo((staged + "/pipe").c_str(), 0644), 0);
  EXPECT_EQ(store_->CommitStaged(staged).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ArtifactStoreTest, PutFileCopiesFilesAndTrees) {
  WriteText(base_ / "data" / "raw.csv", "a,b\n1,2\n");
  WriteText(base_ / "data" / "more" / "x.csv", "x\n");
  fs::create_symlink("raw.csv", base_ / "data" / "alias.csv");
  Result<ArtifactRef> file = store_->PutFile((base_ / "data" / "raw.csv").string());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->digest, "sha256:" + core::Sha256Hex("a,b\n1,2\n"));
  EXPECT_EQ(*store_->PutFile((base_ / "data" / "alias.csv").string()), *file);  // link followed
  Result<ArtifactRef> tree = store_->PutFile((base_ / "data").string());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->kind, "directory");
  EXPECT_EQ(*store_->ReadBytes(tree->digest, "more/x.csv"), "x\n");
  EXPECT_EQ(*store_->ReadBytes(tree->digest, "alias.csv"), "a,b\n1,2\n");
  EXPECT_EQ(ReadText(base_ / "data" / "raw.csv"), "a,b\n1,2\n");  // source untouched
  EXPECT_EQ(store_->PutFile((base_ / "missing").string()).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fs::is_empty(root_ / "staging"));
}

TEST_F(ArtifactStoreTest, CleanStagingRemovesOnlyOldLeftovers) {
  core::ManualClock clock(std::chrono::system_clock::now());
  Result<std::unique_ptr<ArtifactStore>> store =
      ArtifactStore::Open({.root = root_.string(), .clock = &clock});
  ASSERT_TRUE(store.ok());
  std::string crashed = *(*store)->NewStagingDir();
  WriteText(fs::path(crashed) / "half.bin", "partial");
  std::string other = *(*store)->NewStagingDir();
  EXPECT_EQ(*(*store)->CleanStaging(std::chrono::hours(1)), 0);
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(*(*store)->CleanStaging(std::chrono::hours(3)), 0);
  EXPECT_EQ(*(*store)->CleanStaging(std::chrono::hours(1)), 2);
  EXPECT_FALSE(fs::exists(crashed));
  EXPECT_FALSE(fs::exists(other));
}

TEST_F(ArtifactStoreTest, ConcurrentCommitsOfTheSameContent) {
  std::vector<std::string> staged;
  for (int writer = 0; writer < 6; ++writer) staged.push_back(StageTree(writer % 2 == 0));
  std::vector<Result<ArtifactRef>> results(staged.size(),
                                           Result<ArtifactRef>(InternalError("unset")));
  std::vector<std::thread> threads;
  for (size_t writer = 0; writer < staged.size(); ++writer) {
    threads.emplace_back([&, writer] { results[writer] = store_->CommitStaged(staged[writer]); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Result<ArtifactRef>& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(*result, *results[0]);
  }
  EXPECT_TRUE(store_->Verify(results[0]->digest).ok());
}

class FaultyArtifactStoreTest : public ArtifactStoreTest {
 protected:
  void SetUp() override {
    ArtifactStoreTest::SetUp();
    Result<std::unique_ptr<ArtifactStore>> store =
        ArtifactStore::Open({.root = root_.string(), .env = &faulty_});
    ASSERT_TRUE(store.ok());
    faulty_store_ = std::move(*store);
    existing_ = *faulty_store_->PutBytes("already stored");
    std::string staged = StageTree();
    existing_tree_ = *faulty_store_->CommitStaged(staged);
    fs::remove_all(fs::path(staged).parent_path());  // the emptied staging dir
  }
  void ExpectExistingIntact() {
    EXPECT_TRUE(store_->Verify(existing_.digest).ok());
    EXPECT_EQ(*store_->ReadBytes(existing_.digest), "already stored");
    EXPECT_TRUE(store_->Verify(existing_tree_.digest).ok());
  }

  core::PosixEnv posix_;
  core::FaultInjectionEnv faulty_{&posix_};
  std::unique_ptr<ArtifactStore> faulty_store_;
  ArtifactRef existing_;
  ArtifactRef existing_tree_;
};

TEST_F(FaultyArtifactStoreTest, FailedWriteStoresNothingAndDamagesNothing) {
  faulty_.FailNth(core::FaultInjectionEnv::Op::kWrite, 1);
  Result<ArtifactRef> failed = faulty_store_->PutBytes("new content");
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->Describe("sha256:" + core::Sha256Hex("new content")).status().code(),
            StatusCode::kNotFound);
  ExpectExistingIntact();
  EXPECT_TRUE(fs::is_empty(root_ / "staging"));
  // The same content as an existing object needs no write at all.
  faulty_.FailNth(core::FaultInjectionEnv::Op::kWrite, 1, /*sticky=*/true);
  EXPECT_EQ(*faulty_store_->PutBytes("already stored"), existing_);
  faulty_.Heal();
  EXPECT_TRUE(faulty_store_->PutBytes("new content").ok());
}

TEST_F(FaultyArtifactStoreTest, FailedRenameLeavesStagedCopyForRetry) {
  std::string staged = StageTree(false, "fresh weights");
  faulty_.FailNth(core::FaultInjectionEnv::Op::kRename, 2);  // 1: the manifest, 2: the object
  Result<ArtifactRef> failed = faulty_store_->CommitStaged(staged);
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(fs::exists(staged));
  ExpectExistingIntact();
  size_t object_count = 0;
  for (auto& shard : fs::directory_iterator(root_ / "objects")) {
    object_count += std::distance(fs::directory_iterator(shard), fs::directory_iterator());
  }
  EXPECT_EQ(object_count, 2u);
  Result<ArtifactRef> retried = faulty_store_->CommitStaged(staged);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(store_->Verify(retried->digest).ok());
}

TEST_F(FaultyArtifactStoreTest, FailedManifestWriteOrSyncStoresNothing) {
  for (auto op : {core::FaultInjectionEnv::Op::kWrite, core::FaultInjectionEnv::Op::kSync}) {
    std::string staged = StageTree(false, "manifest fault");
    faulty_.FailNth(op, 1);
    EXPECT_FALSE(faulty_store_->CommitStaged(staged).ok());
    faulty_.Heal();
    ExpectExistingIntact();
    Result<ArtifactRef> retried = faulty_store_->CommitStaged(staged);
    ASSERT_TRUE(retried.ok()) << retried.status();
    EXPECT_TRUE(store_->Verify(retried->digest).ok());
    fs::permissions(*store_->PathOf(retried->digest), fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(*store_->PathOf(retried->digest));  // so the next round commits afresh
  }
}

TEST(ArtifactStoreOpenTest, RootThatIsAFileIsRefused) {
  fs::path file = fs::temp_directory_path() / core::NewId("artifact_root_file");
  WriteText(file, "x");
  EXPECT_FALSE(ArtifactStore::Open({.root = file.string()}).ok());
  EXPECT_EQ(ArtifactStore::Open({.root = ""}).status().code(), StatusCode::kInvalidArgument);
  fs::remove(file);
}

}  // namespace
}  // namespace raypipe::store
