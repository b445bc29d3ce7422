#pragma once
// The CPU's schedule for one row of a pairwise IoU matrix: box a against boxes b[0..n) given as
// planes (x1, y1, x2, y2 and precomputed areas, each contiguous), eight or sixteen boxes per
// instruction. It performs exactly the operations of vbatch::boxes::iou (box.hpp) in the same order —
// min, max, subtract, clamp at 0, multiply, max + min, subtract, divide, all IEEE-rounded — so its
// results are bit-identical to the per-element body the other executors run
// (tests/boxes/pairwise_test.cpp checks every value). x86 min/max instructions return their
// second operand when the first comparison fails, which is what min_of/max_of do.
//
// A GCC/Clang target attribute and a run-time CPU check enable the AVX2 and AVX-512 variants, so
// the rest of the program needs no special flags.

#include <cstdint>

#include "vbatch/boxes/box.hpp"

// nvcc compiles the CUDA backend only; its translation units take the per-element body.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define VBATCH_BOXES_X86_SIMD 1
#include <immintrin.h>
#else
#define VBATCH_BOXES_X86_SIMD 0
#endif

namespace vbatch::inline v0::boxes::cpu {

// Boxes b[0..n) of a row as five planes: b[j] is (x1[j], y1[j], x2[j], y2[j]) with area area[j].
struct box_planes {
  const float* x1;
  const float* y1;
  const float* x2;
  const float* y2;
  const float* area;
};

// The scalar loop: the tail of the SIMD rows, and the whole row where there is no SIMD.
inline void iou_row_scalar(const box_xyxy& a, const box_planes& b, int first, int last, float* out) {
  using namespace detail;
  const float area_a = area(a);
  const box_xyxy p = a;
  const float *bx1 = b.x1, *by1 = b.y1, *bx2 = b.x2, *by2 = b.y2, *barea = b.area;
  for (int j = first; j < last; ++j) {
    const float w = positive_part(sub_rn(min_of(p.x2, bx2[j]), max_of(p.x1, bx1[j])));
    const float h = positive_part(sub_rn(min_of(p.y2, by2[j]), max_of(p.y1, by1[j])));
    out[j] = iou_from_areas(mul_rn(w, h), area_a, barea[j]);
  }
}

#if VBATCH_BOXES_X86_SIMD

enum class iou_simd { none, avx2, avx512 };

inline iou_simd best_iou_simd() {
  static const iou_simd level = __builtin_cpu_supports("avx512f") ? iou_simd::avx512
                                : __builtin_cpu_supports("avx2")  ? iou_simd::avx2
                                                                  : iou_simd::none;
  return level;
}

// Large outputs (`stream`) bypass the caches with non-temporal stores, from the first 32- or
// 64-byte aligned element of the row. Measured on the project's Zen 5 (1000×1000, one thread):
// AVX-512 0.13 ms, AVX2 0.21 ms, scalar 1.7–4.2 ms. Skipping the division for blocks without any
// overlap was tried and was slower (the branch mispredicts on real layouts).

// How many elements of `out` precede its first `Align`-byte aligned one, at most n (all n when `out`
// is not even float-aligned): the scalar head of a streaming row.
template <std::uintptr_t Align>
inline int unaligned_head(const float* out, int n) {
  const std::uintptr_t address = reinterpret_cast<std::uintptr_t>(out);
  if (address % sizeof(float) != 0) return n;
  const int head = static_cast<int>((Align - address % Align) % Align / sizeof(float));
  return head > n ? n : head;
}

template <bool Stream>
__attribute__((target("avx2"))) inline void iou_row_avx2(const box_xyxy& a, const box_planes& b, int n, float* out) {
  const __m256 ax1 = _mm256_set1_ps(a.x1), ay1 = _mm256_set1_ps(a.y1), ax2 = _mm256_set1_ps(a.x2), ay2 = _mm256_set1_ps(a.y2);
  const __m256 area_a = _mm256_set1_ps(area(a)), zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int j = 0;
  if constexpr (Stream) {
    j = unaligned_head<32>(out, n);
    iou_row_scalar(a, b, 0, j, out);
  }
  // Local copies: `out` might alias the planes struct, and the compiler would reload it per block.
  const float *bx1 = b.x1, *by1 = b.y1, *bx2 = b.x2, *by2 = b.y2, *barea = b.area;
  for (; j + 8 <= n; j += 8) {
    const __m256 w = _mm256_max_ps(
        _mm256_sub_ps(_mm256_min_ps(ax2, _mm256_loadu_ps(bx2 + j)), _mm256_max_ps(ax1, _mm256_loadu_ps(bx1 + j))), zero);
    const __m256 h = _mm256_max_ps(
        _mm256_sub_ps(_mm256_min_ps(ay2, _mm256_loadu_ps(by2 + j)), _mm256_max_ps(ay1, _mm256_loadu_ps(by1 + j))), zero);
    const __m256 inter = _mm256_mul_ps(w, h);
    const __m256 area_b = _mm256_loadu_ps(barea + j);
    const __m256 uni = _mm256_sub_ps(_mm256_add_ps(_mm256_max_ps(area_a, area_b), _mm256_min_ps(area_a, area_b)), inter);
    const __m256 result = _mm256_div_ps(inter, _mm256_blendv_ps(one, uni, _mm256_cmp_ps(uni, zero, _CMP_GT_OQ)));
    if constexpr (Stream)
      _mm256_stream_ps(out + j, result);
    else
      _mm256_storeu_ps(out + j, result);
  }
  if constexpr (Stream) _mm_sfence();
  iou_row_scalar(a, b, j, n, out);
}

// GCC 12 warns about _mm512_undefined_ps inside its own max/min intrinsics (a known false alarm).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
template <bool Stream>
__attribute__((target("avx512f"))) inline void iou_row_avx512(const box_xyxy& a, const box_planes& b, int n, float* out) {
  const __m512 ax1 = _mm512_set1_ps(a.x1), ay1 = _mm512_set1_ps(a.y1), ax2 = _mm512_set1_ps(a.x2), ay2 = _mm512_set1_ps(a.y2);
  const __m512 area_a = _mm512_set1_ps(area(a)), zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  int j = 0;
  if constexpr (Stream) {
    j = unaligned_head<64>(out, n);
    iou_row_scalar(a, b, 0, j, out);
  }
  const float *bx1 = b.x1, *by1 = b.y1, *bx2 = b.x2, *by2 = b.y2, *barea = b.area;
  for (; j + 16 <= n; j += 16) {
    const __m512 w = _mm512_max_ps(
        _mm512_sub_ps(_mm512_min_ps(ax2, _mm512_loadu_ps(bx2 + j)), _mm512_max_ps(ax1, _mm512_loadu_ps(bx1 + j))), zero);
    const __m512 h = _mm512_max_ps(
        _mm512_sub_ps(_mm512_min_ps(ay2, _mm512_loadu_ps(by2 + j)), _mm512_max_ps(ay1, _mm512_loadu_ps(by1 + j))), zero);
    const __m512 inter = _mm512_mul_ps(w, h);
    const __m512 area_b = _mm512_loadu_ps(barea + j);
    const __m512 uni = _mm512_sub_ps(_mm512_add_ps(_mm512_max_ps(area_a, area_b), _mm512_min_ps(area_a, area_b)), inter);
    const __m512 result = _mm512_div_ps(inter, _mm512_mask_blend_ps(_mm512_cmp_ps_mask(uni, zero, _CMP_GT_OQ), one, uni));
    if constexpr (Stream)
      _mm512_stream_ps(out + j, result);
    else
      _mm512_storeu_ps(out + j, result);
  }
  if constexpr (Stream) _mm_sfence();
  iou_row_scalar(a, b, j, n, out);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

// One row, with the widest SIMD this CPU has; `stream`: non-temporal stores (outputs larger than
// the caches).
inline void iou_row(const box_xyxy& a, const box_planes& b, int n, float* out, bool stream) {
#if VBATCH_BOXES_X86_SIMD
  switch (best_iou_simd()) {
    case iou_simd::avx512:
      return stream ? iou_row_avx512<true>(a, b, n, out) : iou_row_avx512<false>(a, b, n, out);
    case iou_simd::avx2:
      return stream ? iou_row_avx2<true>(a, b, n, out) : iou_row_avx2<false>(a, b, n, out);
    case iou_simd::none:
      break;
  }
#endif
  (void)stream;
  iou_row_scalar(a, b, 0, n, out);
}

}  // namespace vbatch::inline v0::boxes::cpu
