// The C++ side of bench/run: generates the housing data and times the data module's workloads,
// each against the same work done by a Python peer (bench/peers/*.py).
//
//   data_bench generate --rows N --seed S --out FILE.csv
//   data_bench csv-read FILE.csv --reps R
//   data_bench prep FILE.csv --reps R --seed S
//
// csv-read and prep print one line, "median_s=<seconds> reps=<R> threads=<T>", the median of
// R timed repetitions after one untimed warm-up.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "data/csv.h"
#include "data/housing.h"
#include "data/ops.h"
#include "data/scaler.h"

namespace raypipe::data {
namespace {

// Seconds taken by fn().
double Seconds(const std::function<void()>& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// The value after `flag` in argv, or `fallback`.
std::string Flag(int argc, char** argv, const std::string& flag, const std::string& fallback) {
  for (int index = 1; index + 1 < argc; ++index) {
    if (argv[index] == flag) return argv[index + 1];
  }
  return fallback;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "data_bench: %s\n", status.ToString().c_str());
  return 1;
}

void Report(const std::vector<double>& times) {
  std::printf("median_s=%.6f reps=%zu threads=%u\n", Median(times), times.size(),
              std::thread::hardware_concurrency());
}

ColumnTypes HousingTypes() { return ColumnTypesOf(*GenerateHousing({.rows = 0})); }

int Generate(int argc, char** argv) {
  HousingOptions options;
  options.rows = std::stoll(Flag(argc, argv, "--rows", "1000000"));
  options.seed = std::stoull(Flag(argc, argv, "--seed", "42"));
  std::string out = Flag(argc, argv, "--out", "");
  if (out.empty()) return Fail(InvalidArgumentError("generate needs --out FILE"));
  Result<Table> table = Status(StatusCode::kInternal, "unset");
  double generate = Seconds([&] { table = GenerateHousing(options); });
  if (!table.ok()) return Fail(table.status());
  Status written = Status::Ok();
  double write = Seconds([&] { written = WriteCsvFile(*table, out); });
  if (!written.ok()) return Fail(written);
  std::printf("generated %lld rows in %.3f s, wrote %s in %.3f s\n",
              static_cast<long long>(options.rows), generate, out.c_str(), write);
  return 0;
}

int CsvRead(const std::string& path, int reps) {
  CsvReadOptions options;
  options.column_types = HousingTypes();
  std::vector<double> times;
  for (int rep = 0; rep <= reps; ++rep) {
    Result<Table> table = Status(StatusCode::kInternal, "unset");
    double seconds = Seconds([&] { table = ReadCsvFile(path, options); });
    if (!table.ok()) return Fail(table.status());
    if (rep > 0) times.push_back(seconds);  // rep 0 warms the page cache
  }
  Report(times);
  return 0;
}

int Prep(const std::string& path, int reps, uint64_t seed) {
  CsvReadOptions options;
  options.column_types = HousingTypes();
  Result<Table> table = ReadCsvFile(path, options);
  if (!table.ok()) return Fail(table.status());
  std::vector<std::string> features = table->ColumnNames();
  features.erase(std::find(features.begin(), features.end(), "PRICE"));
  std::vector<double> times;
  for (int rep = 0; rep <= reps; ++rep) {
    Status status = Status::Ok();
    size_t rows_out = 0;
    double seconds = Seconds([&] {
      Table shuffled = RandomShuffle(*table, seed);
      auto splits = SplitProportionately(shuffled, {0.6, 0.2, 0.2}, SplitMode::kExact);
      if (!splits.ok()) {
        status = splits.status();
        return;
      }
      StandardScaler scaler;
      status = scaler.Fit((*splits)[0], features);
      if (!status.ok()) return;
      for (const Table& split : *splits) {
        auto scaled = scaler.Transform(split);
        if (!scaled.ok()) {
          status = scaled.status();
          return;
        }
        rows_out += scaled->num_rows();
      }
    });
    if (!status.ok()) return Fail(status);
    if (rows_out != table->num_rows()) return Fail(InternalError("rows lost in prep"));
    if (rep > 0) times.push_back(seconds);
  }
  Report(times);
  return 0;
}

int Main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "generate") return Generate(argc, argv);
  if ((command == "csv-read" || command == "prep") && argc > 2) {
    int reps = std::max(1, std::stoi(Flag(argc, argv, "--reps", "5")));
    if (command == "csv-read") return CsvRead(argv[2], reps);
    return Prep(argv[2], reps, std::stoull(Flag(argc, argv, "--seed", "42")));
  }
  std::fprintf(stderr,
               "usage: data_bench generate --rows N --seed S --out FILE.csv\n"
               "       data_bench csv-read FILE.csv [--reps R]\n"
               "       data_bench prep FILE.csv [--reps R] [--seed S]\n");
  return 2;
}

}  // namespace
}  // namespace raypipe::data

int main(int argc, char** argv) {
  try {
    return raypipe::data::Main(argc, argv);
  } catch (const std::exception& error) {  // std::stoll on a bad flag value
    std::fprintf(stderr, "data_bench: %s\n", error.what());
    return 2;
  }
}
