#pragma once

// File access shared by the CSV reader/writer and the columnar format: a read-only memory
// mapping and an atomic (temp file + fsync + rename) writer.

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace raypipe::data::internal {

// A read-only view of a whole file, memory-mapped when it is a regular non-empty file (read
// into memory otherwise, e.g. for a pipe). Immutable and thread-safe. The mapping stays valid
// while the object lives, even if the file is renamed over or unlinked; a file truncated in
// place by another process while mapped would fault, which is why every writer here replaces
// files by rename.
class MappedFile {
 public:
  // NotFound if the file does not exist, InvalidArgument for a directory, Unavailable for
  // other I/O errors.
  static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;

  std::string path_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string fallback_;  // the content when the file could not be mapped
};

// Writes a file atomically: pieces are appended to a temporary file beside `path`, and
// Commit() flushes it to disk (unless `durable` is false) and renames it over `path`.
// Destroying an uncommitted writer removes the temporary file. Not thread-safe.
class AtomicFileWriter {
 public:
  static Result<std::unique_ptr<AtomicFileWriter>> Open(const std::string& path);

  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  Status Append(std::string_view bytes);
  Status Commit(bool durable = true);

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace raypipe::data::internal
