#include "core/logging.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace raypipe::core {
namespace {

// The process-wide logger state (see logging.h for why it is global).
struct LoggerState {
  LoggerState() {
    const char* from_env = std::getenv("RAYPIPE_LOG_LEVEL");
    if (from_env != nullptr && *from_env != '\0') {
      Result<LogLevel> level = ParseLogLevel(from_env);
      if (level.ok()) {
        min_level.store(static_cast<int>(*level));
      } else {
        std::fprintf(stderr, "raypipe: ignoring RAYPIPE_LOG_LEVEL: %s\n",
                     std::string(level.status().message()).c_str());
      }
    }
  }
  std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
  std::mutex mutex;               // guards sink and serializes writes
  std::shared_ptr<LogSink> sink;  // nullptr: stderr
};

LoggerState& State() {
  static LoggerState state;
  return state;
}

// "src/pipeline/engine.cc" -> "pipeline/engine.cc"; elsewhere the basename.
std::string_view ShortFile(std::string_view file) {
  size_t src = file.rfind("/src/");
  if (src != std::string_view::npos) return file.substr(src + 5);
  if (file.substr(0, 4) == "src/") return file.substr(4);
  size_t slash = file.rfind('/');
  return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

Result<LogLevel> ParseLogLevel(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return InvalidArgumentError("unknown log level \"" + std::string(text) +
                              "\" (expected debug, info, warning or error)");
}

void SetMinLogLevel(LogLevel level) { State().min_level.store(static_cast<int>(level)); }

LogLevel MinLogLevel() {
  return static_cast<LogLevel>(State().min_level.load(std::memory_order_relaxed));
}

std::shared_ptr<LogSink> SetLogSink(std::shared_ptr<LogSink> sink) {
  LoggerState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  std::swap(state.sink, sink);
  return sink;
}

void Log(LogLevel level, const char* file, int line, std::string_view message) {
  LogRecord record;
  record.level = level;
  record.time = std::chrono::system_clock::now();
  record.file = ShortFile(file == nullptr ? "" : file);
  record.line = line;
  record.message = message;
  std::string formatted = FormatIsoTime(record.time);
  formatted += ' ';
  formatted += LogLevelName(level);
  formatted += ' ';
  formatted += record.file;
  formatted += ':';
  formatted += std::to_string(line);
  formatted += "] ";
  formatted += message;

  LoggerState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.sink != nullptr) {
    state.sink->Write(record, formatted);
    return;
  }
  formatted += '\n';
  std::fwrite(formatted.data(), 1, formatted.size(), stderr);
}

}  // namespace raypipe::core
