#pragma once
// Helpers of the morphology tests: a naive reference written from the definition (independent of
// the library's runs, plans and schedules), test images, and OpenCV wrappers.
//
// The reference pads nothing and decides per cell: dst(y, x) = op over the element's set cells
// (ex, ey) of src(y + ey - ay, x + ex - ax), a cell outside the image reading the border value
// (0 / 255 for u8, -FLT_MAX / +FLT_MAX for f32), `iterations` times; the compound operations
// follow cv::morphologyEx.

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "test_util.hpp"
#include "vbatch/morph/mask.hpp"
#include "vbatch/morph/morphology.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/imgproc.hpp>
#endif

namespace morph_test {

namespace vb = vbatch;
namespace morph = vbatch::morph;
using vb::u8;

// An element as the reference sees it: a grid of cells and an anchor.
struct grid {
  int w = 1, h = 1, ax = 0, ay = 0;
  std::vector<u8> cells;

  static grid of(const morph::structuring_element& e) { return {e.width(), e.height(), e.anchor().x, e.anchor().y, e.cells()}; }
  bool symmetric() const {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        if (!cells[y * w + x]) continue;
        const int mx = 2 * ax - x, my = 2 * ay - y;
        if (mx < 0 || mx >= w || my < 0 || my >= h || !cells[my * w + mx]) return false;
      }
    return true;
  }
};

template <class T>
T border_of(bool dilate) {
  if constexpr (std::is_same_v<T, u8>)
    return dilate ? 0 : 255;
  else
    return dilate ? -FLT_MAX : FLT_MAX;
}

template <class T>
vb::batch_buffer<T> reference_basic(vb::batch_view<const T> src, const grid& g, bool dilate, int iterations) {
  vb::batch_buffer<T> cur(src.shape()), next(src.shape());  // (N,H,W,C)
  for (int i = 0; i < src.n; ++i)
    for (int y = 0; y < src.h; ++y)
      for (int x = 0; x < src.w; ++x)
        for (int c = 0; c < src.c; ++c) cur.view()(i, y, x, c) = src(i, y, x, c);
  for (int it = 0; it < iterations; ++it) {
    const vb::batch_view<const T> in = cur.view();
    const vb::batch_view<T> out = next.view();
    for (int i = 0; i < src.n; ++i)
      for (int y = 0; y < src.h; ++y)
        for (int x = 0; x < src.w; ++x)
          for (int c = 0; c < src.c; ++c) {
            bool have = false;
            T best{};
            for (int ey = 0; ey < g.h; ++ey)
              for (int ex = 0; ex < g.w; ++ex) {
                if (!g.cells[ey * g.w + ex]) continue;
                const int yy = y + ey - g.ay, xx = x + ex - g.ax;
                const bool inside = yy >= 0 && yy < src.h && xx >= 0 && xx < src.w;
                const T v = inside ? in(i, yy, xx, c) : border_of<T>(dilate);
                if (!have || (dilate ? v > best : v < best)) best = v;
                have = true;
              }
            out(i, y, x, c) = best;
          }
    std::swap(cur, next);
  }
  return cur;
}

template <class T>
T subtract(T a, T b) {
  if constexpr (std::is_same_v<T, u8>)
    return a > b ? static_cast<u8>(a - b) : u8(0);
  else
    return a - b;
}

template <class T>
vb::batch_buffer<T> difference(vb::batch_view<const T> a, vb::batch_view<const T> b) {
  vb::batch_buffer<T> out(a.shape());
  for (std::int64_t k = 0; k < a.shape().elements(); ++k) out.data()[k] = subtract(a.data[k], b.data[k]);
  return out;
}

