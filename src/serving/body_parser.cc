#include "serving/body_parser.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/json.h"

namespace raypipe::serving {

namespace {

using nlohmann::json;

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
constexpr size_t kMaxQuoted = 80;  // longest input echoed back in an error

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, kMaxQuoted)) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", static_cast<unsigned char>(c));
      out.append(escaped);
    } else {
      out.push_back(c);
    }
  }
  if (text.size() > kMaxQuoted) out.append("...");
  out.push_back('"');
  return out;
}

std::string FeatureList(const std::vector<std::string>& features) {
  std::string out;
  for (size_t feature_idx = 0; feature_idx < features.size(); ++feature_idx) {
    if (feature_idx > 0) out.push_back(',');
    out.append(features[feature_idx]);
  }
  return out;
}

std::string CountError(std::string_view where, size_t found,
                       const std::vector<std::string>& features) {
  return std::string(where) + ": found " + std::to_string(found) + " values, expected " +
         std::to_string(features.size()) + " (" + FeatureList(features) + ")";
}

std::string CellName(size_t row_idx, size_t column_idx, const std::vector<std::string>& features) {
  std::string out = "row " + std::to_string(row_idx + 1) + ", column " +
                    std::to_string(column_idx + 1);
  if (column_idx < features.size()) out += " (" + features[column_idx] + ")";
  return out;
}

// A CSV field as a float: "", "nan", "NaN", "NA" are missing; surrounding quotes are dropped.
bool ParseNumber(std::string_view field, float& value) {
  field = TrimSpaces(field);
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = TrimSpaces(field.substr(1, field.size() - 2));
  }
  if (field.empty() || field == "nan" || field == "NaN" || field == "NA" || field == "NAN") {
    value = kMissing;
    return true;
  }
  if (field.front() == '+') field.remove_prefix(1);
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (ec == std::errc::result_out_of_range) {
    value = field.front() == '-' ? -std::numeric_limits<float>::infinity()
                                 : std::numeric_limits<float>::infinity();
    return ptr == end;
  }
  return ec == std::errc() && ptr == end;
}

// Splits a CSV line on commas (quoted fields may not contain commas: feature rows are numbers).
void SplitFields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

// Maps named columns to feature positions: position[column_idx] = feature index. Every feature
// must appear exactly once; `where` names the header in errors.
Result<std::vector<size_t>> MatchColumns(const std::vector<std::string>& columns,
                                         const std::vector<std::string>& features,
                                         std::string_view where) {
  std::unordered_map<std::string_view, size_t> index;
  for (size_t feature_idx = 0; feature_idx < features.size(); ++feature_idx) {
    index.emplace(features[feature_idx], feature_idx);
  }
  std::vector<size_t> position(columns.size());
  std::vector<bool> seen(features.size(), false);
  for (size_t column_idx = 0; column_idx < columns.size(); ++column_idx) {
    auto found = index.find(columns[column_idx]);
    if (found == index.end()) {
      return InvalidArgumentError(std::string(where) + ": column " +
                                  std::to_string(column_idx + 1) + " " +
                                  Quote(columns[column_idx]) +
                                  " is not a feature of the model; expected " +
                                  FeatureList(features));
    }
    if (seen[found->second]) {
      return InvalidArgumentError(std::string(where) + ": column " + Quote(columns[column_idx]) +
                                  " appears twice");
    }
    seen[found->second] = true;
    position[column_idx] = found->second;
  }
  for (size_t feature_idx = 0; feature_idx < features.size(); ++feature_idx) {
    if (!seen[feature_idx]) {
      return InvalidArgumentError(std::string(where) + ": missing feature " +
                                  Quote(features[feature_idx]) + "; expected " +
                                  FeatureList(features));
    }
  }
  return position;
}

// A JSON cell as a float; InvalidArgument naming the cell when it is not a number or null.
Result<float> JsonNumber(const json& cell, size_t row_idx, size_t column_idx,
                         const std::vector<std::string>& features) {
  if (cell.is_number()) return static_cast<float>(cell.get<double>());
  if (cell.is_null()) return kMissing;
  if (cell.is_boolean()) return cell.get<bool>() ? 1.0f : 0.0f;
  std::string shown = cell.is_string() ? Quote(cell.get_ref<const std::string&>())
                                       : std::string(core::JsonTypeName(cell));
  return InvalidArgumentError(CellName(row_idx, column_idx, features) + ": " + shown +
                              " is not a number");
}

