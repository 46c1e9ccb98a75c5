#pragma once

// DMatrix: RAII over XGBoost's DMatrixHandle, built from a data::Table's columns or from
// row-major floats.
//
// FromTable hands XGBoost the Table's own column buffers (a columnar __array_interface__ per
// column): no row-major copy is made on our side; XGBoost builds its internal representation
// once. Only an Int64 column with nulls is converted (to Float64 with NaN for the nulls), since
// its null slots hold 0. NaN is read as missing.
//
// Thread-safety: a DMatrix is not modified after construction; XGBoost reads it concurrently.
// In distributed training (XGCommunicatorInit on this thread) construction is a collective
// step: every worker must create the same DMatrices in the same order.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/table.h"

namespace raypipe::ml {

class DMatrix {
 public:
  struct Options {
    // Threads XGBoost uses to build it; 0 = XGBoost's default (all cores).
    int nthread = 0;
  };

  // Features are `features` (in that order) of `table`; the label (when `label` is not empty)
  // is that column. NotFound names a missing column; InvalidArgument a String column.
  static Result<std::unique_ptr<DMatrix>> FromTable(const data::Table& table,
                                                    const std::vector<std::string>& features,
                                                    std::string_view label);
  static Result<std::unique_ptr<DMatrix>> FromTable(const data::Table& table,
                                                    const std::vector<std::string>& features,
                                                    std::string_view label,
                                                    const Options& options);
  // Row-major `rows` (num_rows x num_cols); `labels` empty or num_rows values.
  // InvalidArgument when the sizes disagree.
  static Result<std::unique_ptr<DMatrix>> FromDense(std::span<const float> rows, size_t num_rows,
                                                    size_t num_cols,
                                                    std::span<const float> labels = {});

  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  ~DMatrix();

  // The XGBoost handle (a DMatrixHandle), owned by this object.
  void* handle() const { return handle_; }
  size_t num_rows() const { return num_rows_; }
  size_t num_cols() const { return num_cols_; }

 private:
  DMatrix(void* handle, size_t num_rows, size_t num_cols)
      : handle_(handle), num_rows_(num_rows), num_cols_(num_cols) {}

  void* handle_;
  size_t num_rows_;
  size_t num_cols_;
};

}  // namespace raypipe::ml