// The reference of every operation (src must be dense).
template <class T>
vb::batch_buffer<T> reference(morph::operation op, vb::batch_view<const T> src, const grid& g, int iterations = 1) {
  using morph::operation;
  switch (op) {
    case operation::erode:
      return reference_basic(src, g, false, iterations);
    case operation::dilate:
      return reference_basic(src, g, true, iterations);
    case operation::open: {
      const auto e = reference_basic(src, g, false, iterations);
      return reference_basic(e.view(), g, true, iterations);
    }
    case operation::close: {
      const auto d = reference_basic(src, g, true, iterations);
      return reference_basic(d.view(), g, false, iterations);
    }
    case operation::gradient: {
      const auto d = reference_basic(src, g, true, iterations), e = reference_basic(src, g, false, iterations);
      return difference(d.view(), e.view());
    }
    case operation::tophat: {
      const auto o = reference(operation::open, src, g, iterations);
      return difference(src, o.view());
    }
    case operation::blackhat: {
      const auto c = reference(operation::close, src, g, iterations);
      return difference(c.view(), src);
    }
  }
  return {};
}

inline constexpr morph::operation all_operations[] = {
    morph::operation::erode,    morph::operation::dilate, morph::operation::open,    morph::operation::close,
    morph::operation::gradient, morph::operation::tophat, morph::operation::blackhat};

// The algorithms that accept this element and image type on the CPU.
inline std::vector<morph::algorithm> algorithms_for(const morph::structuring_element& e, bool u8_one_channel) {
  std::vector<morph::algorithm> out{morph::algorithm::automatic, morph::algorithm::direct, morph::algorithm::segments,
                                    morph::algorithm::segment_levels};
  if (e.is_rect()) out.insert(out.end(), {morph::algorithm::separable, morph::algorithm::van_herk});
  if (u8_one_channel) out.push_back(morph::algorithm::packed);
  return out;
}

// ---- images ---------------------------------------------------------------------------------------

// A 0/`on` mask: sparse dots plus a few filled rectangles, so that dilation, erosion, open and
// close all have structure to work on (uniform noise dilates to all-on at once).
inline vb::batch_buffer<u8> random_mask(vb::batch_shape s, unsigned seed, u8 on = 255, int dot_odds = 23) {
  vb::batch_buffer<u8> m(s);  // (N,H,W,C)
  std::mt19937 rng(seed);
  const vb::batch_view<u8> v = m.view();
  for (int i = 0; i < s.n; ++i) {
    for (int y = 0; y < s.h; ++y)
      for (int x = 0; x < s.w; ++x)
        for (int c = 0; c < s.c; ++c) v(i, y, x, c) = rng() % dot_odds == 0 ? on : 0;
    for (int r = 0; r < 3; ++r) {
      const int bw = 1 + static_cast<int>(rng() % std::max(1, s.w / 3)), bh = 1 + static_cast<int>(rng() % std::max(1, s.h / 3));
      const int bx = static_cast<int>(rng() % s.w), by = static_cast<int>(rng() % s.h);
      for (int y = by; y < std::min(s.h, by + bh); ++y)
        for (int x = bx; x < std::min(s.w, bx + bw); ++x)
          for (int c = 0; c < s.c; ++c) v(i, y, x, c) = on;
    }
  }
  return m;
}

template <class T>
vb::batch_buffer<T> random_gray(vb::batch_shape s, unsigned seed) {
  return vbatch_test::random_images<T>(s, seed);
}

// A random element: random size (1..max_side), random cells (at least one), random anchor.
inline morph::structuring_element random_element(std::mt19937& rng, int max_side, bool anchor_set = false) {
  const int w = 1 + static_cast<int>(rng() % max_side), h = 1 + static_cast<int>(rng() % max_side);
  std::vector<u8> cells(std::size_t(w) * h);
  for (u8& c : cells) c = rng() % 3 != 0;
  const morph::point anchor{static_cast<int>(rng() % w), static_cast<int>(rng() % h)};
  cells[rng() % cells.size()] = 1;
  if (anchor_set) cells[std::size_t(anchor.y) * w + anchor.x] = 1;
  return morph::custom(w, h, cells, anchor);
}

