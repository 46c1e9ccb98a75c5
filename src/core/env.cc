#include "core/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/ids.h"

namespace raypipe::core {
namespace {

constexpr size_t kChunkSize = 1 << 20;

// Owns a file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now so that the error of close(2) (e.g. deferred write errors on NFS) is seen.
  int Close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// Owns a DIR*.
struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

UniqueFd OpenRetrying(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return UniqueFd(fd);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return PosixError("write " + path, errno);
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return Status::Ok();
}

// Reads up to buffer.size() bytes; returns the count (0 at end of file).
Result<size_t> ReadSome(int fd, std::string& buffer, const std::string& path) {
  while (true) {
    ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return PosixError("read " + path, errno);
  }
}

Status FsyncPath(const std::string& path, int flags, std::string_view what) {
  UniqueFd fd = OpenRetrying(path, flags);
  if (!fd.valid()) return PosixError(std::string(what) + " " + path, errno);
  if (::fsync(fd.get()) != 0) return PosixError(std::string(what) + " " + path, errno);
  return Status::Ok();
}

std::string ParentDir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

Status PosixError(std::string_view context, int errno_value) {
  std::string message(context);
  message += ": ";
  message += std::strerror(errno_value);
  switch (errno_value) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(message));
    case EEXIST:
    case ENOTEMPTY:
      return AlreadyExistsError(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
      return ResourceExhaustedError(std::move(message));
    case EISDIR:
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
      return InvalidArgumentError(std::move(message));
    case EXDEV:
      return FailedPreconditionError(std::move(message));
    default:
      return UnavailableError(std::move(message));
  }
}

// ---------------------------------------------------------------------------------------------
// Env conveniences

bool Env::FileExists(const std::string& path) { return Stat(path).ok(); }

Result<int64_t> Env::FileSize(const std::string& path) {
  ASSIGN_OR_RETURN(FileInfo info, Stat(path));
  return info.size_bytes;
}

Status Env::WriteFileAtomic(const std::string& path, std::string_view data) {
  std::filesystem::path target(path);
  // A hidden name in the same directory, so the rename stays within one file system.
  std::string temp =
      (target.parent_path() / ("." + target.filename().string() + ".tmp-" + NewId(""))).string();
  Status status = WriteFile(temp, data);
  if (status.ok()) status = SyncFile(temp);
  if (status.ok()) status = RenameFile(temp, path);
  if (!status.ok()) {
    RemoveAll(temp).IgnoreError();  // best effort: the original error is what matters
    return status;
  }
  return SyncDir(ParentDir(path));
}

// ---------------------------------------------------------------------------------------------
// PosixEnv

Result<std::string> PosixEnv::ReadFile(const std::string& path) {
  std::string content;
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (!error) content.reserve(static_cast<size_t>(size));  // one allocation, not log2(size)
  RETURN_IF_ERROR(StreamFile(path, [&content](std::string_view chunk) {
    content.append(chunk);
    return Status::Ok();
  }));
  return content;
}

Status PosixEnv::StreamFile(const std::string& path,
                            const std::function<Status(std::string_view chunk)>& consume) {
  UniqueFd fd = OpenRetrying(path, O_RDONLY);
  if (!fd.valid()) return PosixError("open " + path, errno);
  std::string buffer(kChunkSize, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t got, ReadSome(fd.get(), buffer, path));
    if (got == 0) return Status::Ok();
    RETURN_IF_ERROR(consume(std::string_view(buffer.data(), got)));
  }
}

Status PosixEnv::WriteFile(const std::string& path, std::string_view data) {
  UniqueFd fd = OpenRetrying(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!fd.valid()) return PosixError("open for writing " + path, errno);
  RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  if (fd.Close() != 0) return PosixError("close " + path, errno);
  return Status::Ok();
}

