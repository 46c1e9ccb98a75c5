#include "serving/deploy_step.h"

#include <charconv>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/steps/step_arguments.h"
#include "registry/model_registry.h"
#include "serving/deployment.h"
#include "serving/endpoint_store.h"
#include "store/artifact_store.h"

namespace raypipe::serving {

namespace {

using nlohmann::json;
using pipeline::ArgumentsContext;
using pipeline::FieldPath;
using pipeline::StepArguments;
using pipeline::ValueType;

constexpr std::string_view kArnPrefix = "model-package/";

const std::vector<std::string_view> kFields = {
    "EndpointName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
    "Variants",     "Port",                  "AllowUnapproved"};
const std::vector<std::string_view> kVariantFields = {
    "VariantName", "ModelPackageGroupName", "ModelPackageVersion", "InitialVariantWeight"};

struct PackageRef {
  std::string group;
  int64_t version = 0;
};

// "model-package/<group>/<version>" (RegisterModel's ModelPackageArn; anything before
// "model-package/", such as an "arn:...:" prefix, is ignored).
Result<PackageRef> ParseModelPackageArn(std::string_view arn) {
  const auto bad = [&] {
    return InvalidArgumentError("expected a model package ARN \"model-package/GROUP/VERSION\", "
                                "found \"" + std::string(arn) + "\"");
  };
  const size_t start = arn.find(kArnPrefix);
  if (start == std::string_view::npos) return bad();
  const std::string_view rest = arn.substr(start + kArnPrefix.size());
  const size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return bad();
  PackageRef ref;
  ref.group = std::string(rest.substr(0, slash));
  const std::string_view number = rest.substr(slash + 1);
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), ref.version);
  if (error != std::errc() || end != number.data() + number.size() || ref.version < 1) {
    return bad();
  }
  return ref;
}

// The version the step names (ModelPackageVersion and/or ModelPackageArn), 0 for the latest
// Approved.
Result<int64_t> StepVersion(const StepArguments& args, const std::string& group) {
  ASSIGN_OR_RETURN(int64_t version, args.Integer("ModelPackageVersion", 0));
  if (args.Has("ModelPackageVersion") && version < 1) {
    return args.Error("ModelPackageVersion", "must be at least 1, found " + std::to_string(version));
  }
  if (!args.Has("ModelPackageArn")) return version;
  ASSIGN_OR_RETURN(std::string arn, args.String("ModelPackageArn"));
  Result<PackageRef> ref = ParseModelPackageArn(arn);
  if (!ref.ok()) return args.Error("ModelPackageArn", ref.status().message());
  if (ref->group != group) {
    return args.Error("ModelPackageArn", "names group \"" + ref->group +
                                             "\" but ModelPackageGroupName is \"" + group + "\"");
  }
  if (version != 0 && version != ref->version) {
    return args.Error("ModelPackageArn", "names version " + std::to_string(ref->version) +
                                             " but ModelPackageVersion is " +
                                             std::to_string(version));
  }
  return ref->version;
}

