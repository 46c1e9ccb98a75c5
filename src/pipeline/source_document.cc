#include "pipeline/source_document.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_set>
#include <utility>
#include <vector>

// GCC 12 warns about yaml-cpp's own headers (a false -Wdangling-pointer in node/impl.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

SourcePosition PositionOfOffset(std::string_view text, size_t offset) {
  SourcePosition position{1, 1};
  offset = std::min(offset, text.size());
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++position.line;
      position.column = 1;
    } else {
      ++position.column;
    }
  }
  return position;
}

Status SyntaxError(std::string_view source_name, SourcePosition position, std::string_view what) {
  std::string message(source_name);
  if (position.line > 0) {
    message += ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
  }
  message += ": ";
  message += what;
  return InvalidArgumentError(std::move(message));
}

// The offset of the first byte that is not part of well-formed UTF-8 (no overlongs, no
// surrogates), or nullopt. A NUL byte counts as invalid too: no definition needs one.
std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0) return i;
    if (byte < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t min_code = 0;
    uint32_t code = 0;
    if ((byte & 0xE0) == 0xC0) {
      length = 2, min_code = 0x80, code = byte & 0x1F;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3, min_code = 0x800, code = byte & 0x0F;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4, min_code = 0x10000, code = byte & 0x07;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += length;
  }
  return std::nullopt;
}

// ---- JSON -------------------------------------------------------------------------------

// Walks JSON text that nlohmann has already accepted and records where each value starts,
// rejecting duplicate keys and excessive nesting. Iterative, so deep input cannot overflow
// the stack; tolerant of anything unexpected (it never reads past the text).
Status ScanJsonPositions(std::string_view text, std::string_view source_name, SourceMap* map) {
  struct Frame {
    bool is_object = false;
    std::string pointer;
    size_t index = 0;
    bool expect_key = true;
    std::string key;
    std::unordered_set<std::string> keys;
  };
  std::vector<Frame> stack;
  size_t pos = 0;
  int line = 1;
  size_t line_start = 0;
  size_t values = 0;
  size_t pointer_bytes = 0;
  size_t path_segments = 0;

  auto skip_whitespace = [&] {
    while (pos < text.size()) {
      const char c = text[pos];
      if (c == '\n') {
        ++line;
        line_start = pos + 1;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        break;
      }
      ++pos;
    }
  };
  auto string_end = [&] {  // pos is at the opening quote
    size_t p = pos + 1;
    while (p < text.size() && text[p] != '"') p += (text[p] == '\\') ? 2 : 1;
    return std::min(p + 1, text.size());
  };
  auto value_done = [&] {
    if (stack.empty()) return;
    Frame& top = stack.back();
    if (top.is_object) {
      top.expect_key = true;
    } else {
      ++top.index;
    }
  };

  while (true) {
    skip_whitespace();
    if (pos >= text.size()) break;
    const char c = text[pos];
    const SourcePosition here{line, static_cast<int>(pos - line_start) + 1};
    if (c == ',' || c == ':') {
      ++pos;
      continue;
    }
    if (c == '}' || c == ']') {
      ++pos;
      if (!stack.empty()) stack.pop_back();
      value_done();
      continue;
    }
    if (!stack.empty() && stack.back().is_object && stack.back().expect_key) {
      if (c != '"') {
        ++pos;
        continue;
      }
      const size_t end = string_end();
      std::string key;
      try {
        key = json::parse(text.substr(pos, end - pos)).get<std::string>();
      } catch (const std::exception&) {
        return SyntaxError(source_name, here, "invalid JSON: malformed object key");
      }
      Frame& top = stack.back();
      if (!top.keys.insert(key).second) {
        return SyntaxError(source_name, here, "invalid JSON: duplicate key '" + key + "'");
      }
      top.key = std::move(key);
      top.expect_key = false;
      pos = end;
      continue;
    }
    std::string pointer;
    if (!stack.empty()) {
      const Frame& top = stack.back();
      pointer = top.pointer + "/" +
                (top.is_object ? EscapePointerToken(top.key) : std::to_string(top.index));
    }
    if (++values > kMaxValues) {
      return SyntaxError(source_name, here,
                         "definition too large: more than " + std::to_string(kMaxValues) +
                             " values");
    }
    pointer_bytes += pointer.size();
    path_segments += stack.size();
    if (pointer_bytes > kMaxExpandedBytes || path_segments > kMaxPathSegments) {
      return SyntaxError(source_name, here,
                         "definition too large: its values nest too deep for their number");
    }
    map->Record(pointer, here);
    if (c == '{' || c == '[') {
      if (stack.size() >= kMaxNestingDepth) {
        return SyntaxError(source_name, here,
                           "nesting deeper than " + std::to_string(kMaxNestingDepth) +
                               " levels");
      }
      Frame frame;
      frame.is_object = (c == '{');
      frame.pointer = std::move(pointer);
      stack.push_back(std::move(frame));
      ++pos;
      continue;
    }
    if (c == '"') {
      pos = string_end();
    } else {
      while (pos < text.size() && std::strchr(",}] \t\r\n", text[pos]) == nullptr) ++pos;
    }
    value_done();
  }
  return Status::Ok();
}