// Rows given as arrays in feature order.
Result<FeatureRows> ArrayRows(const json& rows, std::string_view where,
                              const std::vector<std::string>& features) {
  FeatureRows out;
  if (!rows.is_array()) {
    return InvalidArgumentError(std::string(where) + ": expected an array of rows, found " +
                                std::string(core::JsonTypeName(rows)));
  }
  // A flat list of numbers is one row.
  if (!rows.empty() && !rows.front().is_array() && !rows.front().is_object()) {
    if (rows.size() != features.size()) {
      return InvalidArgumentError(CountError(std::string(where) + " row 1", rows.size(), features));
    }
    for (size_t column_idx = 0; column_idx < rows.size(); ++column_idx) {
      ASSIGN_OR_RETURN(float value, JsonNumber(rows[column_idx], 0, column_idx, features));
      out.values.push_back(value);
    }
    out.num_rows = 1;
    return out;
  }
  out.values.reserve(rows.size() * features.size());
  for (size_t row_idx = 0; row_idx < rows.size(); ++row_idx) {
    const json& row = rows[row_idx];
    if (row.is_object()) {
      for (size_t feature_idx = 0; feature_idx < features.size(); ++feature_idx) {
        auto found = row.find(features[feature_idx]);
        if (found == row.end()) {
          return InvalidArgumentError("row " + std::to_string(row_idx + 1) + ": missing feature " +
                                      Quote(features[feature_idx]) + "; expected " +
                                      FeatureList(features));
        }
        ASSIGN_OR_RETURN(float value, JsonNumber(*found, row_idx, feature_idx, features));
        out.values.push_back(value);
      }
      if (row.size() != features.size()) {
        for (const auto& [key, value] : row.items()) {
          bool known = false;
          for (const auto& feature : features) known = known || feature == key;
          if (!known) {
            return InvalidArgumentError("row " + std::to_string(row_idx + 1) + ": " + Quote(key) +
                                        " is not a feature of the model; expected " +
                                        FeatureList(features));
          }
        }
      }
    } else if (row.is_array()) {
      if (row.size() != features.size()) {
        return InvalidArgumentError(
            CountError("row " + std::to_string(row_idx + 1), row.size(), features));
      }
      for (size_t column_idx = 0; column_idx < row.size(); ++column_idx) {
        ASSIGN_OR_RETURN(float value, JsonNumber(row[column_idx], row_idx, column_idx, features));
        out.values.push_back(value);
      }
    } else {
      return InvalidArgumentError("row " + std::to_string(row_idx + 1) +
                                  ": expected an array or an object, found " +
                                  std::string(core::JsonTypeName(row)));
    }
  }
  out.num_rows = rows.size();
  return out;
}

// {"YEAR_BUILT": [..], ...}: one array per feature, all the same length.
Result<FeatureRows> ColumnRows(const json& columns, const std::vector<std::string>& features) {
  FeatureRows out;
  std::vector<std::string> names;
  for (const auto& [key, value] : columns.items()) names.push_back(key);
  RETURN_IF_ERROR(MatchColumns(names, features, "inputs").status());
  size_t num_rows = 0;
  for (size_t feature_idx = 0; feature_idx < features.size(); ++feature_idx) {
    const json& column = columns.at(features[feature_idx]);
    const size_t length = column.is_array() ? column.size() : 1;
    if (feature_idx == 0) num_rows = length;
    if (length != num_rows) {
      return InvalidArgumentError("inputs: column " + Quote(features[feature_idx]) + " has " +
                                  std::to_string(length) + " values, column " +
                                  Quote(features[0]) + " has " + std::to_string(num_rows));
    }
  }
  out.values.resize(num_rows * features.size());
  for (size_t feature_idx = 0; feature_idx < features.size(); ++feature_idx) {
    const json& column = columns.at(features[feature_idx]);
    for (size_t row_idx = 0; row_idx < num_rows; ++row_idx) {
      const json& cell = column.is_array() ? column[row_idx] : column;
      ASSIGN_OR_RETURN(float value, JsonNumber(cell, row_idx, feature_idx, features));
      out.values[row_idx * features.size() + feature_idx] = value;
    }
  }
  out.num_rows = num_rows;
  return out;
}

