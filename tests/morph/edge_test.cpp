// Edge cases: 1x1 images, elements larger than the image, empty and full masks, in place, strided
// views, empty batches, and bad arguments (clear errors naming the parameter and value).

#include <gtest/gtest.h>

#include "morph_test_util.hpp"

namespace {

using namespace morph_test;
using vbatch_test::failed_with;
using vbatch_test::throws_error;

const morph::structuring_element shapes[] = {morph::square(1), morph::square(2),   morph::square(9),    morph::rect(30, 1),
                                             morph::disk(3),   morph::cross(5, 5), morph::ellipse(4, 7)};

TEST(MorphEdge, OneByOneImages) {
  vb::batch_buffer<u8> px({3, 1, 1, 1});
  px.data()[0] = 0, px.data()[1] = 255, px.data()[2] = 1;
  for (const auto& e : shapes)
    for (auto a : algorithms_for(e, true))
      for (auto op : {morph::operation::dilate, morph::operation::erode, morph::operation::open, morph::operation::close}) {
        vb::batch_buffer<u8> out({3, 1, 1, 1});
        morph::morphology(vb::cpu_par{2}, op, px.view(), out.view(), e, {1, a});
        // Every element here holds its anchor: a lone pixel only sees itself.
        EXPECT_TRUE(same_images(out, px)) << describe(e) << " " << morph::to_string(a) << " " << morph::to_string(op);
      }
}

TEST(MorphEdge, ElementsLargerThanTheImage) {
  // A 61x61 square on a 7x5 image reaches every pixel from every pixel: dilation is the image's max.
  const auto gray = random_gray<u8>({2, 5, 7, 1}, 3);
  for (auto a : algorithms_for(morph::square(61), true)) {
    const auto d = morph::dilate(vb::cpu_serial{}, gray.view(), morph::square(61), {1, a});
    const auto e = morph::erode(vb::cpu_serial{}, gray.view(), morph::square(61), {1, a});
    for (int i = 0; i < 2; ++i) {
      u8 hi = 0, lo = 255;
      for (int k = 0; k < 35; ++k) hi = std::max(hi, gray.data()[i * 35 + k]), lo = std::min(lo, gray.data()[i * 35 + k]);
      for (int k = 0; k < 35; ++k) {
        EXPECT_EQ(d.data()[i * 35 + k], hi) << morph::to_string(a);
        EXPECT_EQ(e.data()[i * 35 + k], lo) << morph::to_string(a);
      }
    }
  }
  // Absurd sizes and iteration counts stay cheap: runs are clamped to the image.
  const auto mask = random_mask({1, 9, 13, 1}, 4);
  const auto want = reference<u8>(morph::operation::dilate, mask.view(), grid::of(morph::square(31)), 1);
  const auto got = morph::dilate(vb::cpu_par{2}, mask.view(), morph::square(3), {1000000});
  EXPECT_TRUE(same_images(got, want));
  const auto huge = morph::dilate(vb::cpu_par{2}, mask.view(), morph::rect(60001, 3));
  EXPECT_TRUE(same_images(huge, reference<u8>(morph::operation::dilate, mask.view(), grid::of(morph::rect(41, 3)))));
}

TEST(MorphEdge, EmptyAndFullMasks) {
  vb::batch_buffer<u8> empty({2, 20, 70, 1}), full({2, 20, 70, 1});
  std::fill_n(empty.data(), empty.shape().elements(), u8(0));
  std::fill_n(full.data(), full.shape().elements(), u8(255));
  for (const auto& e : shapes)
    for (auto a : algorithms_for(e, true))
      for (auto op : all_operations) {
        // The border never wins: an empty mask stays empty, a full one full; differences vanish.
        const bool difference =
            op == morph::operation::gradient || op == morph::operation::tophat || op == morph::operation::blackhat;
        vb::batch_buffer<u8> out(full.shape());
        morph::morphology(vb::cpu_par{2}, op, empty.view(), out.view(), e, {1, a});
        EXPECT_TRUE(same_images(out, empty)) << describe(e) << " " << morph::to_string(op) << " " << morph::to_string(a);
        morph::morphology(vb::cpu_par{2}, op, full.view(), out.view(), e, {1, a});
        EXPECT_TRUE(same_images(out, difference ? empty : full))
            << describe(e) << " " << morph::to_string(op) << " " << morph::to_string(a);
      }
  EXPECT_FALSE(morph::any(empty.view()));
  EXPECT_TRUE(morph::any(full.view()));
}

TEST(MorphEdge, InPlaceEqualsOutOfPlace) {
  for (const auto& e : shapes)
    for (auto op : all_operations) {
      auto img = random_mask({2, 31, 45, 1}, 5);
      const auto want = reference<u8>(op, img.view(), grid::of(e));
      morph::morphology(vb::cpu_par{2}, op, img.view(), img.view(), e);
      EXPECT_TRUE(same_images(img, want)) << describe(e) << " " << morph::to_string(op);
    }
  // Overlapping but not identical views (dst one row below src) work too.
  vb::batch_buffer<u8> big({1, 32, 40, 1});
  const auto src = random_mask({1, 31, 40, 1}, 6);
  std::copy_n(src.data(), src.shape().elements(), big.data());
  const auto want = reference<u8>(morph::operation::dilate, src.view(), grid::of(morph::disk(2)));
  morph::dilate(vb::cpu_par{2}, big.view().crop(0, 0, 31, 40), big.view().crop(1, 0, 31, 40), morph::disk(2));
  EXPECT_TRUE(same_images<u8>(big.view().crop(1, 0, 31, 40), want.view()));
}

TEST(MorphEdge, StridedViews) {
  // Channel 0..1 of four-channel pixels, and one channel of three: pixels are not contiguous.
  const auto four = random_gray<u8>({2, 19, 37, 4}, 7);
  vb::batch_view<const u8> two = four.view();
  two.c = 2;
  vb::batch_buffer<u8> dense({2, 19, 37, 2});
  for (int i = 0; i < 2; ++i)
    for (int y = 0; y < 19; ++y)
      for (int x = 0; x < 37; ++x)
        for (int c = 0; c < 2; ++c) dense.view()(i, y, x, c) = two(i, y, x, c);
  const auto mask4 = random_mask({1, 19, 37, 4}, 8);
  vb::batch_view<const u8> one = mask4.view();
  one.c = 1;
  vb::batch_buffer<u8> one_dense({1, 19, 37, 1});
  for (int y = 0; y < 19; ++y)
    for (int x = 0; x < 37; ++x) one_dense.view()(0, y, x, 0) = one(0, y, x, 0);
  for (const auto& e : shapes) {
    for (auto a : algorithms_for(e, false)) {
      vb::batch_buffer<u8> out4({2, 19, 37, 4});
      vb::batch_view<u8> out2 = out4.view();
      out2.c = 2;
      morph::dilate(vb::cpu_par{2}, two, out2, e, {1, a});
      const auto want = reference<u8>(morph::operation::dilate, dense.view(), grid::of(e));
      vb::batch_buffer<u8> got({2, 19, 37, 2});
      for (int i = 0; i < 2; ++i)
        for (int y = 0; y < 19; ++y)
          for (int x = 0; x < 37; ++x)
            for (int c = 0; c < 2; ++c) got.view()(i, y, x, c) = out2(i, y, x, c);
      EXPECT_TRUE(same_images(got, want)) << describe(e) << " " << morph::to_string(a);
    }
    for (auto a : algorithms_for(e, true)) {
      vb::batch_buffer<u8> out4({1, 19, 37, 4});
      vb::batch_view<u8> out1 = out4.view();
      out1.c = 1;
      morph::erode(vb::cpu_par{2}, one, out1, e, {1, a});
      const auto want = reference<u8>(morph::operation::erode, one_dense.view(), grid::of(e));
      for (int y = 0; y < 19; ++y)
        for (int x = 0; x < 37; ++x)
          ASSERT_EQ(out1(0, y, x, 0), want.view()(0, y, x, 0)) << describe(e) << " " << morph::to_string(a);
    }
  }
}

TEST(MorphEdge, EmptyBatchesAndZeroIterations) {
  vb::batch_buffer<u8> none({0, 10, 10, 1}), out({0, 10, 10, 1});
  morph::dilate(vb::cpu_par{2}, none.view(), out.view(), morph::square(5));
  const auto img = random_gray<float>({1, 8, 9, 3}, 9);
  EXPECT_TRUE(same_images(morph::erode(vb::cpu_serial{}, img.view(), morph::disk(3), {0}), img));
  EXPECT_TRUE(same_images(morph::dilate(vb::cpu_par{2}, img.view(), morph::square(3), {0}), img));
}

TEST(MorphEdge, BadArgumentsNameTheParameterAndValue) {
  using vbatch::errc;
  vb::batch_buffer<u8> a({1, 8, 8, 1}), b({1, 8, 9, 1}), c3({1, 8, 8, 3});
  vb::batch_buffer<float> f({1, 8, 8, 1});
  EXPECT_TRUE(throws_error([&] { morph::dilate(vb::cpu_serial{}, a.view(), b.view(), morph::square(3)); }, errc::invalid_argument,
                           {"dilate", "1x8x8x1", "1x8x9x1"}));
  EXPECT_TRUE(throws_error([&] { morph::erode(vb::cpu_serial{}, a.view(), a.view(), morph::square(3), {-1}); },
                           errc::invalid_argument, {"erode", "iterations -1"}));
  EXPECT_TRUE(throws_error(
      [&] {
        morph::open(vb::cpu_serial{}, a.view(), a.view(), morph::disk(2), {1, morph::algorithm::van_herk});
      },
      errc::invalid_argument, {"open", "van_herk", "rectangular", "5x5"}));
  EXPECT_TRUE(throws_error(
      [&] {
        morph::dilate(vb::cpu_serial{}, a.view(), a.view(), morph::cross(3, 3), {1, morph::algorithm::separable});
      },
      errc::invalid_argument, {"separable", "rectangular"}));
  EXPECT_TRUE(throws_error(
      [&] {
        morph::dilate(vb::cpu_serial{}, f.view(), f.view(), morph::square(3), {1, morph::algorithm::packed});
      },
      errc::invalid_argument, {"packed", "f32"}));
  EXPECT_TRUE(throws_error(
      [&] {
        morph::dilate(vb::cpu_serial{}, c3.view(), c3.view(), morph::square(3), {1, morph::algorithm::packed});
      },
      errc::invalid_argument, {"packed", "C = 3"}));
  vb::batch_view<u8> five = c3.view();
  five.c = 5;
  EXPECT_TRUE(throws_error([&] { morph::close(vb::cpu_serial{}, five, five, morph::square(3)); }, errc::invalid_argument,
                           {"close", "5 channels"}));
  vb::batch_view<u8> null_view = a.view();
  null_view.data = nullptr;
  EXPECT_TRUE(throws_error([&] { morph::gradient(vb::cpu_serial{}, null_view, a.view(), morph::square(3)); },
                           errc::invalid_argument, {"gradient", "null data"}));
  // The non-throwing tier, and the GPU's refusal of CPU-only schedules.
  const vb::batch_view<const u8> in = a.view();
  EXPECT_TRUE(failed_with(morph::can_morph(morph::operation::tophat, in, b.view(), morph::square(3)), errc::invalid_argument,
                          {"tophat"}));
  EXPECT_TRUE(failed_with(morph::can_morph(morph::operation::dilate, in, a.view(), morph::square(3),
                                           {1, morph::algorithm::segments}, /*on_host*/ false),
                          errc::unsupported, {"segments", "CPU executors only"}));
  EXPECT_TRUE(
      morph::can_morph(morph::operation::dilate, in, a.view(), morph::square(3), {1, morph::algorithm::separable}, false));
}

}  // namespace
