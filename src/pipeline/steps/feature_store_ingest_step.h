#pragma once

// The FeatureStoreIngest step (steps.md, issue 4 item 6): a CSV into a feature group with
// parallel ingestion actors on the engine's executor, exactly once per (record id, event time).
//
//   - Name: FeatureStoreIngestion
//     Type: FeatureStoreIngest
//     Arguments:
//       FeatureGroupName: {Get: Parameters.FeatureGroupName}   # required
//       Input: {Get: Parameters.InputData}          # required: a CSV path or artifact URI
//       FeatureGroupDefinition: groups/housing.json # optional: a JSON file, or an inline object
//                                                   # in CreateFeatureGroup's shape
//       RecordIdentifier: record_id                 # default record_id
//       EventTime: event_time                       # default event_time
//       NumActors: 4                                # default 4
//       CpusPerActor: 0.5                           # default 0.5
//       TargetStores: [OnlineStore, OfflineStore]   # default both
//
// The group is created when missing: from FeatureGroupDefinition (its FeatureGroupName, when
// present, must match), or else inferred from the input's columns (Int64 -> Integral, Float64
// -> Fractional, String -> String), with RecordIdentifier (Integral, generated 0..N-1 when the
// input has no such column, as the seed does) and EventTime (Fractional epoch seconds, the
// ingestion's time when absent) added, and the online store enabled. When the group exists, an
// explicit RecordIdentifier or EventTime must match its definition. Rows are then ingested with
// featurestore::Ingest on context.executor. Rejected rows (wrong type, missing id, bad event
// time) fail the step, naming the first one and the rejects file (the valid rows are stored,
// and a rerun after fixing the input adds only what is new).
//
// Properties: FeatureGroupName (String), RecordCount (Integer, data rows in the input),
// IngestedCount (Integer, rows newly written: 0 on a rerun of the same input). Metrics:
// records_per_second. Lineage: output FeatureGroup "featurestore://<name>".
//
// The executor in the StepContext must serve the ingestion actors: the host registers them with
// RegisterFeatureStoreIngestStepKernels (which is featurestore::RegisterIngestKernels; call one
// of the two, once) in its register_kernels hook.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compute/kernel.h"
#include "core/status.h"
#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

// Registers the kernels FeatureStoreIngestStepRunner submits (featurestore's ingestion actor).
Status RegisterFeatureStoreIngestStepKernels(compute::KernelRegistry& registry);

class FeatureStoreIngestStepRunner final : public StepRunner {
 public:
  std::string_view Type() const override { return "FeatureStoreIngest"; }
  std::string_view ImplementationVersion() const override { return "1"; }
  // Input (a path or artifact) as an artifact input; a FeatureGroupDefinition file as code.
  Result<std::vector<InputDeclaration>> DeclareInputs(
      const nlohmann::json& arguments, const std::string& pipeline_dir) const override;
  Result<StepOutcome> Run(StepContext& context) override;
  std::optional<StepTypeSpec> TypeSpec() const override;
};

}  // namespace raypipe::pipeline
