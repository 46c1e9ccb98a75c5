#include "serving/model_runtime.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace raypipe::serving {

VariantSet::VariantSet(std::vector<Variant> variants, uint64_t generation)
    : variants_(std::move(variants)), generation_(generation) {
  double total = 0;
  for (const Variant& variant : variants_) total += variant.weight;
  double running = 0;
  for (const Variant& variant : variants_) {
    running += variant.weight;
    cumulative_.push_back(total > 0 ? running / total : 1.0);
  }
  if (!cumulative_.empty()) cumulative_.back() = 1.0;
}

const Variant& VariantSet::Pick(uint64_t random) const {
  if (variants_.size() == 1) return variants_.front();
  // 53 random bits -> [0, 1).
  const double point = static_cast<double>(random >> 11) * 0x1.0p-53;
  auto found = std::upper_bound(cumulative_.begin(), cumulative_.end(), point);
  const size_t variant_idx = std::min<size_t>(found - cumulative_.begin(), variants_.size() - 1);
  return variants_[variant_idx];
}

const Variant* VariantSet::Find(std::string_view name) const {
  for (const Variant& variant : variants_) {
    if (variant.name == name) return &variant;
  }
  return nullptr;
}

Status ModelRuntime::Swap(std::vector<Variant> variants) {
  if (variants.empty()) return InvalidArgumentError("an endpoint needs at least one variant");
  std::set<std::string> names;
  for (Variant& variant : variants) {
    if (variant.name.empty()) return InvalidArgumentError("a variant has an empty name");
    if (!names.insert(variant.name).second) {
      return InvalidArgumentError("variant '" + variant.name + "' is given twice");
    }
    if (!(variant.weight > 0) || !std::isfinite(variant.weight)) {
      return InvalidArgumentError("variant '" + variant.name +
                                  "': weight must be a positive number, found " +
                                  std::to_string(variant.weight));
    }
    if (variant.model == nullptr) {
      return InvalidArgumentError("variant '" + variant.name + "' has no model");
    }
    if (metrics_ != nullptr) variant.metrics = metrics_->ForVariant(variant.name);
  }
  if (metrics_ != nullptr) {
    std::vector<ServingVariantInfo> infos;
    for (const Variant& variant : variants) {
      infos.push_back({variant.name, variant.model_version, variant.weight});
    }
    metrics_->SetServing(std::move(infos));
  }
  auto next = std::make_shared<const VariantSet>(std::move(variants), generation_.fetch_add(1) + 1);
  current_.store(std::move(next));
  return Status::Ok();
}

}  // namespace raypipe::serving
