#pragma once

// "Did you mean ...?" for mistyped command and flag names.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace raypipe::cli {

// The optimal-string-alignment distance (insertions, deletions, substitutions and swaps of two
// adjacent characters, each costing 1) between `a` and `b`.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `typed`, or "" when none is close enough to be a likely typo: within
// max(1, length/3) edits, or `typed` is a prefix of exactly one candidate. Ties go to the first
// candidate in order.
std::string NearestName(std::string_view typed, const std::vector<std::string>& candidates);

}  // namespace raypipe::cli
