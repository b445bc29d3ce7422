// vbatch::f16: to_f16 rounds to nearest even exactly as GCC's _Float16 conversion does (where the
// compiler has _Float16: x86-64 GCC >= 12, Clang >= 15) on every rounding boundary of every
// exponent and on random floats, and on cases worked by hand; to_float is exact for all 65,536
// halves. (All 2^32 floats were compared once, outside CI: 0 differences; it takes minutes.)

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "vbatch/core/element.hpp"

namespace {

namespace vb = vbatch;

std::uint16_t half_of(float v) { return vb::to_f16(v).bits; }

TEST(F16, WorkedCases) {
  EXPECT_EQ(half_of(0.0f), 0x0000);
  EXPECT_EQ(half_of(-0.0f), 0x8000);
  EXPECT_EQ(half_of(1.0f), 0x3c00);
  EXPECT_EQ(half_of(-2.0f), 0xc000);
  EXPECT_EQ(half_of(0.1f), 0x2e66);         // 0.0999755859375
  EXPECT_EQ(half_of(1.0f / 3.0f), 0x3555);  // 0.333251953125
  EXPECT_EQ(half_of(65504.0f), 0x7bff);     // the largest half
  EXPECT_EQ(half_of(65519.99f), 0x7bff);    // just below the midpoint to infinity
  EXPECT_EQ(half_of(65520.0f), 0x7c00);     // the midpoint ties away from the odd 65504
  EXPECT_EQ(half_of(1e10f), 0x7c00);
  EXPECT_EQ(half_of(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(half_of(1.0f + 1.0f / 2048), 0x3c00);     // a tie between 1 and 1 + 2^-10: to the even 1
  EXPECT_EQ(half_of(1.0f + 3.0f / 2048), 0x3c02);     // a tie between odd and even: to the even one
  EXPECT_EQ(half_of(std::ldexp(1.0f, -14)), 0x0400);  // the smallest normal
  EXPECT_EQ(half_of(std::ldexp(1.0f, -24)), 0x0001);  // the smallest subnormal
  EXPECT_EQ(half_of(std::ldexp(1.0f, -25)), 0x0000);  // half of it ties to 0
  EXPECT_EQ(half_of(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(half_of(std::ldexp(3.0f, -25)), 0x0002);     // 1.5 subnormal steps ties to the even 2
  EXPECT_EQ(half_of(std::ldexp(1023.5f, -24)), 0x0400);  // rounds up into the smallest normal
  const std::uint16_t nan = half_of(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x3ff, 0);
}

TEST(F16, ToFloatIsExactForEveryHalf) {
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const vb::f16 h{std::uint16_t(bits)};
    const float v = vb::to_float(h);
    const std::uint32_t exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
    double expected = exponent == 0 ? std::ldexp(double(mantissa), -24) : std::ldexp(1.0 + mantissa / 1024.0, int(exponent) - 15);
    if (exponent == 0x1f)
      expected = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    if (bits & 0x8000) expected = -expected;
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(v)) << std::hex << bits;
    } else {
      EXPECT_EQ(double(v), expected) << std::hex << bits;
      EXPECT_EQ(std::signbit(v), bool(bits & 0x8000)) << std::hex << bits;
      EXPECT_EQ(vb::to_f16(v), h) << std::hex << bits;  // and back
    }
  }
}

#if defined(__FLT16_MAX__)
std::uint16_t reference(float v) {
  const _Float16 h = static_cast<_Float16>(v);
  std::uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

TEST(F16, EqualsTheCompilersFloat16OnEveryBoundaryAndRandomFloats) {
  // For every sign, exponent and top 10 mantissa bits: the 13 dropped bits at and around the
  // rounding midpoint and the ends, which is where a rounding rule shows.
  int differences = 0;
  for (std::uint32_t high = 0; high < (1u << 19); ++high)
    for (std::uint32_t low : {0x0u, 0x1u, 0xfffu, 0x1000u, 0x1001u, 0x1fffu}) {
      const float v = std::bit_cast<float>(high << 13 | low);
      if (std::isnan(v)) continue;
      differences += half_of(v) != reference(v);
      if (half_of(v) != reference(v) && differences < 5) ADD_FAILURE() << std::hex << (high << 13 | low);
    }
  std::mt19937 rng(16);
  for (int k = 0; k < 2'000'000; ++k) {
    const float v = std::bit_cast<float>(std::uint32_t(rng()));
    if (!std::isnan(v)) differences += half_of(v) != reference(v);
  }
  EXPECT_EQ(differences, 0);
}
#endif

}  // namespace
