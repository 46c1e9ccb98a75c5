#include "store/sqlite_metadata_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "core/ids.h"

namespace raypipe::store {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<SqliteMetadataStore> OpenOrDie(SqliteOptions options) {
  Result<std::unique_ptr<SqliteMetadataStore>> store =
      SqliteMetadataStore::Open(std::move(options));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

std::unique_ptr<SqliteMetadataStore> OpenMemory() { return OpenOrDie({.path = ":memory:"}); }

const std::vector<Migration> kWidgetMigrations = {
    {1, "widgets", "CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"},
    {2, "parts",
     "CREATE TABLE parts (id INTEGER PRIMARY KEY,"
     "  widget_id INTEGER NOT NULL REFERENCES widgets(id), weight REAL);"
     "CREATE INDEX parts_by_widget ON parts(widget_id);"},
};

class SqliteFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / core::NewId("sqlite_test");
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "metadata.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST(SqliteMetadataStoreTest, RoundTripsValuesOfEveryType) {
  auto store = OpenMemory();
  ASSERT_TRUE(store->Execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)").ok());
  Result<ExecResult> inserted =
      store->Execute("INSERT INTO t VALUES (?, ?, ?, CAST(? AS BLOB), ?)",
                     {int64_t{-7}, 2.5, std::string("text"), std::string("a\0b", 3), nullptr});
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(inserted->changes, 1);
  EXPECT_EQ(inserted->last_insert_id, 1);
  Result<std::vector<Row>> rows = store->Query("SELECT * FROM t");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  const Row& row = (*rows)[0];
  EXPECT_EQ(*row.GetInt64("i"), -7);
  EXPECT_EQ(*row.GetDouble("r"), 2.5);
  EXPECT_EQ(*row.GetDouble("i"), -7.0);
  EXPECT_EQ(*row.GetString("s"), "text");
  EXPECT_EQ(*row.GetString("b"), std::string("a\0b", 3));
  EXPECT_TRUE(*row.IsNull("n"));
  EXPECT_FALSE(*row.IsNull("s"));
  EXPECT_FALSE(row.GetOptionalString("n")->has_value());
  EXPECT_EQ(row.GetOptionalInt64("i")->value(), -7);
  EXPECT_EQ(row.column_name(2), "s");
}

TEST(SqliteMetadataStoreTest, RowErrorsNameTheColumn) {
  auto store = OpenMemory();
  Result<std::vector<Row>> rows = store->Query("SELECT 1 AS a, 'x' AS b");
  ASSERT_TRUE(rows.ok());
  const Row& row = (*rows)[0];
  EXPECT_EQ(row.GetString("a").status().message(), "column 'a' is INTEGER, not TEXT");
  EXPECT_EQ(row.GetInt64("b").status().message(), "column 'b' is TEXT, not INTEGER");
  EXPECT_EQ(row.GetInt64("zzz").status().message(),
            "no column 'zzz' in the result (columns: a, b)");
}

TEST(SqliteMetadataStoreTest, ChangesCountOnlyTheStatement) {
  auto store = OpenMemory();
  ASSERT_TRUE(store->Execute("CREATE TABLE t (v INTEGER)").ok());
  ASSERT_TRUE(store->Execute("INSERT INTO t VALUES (1), (2), (3)").ok());
  EXPECT_EQ(store->Execute("UPDATE t SET v = v + 1 WHERE v >= 2")->changes, 2);
  EXPECT_EQ(store->Execute("CREATE TABLE u (v INTEGER)")->changes, 0);
  EXPECT_EQ(store->Execute("DELETE FROM t WHERE v > 100")->changes, 0);
}

TEST(SqliteMetadataStoreTest, NotFoundAmongListsTheStoredNames) {
  auto store = OpenMemory();
  ASSERT_TRUE(store->Execute("CREATE TABLE things (name TEXT)").ok());
  const std::string kQuery = "SELECT name FROM things ORDER BY name";
  Status none = NotFoundAmong(*store, "thing 'x' does not exist", kQuery, "things");
  EXPECT_EQ(none.code(), StatusCode::kNotFound);
  EXPECT_EQ(none.message(), "thing 'x' does not exist (there are no things)");
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(store->Execute("INSERT INTO things VALUES (?)", {"t" + std::to_string(10 + i)}).ok());
  }
  EXPECT_EQ(NotFoundAmong(*store, "no 'x'", kQuery, "things").message(),
            "no 'x' (things: t10, t11, t12, t13, t14, t15, t16, t17, t18, t19, ... (12 in all))");
  // A query that fails leaves the message alone.
  EXPECT_EQ(NotFoundAmong(*store, "no 'x'", "SELECT name FROM nowhere", "things").message(),
            "no 'x'");
  EXPECT_EQ(JoinNames({"a", "b"}), "a, b");
}

