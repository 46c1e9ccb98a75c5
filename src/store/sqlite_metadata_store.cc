#include "store/sqlite_metadata_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <random>

#include "core/logging.h"

namespace raypipe::store {

namespace internal {
void SqliteCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void StatementFinalizer::operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
}  // namespace internal

namespace {

using Clock = std::chrono::steady_clock;

// Enough for every module's hot statements; beyond it the cache is simply emptied.
constexpr size_t kMaxCachedStatements = 256;

// The store's own bookkeeping: which schema version each component is at.
constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS raypipe_schema_migrations ("
    " component TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " description TEXT NOT NULL,"
    " applied_at TEXT NOT NULL,"
    " PRIMARY KEY (component, version))";

std::string Abbreviate(std::string_view sql) {
  constexpr size_t kMax = 300;
  std::string text(sql.substr(0, kMax));
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (sql.size() > kMax) text += "...";
  return text;
}

bool IsBusy(int code) {
  int primary = code & 0xFF;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Resets a statement (and its bindings) when the scope ends, so the cached statement is ready for
// its next use whatever path this one took.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

// Jittered exponential backoff between busy retries, capped so waiting stays responsive.
class Backoff {
 public:
  Backoff()
      : random_(std::hash<std::thread::id>()(std::this_thread::get_id()) ^
                static_cast<size_t>(Clock::now().time_since_epoch().count())) {}
  void Sleep(Clock::time_point deadline) {
    std::uniform_int_distribution<int> jitter(0, delay_ms_);
    auto delay = std::chrono::milliseconds(delay_ms_ + jitter(random_));
    auto now = Clock::now();
    if (now + delay > deadline)
      delay = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    delay_ms_ = std::min(delay_ms_ * 2, 50);
  }

 private:
  std::minstd_rand random_;
  int delay_ms_ = 1;
};

}  // namespace

// The session handed to Transaction's fn: runs statements on the already locked connection.
class SqliteMetadataStore::LockedSession final : public SqlSession {
 public:
  explicit LockedSession(SqliteMetadataStore& store) : store_(store) {}
  Result<ExecResult> Execute(std::string_view sql,
                             const std::vector<SqlValue>& params = {}) override {
    return store_.ExecuteLocked(sql, params, nullptr);
  }
  Result<std::vector<Row>> Query(std::string_view sql,
                                 const std::vector<SqlValue>& params = {}) override {
    std::vector<Row> rows;
    RETURN_IF_ERROR(store_.ExecuteLocked(sql, params, &rows));
    return rows;
  }

 private:
  SqliteMetadataStore& store_;
};

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(Options options) {
  if (options.path.empty()) return InvalidArgumentError("metadata store: empty database path");
  int flags = SQLITE_OPEN_NOMUTEX;  // the store's own mutex serializes use of the connection
  flags |= options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* raw = nullptr;
  int code = sqlite3_open_v2(options.path.c_str(), &raw, flags, nullptr);
  internal::SqliteHandle db(raw);  // owns the handle even when opening failed
  if (code != SQLITE_OK) {
    std::string message = "cannot open metadata database " + options.path + ": " +
                          (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(code));
    if ((code & 0xFF) == SQLITE_CANTOPEN && options.read_only) return NotFoundError(message);
    if ((code & 0xFF) == SQLITE_CANTOPEN)
      return NotFoundError(message + " (does its directory exist?)");
    return UnavailableError(message);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(),
                       static_cast<int>(std::min<int64_t>(options.busy_timeout.count(),
                                                          std::numeric_limits<int>::max())));
  std::unique_ptr<SqliteMetadataStore> store(
      new SqliteMetadataStore(std::move(options), std::move(db)));

  std::lock_guard<std::mutex> lock(store->mutex_);
  const Options& opts = store->options_;
  // Reading the schema is the first touch of the file: a non-database fails here as DataLoss.
  RETURN_IF_ERROR(store->ExecuteLocked("SELECT count(*) FROM sqlite_master", {}, nullptr)
                      .status()
                      .WithContext("metadata database " + opts.path));
  if (!opts.read_only) {
    // Switching to WAL takes an exclusive lock; retry while other processes hold theirs.
    auto deadline = Clock::now() + opts.busy_timeout;
    Backoff backoff;
    std::vector<Row> rows;
    while (true) {
      rows.clear();
      Result<ExecResult> wal = store->ExecuteLocked("PRAGMA journal_mode=WAL", {}, &rows);
      if (wal.ok()) break;
      if (!store->last_error_was_busy_ || Clock::now() >= deadline) {
        return wal.status().WithContext("metadata database " + opts.path);
      }
      backoff.Sleep(deadline);
    }
    std::string mode = rows.empty() ? "" : rows[0].GetString("journal_mode").value_or("");
    if (mode != "wal" && opts.path != ":memory:") {
      RAYPIPE_LOG(Warning) << "metadata database " << opts.path << " runs in journal mode '" << mode
                           << "', not WAL: concurrent readers will wait for writers";
    }
    RETURN_IF_ERROR(store->ExecuteScriptLocked("PRAGMA synchronous=NORMAL"));
  }
  RETURN_IF_ERROR(store->ExecuteScriptLocked("PRAGMA foreign_keys=ON"));
  return store;
}

SqliteMetadataStore::SqliteMetadataStore(Options options, internal::SqliteHandle db)
    : options_(std::move(options)), db_(std::move(db)) {}

SqliteMetadataStore::~SqliteMetadataStore() {
  // Statements must be finalized before the connection closes.
  statements_.clear();
}

Status SqliteMetadataStore::ErrorFromDb(int code, std::string_view sql) const {
  last_error_was_busy_ = IsBusy(code);
  if (last_error_was_busy_) busy_seen_ = true;
  std::string message = sqlite3_errmsg(db_.get());
  if (!sql.empty()) message += " (in: " + Abbreviate(sql) + ")";
  switch (code & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError("metadata database " + options_.path + " is busy: " + message);
    case SQLITE_CONSTRAINT:
      if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY ||
          code == SQLITE_CONSTRAINT_ROWID) {
        return AlreadyExistsError(message);
      }
      return FailedPreconditionError(message);
    case SQLITE_READONLY:
      return FailedPreconditionError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(message);
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return ResourceExhaustedError(message);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDeniedError(message);
    case SQLITE_INTERRUPT:
      return CancelledError(message);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_SCHEMA:
      return UnavailableError(message);
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return InvalidArgumentError(message);
    default:
      return InternalError(message);
  }
}

Result<sqlite3_stmt*> SqliteMetadataStore::Prepare(std::string_view sql) {
  std::string key(sql);
  auto cached = statements_.find(key);
  if (cached != statements_.end()) return cached->second.get();
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int code = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, &tail);
  internal::StatementHandle statement(raw);
  if (code != SQLITE_OK) return ErrorFromDb(code, sql);
  if (statement == nullptr) return InvalidArgumentError("empty SQL statement");
  // Only whitespace and comments may follow the statement.
  size_t used = static_cast<size_t>(tail - sql.data());
  if (used < sql.size()) {
    sqlite3_stmt* extra_raw = nullptr;
    int extra_code = sqlite3_prepare_v2(db_.get(), tail, static_cast<int>(sql.size() - used),
                                        &extra_raw, nullptr);
    internal::StatementHandle extra(extra_raw);
    if (extra_code != SQLITE_OK || extra != nullptr) {
      return InvalidArgumentError("one statement expected, more text follows at offset " +
                                  std::to_string(used) + " (in: " + Abbreviate(sql) + ")");
    }
  }
  if (statements_.size() >= kMaxCachedStatements) statements_.clear();
  sqlite3_stmt* result = statement.get();
  statements_.emplace(std::move(key), std::move(statement));
  return result;
}

Result<ExecResult> SqliteMetadataStore::ExecuteLocked(std::string_view sql,
                                                      const std::vector<SqlValue>& params,
                                                      std::vector<Row>* rows) {
  ASSIGN_OR_RETURN(sqlite3_stmt * statement, Prepare(sql));
  ResetOnExit reset(statement);
  int expected = sqlite3_bind_parameter_count(statement);
  if (expected != static_cast<int>(params.size())) {
    return InvalidArgumentError("SQL takes " + std::to_string(expected) + " parameters, " +
                                std::to_string(params.size()) + " given (in: " + Abbreviate(sql) +
                                ")");
  }
  for (size_t param_idx = 0; param_idx < params.size(); ++param_idx) {
    int position = static_cast<int>(param_idx) + 1;
    const SqlValue& param = params[param_idx];
    int code = SQLITE_OK;
    if (const int64_t* integer = std::get_if<int64_t>(&param)) {
      code = sqlite3_bind_int64(statement, position, *integer);
    } else if (const double* real = std::get_if<double>(&param)) {
      code = sqlite3_bind_double(statement, position, *real);
    } else if (const std::string* text = std::get_if<std::string>(&param)) {
      code = sqlite3_bind_text64(statement, position, text->data(), text->size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    } else {
      code = sqlite3_bind_null(statement, position);
    }
    if (code != SQLITE_OK) return ErrorFromDb(code, sql);
  }

  int64_t total_before = sqlite3_total_changes64(db_.get());
  std::shared_ptr<std::vector<std::string>> columns;
  while (true) {
    int code = sqlite3_step(statement);
    if (code == SQLITE_DONE) break;
    if (code != SQLITE_ROW) return ErrorFromDb(code, sql);
    if (rows == nullptr) continue;
    int column_count = sqlite3_column_count(statement);
    if (columns == nullptr) {
      columns = std::make_shared<std::vector<std::string>>();
      for (int column_idx = 0; column_idx < column_count; ++column_idx) {
        const char* name = sqlite3_column_name(statement, column_idx);
        columns->emplace_back(name != nullptr ? name : "");
      }
    }
    std::vector<SqlValue> values;
    values.reserve(column_count);
    for (int column_idx = 0; column_idx < column_count; ++column_idx) {
      switch (sqlite3_column_type(statement, column_idx)) {
        case SQLITE_INTEGER:
          values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(statement, column_idx)));
          break;
        case SQLITE_FLOAT:
          values.emplace_back(sqlite3_column_double(statement, column_idx));
          break;
        case SQLITE_NULL:
          values.emplace_back(nullptr);
          break;
        default: {  // TEXT or BLOB: bytes
          const void* data = sqlite3_column_blob(statement, column_idx);
          int size = sqlite3_column_bytes(statement, column_idx);
          values.emplace_back(std::string(static_cast<const char*>(data), data ? size : 0));
        }
      }
    }
    rows->emplace_back(columns, std::move(values));
  }
  ExecResult result;
  // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE even after other kinds of
  // statement, so report it only when this statement changed something.
  if (sqlite3_total_changes64(db_.get()) != total_before)
    result.changes = sqlite3_changes64(db_.get());
  result.last_insert_id = sqlite3_last_insert_rowid(db_.get());
  return result;
}

