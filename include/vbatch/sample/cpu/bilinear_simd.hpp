#pragma once
// The CPU's SIMD schedule of remap's hottest case: u8 images with 3 or 4 channels, bilinear
// interpolation, cached_fixed maps. It computes exactly what sample(interp::bilinear,
// fixed_sample_point) computes, the per-pixel body every executor runs, and is bit-identical to it
// (tests/sample/remap_simd_test.cpp checks both variants against it).
//
// Per pixel: the two source rows of the 2×2 footprint are loaded as 8 bytes each; a byte shuffle
// pairs each tap with its right neighbour; one multiply-add applies the horizontal weights
// (128 - fx, fx) to the pixels biased to signed (p - 128), a second the vertical weights
// (128 - fy, fy), and adding 128 * 2^14 undoes the bias exactly. A 128-bit lane holds one pixel,
// so an AVX2 register works on two. Pixels go in blocks of eight, whose weights are built at once
// from the map's fraction array; a block with any footprint outside the image (seam, poles,
// edges) goes to the per-pixel body instead. (An AVX-512 variant, four pixels per register, was
// measured 5% faster on Zen 5 and left out: the loads and address arithmetic dominate.)
//
// A GCC/Clang target attribute and a run-time CPU check enable it, so the rest of the program
// needs no special flags. Figures are in docs/performance.md.

#include <cstdint>
#include <cstring>

#include "vbatch/sample/interp.hpp"
#include "vbatch/sample/map.hpp"

// nvcc compiles the CUDA backend only; its translation units take the per-pixel body.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define VBATCH_HAVE_X86_SIMD 1
#include <immintrin.h>
#else
#define VBATCH_HAVE_X86_SIMD 0
#endif

namespace vbatch::inline v0::sample::cpu {

enum class simd { none, avx2 };

#if VBATCH_HAVE_X86_SIMD

// The widest variant this CPU runs.
inline simd best_simd() {
  static const simd level = __builtin_cpu_supports("avx2") ? simd::avx2 : simd::none;
  return level;
}

namespace detail {

#define VBATCH_AVX2 __attribute__((target("avx2")))

// Two rows of 8 bytes starting at p and p + stride, in one 128-bit lane.
VBATCH_AVX2 inline __m128i load_rows(const u8* p, std::ptrdiff_t stride) {
  const __m128i top = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(top), reinterpret_cast<const double*>(p + stride)));
}

// Per 128-bit lane: [top row | bottom row] bytes as (left, right) tap pairs per channel.
template <int C>
VBATCH_AVX2 inline __m128i pair_taps() {
  return C == 3 ? _mm_setr_epi8(0, 3, 1, 4, 2, 5, -1, -1, 8, 11, 9, 12, 10, 13, -1, -1)
                : _mm_setr_epi8(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15);
}
// Per lane: 16-bit row sums [top c0..c3 | bottom c0..c3] as (top, bottom) pairs per channel.
VBATCH_AVX2 inline __m128i pair_rows() { return _mm_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15); }

inline constexpr int prefetch_distance = 128;  // output pixels
inline constexpr int unbias_and_round = fixed_one * (fixed_one << fixed_bits) + (1 << (2 * fixed_bits - 1));

// Weights of eight pixels from their (fx, fy) fractions: horizontal weight bytes (128 - fx, fx)
// as 16 bits per pixel, vertical int16 pairs (128 - fy, fy) as 32 bits per pixel (pixels 0-3 and 4-7).
struct block_weights {
  __m128i wx, wy_low, wy_high;
};
VBATCH_AVX2 inline block_weights weights_of(const fixed_fraction* f8) {
  const __m128i f = _mm_loadu_si128(reinterpret_cast<const __m128i*>(f8));
  const __m128i one = _mm_set1_epi16(fixed_one), fx = _mm_and_si128(f, _mm_set1_epi16(0xFF)), fy = _mm_srli_epi16(f, 8);
  return {_mm_or_si128(_mm_sub_epi16(one, fx), _mm_slli_epi16(fx, 8)), _mm_unpacklo_epi16(_mm_sub_epi16(one, fy), fy),
          _mm_unpackhi_epi16(_mm_sub_epi16(one, fy), fy)};
}

// Eight pixels' four bytes each, in order, to C-channel pixels at out.
template <int C>
VBATCH_AVX2 inline void store_block(u8* out, __m256i ordered) {
  if constexpr (C == 4) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), ordered);
  } else {
    const __m256i packed = _mm256_shuffle_epi8(ordered, _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
                                                                         0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1));
    alignas(32) u8 bytes[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(bytes), packed);
    std::memcpy(out, bytes, 12);
    std::memcpy(out + 12, bytes + 16, 12);
  }
}

// Whether the eight top-left taps (x, y) at t8 all lie where both 8-byte row loads stay inside
// the image: 0 <= x <= W - 3 (W - 2 for 4 channels), 0 <= y <= H - 2.
template <int C>
VBATCH_AVX2 inline bool all_inside(const source_images<u8>& src, const fixed_tap* t8) {
  const __m256i last = _mm256_set1_epi32((src.w - (C == 3 ? 3 : 2)) | ((src.h - 2) << 16));
  const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t8));  // (x, y) int16 x 8
  const __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi16(_mm256_setzero_si256(), t), _mm256_cmpgt_epi16(t, last));
  return _mm256_testz_si256(outside, outside);
}

// Address of the top-left tap of pixel i.
template <int C, bool Faces>
inline const u8* tap_address(const source_images<u8>& src, const fixed_tap* taps, const std::uint8_t* faces, int i) {
  const u8* image = Faces ? src.data + faces[i] * src.stride_image : src.data;
  return image + taps[i].y * src.stride_h + taps[i].x * C;
}

