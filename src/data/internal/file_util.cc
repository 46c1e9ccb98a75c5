#include "data/internal/file_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

namespace raypipe::data::internal {
namespace {

Status ErrnoStatus(int error, std::string_view what, const std::string& path) {
  std::string message = std::string(what) + " '" + path + "': " + std::strerror(error);
  if (error == ENOENT) return NotFoundError(std::move(message));
  if (error == EACCES || error == EPERM) return PermissionDeniedError(std::move(message));
  if (error == EISDIR || error == ENOTDIR) return InvalidArgumentError(std::move(message));
  return UnavailableError(std::move(message));
}

// Closes a descriptor on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

Result<std::shared_ptr<const MappedFile>> MappedFile::Open(const std::string& path) {
  FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "cannot open", path);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return ErrnoStatus(errno, "cannot stat", path);
  if (S_ISDIR(info.st_mode)) return InvalidArgumentError("'" + path + "' is a directory");

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  if (S_ISREG(info.st_mode) && info.st_size > 0) {
    void* data = ::mmap(nullptr, static_cast<size_t>(info.st_size), PROT_READ, MAP_PRIVATE,
                        fd.get(), 0);
    if (data != MAP_FAILED) {
      ::madvise(data, static_cast<size_t>(info.st_size), MADV_WILLNEED);
      file->data_ = static_cast<const char*>(data);
      file->size_ = static_cast<size_t>(info.st_size);
      file->mapped_ = true;
      return std::shared_ptr<const MappedFile>(std::move(file));
    }
  }
  // Not mappable (empty, a pipe, a special file): read it.
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read", path);
    }
    if (n == 0) break;
    file->fallback_.append(buffer, static_cast<size_t>(n));
  }
  file->data_ = file->fallback_.data();
  file->size_ = file->fallback_.size();
  return std::shared_ptr<const MappedFile>(std::move(file));
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

Result<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::Open(const std::string& path) {
  // A unique temporary name in the same directory, so the final rename is atomic.
  static std::atomic<uint64_t> counter{0};
  std::random_device device;
  std::string temp_path = path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1)) + "." +
                          std::to_string(device() & 0xffffff);
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", temp_path);
  return std::unique_ptr<AtomicFileWriter>(new AtomicFileWriter(path, std::move(temp_path), fd));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

Status AtomicFileWriter::Append(std::string_view bytes) {
  if (fd_ < 0) return FailedPreconditionError("write to a closed file '" + temp_path_ + "'");
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", temp_path_);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status AtomicFileWriter::Commit(bool durable) {
  if (fd_ < 0) return FailedPreconditionError("commit of a closed file '" + temp_path_ + "'");
  if (durable && ::fsync(fd_) != 0) return ErrnoStatus(errno, "cannot flush", temp_path_);
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return ErrnoStatus(errno, "cannot close", temp_path_);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return ErrnoStatus(errno, "cannot rename onto", path_);
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace raypipe::data::internal
