#include "cli/suggest.h"

#include <algorithm>
#include <limits>

namespace raypipe::cli {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rolling rows suffice: the swap case looks two rows back.
  std::vector<size_t> before_previous(b.size() + 1, 0);
  std::vector<size_t> previous(b.size() + 1, 0);
  std::vector<size_t> current(b.size() + 1, 0);
  for (size_t b_idx = 0; b_idx <= b.size(); ++b_idx) previous[b_idx] = b_idx;
  for (size_t a_idx = 1; a_idx <= a.size(); ++a_idx) {
    current[0] = a_idx;
    for (size_t b_idx = 1; b_idx <= b.size(); ++b_idx) {
      size_t substitution = a[a_idx - 1] == b[b_idx - 1] ? 0 : 1;
      current[b_idx] = std::min({previous[b_idx] + 1, current[b_idx - 1] + 1,
                                 previous[b_idx - 1] + substitution});
      if (a_idx > 1 && b_idx > 1 && a[a_idx - 1] == b[b_idx - 2] &&
          a[a_idx - 2] == b[b_idx - 1]) {
        current[b_idx] = std::min(current[b_idx], before_previous[b_idx - 2] + 1);
      }
    }
    std::swap(before_previous, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string NearestName(std::string_view typed, const std::vector<std::string>& candidates) {
  if (typed.empty()) return "";
  const size_t limit = std::max<size_t>(1, typed.size() / 3);
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const std::string& candidate : candidates) {
    size_t distance = EditDistance(typed, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (best_distance <= limit) return best;
  // A unique prefix ("data" for "datasets") is a likely abbreviation even when far in edits.
  std::string prefixed;
  for (const std::string& candidate : candidates) {
    if (candidate.size() > typed.size() && candidate.compare(0, typed.size(), typed) == 0) {
      if (!prefixed.empty()) return "";
      prefixed = candidate;
    }
  }
  return prefixed;
}

}  // namespace raypipe::cli
