#pragma once
// Batched model preprocessing: crops of u8 source images to a normalised f32 or f16 (N,C,H,W)
// tensor in one pass per batch, on any executor (CPU or CUDA).
//
//   std::vector<model::crop> crops = {{.source = 0, .box = {10, 20, 110, 220}},          // a person box
//                                     {.source = 1, .landmarks = face_points}};           // an aligned face
//   model::tensor_view<float> blob{data, 2, 3, 112, 112};
//   auto maps = model::preprocess(exec, frames, crops, blob, {.mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f}});
//   source_point = maps[i](network_point);                                                // back to the frame
//
// Per output pixel: the source position (a stretch or letterbox resize of the crop box, or the
// 5-point similarity alignment), bilinear sampling in float, the channel order, normalisation,
// and the CHW store. Nothing is rounded to u8 on the way, so the result is the exact bilinear
// value, not OpenCV's fixed-point one (its u8 resize and warpAffine differ by up to about a level).
//
// Geometry. Boxes are continuous source coordinates (pixel x covers [x, x + 1)); an empty box is
// the whole image. The resize maps pixel centres as cv::resize INTER_LINEAR does on the cut-out crop
// (source = x1 + (x + 0.5) * box_width / width - 0.5) and replicates the crop's edge pixels, so a
// whole-pixel box equals cv::resize(image(box)); box pixels outside the image read the pad value.
// letterbox fits the box inside (width, height) keeping its aspect: content of round(box × r)
// pixels (r = min(width / box_w, height / box_h)), left/top padding (width - content) / 2 rounded
// down and the pad value around: Ultralytics' LetterBox (centred, scale up allowed).
// Alignment estimates, per crop on the host, the least-squares similarity (Umeyama: rotation,
// uniform scale, translation; no reflection) from the 5 landmarks to the template scaled to the
// output, and samples as cv::warpAffine(source, M, size, INTER_LINEAR, BORDER_CONSTANT, pad) does:
// the ArcFace / insightface norm_crop recipe. Landmarks and template are in warpAffine's pixel-
// index coordinates. Taps outside the image read the pad value.
//
// Values. Output channel k = (v * scale - mean[k]) / std[k], v the sampled value in 0..255 and
// mean/std in the network's channel order. The default scale 1/255 with torchvision's mean and
// std in [0, 1] is torchvision's Normalize after ToTensor; cv::dnn::blobFromImage(scalefactor s,
// mean m) is scale = 1, mean = m, std = 1 / s. Padding is the pixel value pad_value (114 for
// YOLO, 0 for faces) normalised like any pixel. Sources have 3 or 4 channels (the 4th is ignored)
// for a 3-channel output, or 1 for a 1-channel output; source_order and order say which of the
// first three is red, and the two are swapped when they differ (blobFromImage's swapRB).
//
// The arithmetic is rounded IEEE float operations in a fixed order (no fused multiply-adds on the
// GPU nor on the host), so every executor and thread count gives the same bytes. On the CPU, boxes
// run a row schedule (AVX2 or AVX-512 where the CPU has them) with those same operations; aligned
// faces, f16 outputs and the GPU run the per-pixel body. An f16 output holds the f32 values
// rounded to nearest even (vbatch::to_f16), for half-precision models.

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vbatch/boxes/box.hpp"
#include "vbatch/core/buffer.hpp"
#include "vbatch/core/element.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/model/tensor.hpp"

// nvcc compiles only the CUDA backend's translation units; they never run the CPU row schedule's SIMD.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define VBATCH_PREPROCESS_X86_SIMD 1
#include <immintrin.h>
#else
#define VBATCH_PREPROCESS_X86_SIMD 0
#endif