// "[json.exception.parse_error.101] parse error at line 2, column 5: syntax error ..." ->
// "syntax error ...".
std::string JsonErrorText(const char* what) {
  std::string_view text(what);
  const size_t column = text.find("column ");
  if (column != std::string_view::npos) {
    const size_t colon = text.find(": ", column);
    if (colon != std::string_view::npos) return std::string(text.substr(colon + 2));
  }
  const size_t bracket = text.find("] ");
  return std::string(bracket == std::string_view::npos ? text : text.substr(bracket + 2));
}

Result<SourceDocument> ParseJson(std::string_view text, std::string_view source_name) {
  SourceDocument document;
  document.format = SourceFormat::kJson;
  try {
    document.root = json::parse(text);
  } catch (const json::parse_error& error) {
    const size_t offset = error.byte > 0 ? error.byte - 1 : 0;
    return SyntaxError(source_name, PositionOfOffset(text, offset),
                       "invalid JSON: " + JsonErrorText(error.what()));
  } catch (const std::exception& error) {
    return SyntaxError(source_name, {}, std::string("invalid JSON: ") + error.what());
  }
  RETURN_IF_ERROR(ScanJsonPositions(text, source_name, &document.positions));
  return document;
}

// ---- YAML -------------------------------------------------------------------------------

SourcePosition PositionOf(const YAML::Node& node, SourcePosition fallback) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return fallback;
  return {mark.line + 1, mark.column + 1};
}

class YamlConverter {
 public:
  YamlConverter(std::string_view source_name, SourceMap* map)
      : source_name_(source_name), map_(map) {}

