#include "store/home.h"

#include <system_error>
#include <utility>

namespace raypipe::store {

std::string MetadataPathOf(const std::filesystem::path& home) {
  return (home / "metadata.db").string();
}

std::string ArtifactsRootOf(const std::filesystem::path& home) {
  return (home / "artifacts").string();
}

Result<std::unique_ptr<SqliteMetadataStore>> OpenHomeMetadata(const std::filesystem::path& home,
                                                              SqliteOptions options) {
  std::error_code error;
  std::filesystem::create_directories(home, error);
  if (error) {
    return UnavailableError("cannot create the raypipe home " + home.string() + ": " +
                            error.message());
  }
  options.path = MetadataPathOf(home);
  return SqliteMetadataStore::Open(std::move(options));
}

Result<std::unique_ptr<ArtifactStore>> OpenHomeArtifacts(const std::filesystem::path& home) {
  ArtifactStoreOptions options;
  options.root = ArtifactsRootOf(home);
  return ArtifactStore::Open(options);
}

}  // namespace raypipe::store