Status PosixEnv::CopyFile(const std::string& from, const std::string& to) {
  UniqueFd source = OpenRetrying(from, O_RDONLY);
  if (!source.valid()) return PosixError("open " + from, errno);
  struct stat source_stat;
  if (::fstat(source.get(), &source_stat) != 0) return PosixError("stat " + from, errno);
  if (!S_ISREG(source_stat.st_mode))
    return InvalidArgumentError("copy " + from + ": not a regular file");
  mode_t mode = (source_stat.st_mode & 0111) != 0 ? 0755 : 0644;
  UniqueFd target = OpenRetrying(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (!target.valid()) return PosixError("open for writing " + to, errno);
  std::string buffer(kChunkSize, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t got, ReadSome(source.get(), buffer, from));
    if (got == 0) break;
    RETURN_IF_ERROR(WriteAll(target.get(), std::string_view(buffer.data(), got), to));
  }
  if (::fsync(target.get()) != 0) return PosixError("fsync " + to, errno);
  if (target.Close() != 0) return PosixError("close " + to, errno);
  return Status::Ok();
}

Status PosixEnv::CreateDirs(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return Status::Ok();
    return AlreadyExistsError("create directories " + path + ": exists and is not a directory");
  }
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return PosixError("create directories " + path, error.value());
  return Status::Ok();
}

Status PosixEnv::RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return PosixError("rename " + from + " -> " + to, errno);
  }
  return Status::Ok();
}

Status PosixEnv::RemoveAll(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error && error.value() != ENOENT) return PosixError("remove " + path, error.value());
  return Status::Ok();
}

Result<FileInfo> PosixEnv::Stat(const std::string& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) return PosixError("stat " + path, errno);
  FileInfo result;
  if (S_ISREG(info.st_mode)) {
    result.type = FileType::kRegular;
  } else if (S_ISDIR(info.st_mode)) {
    result.type = FileType::kDirectory;
  } else if (S_ISLNK(info.st_mode)) {
    result.type = FileType::kSymlink;
  }
  result.size_bytes = static_cast<int64_t>(info.st_size);
  result.modified = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
  result.executable = (info.st_mode & 0111) != 0;
  return result;
}

Result<std::vector<std::string>> PosixEnv::ListDir(const std::string& path) {
  UniqueDir dir(::opendir(path.c_str()));
  if (!dir) return PosixError("list " + path, errno);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    struct dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return PosixError("list " + path, errno);
      break;
    }
    std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> PosixEnv::ReadLink(const std::string& path) {
  std::string target(256, '\0');
  while (true) {
    ssize_t length = ::readlink(path.c_str(), target.data(), target.size());
    if (length < 0) return PosixError("readlink " + path, errno);
    if (static_cast<size_t>(length) < target.size()) {
      target.resize(static_cast<size_t>(length));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

Status PosixEnv::CreateSymlink(const std::string& target, const std::string& link_path) {
  if (::symlink(target.c_str(), link_path.c_str()) != 0) {
    return PosixError("symlink " + link_path + " -> " + target, errno);
  }
  return Status::Ok();
}

Status PosixEnv::SyncFile(const std::string& path) { return FsyncPath(path, O_RDONLY, "fsync"); }

Status PosixEnv::SyncDir(const std::string& path) {
  return FsyncPath(path, O_RDONLY | O_DIRECTORY, "fsync directory");
}

Status PosixEnv::MakeReadOnly(const std::string& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) return PosixError("stat " + path, errno);
  if (!S_ISREG(info.st_mode))
    return InvalidArgumentError("make read-only " + path + ": not a regular file");
  if (::chmod(path.c_str(), info.st_mode & 07555) != 0) return PosixError("chmod " + path, errno);
  return Status::Ok();
}

Env* DefaultEnv() {
  static PosixEnv env;
  return &env;
}

// ---------------------------------------------------------------------------------------------
// FaultInjectionEnv

void FaultInjectionEnv::FailNth(Op op, int n, bool sticky) {
  std::lock_guard<std::mutex> lock(mutex_);
  Fault& fault = faults_[static_cast<size_t>(op)];
  fault.remaining = std::max(n, 1);
  fault.sticky = sticky;
  fault.fired = false;
}

void FaultInjectionEnv::Heal() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Fault& fault : faults_) fault = Fault();
}