Status SqliteMetadataStore::ExecuteScriptLocked(std::string_view script) {
  const char* cursor = script.data();
  const char* end = script.data() + script.size();
  while (cursor < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int code = sqlite3_prepare_v2(db_.get(), cursor, static_cast<int>(end - cursor), &raw, &tail);
    internal::StatementHandle statement(raw);
    std::string_view text(cursor, static_cast<size_t>(tail - cursor));
    if (code != SQLITE_OK) return ErrorFromDb(code, text);
    cursor = tail;
    if (statement == nullptr) continue;  // whitespace or a comment
    while ((code = sqlite3_step(statement.get())) == SQLITE_ROW) {
    }
    if (code != SQLITE_DONE) return ErrorFromDb(code, text);
  }
  return Status::Ok();
}

Status SqliteMetadataStore::CheckNotInTransaction() const {
  if (transaction_thread_.load() == std::this_thread::get_id()) {
    return FailedPreconditionError(
        "metadata store called from inside Transaction(): use the SqlSession passed to fn");
  }
  return Status::Ok();
}

Result<ExecResult> SqliteMetadataStore::Execute(std::string_view sql,
                                                const std::vector<SqlValue>& params) {
  RETURN_IF_ERROR(CheckNotInTransaction());
  std::lock_guard<std::mutex> lock(mutex_);
  // A single statement outside a transaction is atomic, so a busy failure can simply be retried.
  auto deadline = Clock::now() + options_.busy_timeout;
  Backoff backoff;
  while (true) {
    Result<ExecResult> result = ExecuteLocked(sql, params, nullptr);
    if (result.ok() || !last_error_was_busy_ || Clock::now() >= deadline) return result;
    backoff.Sleep(deadline);
  }
}

