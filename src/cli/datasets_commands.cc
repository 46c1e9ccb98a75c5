#include "cli/datasets_commands.h"

#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/context.h"
#include "data/csv.h"
#include "data/housing.h"
#include "pipeline/step_runner.h"
#include "pipeline/steps/step_inputs.h"
#include "store/home.h"

namespace raypipe::cli {

namespace {

constexpr std::string_view kStdout = "-";

std::string FormatSeconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f", seconds);
  return buffer;
}

int RunHousing(CommandContext& context, const ParsedArgs& args) {
  data::HousingOptions options;
  options.rows = args.GetInt64("rows");
  options.seed = args.GetUint64("seed");
  options.threads = static_cast<int>(args.GetInt64("threads"));
  const std::string out = args.GetString("out");
  const bool to_stdout = out == kStdout;

  const auto start = std::chrono::steady_clock::now();
  Result<data::Table> table = data::GenerateHousing(options);
  if (!table.ok()) return context.Fail(table.status());
  data::CsvWriteOptions csv_options;
  csv_options.threads = options.threads;
  if (to_stdout) {
    context.out() << data::WriteCsvString(*table, csv_options);
    context.out().flush();
    if (!context.out()) return context.Fail(UnavailableError("cannot write to standard output"));
  } else if (Status status = data::WriteCsvFile(*table, out, csv_options); !status.ok()) {
    // The writer names its temporary file; the user should also see the path they gave.
    return context.Fail(status.WithContext("cannot write --out " + out));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // With --out - the data owns standard output; the summary goes to the error stream.
  std::ostream& summary = to_stdout ? context.err() : context.out();
  if (context.json()) {
    nlohmann::json result = {{"dataset", "housing"},
                             {"rows", table->num_rows()},
                             {"columns", table->ColumnNames()},
                             {"seed", options.seed},
                             {"path", out},
                             {"seconds", seconds}};
    summary << FormatJson(result);
  } else {
    summary << "wrote " << table->num_rows() << " housing rows (seed " << options.seed << ") to "
            << (to_stdout ? std::string("standard output") : out) << " in "
            << FormatSeconds(seconds) << " s\n";
  }
  summary.flush();
  return kExitSuccess;
}

// A table file (columnar or CSV), a directory holding one, or an artifact URI (a pipeline
// step's output, such as Steps.PreprocessData.Outputs.train) as CSV.
int RunToCsv(CommandContext& context, const ParsedArgs& args) {
  std::string in = args.GetString("in");
  const std::string out = args.GetString("out");
  if (pipeline::IsArtifactUri(in)) {
    Result<std::unique_ptr<store::ArtifactStore>> artifacts =
        store::OpenHomeArtifacts(context.options().home);
    if (!artifacts.ok()) return context.Fail(artifacts.status());
    Result<std::string> path =
        (*artifacts)->PathOf(std::string_view(in).substr(std::string_view("artifact://").size()));
    if (!path.ok()) return context.Fail(path.status().WithContext("--in"));
    in = *path;
  }
  Result<data::Table> table = pipeline::ReadTableInput(in, "--in");
  if (!table.ok()) return context.Fail(table.status());
  data::CsvWriteOptions csv_options;
  csv_options.threads = static_cast<int>(args.GetInt64("threads"));
  if (out == kStdout) {
    context.out() << data::WriteCsvString(*table, csv_options);
    context.out().flush();
    if (!context.out()) return context.Fail(UnavailableError("cannot write to standard output"));
    return kExitSuccess;
  }
  if (Status status = data::WriteCsvFile(*table, out, csv_options); !status.ok()) {
    return context.Fail(status.WithContext("cannot write --out " + out));
  }
  if (context.json()) {
    context.out() << FormatJson(nlohmann::json{
        {"rows", table->num_rows()}, {"columns", table->ColumnNames()}, {"path", out}});
  } else {
    context.out() << "wrote " << table->num_rows() << " rows to " << out << "\n";
  }
  context.out().flush();
  return kExitSuccess;
}

}  // namespace

Status RegisterDatasetsCommands(CommandRegistry& registry) {
  RETURN_IF_ERROR(registry.AddGroup("datasets", "Generate sample data sets"));

  CommandSpec housing;
  housing.path = "datasets housing";
  housing.summary = "Generate the synthetic housing data set as CSV";
  housing.description =
      "Columns, in order: PRICE (the target), YEAR_BUILT, SQUARE_FEET, NUM_BEDROOMS, "
      "NUM_BATHROOMS, LOT_ACRES, GARAGE_SPACES, FRONT_PORCH, DECK. PRICE is a deterministic "
      "function of the eight features. The same --rows and --seed give the same bytes on every "
      "machine and for every --threads.";
  housing.flags.push_back(FlagSpec::Value("rows", FlagType::kInt64, "N", "Rows to generate")
                              .Default("10000")
                              .Min(0)
                              .Max(static_cast<double>(data::kHousingMaxRows)));
  housing.flags.push_back(FlagSpec::Value("seed", FlagType::kUint64, "S", "Random seed")
                              .Default("42"));
  housing.flags.push_back(FlagSpec::Value("out", FlagType::kString, "FILE",
                                          "The CSV file to write (replaced atomically), or - "
                                          "for standard output")
                              .Required());
  housing.flags.push_back(
      FlagSpec::Value("threads", FlagType::kInt64, "N",
                      "Generation threads, 0 for one per core; never changes the output")
          .Default("0")
          .Min(0)
          .Max(1024));
  housing.examples = {"raypipe datasets housing --rows 1000 --seed 7 --out housing.csv",
                      "raypipe datasets housing --rows 5 --out - | column -s, -t"};
  housing.handler = RunHousing;
  RETURN_IF_ERROR(registry.Add(std::move(housing)));

  CommandSpec to_csv;
  to_csv.path = "datasets to-csv";
  to_csv.summary = "Write a table (columnar .rpcol, CSV, or a step's output artifact) as CSV";
  to_csv.description =
      "Pipeline steps hand tables to one another in raypipe's columnar format (.rpcol: "
      "raypipe.preprocess's train, validation and test outputs); this writes one as CSV. --in "
      "is a table file, a directory holding one, or an artifact URI (artifact://sha256:...) "
      "from `raypipe execution steps`.";
  to_csv.flags.push_back(FlagSpec::Value("in", FlagType::kString, "PATH",
                                         "The table: a file, a directory of one, or an "
                                         "artifact URI")
                             .Required());
  to_csv.flags.push_back(FlagSpec::Value("out", FlagType::kString, "FILE",
                                         "The CSV file to write (replaced atomically), or - "
                                         "for standard output")
                             .Required());
  to_csv.flags.push_back(FlagSpec::Value("threads", FlagType::kInt64, "N",
                                         "Formatting threads, 0 for one per core")
                             .Default("0")
                             .Min(0)
                             .Max(1024));
  to_csv.examples = {"raypipe datasets to-csv --in artifact://sha256:4f2c... --out train.csv"};
  to_csv.handler = RunToCsv;
  return registry.Add(std::move(to_csv));
}

}  // namespace raypipe::cli
