#pragma once
// The CPU's SIMD schedule of u8 bicubic sampling with 3 or 4 channels, for footprints inside the
// image: the per-pixel body's float arithmetic (interp.hpp: each row weighted by wx, then the
// rows by wy, then to_element's clamp and round half up) on the channels of a pixel at once, in
// the same order of operations, so bit-identical to it (tests/sample/remap_simd_test.cpp). No
// fused multiply-add: the scalar body is compiled without one too.

#include <cstdint>
#include <cstring>

#include "vbatch/sample/cpu/bilinear_simd.hpp"

namespace vbatch::inline v0::sample::cpu {

#if VBATCH_HAVE_X86_SIMD

// Samples one pixel whose 4×4 footprint starts at `top_left` (rows `stride_h` bytes apart) into
// out[0..C). For C = 3 each tap is read as 4 bytes: the byte after the footprint's last tap must
// be readable (the caller keeps one column clear of the image's end).
template <int C>
__attribute__((target("avx2"))) inline void bicubic_pixel(const u8* top_left, std::ptrdiff_t stride_h, const float (&wx)[4],
                                                         const float (&wy)[4], u8* out) {
  static_assert(C == 3 || C == 4, "bicubic_pixel: 3 or 4 channels");
  __m128 acc = _mm_setzero_ps();
  for (int j = 0; j < 4; ++j, top_left += stride_h) {
    __m128 h = _mm_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      std::int32_t bytes;
      std::memcpy(&bytes, top_left + i * C, 4);
      const __m128 tap = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(bytes)));
      h = _mm_add_ps(h, _mm_mul_ps(tap, _mm_set1_ps(wx[i])));
    }
    acc = _mm_add_ps(acc, _mm_mul_ps(h, _mm_set1_ps(wy[j])));
  }
  // to_element<u8>: clamp to [0, 255], add 0.5, truncate.
  const __m128 clamped = _mm_min_ps(_mm_max_ps(acc, _mm_setzero_ps()), _mm_set1_ps(255.0f));
  const __m128i values = _mm_cvttps_epi32(_mm_add_ps(clamped, _mm_set1_ps(0.5f)));
  const std::int32_t packed = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packus_epi32(values, values), values));
  std::memcpy(out, &packed, C);
}

#endif

}  // namespace vbatch::inline v0::sample::cpu
