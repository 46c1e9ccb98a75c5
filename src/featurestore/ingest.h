#pragma once
// Parallel ingestion of a CSV file into a feature group (issue 4, item 5), and the library
// entry point of the FeatureStoreIngest pipeline step (item 6).
//
// The input is read (String features as text, the others inferred), each row checked and
// converted to the group's types; a row with a wrong type, a missing record id or an
// unparsable event time is rejected with its line number into a rejects CSV. The valid rows
// are split into `num_actors` contiguous parts (np.array_split: the first len % n parts get one
// row more), one executor actor each (`cpus_per_actor` CPUs), and each actor commits its part
// in batches through FeatureStore::CommitBatch, which makes every (record id, event time) land
// exactly once. A part whose actor fails is retried on a new actor (committed batches are
// skipped). Ingest returns only after every batch is committed, so the next reader sees it.
//
// The actors get the job as plain values (a JSON object: home, group, staged file paths, part
// ranges, batch size, targets), so the same code runs on a LocalExecutor's threads and in Ray's
// worker processes: the driver stages the valid rows as two columnar files under
// RAYPIPE_HOME/featurestore/staging/<id>/ (removed when Ingest returns), and each actor opens
// the feature store under the same home itself (SQLite WAL and a busy timeout make writers in
// several processes safe). On a cluster of several machines RAYPIPE_HOME must therefore be one
// shared path on every node (docs/cluster.md). Write times come from each actor's system clock.
#include <cstdint>
#include <functional>
#include <string>

#include "compute/executor.h"
#include "compute/kernel.h"
#include "core/status.h"
#include "data/table.h"
#include "featurestore/definition.h"
#include "featurestore/feature_store.h"

namespace raypipe::featurestore {

struct IngestOptions {
  // FeatureGroupName. May be empty when `definition` names it.
  std::string group;
  // FeatureGroupDefinition: a JSON file or inline JSON (starting with '{'); the group is created
  // from it when missing. Empty: the group must exist.
  std::string definition;
  // Input: the CSV file. Its header names the features; a column that is not a feature is an
  // error. Without the record identifier column, ids 0..N-1 are generated (by input row);
  // without the event time column, every row gets the time of the ingestion (of the first
  // ingestion of the same input bytes into the group, so a rerun adds nothing).
  std::string input;
  // NumActors and CpusPerActor.
  int num_actors = 4;
  double cpus_per_actor = 0.5;
  // Rows per committed batch.
  int64_t batch_size = 10000;
  // TargetStores (each written only when the group has it).
  TargetStores targets;
  // Where rejected rows go; default RAYPIPE_HOME/featurestore/rejects/<group>-<id>.csv. Written
  // only when rows were rejected.
  std::string rejects_path;
  // Attempts per part (a failed actor's part is rerun on a new actor).
  int max_part_attempts = 3;
  // The executor to run the actors on; it must serve RegisterIngestKernels' actor class (a
  // LocalExecutor opened with that registry, or a RayExecutor: Ray's workers serve it).
  // Null: a LocalExecutor made for this ingestion. Not owned.
  compute::Executor* executor = nullptr;
  // Polled before the actors start and while they run (about every 50 ms): once it answers
  // true, the parts still running are cancelled (an actor stops before its next batch; every
  // batch commits whole or not at all) and Ingest returns Cancelled after they ended. Batches
  // committed before the stop stay; a rerun adds exactly the rest. Empty: never stops.
  std::function<bool()> stop_requested;
};

struct IngestSummary {
  std::string group;
  int64_t rows_read = 0;     // data rows in the input
  int64_t ingested = 0;      // rows newly stored
  int64_t duplicates = 0;    // rows whose (record id, event time) was already stored
  int64_t rejected = 0;      // rows refused (see rejects_path)
  std::string rejects_path;  // "" when nothing was rejected
  std::string first_reject;  // the first reject's message, for summaries
  int actors = 0;
  int64_t batches = 0;
  int part_retries = 0;
  double seconds = 0;
};

// Registers the ingestion actor class ("featurestore.Ingester"; its constructor takes the job
// as JSON, its method IngestPart(int64 part) answers JSON counts).
Status RegisterIngestKernels(compute::KernelRegistry& registry);

// Runs an ingestion. Errors: NotFound for a missing group (without a definition) or input,
// InvalidArgument for an input whose columns do not fit the group, or for bad options; the
// store's errors. Rejected rows are not an error: they are counted in the summary.
Result<IngestSummary> Ingest(FeatureStore& store, const IngestOptions& options);

// The conversion step on its own (used by Ingest and tests): checks and converts `input` (read
// from a file whose data rows start at the given 1-based `lines`) to `definition`'s types.
struct PreparedRows {
  RecordBatch batch;               // the valid rows, features in definition order
  std::vector<int64_t> reject_lines;
  std::vector<std::string> reject_errors;
  std::vector<int64_t> reject_rows;  // row indices into `input`
};
Result<PreparedRows> PrepareRows(const FeatureGroupDefinition& definition,
                                 const data::Table& input, const std::vector<int64_t>& lines,
                                 core::TimePoint now);

// The 1-based line on which each data record of the CSV text starts (RFC 4180 quoting, blank
// lines skipped when `columns` > 1, a header record assumed).
std::vector<int64_t> RecordStartLines(std::string_view text, size_t columns);

}  // namespace raypipe::featurestore