Result<FeatureRows> DataframeSplit(const json& split, const std::vector<std::string>& features) {
  if (!split.is_object()) {
    return InvalidArgumentError("dataframe_split: expected an object with columns and data");
  }
  auto columns = split.find("columns");
  auto data = split.find("data");
  if (data == split.end() || !data->is_array()) {
    return InvalidArgumentError("dataframe_split.data: missing or not an array of rows");
  }
  if (columns == split.end()) return ArrayRows(*data, "dataframe_split.data", features);
  if (!columns->is_array()) return InvalidArgumentError("dataframe_split.columns: not an array");
  std::vector<std::string> names;
  for (const json& name : *columns) {
    if (!name.is_string()) {
      return InvalidArgumentError("dataframe_split.columns: expected strings, found " +
                                  std::string(core::JsonTypeName(name)));
    }
    names.push_back(name.get<std::string>());
  }
  ASSIGN_OR_RETURN(std::vector<size_t> position,
                   MatchColumns(names, features, "dataframe_split.columns"));
  FeatureRows out;
  out.values.resize(data->size() * features.size());
  for (size_t row_idx = 0; row_idx < data->size(); ++row_idx) {
    const json& row = (*data)[row_idx];
    if (!row.is_array() || row.size() != names.size()) {
      return InvalidArgumentError(
          "dataframe_split.data row " + std::to_string(row_idx + 1) + ": found " +
          std::to_string(row.is_array() ? row.size() : 1) + " values, expected " +
          std::to_string(names.size()) + " (the columns given)");
    }
    for (size_t column_idx = 0; column_idx < row.size(); ++column_idx) {
      ASSIGN_OR_RETURN(float value,
                       JsonNumber(row[column_idx], row_idx, position[column_idx], features));
      out.values[row_idx * features.size() + position[column_idx]] = value;
    }
  }
  out.num_rows = data->size();
  return out;
}

std::string_view MediaType(std::string_view header) {
  header = header.substr(0, header.find(';'));
  return TrimSpaces(header);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t char_idx = 0; char_idx < a.size(); ++char_idx) {
    char x = a[char_idx], y = b[char_idx];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

Result<BodyFormat> ParseContentType(std::string_view content_type) {
  const std::string_view media = MediaType(content_type);
  if (EqualsIgnoreCase(media, "text/csv")) return BodyFormat::kCsv;
  if (EqualsIgnoreCase(media, "application/json")) return BodyFormat::kJson;
  return UnimplementedError("unsupported content type " + Quote(content_type) +
                            "; send text/csv or application/json");
}

Result<BodyFormat> ParseAccept(std::string_view accept, BodyFormat request_format) {
  if (TrimSpaces(accept).empty()) return request_format;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t comma = accept.find(',', start);
    if (comma == std::string_view::npos) comma = accept.size();
    const std::string_view media = MediaType(accept.substr(start, comma - start));
    if (EqualsIgnoreCase(media, "text/csv")) return BodyFormat::kCsv;
    if (EqualsIgnoreCase(media, "application/json")) return BodyFormat::kJson;
    if (media == "*/*") return request_format;
    if (EqualsIgnoreCase(media, "text/*")) return BodyFormat::kCsv;
    if (EqualsIgnoreCase(media, "application/*")) return BodyFormat::kJson;
    start = comma + 1;
  }
  return UnimplementedError("cannot answer in any type of Accept " + Quote(accept) +
                            "; accept text/csv or application/json");
}

