#pragma once

// What a command's handler works with: the global options, the output streams and the helpers
// that print results in the chosen format and errors in one shape.

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/status.h"

namespace raypipe::cli {

enum class ExecutorKind {
  kLocal,  // the embedded thread-pool executor
  kRay,    // a Ray cluster (--ray-address)
};

std::string_view ExecutorKindName(ExecutorKind kind);

// The global options, given before or after the command path (DESIGN.md section 10).
struct GlobalOptions {
  // --home DIR, else $RAYPIPE_HOME, else ./.raypipe; made absolute against the working
  // directory. Where the metadata store, artifacts and logs live (DESIGN.md section 5).
  std::filesystem::path home;
  OutputFormat output = OutputFormat::kTable;      // --output table|json
  ExecutorKind executor = ExecutorKind::kLocal;    // --executor local|ray
  std::string ray_address;                         // --ray-address HOST:PORT; "" when absent
  // --ray-cpus N: what the Ray cluster may grant at once (cli/executor_options.h); absent:
  // $RAYPIPE_RAY_CPUS, else asked of the cluster.
  std::optional<double> ray_cpus;
};

// One per invocation. Holds references to the streams, which must outlive it. Not thread-safe:
// a handler that prints from several threads serializes the calls itself.
class CommandContext {
 public:
  // `program` is the name errors and hints use ("raypipe"); `command` the full command name for
  // the usage hint ("raypipe datasets housing").
  CommandContext(GlobalOptions options, std::ostream& out, std::ostream& err,
                 std::string program, std::string command);

  const GlobalOptions& options() const { return options_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool json() const { return options_.output == OutputFormat::kJson; }

  // Results, in the chosen format. A table: aligned text with a header line, or a JSON array of
  // objects keyed by column name.
  void PrintTable(const std::vector<std::string>& columns, const std::vector<Row>& rows);
  // A JSON array of objects; see RecordsToTable for how columns are chosen.
  void PrintRecords(const nlohmann::json& records, std::vector<std::string> columns = {});
  // One object: "key  value" lines, or the object as JSON.
  void PrintObject(const nlohmann::json& object);
  // A line for people: written for --output table, dropped for --output json (where the result
  // comes as JSON instead).
  void PrintLine(std::string_view line);

  // Prints "raypipe: error: <message>" to the error stream and answers kExitFailure.
  int Fail(const Status& status);
  // Prints "raypipe: error: <message>" and the hint to `--help`; answers kExitUsage.
  int UsageError(std::string_view message);

 private:
  GlobalOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  std::string program_;
  std::string command_;
};

// "<program>: error: <message>\n" to `err`. The shape every error of the command takes.
void PrintError(std::ostream& err, std::string_view program, std::string_view message);

// The usage-error shape: the error line, then "Run '<command> --help' for usage.".
void PrintUsageError(std::ostream& err, std::string_view program, std::string_view command,
                     std::string_view message);

}  // namespace raypipe::cli
