#pragma once
// What models take and give: dense N×C×H×W tensors (the layout of ONNX, PyTorch and OpenCV DNN
// blobs) and row-major matrices (N embeddings of dimension D, N×K scores). Views, like
// batch_view: they own nothing and work in device code.
//
//   vbatch::model::tensor_view<float> blob{data, n, 3, 224, 224};   // (N,3,224,224)
//   float v = blob(i, c, y, x);
//   vbatch::model::matrix_view<const float> e{embeddings, n, 512};   // (N,512), row i at e.row(i)

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "vbatch/core/config.hpp"

namespace vbatch::inline v0::model {

template <class T>
struct tensor_view {
  T* data = nullptr;
  int n = 0, c = 0, h = 0, w = 0;

  VBATCH_HOST_DEVICE std::int64_t elements() const { return std::int64_t{n} * c * h * w; }
  VBATCH_HOST_DEVICE std::int64_t item_elements() const { return std::int64_t{c} * h * w; }
  VBATCH_HOST_DEVICE T& operator()(int i, int ch, int y, int x) const {
    return data[((std::int64_t{i} * c + ch) * h + y) * w + x];
  }
  // Items [first, first + count), for running a model on part of a batch.
  tensor_view items(int first, int count) const { return {data + first * item_elements(), count, c, h, w}; }
  template <class U = T>
  requires(!std::is_const_v<U>) operator tensor_view<const U>() const { return {data, n, c, h, w}; }
};

template <class T>
struct matrix_view {
  T* data = nullptr;
  int rows = 0, cols = 0;
  std::int64_t stride = 0;  // elements from one row to the next; 0: cols (dense)

  VBATCH_HOST_DEVICE std::int64_t row_stride() const { return stride > 0 ? stride : cols; }
  VBATCH_HOST_DEVICE T* row(int r) const { return data + r * row_stride(); }
  VBATCH_HOST_DEVICE T& operator()(int r, int col) const { return row(r)[col]; }
  matrix_view rows_of(int first, int count) const { return {row(first), count, cols, row_stride()}; }
  template <class U = T>
  requires(!std::is_const_v<U>) operator matrix_view<const U>() const { return {data, rows, cols, stride}; }
};

}  // namespace vbatch::inline v0::model
