#pragma once
// The CPU's SIMD schedule of remap's hottest case: u8 images with 3 or 4 channels, bilinear
// interpolation, cached_fixed maps. It computes exactly what sample(interp::bilinear,
// fixed_sample_point) computes, the per-pixel body every executor runs, and is bit-identical to it
// (tests/sample/remap_simd_test.cpp checks this on every configuration).
//
// Per pixel: the two source rows of the 2×2 footprint are loaded as 8 bytes each; a byte shuffle
// pairs each tap with its right neighbour; one multiply-add per row applies the horizontal
// weights (128 - fx, fx) to the pixels biased to signed (p - 128), a second applies the vertical
// weights (128 - fy, fy), and adding back 128 * 2^14 undoes the bias exactly. Two pixels share a
// 256-bit register; weights for eight pixels are built at once from the map's fraction array.
//
// Compiled with GCC/Clang target attributes and chosen at run time when the CPU has AVX2, so the
// rest of the program needs no special flags.

#include <cstdint>
#include <cstring>

#include "vbatch/sample/interp.hpp"
#include "vbatch/sample/map.hpp"

// nvcc compiles the CUDA backend only; its translation units take the per-pixel body.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define VBATCH_HAVE_AVX2_PATH 1
#include <immintrin.h>
#else
#define VBATCH_HAVE_AVX2_PATH 0
#endif

namespace vbatch::inline v0::cpu {

#if VBATCH_HAVE_AVX2_PATH

inline bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

namespace detail {
// Two rows of 8 bytes starting at p and p + stride, in one 128-bit register.
__attribute__((target("avx2"))) inline __m128i load_rows(const u8* p, std::ptrdiff_t stride) {
  const __m128i top = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(top), reinterpret_cast<const double*>(p + stride)));
}
}  // namespace detail

