#pragma once

// The adapter between definition text and nlohmann::json: parses JSON (nlohmann) or YAML
// (yaml-cpp) into one JSON tree plus the source position of every value. Library exceptions
// stop here and become a Status.
//
// YAML scalars follow the YAML 1.2 core schema: quoted scalars are strings; plain scalars are
// null / booleans / integers / floats when they look like one (".inf" and ".nan" stay strings,
// JSON has no room for them), and the source text of each plain scalar is kept in the
// SourceMap so fields that want a string can take "0.60" as written.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "pipeline/definition.h"

namespace raypipe::pipeline {

enum class SourceFormat { kJson, kYaml };

// Deepest nesting of lists and objects accepted; definitions need far less, and the bound
// keeps every recursive walk of the tree (and yaml-cpp's) shallow.
inline constexpr size_t kMaxNestingDepth = 64;
// Most values accepted in one document, counted after YAML aliases are expanded.
inline constexpr size_t kMaxValues = 100'000;
// Most bytes of keys, strings and field paths (JSON pointers) in one document, and most field
// path segments (the sum of every value's depth), counted after YAML aliases are expanded: a
// small file of aliases or long keys could otherwise ask the parser and the validator (which
// keeps a field path per value) for gigabytes.
inline constexpr size_t kMaxExpandedBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxPathSegments = 1'000'000;
// Largest definition text accepted.
inline constexpr size_t kMaxDefinitionBytes = 16 * 1024 * 1024;

struct SourceDocument {
  nlohmann::json root;
  SourceMap positions;
  SourceFormat format = SourceFormat::kJson;
};

// The format named by the extension of `source_name` (.json, .yaml, .yml), else guessed from
// the text: JSON when it starts with '{' or '[' and parses as JSON, YAML otherwise.
SourceFormat DetectFormat(std::string_view text, std::string_view source_name);

// Parses `text`. InvalidArgument "pipeline.yaml:3:7: invalid YAML: ..." on a syntax error,
// a duplicate key, invalid UTF-8, or a document too deep or too large.
Result<SourceDocument> ParseSourceDocument(std::string_view text, std::string_view source_name);
Result<SourceDocument> ParseSourceDocument(std::string_view text, std::string_view source_name,
                                           SourceFormat format);

// The value a YAML plain scalar stands for under the core schema (see above).
nlohmann::json ResolvePlainScalar(std::string_view text);

}  // namespace raypipe::pipeline
