#include "pipeline/source_document.h"

#include <string>

#include <gtest/gtest.h>

namespace raypipe::pipeline {
namespace {

using nlohmann::json;

TEST(SourceDocumentTest, JsonValuesHaveLinesAndColumns) {
  const std::string text =
      "{\n  \"Steps\": [\n    {\"Name\": \"A\",\n     \"Type\": \"Fail\"}\n  ]\n}\n";
  Result<SourceDocument> document = ParseSourceDocument(text, "p.json");
  ASSERT_TRUE(document.ok()) << document.status();
  EXPECT_EQ(document->format, SourceFormat::kJson);
  EXPECT_EQ(document->root["Steps"][0]["Type"], json("Fail"));
  EXPECT_EQ(document->positions.Find("/Steps").line, 2);
  EXPECT_EQ(document->positions.Find("/Steps/0").line, 3);
  EXPECT_EQ(document->positions.Find("/Steps/0").column, 5);
  EXPECT_EQ(document->positions.Find("/Steps/0/Type").line, 4);
  EXPECT_EQ(document->positions.Find("/Steps/0/Type").column, 14);
  // An unknown pointer falls back to its nearest known ancestor.
  EXPECT_EQ(document->positions.Find("/Steps/0/Type/Nope/3").line, 4);
  EXPECT_EQ(document->positions.Find("/Nope").line, 1);
}

TEST(SourceDocumentTest, JsonKeysWithSlashesAndTildes) {
  Result<SourceDocument> document =
      ParseSourceDocument("{\"a/b\": {\n\"c~d\": 1}}", "p.json");
  ASSERT_TRUE(document.ok()) << document.status();
  EXPECT_EQ(document->positions.Find("/a~1b/c~0d").line, 2);
}

TEST(SourceDocumentTest, JsonErrorsNameLineAndColumn) {
  Result<SourceDocument> document = ParseSourceDocument("{\n  \"a\": [1, 2,]\n}", "p.json");
  ASSERT_FALSE(document.ok());
  EXPECT_EQ(document.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(document.status().message()).rfind("p.json:2:", 0), 0u)
      << document.status();
}

TEST(SourceDocumentTest, DuplicateKeysAreErrors) {
  Result<SourceDocument> json_document = ParseSourceDocument("{\"a\": 1,\n \"a\": 2}", "p.json");
  ASSERT_FALSE(json_document.ok());
  EXPECT_EQ(json_document.status().message(), "p.json:2:2: invalid JSON: duplicate key 'a'");
  Result<SourceDocument> yaml_document = ParseSourceDocument("a: 1\nb: 2\na: 3\n", "p.yaml");
  ASSERT_FALSE(yaml_document.ok());
  EXPECT_EQ(yaml_document.status().message(), "p.yaml:3:1: invalid YAML: duplicate key 'a'");
}

TEST(SourceDocumentTest, YamlScalarsFollowTheCoreSchemaAndKeepTheirText) {
  const std::string text =
      "a: 0.60\nb: '0.6'\nc: 007\nd: yes\ne: True\nf: ~\ng: 0x1F\nh: .inf\ni: 1e3\n"
      "j: |\n  12\nk: !!str 5\nl: 99999999999999999999\nm: -5\nn:\n";
  Result<SourceDocument> document = ParseSourceDocument(text, "p.yaml");
  ASSERT_TRUE(document.ok()) << document.status();
  const json& root = document->root;
  EXPECT_EQ(root["a"], json(0.6));
  EXPECT_EQ(*document->positions.PlainText("/a"), "0.60");
  EXPECT_EQ(root["b"], json("0.6"));
  EXPECT_EQ(document->positions.PlainText("/b"), nullptr);
  EXPECT_EQ(root["c"], json(7));
  EXPECT_EQ(*document->positions.PlainText("/c"), "007");
  EXPECT_EQ(root["d"], json("yes"));
  EXPECT_EQ(root["e"], json(true));
  EXPECT_TRUE(root["f"].is_null());
  EXPECT_EQ(root["g"], json(31));
  EXPECT_EQ(root["h"], json(".inf"));
  EXPECT_EQ(root["i"], json(1000.0));
  EXPECT_EQ(root["j"], json("12\n"));
  EXPECT_EQ(root["k"], json("5"));
  EXPECT_TRUE(root["l"].is_number_float());
  EXPECT_EQ(root["m"], json(-5));
  EXPECT_TRUE(root["n"].is_null());
  EXPECT_EQ(document->positions.Find("/c").line, 3);
}

TEST(SourceDocumentTest, YamlAnchorsExpandButAreBounded) {
  Result<SourceDocument> document =
      ParseSourceDocument("base: &b {x: 1}\ncopy: *b\n", "p.yaml");
  ASSERT_TRUE(document.ok()) << document.status();
  EXPECT_EQ(document->root["copy"]["x"], json(1));

  // "Billion laughs": each level holds ten of the one before.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 9; ++level) {
    const std::string previous = "*a" + std::to_string(level - 1);
    bomb += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int copy = 0; copy < 10; ++copy) bomb += (copy ? ", " : "") + previous;
    bomb += "]\n";
  }
  Result<SourceDocument> exploded = ParseSourceDocument(bomb, "bomb.yaml");
  ASSERT_FALSE(exploded.ok());
  EXPECT_NE(exploded.status().message().find("definition too large"), std::string::npos)
      << exploded.status();
}

