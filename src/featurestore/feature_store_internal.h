#pragma once
// Helpers shared by the feature store's source files (feature_store.cc: the group catalog;
// commit_batch.cc: the write path; online_store.cc; offline_store.cc). Not part of the module's
// interface: include it only from src/featurestore/*.cc.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/table.h"
#include "featurestore/definition.h"
#include "featurestore/feature_store.h"

namespace raypipe::featurestore::internal {

// Rows bound into one multi-row statement (SQLite allows 32766 parameters; the widest statement
// binds 5 per row).
inline constexpr size_t kRowsPerStatement = 1024;

// How `rows` rows are cut into statements: full kRowsPerStatement chunks, then the remainder in
// powers of two, so that only a few distinct statement texts exist and each stays prepared in
// the store's statement cache across batches.
std::vector<size_t> StatementChunks(size_t rows);

// "?,?,?" style lists: `one` repeated `rows` times, comma separated.
std::string Placeholders(size_t rows, std::string_view one);

Status NotFoundGroup(const std::string& name);

// "year=YYYY/month=MM/day=DD/hour=HH" of the UTC hour containing `event_time_ns`.
std::string PartitionOf(int64_t event_time_ns);
// The hour index (floor of nanoseconds / 1 hour); rows with equal indices share a partition.
int64_t HourOf(int64_t event_time_ns);

// An event time cell of an offline table (Fractional epoch seconds or ISO text) in nanoseconds.
Result<int64_t> EventTimeNanosOf(const data::Column& column, size_t row);
// A record identifier cell as the text the online store keys on.
std::string RecordIdText(const data::Column& column, size_t row);

// A String column of `length` copies of `value`, built without a string per row.
data::Column ConstantStrings(std::string name, std::string_view value, size_t length);
// A column of `length` nulls of `type`.
data::Column NullColumn(std::string name, data::DataType type, size_t length);

// The offline table of no rows: the features, write_time, api_invocation_time, is_deleted.
Result<data::Table> EmptyOfflineTable(const FeatureGroupDefinition& definition);

// Writes `table` (durably, atomically) as a new file in the partition of `partition_ns` under the
// group's offline directory; returns its absolute path. `prefix` starts the file name.
Result<std::string> WriteOfflineFile(const GroupInfo& group, const data::Table& table,
                                     int64_t partition_ns, std::string_view prefix);

// Removes the files (best effort; used when a commit does not happen).
void RemoveFiles(const std::vector<std::string>& paths);

// Aborted when one of `paths` no longer exists (an orphan cleanup removed it before the commit
// could register it: the caller rewrites the files). Call while holding the write lock.
Status CheckFilesExist(const std::vector<std::string>& paths);

}  // namespace raypipe::featurestore::internal
