#pragma once
// Row primitives of the CPU morphology schedules (morph/cpu/engine.hpp): element-wise max/min of
// rows of pixels, and OR/AND of rows of packed bits read at any bit offset, plus packing a u8 mask
// row into bits and back. Each has an AVX2 variant (chosen at run time, like the sampling SIMD)
// and a portable scalar one; both give the same bits (tests/morph/schedule_test.cpp).
//
// Rows here are flat arrays: a gray row of n pixels with C channels is n * C elements, so a shift
// of one pixel is C elements; a packed row holds pixel x at bit x % 64 of word x / 64.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "vbatch/core/element.hpp"
#include "vbatch/morph/kernels.hpp"

// nvcc compiles only the CUDA backend's translation units; they never run these schedules.
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define VBATCH_MORPH_X86_SIMD 1
#include <immintrin.h>
#else
#define VBATCH_MORPH_X86_SIMD 0
#endif

namespace vbatch::inline v0::morph::cpu {

using word = std::uint64_t;

// Whether the AVX2 variants may run on this CPU.
inline bool have_avx2() {
#if VBATCH_MORPH_X86_SIMD
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
#else
  return false;
#endif
}

// The bitwise form of an operation on packed masks: dilation ORs, erosion ANDs.
template <class Op>
constexpr word apply_bits(word a, word b) {
  return Op::is_dilate ? (a | b) : (a & b);
}

// 64 bits of `p` starting at bit `bit` (>= 0); reads p[bit / 64] and p[bit / 64 + 1].
inline word bits_at(const word* p, std::int64_t bit) {
  const std::int64_t q = bit >> 6;
  const int r = static_cast<int>(bit & 63);
  return r == 0 ? p[q] : (p[q] >> r) | (p[q + 1] << (64 - r));
}

namespace detail {

#if VBATCH_MORPH_X86_SIMD
#define VBATCH_MORPH_AVX2 __attribute__((target("avx2")))

template <class Op>
VBATCH_MORPH_AVX2 inline __m256i op_u8(__m256i a, __m256i b) {
  if constexpr (Op::is_dilate)
    return _mm256_max_epu8(a, b);
  else
    return _mm256_min_epu8(a, b);
}
template <class Op>
VBATCH_MORPH_AVX2 inline __m256 op_f32(__m256 a, __m256 b) {
  if constexpr (Op::is_dilate)
    return _mm256_max_ps(a, b);
  else
    return _mm256_min_ps(a, b);
}
template <class Op>
VBATCH_MORPH_AVX2 inline __m256i op_bits(__m256i a, __m256i b) {
  if constexpr (Op::is_dilate)
    return _mm256_or_si256(a, b);
  else
    return _mm256_and_si256(a, b);
}

// dst[k] = op over j < K of src[j][k], for k < n. Every source is loaded before dst is stored, and
// blocks go in ascending order, so dst may be src[0] while the other sources lie ahead of it (the
// in-place levelling step D4[x] = op(D1[x], D1[x+1], D1[x+2], D1[x+3])).
template <class Op, int K>
VBATCH_MORPH_AVX2 void combine_avx2(u8* dst, const u8* const* sources, std::ptrdiff_t n) {
  // Local copies: a u8 store may alias the pointer array, which would force a reload per block.
  const u8* src[K];
  for (int j = 0; j < K; ++j) src[j] = sources[j];
  std::ptrdiff_t k = 0;
  for (; k + 64 <= n; k += 64) {
    __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[0] + k));
    __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[0] + k + 32));
    for (int j = 1; j < K; ++j) {
      v0 = op_u8<Op>(v0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + k)));
      v1 = op_u8<Op>(v1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + k + 32)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k), v0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k + 32), v1);
  }
  for (; k + 32 <= n; k += 32) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[0] + k));
    for (int j = 1; j < K; ++j) v = op_u8<Op>(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + k)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k), v);
  }
  for (; k < n; ++k) {
    u8 v = src[0][k];
    for (int j = 1; j < K; ++j) v = Op::apply(v, src[j][k]);
    dst[k] = v;
  }
}
template <class Op, int K>
VBATCH_MORPH_AVX2 void combine_avx2(float* dst, const float* const* sources, std::ptrdiff_t n) {
  const float* src[K];
  for (int j = 0; j < K; ++j) src[j] = sources[j];
  std::ptrdiff_t k = 0;
  for (; k + 8 <= n; k += 8) {
    __m256 v = _mm256_loadu_ps(src[0] + k);
    for (int j = 1; j < K; ++j) v = op_f32<Op>(v, _mm256_loadu_ps(src[j] + k));
    _mm256_storeu_ps(dst + k, v);
  }
  for (; k < n; ++k) {
    float v = src[0][k];
    for (int j = 1; j < K; ++j) v = Op::apply(v, src[j][k]);
    dst[k] = v;
  }
}

