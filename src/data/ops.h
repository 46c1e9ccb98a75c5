#pragma once

// Row operations on Tables: concatenation, deterministic shuffle and proportional split. Column
// selection and removal are Table::Select and Table::Drop.

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "data/table.h"

namespace raypipe::data {

// The rows of `tables`, one after another, in one table whose columns each own one buffer
// (values, string characters and validity copied as bytes). One table is returned as is (no
// copy); none gives an empty table. InvalidArgument unless every table has the same schema.
Result<Table> ConcatTables(std::span<const Table> tables);

// The permutation RandomShuffle applies, output row k being input row permutation[k]. It is
// Rao-Sandelius' bucketed shuffle, which gives every permutation the same probability (like
// Fisher-Yates) but moves rows between cache-sized buckets instead of across the whole table:
//  1. B = the smallest power of two >= rows / 4096, at most 1024 (1 for small tables).
//  2. If B > 1, Random(seed) assigns each row, in order, to bucket Next() >> (64 - log2 B).
//  3. The output holds bucket 0's rows, then bucket 1's, ...; within bucket b, its n_b rows
//     (in input order) are permuted by Fisher-Yates (Durstenfeld) driven by
//     Random(MixSeed(seed, b)), or Random(seed) when B = 1: for i = n_b - 1 down to 1, swap
//     positions i and UniformBelow(i + 1).
// The same (rows, seed) gives the same permutation on every platform and thread count.
// REQUIRES: rows < 2^32.
std::vector<uint32_t> ShufflePermutation(size_t rows, uint64_t seed);

// The rows of `table` in the order of ShufflePermutation(num_rows, seed), gathered in parallel
// on `threads` threads (0 = hardware); the result does not depend on the thread count.
// REQUIRES: table.num_rows() < 2^32.
Table RandomShuffle(const Table& table, uint64_t seed, int threads = 0);

enum class SplitMode {
  // Ray Data's split_proportionately: len(proportions) + 1 tables, the last taking the rest.
  // Each proportion must be > 0 and their sum <= 1.
  kRemainder,
  // len(proportions) tables; the proportions must sum to 1 within 1e-9, and the last table
  // takes whatever rounding leaves.
  kExact,
};

// Consecutive slices of `table` (no copy), sized as Ray Data does: with c_k the running sum
// of the proportions, split k ends at trunc(rows * c_k); then, from the last boundary back,
// a boundary equal to the next one moves one row earlier so every split but the remainder is
// non-empty. InvalidArgument for a proportion that is not a finite positive number, a bad sum,
// or a table too small to give each split a row.
Result<std::vector<Table>> SplitProportionately(const Table& table,
                                                const std::vector<double>& proportions,
                                                SplitMode mode = SplitMode::kRemainder);

}  // namespace raypipe::data