namespace vbatch::inline v0::model {

struct point2 {
  float x = 0, y = 0;
  friend constexpr bool operator==(const point2&, const point2&) = default;
};

// Five facial landmarks: left eye, right eye, nose tip, left and right mouth corners (the order of
// RetinaFace, SCRFD and MTCNN; "left" is the image's left).
using landmarks5 = std::array<point2, 5>;

// ArcFace's 112×112 template (insightface's arcface_dst), scaled to other output sizes.
inline constexpr landmarks5 arcface_template{
    {{38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f}, {41.5493f, 92.3655f}, {70.7299f, 92.2041f}}};

// One output item: where it comes from in the sources.
struct crop {
  int source = 0;                         // the image of the source batch
  boxes::box_xyxy box{};                  // source pixels; empty: the whole image
  std::optional<landmarks5> landmarks{};  // set: align the face to the template (box unused)
};

enum class resize_mode { stretch, letterbox };
enum class channel_order { rgb, bgr };

struct preprocess_options {
  resize_mode resize = resize_mode::stretch;
  float pad_value = 0;                              // the pixel value (0..255) of letterbox padding and of taps outside the image
  channel_order source_order = channel_order::rgb;  // of the source images
  channel_order order = channel_order::rgb;         // the network wants
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean{0, 0, 0}, std{1, 1, 1};  // network channel order
  landmarks5 face_template = arcface_template;       // for aligned crops, in template_size pixels
  float template_width = 112, template_height = 112;
};

// Where a network-input point comes from in its source image: source = (ax·x + bx·y + cx,
// ay·x + by·y + cy), in continuous coordinates. Stretch and letterbox have bx = ay = 0; for a
// letterboxed whole image, decode_yolo's model::letterbox is {1 / ax, -cx / ax, -cy / by}
// (two scales that round(box × r) made differ slightly; the letterbox keeps ax's).
struct crop_transform {
  float ax = 1, bx = 0, cx = 0;
  float ay = 0, by = 1, cy = 0;

  point2 operator()(point2 p) const { return {ax * p.x + bx * p.y + cx, ay * p.x + by * p.y + cy}; }
};

namespace detail {

// What the kernel needs per item: the output-pixel-index -> source-pixel-index affine map, the
// rectangle taps are clamped into (the crop's pixels), and the output rectangle holding content
// (the rest is padding). Rectangles are inclusive.
struct crop_plan {
  int source;
  float m[6];
  int clamp_x0, clamp_y0, clamp_x1, clamp_y1;
  int content_x0, content_y0, content_x1, content_y1;
  bool separable = false;  // a box: bx = ay = 0, so a column's taps depend on x alone, a row's on y
};

// The least-squares similarity taking points `from` to points `to` (2-D Umeyama: for centred
// points the optimum of [a -b; b a] is a = Σ p·q / Σ|p|², b = Σ p×q / Σ|p|²), as {a, b, tx, ty}.
inline std::array<double, 4> similarity(const landmarks5& from, const landmarks5& to) {
  double fx = 0, fy = 0, tx = 0, ty = 0;
  for (int k = 0; k < 5; ++k) fx += from[k].x, fy += from[k].y, tx += to[k].x, ty += to[k].y;
  fx /= 5, fy /= 5, tx /= 5, ty /= 5;
  double dot = 0, cross = 0, norm = 0;
  for (int k = 0; k < 5; ++k) {
    const double px = from[k].x - fx, py = from[k].y - fy, qx = to[k].x - tx, qy = to[k].y - ty;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    norm += px * px + py * py;
  }
  const double a = dot / norm, b = cross / norm;
  return {a, b, tx - (a * fx - b * fy), ty - (b * fx + a * fy)};
}

inline status can_plan(const crop& c, int item, int sources, int src_w, int src_h) {
  if (c.source < 0 || c.source >= sources)
    return fail(errc::invalid_argument, "preprocess: crop {} reads source {} of {}", item, c.source, sources);
  if (c.landmarks) {
    double spread = 0;
    for (const point2& p : *c.landmarks) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y))
        return fail(errc::invalid_argument, "preprocess: crop {} has a landmark that is not finite", item);
      spread += std::abs(p.x - (*c.landmarks)[0].x) + std::abs(p.y - (*c.landmarks)[0].y);
    }
    if (spread == 0) return fail(errc::invalid_argument, "preprocess: crop {} has its 5 landmarks at one point", item);
    return status::success();
  }
  const boxes::box_xyxy& b = c.box;
  if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) || !std::isfinite(b.y2))
    return fail(errc::invalid_argument, "preprocess: crop {} has a box that is not finite", item);
  constexpr float coordinate_limit = 1 << 24;  // keeps the tap rectangle's corners within int
  if (std::max({std::abs(b.x1), std::abs(b.y1), std::abs(b.x2), std::abs(b.y2)}) > coordinate_limit)
    return fail(errc::invalid_argument, "preprocess: crop {} box ({}, {}, {}, {}) is beyond ±2^24 pixels", item, b.x1, b.y1, b.x2,
                b.y2);
  const bool whole = b.x1 == 0 && b.y1 == 0 && b.x2 == 0 && b.y2 == 0;
  if (!whole && !(b.x2 > b.x1 && b.y2 > b.y1))
    return fail(errc::invalid_argument, "preprocess: crop {} box ({}, {}, {}, {}) is empty (x1,y1,x2,y2)", item, b.x1, b.y1, b.x2,
                b.y2);
  if (whole && (src_w == 0 || src_h == 0)) return fail(errc::invalid_argument, "preprocess: crop {} of an empty image", item);
  return status::success();
}

