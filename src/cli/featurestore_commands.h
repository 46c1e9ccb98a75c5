#pragma once

// `raypipe featurestore ...` (DESIGN.md section 10): feature groups, ingestion, records.
//
//   raypipe featurestore create-group --definition FILE | list | describe G | delete-group G
//   raypipe featurestore ingest G --input FILE.csv [--actors N] [--cpus-per-actor X]
//       [--definition FILE] [--batch-size N] [--rejects FILE] [--allow-rejects]
//       [--target-stores online,offline]
//   raypipe featurestore get-record G ID | batch-get G ID... | delete-record G ID [--hard]
//   raypipe featurestore export G --out FILE.csv [--as-of TIME]
//   raypipe featurestore cleanup G [--temp-min-age SECONDS]
//
// `ingest` exits 1 when rows were rejected (they are listed in the rejects file) unless
// --allow-rejects; the valid rows are stored either way.

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Adds the `featurestore` group and its commands. Errors only for a declaration bug.
Status RegisterFeatureStoreCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
