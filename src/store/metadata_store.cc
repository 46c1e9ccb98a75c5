#include "store/metadata_store.h"

#include "core/json.h"

namespace raypipe::store {
namespace {

std::string_view TypeName(const SqlValue& value) {
  switch (value.index()) {
    case 0:
      return "NULL";
    case 1:
      return "INTEGER";
    case 2:
      return "REAL";
    default:
      return "TEXT";
  }
}

Status WrongType(std::string_view name, std::string_view expected, const SqlValue& value) {
  return InvalidArgumentError("column '" + std::string(name) + "' is " +
                              std::string(TypeName(value)) + ", not " + std::string(expected));
}

}  // namespace

Row::Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<SqlValue> values)
    : columns_(std::move(columns)), values_(std::move(values)) {}

Result<const SqlValue*> Row::Get(std::string_view name) const {
  for (size_t column_idx = 0; column_idx < values_.size(); ++column_idx) {
    if ((*columns_)[column_idx] == name) return &values_[column_idx];
  }
  std::string known;
  for (const std::string& column : *columns_) {
    if (!known.empty()) known += ", ";
    known += column;
  }
  return InvalidArgumentError("no column '" + std::string(name) +
                              "' in the result (columns: " + known + ")");
}

Result<int64_t> Row::GetInt64(std::string_view name) const {
  ASSIGN_OR_RETURN(const SqlValue* value, Get(name));
  if (const int64_t* integer = std::get_if<int64_t>(value)) return *integer;
  return WrongType(name, "INTEGER", *value);
}

Result<double> Row::GetDouble(std::string_view name) const {
  ASSIGN_OR_RETURN(const SqlValue* value, Get(name));
  if (const double* real = std::get_if<double>(value)) return *real;
  if (const int64_t* integer = std::get_if<int64_t>(value)) return static_cast<double>(*integer);
  return WrongType(name, "REAL", *value);
}

Result<std::string> Row::GetString(std::string_view name) const {
  ASSIGN_OR_RETURN(const SqlValue* value, Get(name));
  if (const std::string* text = std::get_if<std::string>(value)) return *text;
  return WrongType(name, "TEXT", *value);
}

Result<bool> Row::IsNull(std::string_view name) const {
  ASSIGN_OR_RETURN(const SqlValue* value, Get(name));
  return std::holds_alternative<std::nullptr_t>(*value);
}

Result<std::optional<int64_t>> Row::GetOptionalInt64(std::string_view name) const {
  ASSIGN_OR_RETURN(bool is_null, IsNull(name));
  if (is_null) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(int64_t value, GetInt64(name));
  return std::optional<int64_t>(value);
}

Result<std::optional<double>> Row::GetOptionalDouble(std::string_view name) const {
  ASSIGN_OR_RETURN(bool is_null, IsNull(name));
  if (is_null) return std::optional<double>();
  ASSIGN_OR_RETURN(double value, GetDouble(name));
  return std::optional<double>(value);
}

Result<std::optional<std::string>> Row::GetOptionalString(std::string_view name) const {
  ASSIGN_OR_RETURN(bool is_null, IsNull(name));
  if (is_null) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string value, GetString(name));
  return std::optional<std::string>(std::move(value));
}

Result<nlohmann::json> GetJsonCell(const Row& row, std::string_view column) {
  ASSIGN_OR_RETURN(std::string text, row.GetString(column));
  Result<nlohmann::json> parsed =
      core::ParseJson(text, "metadata column '" + std::string(column) + "'");
  if (!parsed.ok()) return DataLossError(std::string(parsed.status().message()));
  return parsed;
}

std::string JoinNames(const std::vector<std::string>& names) {
  constexpr size_t kMaxNames = 10;
  std::string joined;
  for (size_t i = 0; i < names.size() && i < kMaxNames; ++i) {
    if (i > 0) joined += ", ";
    joined += names[i];
  }
  if (names.size() > kMaxNames) joined += ", ... (" + std::to_string(names.size()) + " in all)";
  return joined;
}

Status NotFoundAmong(SqlSession& session, std::string message, std::string_view names_query,
                     std::string_view plural) {
  Result<std::vector<Row>> rows = session.Query(names_query);
  if (rows.ok()) {
    std::vector<std::string> names;
    for (const Row& row : *rows) {
      Result<std::string> name = row.GetString("name");
      if (name.ok()) names.push_back(*std::move(name));
    }
    message += names.empty() ? " (there are no " + std::string(plural) + ")"
                             : " (" + std::string(plural) + ": " + JoinNames(names) + ")";
  }
  return NotFoundError(std::move(message));
}

}  // namespace raypipe::store
