#include "store/artifact_store.h"

#include <filesystem>

#include "core/hash.h"
#include "core/ids.h"
#include "core/logging.h"

namespace raypipe::store {
namespace {

constexpr std::string_view kDigestPrefix = "sha256:";
constexpr std::string_view kUriPrefix = "artifact://";
constexpr int kMaxSymlinkHops = 40;

std::string ParentOf(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

// Absolute and lexically normal, without a trailing separator.
std::string AbsoluteNormal(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) absolute = path;
  std::string normal = absolute.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

Status NotFound(const std::string& hex, const std::string& root) {
  return NotFoundError("artifact sha256:" + hex + " not found in " + root);
}

Status Corrupt(const std::string& hex, const std::string& detail) {
  return DataLossError("artifact sha256:" + hex + " is corrupt: " + detail);
}

Result<std::pair<std::string, int64_t>> HashFile(core::Env& env, const std::string& path) {
  core::Sha256 hasher;
  int64_t size = 0;
  RETURN_IF_ERROR(env.StreamFile(path, [&](std::string_view chunk) {
    hasher.Update(chunk);
    size += static_cast<int64_t>(chunk.size());
    return Status::Ok();
  }));
  return std::make_pair(hasher.FinishHex(), size);
}

// Copies a directory tree; symlinks are copied as links (CommitStaged then judges them).
Status CopyTree(core::Env& env, const std::string& from, const std::string& to, int depth) {
  if (depth > 256) return InvalidArgumentError(from + ": nested too deeply");
  RETURN_IF_ERROR(env.CreateDirs(to));
  ASSIGN_OR_RETURN(std::vector<std::string> names, env.ListDir(from));
  for (const std::string& name : names) {
    std::string source = from + "/" + name;
    std::string target = to + "/" + name;
    ASSIGN_OR_RETURN(core::FileInfo info, env.Stat(source));
    switch (info.type) {
      case core::FileType::kRegular:
        RETURN_IF_ERROR(env.CopyFile(source, target));
        break;
      case core::FileType::kDirectory:
        RETURN_IF_ERROR(CopyTree(env, source, target, depth + 1));
        break;
      case core::FileType::kSymlink: {
        ASSIGN_OR_RETURN(std::string link, env.ReadLink(source));
        RETURN_IF_ERROR(env.CreateSymlink(link, target));
        break;
      }
      default:
        return InvalidArgumentError(source +
                                    ": special files (fifos, sockets, devices) cannot be stored");
    }
  }
  return Status::Ok();
}

// Removes a staging leftover, logging rather than failing: the commit itself succeeded.
void RemoveQuietly(core::Env& env, const std::string& path) {
  Status removed = env.RemoveAll(path);
  if (!removed.ok()) RAYPIPE_LOG(Warning) << "could not remove staged copy: " << removed;
}

// The newest modification time in a tree (its own included); entries that vanish are skipped.
core::TimePoint NewestChange(core::Env& env, const std::string& path, int depth) {
  Result<core::FileInfo> info = env.Stat(path);
  if (!info.ok()) return core::TimePoint::min();
  core::TimePoint newest = info->modified;
  if (info->type != core::FileType::kDirectory || depth > 64) return newest;
  Result<std::vector<std::string>> names = env.ListDir(path);
  if (!names.ok()) return newest;
  for (const std::string& name : *names)
    newest = std::max(newest, NewestChange(env, path + "/" + name, depth + 1));
  return newest;
}

}  // namespace

Result<std::string> ParseArtifactDigest(std::string_view digest_or_uri) {
  std::string_view rest = digest_or_uri;
  if (rest.substr(0, kUriPrefix.size()) == kUriPrefix) rest.remove_prefix(kUriPrefix.size());
  bool well_formed = rest.substr(0, kDigestPrefix.size()) == kDigestPrefix &&
                     rest.size() == kDigestPrefix.size() + 64;
  if (well_formed) {
    rest.remove_prefix(kDigestPrefix.size());
    for (char c : rest) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) well_formed = false;
    }
  }
  if (!well_formed) {
    return InvalidArgumentError("invalid artifact digest \"" + std::string(digest_or_uri) +
                                "\": expected sha256:<64 lower-case hex digits>");
  }
  return std::string(rest);
}