// Samples output pixels [0, width) of one row. Blocks of eight pixels whose footprints lie inside
// the source take the SIMD path; any other pixel goes through `pixel(x)`, so every pixel is
// written exactly once. `faces` (cube sources) is null for one-image sources.
template <int C, bool Faces, class PixelFn>
__attribute__((target("avx2"))) void bilinear_row_avx2(const source_images<u8>& src, const fixed_tap* taps,
                                                        const fixed_fraction* fractions, const std::uint8_t* faces, u8* out,
                                                        int width, PixelFn&& pixel) {
  static_assert(C == 3 || C == 4, "bilinear_row_avx2: 3 or 4 channels");
  // Bytes of [top row | bottom row] as (left, right) pairs per channel, both lanes alike.
  const __m256i pair_taps = C == 3 ? _mm256_setr_epi8(0, 3, 1, 4, 2, 5, -1, -1, 8, 11, 9, 12, 10, 13, -1, -1, 0, 3, 1, 4, 2, 5, -1,
                                                      -1, 8, 11, 9, 12, 10, 13, -1, -1)
                                   : _mm256_setr_epi8(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15, 0, 4, 1, 5, 2, 6, 3, 7,
                                                      8, 12, 9, 13, 10, 14, 11, 15);
  // 16-bit row sums [top c0..c3 | bottom c0..c3] as (top, bottom) pairs per channel.
  const __m256i pair_rows = _mm256_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5,
                                             12, 13, 6, 7, 14, 15);
  // Byte shuffles that spread pixel 2j's weights over lane 0 and pixel 2j + 1's over lane 1:
  // horizontal weights are 16-bit (pixel p at byte 2p), vertical 32-bit (pixel p at 4 (p mod 4)).
  const __m256i select_wx[4] = {
      _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3),
      _mm256_setr_epi8(4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7),
      _mm256_setr_epi8(8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11),
      _mm256_setr_epi8(12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15,
                       14, 15, 14, 15)};
  const __m256i select_wy[2] = {
      _mm256_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7),
      _mm256_setr_epi8(8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12,
                       13, 14, 15)};
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i unbias_and_round = _mm256_set1_epi32(fixed_one * (fixed_one << fixed_bits) + (1 << (2 * fixed_bits - 1)));
  const __m128i one = _mm_set1_epi16(fixed_one), low_byte = _mm_set1_epi16(0xFF);
  // Top-left taps (x, y) whose two 8-byte row loads stay inside the image: 0 <= x <= W - 3
  // (W - 2 for 4 channels), 0 <= y <= H - 2; taps are int16 pairs.
  const __m256i last_tap = _mm256_set1_epi32((src.w - (C == 3 ? 3 : 2)) | ((src.h - 2) << 16));
  const std::ptrdiff_t row_stride = src.stride_h;
  const auto address = [&](int i) {
    const fixed_tap t = taps[i];
    const u8* image = Faces ? src.data + faces[i] * src.stride_image : src.data;
    return image + t.y * row_stride + t.x * C;
  };

  int x = 0;
  for (; x + 8 <= width; x += 8) {
    const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(taps + x));  // (x, y) x 8, int16
    const __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi16(_mm256_setzero_si256(), t), _mm256_cmpgt_epi16(t, last_tap));
    if (!_mm256_testz_si256(outside, outside)) {
      for (int j = 0; j < 8; ++j) pixel(x + j);
      continue;
    }
    // Weights of the eight pixels: horizontal bytes (128 - fx, fx), vertical int16 (128 - fy, fy).
    const __m128i f = _mm_loadu_si128(reinterpret_cast<const __m128i*>(fractions + x));  // (fx, fy) x 8
    const __m128i fx = _mm_and_si128(f, low_byte), fy = _mm_srli_epi16(f, 8);
    const __m256i wx8 = _mm256_broadcastsi128_si256(_mm_or_si128(_mm_sub_epi16(one, fx), _mm_slli_epi16(fx, 8)));
    const __m256i wy_low = _mm256_broadcastsi128_si256(_mm_unpacklo_epi16(_mm_sub_epi16(one, fy), fy));
    const __m256i wy_high = _mm256_broadcastsi128_si256(_mm_unpackhi_epi16(_mm_sub_epi16(one, fy), fy));
    __m256i values[4];  // int32 channels of pixels 2j (lane 0) and 2j + 1 (lane 1)
    for (int j = 0; j < 4; ++j) {
      const __m256i rows = _mm256_xor_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(detail::load_rows(address(x + 2 * j), row_stride)),
                                                                    detail::load_rows(address(x + 2 * j + 1), row_stride), 1),
                                            bias);
      const __m256i wx = _mm256_shuffle_epi8(wx8, select_wx[j]);
      const __m256i wy = _mm256_shuffle_epi8(j < 2 ? wy_low : wy_high, select_wy[j & 1]);
      const __m256i row_sums = _mm256_maddubs_epi16(wx, _mm256_shuffle_epi8(rows, pair_taps));  // (p - 128) weighted
      const __m256i sums = _mm256_madd_epi16(_mm256_shuffle_epi8(row_sums, pair_rows), wy);
      values[j] = _mm256_srai_epi32(_mm256_add_epi32(sums, unbias_and_round), 2 * fixed_bits);
    }
    // Bytes: lane 0 holds pixels 0 2 4 6, lane 1 pixels 1 3 5 7, four bytes each; put them in
    // order, then drop the fourth byte of each 3-channel pixel.
    const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(values[0], values[1]), _mm256_packus_epi32(values[2], values[3]));
    const __m256i ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    if constexpr (C == 4) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + x * C), ordered);
    } else {
      const __m256i packed = _mm256_shuffle_epi8(
          ordered, _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1));
      alignas(32) u8 block[32];
      _mm256_store_si256(reinterpret_cast<__m256i*>(block), packed);
      std::memcpy(out + x * C, block, 12);
      std::memcpy(out + x * C + 12, block + 16, 12);
    }
  }
  for (; x < width; ++x) pixel(x);
}

template <int C, class PixelFn>
void bilinear_row_avx2(const source_images<u8>& src, const fixed_tap* taps, const fixed_fraction* fractions,
                       const std::uint8_t* faces, u8* out, int width, PixelFn&& pixel) {
  if (src.w < 3 || src.h < 2 || src.stride_w != C) {
    for (int x = 0; x < width; ++x) pixel(x);
  } else if (faces) {
    bilinear_row_avx2<C, true>(src, taps, fractions, faces, out, width, pixel);
  } else {
    bilinear_row_avx2<C, false>(src, taps, fractions, faces, out, width, pixel);
  }
}

#else

inline bool has_avx2() { return false; }

#endif

}  // namespace vbatch::inline v0::cpu
