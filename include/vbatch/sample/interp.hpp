#pragma once
// Interpolation and border policies, and the per-pixel sampler that combines them.
//
// Interpolation tags: interp::nearest, interp::bilinear, interp::bilinear_exact, interp::bicubic{a}
// (Keys' cubic; a = -0.75 matches OpenCV's INTER_CUBIC and PyTorch, a = -0.5 is Catmull-Rom).
// The two bilinears differ on u8 images only: bilinear (fast) rounds the point to 1/128 pixel and
// sums in integers (SIMD on the CPU); bilinear_exact weights the map's point in float and rounds
// once. On f32 images both interpolate in float.
// Border tags decide what a tap outside the source image reads:
//   border::clamp          the nearest edge pixel;
//   border::constant{v}    the value v in every channel;
//   border::wrap_equirect  longitude wraps around the ±180° seam, and rows past a pole continue
//                          on the opposite meridian (row -1 is row 0 shifted by W/2);
//   border::cube_seams     taps past a face edge read the neighbouring face (cube sources).
// Taps inside the image take a fast path; only footprints that cross an edge consult the border.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "vbatch/core/element.hpp"
#include "vbatch/sample/projection.hpp"

namespace vbatch::inline v0::sample {

namespace interp {
struct nearest {
  static constexpr const char* name = "nearest";
};
struct bilinear {
  static constexpr const char* name = "bilinear";
};
struct bilinear_exact {
  static constexpr const char* name = "bilinear_exact";
};
struct bicubic {
  static constexpr const char* name = "bicubic";
  float a = -0.75f;
};
}  // namespace interp

namespace border {
struct clamp {
  static constexpr const char* name = "clamp";
  VBATCH_HOST_DEVICE bool resolve(int&, int& x, int& y, int w, int h) const {
    x = x < 0 ? 0 : (x >= w ? w - 1 : x);
    y = y < 0 ? 0 : (y >= h ? h - 1 : y);
    return true;
  }
};

struct constant {
  static constexpr const char* name = "constant";
  float value = 0;
  VBATCH_HOST_DEVICE bool resolve(int&, int& x, int& y, int w, int h) const { return x >= 0 && x < w && y >= 0 && y < h; }
};

struct wrap_equirect {
  static constexpr const char* name = "wrap_equirect";
  VBATCH_HOST_DEVICE bool resolve(int&, int& x, int& y, int w, int h) const {
    if (y < 0 || y >= h) {  // over a pole: mirror the row, move to the opposite meridian
      y = y < 0 ? -1 - y : 2 * h - 1 - y;
      y = y < 0 ? 0 : (y >= h ? h - 1 : y);  // only for images a few rows high
      x += w / 2;
    }
    x %= w;
    if (x < 0) x += w;
    return true;
  }
};

// For cube sources: a tap past the edge of face f is moved onto the face its direction lands on,
// at the nearest pixel there.
struct cube_seams {
  static constexpr const char* name = "cube_seams";
  cube_source cube;
  VBATCH_HOST_DEVICE bool resolve(int& face, int& x, int& y, int w, int h) const {
    const sample_point<float> p = cube(cube.direction(face, float(x), float(y)));
    face = p.image;
    x = math::floor_to_int(p.x + 0.5f);
    y = math::floor_to_int(p.y + 0.5f);
    x = x < 0 ? 0 : (x >= w ? w - 1 : x);
    y = y < 0 ? 0 : (y >= h ? h - 1 : y);
    return true;
  }
};
}  // namespace border

// One frame's source images, as seen by the sampler: `images` images of w×h pixels.
template <class T>
struct source_images {
  const T* data;
  int w, h;
  std::ptrdiff_t stride_image, stride_h, stride_w;

