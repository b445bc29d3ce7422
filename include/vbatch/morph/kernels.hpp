#pragma once
// The per-pixel bodies of morphology: VBATCH_HOST_DEVICE functors that every executor runs
// (cpu_serial, cpu_par and, under nvcc, cuda). They are the reference algorithms and the GPU's:
//
//   direct_kernel        max/min over every cell of the element, run by run: O(cells) per pixel
//   row_level_kernel     } any element from doubling levels of the rows (level l: op over 2^l
//   segment_levels_kernel} pixels): each run is the op of two level-l windows, O(runs + log w)
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
#include <cstdint>
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

// floor(log2(n)) for n >= 1: the level whose two windows cover a run of n pixels.
VBATCH_HOST_DEVICE inline int floor_log2(unsigned n) {
#if defined(__CUDA_ARCH__)
  return 31 - __clz(n);
#else
  return 31 - __builtin_clz(n);  // GCC and Clang, as the CPU schedules
#endif
}

// Level l of the rows from level l - 1 (level 0 is the image): next(x) = op(prev(x), prev(x + half))
// with half = 2^(l-1), so next(x) is the op over 2^l pixels from x. Where x + half is past the row
// (windows the runs never read) prev(x) is copied, so every byte is defined.
template <class T, class Op>
struct row_level_kernel {
  batch_view<const T> prev;  // (N,H,W,C) level l - 1
  batch_view<T> next;        // (N,H,W,C) level l, dense
  int half;

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    const T* a = prev.pixel(i, y, x);
    T* out = next.pixel(i, y, x);
    if (x + half < prev.w) {
      const T* b = prev.pixel(i, y, x + half);
      for (int c = 0; c < prev.c; ++c) out[c] = Op::apply(a[c], b[c]);
    } else {
      for (int c = 0; c < prev.c; ++c) out[c] = a[c];
    }
  }
};

// The result of direct_kernel from the row levels: a run's cells inside the image, first .. last
// (n of them), are the op of level l = floor(log2(n)) at first and at last - 2^l + 1, two windows
// of 2^l pixels that cover the run (overlapping: max and min do not count twice). Two reads per run
// instead of one per cell: a disk of radius r costs 2(2r + 1) reads, not ~3.1 r^2.
// `levels` holds levels 1 .. in dense (N,H,W,C) planes of `plane` values each; level 0 is src.
template <class T, class Op>
struct segment_levels_kernel {
  batch_view<const T> src;  // (N,H,W,C)
  const T* levels;          // (L,N,H,W,C) dense, levels 1 .. L
  std::int64_t plane;       // values per level: N*H*W*C
  batch_view<T> dst;        // (N,H,W,C)
  const segment* runs;
  int count;

  VBATCH_HOST_DEVICE const T* at(int level, int i, int y, int x) const {
    if (level == 0) return src.pixel(i, y, x);
    return levels + (level - 1) * plane + ((std::int64_t(i) * src.h + y) * src.w + x) * src.c;
  }

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
      int first = x + s.x0, last = first + s.length - 1;
      if (first < 0) outside = true, first = 0;
      if (last >= src.w) outside = true, last = src.w - 1;
      if (first > last) continue;  // wholly left or right of the image
      const int level = floor_log2(static_cast<unsigned>(last - first + 1));
      const T* a = at(level, i, yy, first);
      const T* b = at(level, i, yy, last - (1 << level) + 1);
      for (int c = 0; c < src.c; ++c) acc[c] = Op::apply(acc[c], Op::apply(a[c], b[c]));
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
