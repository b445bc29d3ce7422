#pragma once
// The CPU's SIMD schedule of float interpolation (u8 bicubic and exact bilinear, f32 bilinear and
// bicubic) with 3 or 4 channels, for footprints inside the image: the per-pixel body's float
// arithmetic (interp.hpp: each row weighted by wx, then the rows by wy; u8 then rounded by
// to_element: clamp, add 0.5, truncate) on the channels of a pixel at once, in the same order of
// operations, so bit-identical to it (tests/sample/remap_simd_test.cpp) wherever the compiler
// does not fuse a multiply and an add in the scalar body, which it does not for the default
// x86-64 target (with -march=native and GCC's -ffp-contract=fast it may, and then results differ
// in the last bit, as they do on the GPU).

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "vbatch/sample/cpu/bilinear_simd.hpp"

namespace vbatch::inline v0::sample::cpu {

#if VBATCH_HAVE_X86_SIMD

// Samples one pixel whose K×K footprint starts at `top_left` (rows `stride_h` elements apart)
// into out[0..C). Each tap is read as 4 elements: for C = 3 the element after the footprint's
// last tap must be readable (the caller keeps one column clear of the image's end).
template <int K, int C, class T>
__attribute__((target("avx2"))) inline void separable_pixel(const T* top_left, std::ptrdiff_t stride_h, const float (&wx)[K],
                                                            const float (&wy)[K], T* out) {
  static_assert(C == 3 || C == 4, "separable_pixel: 3 or 4 channels");
  static_assert(std::is_same_v<T, u8> || std::is_same_v<T, f32>, "separable_pixel: u8 or f32");
  __m128 acc = _mm_setzero_ps();
  for (int j = 0; j < K; ++j, top_left += stride_h) {
    __m128 h = _mm_setzero_ps();
    for (int i = 0; i < K; ++i) {
      __m128 tap;
      if constexpr (std::is_same_v<T, u8>) {
        std::int32_t bytes;
        std::memcpy(&bytes, top_left + i * C, 4);
        tap = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(bytes)));
      } else {
        tap = _mm_loadu_ps(top_left + i * C);
      }
      h = _mm_add_ps(h, _mm_mul_ps(tap, _mm_set1_ps(wx[i])));
    }
    acc = _mm_add_ps(acc, _mm_mul_ps(h, _mm_set1_ps(wy[j])));
  }
  if constexpr (std::is_same_v<T, u8>) {
    const __m128 clamped = _mm_min_ps(_mm_max_ps(acc, _mm_setzero_ps()), _mm_set1_ps(255.0f));
    const __m128i values = _mm_cvttps_epi32(_mm_add_ps(clamped, _mm_set1_ps(0.5f)));
    const std::int32_t packed = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packus_epi32(values, values), values));
    std::memcpy(out, &packed, C);
  } else {
    alignas(16) float values[4];
    _mm_store_ps(values, acc);
    std::memcpy(out, values, C * sizeof(float));
  }
}

#endif

}  // namespace vbatch::inline v0::sample::cpu