// The deploy request the arguments describe.
Result<DeployRequest> ReadRequest(const json& arguments) {
  StepArguments args(arguments);
  RETURN_IF_ERROR(args.RejectUnknown(kFields));
  DeployRequest request;
  ASSIGN_OR_RETURN(request.endpoint, args.String("EndpointName"));
  if (Status valid = ValidateEndpointName(request.endpoint); !valid.ok()) {
    return args.Error("EndpointName", valid.message());
  }
  ASSIGN_OR_RETURN(std::string group, args.String("ModelPackageGroupName"));
  if (Status valid = registry::ModelRegistry::ValidateGroupName(group); !valid.ok()) {
    return args.Error("ModelPackageGroupName", valid.message());
  }
  ASSIGN_OR_RETURN(int64_t version, StepVersion(args, group));
  if (args.Has("Port")) {
    ASSIGN_OR_RETURN(int64_t port, args.Integer("Port"));
    if (port < 1 || port > 65535) {
      return args.Error("Port", "must be 1-65535, found " + std::to_string(port));
    }
    request.port = static_cast<int>(port);
  }
  ASSIGN_OR_RETURN(request.allow_unapproved, args.Boolean("AllowUnapproved", false));

  if (!args.Has("Variants")) {
    request.variants.push_back({std::string(kDefaultVariantName), group, version, 1.0});
    return request;
  }
  const json& list = args.Raw("Variants");
  if (!list.is_array() || list.empty()) {
    return args.Error("Variants", "expected a non-empty list of {VariantName, "
                                  "ModelPackageVersion, InitialVariantWeight}");
  }
  std::set<std::string> names;
  for (size_t variant_idx = 0; variant_idx < list.size(); ++variant_idx) {
    const std::string where = args.FieldName("Variants") + "[" + std::to_string(variant_idx) + "]";
    if (!list[variant_idx].is_object()) {
      return InvalidArgumentError(where + ": expected an object {VariantName, ...}");
    }
    StepArguments entry(list[variant_idx], where);
    RETURN_IF_ERROR(entry.RejectUnknown(kVariantFields));
    VariantConfig variant;
    ASSIGN_OR_RETURN(variant.name, entry.String("VariantName"));
    if (variant.name.empty()) return entry.Error("VariantName", "must not be empty");
    if (!names.insert(variant.name).second) {
      return entry.Error("VariantName", "\"" + variant.name + "\" is given twice");
    }
    ASSIGN_OR_RETURN(variant.group, entry.String("ModelPackageGroupName", group));
    if (Status valid = registry::ModelRegistry::ValidateGroupName(variant.group); !valid.ok()) {
      return entry.Error("ModelPackageGroupName", valid.message());
    }
    ASSIGN_OR_RETURN(variant.version, entry.Integer("ModelPackageVersion", version));
    if (variant.version < 0 || (entry.Has("ModelPackageVersion") && variant.version < 1)) {
      return entry.Error("ModelPackageVersion",
                         "must be at least 1, found " + std::to_string(variant.version));
    }
    ASSIGN_OR_RETURN(variant.weight, entry.Float("InitialVariantWeight", 1.0));
    if (!(variant.weight > 0) || !std::isfinite(variant.weight)) {
      return entry.Error("InitialVariantWeight", "must be a positive number");
    }
    request.variants.push_back(std::move(variant));
  }
  return request;
}

// Validate-time checks of the literal values (expressions are checked when they resolve).
void CheckLiteralString(const ArgumentsContext& context, const json& arguments,
                        std::string_view field, bool required, const FieldPath& at,
                        Status (*check)(std::string_view)) {
  auto it = arguments.find(field);
  if (it == arguments.end()) {
    if (required) context.Error(at.Key(field), std::string(field) + " is required");
    return;
  }
  const ValueType type = context.TypeOf(*it);
  if (type != ValueType::kString && type != ValueType::kUnknown) {
    context.Error(at.Key(field), std::string(field) + " must be a String, got " +
                                     std::string(ValueTypeName(type)));
    return;
  }
  if (it->is_string() && check != nullptr) {
    if (Status valid = check(it->get<std::string>()); !valid.ok()) {
      context.Error(at.Key(field), std::string(valid.message()));
    }
  }
}

// A number in [min, max] (an Integer when `integer`); `range` says so in words.
void CheckNumber(const ArgumentsContext& context, const json& arguments, std::string_view field,
                 const FieldPath& at, bool integer, double min, double max,
                 std::string_view range) {
  auto it = arguments.find(field);
  if (it == arguments.end()) return;
  const ValueType type = context.TypeOf(*it);
  const bool numeric = type == ValueType::kInteger || (!integer && type == ValueType::kFloat);
  // A String may hold the number (SageMaker passes numbers through String parameters).
  if (!numeric && type != ValueType::kString && type != ValueType::kUnknown) {
    context.Error(at.Key(field), std::string(field) + " must be " + std::string(range) +
                                     ", got " + std::string(ValueTypeName(type)));
    return;
  }
  if (it->is_number() && (it->get<double>() < min || it->get<double>() > max ||
                          (integer && !it->is_number_integer()))) {
    context.Error(at.Key(field), std::string(field) + " must be " + std::string(range) +
                                     ", got " + pipeline::DescribeValue(*it));
  }
}

