// Feeds arbitrary bytes to the artifact store's parsers: digests, relative paths and manifests.
// None may crash; what they accept must be well formed.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/artifact_manifest.h"
#include "store/artifact_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace raypipe;

  if (Result<std::string> hex = store::ParseArtifactDigest(text); hex.ok()) {
    if (hex->size() != 64 || hex->find_first_not_of("0123456789abcdef") != std::string::npos) {
      std::abort();
    }
  }

  if (Result<std::string> path = store::NormalizeArtifactPath(text); path.ok()) {
    // A normalized path never climbs out, never starts at the root and is a fixed point.
    if (!path->empty() && path->front() == '/') std::abort();
    if (*path == ".." || path->starts_with("../") || path->find("/../") != std::string::npos ||
        path->ends_with("/..")) {
      std::abort();
    }
    Result<std::string> again = store::NormalizeArtifactPath(*path);
    if (!again.ok() || *again != *path) std::abort();
  }

  if (Result<store::ArtifactManifest> manifest = store::ArtifactManifest::Parse(text, "fuzz");
      manifest.ok()) {
    Result<store::ArtifactManifest> again =
        store::ArtifactManifest::Parse(manifest->ToCanonicalText(), "again");
    if (!again.ok() || again->entries != manifest->entries) std::abort();
  }
  return 0;
}