// The plan of one crop into a width × height output, and its network -> source transform.
inline crop_plan plan(const crop& c, int src_w, int src_h, int width, int height, const preprocess_options& o,
                      crop_transform& transform) {
  crop_plan p{c.source, {}, 0, 0, 0, 0, 0, 0, width - 1, height - 1};
  double m[6];  // output pixel index -> source pixel index
  if (c.landmarks) {
    landmarks5 target = o.face_template;
    for (point2& q : target) q = {q.x * float(width) / o.template_width, q.y * float(height) / o.template_height};
    const auto [a, b, tx, ty] = similarity(*c.landmarks, target);
    const double det = a * a + b * b;  // invert [a -b; b a] + t
    m[0] = a / det, m[1] = b / det, m[2] = -(a * tx + b * ty) / det;
    m[3] = -b / det, m[4] = a / det, m[5] = (b * tx - a * ty) / det;
    constexpr int unclamped = 1 << 30;  // warpAffine: no crop to clamp to, only the image border
    p.clamp_x0 = p.clamp_y0 = -unclamped, p.clamp_x1 = p.clamp_y1 = unclamped;
  } else {
    const bool whole = c.box.x1 == 0 && c.box.y1 == 0 && c.box.x2 == 0 && c.box.y2 == 0;
    const double x1 = whole ? 0 : c.box.x1, y1 = whole ? 0 : c.box.y1;
    const double box_w = whole ? src_w : c.box.x2 - c.box.x1, box_h = whole ? src_h : c.box.y2 - c.box.y1;
    double content_w = width, content_h = height;
    if (o.resize == resize_mode::letterbox) {
      const double r = std::min(width / box_w, height / box_h);
      const int w = std::clamp(int(std::lround(box_w * r)), 1, width), h = std::clamp(int(std::lround(box_h * r)), 1, height);
      p.content_x0 = (width - w) / 2, p.content_y0 = (height - h) / 2;
      p.content_x1 = p.content_x0 + w - 1, p.content_y1 = p.content_y0 + h - 1;
      content_w = w, content_h = h;
    }
    const double sx = box_w / content_w, sy = box_h / content_h;
    m[0] = sx, m[1] = 0, m[2] = x1 + (0.5 - p.content_x0) * sx - 0.5;
    m[3] = 0, m[4] = sy, m[5] = y1 + (0.5 - p.content_y0) * sy - 0.5;
    p.clamp_x0 = int(std::floor(x1)), p.clamp_x1 = int(std::ceil(x1 + box_w)) - 1;
    p.clamp_y0 = int(std::floor(y1)), p.clamp_y1 = int(std::ceil(y1 + box_h)) - 1;
    p.separable = true;
  }
  for (int k = 0; k < 6; ++k) p.m[k] = static_cast<float>(m[k]);
  // Pixel index i is continuous coordinate i + 0.5 on both sides.
  transform = {float(m[0]), float(m[1]), float(0.5 * (1 - m[0] - m[1]) + m[2]),
               float(m[3]), float(m[4]), float(0.5 * (1 - m[3] - m[4]) + m[5])};
  return p;
}

// A rounded product kept out of fused multiply-adds: a host compiler allowed FMA (-march=native)
// may contract a * b + c, the device's __fmul_rn never is. The empty asm costs no instruction.
VBATCH_HOST_DEVICE inline float unfused(float v) {
#if !defined(__CUDA_ARCH__) && defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+x"(v));
#endif
  return v;
}

// Out: float, or f16 (each value computed in float, then rounded to half when stored).
template <class Out>
struct preprocess_kernel {
  batch_view<const u8> sources;
  const crop_plan* plans;
  tensor_view<Out> out;
  int channel_of[3];  // the source channel of each output channel
  float pad, scale, mean[3], std[3];

  VBATCH_HOST_DEVICE float tap(const crop_plan& p, int x, int y, int ch) const {
    x = x < p.clamp_x0 ? p.clamp_x0 : (x > p.clamp_x1 ? p.clamp_x1 : x);
    y = y < p.clamp_y0 ? p.clamp_y0 : (y > p.clamp_y1 ? p.clamp_y1 : y);
    if (x < 0 || y < 0 || x >= sources.w || y >= sources.h) return pad;
    return static_cast<float>(*(sources.pixel(p.source, y, x) + ch));
  }

