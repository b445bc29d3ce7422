// Mask helpers: union and intersection of instance masks, thresholds of probability maps,
// inversion between the keep/remove conventions, and any().

#include <gtest/gtest.h>

#include <cmath>

#include "morph_test_util.hpp"

namespace {

using namespace morph_test;
using vbatch_test::throws_error;

TEST(MorphMask, UnionAndIntersectionOfInstanceMasks) {
  // Two images with three instance masks each: (6,H,W,1) -> (2,H,W,1).
  const auto instances = random_mask({6, 17, 23, 1}, 1, 255, 4);
  vb::batch_buffer<u8> all({2, 17, 23, 1}), common({2, 17, 23, 1});
  morph::mask_union(vb::cpu_par{2}, instances.view(), all.view());
  morph::mask_intersection(vb::cpu_serial{}, instances.view(), common.view());
  const vb::batch_view<const u8> m = instances.view();
  for (int i = 0; i < 2; ++i)
    for (int y = 0; y < 17; ++y)
      for (int x = 0; x < 23; ++x) {
        const bool any = m(3 * i, y, x, 0) || m(3 * i + 1, y, x, 0) || m(3 * i + 2, y, x, 0);
        const bool every = m(3 * i, y, x, 0) && m(3 * i + 1, y, x, 0) && m(3 * i + 2, y, x, 0);
        ASSERT_EQ(all.view()(i, y, x, 0), any ? 255 : 0);
        ASSERT_EQ(common.view()(i, y, x, 0), every ? 255 : 0);
      }
  // K = 1 copies; f32 works too (fuzzy union = max).
  vb::batch_buffer<u8> same({6, 17, 23, 1});
  morph::mask_union(vb::cpu_serial{}, instances.view(), same.view());
  EXPECT_TRUE(same_images(same, instances));
  const auto p = random_gray<float>({4, 5, 6, 2}, 2);
  vb::batch_buffer<float> pu({1, 5, 6, 2});
  morph::mask_union(vb::cpu_serial{}, p.view(), pu.view());
  for (int y = 0; y < 5; ++y)
    for (int c = 0; c < 2; ++c)
      EXPECT_EQ(pu.view()(0, y, 3, c),
                std::max({p.view()(0, y, 3, c), p.view()(1, y, 3, c), p.view()(2, y, 3, c), p.view()(3, y, 3, c)}));
}

TEST(MorphMask, ThresholdIsStrictLikeOpenCV) {
  vb::batch_buffer<float> prob({1, 1, 6, 1});
  const float values[] = {0.0f, 0.49f, 0.5f, 0.51f, 1.0f, NAN};
  std::copy(values, values + 6, prob.data());
  vb::batch_buffer<u8> mask({1, 1, 6, 1});
  morph::threshold(vb::cpu_serial{}, prob.view(), mask.view(), 0.5f);
  const u8 want[] = {0, 0, 0, 255, 255, 0};
  EXPECT_TRUE(std::equal(want, want + 6, mask.data()));
  morph::threshold(vb::cpu_par{2}, prob.view(), mask.view(), 0.25f, 1);
  const u8 want_ones[] = {0, 1, 1, 1, 1, 0};
  EXPECT_TRUE(std::equal(want_ones, want_ones + 6, mask.data()));
  // u8 scores work too.
  const auto scores = random_gray<u8>({2, 9, 9, 1}, 3);
  vb::batch_buffer<u8> m2({2, 9, 9, 1});
  morph::threshold(vb::cpu_serial{}, scores.view(), m2.view(), 127.5f);
  for (int k = 0; k < 162; ++k) ASSERT_EQ(m2.data()[k], scores.data()[k] >= 128 ? 255 : 0);
}

TEST(MorphMask, InvertSwapsConventions) {
  const auto keep = random_mask({2, 11, 13, 1}, 4);
  vb::batch_buffer<u8> remove({2, 11, 13, 1});
  morph::invert_mask(vb::cpu_par{2}, keep.view(), remove.view());
  for (int k = 0; k < 2 * 11 * 13; ++k) ASSERT_EQ(remove.data()[k], 255 - keep.data()[k]);
  // In place, twice: back to the start. A 0/1 mask inverts to 0/1 with on_value 1.
  auto copy = random_mask({1, 5, 5, 1}, 5, 1);
  const auto original = random_mask({1, 5, 5, 1}, 5, 1);
  morph::invert_mask(vb::cpu_serial{}, copy.view(), copy.view(), 1);
  for (int k = 0; k < 25; ++k) ASSERT_EQ(copy.data()[k], original.data()[k] ? 0 : 1);
  morph::invert_mask(vb::cpu_serial{}, copy.view(), copy.view(), 1);
  EXPECT_TRUE(same_images(copy, original));
}

TEST(MorphMask, AnyFindsASinglePixelAnywhere) {
  for (int w : {1, 7, 8, 9, 100})
    for (int pos : {0, 3, 5 * w - 1}) {
      vb::batch_buffer<u8> m({1, 5, w, 1});
      std::fill_n(m.data(), 5 * w, u8(0));
      EXPECT_FALSE(morph::any(m.view()));
      if (pos >= 5 * w) continue;
      m.data()[pos] = 1;
      EXPECT_TRUE(morph::any(m.view())) << w << " " << pos;
    }
  vb::batch_buffer<float> f({2, 3, 3, 1});
  std::fill_n(f.data(), 18, -0.0f);
  EXPECT_FALSE(morph::any(f.view()));
  f.data()[17] = 1e-30f;
  EXPECT_TRUE(morph::any(f.view()));
  EXPECT_FALSE(morph::any(f.view().image(0)));
  // A strided view: channel 0 of a two-channel image whose channel 1 is set.
  vb::batch_buffer<u8> two({1, 4, 4, 2});
  for (int k = 0; k < 32; ++k) two.data()[k] = k % 2;
  vb::batch_view<const u8> c0 = two.view();
  c0.c = 1;
  EXPECT_FALSE(morph::any(c0));
}

TEST(MorphMask, BadArgumentsNameTheParameterAndValue) {
  using vbatch::errc;
  vb::batch_buffer<u8> five({5, 4, 4, 1}), two({2, 4, 4, 1}), wide({1, 4, 5, 1});
  vb::batch_buffer<float> prob({1, 4, 4, 1});
  vb::batch_buffer<u8> m({1, 4, 4, 1});
  EXPECT_TRUE(throws_error([&] { morph::mask_union(vb::cpu_serial{}, five.view(), two.view()); }, errc::invalid_argument,
                           {"mask_union", "5 masks", "2 destination"}));
  EXPECT_TRUE(throws_error([&] { morph::mask_intersection(vb::cpu_serial{}, five.view(), wide.view()); }, errc::invalid_argument,
                           {"mask_intersection", "4x4x1", "4x5x1"}));
  EXPECT_TRUE(throws_error([&] { morph::threshold(vb::cpu_serial{}, prob.view(), m.view(), NAN); }, errc::invalid_argument,
                           {"threshold", "level nan"}));
  EXPECT_TRUE(throws_error([&] { morph::threshold(vb::cpu_serial{}, prob.view(), wide.view(), 0.5f); }, errc::invalid_argument,
                           {"threshold", "1x4x5x1"}));
  EXPECT_TRUE(throws_error([&] { morph::invert_mask(vb::cpu_serial{}, two.view(), m.view()); }, errc::invalid_argument,
                           {"invert_mask", "2x4x4x1"}));
}

}  // namespace
