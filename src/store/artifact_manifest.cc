#include "store/artifact_manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "core/json.h"

namespace raypipe::store {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "raypipe.artifact-manifest.v1";
constexpr int kMaxDepth = 256;

std::string_view TypeName(core::FileType type) {
  switch (type) {
    case core::FileType::kRegular:
      return "file";
    case core::FileType::kDirectory:
      return "directory";
    case core::FileType::kSymlink:
      return "symlink";
    default:
      return "other";
  }
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Whether a relative link placed in directory `link_dir` (relative to the tree's root) resolves,
// lexically, to somewhere inside the tree.
bool StaysInside(std::string_view link_dir, std::string_view target) {
  std::vector<std::string_view> stack;
  for (std::string_view part : SplitPath(link_dir)) {
    if (!part.empty() && part != ".") stack.push_back(part);
  }
  for (std::string_view part : SplitPath(target)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (stack.empty()) return false;
      stack.pop_back();
    } else {
      stack.push_back(part);
    }
  }
  return true;
}

bool IsValidUtf8(const std::string& text) {
  try {
    (void)json(text).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

class TreeWalker {
 public:
  TreeWalker(core::Env& env, std::string root, bool sync)
      : env_(env), root_(std::move(root)), sync_(sync) {}

  Status Walk(const std::string& relative_dir, int depth) {
    if (depth > kMaxDepth) {
      return InvalidArgumentError(root_ + ": nested deeper than " + std::to_string(kMaxDepth) +
                                  " levels at " + relative_dir);
    }
    std::string absolute_dir = relative_dir.empty() ? root_ : root_ + "/" + relative_dir;
    ASSIGN_OR_RETURN(std::vector<std::string> names, env_.ListDir(absolute_dir));
    for (const std::string& name : names) {
      std::string relative = relative_dir.empty() ? name : relative_dir + "/" + name;
      std::string absolute = root_ + "/" + relative;
      if (!IsValidUtf8(name)) {
        return InvalidArgumentError(absolute + ": file name is not valid UTF-8");
      }
      ASSIGN_OR_RETURN(core::FileInfo info, env_.Stat(absolute));
      ManifestEntry entry;
      entry.path = relative;
      entry.type = info.type;
      switch (info.type) {
        case core::FileType::kRegular: {
          if (sync_) RETURN_IF_ERROR(env_.SyncFile(absolute));
          core::Sha256 hasher;
          int64_t size = 0;
          RETURN_IF_ERROR(env_.StreamFile(absolute, [&](std::string_view chunk) {
            hasher.Update(chunk);
            size += static_cast<int64_t>(chunk.size());
            return Status::Ok();
          }));
          entry.digest = "sha256:" + hasher.FinishHex();
          entry.size_bytes = size;
          entry.executable = info.executable;
          entries_.push_back(std::move(entry));
          break;
        }
        case core::FileType::kDirectory:
          entries_.push_back(std::move(entry));
          RETURN_IF_ERROR(Walk(relative, depth + 1));
          break;
        case core::FileType::kSymlink: {
          ASSIGN_OR_RETURN(entry.target, env_.ReadLink(absolute));
          if (entry.target.empty() || entry.target[0] == '/' ||
              !StaysInside(relative_dir, entry.target)) {
            return InvalidArgumentError(absolute + ": symlink to \"" + entry.target +
                                        "\" points outside the artifact (only relative links "
                                        "inside the tree are allowed)");
          }
          if (!IsValidUtf8(entry.target)) {
            return InvalidArgumentError(absolute + ": symlink target is not valid UTF-8");
          }
          entries_.push_back(std::move(entry));
          break;
        }
        default:
          return InvalidArgumentError(absolute +
                                      ": special files (fifos, sockets, devices) cannot be stored");
      }
    }
    if (sync_) RETURN_IF_ERROR(env_.SyncDir(absolute_dir));
    return Status::Ok();
  }

  std::vector<ManifestEntry> TakeEntries() { return std::move(entries_); }

 private:
  core::Env& env_;
  std::string root_;
  bool sync_;
  std::vector<ManifestEntry> entries_;
};

}  // namespace

std::string ArtifactManifest::ToCanonicalText() const {
  json list = json::array();
  for (const ManifestEntry& entry : entries) {
    json item;
    item["path"] = entry.path;
    item["type"] = TypeName(entry.type);
    if (entry.type == core::FileType::kRegular) {
      item["digest"] = entry.digest;
      item["size"] = entry.size_bytes;
      if (entry.executable) item["executable"] = true;
    } else if (entry.type == core::FileType::kSymlink) {
      item["target"] = entry.target;
    }
    list.push_back(std::move(item));
  }
  json manifest;
  manifest["entries"] = std::move(list);
  manifest["format"] = kFormat;
  return core::CanonicalJson(manifest);
}

std::string ArtifactManifest::Digest() const {
  return "sha256:" + core::Sha256Hex(ToCanonicalText());
}

int64_t ArtifactManifest::TotalBytes() const {
  int64_t total = 0;
  for (const ManifestEntry& entry : entries) total += entry.size_bytes;
  return total;
}

const ManifestEntry* ArtifactManifest::Find(std::string_view path) const {
  auto found = std::lower_bound(
      entries.begin(), entries.end(), path,
      [](const ManifestEntry& entry, std::string_view key) { return entry.path < key; });
  return found != entries.end() && found->path == path ? &*found : nullptr;
}

Result<ArtifactManifest> ArtifactManifest::Parse(std::string_view text, std::string_view where) {
  ASSIGN_OR_RETURN(json parsed, core::ParseJson(text, where));
  ASSIGN_OR_RETURN(std::string format, core::GetString(parsed, "format", where));
  if (format != kFormat) {
    return InvalidArgumentError(std::string(where) + ": unknown manifest format \"" + format +
                                "\"");
  }
  ASSIGN_OR_RETURN(const json* list, core::GetArray(parsed, "entries", where));
  ArtifactManifest manifest;
  for (size_t entry_idx = 0; entry_idx < list->size(); ++entry_idx) {
    const json& item = (*list)[entry_idx];
    std::string item_where = core::JoinFieldPath(core::JoinFieldPath(where, "entries"), entry_idx);
    ManifestEntry entry;
    ASSIGN_OR_RETURN(entry.path, core::GetString(item, "path", item_where));
    Result<std::string> normalized = NormalizeArtifactPath(entry.path);
    if (entry.path.empty() || !normalized.ok() || *normalized != entry.path) {
      return InvalidArgumentError(item_where + ".path: \"" + entry.path +
                                  "\" is not a normalized relative path");
    }
    ASSIGN_OR_RETURN(std::string type, core::GetString(item, "type", item_where));
    if (type == "file") {
      entry.type = core::FileType::kRegular;
      ASSIGN_OR_RETURN(entry.digest, core::GetString(item, "digest", item_where));
      ASSIGN_OR_RETURN(entry.size_bytes, core::GetInt64(item, "size", item_where));
      ASSIGN_OR_RETURN(std::optional<bool> executable,
                       core::GetOptionalBool(item, "executable", item_where));
      entry.executable = executable.value_or(false);
    } else if (type == "directory") {
      entry.type = core::FileType::kDirectory;
    } else if (type == "symlink") {
      entry.type = core::FileType::kSymlink;
      ASSIGN_OR_RETURN(entry.target, core::GetString(item, "target", item_where));
      size_t slash = entry.path.rfind('/');
      std::string_view link_dir = slash == std::string::npos
                                      ? std::string_view()
                                      : std::string_view(entry.path).substr(0, slash);
      if (entry.target.empty() || entry.target[0] == '/' || !StaysInside(link_dir, entry.target)) {
        return InvalidArgumentError(item_where + ".target: \"" + entry.target +
                                    "\" points outside the artifact");
      }
    } else {
      return InvalidArgumentError(item_where + ".type: unknown entry type \"" + type + "\"");
    }
    if (!manifest.entries.empty() && !(manifest.entries.back().path < entry.path)) {
      return InvalidArgumentError(item_where + ".path: entries are not sorted by path");
    }
    manifest.entries.push_back(std::move(entry));
  }
  return manifest;
}

Result<ArtifactManifest> BuildArtifactManifest(core::Env& env, const std::string& dir, bool sync) {
  TreeWalker walker(env, dir, sync);
  RETURN_IF_ERROR(walker.Walk("", 0));
  ArtifactManifest manifest;
  manifest.entries = walker.TakeEntries();
  // Depth-first order is not bytewise order ("a.txt" sorts before "a/b").
  std::sort(manifest.entries.begin(), manifest.entries.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
  return manifest;
}

Result<std::string> NormalizeArtifactPath(std::string_view relative) {
  if (!relative.empty() && relative[0] == '/') {
    return InvalidArgumentError("path \"" + std::string(relative) +
                                "\" is absolute; expected a path relative to the artifact");
  }
  if (relative.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("path contains a NUL character");
  }
  std::string normalized;
  for (std::string_view part : SplitPath(relative)) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return InvalidArgumentError("path \"" + std::string(relative) +
                                  "\" contains \"..\" and could escape the artifact");
    }
    if (!normalized.empty()) normalized += '/';
    normalized += part;
  }
  return normalized;
}

std::string DescribeManifestDifference(const ArtifactManifest& expected,
                                       const ArtifactManifest& found) {
  for (const ManifestEntry& entry : expected.entries) {
    const ManifestEntry* other = found.Find(entry.path);
    if (other == nullptr) return entry.path + " is missing";
    if (other->type != entry.type) {
      return entry.path + ": expected a " + std::string(TypeName(entry.type)) + ", found a " +
             std::string(TypeName(other->type));
    }
    if (other->digest != entry.digest) {
      return entry.path + ": expected " + entry.digest + ", found " + other->digest;
    }
    if (other->size_bytes != entry.size_bytes) {
      return entry.path + ": expected " + std::to_string(entry.size_bytes) + " bytes, found " +
             std::to_string(other->size_bytes);
    }
    if (other->executable != entry.executable) return entry.path + ": execute bit changed";
    if (other->target != entry.target) {
      return entry.path + ": expected a link to " + entry.target + ", found one to " +
             other->target;
    }
  }
  for (const ManifestEntry& entry : found.entries) {
    if (expected.Find(entry.path) == nullptr) return entry.path + " is unexpected";
  }
  return "no difference in the listing";
}

}  // namespace raypipe::store