Result<std::unique_ptr<ArtifactStore>> ArtifactStore::Open(ArtifactStoreOptions options) {
  if (options.root.empty()) return InvalidArgumentError("artifact store: empty root directory");
  core::Env* env = options.env != nullptr ? options.env : core::DefaultEnv();
  std::string root = AbsoluteNormal(options.root);
  for (std::string_view sub : {"objects", "manifests", "staging"}) {
    RETURN_IF_ERROR(env->CreateDirs(root + "/" + std::string(sub)).WithContext("artifact store"));
  }
  return std::unique_ptr<ArtifactStore>(new ArtifactStore(std::move(root), env, options.clock));
}

ArtifactStore::ArtifactStore(std::string root, core::Env* env, const core::Clock* clock)
    : root_(std::move(root)),
      staging_root_(root_ + "/staging"),
      env_(env),
      owned_clock_(clock == nullptr ? std::make_unique<core::SystemClock>() : nullptr),
      clock_(clock != nullptr ? clock : owned_clock_.get()) {}

std::string ArtifactStore::ObjectPath(const std::string& hex) const {
  return root_ + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

std::string ArtifactStore::ManifestPath(const std::string& hex) const {
  return root_ + "/manifests/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".json";
}

ArtifactRef ArtifactStore::MakeRef(const std::string& hex, const std::string& kind,
                                   int64_t size_bytes) const {
  ArtifactRef ref;
  ref.digest = std::string(kDigestPrefix) + hex;
  ref.kind = kind;
  ref.size_bytes = size_bytes;
  ref.uri = std::string(kUriPrefix) + ref.digest;
  return ref;
}

Result<std::string> ArtifactStore::NewStagingDir() {
  std::string dir = staging_root_ + "/" + core::NewId("stage");
  RETURN_IF_ERROR(env_->CreateDirs(dir));
  return dir;
}

Result<ArtifactRef> ArtifactStore::CommitStaged(const std::string& staged_path) {
  std::string staged = AbsoluteNormal(staged_path);
  std::filesystem::path relative = std::filesystem::path(staged).lexically_relative(staging_root_);
  if (relative.empty() || *relative.begin() == ".." || relative == ".") {
    return InvalidArgumentError("cannot commit " + staged_path +
                                ": it is not under the staging area " + staging_root_ +
                                " (use NewStagingDir, or PutFile to copy content in)");
  }
  // No component below staging/ may be a symlink, or the rename could move something from
  // elsewhere into the store.
  std::string walked = staging_root_;
  for (const std::filesystem::path& part : relative) {
    walked += "/" + part.string();
    ASSIGN_OR_RETURN(core::FileInfo info, env_->Stat(walked));
    if (info.type == core::FileType::kSymlink) {
      return InvalidArgumentError("cannot commit " + staged_path + ": " + walked + " is a symlink");
    }
  }
  ASSIGN_OR_RETURN(core::FileInfo info, env_->Stat(staged));
  if (info.type == core::FileType::kRegular) {
    RETURN_IF_ERROR(env_->SyncFile(staged));
    ASSIGN_OR_RETURN(auto hashed, HashFile(*env_, staged));
    return Install(staged, hashed.first, "file", hashed.second, nullptr);
  }
  if (info.type == core::FileType::kDirectory) {
    ASSIGN_OR_RETURN(ArtifactManifest manifest,
                     BuildArtifactManifest(*env_, staged, /*sync=*/true));
    std::string text = manifest.ToCanonicalText();
    return Install(staged, core::Sha256Hex(text), "directory", manifest.TotalBytes(), &text);
  }
  return InvalidArgumentError("cannot commit " + staged_path +
                              ": only regular files and directories can be artifacts");
}

Result<ArtifactRef> ArtifactStore::Install(const std::string& staged, const std::string& hex,
                                           const std::string& kind, int64_t size_bytes,
                                           const std::string* manifest_text) {
  std::string target = ObjectPath(hex);
  if (env_->FileExists(target)) {
    Status existing = VerifyHex(hex);
    if (existing.ok()) {
      RemoveQuietly(*env_, staged);
      return Describe("sha256:" + hex);
    }
    if (existing.code() != StatusCode::kDataLoss) return existing;
    // The stored copy is corrupt and we hold a good one: set the bad one aside, then install.
    std::string quarantine = root_ + "/quarantine";
    RETURN_IF_ERROR(env_->CreateDirs(quarantine));
    RETURN_IF_ERROR(env_->RenameFile(target, quarantine + "/" + hex + "-" + core::NewId("")));
    RAYPIPE_LOG(Warning) << existing.message() << "; replaced by a verified copy, the corrupt one "
                         << "is in " << quarantine;
  }
  if (manifest_text != nullptr) {
    RETURN_IF_ERROR(env_->CreateDirs(ParentOf(ManifestPath(hex))));
    RETURN_IF_ERROR(env_->WriteFileAtomic(ManifestPath(hex), *manifest_text));
    ASSIGN_OR_RETURN(ArtifactManifest manifest,
                     ArtifactManifest::Parse(*manifest_text, "manifest"));
    for (const ManifestEntry& entry : manifest.entries) {
      if (entry.type == core::FileType::kRegular) {
        RETURN_IF_ERROR(env_->MakeReadOnly(staged + "/" + entry.path));
      }
    }
  } else {
    RETURN_IF_ERROR(env_->MakeReadOnly(staged));
  }
  std::string shard = ParentOf(target);
  RETURN_IF_ERROR(env_->CreateDirs(shard));
  Status renamed = env_->RenameFile(staged, target);
  if (!renamed.ok()) {
    // A concurrent writer may have committed the same content first.
    if (env_->FileExists(target) && VerifyHex(hex).ok()) {
      RemoveQuietly(*env_, staged);
      return Describe("sha256:" + hex);
    }
    return renamed.WithContext("committing artifact sha256:" + hex);
  }
  RETURN_IF_ERROR(env_->SyncDir(shard));
  RETURN_IF_ERROR(env_->SyncDir(ParentOf(staged)));
  return MakeRef(hex, kind, size_bytes);
}

Result<ArtifactRef> ArtifactStore::PutBytes(std::string_view bytes) {
  std::string hex = core::Sha256Hex(bytes);
  if (env_->FileExists(ObjectPath(hex)) && VerifyHex(hex).ok()) return Describe("sha256:" + hex);
  ASSIGN_OR_RETURN(std::string staging, NewStagingDir());
  std::string staged = staging + "/data";
  Result<ArtifactRef> ref = [&]() -> Result<ArtifactRef> {
    RETURN_IF_ERROR(env_->WriteFile(staged, bytes));
    return CommitStaged(staged);
  }();
  RemoveQuietly(*env_, staging);
  return ref;
}

Result<ArtifactRef> ArtifactStore::PutFile(const std::string& path) {
  // Follow a final symlink chain so that a linked data file is copied, not the link.
  std::string source = AbsoluteNormal(path);
  ASSIGN_OR_RETURN(core::FileInfo info, env_->Stat(source));
  for (int hop = 0; info.type == core::FileType::kSymlink; ++hop) {
    if (hop == kMaxSymlinkHops) return InvalidArgumentError(path + ": too many levels of symlinks");
    Result<std::string> link = env_->ReadLink(source);
    if (!link.ok()) return link.status();
    std::filesystem::path target(*link);
    source = AbsoluteNormal(target.is_absolute() ? target.string()
                                                 : ParentOf(source) + "/" + target.string());
    ASSIGN_OR_RETURN(info, env_->Stat(source));
  }
  return CopyIn(source, info.type);
}

Result<ArtifactRef> ArtifactStore::CopyIn(const std::string& source, core::FileType type) {
  if (type != core::FileType::kRegular && type != core::FileType::kDirectory) {
    return InvalidArgumentError(source + ": only regular files and directories can be artifacts");
  }
  ASSIGN_OR_RETURN(std::string staging, NewStagingDir());
  std::string staged = staging + "/data";
  Result<ArtifactRef> ref = [&]() -> Result<ArtifactRef> {
    if (type == core::FileType::kRegular) {
      RETURN_IF_ERROR(env_->CopyFile(source, staged));
    } else {
      RETURN_IF_ERROR(CopyTree(*env_, source, staged, 0));
    }
    return CommitStaged(staged);
  }();
  RemoveQuietly(*env_, staging);
  return ref;
}

Result<std::string> ArtifactStore::PathOf(std::string_view digest, std::string_view relative_path) {
  ASSIGN_OR_RETURN(std::string hex, ParseArtifactDigest(digest));
  ASSIGN_OR_RETURN(std::string relative, NormalizeArtifactPath(relative_path));
  std::string object = ObjectPath(hex);
  Result<core::FileInfo> info = env_->Stat(object);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) return NotFound(hex, root_);
    return info.status();
  }
  if (relative.empty()) return object;
  if (info->type != core::FileType::kDirectory) {
    return InvalidArgumentError("artifact sha256:" + hex + " is a file; it has no entry \"" +
                                relative + "\"");
  }
  std::string path = object + "/" + relative;
  if (!env_->FileExists(path)) {
    return NotFoundError("artifact sha256:" + hex + " has no entry \"" + relative + "\"");
  }
  return path;
}

