// Bit-exact agreement with OpenCV (cv::dilate, cv::erode, cv::morphologyEx with their default
// border) for the same element, anchor and iterations: squares 1..61, rectangles with any anchor,
// crosses, ellipses, custom elements, u8 masks (0/255 and 0/1), u8 and f32 gray images with 1 to 4
// channels, batches of several images. Without OpenCV these tests are skipped; the reference tests
// (property_test.cpp) still run.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "morph_test_util.hpp"

namespace {

using namespace morph_test;

#if VBATCH_HAVE_OPENCV

// Runs `op` with vbatch (`algorithm`, 2 threads) and OpenCV and expects the same bytes.
template <class T>
::testing::AssertionResult matches_opencv(morph::operation op, const vb::batch_buffer<T>& src,
                                          const morph::structuring_element& e, int iterations = 1,
                                          morph::algorithm algorithm = morph::algorithm::automatic) {
  vb::batch_buffer<T> ours(src.shape());
  morph::morphology(vb::cpu_par{2}, op, src.view(), ours.view(), e, {iterations, algorithm});
  const vb::batch_buffer<T> theirs = opencv<T>(op, src.view(), e, iterations);
  auto result = same_images(ours, theirs);
  if (!result) {
    const vb::batch_shape s = src.shape();
    result << " [" << morph::to_string(op) << ", " << morph::describe(e) << ", " << iterations << " iterations, "
           << morph::to_string(algorithm) << ", " << vb::element_name<T>() << " " << s.n << "x" << s.h << "x" << s.w << "x" << s.c
           << "]";
  }
  return result;
}

TEST(MorphOpenCV, SquaresOneToSixtyOneOnMasksAndGrayImages) {
  // 70x53: the larger squares exceed the image's height.
  const auto mask = random_mask({2, 53, 70, 1}, 1);
  const auto gray = random_gray<u8>({2, 53, 70, 1}, 2);
  const auto ones = random_mask({1, 53, 70, 1}, 3, 1);  // a 0/1 mask
  const auto gray_f = random_gray<float>({1, 53, 70, 1}, 4);
  for (int k = 1; k <= 61; ++k) {
    const auto e = morph::square(k);
    for (auto op : {morph::operation::dilate, morph::operation::erode}) {
      EXPECT_TRUE(matches_opencv(op, mask, e));
      EXPECT_TRUE(matches_opencv(op, gray, e));
      if (k % 3 == 0) {
        EXPECT_TRUE(matches_opencv(op, ones, e));
      }
      if (k % 4 == 1) {
        EXPECT_TRUE(matches_opencv(op, gray_f, e));
      }
    }
  }
}

TEST(MorphOpenCV, RectanglesWithEveryKindOfAnchor) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 48; ++trial) {
    const int w = 1 + rng() % 24, h = 1 + rng() % 24, c = 1 + trial % 4;
    const morph::point anchor = trial % 3 == 0 ? morph::centre : morph::point{int(rng() % w), int(rng() % h)};
    const auto e = morph::rect(w, h, anchor);
    const vb::batch_shape s{1 + trial % 2, 31 + trial % 7, 45 + trial % 5, c};
    const auto op = trial % 2 ? morph::operation::dilate : morph::operation::erode;
    EXPECT_TRUE(matches_opencv(op, random_mask(s, 100 + trial), e));
    EXPECT_TRUE(matches_opencv(op, random_gray<u8>(s, 200 + trial), e));
    EXPECT_TRUE(matches_opencv(op, random_gray<float>(s, 300 + trial), e));
  }
}

TEST(MorphOpenCV, CrossesAndEllipses) {
  std::mt19937 rng(6);
  for (int trial = 0; trial < 40; ++trial) {
    const int w = 1 + rng() % 25, h = 1 + rng() % 25, c = 1 + trial % 4;
    const vb::batch_shape s{1 + trial % 2, 40, 57, c};
    const auto op = trial % 2 ? morph::operation::dilate : morph::operation::erode;
    for (const auto& e : {morph::ellipse(w, h), morph::cross(w, h), morph::cross(w, h, {int(rng() % w), int(rng() % h)})}) {
      EXPECT_TRUE(matches_opencv(op, random_mask(s, 400 + trial), e));
      EXPECT_TRUE(matches_opencv(op, random_gray<u8>(s, 500 + trial), e));
      if (trial % 2 == 0) {
        EXPECT_TRUE(matches_opencv(op, random_gray<float>(s, 600 + trial), e));
      }
    }
  }
  // Disks of the benchmark's radii on a mask and a gray image.
  for (int r : {7, 15, 30}) {
    EXPECT_TRUE(matches_opencv(morph::operation::dilate, random_mask({1, 97, 120, 1}, 700 + r), morph::disk(r)));
    EXPECT_TRUE(matches_opencv(morph::operation::erode, random_gray<u8>({1, 97, 120, 1}, 800 + r), morph::disk(r)));
  }
}