template <class T>
::testing::AssertionResult same_images(vb::batch_view<const T> got, vb::batch_view<const T> want) {
  if (got.shape() != want.shape()) return ::testing::AssertionFailure() << "shapes differ";
  std::int64_t differ = 0;
  int fi = -1, fy = 0, fx = 0, fc = 0;
  for (int i = 0; i < got.n; ++i)
    for (int y = 0; y < got.h; ++y)
      for (int x = 0; x < got.w; ++x)
        for (int c = 0; c < got.c; ++c)
          if (got(i, y, x, c) != want(i, y, x, c)) {
            if (differ++ == 0) fi = i, fy = y, fx = x, fc = c;
          }
  if (differ == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << differ << " values differ; first at (n=" << fi << ", y=" << fy << ", x=" << fx
                                       << ", c=" << fc << "): got " << +got(fi, fy, fx, fc) << ", want " << +want(fi, fy, fx, fc);
}

template <class T>
::testing::AssertionResult same_images(const vb::batch_buffer<T>& got, const vb::batch_buffer<T>& want) {
  return same_images<T>(got.view(), want.view());
}

// ---- OpenCV ---------------------------------------------------------------------------------------

#if VBATCH_HAVE_OPENCV
template <class T>
int cv_type(int channels) {
  return std::is_same_v<T, u8> ? CV_8UC(channels) : CV_32FC(channels);
}

// Image i of a dense view as a cv::Mat sharing its memory.
template <class T>
cv::Mat as_mat(vb::batch_view<T> v, int i) {
  return cv::Mat(v.h, v.w, cv_type<std::remove_const_t<T>>(v.c), const_cast<std::remove_const_t<T>*>(v.pixel(i, 0, 0)),
                 std::size_t(v.stride_h) * sizeof(T));
}

inline cv::Mat cv_kernel(const morph::structuring_element& e) {
  const std::vector<u8> cells = e.cells();
  return cv::Mat(e.height(), e.width(), CV_8U, const_cast<u8*>(cells.data())).clone();
}

inline int cv_op(morph::operation op) {
  switch (op) {
    case morph::operation::erode:
      return cv::MORPH_ERODE;
    case morph::operation::dilate:
      return cv::MORPH_DILATE;
    case morph::operation::open:
      return cv::MORPH_OPEN;
    case morph::operation::close:
      return cv::MORPH_CLOSE;
    case morph::operation::gradient:
      return cv::MORPH_GRADIENT;
    case morph::operation::tophat:
      return cv::MORPH_TOPHAT;
    case morph::operation::blackhat:
      return cv::MORPH_BLACKHAT;
  }
  return -1;
}

// OpenCV's result for every image of src (dilate/erode through cv::dilate/cv::erode, the rest
// through cv::morphologyEx), with its default border.
template <class T>
vb::batch_buffer<T> opencv(morph::operation op, vb::batch_view<const T> src, const morph::structuring_element& e,
                           int iterations = 1) {
  vb::batch_buffer<T> out(src.shape());  // (N,H,W,C)
  const cv::Mat kernel = cv_kernel(e);
  const cv::Point anchor(e.anchor().x, e.anchor().y);
  for (int i = 0; i < src.n; ++i) {
    const cv::Mat in = as_mat(src, i);
    cv::Mat result = as_mat(out.view(), i);
    if (op == morph::operation::dilate)
      cv::dilate(in, result, kernel, anchor, iterations);
    else if (op == morph::operation::erode)
      cv::erode(in, result, kernel, anchor, iterations);
    else
      cv::morphologyEx(in, result, cv_op(op), kernel, anchor, iterations);
    EXPECT_EQ(result.data, reinterpret_cast<u8*>(out.view().pixel(i, 0, 0))) << "OpenCV reallocated its output";
  }
  return out;
}
#endif

}  // namespace morph_test