// One row in blocks of eight pixels: block(x) computes pixels x..x+7 and returns true, or returns
// false when a footprint leaves the image, and then pixel(x) computes them one by one.
template <class Block, class PixelFn>
[[gnu::always_inline]] inline void for_each_block(int width, Block&& block, PixelFn&& pixel) {
  int x = 0;
  for (; x + 8 <= width; x += 8)
    if (!block(x))
      for (int j = 0; j < 8; ++j) pixel(x + j);
  for (; x < width; ++x) pixel(x);
}

template <int C, bool Faces, class PixelFn>
VBATCH_AVX2 void row_avx2(const source_images<u8>& src, const fixed_tap* taps, const fixed_fraction* fractions,
                          const std::uint8_t* faces, u8* out, int width, PixelFn& pixel) {
  const __m256i taps_shuffle = _mm256_broadcastsi128_si256(pair_taps<C>()),
                rows_shuffle = _mm256_broadcastsi128_si256(pair_rows());
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80)), unbias = _mm256_set1_epi32(unbias_and_round);
  // Pixel 2j's weights over lane 0 and pixel 2j + 1's over lane 1 (16-bit at byte 2p, 32-bit at 4 (p mod 4)).
  __m256i select_wx[4], select_wy[2];
  for (int j = 0; j < 4; ++j) {
    alignas(32) char bytes[32];
    for (int i = 0; i < 32; ++i) bytes[i] = static_cast<char>(2 * (2 * j + i / 16) + i % 2);
    select_wx[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
    for (int i = 0; i < 32; ++i) bytes[i] = static_cast<char>(4 * (2 * (j % 2) + i / 16) + i % 4);
    if (j < 2) select_wy[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
  }
  const auto block = [&](int x) VBATCH_AVX2 {
    if (!all_inside<C>(src, taps + x)) return false;
    // Output rows cross many source rows of a large panorama, which defeats the hardware
    // prefetcher: ask for the footprint 128 pixels ahead (+38% on an 8K source, 0% on a 2K one).
    if (x + prefetch_distance < width) {
      const u8* ahead = tap_address<C, Faces>(src, taps, faces, x + prefetch_distance);
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + src.stride_h);
    }
    const auto at = [&](int j) { return tap_address<C, Faces>(src, taps, faces, x + j); };
    const block_weights w = weights_of(fractions + x);
    const __m256i wx8 = _mm256_broadcastsi128_si256(w.wx);
    const __m256i wy_low = _mm256_broadcastsi128_si256(w.wy_low), wy_high = _mm256_broadcastsi128_si256(w.wy_high);
    __m256i values[4];  // int32 channels of pixels 2j (lane 0) and 2j + 1 (lane 1)
    for (int j = 0; j < 4; ++j) {
      const __m256i rows = _mm256_xor_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(load_rows(at(2 * j), src.stride_h)),
                                                                    load_rows(at(2 * j + 1), src.stride_h), 1),
                                            bias);
      const __m256i wx = _mm256_shuffle_epi8(wx8, select_wx[j]);
      const __m256i wy = _mm256_shuffle_epi8(j < 2 ? wy_low : wy_high, select_wy[j % 2]);
      const __m256i row_sums = _mm256_maddubs_epi16(wx, _mm256_shuffle_epi8(rows, taps_shuffle));
      const __m256i sums = _mm256_madd_epi16(_mm256_shuffle_epi8(row_sums, rows_shuffle), wy);
      values[j] = _mm256_srai_epi32(_mm256_add_epi32(sums, unbias), 2 * fixed_bits);
    }
    // Lane 0 now holds pixels 0 2 4 6 and lane 1 pixels 1 3 5 7, four bytes each: interleave.
    const __m256i bytes =
        _mm256_packus_epi16(_mm256_packus_epi32(values[0], values[1]), _mm256_packus_epi32(values[2], values[3]));
    store_block<C>(out + x * C, _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    return true;
  };
  for_each_block(width, block, pixel);
}

#undef VBATCH_AVX2

}  // namespace detail

// Samples output pixels [0, width) of one row whose fixed-point points start at taps and
// fractions (and faces, for cube sources; else null), with SIMD when `variant` (best_simd() by
// default) allows. Pixels the SIMD code does not take go through pixel(x), so each is written once.
template <int C, class PixelFn>
void bilinear_row(const source_images<u8>& src, const fixed_tap* taps, const fixed_fraction* fractions, const std::uint8_t* faces,
                  u8* out, int width, PixelFn&& pixel, simd variant = best_simd()) {
  static_assert(C == 3 || C == 4, "bilinear_row: 3 or 4 channels");
  if (variant == simd::none || src.w < 3 || src.h < 2 || src.stride_w != C) {
    for (int x = 0; x < width; ++x) pixel(x);
  } else {
    if (faces)
      detail::row_avx2<C, true>(src, taps, fractions, faces, out, width, pixel);
    else
      detail::row_avx2<C, false>(src, taps, fractions, faces, out, width, pixel);
  }
}

#else

inline simd best_simd() { return simd::none; }

template <int C, class PixelFn>
void bilinear_row(const source_images<u8>&, const fixed_tap*, const fixed_fraction*, const std::uint8_t*, u8*, int width,
                  PixelFn&& pixel, simd = simd::none) {
  for (int x = 0; x < width; ++x) pixel(x);
}

#endif

}  // namespace vbatch::inline v0::sample::cpu
