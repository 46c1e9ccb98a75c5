#pragma once

// The RegisterModel step (steps.md): registers a model bundle as the next version of a model
// package group (registry/model_registry.h), creating the group when it is missing.
//
//   Arguments:
//     ModelPackageGroupName: synthetic-housing-models     (required)
//     Model: URI|path of a model bundle directory           (required)
//     ModelApprovalStatus: PendingManualApproval (default) | Approved | Rejected
//     ApprovalDescription: text                              optional
//     ModelMetrics: URI|path of evaluation.json, or of a directory holding it   optional
//     Description: text                                      optional
//     CustomerMetadataProperties: {key: "value"}             optional; checked and exposed as a
//                                                            property, not stored (the registry
//                                                            has no field for it yet)
//
// The version holds the model artifact's digest (the bundle is in the ArtifactStore already as
// the input artifact; a plain path is copied in, as `raypipe model register` does), the
// evaluation report as ModelMetrics, and lineage {execution id}. Properties: ModelPackageArn,
// ModelPackageVersion, ModelPackageGroupName, ModelApprovalStatus. Lineage: the ModelPackage
// "model-package://<group>/<version>" as an output.
//
// Idempotent on retry: when the group already has a version registered by this execution with
// this model artifact (a rerun after a crash, or a retry), that version is returned instead of
// registering another. (The registry's lineage has no step name, so two RegisterModel steps of
// one execution registering the same model into the same group share one version.)
//
// Kernels: none.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/step_runner.h"

namespace raypipe::pipeline {

class RegisterModelStepRunner final : public StepRunner {
 public:
  std::string_view Type() const override { return "RegisterModel"; }
  std::string_view ImplementationVersion() const override { return "1"; }
  // The default (artifact URIs) plus plain paths of Model and ModelMetrics.
  Result<std::vector<InputDeclaration>> DeclareInputs(
      const nlohmann::json& arguments, const std::string& pipeline_dir) const override;
  Result<StepOutcome> Run(StepContext& context) override;
  std::optional<StepTypeSpec> TypeSpec() const override;
};

}  // namespace raypipe::pipeline