TEST(SourceDocumentTest, AliasesOfDeepValuesAreBounded) {
  // 1000 copies of a value 50 levels deep: not too many values, but long field paths.
  std::string text = "a: &a " + std::string(50, '[') + "x" + std::string(50, ']') + "\nb: [";
  for (int copy = 0; copy < 1000; ++copy) text += (copy ? ", *a" : "*a");
  text += "]\n";
  Result<SourceDocument> document = ParseSourceDocument(text, "deep-alias.yaml");
  ASSERT_FALSE(document.ok());
  EXPECT_NE(document.status().message().find("nest too deep for their number"),
            std::string::npos)
      << document.status();
}

TEST(SourceDocumentTest, DeepNestingIsRefused) {
  const std::string deep_json = std::string(200, '[') + std::string(200, ']');
  Result<SourceDocument> json_document = ParseSourceDocument(deep_json, "deep.json");
  ASSERT_FALSE(json_document.ok());
  EXPECT_NE(json_document.status().message().find("nesting deeper than 64"), std::string::npos);
  const std::string deep_yaml = "a: " + std::string(200, '[') + std::string(200, ']') + "\n";
  Result<SourceDocument> yaml_document = ParseSourceDocument(deep_yaml, "deep.yaml");
  ASSERT_FALSE(yaml_document.ok());
  EXPECT_NE(yaml_document.status().message().find("nesting deeper than 64"), std::string::npos);
}

TEST(SourceDocumentTest, RejectsBadBytesAndSeveralDocuments) {
  EXPECT_EQ(ParseSourceDocument("a: \xff\n", "p.yaml").status().message(),
            "p.yaml:1:4: the definition is not valid UTF-8");
  EXPECT_EQ(ParseSourceDocument(std::string("a: b\0c", 6), "p.yaml").status().message(),
            "p.yaml:1:5: the definition contains a NUL byte");
  EXPECT_EQ(ParseSourceDocument("a: 1\n---\nb: 2\n", "p.yaml").status().message(),
            "p.yaml:2:1: invalid YAML: holds more than one document; a definition is one");
  EXPECT_TRUE(ParseSourceDocument("a: 1\n---\n", "p.yaml").ok());
  EXPECT_EQ(ParseSourceDocument("", "p.yaml").status().message(),
            "p.yaml: the definition is empty");
  // yaml-cpp 0.7's LoadAll loops forever on these, allocating (jbeder/yaml-cpp#1040).
  for (const char* text : {",", ", Name: Fail\n", ",,", "\n,\n"}) {
    EXPECT_FALSE(ParseSourceDocument(text, "p.yaml").ok()) << text;
  }
  // A byte order mark is fine.
  EXPECT_TRUE(ParseSourceDocument("\xEF\xBB\xBF{\"a\": 1}", "p.json").ok());
}

TEST(SourceDocumentTest, DetectsTheFormat) {
  EXPECT_EQ(DetectFormat("a: 1", "x.json"), SourceFormat::kJson);
  EXPECT_EQ(DetectFormat("{}", "x.yml"), SourceFormat::kYaml);
  EXPECT_EQ(DetectFormat("  {\"a\": 1}", "pipeline"), SourceFormat::kJson);
  EXPECT_EQ(DetectFormat("{a: 1}", "pipeline"), SourceFormat::kYaml);
  EXPECT_EQ(DetectFormat("a: 1", "pipeline"), SourceFormat::kYaml);
}

}  // namespace
}  // namespace raypipe::pipeline