// The van Herk step: g = op(g_prev, next); out = op(s, g), in one pass (g may be g_prev).
template <class Op>
VBATCH_MORPH_AVX2 void van_herk_step_avx2(u8* g, u8* out, const u8* g_prev, const u8* next, const u8* s, std::ptrdiff_t n) {
  std::ptrdiff_t k = 0;
  for (; k + 32 <= n; k += 32) {
    const __m256i gv = op_u8<Op>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g_prev + k)),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(next + k)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + k), gv);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k),
                        op_u8<Op>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + k)), gv));
  }
  for (; k < n; ++k) g[k] = Op::apply(g_prev[k], next[k]), out[k] = Op::apply(s[k], g[k]);
}
template <class Op>
VBATCH_MORPH_AVX2 void van_herk_step_avx2(float* g, float* out, const float* g_prev, const float* next, const float* s,
                                          std::ptrdiff_t n) {
  std::ptrdiff_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 gv = op_f32<Op>(_mm256_loadu_ps(g_prev + k), _mm256_loadu_ps(next + k));
    _mm256_storeu_ps(g + k, gv);
    _mm256_storeu_ps(out + k, op_f32<Op>(_mm256_loadu_ps(s + k), gv));
  }
  for (; k < n; ++k) g[k] = Op::apply(g_prev[k], next[k]), out[k] = Op::apply(s[k], g[k]);
}

// 4 words of p from bit `bit` + 64 w on (shift counts are per source; a shift by 64 gives 0 in AVX2,
// so offsets that are whole words need no special case).
VBATCH_MORPH_AVX2 inline __m256i load_bits(const word* p, __m128i low, __m128i high) {
  return _mm256_or_si256(_mm256_srl_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), low),
                         _mm256_sll_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 1)), high));
}

// dst[w] = op over j < K of the bits of src[j] from bit[j] + 64 w, for w < words.
template <class Op, int K>
VBATCH_MORPH_AVX2 void combine_bits_avx2(word* dst, const word* const* src, const std::int64_t* bit, std::ptrdiff_t words) {
  const word* p[K];
  __m128i low[K], high[K];
  for (int j = 0; j < K; ++j) {
    p[j] = src[j] + (bit[j] >> 6);
    const int r = static_cast<int>(bit[j] & 63);
    low[j] = _mm_cvtsi32_si128(r), high[j] = _mm_cvtsi32_si128(64 - r);
  }
  std::ptrdiff_t w = 0;
  for (; w + 4 <= words; w += 4) {
    __m256i v = load_bits(p[0] + w, low[0], high[0]);
    for (int j = 1; j < K; ++j) v = op_bits<Op>(v, load_bits(p[j] + w, low[j], high[j]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + w), v);
  }
  for (; w < words; ++w) {
    word v = bits_at(src[0], bit[0] + 64 * w);
    for (int j = 1; j < K; ++j) v = apply_bits<Op>(v, bits_at(src[j], bit[j] + 64 * w));
    dst[w] = v;
  }
}

// combine_bits_avx2 when every offset is a whole number of words: plain loads, no shifts (the
// vertical steps, whose offsets are whole rows).
template <class Op, int K>
VBATCH_MORPH_AVX2 void combine_words_avx2(word* dst, const word* const* src, const std::int64_t* bit, std::ptrdiff_t words) {
  const word* p[K];
  for (int j = 0; j < K; ++j) p[j] = src[j] + (bit[j] >> 6);
  std::ptrdiff_t w = 0;
  for (; w + 4 <= words; w += 4) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[0] + w));
    for (int j = 1; j < K; ++j) v = op_bits<Op>(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[j] + w)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + w), v);
  }
  for (; w < words; ++w) {
    word v = p[0][w];
    for (int j = 1; j < K; ++j) v = apply_bits<Op>(v, p[j][w]);
    dst[w] = v;
  }
}