Status ArtifactStore::Verify(std::string_view digest) {
  ASSIGN_OR_RETURN(std::string hex, ParseArtifactDigest(digest));
  return VerifyHex(hex);
}

Status ArtifactStore::VerifyHex(const std::string& hex) {
  std::string object = ObjectPath(hex);
  Result<core::FileInfo> info = env_->Stat(object);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) return NotFound(hex, root_);
    return info.status();
  }
  if (info->type == core::FileType::kRegular) {
    ASSIGN_OR_RETURN(auto hashed, HashFile(*env_, object));
    if (hashed.first != hex)
      return Corrupt(hex, "expected sha256:" + hex + ", found sha256:" + hashed.first);
    return Status::Ok();
  }
  if (info->type != core::FileType::kDirectory)
    return Corrupt(hex, object + " is not a file or directory");
  Result<ArtifactManifest> found = BuildArtifactManifest(*env_, object, /*sync=*/false);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kInvalidArgument) {
      return Corrupt(hex, std::string(found.status().message()));
    }
    return found.status();
  }
  std::string text = found->ToCanonicalText();
  std::string found_hex = core::Sha256Hex(text);
  std::string manifest_path = ManifestPath(hex);
  if (found_hex == hex) {
    // Heal a missing or damaged stored manifest from the verified tree.
    Result<std::string> stored = env_->ReadFile(manifest_path);
    if (!stored.ok() || *stored != text) {
      RETURN_IF_ERROR(env_->CreateDirs(ParentOf(manifest_path)));
      RETURN_IF_ERROR(env_->WriteFileAtomic(manifest_path, text));
    }
    return Status::Ok();
  }
  std::string detail = "expected sha256:" + hex + ", found sha256:" + found_hex;
  Result<std::string> stored = env_->ReadFile(manifest_path);
  if (stored.ok() && core::Sha256Hex(*stored) == hex) {
    Result<ArtifactManifest> expected = ArtifactManifest::Parse(*stored, manifest_path);
    if (expected.ok()) detail += " (" + DescribeManifestDifference(*expected, *found) + ")";
  }
  return Corrupt(hex, detail);
}