  // The top-left source tap (x0, y0) of output pixel (x, y) and the weights (ax, ay) of the next.
  VBATCH_HOST_DEVICE static void source_of(const crop_plan& p, int x, int y, int& x0, float& ax, int& y0, float& ay) {
    using namespace boxes::detail;
    const float fx = static_cast<float>(x), fy = static_cast<float>(y);
    const float sx = add_rn(add_rn(unfused(mul_rn(p.m[0], fx)), unfused(mul_rn(p.m[1], fy))), p.m[2]);
    const float sy = add_rn(add_rn(unfused(mul_rn(p.m[3], fx)), unfused(mul_rn(p.m[4], fy))), p.m[5]);
    x0 = static_cast<int>(floorf(sx)), y0 = static_cast<int>(floorf(sy));
    ax = sub_rn(sx, static_cast<float>(x0)), ay = sub_rn(sy, static_cast<float>(y0));
  }

  // a·w0 + b·w1: the interpolation along x (w0 = 1 - ax, w1 = ax) and then along y.
  VBATCH_HOST_DEVICE static float lerp(float a, float b, float w0, float w1) {
    using namespace boxes::detail;
    return add_rn(unfused(mul_rn(a, w0)), unfused(mul_rn(b, w1)));
  }

  VBATCH_HOST_DEVICE float normalise(float v, int k) const {
    using namespace boxes::detail;
    return div_rn(sub_rn(unfused(mul_rn(v, scale)), mean[k]), std[k]);
  }

  // The reference body: every executor's result equals it byte for byte (the CUDA path runs it).
  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    using namespace boxes::detail;
    const crop_plan& p = plans[i];
    const bool content = x >= p.content_x0 && x <= p.content_x1 && y >= p.content_y0 && y <= p.content_y1;
    int x0, y0;
    float ax, ay;
    source_of(p, x, y, x0, ax, y0, ay);
    for (int k = 0; k < out.c; ++k) {
      float v = pad;
      if (content) {
        const int ch = channel_of[k];
        const float top = lerp(tap(p, x0, y0, ch), tap(p, x0 + 1, y0, ch), sub_rn(1.0f, ax), ax);
        const float bottom = lerp(tap(p, x0, y0 + 1, ch), tap(p, x0 + 1, y0 + 1, ch), sub_rn(1.0f, ax), ax);
        v = lerp(top, bottom, sub_rn(1.0f, ay), ay);
      }
      if constexpr (std::is_same_v<Out, f16>)
        out(i, k, y, x) = to_f16(normalise(v, k));
      else
        out(i, k, y, x) = normalise(v, k);
    }
  }
};

// ---- The CPU schedule of boxes ----------------------------------------------------------------
// In a separable plan the taps and weight of output column x do not depend on y, nor those of
// row y on x. So, per crop, a table of every content column's two taps and weights; per output
// row, its two source rows interpolated along x (kept while the next output rows read the same
// source rows), then along y and normalised over the contiguous output row. Each value is the same
// rounded operations in the same order as preprocess_kernel's, so the bytes are its bytes
// (tests/model/preprocess_test.cpp); aligned faces run preprocess_kernel per pixel. Bands of rows
// are the parallel work items, so threads share a crop and the thread count changes no byte.

enum class cpu_path { per_pixel, rows, rows_avx2, rows_avx512 };

inline cpu_path best_cpu_path() {
#if VBATCH_PREPROCESS_X86_SIMD
  static const cpu_path path = __builtin_cpu_supports("avx512f") ? cpu_path::rows_avx512
                               : __builtin_cpu_supports("avx2")  ? cpu_path::rows_avx2
                                                                 : cpu_path::rows;
  return path;
#else
  return cpu_path::rows;
#endif
}

// A crop's content columns j = x - content_x0: the byte offsets in a source row of their two taps
// (-1: outside the image, the pad value) and the weights 1 - ax and ax. Columns [gather_begin,
// gather_end) have both taps inside the image and room to read 4 bytes at each (SIMD gathers).
struct column_taps {
  const int* off0;
  const int* off1;
  const float* w0;
  const float* w1;
  int gather_begin = 0, gather_end = 0;
};

// Whether byte offsets of taps fit the gathers' int32 (and pixels go left to right).
inline bool rows_fit(const batch_view<const u8>& s) { return s.stride_w > 0 && std::int64_t{s.w} * s.stride_w <= INT_MAX - 8; }