int64_t FaultInjectionEnv::Count(Op op) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_[static_cast<size_t>(op)];
}

Status FaultInjectionEnv::Check(Op op, std::string_view what, const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t op_idx = static_cast<size_t>(op);
  ++counts_[op_idx];
  Fault& fault = faults_[op_idx];
  bool fail = false;
  if (fault.fired) {
    fail = fault.sticky;
  } else if (fault.remaining > 0 && --fault.remaining == 0) {
    fault.fired = true;
    fail = true;
  }
  if (!fail) return Status::Ok();
  return UnavailableError("injected fault: " + std::string(what) + " " + path);
}

Result<std::string> FaultInjectionEnv::ReadFile(const std::string& path) {
  RETURN_IF_ERROR(Check(Op::kRead, "read", path));
  return base_->ReadFile(path);
}

Status FaultInjectionEnv::StreamFile(const std::string& path,
                                     const std::function<Status(std::string_view chunk)>& consume) {
  RETURN_IF_ERROR(Check(Op::kRead, "read", path));
  return base_->StreamFile(path, consume);
}

Status FaultInjectionEnv::WriteFile(const std::string& path, std::string_view data) {
  Status fault = Check(Op::kWrite, "write", path);
  if (!fault.ok()) {
    // A torn write: part of the data reached the file before the failure.
    base_->WriteFile(path, data.substr(0, data.size() / 2)).IgnoreError();
    return fault;
  }
  return base_->WriteFile(path, data);
}

Status FaultInjectionEnv::CopyFile(const std::string& from, const std::string& to) {
  Status fault = Check(Op::kWrite, "copy to", to);
  if (!fault.ok()) {
    Result<std::string> content = base_->ReadFile(from);
    if (content.ok()) {
      base_->WriteFile(to, std::string_view(*content).substr(0, content->size() / 2)).IgnoreError();
    }
    return fault;
  }
  return base_->CopyFile(from, to);
}

Status FaultInjectionEnv::CreateDirs(const std::string& path) {
  RETURN_IF_ERROR(Check(Op::kCreateDirs, "create directories", path));
  return base_->CreateDirs(path);
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(Check(Op::kRename, "rename", from + " -> " + to));
  return base_->RenameFile(from, to);
}

Status FaultInjectionEnv::RemoveAll(const std::string& path) {
  RETURN_IF_ERROR(Check(Op::kRemove, "remove", path));
  return base_->RemoveAll(path);
}

Result<FileInfo> FaultInjectionEnv::Stat(const std::string& path) { return base_->Stat(path); }

Result<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& path) {
  RETURN_IF_ERROR(Check(Op::kRead, "list", path));
  return base_->ListDir(path);
}

Result<std::string> FaultInjectionEnv::ReadLink(const std::string& path) {
  return base_->ReadLink(path);
}

Status FaultInjectionEnv::CreateSymlink(const std::string& target, const std::string& link_path) {
  RETURN_IF_ERROR(Check(Op::kWrite, "symlink", link_path));
  return base_->CreateSymlink(target, link_path);
}

Status FaultInjectionEnv::SyncFile(const std::string& path) {
  RETURN_IF_ERROR(Check(Op::kSync, "fsync", path));
  return base_->SyncFile(path);
}

Status FaultInjectionEnv::SyncDir(const std::string& path) {
  RETURN_IF_ERROR(Check(Op::kSync, "fsync directory", path));
  return base_->SyncDir(path);
}

Status FaultInjectionEnv::MakeReadOnly(const std::string& path) {
  RETURN_IF_ERROR(Check(Op::kWrite, "chmod", path));
  return base_->MakeReadOnly(path);
}

}  // namespace raypipe::core