template <class Op, int K>
VBATCH_MORPH_AVX2 void combine_bits_dispatch(word* dst, const word* const* src, const std::int64_t* bit, std::ptrdiff_t words) {
  bool aligned = true;
  for (int j = 0; j < K; ++j) aligned = aligned && (bit[j] & 63) == 0;
  if (aligned) return combine_words_avx2<Op, K>(dst, src, bit, words);
  combine_bits_avx2<Op, K>(dst, src, bit, words);
}

// n mask bytes -> bits (1 = nonzero), 64 at a time; false when a byte is neither 0 nor `value`.
VBATCH_MORPH_AVX2 inline bool pack_avx2(const u8* src, int n, word* dst, u8 value) {
  const __m256i zero = _mm256_setzero_si256(), v = _mm256_set1_epi8(static_cast<char>(value));
  __m256i bad = _mm256_setzero_si256();
  int x = 0;
  for (; x + 64 <= n; x += 64) {
    const __m256i p0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + x));
    const __m256i p1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + x + 32));
    const __m256i z0 = _mm256_cmpeq_epi8(p0, zero), z1 = _mm256_cmpeq_epi8(p1, zero);
    // A byte is bad when it is neither 0 nor value: (p != 0) & (p != value).
    bad = _mm256_or_si256(bad, _mm256_andnot_si256(_mm256_or_si256(z0, _mm256_cmpeq_epi8(p0, v)), _mm256_set1_epi8(-1)));
    bad = _mm256_or_si256(bad, _mm256_andnot_si256(_mm256_or_si256(z1, _mm256_cmpeq_epi8(p1, v)), _mm256_set1_epi8(-1)));
    const std::uint32_t lo = ~static_cast<std::uint32_t>(_mm256_movemask_epi8(z0));
    const std::uint32_t hi = ~static_cast<std::uint32_t>(_mm256_movemask_epi8(z1));
    dst[x >> 6] = word{lo} | (word{hi} << 32);
  }
  if (!_mm256_testz_si256(bad, bad)) return false;
  if (x < n) {
    word w = 0;
    for (int j = 0; x + j < n; ++j) {
      const u8 p = src[x + j];
      if (p != 0 && p != value) return false;
      w |= word{p != 0} << j;
    }
    dst[x >> 6] = w;
  }
  return true;
}

// Bits -> bytes: value where set, 0 elsewhere.
VBATCH_MORPH_AVX2 inline void unpack_avx2(const word* bits, int n, u8 value, u8* dst) {
  const __m256i spread =
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i select = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i v = _mm256_set1_epi8(static_cast<char>(value));
  int x = 0;
  for (; x + 32 <= n; x += 32) {
    std::uint32_t b32;
    std::memcpy(&b32, reinterpret_cast<const unsigned char*>(bits) + (x >> 3), 4);  // little-endian words
    const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(b32)), spread);
    const __m256i on = _mm256_cmpeq_epi8(_mm256_and_si256(b, select), select);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + x), _mm256_and_si256(on, v));
  }
  for (; x < n; ++x) dst[x] = (bits[x >> 6] >> (x & 63)) & 1 ? value : u8(0);
}

#undef VBATCH_MORPH_AVX2
#endif

}  // namespace detail

// dst[k] = op over j < count of src[j][k], for k < n elements; count is 1..4. dst may be src[0]
// with the other sources ahead of it (in-place levelling).
template <class Op, class T>
void combine(T* dst, const T* const* src, int count, std::ptrdiff_t n, bool simd) {
#if VBATCH_MORPH_X86_SIMD
  if (simd) {
    switch (count) {
      case 1:
        return void(std::memmove(dst, src[0], std::size_t(n) * sizeof(T)));
      case 2:
        return detail::combine_avx2<Op, 2>(dst, src, n);
      case 3:
        return detail::combine_avx2<Op, 3>(dst, src, n);
      default:
        return detail::combine_avx2<Op, 4>(dst, src, n);
    }
  }
#endif
  (void)simd;
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    T v = src[0][k];
    for (int j = 1; j < count; ++j) v = Op::apply(v, src[j][k]);
    dst[k] = v;
  }
}

