#pragma once
// The per-pixel bodies of morphology: VBATCH_HOST_DEVICE functors that every executor runs
// (cpu_serial, cpu_par and, under nvcc, cuda). They are the reference algorithms and the GPU's:
//
//   direct_kernel        max/min over every cell of the element, run by run: O(cells) per pixel
//   row_pass_kernel      max/min over one horizontal run    } a rectangle in two passes:
//   column_pass_kernel   max/min over one vertical run      } O(width + height) per pixel
//   difference_kernel    a - b (saturated for u8): gradient, top-hat, black-hat
//
// Semantics are OpenCV's default border for dilate/erode (BORDER_CONSTANT with
// morphologyDefaultBorderValue()): outside the image is -inf for dilation and +inf for erosion,
// converted to the element type, so it never wins inside the image: 0 / 255 for u8, -FLT_MAX /
// +FLT_MAX for f32 (which only shows where an element lies wholly outside the image, or next to
// infinite pixels). The CPU's faster schedules (morph/cpu/) compute exactly these values.

#include <cfloat>
#include <cmath>
#include <type_traits>

#include "vbatch/core/config.hpp"
#include "vbatch/core/element.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/morph/element.hpp"

namespace vbatch::inline v0::morph {

// The two basic operations as policy types. a > b ? a : b (and a < b ? a : b) are the SIMD max/min
// instructions' own rule, so the scalar and vector code pick the same operand for ties (+0 / -0).
struct dilate_op {
  static constexpr bool is_dilate = true;
  template <class T>
  VBATCH_HOST_DEVICE static T apply(T a, T b) {
    return a > b ? a : b;
  }
};
struct erode_op {
  static constexpr bool is_dilate = false;
  template <class T>
  VBATCH_HOST_DEVICE static T apply(T a, T b) {
    return a < b ? a : b;
  }
};

// What lies outside the image (OpenCV's morphologyDefaultBorderValue() converted to T).
template <class T, class Op>
VBATCH_HOST_DEVICE constexpr T border_value() {
  if constexpr (std::is_same_v<T, u8>)
    return Op::is_dilate ? T(0) : T(255);
  else
    return Op::is_dilate ? -FLT_MAX : FLT_MAX;
}

// The neutral element of the operation (no cell seen yet).
template <class T, class Op>
VBATCH_HOST_DEVICE constexpr T identity_value() {
  if constexpr (std::is_same_v<T, u8>)
    return Op::is_dilate ? T(0) : T(255);
  else
    return Op::is_dilate ? -INFINITY : INFINITY;
}

// dst(i, y, x) = op over the element's cells of src(i, y + dy, x + x0 + t); cells outside the image
// read the border value. `runs` points to `count` segments in the executor's memory.
template <class T, class Op>
struct direct_kernel {
  batch_view<const T> src;  // (N,H,W,C)
  batch_view<T> dst;        // (N,H,W,C)
  const segment* runs;
  int count;

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    T acc[4];
    for (int c = 0; c < 4; ++c) acc[c] = identity_value<T, Op>();
    bool outside = false;
    for (int k = 0; k < count; ++k) {
      const segment s = runs[k];
      const int yy = y + s.dy;
      if (yy < 0 || yy >= src.h) {
        outside = true;
        continue;
      }
      int first = x + s.x0, end = first + s.length;
      if (first < 0) outside = true, first = 0;
      if (end > src.w) outside = true, end = src.w;
      for (int xx = first; xx < end; ++xx) {
        const T* p = src.pixel(i, yy, xx);
        for (int c = 0; c < src.c; ++c) acc[c] = Op::apply(acc[c], p[c]);
      }
    }
    T* out = dst.pixel(i, y, x);
    for (int c = 0; c < src.c; ++c) out[c] = outside ? Op::apply(acc[c], border_value<T, Op>()) : acc[c];
  }
};

// dst(i, y, x) = op over src(i, y, x + x0 .. x + x0 + length - 1): the horizontal pass of a rectangle.
template <class T, class Op>
struct row_pass_kernel {
  batch_view<const T> src;  // (N,H,W,C)
  batch_view<T> dst;        // (N,H,W,C)
  int x0, length;

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    int first = x + x0, end = first + length;
    const bool outside = first < 0 || end > src.w;
    first = first < 0 ? 0 : first;
    end = end > src.w ? src.w : end;
    T* out = dst.pixel(i, y, x);
    for (int c = 0; c < src.c; ++c) {
      T acc = outside ? border_value<T, Op>() : identity_value<T, Op>();
      for (int xx = first; xx < end; ++xx) acc = Op::apply(acc, src(i, y, xx, c));
      out[c] = acc;
    }
  }
};

// dst(i, y, x) = op over src(i, y + dy0 .. y + dy0 + height - 1, x): the vertical pass.
template <class T, class Op>
struct column_pass_kernel {
  batch_view<const T> src;  // (N,H,W,C)
  batch_view<T> dst;        // (N,H,W,C)
  int dy0, height;

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    int first = y + dy0, end = first + height;
    const bool outside = first < 0 || end > src.h;
    first = first < 0 ? 0 : first;
    end = end > src.h ? src.h : end;
    T* out = dst.pixel(i, y, x);
    for (int c = 0; c < src.c; ++c) {
      T acc = outside ? border_value<T, Op>() : identity_value<T, Op>();
      for (int yy = first; yy < end; ++yy) acc = Op::apply(acc, src(i, yy, x, c));
      out[c] = acc;
    }
  }
};

// dst = a - b, saturated at 0 for u8 (as cv::subtract): morphologyEx's gradient, top-hat, black-hat.
template <class T>
struct difference_kernel {
  batch_view<const T> a, b;  // (N,H,W,C)
  batch_view<T> dst;         // (N,H,W,C)

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    const T* pa = a.pixel(i, y, x);
    const T* pb = b.pixel(i, y, x);
    T* out = dst.pixel(i, y, x);
    for (int c = 0; c < a.c; ++c) {
      if constexpr (std::is_same_v<T, u8>)
        out[c] = pa[c] > pb[c] ? static_cast<u8>(pa[c] - pb[c]) : u8(0);
      else
        out[c] = pa[c] - pb[c];
    }
  }
};

template <class T>
struct copy_kernel {
  batch_view<const T> src;  // (N,H,W,C)
  batch_view<T> dst;        // (N,H,W,C)

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    const T* p = src.pixel(i, y, x);
    T* out = dst.pixel(i, y, x);
    for (int c = 0; c < src.c; ++c) out[c] = p[c];
  }
};

}  // namespace vbatch::inline v0::morph
