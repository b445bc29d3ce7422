#pragma once
// Element (channel) types and the conversions every kernel uses when it writes a result.

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

}  // namespace vbatch::inline v0
