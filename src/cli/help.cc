#include "cli/help.h"

#include <algorithm>
#include <utility>

namespace raypipe::cli {

namespace {

constexpr size_t kWidth = 100;       // wrap help text here
constexpr size_t kMaxLeftWidth = 28;  // a longer term gets its description on the next line

// Splits `text` into lines of at most `width` columns at spaces (a longer word stays whole).
std::vector<std::string> Wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(std::move(line));
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// Paragraphs separated by blank lines, each wrapped; single newlines inside a paragraph are kept
// (they usually start an indented example).
std::string WrapParagraphs(const std::string& text) {
  std::string wrapped;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == ' ') {
      wrapped += line + "\n";
      continue;
    }
    for (const std::string& piece : Wrap(line, kWidth)) wrapped += piece + "\n";
  }
  return wrapped;
}

// "  term    description", the descriptions aligned and wrapped with a hanging indent.
std::string TwoColumns(const std::vector<std::pair<std::string, std::string>>& items) {
  size_t left = 0;
  for (const auto& [term, description] : items) {
    if (term.size() <= kMaxLeftWidth) left = std::max(left, term.size());
  }
  const size_t indent = 2 + left + 2;
  std::string text;
  for (const auto& [term, description] : items) {
    std::string line = "  " + term;
    std::vector<std::string> pieces = Wrap(description, kWidth - std::min(kWidth / 2, indent));
    if (term.size() > left && !pieces.empty()) {
      text += line + "\n";
      line = std::string(indent, ' ');
    } else {
      line += std::string(indent - line.size(), ' ');
    }
    if (pieces.empty()) {
      text += "  " + term + "\n";
      continue;
    }
    text += line + pieces.front() + "\n";
    for (size_t piece_idx = 1; piece_idx < pieces.size(); ++piece_idx) {
      text += std::string(indent, ' ') + pieces[piece_idx] + "\n";
    }
  }
  return text;
}

std::string FlagTerm(const FlagSpec& flag) {
  std::string term = flag.name == "help" ? "-h, --help" : "--" + flag.name;
  std::string value = ValueName(flag);
  if (flag.type != FlagType::kBool && !value.empty()) term += " " + value;
  return term;
}

std::string FlagDescription(const FlagSpec& flag) {
  std::string description = flag.help;
  std::vector<std::string> notes;
  if (flag.required) notes.push_back("required");
  if (flag.default_value) notes.push_back("default: " + *flag.default_value);
  if (flag.repeated) notes.push_back("repeatable");
  if (!notes.empty()) {
    description += " (";
    for (size_t note_idx = 0; note_idx < notes.size(); ++note_idx) {
      description += (note_idx ? "; " : "") + notes[note_idx];
    }
    description += ")";
  }
  return description;
}

std::string ArgTerm(const ArgSpec& arg) {
  std::string term = arg.name + (arg.variadic ? "..." : "");
  return arg.required ? term : "[" + term + "]";
}

std::string CommandsSection(const CommandNode& node) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& [name, child] : node.children()) {
    std::string summary = child->summary();
    if (summary.empty()) {
      // An undeclared group: name what it holds rather than leave a blank.
      for (const auto& [grandchild, unused] : child->children()) {
        summary += (summary.empty() ? "" : ", ") + grandchild;
      }
    }
    items.emplace_back(name, summary);
  }
  return "Commands:\n" + TwoColumns(items);
}

std::string GlobalOptionsSection() {
  std::vector<std::pair<std::string, std::string>> items;
  for (const FlagSpec& flag : GlobalFlagSpecs()) {
    items.emplace_back(FlagTerm(flag), FlagDescription(flag));
  }
  return "Global options (before or after the command):\n" + TwoColumns(items);
}

}  // namespace

std::vector<FlagSpec> GlobalFlagSpecs() {
  std::vector<FlagSpec> flags;
  flags.push_back(FlagSpec::Value("home", FlagType::kString, "DIR",
                                  "Where raypipe keeps its state: metadata.db, artifacts, "
                                  "feature store files, logs (default: $RAYPIPE_HOME, else "
                                  "./.raypipe)"));
  flags.push_back(FlagSpec::Value("output", FlagType::kString, "", "How results are printed")
                      .OneOf({"table", "json"})
                      .Default("table"));
  flags.push_back(FlagSpec::Value("executor", FlagType::kString, "", "Where parallel work runs")
                      .OneOf({"local", "ray"})
                      .Default("local"));
  flags.push_back(FlagSpec::Value("ray-address", FlagType::kString, "HOST:PORT",
                                  "The Ray cluster's address, with --executor ray"));
  flags.push_back(FlagSpec::Value("ray-cpus", FlagType::kDouble, "N",
                                  "The CPUs the Ray cluster may grant at once, with --executor ray "
                                  "(default: $RAYPIPE_RAY_CPUS, else asked of the cluster)"));
  flags.push_back(FlagSpec::Bool("help", "Show help for raypipe or for a command"));
  flags.push_back(FlagSpec::Bool("version", "Print raypipe's version and exit"));
  return flags;
}

std::string UsageLine(const CommandNode& node, const AppInfo& info) {
  std::string line = node.FullName(info.program);
  if (node.path().empty()) return line + " [global options] <command> [flags] [arguments]";
  if (!node.is_command()) return line + " <command> [flags] [arguments]";
  const CommandSpec& spec = node.command();
  for (const FlagSpec& flag : spec.flags) {
    if (flag.required) line += " " + FlagTerm(flag) + (flag.repeated ? "..." : "");
  }
  for (const FlagSpec& flag : spec.flags) {
    if (!flag.required) line += " [" + FlagTerm(flag) + "]" + (flag.repeated ? "..." : "");
  }
  for (const ArgSpec& arg : spec.args) line += " " + ArgTerm(arg);
  return line;
}

std::string RenderHelp(const CommandNode& node, const AppInfo& info) {
  std::string text;
  const bool root = node.path().empty();
  const std::string& opening = root ? info.description : node.summary();
  if (!opening.empty()) text += WrapParagraphs(opening) + "\n";
  text += "Usage:\n  " + UsageLine(node, info) + "\n\n";

  if (!node.is_command()) {
    if (!node.children().empty()) text += CommandsSection(node) + "\n";
    if (root) text += GlobalOptionsSection() + "\n";
    text += "Run '" + node.FullName(info.program) +
            " <command> --help' for a command's flags and arguments.\n";
    return text;
  }

  const CommandSpec& spec = node.command();
  if (!spec.description.empty()) text += WrapParagraphs(spec.description) + "\n";
  if (!spec.flags.empty()) {
    std::vector<std::pair<std::string, std::string>> items;
    for (const FlagSpec& flag : spec.flags) {
      items.emplace_back(FlagTerm(flag), FlagDescription(flag));
    }
    text += "Flags:\n" + TwoColumns(items) + "\n";
  }
  if (!spec.args.empty()) {
    std::vector<std::pair<std::string, std::string>> items;
    for (const ArgSpec& arg : spec.args) items.emplace_back(ArgTerm(arg), arg.help);
    text += "Arguments:\n" + TwoColumns(items) + "\n";
  }
  if (!spec.examples.empty()) {
    text += "Examples:\n";
    for (const std::string& example : spec.examples) text += "  " + example + "\n";
    text += "\n";
  }
  text += GlobalOptionsSection();
  return text;
}

}  // namespace raypipe::cli
