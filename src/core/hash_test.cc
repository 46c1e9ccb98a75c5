#include "core/hash.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace raypipe::core {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  Sha256 hasher;
  hasher.Update("a");
  hasher.Update(std::string_view("bc"));
  EXPECT_EQ(hasher.FinishHex(), Sha256Hex("abc"));
}

TEST(Sha256Test, FileDigestAndMissingFile) {
  auto path = std::filesystem::temp_directory_path() / "raypipe_hash_test.txt";
  { std::ofstream(path) << "abc"; }
  auto digest = Sha256File(path.string());
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, Sha256Hex("abc"));
  std::filesystem::remove(path);
  EXPECT_EQ(Sha256File(path.string()).status().code(), StatusCode::kNotFound);
}

TEST(FastHashTest, StableAndSeeded) {
  EXPECT_EQ(FastHash64("raypipe"), FastHash64("raypipe"));
  EXPECT_NE(FastHash64("raypipe"), FastHash64("raypipf"));
  EXPECT_NE(FastHash64("raypipe", 1), FastHash64("raypipe", 2));
  FastHasher hasher;
  hasher.Update("ray", 3);
  hasher.Update("pipe", 4);
  EXPECT_EQ(hasher.Digest(), FastHash64("raypipe"));
}

}  // namespace
}  // namespace raypipe::core
