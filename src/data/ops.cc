#include "data/ops.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <numeric>

#include "data/internal/parallel.h"
#include "data/random.h"

namespace raypipe::data {
namespace {

std::string FormatProportions(const std::vector<double>& proportions) {
  std::string text = "[";
  for (size_t index = 0; index < proportions.size(); ++index) {
    if (index > 0) text += ", ";
    text += std::to_string(proportions[index]);
  }
  return text + "]";
}

}  // namespace

Result<Table> ConcatTables(std::span<const Table> tables) {
  if (tables.empty()) return Table();
  if (tables.size() == 1) return tables[0];
  const std::vector<Field> schema = tables[0].Schema();
  size_t total = 0;
  for (size_t t = 0; t < tables.size(); ++t) {
    if (tables[t].Schema() != schema) {
      return InvalidArgumentError("cannot concatenate tables with different columns: table " +
                                  std::to_string(t) + " differs from table 0");
    }
    total += tables[t].num_rows();
  }
  std::vector<Column> columns;
  columns.reserve(schema.size());
  for (size_t c = 0; c < schema.size(); ++c) {
    std::shared_ptr<Buffer> validity;
    const bool any_null = std::any_of(tables.begin(), tables.end(),
                                      [c](const Table& t) { return t.column(c).has_nulls(); });
    if (any_null) validity = Buffer::Allocate(total);
    std::shared_ptr<Buffer> values;
    std::shared_ptr<Buffer> chars;
    if (schema[c].type == DataType::kString) {
      size_t char_total = 0;
      for (const Table& table : tables) {
        std::span<const int64_t> offsets = table.column(c).string_offsets();
        char_total += static_cast<size_t>(offsets.back() - offsets.front());
      }
      values = Buffer::Allocate((total + 1) * sizeof(int64_t));
      chars = Buffer::Allocate(char_total);
      auto* out_offsets = reinterpret_cast<int64_t*>(values->mutable_data());
      out_offsets[0] = 0;
      size_t row = 0;
      int64_t char_at = 0;
      for (const Table& table : tables) {
        const Column& column = table.column(c);
        std::span<const int64_t> offsets = column.string_offsets();
        const int64_t base = offsets.front();
        std::memcpy(chars->mutable_data() + char_at, column.string_chars().data() + base,
                    static_cast<size_t>(offsets.back() - base));
        for (size_t r = 0; r < column.length(); ++r) {
          out_offsets[row + r + 1] = char_at + (offsets[r + 1] - base);
        }
        char_at += offsets.back() - base;
        row += column.length();
      }
    } else {
      values = Buffer::Allocate(total * 8);  // doubles and int64s alike
      size_t row = 0;
      for (const Table& table : tables) {
        const Column& column = table.column(c);
        const void* source = column.type() == DataType::kFloat64
                                 ? static_cast<const void*>(column.float64s().data())
                                 : static_cast<const void*>(column.int64s().data());
        std::memcpy(values->mutable_data() + row * 8, source, column.length() * 8);
        row += column.length();
      }
    }
    if (validity) {
      size_t row = 0;
      for (const Table& table : tables) {
        const Column& column = table.column(c);
        auto* out = reinterpret_cast<uint8_t*>(validity->mutable_data()) + row;
        if (column.has_nulls()) {
          std::memcpy(out, column.validity().data(), column.length());
        } else {
          std::memset(out, 1, column.length());
        }
        row += column.length();
      }
    }
    ASSIGN_OR_RETURN(Column column,
                     Column::FromBuffers(schema[c].name, schema[c].type, total, std::move(values),
                                         std::move(chars), std::move(validity)));
    columns.push_back(std::move(column));
  }
  return TableFromCheckedColumns(std::move(columns), total);
}

namespace {

constexpr size_t kRowsPerBucket = 4096;  // 32 KiB of 8-byte values: a bucket stays in cache
constexpr size_t kMaxBuckets = 1024;

// The shuffle of ops.h in its bucketed form, which is also how columns are moved: scatter each
// value to its bucket (a sequential read and B sequential writes), then permute within the
// bucket (random access inside a cache-resident block).
struct ShufflePlan {
  size_t rows = 0;
  int bucket_bits = 0;
  std::vector<uint16_t> bucket_of;  // per input row; empty when there is one bucket
  std::vector<size_t> begin;        // buckets + 1 output offsets
  std::vector<uint32_t> local;      // per output position: its row's index within the bucket
};

ShufflePlan MakePlan(size_t rows, uint64_t seed, int threads) {
  assert(rows <= UINT32_MAX);
  ShufflePlan plan;
  plan.rows = rows;
  size_t buckets = 1;
  while (buckets < kMaxBuckets && buckets * kRowsPerBucket < rows) {
    buckets *= 2;
    ++plan.bucket_bits;
  }
  plan.begin.assign(buckets + 1, 0);
  if (buckets > 1) {
    plan.bucket_of.resize(rows);
    Random random(seed);
    std::vector<size_t> counts(buckets, 0);
    for (size_t row = 0; row < rows; ++row) {
      uint16_t bucket = static_cast<uint16_t>(random.Next() >> (64 - plan.bucket_bits));
      plan.bucket_of[row] = bucket;
      ++counts[bucket];
    }
    for (size_t bucket = 0; bucket < buckets; ++bucket) {
      plan.begin[bucket + 1] = plan.begin[bucket] + counts[bucket];
    }
  } else {
    plan.begin[1] = rows;
  }
  plan.local.resize(rows);
  internal::ParallelFor(buckets, threads, [&](size_t bucket) {
    uint32_t* local = plan.local.data() + plan.begin[bucket];
    size_t size = plan.begin[bucket + 1] - plan.begin[bucket];
    std::iota(local, local + size, uint32_t{0});
    Random random(buckets > 1 ? MixSeed(seed, bucket) : seed);
    for (size_t index = size; index > 1; --index) {
      std::swap(local[index - 1], local[random.UniformBelow(index)]);
    }
  });
  return plan;
}

// Applies the plan to `count` elements of type T: in -> out, using `scratch` (count elements).
template <typename T>
void ApplyPlan(const ShufflePlan& plan, const T* in, T* scratch, T* out) {
  const size_t buckets = plan.begin.size() - 1;
  const T* grouped = in;
  if (buckets > 1) {
    std::vector<size_t> cursor(plan.begin.begin(), plan.begin.end() - 1);
    for (size_t row = 0; row < plan.rows; ++row) scratch[cursor[plan.bucket_of[row]]++] = in[row];
    grouped = scratch;
  }
  for (size_t bucket = 0; bucket < buckets; ++bucket) {
    const size_t begin = plan.begin[bucket];
    const size_t end = plan.begin[bucket + 1];
    const T* source = grouped + begin;
    const uint32_t* local = plan.local.data();
    for (size_t position = begin; position < end; ++position) {
      out[position] = source[local[position]];
    }
  }
}

std::vector<uint32_t> PermutationOf(const ShufflePlan& plan) {
  std::vector<uint32_t> rows(plan.rows);
  std::iota(rows.begin(), rows.end(), uint32_t{0});
  std::vector<uint32_t> permutation(plan.rows);
  std::vector<uint32_t> scratch(plan.rows);
  ApplyPlan(plan, rows.data(), scratch.data(), permutation.data());
  return permutation;
}

}  // namespace

std::vector<uint32_t> ShufflePermutation(size_t rows, uint64_t seed) {
  return PermutationOf(MakePlan(rows, seed, 0));
}

Table RandomShuffle(const Table& table, uint64_t seed, int threads) {
  const size_t rows = table.num_rows();
  const size_t num_columns = table.num_columns();
  ShufflePlan plan = MakePlan(rows, seed, threads);
  // Strings and validity bytes are gathered through the full permutation (built only if any).
  bool need_permutation = false;
  for (const Column& column : table.columns()) {
    need_permutation |= column.type() == DataType::kString || column.has_nulls();
  }
  std::vector<uint32_t> permutation;
  if (need_permutation) permutation = PermutationOf(plan);

  std::vector<Column> columns(num_columns);
  // One scratch buffer per worker, each worker taking every workers-th column.
  size_t workers = std::min<size_t>(num_columns, internal::ResolveThreads(threads));
  internal::ParallelFor(workers, threads, [&](size_t worker) {
    std::shared_ptr<Buffer> scratch;
    for (size_t index = worker; index < num_columns; index += workers) {
      const Column& column = table.column(index);
      if (column.type() == DataType::kString) {
        columns[index] = column.Take(std::span<const uint32_t>(permutation));
        continue;
      }
      if (scratch == nullptr) {
        scratch = Buffer::Allocate(plan.begin.size() > 2 ? rows * sizeof(uint64_t) : 0);
      }
      auto values = Buffer::Allocate(rows * sizeof(uint64_t));
      const uint64_t* in = reinterpret_cast<const uint64_t*>(column.values_buffer()->data()) +
                           column.value_offset();
      ApplyPlan(plan, in, reinterpret_cast<uint64_t*>(scratch->mutable_data()),
                reinterpret_cast<uint64_t*>(values->mutable_data()));
      std::shared_ptr<Buffer> validity;
      if (column.has_nulls()) {
        validity = Buffer::Allocate(rows);
        std::span<const uint8_t> valid = column.validity();
        uint8_t* out = reinterpret_cast<uint8_t*>(validity->mutable_data());
        for (size_t row = 0; row < rows; ++row) out[row] = valid[permutation[row]];
      }
      Result<Column> gathered = Column::FromBuffers(column.name(), column.type(), rows,
                                                    std::move(values), nullptr,
                                                    std::move(validity));
      assert(gathered.ok());  // sizes are consistent by construction
      columns[index] = std::move(gathered).value();
    }
  });
  return TableFromCheckedColumns(std::move(columns), rows);
}

Result<std::vector<Table>> SplitProportionately(const Table& table,
                                                const std::vector<double>& proportions,
                                                SplitMode mode) {
  if (proportions.empty()) {
    return InvalidArgumentError("split_proportionately: proportions must not be empty");
  }
  double sum = 0.0;
  for (double proportion : proportions) {
    if (!std::isfinite(proportion) || proportion <= 0.0) {
      return InvalidArgumentError("split_proportionately: proportions must be positive, got " +
                                  FormatProportions(proportions));
    }
    sum += proportion;
  }
  if (mode == SplitMode::kExact && std::abs(sum - 1.0) > 1e-9) {
    return InvalidArgumentError("split_proportionately: proportions must sum to 1, got " +
                                FormatProportions(proportions) + " (sum " +
                                std::to_string(sum) + ")");
  }
  if (mode == SplitMode::kRemainder && sum > 1.0) {
    return InvalidArgumentError("split_proportionately: proportions must sum to at most 1, got " +
                                FormatProportions(proportions));
  }
  // Boundaries from the running sums, as np.cumsum and int() in Ray Data.
  size_t rows = table.num_rows();
  size_t boundaries = mode == SplitMode::kExact ? proportions.size() - 1 : proportions.size();
  std::vector<int64_t> ends(boundaries);
  double running = 0.0;
  for (size_t index = 0; index < boundaries; ++index) {
    running += proportions[index];
    ends[index] = static_cast<int64_t>(static_cast<double>(rows) * running);
    ends[index] = std::min<int64_t>(ends[index], static_cast<int64_t>(rows));
  }
  // Ray Data's adjustment: walking back, a boundary equal to the next moves one row earlier.
  int64_t subtract = 0;
  for (size_t index = boundaries; index-- > 1;) {
    ends[index - 1] -= subtract;
    if (ends[index - 1] == ends[index]) {
      ++subtract;
      ends[index - 1] -= 1;
    }
  }
  for (int64_t end : ends) {
    if (end <= 0) {
      return InvalidArgumentError("split_proportionately: cannot make non-empty splits of " +
                                  std::to_string(rows) + " rows with proportions " +
                                  FormatProportions(proportions));
    }
  }
  std::vector<Table> splits;
  splits.reserve(boundaries + 1);
  int64_t begin = 0;
  for (size_t index = 0; index <= boundaries; ++index) {
    int64_t end = index < boundaries ? ends[index] : static_cast<int64_t>(rows);
    ASSIGN_OR_RETURN(Table split, table.Slice(static_cast<size_t>(begin),
                                              static_cast<size_t>(end - begin)));
    splits.push_back(std::move(split));
    begin = end;
  }
  return splits;
}

}  // namespace raypipe::data