Result<FeatureRows> ParseCsvBody(std::string_view body, const std::vector<std::string>& features) {
  FeatureRows out;
  std::vector<std::string_view> fields;
  std::vector<size_t> position;  // from a header line: column -> feature; empty: identity
  size_t row_idx = 0;
  bool first_line = true;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = TrimSpaces(body.substr(start, end - start));
    start = end + 1;
    if (line.empty()) continue;
    SplitFields(line, fields);
    if (first_line) {
      first_line = false;
      float ignored = 0;
      if (!ParseNumber(fields[0], ignored)) {
        std::vector<std::string> names;
        for (std::string_view field : fields) {
          field = TrimSpaces(field);
          if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
            field = field.substr(1, field.size() - 2);
          }
          names.emplace_back(field);
        }
        // A first line that names no feature at all is data with a bad value, not a header.
        bool names_a_feature = false;
        for (const auto& name : names) {
          for (const auto& feature : features) names_a_feature = names_a_feature || name == feature;
        }
        if (names_a_feature) {
          ASSIGN_OR_RETURN(position, MatchColumns(names, features, "header line"));
          continue;
        }
      }
    }
    if (fields.size() != features.size()) {
      return InvalidArgumentError(
          CountError("row " + std::to_string(row_idx + 1), fields.size(), features));
    }
    const size_t base = out.values.size();
    out.values.resize(base + features.size());
    for (size_t column_idx = 0; column_idx < fields.size(); ++column_idx) {
      const size_t feature_idx = position.empty() ? column_idx : position[column_idx];
      float value = 0;
      if (!ParseNumber(fields[column_idx], value)) {
        return InvalidArgumentError(CellName(row_idx, feature_idx, features) + ": " +
                                    Quote(TrimSpaces(fields[column_idx])) + " is not a number");
      }
      out.values[base + feature_idx] = value;
    }
    ++row_idx;
  }
  if (row_idx == 0) {
    return InvalidArgumentError("the body holds no rows; expected CSV rows of " +
                                std::to_string(features.size()) + " values (" +
                                FeatureList(features) + ")");
  }
  out.num_rows = row_idx;
  return out;
}

Result<FeatureRows> ParseJsonBody(std::string_view body, const std::vector<std::string>& features) {
  ASSIGN_OR_RETURN(json document, core::ParseJson(body, "request body"));
  Result<FeatureRows> rows = InvalidArgumentError("unreachable");
  if (document.is_array()) {
    rows = ArrayRows(document, "body", features);
  } else if (!document.is_object()) {
    return InvalidArgumentError("request body: expected a JSON object, found " +
                                std::string(core::JsonTypeName(document)));
  } else if (auto found = document.find("instances"); found != document.end()) {
    rows = ArrayRows(*found, "instances", features);
  } else if (auto inputs = document.find("inputs"); inputs != document.end()) {
    rows = inputs->is_object() ? ColumnRows(*inputs, features)
                               : ArrayRows(*inputs, "inputs", features);
  } else if (auto split = document.find("dataframe_split"); split != document.end()) {
    rows = DataframeSplit(*split, features);
  } else if (auto records = document.find("dataframe_records"); records != document.end()) {
    rows = ArrayRows(*records, "dataframe_records", features);
  } else {
    return InvalidArgumentError(
        "request body: expected one of \"instances\", \"inputs\", \"dataframe_split\" or "
        "\"dataframe_records\"");
  }
  if (rows.ok() && rows->num_rows == 0) {
    return InvalidArgumentError("the body holds no rows; expected rows of " +
                                std::to_string(features.size()) + " values (" +
                                FeatureList(features) + ")");
  }
  return rows;
}

Result<FeatureRows> ParseBody(BodyFormat format, std::string_view body,
                              const std::vector<std::string>& features) {
  return format == BodyFormat::kCsv ? ParseCsvBody(body, features) : ParseJsonBody(body, features);
}

std::string FormatPredictions(std::span<const float> predictions, BodyFormat format) {
  std::string out;
  out.reserve(predictions.size() * 12 + 20);
  char buffer[32];
  auto append_number = [&](float value) {
    if (!std::isfinite(value)) {
      out.append(format == BodyFormat::kJson ? "null" : "nan");
      return;
    }
    auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, ec == std::errc() ? static_cast<size_t>(ptr - buffer) : 0);
  };
  if (format == BodyFormat::kCsv) {
    for (float value : predictions) {
      append_number(value);
      out.push_back('\n');
    }
    return out;
  }
  out.append("{\"predictions\":[");
  for (size_t prediction_idx = 0; prediction_idx < predictions.size(); ++prediction_idx) {
    if (prediction_idx > 0) out.push_back(',');
    append_number(predictions[prediction_idx]);
  }
  out.append("]}");
  return out;
}

std::string_view ContentTypeName(BodyFormat format) {
  return format == BodyFormat::kCsv ? "text/csv" : "application/json";
}

}  // namespace raypipe::serving