void CheckUnknown(const ArgumentsContext& context, const json& object, const FieldPath& at,
                  const std::vector<std::string_view>& known) {
  for (const auto& [key, unused] : object.items()) {
    bool found = false;
    for (std::string_view name : known) found = found || key == name;
    if (!found) {
      std::string list;
      for (std::string_view name : known) list += (list.empty() ? "" : ", ") + std::string(name);
      context.Error(at.Key(key), "unknown field of a Deploy step (known: " + list + ")");
    }
  }
}

Status CheckArn(std::string_view arn) { return ParseModelPackageArn(arn).status(); }

void ValidateDeployArguments(const ArgumentsContext& context) {
  const json& arguments = context.arguments;
  if (!arguments.is_object()) {
    context.Error(FieldPath(), "the Arguments of a Deploy step must be an object");
    return;
  }
  const FieldPath root;
  CheckUnknown(context, arguments, root, kFields);
  CheckLiteralString(context, arguments, "EndpointName", true, root, ValidateEndpointName);
  CheckLiteralString(context, arguments, "ModelPackageGroupName", true, root,
                     registry::ModelRegistry::ValidateGroupName);
  CheckLiteralString(context, arguments, "ModelPackageArn", false, root, CheckArn);
  CheckNumber(context, arguments, "ModelPackageVersion", root, true, 1, 1e18,
              "an Integer >= 1");
  CheckNumber(context, arguments, "Port", root, true, 1, 65535, "an Integer from 1 to 65535");
  if (auto it = arguments.find("AllowUnapproved"); it != arguments.end()) {
    const ValueType type = context.TypeOf(*it);
    if (type != ValueType::kBoolean && type != ValueType::kUnknown) {
      context.Error(FieldPath("AllowUnapproved"),
                    "AllowUnapproved must be a Boolean, got " + std::string(ValueTypeName(type)));
    }
  }
  auto variants = arguments.find("Variants");
  if (variants == arguments.end()) return;
  if (!variants->is_array() || variants->empty()) {
    context.Error(FieldPath("Variants"), "Variants must be a non-empty list of {VariantName, "
                                         "ModelPackageVersion, InitialVariantWeight}");
    return;
  }
  std::set<std::string> names;
  for (size_t variant_idx = 0; variant_idx < variants->size(); ++variant_idx) {
    const json& variant = (*variants)[variant_idx];
    const FieldPath at = FieldPath("Variants").Index(variant_idx);
    if (!variant.is_object()) {
      context.Error(at, "a variant must be an object {VariantName, ModelPackageVersion, "
                        "InitialVariantWeight}");
      continue;
    }
    CheckUnknown(context, variant, at, kVariantFields);
    CheckLiteralString(context, variant, "VariantName", true, at, nullptr);
    if (auto name = variant.find("VariantName"); name != variant.end() && name->is_string() &&
                                                 !names.insert(name->get<std::string>()).second) {
      context.Error(at.Key("VariantName"), "variant \"" + name->get<std::string>() +
                                               "\" is given twice");
    }
    CheckLiteralString(context, variant, "ModelPackageGroupName", false, at,
                       registry::ModelRegistry::ValidateGroupName);
    CheckNumber(context, variant, "ModelPackageVersion", at, true, 1, 1e18, "an Integer >= 1");
    CheckNumber(context, variant, "InitialVariantWeight", at, false, 1e-300, 1e300,
                "a positive number");
  }
}

}  // namespace

std::optional<pipeline::StepTypeSpec> DeployStepRunner::TypeSpec() const {
  pipeline::StepTypeSpec spec;
  spec.type = "Deploy";
  spec.validate_arguments = ValidateDeployArguments;
  spec.property_type = pipeline::PropertyTable({{"EndpointName", ValueType::kString},
                                                {"EndpointArn", ValueType::kString},
                                                {"EndpointUrl", ValueType::kString},
                                                {"EndpointStatus", ValueType::kString},
                                                {"ModelPackageVersion", ValueType::kInteger},
                                                {"ModelPackageArn", ValueType::kString}});
  spec.string_fields = {"EndpointName", "ModelPackageGroupName", "ModelPackageArn",
                        "Variants[*].VariantName", "Variants[*].ModelPackageGroupName"};
  spec.cacheable = false;
  return spec;
}

