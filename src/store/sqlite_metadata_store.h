#pragma once

// The embedded MetadataStore over SQLite: WAL journal, foreign keys on, synchronous=NORMAL,
// a busy timeout, so several processes can share one database file.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "store/metadata_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace raypipe::store {

struct SqliteOptions {
  // The database file (created if missing, unless read_only), or ":memory:" for a private
  // in-memory database. The parent directory must exist.
  std::string path;
  // How long a statement or transaction waits for another connection's lock before failing with
  // Unavailable. Default 10 s.
  std::chrono::milliseconds busy_timeout{10'000};
  // Open for reading only: writes fail with FailedPrecondition, Migrate only checks versions.
  bool read_only = false;
};

namespace internal {
struct SqliteCloser {
  void operator()(sqlite3* db) const;
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const;
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;
}  // namespace internal

// Thread-safe: one connection guarded by a mutex; a Transaction holds the mutex throughout.
// For several processes, open one store per process (never share one across fork()).
class SqliteMetadataStore final : public MetadataStore {
 public:
  using Options = SqliteOptions;

  // Opens (creating if needed) and configures the database. NotFound when a read-only database
  // is missing; DataLoss when the file is not a SQLite database.
  static Result<std::unique_ptr<SqliteMetadataStore>> Open(Options options);
  ~SqliteMetadataStore() override;

  Result<ExecResult> Execute(std::string_view sql,
                             const std::vector<SqlValue>& params = {}) override;
  Result<std::vector<Row>> Query(std::string_view sql,
                                 const std::vector<SqlValue>& params = {}) override;
  Status Migrate(std::string_view component, const std::vector<Migration>& migrations) override;
  Result<int> SchemaVersion(std::string_view component) override;
  Status Transaction(const std::function<Status(SqlSession& session)>& fn) override;

  const Options& options() const { return options_; }

 private:
  class LockedSession;

  SqliteMetadataStore(Options options, internal::SqliteHandle db);

  // The following REQUIRE mutex_ held.
  Result<sqlite3_stmt*> Prepare(std::string_view sql);
  Result<ExecResult> ExecuteLocked(std::string_view sql, const std::vector<SqlValue>& params,
                                   std::vector<Row>* rows);
  // Runs every statement of `script` (no parameters).
  Status ExecuteScriptLocked(std::string_view script);
  Status TransactionLocked(const std::function<Status(SqlSession& session)>& fn);
  Result<int> SchemaVersionLocked(std::string_view component);
  Status ErrorFromDb(int code, std::string_view sql) const;

  // FailedPrecondition when the calling thread is inside Transaction's fn (it would deadlock).
  Status CheckNotInTransaction() const;

  const Options options_;
  std::mutex mutex_;  // guards db_, statements_, last_error_was_busy_ and busy_seen_
  internal::SqliteHandle db_;
  // Prepared statements by SQL text, reset after each use; cleared when it grows past a bound.
  std::unordered_map<std::string, internal::StatementHandle> statements_;
  mutable bool last_error_was_busy_ = false;  // the last failing statement failed as busy/locked
  mutable bool busy_seen_ = false;            // some statement failed as busy since the last reset
  std::atomic<std::thread::id> transaction_thread_{};  // the thread running Transaction's fn
};

}  // namespace raypipe::store