template <class Op, class T>
void combine(T* dst, const T* a, const T* b, std::ptrdiff_t n, bool simd) {
  const T* src[2] = {a, b};
  combine<Op>(dst, src, 2, n, simd);
}

// g = op(g_prev, next); out = op(s, g) for n elements (g may be g_prev).
template <class Op, class T>
void van_herk_step(T* g, T* out, const T* g_prev, const T* next, const T* s, std::ptrdiff_t n, bool simd) {
#if VBATCH_MORPH_X86_SIMD
  if (simd) return detail::van_herk_step_avx2<Op>(g, out, g_prev, next, s, n);
#endif
  (void)simd;
  for (std::ptrdiff_t k = 0; k < n; ++k) g[k] = Op::apply(g_prev[k], next[k]), out[k] = Op::apply(s[k], g[k]);
}

// dst[w] = op over j < count of the bits of src[j] from bit[j] + 64 w, for w < words; count is
// 1..4; reads one word past each range. dst may be src[0] (bit 0) with the others ahead of it.
template <class Op>
void combine_bits(word* dst, const word* const* src, const std::int64_t* bit, int count, std::ptrdiff_t words, bool simd) {
#if VBATCH_MORPH_X86_SIMD
  if (simd) {
    switch (count) {
      case 1:
        return detail::combine_bits_dispatch<Op, 1>(dst, src, bit, words);
      case 2:
        return detail::combine_bits_dispatch<Op, 2>(dst, src, bit, words);
      case 3:
        return detail::combine_bits_dispatch<Op, 3>(dst, src, bit, words);
      default:
        return detail::combine_bits_dispatch<Op, 4>(dst, src, bit, words);
    }
  }
#endif
  (void)simd;
  for (std::ptrdiff_t w = 0; w < words; ++w) {
    word v = bits_at(src[0], bit[0] + 64 * w);
    for (int j = 1; j < count; ++j) v = apply_bits<Op>(v, bits_at(src[j], bit[j] + 64 * w));
    dst[w] = v;
  }
}

template <class Op>
void combine_bits(word* dst, const word* a, std::int64_t a_bit, const word* b, std::int64_t b_bit, std::ptrdiff_t words,
                  bool simd) {
  const word* src[2] = {a, b};
  const std::int64_t bit[2] = {a_bit, b_bit};
  combine_bits<Op>(dst, src, bit, 2, words, simd);
}

// Packs n mask bytes src[0], src[step], ... into bits (1 = nonzero), the last word's spare bits 0.
// Returns false as soon as a byte is neither 0 nor `value`; `value` 0 means "not seen yet" and
// becomes the first nonzero byte met.
inline bool pack_row(const u8* src, std::ptrdiff_t step, int n, word* dst, u8& value, bool simd) {
  int x = 0;
  if (value == 0) {  // find the mask's "on" value first
    for (; x < n && src[x * step] == 0; ++x) {
    }
    if (x == n) return std::memset(dst, 0, std::size_t((n + 63) / 64) * sizeof(word)), true;
    value = src[x * step];
  }
#if VBATCH_MORPH_X86_SIMD
  if (simd && step == 1) return detail::pack_avx2(src, n, dst, value);
#endif
  (void)simd;
  std::memset(dst, 0, std::size_t((n + 63) / 64) * sizeof(word));
  for (x = 0; x < n; ++x) {
    const u8 p = src[x * step];
    if (p != 0 && p != value) return false;
    dst[x >> 6] |= word{p != 0} << (x & 63);
  }
  return true;
}

// Writes n bytes dst[0], dst[step], ...: `value` where the bit is set, 0 elsewhere.
inline void unpack_row(const word* bits, int n, u8 value, u8* dst, std::ptrdiff_t step, bool simd) {
#if VBATCH_MORPH_X86_SIMD
  if (simd && step == 1) return detail::unpack_avx2(bits, n, value, dst);
#endif
  (void)simd;
  for (int x = 0; x < n; ++x) dst[x * step] = (bits[x >> 6] >> (x & 63)) & 1 ? value : u8(0);
}

}  // namespace vbatch::inline v0::morph::cpu
