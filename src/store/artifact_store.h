#pragma once

// The artifact store: content-addressed files and directory trees under one root directory
// (RAYPIPE_HOME/artifacts). Steps hand data to one another only through artifacts, which is what
// makes caching, lineage and resume possible.
//
// Layout under the root:
//   objects/<2 hex>/<62 hex>            a committed file, or a directory tree (read-only files)
//   manifests/<2 hex>/<62 hex>.json     a directory artifact's manifest (its digest's preimage)
//   staging/<id>/                       producers' work areas, committed by rename
//   quarantine/                         corrupt objects set aside when a good copy replaced them
//
// A file's digest is the SHA-256 of its bytes. A directory's digest is the SHA-256 of its
// manifest: canonical JSON listing every entry by relative path (sorted bytewise) with its type,
// and for files their digest, size and execute bit, for symlinks their target. It never depends
// on the directory's own path, on mtimes or on listing order.
//
// Objects only ever appear by an atomic rename of a fully written and synced staged copy, so a
// failed or crashed writer leaves nothing half-written under objects/ and never damages an
// object that is already there. Several threads and processes may use one root at once.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/env.h"
#include "core/status.h"
#include "core/time.h"
#include "store/artifact_manifest.h"

namespace raypipe::store {

struct ArtifactRef {
  std::string digest;      // "sha256:<64 hex>"
  std::string kind;        // "file" | "directory"
  int64_t size_bytes = 0;  // a file's size; for a directory, the sum of its files' sizes
  std::string uri;         // "artifact://sha256:<64 hex>"

  friend bool operator==(const ArtifactRef&, const ArtifactRef&) = default;
};

struct ArtifactStoreOptions {
  // The store's directory; created (with its parents) if missing.
  std::string root;
  // File-system access. Not owned; must outlive the store. nullptr: core::DefaultEnv().
  core::Env* env = nullptr;
  // "Now" for CleanStaging. Not owned; must outlive the store. nullptr: the system clock.
  const core::Clock* clock = nullptr;
};

// The 64 lower-case hex characters of "sha256:<hex>" or "artifact://sha256:<hex>". Anything else
// (another algorithm, upper case, a path such as "sha256:../../x") is InvalidArgument.
Result<std::string> ParseArtifactDigest(std::string_view digest_or_uri);

// Thread-safe (it holds no mutable state beyond the file system).
class ArtifactStore {
 public:
  static Result<std::unique_ptr<ArtifactStore>> Open(ArtifactStoreOptions options);

  const std::string& root() const { return root_; }

  // A new, empty directory under staging/ in which a producer writes a file or a tree, then
  // hands it (or a file inside it) to CommitStaged. Staging dirs left by crashed writers are
  // harmless; CleanStaging removes old ones.
  Result<std::string> NewStagingDir();

  // Commits the file or directory tree at `staged_path`, which must lie under staging/: syncs
  // it, hashes it, makes its files read-only and renames it into objects/. When the same content
  // is already stored, the staged copy is removed and the existing object kept (or, if that one
  // is corrupt, set aside in quarantine/ and replaced). The staging directory that held a
  // committed file is left to the caller. InvalidArgument for a path outside staging/, a
  // symlink at `staged_path`, a symlink inside a tree that is absolute or points outside it,
  // special files (fifos, sockets, devices) or file names that are not UTF-8.
  Result<ArtifactRef> CommitStaged(const std::string& staged_path);

  // Stores `bytes` as a file artifact (no write at all when the content is already stored).
  Result<ArtifactRef> PutBytes(std::string_view bytes);

  // Copies the file or directory tree at `path` (anywhere; a final symlink is followed) into the
  // store. The source is left untouched.
  Result<ArtifactRef> PutFile(const std::string& path);

  // The committed object's path, or that of `relative_path` inside a directory artifact, for
  // reading only. NotFound when the artifact or the entry does not exist; InvalidArgument for a
  // malformed digest or a relative path that is absolute or contains "..".
  Result<std::string> PathOf(std::string_view digest, std::string_view relative_path = "");

  // Recomputes the artifact's digest from its content: DataLoss "artifact sha256:<x> is corrupt:
  // expected sha256:<x>, found sha256:<y>" (naming the first differing entry for a directory).
  Status Verify(std::string_view digest);

  // The content of a file artifact, or of the file at `relative_path` inside a directory
  // artifact, verified against its digest before it is returned (DataLoss on mismatch).
  Result<std::string> ReadBytes(std::string_view digest, std::string_view relative_path = "");

  // Kind and size of a stored artifact (NotFound when absent). Does not verify.
  Result<ArtifactRef> Describe(std::string_view digest);

  // Removes staging directories in which nothing changed for `older_than`. Returns how many.
  Result<int> CleanStaging(std::chrono::nanoseconds older_than);

 private:
  ArtifactStore(std::string root, core::Env* env, const core::Clock* clock);
  ArtifactRef MakeRef(const std::string& hex, const std::string& kind, int64_t size_bytes) const;

  std::string ObjectPath(const std::string& hex) const;
  std::string ManifestPath(const std::string& hex) const;
  // The stored manifest of a directory artifact if it is intact, else rebuilt from the tree.
  Result<ArtifactManifest> LoadManifest(const std::string& hex);
  Status VerifyHex(const std::string& hex);
  Result<ArtifactRef> Install(const std::string& staged, const std::string& hex,
                              const std::string& kind, int64_t size_bytes,
                              const std::string* manifest_text);
  Result<ArtifactRef> CopyIn(const std::string& source, core::FileType type);

  const std::string root_;          // absolute, normalized
  const std::string staging_root_;  // root_ + "/staging"
  core::Env* const env_;
  const std::unique_ptr<core::SystemClock> owned_clock_;  // set when no clock was given
  const core::Clock* const clock_;
};

}  // namespace raypipe::store