inline void plan_columns(const preprocess_kernel<float>& k, const crop_plan& p, int* off0, int* off1, float* w0, float* w1,
                         column_taps& t) {
  const batch_view<const u8>& s = k.sources;
  const std::int64_t last_read = std::int64_t{s.w - 1} * s.stride_w + s.c - 4;  // a 4-byte read stays in the row
  const int columns = p.content_x1 - p.content_x0 + 1;
  const auto offset = [&](int x) { return x < 0 || x >= s.w ? -1 : static_cast<int>(x * s.stride_w); };
  bool gathering = false, gathered = false;
  t = {off0, off1, w0, w1, 0, 0};
  for (int j = 0; j < columns; ++j) {
    int x0, y0;
    float ax, ay;
    preprocess_kernel<float>::source_of(p, p.content_x0 + j, 0, x0, ax, y0, ay);  // bx = 0: any row gives these bits
    off0[j] = offset(std::clamp(x0, p.clamp_x0, p.clamp_x1));
    off1[j] = offset(std::clamp(x0 + 1, p.clamp_x0, p.clamp_x1));
    w0[j] = boxes::detail::sub_rn(1.0f, ax), w1[j] = ax;
    // The first run of columns that can gather; the rest take the scalar taps.
    const bool can = off0[j] >= 0 && off1[j] >= 0 && off0[j] <= last_read && off1[j] <= last_read;
    if (can && !gathering && !gathered) gathering = true, t.gather_begin = j;
    if (!can && gathering) gathering = false, gathered = true, t.gather_end = j;
  }
  if (gathering) t.gather_end = columns;
}

#if VBATCH_PREPROCESS_X86_SIMD
#define VBATCH_PREPROCESS_AVX2 __attribute__((target("avx2")))

VBATCH_PREPROCESS_AVX2 inline __m256 unfused(__m256 v) {
  asm("" : "+x"(v));
  return v;
}

// Columns [gather_begin, ...) of a source row along x, 8 at a time: a 32-bit gather per tap brings
// the pixel's channels (bytes 0..2). Returns the first column left to do.
template <int Channels>
VBATCH_PREPROCESS_AVX2 inline int along_x_avx2(const u8* row, const column_taps& t, const int* channel_of, float* const* dst) {
  float* by_source[Channels];
  for (int c = 0; c < Channels; ++c) by_source[channel_of[c]] = dst[c];
  const __m256i byte = _mm256_set1_epi32(0xff);
  const int* base = reinterpret_cast<const int*>(row);
  int j = t.gather_begin;
  for (; j + 8 <= t.gather_end; j += 8) {
    __m256i g0 = _mm256_i32gather_epi32(base, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.off0 + j)), 1);
    __m256i g1 = _mm256_i32gather_epi32(base, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.off1 + j)), 1);
    const __m256 w0 = _mm256_loadu_ps(t.w0 + j), w1 = _mm256_loadu_ps(t.w1 + j);
    for (int ch = 0; ch < Channels; ++ch, g0 = _mm256_srli_epi32(g0, 8), g1 = _mm256_srli_epi32(g1, 8)) {
      const __m256 a = _mm256_cvtepi32_ps(_mm256_and_si256(g0, byte)), b = _mm256_cvtepi32_ps(_mm256_and_si256(g1, byte));
      _mm256_storeu_ps(by_source[ch] + j, _mm256_add_ps(unfused(_mm256_mul_ps(a, w0)), unfused(_mm256_mul_ps(b, w1))));
    }
  }
  return j;
}

// out[j] = ((top[j]·w0 + bottom[j]·w1)·scale - mean) / std, 8 at a time; returns the first j left.
VBATCH_PREPROCESS_AVX2 inline int along_y_avx2(const float* top, const float* bottom, float w0, float w1, float scale, float mean,
                                               float std, float* out, int n) {
  const __m256 vw0 = _mm256_set1_ps(w0), vw1 = _mm256_set1_ps(w1), vscale = _mm256_set1_ps(scale);
  const __m256 vmean = _mm256_set1_ps(mean), vstd = _mm256_set1_ps(std);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_add_ps(unfused(_mm256_mul_ps(_mm256_loadu_ps(top + j), vw0)),
                                   unfused(_mm256_mul_ps(_mm256_loadu_ps(bottom + j), vw1)));
    _mm256_storeu_ps(out + j, _mm256_div_ps(_mm256_sub_ps(unfused(_mm256_mul_ps(v, vscale)), vmean), vstd));
  }
  return j;
}
#define VBATCH_PREPROCESS_AVX512 __attribute__((target("avx512f")))

VBATCH_PREPROCESS_AVX512 inline __m512 unfused(__m512 v) {
  asm("" : "+v"(v));
  return v;
}

