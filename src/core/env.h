#pragma once

// Env: every file-system access goes through one of these (STYLE.md, after LevelDB), so tests
// can substitute an Env that fails on demand. Paths are plain strings; a relative path is
// relative to the process's working directory.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace raypipe::core {

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct FileInfo {
  FileType type = FileType::kOther;
  int64_t size_bytes = 0;   // of the entry itself (a symlink's size is its target's length)
  TimePoint modified;       // last modification time
  bool executable = false;  // any execute bit set (meaningful for regular files)
};

// Errors: NotFound (missing path), AlreadyExists, PermissionDenied, ResourceExhausted (disk
// full), InvalidArgument (e.g. reading a directory), Unavailable (other I/O errors, which may be
// transient). Messages name the operation and the path. Implementations are thread-safe.
class Env {
 public:
  virtual ~Env() = default;

  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Reads the file in chunks of at most 1 MiB, passing each to `consume`; stops at and returns
  // the first error `consume` returns.
  virtual Status StreamFile(const std::string& path,
                            const std::function<Status(std::string_view chunk)>& consume) = 0;
  // Creates or truncates `path` and writes `data`. Not synced: see SyncFile, WriteFileAtomic.
  virtual Status WriteFile(const std::string& path, std::string_view data) = 0;
  // Copies a regular file's content (and its execute bits) to a new or truncated `to`, synced.
  virtual Status CopyFile(const std::string& from, const std::string& to) = 0;
  // Creates `path` and its missing parents; OK when it already is a directory.
  virtual Status CreateDirs(const std::string& path) = 0;
  // rename(2): atomic; replaces an existing file or empty directory at `to`.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Removes a file, a symlink (not its target) or a directory tree; OK when nothing is there.
  virtual Status RemoveAll(const std::string& path) = 0;
  // Does not follow a final symlink (lstat).
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // The names in a directory, sorted bytewise, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Result<std::string> ReadLink(const std::string& path) = 0;
  virtual Status CreateSymlink(const std::string& target, const std::string& link_path) = 0;
  // fsync(2) of a file's content / of a directory's entries.
  virtual Status SyncFile(const std::string& path) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  // Clears the write bits of a regular file (execute bits stay).
  virtual Status MakeReadOnly(const std::string& path) = 0;

  // Conveniences built on the operations above.
  bool FileExists(const std::string& path);
  Result<int64_t> FileSize(const std::string& path);
  // Replaces `path` with `data` so that a reader (or a crash) sees the old content or the new,
  // never a mix: writes a temporary file in the same directory, syncs it, renames it over
  // `path`, syncs the directory. The temporary file is removed on failure.
  Status WriteFileAtomic(const std::string& path, std::string_view data);
};

// The Env over the local POSIX file system. Stateless.
class PosixEnv final : public Env {
 public:
  Result<std::string> ReadFile(const std::string& path) override;
  Status StreamFile(const std::string& path,
                    const std::function<Status(std::string_view chunk)>& consume) override;
  Status WriteFile(const std::string& path, std::string_view data) override;
  Status CopyFile(const std::string& from, const std::string& to) override;
  Status CreateDirs(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveAll(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<std::string> ReadLink(const std::string& path) override;
  Status CreateSymlink(const std::string& target, const std::string& link_path) override;
  Status SyncFile(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status MakeReadOnly(const std::string& path) override;
};

// A process-wide PosixEnv, for callers that have no Env injected (main, ReadJsonFile's default).
// PosixEnv holds no state, so sharing one is equivalent to constructing one per use; code that
// tests need to fault keeps taking an Env*.
Env* DefaultEnv();

// The Status for a failed system call: `errno_value` mapped to a code (see Env), with the
// message "<context>: <strerror>".
Status PosixError(std::string_view context, int errno_value);

// Wraps another Env and fails chosen operations on demand, for tests. Thread-safe.
// A failed write leaves the first half of the data in the file, as a crash mid-write would.
class FaultInjectionEnv final : public Env {
 public:
  // Kinds of operations that can be failed: kRead is ReadFile, StreamFile and ListDir; kWrite is
  // WriteFile, CopyFile, CreateSymlink and MakeReadOnly; kSync is SyncFile and SyncDir. Stat and
  // ReadLink never fail by injection.
  enum class Op { kRead, kWrite, kRename, kSync, kCreateDirs, kRemove, kCount };

  // `base` is not owned and must outlive this object.
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // The `n`-th operation of kind `op` from now (1 = the next) fails with Unavailable; with
  // `sticky`, every later one fails too.  REQUIRES: n >= 1.
  void FailNth(Op op, int n, bool sticky = false);
  // Disarms every pending fault.
  void Heal();
  // How many operations of kind `op` were attempted (failed ones included).
  int64_t Count(Op op) const;

  Result<std::string> ReadFile(const std::string& path) override;
  Status StreamFile(const std::string& path,
                    const std::function<Status(std::string_view chunk)>& consume) override;
  Status WriteFile(const std::string& path, std::string_view data) override;
  Status CopyFile(const std::string& from, const std::string& to) override;
  Status CreateDirs(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveAll(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<std::string> ReadLink(const std::string& path) override;
  Status CreateSymlink(const std::string& target, const std::string& link_path) override;
  Status SyncFile(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status MakeReadOnly(const std::string& path) override;

 private:
  struct Fault {
    int64_t remaining = 0;  // operations until the fault fires; 0 = disarmed
    bool sticky = false;
    bool fired = false;
  };
  static constexpr size_t kOpCount = static_cast<size_t>(Op::kCount);

  // Counts the operation and returns the injected error when it must fail.
  Status Check(Op op, std::string_view what, const std::string& path);

  Env* base_;
  mutable std::mutex mutex_;  // guards faults_ and counts_
  Fault faults_[kOpCount];
  int64_t counts_[kOpCount] = {};
};

}  // namespace raypipe::core
