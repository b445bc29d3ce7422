#pragma once
// batch_view: a non-owning N×H×W×C view of images with strides, usable in device code.
//
// Channels of a pixel are contiguous (channel stride 1); rows, pixels and images may be strided,
// so a view can describe a crop, one image of a batch, or a face inside a cube-map layout without
// copying. Strides count elements, not bytes.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "vbatch/core/config.hpp"
#include "vbatch/core/element.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0 {

struct batch_shape {
  int n = 0, h = 0, w = 0, c = 0;

  constexpr std::int64_t elements() const { return std::int64_t{n} * h * w * c; }
  friend constexpr bool operator==(const batch_shape&, const batch_shape&) = default;
};

template <class T>
struct batch_view {
  using element_type = T;

  T* data = nullptr;
  int n = 0, h = 0, w = 0, c = 0;
  std::ptrdiff_t stride_n = 0, stride_h = 0, stride_w = 0;

  // A view of densely packed images (C fastest, then W, H, N).
  static constexpr batch_view dense(T* data, batch_shape s) {
    const std::ptrdiff_t sw = s.c, sh = sw * s.w, sn = sh * s.h;
    return {data, s.n, s.h, s.w, s.c, sn, sh, sw};
  }

  constexpr batch_shape shape() const { return {n, h, w, c}; }
  constexpr bool empty() const { return n == 0 || h == 0 || w == 0 || c == 0; }
  constexpr std::int64_t pixels() const { return std::int64_t{n} * h * w; }
  constexpr bool is_dense() const { return stride_w == c && stride_h == stride_w * w && stride_n == stride_h * h; }

  VBATCH_HOST_DEVICE T* pixel(int i, int y, int x) const { return data + i * stride_n + y * stride_h + x * stride_w; }
  VBATCH_HOST_DEVICE T& operator()(int i, int y, int x, int ch) const { return pixel(i, y, x)[ch]; }

  // Images [first, first + count) of the batch.
  constexpr batch_view images(int first, int count) const {
    batch_view v = *this;
    v.data = data + first * stride_n;
    v.n = count;
    return v;
  }
  constexpr batch_view image(int i) const { return images(i, 1); }

  // The rectangle [y, y + rows) × [x, x + cols) of every image.
  constexpr batch_view crop(int y, int x, int rows, int cols) const {
    batch_view v = *this;
    v.data = pixel(0, y, x);
    v.h = rows;
    v.w = cols;
    return v;
  }

  template <class U = T>
  requires(!std::is_const_v<U>) constexpr operator batch_view<const U>() const {
    return {data, n, h, w, c, stride_n, stride_h, stride_w};
  }
};

// Whether a view describes memory a kernel may touch: non-negative sizes, non-null data when
// not empty, channel count 1..4.
template <class T>
status can_access(const batch_view<T>& v, const char* what) {
  if (v.n < 0 || v.h < 0 || v.w < 0 || v.c < 0)
    return fail(errc::invalid_argument, "{}: negative size {}x{}x{}x{} (N,H,W,C)", what, v.n, v.h, v.w, v.c);
  if (v.empty()) return status::success();
  if (v.data == nullptr) return fail(errc::invalid_argument, "{}: null data for a {}x{}x{}x{} view", what, v.n, v.h, v.w, v.c);
  if (v.c > 4) return fail(errc::invalid_argument, "{}: {} channels (1 to 4 supported)", what, v.c);
  if (v.stride_w < v.c) return fail(errc::invalid_argument, "{}: pixel stride {} < channels {}", what, v.stride_w, v.c);
  return status::success();
}

}  // namespace vbatch::inline v0