// along_x_avx2 16 columns at a time. (The masked forms, all lanes on, spare GCC 12's
// maybe-uninitialized warnings of the unmasked ones.)
template <int Channels>
VBATCH_PREPROCESS_AVX512 inline int along_x_avx512(const u8* row, const column_taps& t, const int* channel_of,
                                                   float* const* dst) {
  float* by_source[Channels];
  for (int c = 0; c < Channels; ++c) by_source[channel_of[c]] = dst[c];
  const __m512i byte = _mm512_set1_epi32(0xff), zero = _mm512_setzero_si512();
  const __mmask16 all = 0xffff;
  int j = t.gather_begin;
  for (; j + 16 <= t.gather_end; j += 16) {
    __m512i g0 = _mm512_mask_i32gather_epi32(zero, all, _mm512_loadu_si512(t.off0 + j), row, 1);
    __m512i g1 = _mm512_mask_i32gather_epi32(zero, all, _mm512_loadu_si512(t.off1 + j), row, 1);
    const __m512 w0 = _mm512_loadu_ps(t.w0 + j), w1 = _mm512_loadu_ps(t.w1 + j);
    for (int ch = 0; ch < Channels; ++ch, g0 = _mm512_maskz_srli_epi32(all, g0, 8), g1 = _mm512_maskz_srli_epi32(all, g1, 8)) {
      const __m512 a = _mm512_maskz_cvtepi32_ps(all, _mm512_and_si512(g0, byte));
      const __m512 b = _mm512_maskz_cvtepi32_ps(all, _mm512_and_si512(g1, byte));
      _mm512_storeu_ps(by_source[ch] + j, _mm512_add_ps(unfused(_mm512_mul_ps(a, w0)), unfused(_mm512_mul_ps(b, w1))));
    }
  }
  return j;
}

// along_y_avx2 16 at a time.
VBATCH_PREPROCESS_AVX512 inline int along_y_avx512(const float* top, const float* bottom, float w0, float w1, float scale,
                                                   float mean, float std, float* out, int n) {
  const __m512 vw0 = _mm512_set1_ps(w0), vw1 = _mm512_set1_ps(w1), vscale = _mm512_set1_ps(scale);
  const __m512 vmean = _mm512_set1_ps(mean), vstd = _mm512_set1_ps(std);
  int j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_add_ps(unfused(_mm512_mul_ps(_mm512_loadu_ps(top + j), vw0)),
                                   unfused(_mm512_mul_ps(_mm512_loadu_ps(bottom + j), vw1)));
    _mm512_storeu_ps(out + j, _mm512_div_ps(_mm512_sub_ps(unfused(_mm512_mul_ps(v, vscale)), vmean), vstd));
  }
  return j;
}
#endif

// Index (i, band, 0): output rows [band · rows_per_band, ...) of crop i.
struct preprocess_rows {
  static constexpr int rows_per_band = 32;  // a new band recomputes at most two source rows
  preprocess_kernel<float> k;
  const column_taps* taps;  // per crop
  cpu_path path;

  // Source row y0 of the plan as the taps read it: the clamped row, or -1 outside the image (all pad).
  static int row_key(const crop_plan& p, const batch_view<const u8>& s, int y0) {
    const int y = std::clamp(y0, p.clamp_y0, p.clamp_y1);
    return y < 0 || y >= s.h ? -1 : y;
  }

  void along_x(const crop_plan& p, const column_taps& t, int key, float* const* dst) const {
    const int columns = p.content_x1 - p.content_x0 + 1, channels = k.out.c;
    const u8* row = key < 0 ? nullptr : k.sources.pixel(p.source, key, 0);
    const auto scalar = [&](int from, int to) {
      for (int j = from; j < to; ++j)
        for (int c = 0; c < channels; ++c) {
          const int ch = k.channel_of[c];
          const float a = t.off0[j] < 0 || !row ? k.pad : static_cast<float>(row[t.off0[j] + ch]);
          const float b = t.off1[j] < 0 || !row ? k.pad : static_cast<float>(row[t.off1[j] + ch]);
          dst[c][j] = preprocess_kernel<float>::lerp(a, b, t.w0[j], t.w1[j]);
        }
    };
    int done = 0;
#if VBATCH_PREPROCESS_X86_SIMD
    if (path == cpu_path::rows_avx512 && row) {
      scalar(0, t.gather_begin);
      done = channels == 1 ? along_x_avx512<1>(row, t, k.channel_of, dst) : along_x_avx512<3>(row, t, k.channel_of, dst);
    } else if (path == cpu_path::rows_avx2 && row) {
      scalar(0, t.gather_begin);
      done = channels == 1 ? along_x_avx2<1>(row, t, k.channel_of, dst) : along_x_avx2<3>(row, t, k.channel_of, dst);
    }
#endif
    scalar(done, columns);
  }