Result<pipeline::StepOutcome> DeployStepRunner::Run(pipeline::StepContext& context) {
  ASSIGN_OR_RETURN(DeployRequest request, ReadRequest(context.arguments));
  if (context.metadata == nullptr || context.artifacts == nullptr) {
    return FailedPreconditionError("the Deploy step needs the metadata and artifact stores");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<registry::ModelRegistry> registry,
                   registry::ModelRegistry::Open(context.metadata));
  ASSIGN_OR_RETURN(std::unique_ptr<EndpointStore> endpoints, EndpointStore::Open(context.metadata));
  const std::string name = request.endpoint;
  Result<DeployOutcome> deployed = DeployEndpoint(*registry, *context.artifacts, *endpoints,
                                                  std::move(request), DeployMode::kCreateOrUpdate);
  if (!deployed.ok()) return deployed.status().WithContext("deploying endpoint '" + name + "'");
  const EndpointConfig& config = deployed->config;
  const std::string url = "http://" + config.host + ":" + std::to_string(config.port);
  std::string variants;
  for (const VariantConfig& variant : config.variants) {
    variants += (variants.empty() ? "" : ", ") + variant.name + "=" + variant.group + ":" +
                std::to_string(variant.version);
  }
  context.Log(std::string(deployed->created   ? "created"
                          : deployed->changed ? "updated"
                                              : "unchanged") +
              " endpoint " + name + " (revision " + std::to_string(config.revision) + "): " +
              variants);

  // A running server follows the record within its poll interval; wait for it to serve the new
  // versions so that the next step can use them.
  ServingState state = ProbeEndpoint(config);
  const auto deadline = std::chrono::steady_clock::now() + options_.serve_wait;
  while (state == ServingState::kUpdating && std::chrono::steady_clock::now() < deadline) {
    if (context.StopRequested()) return CancelledError("stopped while waiting for " + url);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = ProbeEndpoint(config);
  }
  switch (state) {
    case ServingState::kNotServing:
      context.Log("no server runs endpoint " + name + " at " + url +
                  "; start one with: raypipe serve " + name);
      break;
    case ServingState::kUpdating:
      context.Log("the server at " + url + " has not swapped to revision " +
                  std::to_string(config.revision) + " yet");
      break;
    case ServingState::kInService:
      context.Log("endpoint " + name + " serves revision " + std::to_string(config.revision) +
                  " at " + url);
      break;
  }

  pipeline::StepOutcome outcome;
  const VariantConfig& first = config.variants.front();
  outcome.properties = {{"EndpointName", config.name},
                        {"EndpointArn", "endpoint/" + config.name},
                        {"EndpointUrl", url},
                        {"EndpointStatus", std::string(ServingStateName(state))},
                        {"ModelPackageVersion", first.version},
                        {"ModelPackageArn", std::string(kArnPrefix) + first.group + "/" +
                                                std::to_string(first.version)}};
  for (const VariantConfig& variant : config.variants) {
    ASSIGN_OR_RETURN(registry::ModelPackage package,
                     registry->Describe(variant.group, variant.version));
    pipeline::StepOutcome::LineageEntry input;
    input.direction = pipeline::StepOutcome::LineageEntry::Direction::kInput;
    input.artifact_type = "ModelPackage";
    input.uri = package.arn;
    input.digest = package.model_artifact;
    outcome.lineage.push_back(std::move(input));
  }
  pipeline::StepOutcome::LineageEntry output;
  output.direction = pipeline::StepOutcome::LineageEntry::Direction::kOutput;
  output.artifact_type = "Endpoint";
  output.uri = "endpoint/" + config.name;
  outcome.lineage.push_back(std::move(output));
  return outcome;
}

}  // namespace raypipe::serving