Result<ArtifactManifest> ArtifactStore::LoadManifest(const std::string& hex) {
  std::string manifest_path = ManifestPath(hex);
  Result<std::string> stored = env_->ReadFile(manifest_path);
  if (stored.ok() && core::Sha256Hex(*stored) == hex) {
    return ArtifactManifest::Parse(*stored, manifest_path);
  }
  // Missing or damaged: verify the tree (which rewrites the manifest), then read it again.
  RETURN_IF_ERROR(VerifyHex(hex));
  ASSIGN_OR_RETURN(std::string text, env_->ReadFile(manifest_path));
  return ArtifactManifest::Parse(text, manifest_path);
}

Result<std::string> ArtifactStore::ReadBytes(std::string_view digest,
                                             std::string_view relative_path) {
  ASSIGN_OR_RETURN(std::string hex, ParseArtifactDigest(digest));
  ASSIGN_OR_RETURN(std::string relative, NormalizeArtifactPath(relative_path));
  ASSIGN_OR_RETURN(std::string object, PathOf(digest));
  ASSIGN_OR_RETURN(core::FileInfo info, env_->Stat(object));
  if (relative.empty()) {
    if (info.type != core::FileType::kRegular) {
      return InvalidArgumentError("artifact sha256:" + hex +
                                  " is a directory; name a file inside it to read");
    }
    // Hash exactly the bytes returned, so a concurrent change cannot slip between check and read.
    ASSIGN_OR_RETURN(std::string content, env_->ReadFile(object));
    std::string found = core::Sha256Hex(content);
    if (found != hex) return Corrupt(hex, "expected sha256:" + hex + ", found sha256:" + found);
    return content;
  }
  if (info.type != core::FileType::kDirectory) {
    return InvalidArgumentError("artifact sha256:" + hex + " is a file; it has no entry \"" +
                                relative + "\"");
  }
  ASSIGN_OR_RETURN(ArtifactManifest manifest, LoadManifest(hex));
  const ManifestEntry* entry = manifest.Find(relative);
  // Follow links inside the tree (they were checked to stay inside at commit).
  for (int hop = 0; entry != nullptr && entry->type == core::FileType::kSymlink; ++hop) {
    if (hop == kMaxSymlinkHops)
      return InvalidArgumentError(relative + ": too many levels of symlinks");
    size_t slash = entry->path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : entry->path.substr(0, slash + 1);
    std::filesystem::path resolved = std::filesystem::path(dir + entry->target).lexically_normal();
    entry = manifest.Find(resolved.string());
  }
  if (entry == nullptr) {
    return NotFoundError("artifact sha256:" + hex + " has no file \"" + relative + "\"");
  }
  if (entry->type != core::FileType::kRegular) {
    return InvalidArgumentError("artifact sha256:" + hex + ": \"" + relative + "\" is not a file");
  }
  ASSIGN_OR_RETURN(std::string content, env_->ReadFile(object + "/" + entry->path));
  std::string found = "sha256:" + core::Sha256Hex(content);
  if (found != entry->digest) {
    return Corrupt(hex, entry->path + ": expected " + entry->digest + ", found " + found);
  }
  return content;
}