  VBATCH_HOST_DEVICE const T* pixel(int image, int y, int x) const {
    return data + image * stride_image + y * stride_h + x * stride_w;
  }
};

// A sample point in fixed point: integer tap (x, y) plus fractions fx/128 and fy/128. Cached
// fixed-point maps store it in six bytes (see sample/map.hpp) and hand it to the sampler decoded.
// Seven fraction bits keep every u8 bilinear partial sum within 16 bits (the SIMD path's
// multiply-adds); positions are exact to 1/256 pixel (OpenCV's fixed-point remap: 1/64).
struct fixed_sample_point {
  int image;
  int x, y;
  int fx, fy;  // 0..fixed_one-1
};
inline constexpr int fixed_bits = 7;
inline constexpr int fixed_one = 1 << fixed_bits;
inline constexpr int fixed_tap_limit = 32000;  // stored taps are int16: sources up to this size

VBATCH_HOST_DEVICE inline sample_point<float> to_float(fixed_sample_point p) {
  return {p.image, p.x + p.fx * (1.0f / fixed_one), p.y + p.fy * (1.0f / fixed_one)};
}

// Rounds a point to the fixed-point grid: integer tap plus fraction in [0, fixed_one), the
// nearest step except just below .5: a true fraction in [63.5, 64)/128 becomes 63, so that
// nearest on a fixed point (fx >= fixed_one / 2) picks floor(v + 0.5) of the unrounded point.
// Bilinear loses up to 1/128 pixel in that band (1/256 elsewhere). A fraction within 1e-9 px
// below .5 counts as .5 (double maps carry ~1e-13 px of noise, so an exact geometric tie lands
// on either side; float points are never that close). Map building and the CPU's row
// conversion of float maps both call this, so every path sees the same fixed point.
template <class R>
VBATCH_HOST_DEVICE inline fixed_sample_point to_fixed(sample_point<R> p) {
  const auto round = [](R v, int& tap, int& fraction) {
    constexpr int half = fixed_one / 2;
    tap = math::floor_to_int(v);
    const R scaled = (v - R(tap)) * R(fixed_one);  // exact: v - floor(v) and a power of two
    fraction = static_cast<int>(scaled + R(0.5));
    if (fraction == half && scaled < R(half - fixed_one * 1e-9)) fraction = half - 1;
    if (fraction == fixed_one) ++tap, fraction = 0;  // from >= 127.5: nearest is tap + 1 either way
  };
  fixed_sample_point f{p.image, 0, 0, 0, 0};
  round(p.x, f.x, f.fx);
  round(p.y, f.y, f.fy);
  return f;
}

namespace detail {

// What a tap outside the image reads when the border does not move it inside.
template <class Border>
VBATCH_HOST_DEVICE inline float outside_value(const Border&) {
  return 0.0f;
}
VBATCH_HOST_DEVICE inline float outside_value(const border::constant& b) { return b.value; }

// The outside value as an element, the way a pixel would hold it (u8: rounded, saturated), so
// every sampling path sees the same constant.
template <class T, class Border>
VBATCH_HOST_DEVICE inline T border_value(const Border& border) {
  return to_element<T>(outside_value(border));
}

// Keys' cubic convolution weights for the taps at -1, 0, 1, 2 given the fraction t in [0, 1).
VBATCH_HOST_DEVICE inline void cubic_weights(float t, float a, float (&w)[4]) {
  const float t1 = t + 1, u = 1 - t, u1 = u + 1;
  w[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
  w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  w[2] = ((a + 2) * u - (a + 3)) * u * u + 1;
  w[3] = ((a * u1 - 5 * a) * u1 + 8 * a) * u1 - 4 * a;
}

// Weighted sum over a K×K footprint whose top-left tap is (x0, y0) on `image`, separable: each
// row is weighted by wx, then the rows by wy. Acc and W are int for the fixed-point bilinear
// path (exact: every partial sum fits in 32 bits), float otherwise.
template <int K, int C, class Acc, class W, class T, class Border>
VBATCH_HOST_DEVICE inline void accumulate(const source_images<T>& src, const Border& border, int image, int x0, int y0,
                                          const W (&wx)[K], const W (&wy)[K], Acc (&acc)[C]) {
  for (int c = 0; c < C; ++c) acc[c] = 0;
  if (x0 >= 0 && y0 >= 0 && x0 + K <= src.w && y0 + K <= src.h) {
    const T* row = src.pixel(image, y0, x0);
    for (int j = 0; j < K; ++j, row += src.stride_h) {
      Acc h[C] = {};
      for (int i = 0; i < K; ++i)
        for (int c = 0; c < C; ++c) h[c] += static_cast<Acc>(row[i * src.stride_w + c]) * wx[i];
      for (int c = 0; c < C; ++c) acc[c] += h[c] * wy[j];
    }
    return;
  }
  for (int j = 0; j < K; ++j) {
    Acc h[C] = {};
    for (int i = 0; i < K; ++i) {
      int face = image, x = x0 + i, y = y0 + j;
      if (border.resolve(face, x, y, src.w, src.h)) {
        const T* p = src.pixel(face, y, x);
        for (int c = 0; c < C; ++c) h[c] += static_cast<Acc>(p[c]) * wx[i];
      } else {
        for (int c = 0; c < C; ++c) h[c] += static_cast<Acc>(border_value<T>(border)) * wx[i];
      }
    }
    for (int c = 0; c < C; ++c) acc[c] += h[c] * wy[j];
  }
}

// Splits a sample point into the top-left integer tap and the fraction.
template <class R>
VBATCH_HOST_DEVICE inline void split(R v, int& i, float& frac) {
  i = math::floor_to_int(v);
  frac = static_cast<float>(v - static_cast<R>(i));
}

// The K×K footprint of float interpolation at a point: its top-left tap and its separable weights.
template <int K>
struct footprint {
  int x0, y0;
  float wx[K], wy[K];
};
template <class R>
VBATCH_HOST_DEVICE inline footprint<2> footprint_of(interp::bilinear, sample_point<R> p) {
  footprint<2> f;
  float ax, ay;
  split(p.x, f.x0, ax);
  split(p.y, f.y0, ay);
  f.wx[0] = 1 - ax, f.wx[1] = ax, f.wy[0] = 1 - ay, f.wy[1] = ay;
  return f;
}
template <class R>
VBATCH_HOST_DEVICE inline footprint<4> footprint_of(interp::bicubic b, sample_point<R> p) {
  footprint<4> f;
  float ax, ay;
  split(p.x, f.x0, ax);
  split(p.y, f.y0, ay);
  cubic_weights(ax, b.a, f.wx);
  cubic_weights(ay, b.a, f.wy);
  f.x0 -= 1, f.y0 -= 1;
  return f;
}
// bilinear_exact weights as bilinear does in float; fixed-point points are decoded first (exact).
template <class R>
VBATCH_HOST_DEVICE inline footprint<2> footprint_of(interp::bilinear_exact, sample_point<R> p) {
  return footprint_of(interp::bilinear{}, p);
}
template <class Interp>
VBATCH_HOST_DEVICE inline auto footprint_of(Interp i, fixed_sample_point p) {
  return footprint_of(i, to_float(p));
}

// Bilinear (either precision) and bicubic in float, unrounded: what their float paths and
// bilinear_exact round once, and what p2e blends before its one rounding.
template <int C, class Interp, class T, class Border, class R>
VBATCH_HOST_DEVICE inline void interpolate(Interp i, const source_images<T>& src, const Border& border, sample_point<R> p,
                                           float (&acc)[C]) {
  const auto f = footprint_of(i, p);
  accumulate(src, border, p.image, f.x0, f.y0, f.wx, f.wy, acc);
}

// Copies the C channels of pixel (x, y) of image `face`, through the border when outside.
template <int C, class T, class Border>
VBATCH_HOST_DEVICE inline void copy_pixel(const source_images<T>& src, const Border& border, int face, int x, int y, T* out) {
  if (x < 0 || y < 0 || x >= src.w || y >= src.h) {
    if (!border.resolve(face, x, y, src.w, src.h)) {
      for (int c = 0; c < C; ++c) out[c] = detail::border_value<T>(border);
      return;
    }
  }
  const T* s = src.pixel(face, y, x);
  for (int c = 0; c < C; ++c) out[c] = s[c];
}
}  // namespace detail

// The pixel nearest sampling reads for a point, before the border moves it inside: floor(v + 0.5)
// of a float point; of a fixed-point one, the tap or its neighbour by the rounded fraction.
struct nearest_pixel {
  int image, x, y;
};
template <class R>
VBATCH_HOST_DEVICE inline nearest_pixel nearest_of(sample_point<R> p) {
  return {p.image, math::floor_to_int(p.x + R(0.5)), math::floor_to_int(p.y + R(0.5))};
}
VBATCH_HOST_DEVICE inline nearest_pixel nearest_of(fixed_sample_point p) {
  constexpr int half = fixed_one / 2;
  return {p.image, p.x + (p.fx >= half), p.y + (p.fy >= half)};
}

// Samples C channels at point p into out[0..C).
template <int C, class T, class Border, class Point>
VBATCH_HOST_DEVICE inline void sample(interp::nearest, const source_images<T>& src, const Border& border, Point p, T* out) {
  const nearest_pixel n = nearest_of(p);
  detail::copy_pixel<C>(src, border, n.image, n.x, n.y, out);
}

// u8 images take the fixed-point path whatever the map (weights in 1/128 pixel, exact integer
// arithmetic, as OpenCV's u8 remap quantises to 1/32); f32 images interpolate in float.
template <int C, class T, class Border, class R>
VBATCH_HOST_DEVICE inline void sample(interp::bilinear b, const source_images<T>& src, const Border& border, sample_point<R> p,
                                      T* out) {
  if constexpr (std::is_same_v<T, u8>) {
    sample<C>(b, src, border, to_fixed(p), out);
  } else {
    float acc[C];
    detail::interpolate<C>(b, src, border, p, acc);
    for (int c = 0; c < C; ++c) out[c] = acc[c];
  }
}

// Float weights from the point as the map gives it, one rounding at the end (half up, saturating:
// as scipy's map_coordinates writes u8). f32 images: the same as bilinear.
template <int C, class T, class Border, class R>
VBATCH_HOST_DEVICE inline void sample(interp::bilinear_exact b, const source_images<T>& src, const Border& border,
                                      sample_point<R> p, T* out) {
  float acc[C];
  detail::interpolate<C>(b, src, border, p, acc);
  for (int c = 0; c < C; ++c) out[c] = to_element<T>(acc[c]);
}

template <int C, class T, class Border, class R>
VBATCH_HOST_DEVICE inline void sample(interp::bicubic b, const source_images<T>& src, const Border& border, sample_point<R> p,
                                      T* out) {
  float acc[C];
  detail::interpolate<C>(b, src, border, p, acc);
  for (int c = 0; c < C; ++c) out[c] = to_element<T>(acc[c]);
}

// Fixed-point sample points: bilinear on u8 stays in integers (weights in 1/2^14, exact
// rounding); the other cases convert the fraction to float.

template <int C, class T, class Border>
VBATCH_HOST_DEVICE inline void sample(interp::bilinear b, const source_images<T>& src, const Border& border, fixed_sample_point p,
                                      T* out) {
  if constexpr (std::is_same_v<T, u8>) {
    const int wx[2] = {fixed_one - p.fx, p.fx}, wy[2] = {fixed_one - p.fy, p.fy};
    int acc[C];
    detail::accumulate<2, C>(src, border, p.image, p.x, p.y, wx, wy, acc);
    constexpr int shift = 2 * fixed_bits, round = 1 << (shift - 1);
    for (int c = 0; c < C; ++c) out[c] = static_cast<u8>((acc[c] + round) >> shift);
  } else {
    sample<C>(b, src, border, to_float(p), out);
  }
}

// The decoded point (exact in float): on u8 the value is the fixed-point path's, as both are exact.
template <int C, class T, class Border>
VBATCH_HOST_DEVICE inline void sample(interp::bilinear_exact b, const source_images<T>& src, const Border& border,
                                      fixed_sample_point p, T* out) {
  sample<C>(b, src, border, to_float(p), out);
}

template <int C, class T, class Border>
VBATCH_HOST_DEVICE inline void sample(interp::bicubic b, const source_images<T>& src, const Border& border, fixed_sample_point p,
                                      T* out) {
  sample<C>(b, src, border, to_float(p), out);
}

}  // namespace vbatch::inline v0::sample
