#pragma once

// `raypipe datasets ...`: sample data sets for trying raypipe out.
//
//   raypipe datasets housing --rows N --seed S --out FILE.csv
//     The synthetic housing data of the reference workflow (data/housing.h). The same seed and
//     row count give the same bytes; `--out -` writes the CSV to standard output.

#include "cli/registry.h"
#include "core/status.h"

namespace raypipe::cli {

// Adds the `datasets` group and its commands. Errors only for a declaration bug.
Status RegisterDatasetsCommands(CommandRegistry& registry);

}  // namespace raypipe::cli