Result<ArtifactRef> ArtifactStore::Describe(std::string_view digest) {
  ASSIGN_OR_RETURN(std::string hex, ParseArtifactDigest(digest));
  std::string object = ObjectPath(hex);
  Result<core::FileInfo> info = env_->Stat(object);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) return NotFound(hex, root_);
    return info.status();
  }
  if (info->type == core::FileType::kRegular) return MakeRef(hex, "file", info->size_bytes);
  if (info->type != core::FileType::kDirectory)
    return Corrupt(hex, object + " is not a file or directory");
  ASSIGN_OR_RETURN(ArtifactManifest manifest, LoadManifest(hex));
  return MakeRef(hex, "directory", manifest.TotalBytes());
}

Result<int> ArtifactStore::CleanStaging(std::chrono::nanoseconds older_than) {
  core::TimePoint cutoff =
      clock_->Now() - std::chrono::duration_cast<core::TimePoint::duration>(older_than);
  ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(staging_root_));
  int removed = 0;
  for (const std::string& name : names) {
    std::string path = staging_root_ + "/" + name;
    if (NewestChange(*env_, path, 0) >= cutoff) continue;
    RETURN_IF_ERROR(env_->RemoveAll(path));
    ++removed;
  }
  return removed;
}

}  // namespace raypipe::store
