// Feeds arbitrary bytes to the definition parser and everything downstream of it that runs
// before a pipeline does: validation, the DAG, parameter resolution, and expression and
// condition evaluation with a resolver that knows nothing. Nothing may crash, hang or leak.
//
// The first byte picks the file name, so both readers are reached even from JSON seeds:
// even -> "fuzz.yaml", odd -> "fuzz.json".

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pipeline/condition.h"
#include "pipeline/dag.h"
#include "pipeline/expression.h"
#include "pipeline/parameters.h"
#include "pipeline/parser.h"
#include "pipeline/validate.h"

namespace {

using raypipe::Result;
using namespace raypipe::pipeline;  // NOLINT: a fuzz driver

// Answers every reference with a value of a different kind in turn.
class ShiftingResolver : public Resolver {
 public:
  Result<nlohmann::json> Resolve(const Reference& reference) const override {
    switch (reference.ToString().size() % 4) {
      case 0:
        return nlohmann::json(1.5);
      case 1:
        return nlohmann::json("text");
      case 2:
        return nlohmann::json::parse(R"({"a": {"b": [1, 2]}, "c": "d"})");
      default:
        return raypipe::NotFoundError("no value");
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view name = (data[0] % 2 == 0) ? "fuzz.yaml" : "fuzz.json";
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Result<PipelineDefinition> definition = ParseDefinition(text, name);
  if (!definition.ok()) return 0;

  const ValidationReport report = Validate(*definition);
  (void)report.ToString();
  const Dag dag = Dag::Build(*definition);
  (void)dag.TopologicalOrder();
  (void)ResolveParameters(*definition, {});

  const ShiftingResolver resolver;
  for (const StepDefinition& step : definition->steps) {
    (void)EvaluateJson(step.arguments, resolver);
    if (step.type == "Condition" && step.arguments.contains("Conditions")) {
      std::vector<Issue> issues;
      const std::vector<Condition> conditions =
          ParseConditionList(step.arguments["Conditions"], FieldPath(), &issues);
      (void)EvaluateConditions(conditions, resolver);
    }
  }
  return 0;
}