  void along_y(const float* top, const float* bottom, float w0, float w1, int c, float* out, int n) const {
    int j = 0;
#if VBATCH_PREPROCESS_X86_SIMD
    if (path == cpu_path::rows_avx512) j = along_y_avx512(top, bottom, w0, w1, k.scale, k.mean[c], k.std[c], out, n);
    if (path == cpu_path::rows_avx2) j = along_y_avx2(top, bottom, w0, w1, k.scale, k.mean[c], k.std[c], out, n);
#endif
    for (; j < n; ++j) out[j] = k.normalise(preprocess_kernel<float>::lerp(top[j], bottom[j], w0, w1), c);
  }

  void operator()(int i, int band, int) const {
    const crop_plan& p = k.plans[i];
    const int y_begin = band * rows_per_band, y_end = std::min(k.out.h, y_begin + rows_per_band);
    if (!p.separable) {
      for (int y = y_begin; y < y_end; ++y)
        for (int x = 0; x < k.out.w; ++x) k(i, y, x);
      return;
    }
    const int channels = k.out.c, width = k.out.w, columns = p.content_x1 - p.content_x0 + 1;
    float padding[3];
    for (int c = 0; c < channels; ++c) padding[c] = k.normalise(k.pad, c);
    // Two source rows along x, each channel a run of `columns`; held[s] is the row in slot s.
    const auto along = std::make_unique_for_overwrite<float[]>(std::size_t(2) * channels * columns);
    int held[2] = {-2, -2};
    const auto source_row = [&](int key, int keep) -> const float* {
      for (int s = 0; s < 2; ++s)
        if (held[s] == key) return along.get() + std::size_t(s) * channels * columns;
      const int s = held[0] == keep ? 1 : 0;
      float* dst[3];
      for (int c = 0; c < channels; ++c) dst[c] = along.get() + (std::size_t(s) * channels + c) * columns;
      along_x(p, taps[i], key, dst);
      held[s] = key;
      return dst[0];
    };
    for (int y = y_begin; y < y_end; ++y) {
      if (y < p.content_y0 || y > p.content_y1) {
        for (int c = 0; c < channels; ++c) std::fill_n(&k.out(i, c, y, 0), width, padding[c]);
        continue;
      }
      int x0, y0;
      float ax, ay;
      preprocess_kernel<float>::source_of(p, 0, y, x0, ax, y0, ay);  // ay = 0: any column gives these bits
      const int top_key = row_key(p, k.sources, y0), bottom_key = row_key(p, k.sources, y0 + 1);
      const float* top = source_row(top_key, bottom_key);
      const float* bottom = source_row(bottom_key, top_key);
      for (int c = 0; c < channels; ++c) {
        float* out = &k.out(i, c, y, 0);
        std::fill_n(out, p.content_x0, padding[c]);
        std::fill(out + p.content_x1 + 1, out + width, padding[c]);
        along_y(top + std::size_t(c) * columns, bottom + std::size_t(c) * columns, boxes::detail::sub_rn(1.0f, ay), ay, c,
                out + p.content_x0, columns);
      }
    }
  }
};

}  // namespace detail

// The elements preprocess writes: f32, or f16 for half-precision models.
template <class T>
concept input_element = std::is_same_v<T, float> || std::is_same_v<T, f16>;

template <input_element Out>
status can_preprocess(const batch_view<const u8>& sources, std::span<const crop> crops, const tensor_view<Out>& out,
                      const preprocess_options& o) {
  if (auto s = can_access(sources, "preprocess: sources"); !s) return s;
  if (out.n < 0 || out.c < 0 || out.h < 0 || out.w < 0)
    return fail(errc::invalid_argument, "preprocess: output {}x{}x{}x{} (N,C,H,W) has a negative size", out.n, out.c, out.h,
                out.w);
  if (std::size_t(out.n) != crops.size())
    return fail(errc::invalid_argument, "preprocess: {} crops for an output of {} items", crops.size(), out.n);
  if (out.n == 0) return status::success();
  if (out.h == 0 || out.w == 0 || out.data == nullptr)
    return fail(errc::invalid_argument, "preprocess: output {}x{}x{}x{} (N,C,H,W) is empty", out.n, out.c, out.h, out.w);
  if (out.c == 3 ? sources.c < 3 : !(out.c == 1 && sources.c == 1))
    return fail(errc::invalid_argument, "preprocess: {}-channel output from {}-channel sources (3 from 3 or 4, or 1 from 1)",
                out.c, sources.c);
  if (!(o.scale != 0 && std::isfinite(o.scale)))
    return fail(errc::invalid_argument, "preprocess: scale {} must be finite and non-zero", o.scale);
  for (int k = 0; k < out.c; ++k)
    if (!(o.std[k] != 0 && std::isfinite(o.std[k]) && std::isfinite(o.mean[k])))
      return fail(errc::invalid_argument, "preprocess: channel {} has mean {} and std {} (finite, std non-zero)", k, o.mean[k],
                  o.std[k]);
  if (!(o.template_width > 0 && o.template_height > 0))
    return fail(errc::invalid_argument, "preprocess: template size {}x{} must be positive", o.template_width, o.template_height);
  for (std::size_t i = 0; i < crops.size(); ++i)
    if (auto s = detail::can_plan(crops[i], int(i), sources.n, sources.w, sources.h); !s) return s;
  return status::success();
}