  Result<json> Convert(const YAML::Node& node, const std::string& pointer, size_t depth,
                       SourcePosition parent) {
    const SourcePosition here = PositionOf(node, parent);
    if (++values_ > kMaxValues) {
      return SyntaxError(source_name_, here,
                         "definition too large: more than " + std::to_string(kMaxValues) +
                             " values (after expanding aliases)");
    }
    bytes_ += pointer.size() + (node.IsScalar() ? node.Scalar().size() : 0);
    path_segments_ += depth;
    if (bytes_ > kMaxExpandedBytes || path_segments_ > kMaxPathSegments) {
      return SyntaxError(source_name_, here,
                         "definition too large: its text and field paths take more than " +
                             std::to_string(kMaxExpandedBytes / (1024 * 1024)) +
                             " MiB or nest too deep for their number (after expanding aliases)");
    }
    map_->Record(pointer, here);
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return json(nullptr);
      case YAML::NodeType::Scalar:
        return ConvertScalar(node, pointer, here);
      case YAML::NodeType::Sequence:
      case YAML::NodeType::Map:
        break;
    }
    if (depth >= kMaxNestingDepth) {
      return SyntaxError(source_name_, here,
                         "nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels");
    }
    if (node.IsSequence()) {
      json out = json::array();
      size_t index = 0;
      for (const YAML::Node& item : node) {
        ASSIGN_OR_RETURN(json value,
                         Convert(item, pointer + "/" + std::to_string(index), depth + 1, here));
        out.push_back(std::move(value));
        ++index;
      }
      return out;
    }
    json out = json::object();
    // yaml-cpp's iterators hand out entries by value: bind each one for the whole body.
    for (const auto& entry : node) {
      const YAML::Node& key_node = entry.first;
      const SourcePosition key_position = PositionOf(key_node, here);
      if (!key_node.IsScalar()) {
        return SyntaxError(source_name_, key_position,
                           "invalid YAML: only string keys are supported");
      }
      const std::string& key = key_node.Scalar();
      if (FindInvalidUtf8(key).has_value()) {
        return SyntaxError(source_name_, key_position, "invalid YAML: key is not valid UTF-8");
      }
      if (out.contains(key)) {
        return SyntaxError(source_name_, key_position,
                           "invalid YAML: duplicate key '" + key + "'");
      }
      ASSIGN_OR_RETURN(json value, Convert(entry.second, pointer + "/" + EscapePointerToken(key),
                                           depth + 1, key_position));
      out[key] = std::move(value);
    }
    return out;
  }

 private:
  Result<json> ConvertScalar(const YAML::Node& node, const std::string& pointer,
                             SourcePosition here) {
    const std::string& text = node.Scalar();
    if (FindInvalidUtf8(text).has_value()) {
      return SyntaxError(source_name_, here, "invalid YAML: scalar is not valid UTF-8");
    }
    const std::string& tag = node.Tag();
    static constexpr std::string_view kCoreTag = "tag:yaml.org,2002:";
    const bool resolve =
        tag == "?" || tag == std::string(kCoreTag) + "int" ||
        tag == std::string(kCoreTag) + "float" || tag == std::string(kCoreTag) + "bool" ||
        tag == std::string(kCoreTag) + "null";
    if (!resolve) return json(text);  // quoted, block (| >), !!str or an application tag
    json value = ResolvePlainScalar(text);
    if (!value.is_string()) map_->RecordPlainText(pointer, text);
    return value;
  }

  std::string_view source_name_;
  SourceMap* map_;
  size_t values_ = 0;
  size_t bytes_ = 0;
  size_t path_segments_ = 0;
};

