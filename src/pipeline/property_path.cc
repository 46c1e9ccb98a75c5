#include "pipeline/property_path.h"

#include <cctype>
#include <charconv>

namespace raypipe::pipeline {
namespace {

bool IsKeyChar(char c) {
  return c != '.' && c != '[' && c != ']' && c != '\'' && c != '"' &&
         !std::isspace(static_cast<unsigned char>(c));
}

bool IsPlainKey(std::string_view key) {
  if (key.empty() || key == "*") return false;
  for (char c : key) {
    if (!IsKeyChar(c)) return false;
  }
  return true;
}

Status PathError(std::string_view text, size_t position, std::string_view what) {
  return InvalidArgumentError("malformed path '" + std::string(text) + "' at column " +
                              std::to_string(position + 1) + ": " + std::string(what));
}

}  // namespace

Result<PropertyPath> ParsePropertyPath(std::string_view text, bool allow_wildcards) {
  PropertyPath path;
  if (text.empty()) return InvalidArgumentError("empty path");
  size_t pos = 0;
  bool expect_key = true;  // at the start or after '.'
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '[') {
      const size_t open = pos++;
      if (pos < text.size() && (text[pos] == '\'' || text[pos] == '"')) {
        const char quote = text[pos++];
        const size_t close = text.find(quote, pos);
        if (close == std::string_view::npos) return PathError(text, open, "unterminated quote");
        if (close + 1 >= text.size() || text[close + 1] != ']') {
          return PathError(text, close + 1, "expected ']' after the quoted key");
        }
        path.push_back({PathSegment::Kind::kKey, std::string(text.substr(pos, close - pos)), 0});
        pos = close + 2;
      } else {
        const size_t close = text.find(']', pos);
        if (close == std::string_view::npos) return PathError(text, open, "unterminated '['");
        const std::string_view inside = text.substr(pos, close - pos);
        if (allow_wildcards && inside == "*") {
          path.push_back({PathSegment::Kind::kAnyIndex, "", 0});
        } else {
          size_t index = 0;
          auto [end, error] = std::from_chars(inside.data(), inside.data() + inside.size(), index);
          if (inside.empty() || error != std::errc() || end != inside.data() + inside.size()) {
            return PathError(text, pos,
                             "expected a list index or a quoted key inside [], got '" +
                                 std::string(inside) + "'");
          }
          path.push_back({PathSegment::Kind::kIndex, "", index});
        }
        pos = close + 1;
      }
      expect_key = false;
      continue;
    }
    if (c == '.') {
      if (expect_key) return PathError(text, pos, "empty key");
      ++pos;
      expect_key = true;
      if (pos == text.size()) return PathError(text, pos, "the path ends with '.'");
      continue;
    }
    if (!expect_key) return PathError(text, pos, "expected '.' or '['");
    const size_t start = pos;
    while (pos < text.size() && IsKeyChar(text[pos])) ++pos;
    if (pos == start) {
      return PathError(text, pos, std::string("unexpected '") + text[pos] + "'");
    }
    std::string key(text.substr(start, pos - start));
    if (allow_wildcards && key == "*") {
      path.push_back({PathSegment::Kind::kAnyKey, "", 0});
    } else {
      path.push_back({PathSegment::Kind::kKey, std::move(key), 0});
    }
    expect_key = false;
  }
  return path;
}

std::string FormatPropertyPath(const PropertyPath& path) {
  std::string out;
  for (const PathSegment& segment : path) {
    switch (segment.kind) {
      case PathSegment::Kind::kKey:
        if (IsPlainKey(segment.key)) {
          if (!out.empty()) out += ".";
          out += segment.key;
        } else if (segment.key.find('\'') == std::string::npos) {
          out += "['" + segment.key + "']";
        } else {
          out += "[\"" + segment.key + "\"]";
        }
        break;
      case PathSegment::Kind::kIndex:
        out += "[" + std::to_string(segment.index) + "]";
        break;
      case PathSegment::Kind::kAnyKey:
        if (!out.empty()) out += ".";
        out += "*";
        break;
      case PathSegment::Kind::kAnyIndex:
        out += "[*]";
        break;
    }
  }
  return out;
}

bool MatchesPattern(const PropertyPath& path, const PropertyPath& pattern) {
  if (path.size() != pattern.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const PathSegment& want = pattern[i];
    const PathSegment& got = path[i];
    switch (want.kind) {
      case PathSegment::Kind::kKey:
        if (got.kind != PathSegment::Kind::kKey || got.key != want.key) return false;
        break;
      case PathSegment::Kind::kIndex:
        if (got.kind != PathSegment::Kind::kIndex || got.index != want.index) return false;
        break;
      case PathSegment::Kind::kAnyKey:
        if (got.kind != PathSegment::Kind::kKey) return false;
        break;
      case PathSegment::Kind::kAnyIndex:
        if (got.kind != PathSegment::Kind::kIndex) return false;
        break;
    }
  }
  return true;
}

Result<nlohmann::json> GetAtPath(const nlohmann::json& document, const PropertyPath& path) {
  const nlohmann::json* current = &document;
  PropertyPath walked;
  for (const PathSegment& segment : path) {
    const std::string where = walked.empty() ? "the top" : "'" + FormatPropertyPath(walked) + "'";
    if (segment.kind == PathSegment::Kind::kKey) {
      if (!current->is_object()) {
        return InvalidArgumentError("key '" + segment.key + "' needs an object at " + where +
                                    ", found " + std::string(current->type_name()));
      }
      auto it = current->find(segment.key);
      if (it == current->end()) {
        return NotFoundError("no key '" + segment.key + "' at " + where);
      }
      current = &*it;
    } else if (segment.kind == PathSegment::Kind::kIndex) {
      if (!current->is_array()) {
        return InvalidArgumentError("index [" + std::to_string(segment.index) +
                                    "] needs a list at " + where + ", found " +
                                    std::string(current->type_name()));
      }
      if (segment.index >= current->size()) {
        return NotFoundError("index [" + std::to_string(segment.index) + "] is out of range at " +
                             where + " (size " + std::to_string(current->size()) + ")");
      }
      current = &(*current)[segment.index];
    } else {
      return InvalidArgumentError("a wildcard cannot be looked up");
    }
    walked.push_back(segment);
  }
  return *current;
}

}  // namespace raypipe::pipeline