// The network -> source transform of each crop for an output of width × height, without running
// anything (to map a model's boxes or points back to the sources).
inline std::vector<crop_transform> crop_transforms(int src_w, int src_h, std::span<const crop> crops, int width, int height,
                                                   const preprocess_options& options = {}) {
  std::vector<crop_transform> transforms(crops.size());
  for (std::size_t i = 0; i < crops.size(); ++i) detail::plan(crops[i], src_w, src_h, width, height, options, transforms[i]);
  return transforms;
}

namespace detail {
// preprocess with the host schedule chosen (tests pin it); the CUDA executor always runs per pixel.
template <class Exec, class Out>
std::vector<crop_transform> preprocess_with(const Exec& exec, batch_view<const u8> sources, std::span<const crop> crops,
                                            tensor_view<Out> out, const preprocess_options& options, cpu_path path) {
  check(can_preprocess(sources, crops, out, options));
  std::vector<crop_transform> transforms(crops.size());
  if (crops.empty()) return transforms;
  std::vector<crop_plan> plans(crops.size());
  for (std::size_t i = 0; i < crops.size(); ++i)
    plans[i] = plan(crops[i], sources.w, sources.h, out.w, out.h, options, transforms[i]);

  preprocess_kernel<Out> kernel{sources, nullptr, out, {0, 1, 2}, options.pad_value, options.scale, {}, {}};
  if (out.c == 3 && options.source_order != options.order) kernel.channel_of[0] = 2, kernel.channel_of[2] = 0;
  for (int k = 0; k < 3; ++k) kernel.mean[k] = options.mean[k], kernel.std[k] = options.std[k];
  if constexpr (executor_traits<Exec>::host && std::is_same_v<Out, float>) {  // f16 runs per pixel
    if (path != cpu_path::per_pixel && rows_fit(sources)) {
      kernel.plans = plans.data();
      const std::size_t table = std::size_t(2) * out.w;  // per crop: two taps, two weights per column
      const auto offsets = std::make_unique_for_overwrite<int[]>(table * out.n);
      const auto weights = std::make_unique_for_overwrite<float[]>(table * out.n);
      std::vector<column_taps> columns(crops.size());
      for_each_index(exec, extent3{out.n, 1, 1}, [&](int i, int, int) {
        if (!plans[i].separable) return;
        int* o = offsets.get() + table * i;
        float* w = weights.get() + table * i;
        plan_columns(kernel, plans[i], o, o + out.w, w, w + out.w, columns[i]);
      });
      const int bands = (out.h + preprocess_rows::rows_per_band - 1) / preprocess_rows::rows_per_band;
      for_each_index(exec, extent3{out.n, bands, 1}, preprocess_rows{kernel, columns.data(), path});
      return transforms;
    }
  }
  using memory = typename executor_traits<Exec>::memory;
  const auto device_plans = buffer<crop_plan, memory>::from_host(plans);
  kernel.plans = device_plans.data();
  for_each_index(exec, extent3{out.n, out.h, out.w}, kernel);
  executor_traits<Exec>::synchronize(exec);  // the plans must outlive the kernel
  return transforms;
}
}  // namespace detail

// Crops of `sources` (N,H,W,C u8) into out (crops.size(),C,H,W f32 or f16), both in the
// executor's memory; crops stay on the host. Returns each item's network -> source transform.
// Returns once the output is written. f16 values are the f32 ones rounded to nearest even, byte
// for byte on every executor (the CPU computes them per pixel: no row schedule for f16).
// (Two overloads, not a template on the element, so that a braced {data, n, c, h, w} converts.)
template <class Exec>
std::vector<crop_transform> preprocess(const Exec& exec, batch_view<const u8> sources, std::span<const crop> crops,
                                       tensor_view<float> out, const preprocess_options& options = {}) {
  return detail::preprocess_with(exec, sources, crops, out, options, detail::best_cpu_path());
}
template <class Exec>
std::vector<crop_transform> preprocess(const Exec& exec, batch_view<const u8> sources, std::span<const crop> crops,
                                       tensor_view<f16> out, const preprocess_options& options = {}) {
  return detail::preprocess_with(exec, sources, crops, out, options, detail::best_cpu_path());
}

}  // namespace vbatch::inline v0::model
