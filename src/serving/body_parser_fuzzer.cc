// Fuzzes the request body parsers: any bytes must give rows of the right width or an
// InvalidArgument, never a crash; accepted rows must format back without failing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "serving/body_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> kFeatures = {"YEAR_BUILT", "SQUARE_FEET", "NUM_BEDROOMS"};
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto format : {raypipe::serving::BodyFormat::kCsv, raypipe::serving::BodyFormat::kJson}) {
    raypipe::Result<raypipe::serving::FeatureRows> rows =
        raypipe::serving::ParseBody(format, body, kFeatures);
    if (rows.ok()) {
      if (rows->values.size() != rows->num_rows * kFeatures.size()) __builtin_trap();
      (void)raypipe::serving::FormatPredictions(rows->values, format);
    }
  }
  (void)raypipe::serving::ParseContentType(body);
  (void)raypipe::serving::ParseAccept(body, raypipe::serving::BodyFormat::kCsv);
  return 0;
}