// Sees the events of one YAML document without building it: whether it has content, and
// where it starts.
class DocumentProbe : public YAML::EventHandler {
 public:
  bool empty() const { return !root_seen_ || root_is_null_; }
  const YAML::Mark& start() const { return start_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    start_ = mark;
    root_seen_ = false;
    root_is_null_ = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { Root(true); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { Root(false); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Root(false);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Root(false);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Root(false);
  }
  void OnMapEnd() override {}

 private:
  void Root(bool is_null) {
    if (root_seen_) return;
    root_seen_ = true;
    root_is_null_ = is_null;
  }

  YAML::Mark start_ = YAML::Mark::null_mark();
  bool root_seen_ = false;
  bool root_is_null_ = false;
};

// The number of documents in a YAML stream (0, 1, or 2 meaning "more than one"), and where the
// second starts. Not YAML::LoadAll: on some malformed streams (",") yaml-cpp 0.7 hands out
// empty documents forever, allocating as it goes (jbeder/yaml-cpp#1040, fixed upstream by
// stopping at the first empty document, as this does).
size_t CountDocuments(std::string_view text, YAML::Mark* second_start) {
  std::istringstream stream{std::string(text)};
  YAML::Parser parser(stream);
  DocumentProbe probe;
  size_t documents = 0;
  while (parser.HandleNextDocument(probe)) {
    if (probe.empty()) break;
    if (++documents == 2) {
      *second_start = probe.start();
      break;
    }
  }
  return documents;
}

Result<SourceDocument> ParseYaml(std::string_view text, std::string_view source_name) {
  SourceDocument document;
  document.format = SourceFormat::kYaml;
  try {
    YAML::Mark second_start = YAML::Mark::null_mark();
    const size_t documents = CountDocuments(text, &second_start);
    if (documents == 0) return SyntaxError(source_name, {}, "the definition is empty");
    if (documents > 1) {
      const SourcePosition position =
          second_start.is_null() ? SourcePosition{}
                                 : SourcePosition{second_start.line + 1, second_start.column + 1};
      return SyntaxError(source_name, position,
                         "invalid YAML: holds more than one document; a definition is one");
    }
    const YAML::Node root = YAML::Load(std::string(text));
    YamlConverter converter(source_name, &document.positions);
    ASSIGN_OR_RETURN(document.root, converter.Convert(root, "", 0, {1, 1}));
  } catch (const YAML::Exception& error) {
    const SourcePosition position = error.mark.is_null()
                                        ? SourcePosition{}
                                        : SourcePosition{error.mark.line + 1,
                                                         error.mark.column + 1};
    return SyntaxError(source_name, position, "invalid YAML: " + error.msg);
  } catch (const std::exception& error) {
    return SyntaxError(source_name, {}, std::string("invalid YAML: ") + error.what());
  }
  return document;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool IsDigits(std::string_view text, bool (*is_digit)(char)) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  return true;
}

bool IsDecimal(char c) { return c >= '0' && c <= '9'; }
bool IsOctal(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) {
  return IsDecimal(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t int_digits = 0;
  while (i < text.size() && IsDecimal(text[i])) ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && IsDecimal(text[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < text.size() && IsDecimal(text[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == text.size();
}

}  // namespace

json ResolvePlainScalar(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return json(nullptr);
  }
  if (text == "true" || text == "True" || text == "TRUE") return json(true);
  if (text == "false" || text == "False" || text == "FALSE") return json(false);

  std::string_view digits = text;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (IsDigits(digits, IsDecimal)) {
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data() + (text[0] == '+' ? 1 : 0),
                                        text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size()) return json(value);
    uint64_t unsigned_value = 0;
    if (!negative) {
      auto [uend, uerror] =
          std::from_chars(digits.data(), digits.data() + digits.size(), unsigned_value);
      if (uerror == std::errc() && uend == digits.data() + digits.size()) {
        return json(unsigned_value);
      }
    }
    // Too big for 64 bits: fall through to the float reading.
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'x')) {
    const std::string_view body = text.substr(2);
    const int base = text[1] == 'o' ? 8 : 16;
    if (IsDigits(body, base == 8 ? IsOctal : IsHex)) {
      int64_t value = 0;
      auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value, base);
      if (error == std::errc() && end == body.data() + body.size()) return json(value);
    }
    return json(std::string(text));
  }
  if (IsCoreFloat(text)) {
    double value = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size() && std::isfinite(value)) {
      return json(value);
    }
  }
  return json(std::string(text));
}

SourceFormat DetectFormat(std::string_view text, std::string_view source_name) {
  if (EndsWith(source_name, ".json")) return SourceFormat::kJson;
  if (EndsWith(source_name, ".yaml") || EndsWith(source_name, ".yml")) return SourceFormat::kYaml;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (text[first] != '{' && text[first] != '[')) {
    return SourceFormat::kYaml;
  }
  return json::accept(text) ? SourceFormat::kJson : SourceFormat::kYaml;
}

Result<SourceDocument> ParseSourceDocument(std::string_view text, std::string_view source_name) {
  return ParseSourceDocument(text, source_name, DetectFormat(text, source_name));
}

Result<SourceDocument> ParseSourceDocument(std::string_view text, std::string_view source_name,
                                           SourceFormat format) {
  if (text.size() > kMaxDefinitionBytes) {
    return SyntaxError(source_name, {},
                       "definition too large: " + std::to_string(text.size()) +
                           " bytes; the limit is " + std::to_string(kMaxDefinitionBytes));
  }
  // A UTF-8 byte order mark is allowed and ignored.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (std::optional<size_t> bad = FindInvalidUtf8(text)) {
    return SyntaxError(source_name, PositionOfOffset(text, *bad),
                       text[*bad] == '\0' ? "the definition contains a NUL byte"
                                          : "the definition is not valid UTF-8");
  }
  if (format == SourceFormat::kJson) return ParseJson(text, source_name);
  return ParseYaml(text, source_name);
}

}  // namespace raypipe::pipeline