Result<std::vector<Row>> SqliteMetadataStore::Query(std::string_view sql,
                                                    const std::vector<SqlValue>& params) {
  RETURN_IF_ERROR(CheckNotInTransaction());
  std::lock_guard<std::mutex> lock(mutex_);
  auto deadline = Clock::now() + options_.busy_timeout;
  Backoff backoff;
  while (true) {
    std::vector<Row> rows;
    Result<ExecResult> result = ExecuteLocked(sql, params, &rows);
    if (result.ok()) return rows;
    if (!last_error_was_busy_ || Clock::now() >= deadline) return result.status();
    backoff.Sleep(deadline);
  }
}

Status SqliteMetadataStore::Transaction(const std::function<Status(SqlSession& session)>& fn) {
  RETURN_IF_ERROR(CheckNotInTransaction());
  std::lock_guard<std::mutex> lock(mutex_);
  transaction_thread_.store(std::this_thread::get_id());
  Status status;
  try {
    status = TransactionLocked(fn);
  } catch (...) {
    transaction_thread_.store(std::thread::id());
    throw;
  }
  transaction_thread_.store(std::thread::id());
  return status;
}

Status SqliteMetadataStore::TransactionLocked(
    const std::function<Status(SqlSession& session)>& fn) {
  auto deadline = Clock::now() + options_.busy_timeout;
  Backoff backoff;
  auto rollback = [this] {
    if (!sqlite3_get_autocommit(db_.get())) ExecuteScriptLocked("ROLLBACK").IgnoreError();
  };
  while (true) {
    busy_seen_ = false;
    Status status = ExecuteScriptLocked("BEGIN IMMEDIATE");
    if (status.ok()) {
      LockedSession session(*this);
      try {
        status = fn(session);
      } catch (...) {
        rollback();
        throw;
      }
      if (status.ok()) status = ExecuteScriptLocked("COMMIT");
      if (status.ok()) return status;
      rollback();
    }
    if (!busy_seen_ || Clock::now() >= deadline) return status;
    backoff.Sleep(deadline);
  }
}