TEST(SqliteMetadataStoreTest, GetJsonCellParsesOrReportsDataLoss) {
  auto store = OpenMemory();
  ASSERT_TRUE(store->Execute("CREATE TABLE docs (body TEXT)").ok());
  ASSERT_TRUE(store->Execute("INSERT INTO docs VALUES ('{\"a\": [1, 2]}'), ('{\"a\": ')").ok());
  auto rows = store->Query("SELECT body FROM docs ORDER BY rowid");
  ASSERT_TRUE(rows.ok()) << rows.status();
  auto good = GetJsonCell((*rows)[0], "body");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)["a"][1], 2);
  auto bad = GetJsonCell((*rows)[1], "body");
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(bad.status().message(), HasSubstr("metadata column 'body'"));
  EXPECT_EQ(GetJsonCell((*rows)[0], "nope").status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteMetadataStoreTest, BadSqlAndParametersAreInvalidArgument) {
  auto store = OpenMemory();
  Result<ExecResult> syntax = store->Execute("SELEC 1");
  EXPECT_EQ(syntax.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(syntax.status().message()), HasSubstr("syntax error"));
  EXPECT_THAT(std::string(syntax.status().message()), HasSubstr("SELEC 1"));
  Result<std::vector<Row>> params = store->Query("SELECT ?, ?", {int64_t{1}});
  EXPECT_EQ(params.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(params.status().message()), HasSubstr("takes 2 parameters, 1 given"));
  Result<ExecResult> two = store->Execute("SELECT 1; SELECT 2");
  EXPECT_EQ(two.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(two.status().message()), HasSubstr("one statement expected"));
  EXPECT_TRUE(store->Execute("SELECT 1; -- trailing comment\n").ok());
  EXPECT_EQ(store->Execute("   ").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Query("SELECT * FROM missing").status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteMetadataStoreTest, ConstraintViolationsMapToCodes) {
  auto store = OpenMemory();
  ASSERT_TRUE(store->Migrate("widgets", kWidgetMigrations).ok());
  ASSERT_TRUE(store->Execute("INSERT INTO widgets (id, name) VALUES (1, 'a')").ok());
  Result<ExecResult> duplicate = store->Execute("INSERT INTO widgets (name) VALUES ('a')");
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(duplicate.status().message()), HasSubstr("UNIQUE constraint failed"));
  EXPECT_EQ(store->Execute("INSERT INTO widgets (id, name) VALUES (1, 'b')").status().code(),
            StatusCode::kAlreadyExists);
  // Foreign keys are enforced.
  Result<ExecResult> orphan = store->Execute("INSERT INTO parts (widget_id) VALUES (99)");
  EXPECT_EQ(orphan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(orphan.status().message()), HasSubstr("FOREIGN KEY"));
  EXPECT_EQ(store->Execute("INSERT INTO widgets (name) VALUES (NULL)").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(SqliteMetadataStoreTest, TransactionCommitsAndRollsBack) {
  auto store = OpenMemory();
  ASSERT_TRUE(store->Execute("CREATE TABLE t (v INTEGER)").ok());
  ASSERT_TRUE(store
                  ->Transaction([](SqlSession& session) -> Status {
                    RETURN_IF_ERROR(session.Execute("INSERT INTO t VALUES (1)"));
                    return session.Execute("INSERT INTO t VALUES (2)").status();
                  })
                  .ok());
  Status failed = store->Transaction([](SqlSession& session) -> Status {
    RETURN_IF_ERROR(session.Execute("INSERT INTO t VALUES (3)"));
    return AbortedError("changed my mind");
  });
  EXPECT_EQ(failed.code(), StatusCode::kAborted);
  Status bad_sql = store->Transaction([](SqlSession& session) -> Status {
    RETURN_IF_ERROR(session.Execute("INSERT INTO t VALUES (4)"));
    return session.Execute("INSERT INTO nowhere VALUES (5)").status();
  });
  EXPECT_EQ(bad_sql.code(), StatusCode::kInvalidArgument);
  EXPECT_THROW(store
                   ->Transaction([](SqlSession& session) -> Status {
                     session.Execute("INSERT INTO t VALUES (6)").status().IgnoreError();
                     throw std::runtime_error("boom");
                   })
                   .IgnoreError(),
               std::runtime_error);
  Result<std::vector<Row>> rows = store->Query("SELECT group_concat(v) AS vs FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*(*rows)[0].GetString("vs"), "1,2");
  // Usable again after all of that.
  EXPECT_TRUE(store->Transaction([](SqlSession&) { return Status::Ok(); }).ok());
}

TEST(SqliteMetadataStoreTest, CallingTheStoreInsideTransactionIsRefused) {
  auto store = OpenMemory();
  Status inner_status;
  Status outer = store->Transaction([&](SqlSession&) -> Status {
    inner_status = store->Execute("SELECT 1").status();
    Status nested = store->Transaction([](SqlSession&) { return Status::Ok(); });
    EXPECT_EQ(nested.code(), StatusCode::kFailedPrecondition);
    return Status::Ok();
  });
  EXPECT_TRUE(outer.ok());
  EXPECT_EQ(inner_status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(inner_status.message()), HasSubstr("use the SqlSession"));
}

TEST(SqliteMetadataStoreTest, MigrateIsIdempotentAndRecordsVersions) {
  auto store = OpenMemory();
  EXPECT_EQ(*store->SchemaVersion("widgets"), 0);
  ASSERT_TRUE(store->Migrate("widgets", {kWidgetMigrations[0]}).ok());
  EXPECT_EQ(*store->SchemaVersion("widgets"), 1);
  ASSERT_TRUE(store->Migrate("widgets", kWidgetMigrations).ok());
  ASSERT_TRUE(store->Migrate("widgets", kWidgetMigrations).ok());
  EXPECT_EQ(*store->SchemaVersion("widgets"), 2);
  EXPECT_EQ(*store->SchemaVersion("other"), 0);
  Result<std::vector<Row>> history = store->Query(
      "SELECT version, description FROM raypipe_schema_migrations WHERE component = 'widgets' "
      "ORDER BY version");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ(*(*history)[1].GetString("description"), "parts");
}

TEST(SqliteMetadataStoreTest, NewerSchemaIsRefused) {
  auto store = OpenMemory();
  std::vector<Migration> five;
  for (int version = 1; version <= 5; ++version) {
    five.push_back({version, "v" + std::to_string(version), "SELECT 1"});
  }
  ASSERT_TRUE(store->Migrate("pipeline", five).ok());
  Status refused = store->Migrate("pipeline", {five[0], five[1], five[2]});
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            ":memory: was written by a newer raypipe: component 'pipeline' is at schema version "
            "5, this build knows up to 3");
}

TEST(SqliteMetadataStoreTest, FailedMigrationRollsBackAndKeepsEarlierOnes) {
  auto store = OpenMemory();
  std::vector<Migration> migrations = {
      {1, "create", "CREATE TABLE a (x INTEGER);"},
      {2, "half broken", "CREATE TABLE b (x INTEGER); CREATE TABLE a (x INTEGER);"},
  };
  Status failed = store->Migrate("comp", migrations);
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.message()), HasSubstr("migration 2 (half broken)"));
  EXPECT_THAT(std::string(failed.message()), HasSubstr("already exists"));
  EXPECT_EQ(*store->SchemaVersion("comp"), 1);
  EXPECT_TRUE(store->Query("SELECT * FROM a").ok());
  EXPECT_FALSE(store->Query("SELECT * FROM b").ok());  // rolled back with its migration
}

