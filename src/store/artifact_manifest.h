#pragma once

// The manifest of a directory artifact: the canonical listing whose SHA-256 is the directory's
// digest (see artifact_store.h). Used by ArtifactStore; exposed for tests and tools.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/status.h"

namespace raypipe::store {

struct ManifestEntry {
  std::string path;  // relative, '/'-separated, no "." or ".." components
  core::FileType type = core::FileType::kRegular;  // kRegular, kDirectory or kSymlink
  std::string digest;                              // files: "sha256:<hex>" of the content
  int64_t size_bytes = 0;                          // files
  bool executable = false;                         // files
  std::string target;  // symlinks: the link text, relative and inside the tree

  friend bool operator==(const ManifestEntry&, const ManifestEntry&) = default;
};

struct ArtifactManifest {
  std::vector<ManifestEntry> entries;  // sorted bytewise by path

  // {"entries":[{"digest":...,"path":...,"size":...,"type":"file"},...],
  //  "format":"raypipe.artifact-manifest.v1"} in canonical JSON; "executable":true only when set.
  std::string ToCanonicalText() const;
  // "sha256:" + SHA-256 of ToCanonicalText().
  std::string Digest() const;
  // The sum of the files' sizes.
  int64_t TotalBytes() const;
  // The entry at `path` (already normalized), or nullptr.
  const ManifestEntry* Find(std::string_view path) const;

  // Reads ToCanonicalText()'s format back; InvalidArgument naming `where` on anything else.
  static Result<ArtifactManifest> Parse(std::string_view text, std::string_view where);
};

// Walks the directory `dir` through `env` and builds its manifest, hashing every file. With
// `sync`, also fsyncs every file and directory on the way (done before a commit). InvalidArgument
// for an absolute symlink or one that leads outside `dir`, special files, names that are not
// UTF-8, and trees nested deeper than 256 levels.
Result<ArtifactManifest> BuildArtifactManifest(core::Env& env, const std::string& dir, bool sync);

// "a/./b//c" -> "a/b/c"; "" and "." -> "". InvalidArgument for an absolute path or a ".."
// component, which could escape the artifact.
Result<std::string> NormalizeArtifactPath(std::string_view relative);

// The first difference between two manifests, for corruption messages:
// "model/weights.bin: expected sha256:..., found sha256:...", "x is missing", "y is unexpected".
std::string DescribeManifestDifference(const ArtifactManifest& expected,
                                       const ArtifactManifest& found);

}  // namespace raypipe::store