TEST(MorphOpenCV, IterationsFoldedForRectanglesAndRepeatedOtherwise) {
  const auto mask = random_mask({2, 47, 63, 1}, 9, 255, 60);
  const auto gray = random_gray<u8>({1, 47, 63, 3}, 10);
  const auto gray_f = random_gray<float>({1, 47, 63, 2}, 11);
  for (int iterations : {0, 2, 3, 5})
    for (const auto& e : {morph::square(3), morph::rect(4, 3), morph::rect(5, 2, {0, 1}), morph::cross(3, 3),
                          morph::ellipse(5, 4), morph::disk(2)})
      for (auto op : {morph::operation::dilate, morph::operation::erode, morph::operation::open}) {
        EXPECT_TRUE(matches_opencv(op, mask, e, iterations));
        EXPECT_TRUE(matches_opencv(op, gray, e, iterations));
        EXPECT_TRUE(matches_opencv(op, gray_f, e, iterations));
      }
}

TEST(MorphOpenCV, CompoundOperationsMatchMorphologyEx) {
  const auto mask = random_mask({2, 50, 61, 1}, 12);
  const auto gray = random_gray<u8>({1, 50, 61, 4}, 13);
  const auto gray_f = random_gray<float>({1, 50, 61, 1}, 14);
  for (auto op : all_operations)
    for (const auto& e : {morph::square(5), morph::rect(6, 3), morph::ellipse(9, 7), morph::cross(5, 5), morph::disk(4)})
      for (int iterations : {1, 2}) {
        EXPECT_TRUE(matches_opencv(op, mask, e, iterations));
        EXPECT_TRUE(matches_opencv(op, gray, e, iterations));
        EXPECT_TRUE(matches_opencv(op, gray_f, e, iterations));
      }
}

TEST(MorphOpenCV, CustomElementsIncludingAnUnsetAnchor) {
  // An element whose anchor cell is unset leaves pixels whose element lies wholly outside a small
  // image: OpenCV gives them the border value (0/255, -FLT_MAX/+FLT_MAX).
  std::mt19937 rng(15);
  for (int trial = 0; trial < 60; ++trial) {
    const auto e = random_element(rng, 11);
    const vb::batch_shape s{1, 1 + trial % 9, 1 + (trial * 7) % 13, 1 + trial % 3};
    for (auto op : {morph::operation::dilate, morph::operation::erode, morph::operation::gradient}) {
      EXPECT_TRUE(matches_opencv(op, random_mask(s, 900 + trial), e));
      EXPECT_TRUE(matches_opencv(op, random_gray<float>(s, 1000 + trial), e));
    }
  }
}

TEST(MorphOpenCV, FloatBorderIsFltMaxNotInfinity) {
  // Next to -inf pixels the border's -FLT_MAX shows.
  vb::batch_buffer<float> img({1, 9, 11, 1});
  for (std::int64_t k = 0; k < img.shape().elements(); ++k) img.data()[k] = k % 5 == 0 ? 3.5f : -INFINITY;
  for (std::int64_t k = 0; k < img.shape().elements(); k += 7) img.data()[k] = INFINITY;
  for (const auto& e : {morph::square(3), morph::disk(2), morph::rect(4, 1, {0, 0})})
    for (auto op : {morph::operation::dilate, morph::operation::erode})
      for (auto a : algorithms_for(e, false)) EXPECT_TRUE(matches_opencv(op, img, e, 1, a));
}

TEST(MorphOpenCV, EveryAlgorithmMatches) {
  const auto mask = random_mask({2, 64, 131, 1}, 16);
  const auto gray = random_gray<u8>({1, 64, 131, 1}, 17);
  for (const auto& e : {morph::square(1), morph::square(2), morph::square(4), morph::square(5), morph::square(16),
                        morph::rect(1, 9), morph::rect(70, 1), morph::disk(6), morph::ellipse(8, 13), morph::cross(7, 4)})
    for (auto a : algorithms_for(e, true))
      for (auto op : {morph::operation::dilate, morph::operation::erode}) {
        EXPECT_TRUE(matches_opencv(op, mask, e, 1, a));
        EXPECT_TRUE(matches_opencv(op, gray, e, 1, a));
      }
}

TEST(MorphOpenCV, TinyImagesAndHugeElements) {
  for (auto [h, w] : {std::pair{1, 1}, {1, 5}, {4, 1}, {2, 3}})
    for (const auto& e : {morph::square(1), morph::square(4), morph::square(61), morph::disk(9), morph::cross(7, 3)})
      for (auto op : all_operations) {
        EXPECT_TRUE(matches_opencv(op, random_mask({2, h, w, 1}, 17 + h), e));
        EXPECT_TRUE(matches_opencv(op, random_gray<float>({1, h, w, 2}, 18 + w), e));
      }
}

#else

TEST(MorphOpenCV, SkippedWithoutOpenCV) { GTEST_SKIP() << "OpenCV not found: the reference tests still run"; }

#endif

}  // namespace
