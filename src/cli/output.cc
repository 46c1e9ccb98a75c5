#include "cli/output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace raypipe::cli {

namespace {

constexpr std::string_view kColumnGap = "  ";

// dump() throws on invalid UTF-8 unless told otherwise; command output must never throw, and a
// replacement character is more useful to a reader than an error about one odd byte.
std::string Dump(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

std::string EscapeControl(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      escaped += "\\n";
    } else if (c == '\t') {
      escaped += "\\t";
    } else if (c == '\r') {
      escaped += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", byte);
      escaped += buffer;
    } else {
      escaped += c;
    }
  }
  return escaped;
}

void AppendPadded(std::string* line, std::string_view cell, size_t width) {
  line->append(cell);
  line->append(width - std::min(width, DisplayWidth(cell)), ' ');
}

std::string RenderLines(const std::vector<std::vector<std::string>>& lines) {
  std::vector<size_t> widths;
  for (const auto& cells : lines) {
    if (widths.size() < cells.size()) widths.resize(cells.size(), 0);
    for (size_t column_idx = 0; column_idx < cells.size(); ++column_idx) {
      widths[column_idx] = std::max(widths[column_idx], DisplayWidth(cells[column_idx]));
    }
  }
  std::string text;
  for (const auto& cells : lines) {
    std::string line;
    for (size_t column_idx = 0; column_idx < cells.size(); ++column_idx) {
      if (column_idx > 0) line += kColumnGap;
      AppendPadded(&line, cells[column_idx], widths[column_idx]);
    }
    // Padding of the last cells (and empty trailing cells) would be trailing spaces.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line;
    text += '\n';
  }
  return text;
}

}  // namespace

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string CellText(const nlohmann::json& cell) {
  switch (cell.type()) {
    case nlohmann::json::value_t::null:
      return "-";
    case nlohmann::json::value_t::string:
      return EscapeControl(cell.get_ref<const std::string&>());
    case nlohmann::json::value_t::number_float: {
      double value = cell.get<double>();
      if (std::isnan(value)) return "nan";
      if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
      return Dump(cell, -1);
    }
    case nlohmann::json::value_t::object:
    case nlohmann::json::value_t::array:
      return EscapeControl(Dump(cell, -1));
    default:
      return Dump(cell, -1);
  }
}

std::string FormatTable(const std::vector<std::string>& columns, const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> lines;
  lines.reserve(rows.size() + 1);
  std::vector<std::string> header;
  for (const std::string& column : columns) header.push_back(EscapeControl(column));
  lines.push_back(std::move(header));
  for (const Row& row : rows) {
    std::vector<std::string> cells(columns.size());
    for (size_t column_idx = 0; column_idx < columns.size() && column_idx < row.size();
         ++column_idx) {
      cells[column_idx] = CellText(row[column_idx]);
    }
    lines.push_back(std::move(cells));
  }
  return RenderLines(lines);
}

nlohmann::json RowsToJson(const std::vector<std::string>& columns, const std::vector<Row>& rows) {
  nlohmann::json array = nlohmann::json::array();
  for (const Row& row : rows) {
    nlohmann::json record = nlohmann::json::object();
    for (size_t column_idx = 0; column_idx < columns.size(); ++column_idx) {
      record[columns[column_idx]] = column_idx < row.size() ? row[column_idx] : nullptr;
    }
    array.push_back(std::move(record));
  }
  return array;
}

TableData RecordsToTable(const nlohmann::json& records, std::vector<std::string> columns) {
  TableData table;
  const bool derive_columns = columns.empty();
  if (derive_columns && records.is_array()) {
    for (const nlohmann::json& record : records) {
      if (!record.is_object()) {
        if (columns.empty()) columns.push_back("value");
        continue;
      }
      for (const auto& item : record.items()) {
        if (std::find(columns.begin(), columns.end(), item.key()) == columns.end()) {
          columns.push_back(item.key());
        }
      }
    }
  }
  table.columns = columns;
  if (!records.is_array()) return table;
  for (const nlohmann::json& record : records) {
    Row row;
    row.reserve(columns.size());
    if (record.is_object()) {
      for (const std::string& column : columns) {
        auto it = record.find(column);
        row.push_back(it == record.end() ? nlohmann::json() : *it);
      }
    } else {
      row.push_back(record);
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string FormatObject(const nlohmann::json& object) {
  if (!object.is_object()) return CellText(object) + "\n";
  std::vector<std::vector<std::string>> lines;
  for (const auto& item : object.items()) {
    lines.push_back({EscapeControl(item.key()), CellText(item.value())});
  }
  return RenderLines(lines);
}

std::string FormatJson(const nlohmann::json& value) { return Dump(value, 2) + "\n"; }

}  // namespace raypipe::cli
