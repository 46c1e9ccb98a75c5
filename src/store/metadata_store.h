#pragma once

// The metadata store: every record a user can see (pipelines, executions, step runs, artifacts,
// lineage, experiments, model packages, ...) lives here, so the CLI, the studio and a restarted
// orchestrator all read the same truth. This header is the interface; SqliteMetadataStore is the
// embedded implementation.
//
// The store knows no module's tables: each module owns its schema through
// Migrate("<module>", migrations) and its SQL. Parameters use `?` placeholders.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace raypipe::store {

// A bound parameter or a result cell. BLOB cells are returned as std::string.
using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string>;

// One result row: column name -> value. Getters fail with InvalidArgument naming the column when
// it is missing or holds another type; GetDouble also accepts an integer cell.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<SqlValue> values);

  size_t size() const { return values_.size(); }
  const std::string& column_name(size_t column_idx) const { return (*columns_)[column_idx]; }
  const SqlValue& value(size_t column_idx) const { return values_[column_idx]; }
  // The first column called `name` (a join may repeat names: alias them in the SQL).
  Result<const SqlValue*> Get(std::string_view name) const;

  Result<int64_t> GetInt64(std::string_view name) const;
  Result<double> GetDouble(std::string_view name) const;
  Result<std::string> GetString(std::string_view name) const;
  Result<bool> IsNull(std::string_view name) const;
  // nullopt for NULL, otherwise as the getters above.
  Result<std::optional<int64_t>> GetOptionalInt64(std::string_view name) const;
  Result<std::optional<double>> GetOptionalDouble(std::string_view name) const;
  Result<std::optional<std::string>> GetOptionalString(std::string_view name) const;

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;  // shared by the rows of one query
  std::vector<SqlValue> values_;
};

struct ExecResult {
  int64_t changes = 0;         // rows inserted, updated or deleted by the statement
  int64_t last_insert_id = 0;  // rowid of the connection's most recent successful INSERT
};

// A connection, or a transaction on one. Each call runs exactly one statement.
// Errors: InvalidArgument (bad SQL, wrong parameter count), AlreadyExists (UNIQUE or PRIMARY
// KEY violation), FailedPrecondition (other constraints: FOREIGN KEY, NOT NULL, CHECK; a
// read-only store), Unavailable (the database is busy or locked beyond the busy timeout; I/O
// errors), DataLoss (a corrupt database file). Messages carry the database's message and the SQL.
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual Result<ExecResult> Execute(std::string_view sql,
                                     const std::vector<SqlValue>& params = {}) = 0;
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<SqlValue>& params = {}) = 0;
};

// One step of a component's schema. `sql` may hold several statements; it runs without
// parameters inside its own transaction.
struct Migration {
  int version = 0;  // >= 1, strictly increasing within a list
  std::string description;
  std::string sql;
};

// Thread-safe, and safe for several processes on one database at once.
class MetadataStore : public SqlSession {
 public:
  // Brings `component`'s schema up to migrations.back().version, each migration in its own
  // transaction, skipping those already applied (so it is idempotent and safe to race with
  // another process doing the same). FailedPrecondition if the database holds a NEWER version of
  // that component than this build knows ("metadata.db was written by a newer raypipe:
  // component 'pipeline' is at schema version 5, this build knows up to 3"). InvalidArgument for
  // versions that are not >= 1 and strictly increasing. A failing migration is rolled back and
  // reported with its version and description; the ones before it stay applied.
  virtual Status Migrate(std::string_view component, const std::vector<Migration>& migrations) = 0;

  // The version of `component`'s schema in the database (0 when it has none).
  virtual Result<int> SchemaVersion(std::string_view component) = 0;

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back when fn returns an error (which is
  // returned). If the database is busy (another process holds the write lock, or a statement in
  // fn fails as busy) the whole fn is retried until the busy timeout has passed, so fn may run
  // more than once and must do nothing but database work through `session`. Calling the store
  // itself (not `session`) from inside fn is refused with FailedPrecondition.
  virtual Status Transaction(const std::function<Status(SqlSession& session)>& fn) = 0;
};

// The JSON a TEXT cell holds. A cell that does not parse is DataLoss naming the column and the
// parser's line and column (the database was written by raypipe, so this is corruption).
Result<nlohmann::json> GetJsonCell(const Row& row, std::string_view column);

// Names for an error message: "a, b, c", at most 10, then ", ... (N in all)".
std::string JoinNames(const std::vector<std::string>& names);

// NotFound with `message` followed by the names `names_query` answers (its column "name"), so a
// mistyped name meets the right ones: " (groups: a, b)", or " (there are no groups)" with
// `plural` "groups". When the query fails, `message` alone.
Status NotFoundAmong(SqlSession& session, std::string message, std::string_view names_query,
                     std::string_view plural);

}  // namespace raypipe::store
