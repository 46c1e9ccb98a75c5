#pragma once

// RAYPIPE_HOME's layout (DESIGN.md section 5) and the one way to open its stores, so every
// command, the engine and the feature store agree on where the truth lives.
//
//   <home>/metadata.db   the metadata store (SQLite)
//   <home>/artifacts/    the artifact store

#include <filesystem>
#include <memory>
#include <string>

#include "core/status.h"
#include "store/artifact_store.h"
#include "store/sqlite_metadata_store.h"

namespace raypipe::store {

std::string MetadataPathOf(const std::filesystem::path& home);
std::string ArtifactsRootOf(const std::filesystem::path& home);

// Creates `home` if missing (Unavailable naming it when that fails), then opens
// <home>/metadata.db with `options` (its path is filled in here).
Result<std::unique_ptr<SqliteMetadataStore>> OpenHomeMetadata(const std::filesystem::path& home,
                                                              SqliteOptions options = {});

// Opens <home>/artifacts, creating it if missing.
Result<std::unique_ptr<ArtifactStore>> OpenHomeArtifacts(const std::filesystem::path& home);

}  // namespace raypipe::store
