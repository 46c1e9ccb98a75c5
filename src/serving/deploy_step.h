#pragma once

// The Deploy pipeline step (DESIGN.md sections 1 and 7): creates the endpoint record when it is
// missing and updates it otherwise, with the semantics of `raypipe endpoint create/update`
// (serving::DeployEndpoint: only Approved versions unless AllowUnapproved, every bundle loaded
// once before anything is written). A `raypipe serve NAME` process running the endpoint sees
// the new revision within its poll interval and hot-swaps the models with no failed request;
// the step waits (up to DeployStepOptions::serve_wait) for it to serve the new versions.
//
//   - Name: DeployModel
//     Type: Deploy
//     Arguments:
//       EndpointName: housing-prod                        # required
//       ModelPackageGroupName: housing                    # required
//       ModelPackageVersion: 3                            # Integer; default: latest Approved
//       ModelPackageArn: {"Get": "Steps.Register.ModelPackageArn"}  # or this: model-package/G/V
//       Variants:                                         # optional production variants
//         - {VariantName: Blue, ModelPackageVersion: 3, InitialVariantWeight: 0.9}
//         - {VariantName: Green, InitialVariantWeight: 0.1}   # the step's version or latest
//       Port: 8080                                        # default 8080 on create; kept on update
//       AllowUnapproved: false
//
// Without Variants the endpoint has one variant, AllTraffic. A variant may name its own
// ModelPackageGroupName. An update that changes nothing keeps the record's revision.
//
// Properties: EndpointName, EndpointArn ("endpoint/<name>"), EndpointUrl, EndpointStatus
// (InService: a running server serves the new versions; Updating: one runs but has not swapped
// yet; NotServing: no server runs it, start one with `raypipe serve NAME`),
// ModelPackageVersion and ModelPackageArn (of the first variant). Lineage: each deployed
// ModelPackage (uri "model-package/<group>/<version>", digest of its model bundle) as input,
// the Endpoint (uri "endpoint/<name>") as output. Not cacheable (deploying is the effect).
//
// The lead registers it with the pipeline step runners (cli/pipeline_commands.cc):
//   RETURN_IF_ERROR(runners.Register(std::make_unique<serving::DeployStepRunner>()));

#include <chrono>
#include <optional>
#include <string_view>

#include "pipeline/step_runner.h"

namespace raypipe::serving {

struct DeployStepOptions {
  // How long a run waits for a running server to serve the new versions (its poll interval is
  // 1 s by default). Nothing is waited for when no server answers.
  std::chrono::milliseconds serve_wait = std::chrono::seconds(10);
};

// Thread-safe (no state beyond its options).
class DeployStepRunner final : public pipeline::StepRunner {
 public:
  explicit DeployStepRunner(DeployStepOptions options = {}) : options_(options) {}

  std::string_view Type() const override { return "Deploy"; }
  std::string_view ImplementationVersion() const override { return "1"; }
  Result<pipeline::StepOutcome> Run(pipeline::StepContext& context) override;
  std::optional<pipeline::StepTypeSpec> TypeSpec() const override;

 private:
  const DeployStepOptions options_;
};

}  // namespace raypipe::serving