TEST(SqliteMetadataStoreTest, MigrationListsMustIncrease) {
  auto store = OpenMemory();
  EXPECT_EQ(store->Migrate("c", {{2, "", ""}, {2, "", ""}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Migrate("c", {{0, "", ""}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Migrate("", {{1, "", ""}}).code(), StatusCode::kInvalidArgument);
}

TEST(SqliteMetadataStoreTest, ManyThreadsShareOneStore) {
  auto store = OpenMemory();
  ASSERT_TRUE(store->Execute("CREATE TABLE t (v INTEGER)").ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int thread_idx = 0; thread_idx < 8; ++thread_idx) {
    threads.emplace_back([&store, &failures, thread_idx] {
      for (int row_idx = 0; row_idx < 100; ++row_idx) {
        if (!store->Execute("INSERT INTO t VALUES (?)", {int64_t{thread_idx * 1000 + row_idx}})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*(*store->Query("SELECT count(DISTINCT v) AS n FROM t"))[0].GetInt64("n"), 800);
}

TEST(SqliteMetadataStoreTest, StatementCacheOverflowIsHarmless) {
  auto store = OpenMemory();
  for (int statement_idx = 0; statement_idx < 600; ++statement_idx) {
    Result<std::vector<Row>> rows =
        store->Query("SELECT " + std::to_string(statement_idx) + " AS v");
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(*(*rows)[0].GetInt64("v"), statement_idx);
  }
}

TEST_F(SqliteFileTest, FileDatabaseUsesWalAndForeignKeys) {
  auto store = OpenOrDie({.path = path_});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*(*store->Query("PRAGMA journal_mode"))[0].GetString("journal_mode"), "wal");
  EXPECT_EQ(*(*store->Query("PRAGMA foreign_keys"))[0].GetInt64("foreign_keys"), 1);
  EXPECT_EQ(*(*store->Query("PRAGMA synchronous"))[0].GetInt64("synchronous"), 1);  // NORMAL
}

TEST_F(SqliteFileTest, ReopenKeepsDataAndSchemaVersions) {
  {
    auto store = OpenOrDie({.path = path_});
    ASSERT_TRUE(store->Migrate("widgets", kWidgetMigrations).ok());
    ASSERT_TRUE(store->Execute("INSERT INTO widgets (name) VALUES ('kept')").ok());
  }
  auto store = OpenOrDie({.path = path_});
  EXPECT_EQ(*store->SchemaVersion("widgets"), 2);
  EXPECT_EQ(*(*store->Query("SELECT name FROM widgets"))[0].GetString("name"), "kept");
  // A build that knows only version 1 refuses the database, naming it.
  Status refused = store->Migrate("widgets", {kWidgetMigrations[0]});
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()), HasSubstr(path_ + " was written by a newer raypipe"));
}

TEST_F(SqliteFileTest, ReadOnlyStore) {
  EXPECT_EQ(SqliteMetadataStore::Open({.path = path_, .read_only = true}).status().code(),
            StatusCode::kNotFound);
  {
    auto writer = OpenOrDie({.path = path_});
    ASSERT_TRUE(writer->Migrate("widgets", {kWidgetMigrations[0]}).ok());
  }
  auto reader = OpenOrDie({.path = path_, .read_only = true});
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->Migrate("widgets", {kWidgetMigrations[0]}).ok());  // up to date
  Status needs = reader->Migrate("widgets", kWidgetMigrations);
  EXPECT_EQ(needs.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(needs.message()), HasSubstr("read-only"));
  EXPECT_EQ(reader->Execute("INSERT INTO widgets (name) VALUES ('x')").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(reader->Query("SELECT * FROM widgets").ok());
}

TEST_F(SqliteFileTest, NotADatabaseIsDataLoss) {
  { std::ofstream(path_) << std::string(4096, 'x'); }
  Result<std::unique_ptr<SqliteMetadataStore>> store = SqliteMetadataStore::Open({.path = path_});
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path_));
}

TEST_F(SqliteFileTest, MissingDirectoryIsNotFound) {
  Result<std::unique_ptr<SqliteMetadataStore>> store =
      SqliteMetadataStore::Open({.path = (dir_ / "no" / "such" / "m.db").string()});
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
}

// Holds the write lock from one connection while another tries to write.
TEST_F(SqliteFileTest, BusyBeyondTimeoutIsUnavailableAndRetriedWithin) {
  auto holder = OpenOrDie({.path = path_});
  ASSERT_TRUE(holder->Execute("CREATE TABLE t (v INTEGER)").ok());
  auto impatient = OpenOrDie({.path = path_, .busy_timeout = std::chrono::milliseconds(50)});
  auto patient = OpenOrDie({.path = path_, .busy_timeout = std::chrono::milliseconds(10'000)});

  std::mutex mutex;
  std::condition_variable changed;
  bool locked = false;
  bool release = false;
  std::thread lock_holder([&] {
    Status status = holder->Transaction([&](SqlSession& session) -> Status {
      RETURN_IF_ERROR(session.Execute("INSERT INTO t VALUES (1)"));
      std::unique_lock<std::mutex> lock(mutex);
      locked = true;
      changed.notify_all();
      changed.wait(lock, [&] { return release; });
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok()) << status;
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return locked; });
  }
  Result<ExecResult> busy = impatient->Execute("INSERT INTO t VALUES (2)");
  EXPECT_EQ(busy.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(busy.status().IsTransient());
  EXPECT_THAT(std::string(busy.status().message()), HasSubstr("busy"));
  Status busy_transaction = impatient->Transaction(
      [](SqlSession& session) { return session.Execute("INSERT INTO t VALUES (3)").status(); });
  EXPECT_EQ(busy_transaction.code(), StatusCode::kUnavailable);
  // Readers are not blocked by the writer (WAL).
  EXPECT_TRUE(impatient->Query("SELECT count(*) FROM t").ok());

  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
    changed.notify_all();
  });
  Status waited = patient->Transaction(
      [](SqlSession& session) { return session.Execute("INSERT INTO t VALUES (4)").status(); });
  EXPECT_TRUE(waited.ok()) << waited;
  releaser.join();
  lock_holder.join();
  EXPECT_EQ(*(*patient->Query("SELECT group_concat(v) AS vs FROM (SELECT v FROM t ORDER BY v)"))[0]
                 .GetString("vs"),
            "1,4");
}

// Several processes migrate and write one database at once: nothing lost, nothing duplicated.
TEST_F(SqliteFileTest, ConcurrentProcessesLoseNothing) {
  constexpr int kProcesses = 4;
  constexpr int kTransactionsEach = 100;
  std::vector<pid_t> children;
  for (int process_idx = 0; process_idx < kProcesses; ++process_idx) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Only async-signal-safe exits from here: _exit, never returning into gtest.
      Result<std::unique_ptr<SqliteMetadataStore>> opened =
          SqliteMetadataStore::Open({.path = path_});
      if (!opened.ok()) _exit(10);
      SqliteMetadataStore& store = **opened;
      std::vector<Migration> migrations = {
          {1, "events",
           "CREATE TABLE events (process INTEGER, seq INTEGER, UNIQUE(process, seq));"},
          {2, "counter",
           "CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);"
           "INSERT INTO counter VALUES (1, 0);"},
      };
      if (!store.Migrate("events", migrations).ok()) _exit(11);
      for (int seq = 0; seq < kTransactionsEach; ++seq) {
        // A read-modify-write: only correct if transactions are serialized.
        Status status = store.Transaction([&](SqlSession& session) -> Status {
          ASSIGN_OR_RETURN(std::vector<Row> rows,
                           session.Query("SELECT value FROM counter WHERE id = 1"));
          ASSIGN_OR_RETURN(int64_t value, rows.at(0).GetInt64("value"));
          RETURN_IF_ERROR(
              session.Execute("UPDATE counter SET value = ? WHERE id = 1", {value + 1}));
          return session
              .Execute("INSERT INTO events VALUES (?, ?)", {int64_t{process_idx}, int64_t{seq}})
              .status();
        });
        if (!status.ok()) _exit(12);
        if (!store
                 .Execute("INSERT INTO events VALUES (?, ?)",
                          {int64_t{process_idx}, int64_t{kTransactionsEach + seq}})
                 .ok()) {
          _exit(13);
        }
      }
      opened = Result<std::unique_ptr<SqliteMetadataStore>>(InternalError("closed"));
      _exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto store = OpenOrDie({.path = path_});
  EXPECT_EQ(*(*store->Query("SELECT count(*) AS n FROM events"))[0].GetInt64("n"),
            kProcesses * kTransactionsEach * 2);
  EXPECT_EQ(*(*store->Query("SELECT value FROM counter"))[0].GetInt64("value"),
            kProcesses * kTransactionsEach);
  EXPECT_EQ(
      *(*store->Query("SELECT count(*) AS n FROM raypipe_schema_migrations"))[0].GetInt64("n"), 2);
}

}  // namespace
}  // namespace raypipe::store
