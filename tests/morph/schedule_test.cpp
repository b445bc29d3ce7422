// The CPU schedules (morph/cpu/): the AVX2 primitives give the scalar primitives' bits; the packed
// schedule takes two-valued masks (0/255, 0/1, any 0/v) and hands anything else back to the pixel
// schedule; whole operations are identical with and without SIMD, at widths around vector and
// word boundaries.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "morph_test_util.hpp"

namespace {

using namespace morph_test;
namespace cpu = vbatch::morph::cpu;

TEST(MorphSchedule, ReportsTheSimdLevel) { RecordProperty("avx2", cpu::have_avx2() ? "yes" : "no"); }

TEST(MorphSchedule, PixelCombineIsTheSameWithAndWithoutSimd) {
  std::mt19937 rng(1);
  std::vector<u8> a(300), b(300);
  std::vector<float> fa(300), fb(300);
  for (int k = 0; k < 300; ++k) a[k] = rng(), b[k] = rng(), fa[k] = float(rng() % 1000) - 500, fb[k] = float(rng() % 1000) - 500;
  for (int n : {0, 1, 31, 32, 33, 63, 64, 65, 200, 299}) {
    std::vector<u8> s(300), v(300);
    std::vector<float> fs(300), fv(300);
    cpu::combine<morph::dilate_op>(s.data(), a.data(), b.data(), n, false);
    cpu::combine<morph::dilate_op>(v.data(), a.data(), b.data(), n, cpu::have_avx2());
    EXPECT_EQ(s, v) << n;
    cpu::combine<morph::erode_op>(fs.data(), fa.data(), fb.data(), n, false);
    cpu::combine<morph::erode_op>(fv.data(), fa.data(), fb.data(), n, cpu::have_avx2());
    EXPECT_EQ(fs, fv) << n;
    for (int k = 0; k < n; ++k) ASSERT_EQ(s[k], std::max(a[k], b[k]));
    // In place, b ahead of dst: the doubling step.
    std::vector<u8> p = a, q = a;
    cpu::combine<morph::dilate_op>(p.data(), p.data(), p.data() + 3, std::min(n, 297), false);
    cpu::combine<morph::dilate_op>(q.data(), q.data(), q.data() + 3, std::min(n, 297), cpu::have_avx2());
    EXPECT_EQ(p, q) << n;
  }
}

TEST(MorphSchedule, BitCombineMatchesBitByBit) {
  std::mt19937_64 rng(2);
  std::vector<cpu::word> a(20), b(20);
  for (auto& w : a) w = rng();
  for (auto& w : b) w = rng();
  const auto bit = [](const std::vector<cpu::word>& v, std::int64_t i) { return (v[i >> 6] >> (i & 63)) & 1; };
  for (std::int64_t ao : {0, 1, 63, 64, 65, 130})
    for (std::int64_t bo : {0, 5, 64, 127})
      for (int words : {1, 3, 4, 5, 9}) {
        std::vector<cpu::word> s(words), v(words);
        cpu::combine_bits<morph::dilate_op>(s.data(), a.data(), ao, b.data(), bo, words, false);
        cpu::combine_bits<morph::dilate_op>(v.data(), a.data(), ao, b.data(), bo, words, cpu::have_avx2());
        ASSERT_EQ(s, v);
        for (int i = 0; i < 64 * words; ++i) ASSERT_EQ(bit(s, i), bit(a, ao + i) | bit(b, bo + i)) << ao << " " << bo << " " << i;
        cpu::combine_bits<morph::erode_op>(v.data(), a.data(), ao, b.data(), bo, words, cpu::have_avx2());
        for (int i = 0; i < 64 * words; ++i) ASSERT_EQ(bit(v, i), bit(a, ao + i) & bit(b, bo + i));
      }
}

TEST(MorphSchedule, PackAndUnpackRoundTripAndRefuseAThirdValue) {
  for (bool simd : {false, cpu::have_avx2()})
    for (int n : {1, 31, 32, 63, 64, 65, 130, 1920}) {
      for (u8 on : {u8(1), u8(255), u8(77)}) {
        const auto m = random_mask({1, 1, n, 1}, 3 + n, on, 3);
        std::vector<cpu::word> bits((n + 63) / 64, ~cpu::word{0});
        u8 value = 0;
        ASSERT_TRUE(cpu::pack_row(m.data(), 1, n, bits.data(), value, simd));
        const bool any = morph::any(m.view());
        EXPECT_EQ(value, any ? on : 0);
        if (n % 64) {
          EXPECT_EQ(bits.back() >> (n % 64), 0u) << "spare bits must be 0";
        }
        std::vector<u8> back(n);
        cpu::unpack_row(bits.data(), n, on, back.data(), 1, simd);
        EXPECT_TRUE(std::equal(back.begin(), back.end(), m.data())) << n;
      }
      std::vector<u8> gray(n, 0);
      gray[n - 1] = 9;
      if (n > 1) gray[0] = 200;
      std::vector<cpu::word> bits((n + 63) / 64);
      u8 value = 0;
      EXPECT_EQ(cpu::pack_row(gray.data(), 1, n, bits.data(), value, simd), n == 1) << n;
    }
}

TEST(MorphSchedule, PackedBandsFallBackForGrayImages) {
  // A band whose rows hold a third value is refused (returns false, writes nothing); a mask is taken.
  const auto plan = cpu::make_row_plan(std::vector<morph::segment>{{-1, -1, 3}, {0, -1, 3}, {1, -1, 3}}, true);
  const auto gray = random_gray<u8>({1, 10, 40, 1}, 5);
  const auto mask = random_mask({1, 10, 40, 1}, 6, 1);
  vb::batch_buffer<u8> out({1, 10, 40, 1});
  std::fill_n(out.data(), 400, u8(42));
  cpu::band_kernel<u8, morph::dilate_op> k{gray.view(), out.view(), &plan, 10, true, true};
  EXPECT_FALSE(k.run_packed(0, 0, 10));
  EXPECT_EQ(std::count(out.data(), out.data() + 400, u8(42)), 400);
  k.src = mask.view();
  EXPECT_TRUE(k.run_packed(0, 0, 10));
  EXPECT_TRUE(same_images(out, reference<u8>(morph::operation::dilate, mask.view(), grid::of(morph::square(3)))));
  // A mask whose two halves use different "on" values: each band decides on its own rows.
  auto halves = random_mask({1, 40, 70, 1}, 7, 255);
  for (int k2 = 20 * 70; k2 < 40 * 70; ++k2)
    if (halves.data()[k2]) halves.data()[k2] = 1;
  for (auto a : {morph::algorithm::automatic, morph::algorithm::packed})
    for (const auto& e : {morph::square(3), morph::disk(2)})
      EXPECT_TRUE(same_images(morph::dilate(vb::cpu_par{2}, halves.view(), e, {1, a}),
                              reference<u8>(morph::operation::dilate, halves.view(), grid::of(e))));
}

TEST(MorphSchedule, PackedChunksJoinSeamlessly) {
  // Taller than one chunk of the packed schedule (512 rows), one band and several.
  const auto mask = random_mask({1, 1100, 45, 1}, 11, 255, 40);
  for (const auto& e : {morph::square(15), morph::rect(3, 61), morph::disk(6), morph::cross(9, 21)})
    for (auto op : {morph::operation::dilate, morph::operation::erode})
      for (int threads : {1, 2}) {
        vb::batch_buffer<u8> want(mask.shape()), got(mask.shape());
        morph::morphology(vb::cpu_serial{}, op, mask.view(), want.view(), e, {1, morph::algorithm::direct});
        morph::morphology(vb::cpu_par{threads}, op, mask.view(), got.view(), e, {1, morph::algorithm::packed});
        EXPECT_TRUE(same_images(got, want)) << describe(e) << " " << morph::to_string(op) << " " << threads << " threads";
      }
}

template <class T>
vb::batch_buffer<T> apply(morph::operation op, const vb::batch_buffer<T>& src, const morph::structuring_element& e,
                          const morph::options& o) {
  vb::batch_buffer<T> out(src.shape());
  morph::morphology(vb::cpu_serial{}, op, src.view(), out.view(), e, o);
  return out;
}

TEST(MorphSchedule, WholeOperationsAreTheSameWithoutSimd) {
  for (int w : {1, 7, 31, 32, 33, 64, 65, 100})
    for (const auto& e : {morph::square(3), morph::square(11), morph::disk(4), morph::cross(5, 3), morph::rect(17, 2)}) {
      const auto mask = random_mask({2, 21, w, 1}, 8 + w);
      const auto gray = random_gray<u8>({1, 21, w, 3}, 9 + w);
      const auto gray_f = random_gray<float>({1, 21, w, 1}, 10 + w);
      for (auto op : {morph::operation::dilate, morph::operation::erode})
        for (auto a : algorithms_for(e, true)) {
          const morph::options simd{1, a, true}, plain{1, a, false};
          EXPECT_TRUE(same_images(apply(op, mask, e, simd), apply(op, mask, e, plain)))
              << describe(e) << " w " << w << " " << morph::to_string(a);
          if (a == morph::algorithm::packed) continue;
          EXPECT_TRUE(same_images(apply(op, gray, e, simd), apply(op, gray, e, plain))) << describe(e) << " w " << w;
          EXPECT_TRUE(same_images(apply(op, gray_f, e, simd), apply(op, gray_f, e, plain))) << describe(e) << " w " << w;
        }
    }
}

// automatic on the GPU: segment_levels where it reads less than direct (operation counts in
// morphology.hpp), direct for the smallest elements.
TEST(MorphSchedule, SegmentLevelsIsChosenWhereItDoesLessWork) {
  const auto pays = [](const morph::structuring_element& e, int w = 1920) {
    return morph::detail::segment_levels_pays(morph::detail::fold(e, 1, w, 1080), w);
  };
  EXPECT_TRUE(pays(morph::disk(3)));
  EXPECT_TRUE(pays(morph::disk(15)));
  EXPECT_TRUE(pays(morph::disk(30)));
  EXPECT_TRUE(pays(morph::ellipse(31, 9)));
  EXPECT_FALSE(pays(morph::disk(2)));
  EXPECT_FALSE(pays(morph::cross(3, 3)));
  EXPECT_FALSE(pays(morph::disk(15), 2)) << "on a 2-pixel-wide image every run is at most 2 long";
  EXPECT_EQ(morph::detail::segment_levels_needed(morph::detail::fold(morph::disk(15), 1, 1920, 1080), 1920), 4);
  EXPECT_EQ(morph::detail::segment_levels_needed(morph::detail::fold(morph::disk(15), 1, 5, 5), 5), 2);
}

}  // namespace
