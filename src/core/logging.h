#pragma once

// Logging: RAYPIPE_LOG(Info) << "committed " << digest;
//
// Each line reads "2026-11-26T21:00:00.123Z INFO pipeline/engine.cc:42] message" and goes to
// stderr unless a sink is installed. The minimum level starts from the RAYPIPE_LOG_LEVEL
// environment variable (debug, info, warning, error; default info). Thread-safe: lines from
// different threads never interleave.
//
// The level and the sink are process-wide: a log line must reach the same place whichever module
// writes it, and passing a logger through every call would buy nothing here.

#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "core/time.h"

namespace raypipe::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "DEBUG", "INFO", "WARNING", "ERROR".
std::string_view LogLevelName(LogLevel level);

// Reads "debug", "info", "warning" (or "warn"), "error", in any case.
Result<LogLevel> ParseLogLevel(std::string_view text);

struct LogRecord {
  LogLevel level = LogLevel::kInfo;
  TimePoint time;
  std::string_view file;  // the source path from src/ on ("pipeline/engine.cc"), else the basename
  int line = 0;
  std::string_view message;
};

// Receives every record at or above the minimum level. Write may be called from any thread, but
// never concurrently: the logger serializes calls.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // `formatted` is the full line without the trailing newline.
  virtual void Write(const LogRecord& record, std::string_view formatted) = 0;
};

void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();
inline bool ShouldLog(LogLevel level) { return level >= MinLogLevel(); }

// Installs `sink` (nullptr restores stderr). Returns the previous sink (nullptr for stderr).
std::shared_ptr<LogSink> SetLogSink(std::shared_ptr<LogSink> sink);

// Installs a sink for the lifetime of this object, then restores the previous one. For tests.
class ScopedLogSink {
 public:
  explicit ScopedLogSink(std::shared_ptr<LogSink> sink) : previous_(SetLogSink(std::move(sink))) {}
  ~ScopedLogSink() { SetLogSink(std::move(previous_)); }
  ScopedLogSink(const ScopedLogSink&) = delete;
  ScopedLogSink& operator=(const ScopedLogSink&) = delete;

 private:
  std::shared_ptr<LogSink> previous_;
};

// Emits one record now. RAYPIPE_LOG is the usual way in.
void Log(LogLevel level, const char* file, int line, std::string_view message);

namespace internal {
// Collects one line and emits it when destroyed (at the end of the full expression).
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line)
      : level_(level), file_(file), line_(line) {}
  ~LogMessage() { Log(level_, file_, line_, stream_.str()); }
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};
}  // namespace internal

}  // namespace raypipe::core

// RAYPIPE_LOG(Debug|Info|Warning|Error) << ...; the operands are not evaluated when the level
// is below the minimum. (A one-pass for loop rather than if/else, so that an unbraced
// `if (x) RAYPIPE_LOG(Info) << ...; else ...` binds as written.)
#define RAYPIPE_LOG(level)                                                                       \
  for (bool raypipe_log_pending_ =                                                               \
           ::raypipe::core::ShouldLog(::raypipe::core::LogLevel::k##level);                      \
       raypipe_log_pending_; raypipe_log_pending_ = false)                                       \
  ::raypipe::core::internal::LogMessage(::raypipe::core::LogLevel::k##level, __FILE__, __LINE__) \
      .stream()
