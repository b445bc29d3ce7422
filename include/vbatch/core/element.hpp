#pragma once
// Element (channel) types and the conversions every kernel uses when it writes a result.

#include <bit>
#include <cstdint>
#include <type_traits>

#include "vbatch/core/config.hpp"

namespace vbatch::inline v0 {

using u8 = std::uint8_t;
using f32 = float;

template <class T>
concept element = std::is_same_v<std::remove_const_t<T>, u8> || std::is_same_v<std::remove_const_t<T>, f32>;

// Converts an interpolated value to the element type: u8 rounds to nearest (ties up) and
// saturates, f32 is stored as is.
template <class T>
VBATCH_HOST_DEVICE inline T to_element(float v) {
  if constexpr (std::is_same_v<T, u8>) {
    v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
    return static_cast<u8>(static_cast<int>(v + 0.5f));
  } else {
    return v;
  }
}

template <class T>
constexpr const char* element_name() {
  return std::is_same_v<std::remove_const_t<T>, u8> ? "u8" : "f32";
}

// IEEE 754 binary16 ("half"), the input element of half-precision models (TensorRT, PyTorch
// .half()): storage only, 2 bytes with the layout of CUDA's __half, so a device buffer of f16 is
// a __half buffer. Not an image element: vbatch computes in float and converts when it stores.
struct f16 {
  std::uint16_t bits = 0;
  friend constexpr bool operator==(f16, f16) = default;
};

namespace detail {
VBATCH_HOST_DEVICE inline std::uint32_t float_bits(float v) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(v);
#else
  return std::bit_cast<std::uint32_t>(v);
#endif
}
VBATCH_HOST_DEVICE inline float bits_float(std::uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  return std::bit_cast<float>(b);
#endif
}
}  // namespace detail

// float -> f16, rounded to nearest even (as CUDA's __float2half_rn and C's _Float16): beyond the
// largest half (65504) is infinity, below half the smallest subnormal (2^-25) is zero, NaN stays
// NaN. Integer arithmetic only, so every executor and compiler gives the same bits.
VBATCH_HOST_DEVICE inline f16 to_f16(float v) {
  const std::uint32_t x = detail::float_bits(v);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return {static_cast<std::uint16_t>(sign | (a > 0x7f800000u ? 0x7e00u | ((a >> 13) & 0x3ffu) : 0x7c00u))};
  if (a >= 0x477ff000u) return {static_cast<std::uint16_t>(sign | 0x7c00u)};  // 65520 and up round to infinity
  if (a >= 0x38800000u) {  // a normal half: drop 13 mantissa bits, ties to the even one, rebias 127 -> 15
    const std::uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
    return {static_cast<std::uint16_t>(sign | ((rounded - 0x38000000u) >> 13))};
  }
  const std::uint32_t exponent = a >> 23;  // a subnormal half q * 2^-24, q = |v| * 2^24 rounded to even
  if (exponent < 102) return {sign};       // below 2^-25 (and 2^-25 itself ties to 0)
  const std::uint32_t significand = (a & 0x7fffffu) | 0x800000u, shift = 126 - exponent;
  std::uint32_t q = significand >> shift;
  const std::uint32_t rest = significand & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (q & 1u))) ++q;  // q may reach 0x400, the smallest normal: still right
  return {static_cast<std::uint16_t>(sign | q)};
}

// f16 -> float, exact.
VBATCH_HOST_DEVICE inline float to_float(f16 h) {
  const std::uint32_t sign = std::uint32_t{h.bits & 0x8000u} << 16, exponent = (h.bits >> 10) & 0x1fu, mantissa = h.bits & 0x3ffu;
  if (exponent == 0x1f) return detail::bits_float(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return detail::bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // mantissa * 2^-24, exact
  return detail::bits_float(sign | detail::float_bits(magnitude));
}

}  // namespace vbatch::inline v0
