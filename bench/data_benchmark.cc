// Google Benchmark micro-benchmarks of the data module's hot paths (in memory, no disk).

#include <benchmark/benchmark.h>

#include "data/csv.h"
#include "data/housing.h"
#include "data/ops.h"
#include "data/scaler.h"

namespace raypipe::data {
namespace {

constexpr int64_t kRows = 200000;

const Table& Housing() {
  static const Table table = *GenerateHousing({.rows = kRows, .seed = 42});
  return table;
}

void BM_GenerateHousing(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(GenerateHousing({.rows = kRows}));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_GenerateHousing)->Unit(benchmark::kMillisecond);

void BM_WriteCsv(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(WriteCsvString(Housing()));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_WriteCsv)->Unit(benchmark::kMillisecond);

void BM_ReadCsv(benchmark::State& state) {
  std::string text = WriteCsvString(Housing());
  CsvReadOptions options;
  options.threads = static_cast<int>(state.range(0));
  options.column_types = ColumnTypesOf(Housing());
  for (auto _ : state) benchmark::DoNotOptimize(ReadCsvString(text, options));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ReadCsv)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

void BM_ReadCsvInferred(benchmark::State& state) {
  std::string text = WriteCsvString(Housing());
  for (auto _ : state) benchmark::DoNotOptimize(ReadCsvString(text));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ReadCsvInferred)->Unit(benchmark::kMillisecond);

void BM_Shuffle(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(RandomShuffle(Housing(), 42));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_Shuffle)->Unit(benchmark::kMillisecond);

void BM_StandardScalerTransform(benchmark::State& state) {
  StandardScaler scaler;
  std::vector<std::string> features = {"YEAR_BUILT", "SQUARE_FEET", "NUM_BEDROOMS",
                                       "NUM_BATHROOMS", "LOT_ACRES", "GARAGE_SPACES",
                                       "FRONT_PORCH", "DECK"};
  if (!scaler.Fit(Housing(), features).ok()) state.SkipWithError("fit failed");
  for (auto _ : state) benchmark::DoNotOptimize(scaler.Transform(Housing()));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_StandardScalerTransform)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace raypipe::data

BENCHMARK_MAIN();