Result<int> SqliteMetadataStore::SchemaVersionLocked(std::string_view component) {
  std::vector<Row> tables;
  RETURN_IF_ERROR(ExecuteLocked(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'raypipe_schema_migrations'", {},
      &tables));
  if (tables.empty()) return 0;
  std::vector<Row> rows;
  RETURN_IF_ERROR(
      ExecuteLocked("SELECT COALESCE(MAX(version), 0) AS version FROM raypipe_schema_migrations "
                    "WHERE component = ?",
                    {std::string(component)}, &rows));
  ASSIGN_OR_RETURN(int64_t version, rows.at(0).GetInt64("version"));
  return static_cast<int>(version);
}

Result<int> SqliteMetadataStore::SchemaVersion(std::string_view component) {
  RETURN_IF_ERROR(CheckNotInTransaction());
  std::lock_guard<std::mutex> lock(mutex_);
  return SchemaVersionLocked(component);
}

Status SqliteMetadataStore::Migrate(std::string_view component,
                                    const std::vector<Migration>& migrations) {
  if (component.empty()) return InvalidArgumentError("Migrate: empty component name");
  int previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= previous) {
      return InvalidArgumentError("migrations of component '" + std::string(component) +
                                  "' must have versions >= 1 in strictly increasing order; "
                                  "version " +
                                  std::to_string(migration.version) + " follows " +
                                  std::to_string(previous));
    }
    previous = migration.version;
  }
  const int known = previous;
  auto newer_error = [&](int found) {
    return FailedPreconditionError(options_.path + " was written by a newer raypipe: component '" +
                                   std::string(component) + "' is at schema version " +
                                   std::to_string(found) + ", this build knows up to " +
                                   std::to_string(known));
  };

  RETURN_IF_ERROR(CheckNotInTransaction());
  std::lock_guard<std::mutex> lock(mutex_);
  if (!options_.read_only) {
    RETURN_IF_ERROR(TransactionLocked(
        [this](SqlSession&) { return ExecuteScriptLocked(kCreateMigrationsTable); }));
  }
  ASSIGN_OR_RETURN(int current, SchemaVersionLocked(component));
  if (current > known) return newer_error(current);
  if (current == known) return Status::Ok();
  if (options_.read_only) {
    return FailedPreconditionError(options_.path + " is open read-only and component '" +
                                   std::string(component) +
                                   "' needs migrating from schema version " +
                                   std::to_string(current) + " to " + std::to_string(known));
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= current) continue;
    RETURN_IF_ERROR(TransactionLocked([&](SqlSession& session) -> Status {
      // Another process may have migrated since we looked: decide again under the write lock.
      ASSIGN_OR_RETURN(int now_at, SchemaVersionLocked(component));
      if (now_at > known) return newer_error(now_at);
      if (now_at >= migration.version) return Status::Ok();
      RETURN_IF_ERROR(ExecuteScriptLocked(migration.sql)
                          .WithContext("migration " + std::to_string(migration.version) + " (" +
                                       migration.description + ") of component '" +
                                       std::string(component) + "'"));
      return session
          .Execute(
              "INSERT INTO raypipe_schema_migrations (component, version, description, "
              "applied_at) VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
              {std::string(component), int64_t{migration.version}, migration.description})
          .status();
    }));
  }
  return Status::Ok();
}

}  // namespace raypipe::store
