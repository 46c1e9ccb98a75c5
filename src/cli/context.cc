#include "cli/context.h"

#include <utility>

#include "cli/command.h"

namespace raypipe::cli {

std::string_view ExecutorKindName(ExecutorKind kind) {
  switch (kind) {
    case ExecutorKind::kLocal:
      return "local";
    case ExecutorKind::kRay:
      return "ray";
  }
  return "unknown";
}

void PrintError(std::ostream& err, std::string_view program, std::string_view message) {
  err << program << ": error: " << message << "\n";
  err.flush();
}

void PrintUsageError(std::ostream& err, std::string_view program, std::string_view command,
                     std::string_view message) {
  PrintError(err, program, message);
  err << "Run '" << command << " --help' for usage.\n";
  err.flush();
}

CommandContext::CommandContext(GlobalOptions options, std::ostream& out, std::ostream& err,
                               std::string program, std::string command)
    : options_(std::move(options)),
      out_(out),
      err_(err),
      program_(std::move(program)),
      command_(std::move(command)) {}

void CommandContext::PrintTable(const std::vector<std::string>& columns,
                                const std::vector<Row>& rows) {
  if (json()) {
    out_ << FormatJson(RowsToJson(columns, rows));
  } else {
    out_ << FormatTable(columns, rows);
  }
  out_.flush();
}

void CommandContext::PrintRecords(const nlohmann::json& records,
                                  std::vector<std::string> columns) {
  if (json()) {
    out_ << FormatJson(records);
    out_.flush();
    return;
  }
  TableData table = RecordsToTable(records, std::move(columns));
  if (!table.columns.empty()) out_ << FormatTable(table.columns, table.rows);
  out_.flush();
}

void CommandContext::PrintObject(const nlohmann::json& object) {
  out_ << (json() ? FormatJson(object) : FormatObject(object));
  out_.flush();
}

void CommandContext::PrintLine(std::string_view line) {
  if (json()) return;
  out_ << line << "\n";
  out_.flush();
}

int CommandContext::Fail(const Status& status) {
  PrintError(err_, program_, status.message());
  return kExitFailure;
}

int CommandContext::UsageError(std::string_view message) {
  PrintUsageError(err_, program_, command_, message);
  return kExitUsage;
}

}  // namespace raypipe::cli
