// Morphology against the naive reference (written from the definition, no OpenCV needed), and the
// properties any implementation must have: dilation extensive and monotone, erosion
// anti-extensive, open <= image <= close, the duality erode(x) = 255 - dilate(255 - x), and the
// same bytes for every algorithm, thread count and batch size.

#include <gtest/gtest.h>

#include <random>

#include "morph_test_util.hpp"

namespace {

using namespace morph_test;

template <class T>
vb::batch_buffer<T> run(morph::operation op, const vb::batch_buffer<T>& src, const morph::structuring_element& e,
                        morph::options o = {}, int threads = 2) {
  vb::batch_buffer<T> out(src.shape());
  if (threads == 0)
    morph::morphology(vb::cpu_serial{}, op, src.view(), out.view(), e, o);
  else
    morph::morphology(vb::cpu_par{threads}, op, src.view(), out.view(), e, o);
  return out;
}

template <class T>
bool all_le(const vb::batch_buffer<T>& a, const vb::batch_buffer<T>& b) {
  for (std::int64_t k = 0; k < a.shape().elements(); ++k)
    if (a.data()[k] > b.data()[k]) return false;
  return true;
}

vb::batch_buffer<u8> inverted(const vb::batch_buffer<u8>& m) {
  vb::batch_buffer<u8> out(m.shape());
  for (std::int64_t k = 0; k < m.shape().elements(); ++k) out.data()[k] = static_cast<u8>(255 - m.data()[k]);
  return out;
}

TEST(MorphReference, EveryAlgorithmAndOperationOnRandomElements) {
  // Random custom elements (random cells and anchors) through every algorithm that takes them.
  std::mt19937 rng(21);
  for (int trial = 0; trial < 40; ++trial) {
    const auto e = random_element(rng, 8);
    const grid g = grid::of(e);
    const int c = 1 + trial % 4;
    const auto mask = random_mask({2, 23 + trial % 5, 29 + trial % 11, 1}, 40 + trial);
    const auto gray = random_gray<u8>({1, 17, 21, c}, 80 + trial);
    const auto gray_f = random_gray<float>({1, 13, 19, c}, 120 + trial);
    const auto op = all_operations[trial % 7];
    const int iterations = 1 + trial % 3;
    const auto want_mask = reference<u8>(op, mask.view(), g, iterations);
    const auto want_gray = reference<u8>(op, gray.view(), g, iterations);
    const auto want_f = reference<float>(op, gray_f.view(), g, iterations);
    for (auto a : algorithms_for(e, true)) {
      const morph::options o{iterations, a};
      EXPECT_TRUE(same_images(run(op, mask, e, o), want_mask)) << describe(e) << " " << morph::to_string(a);
      if (a == morph::algorithm::packed) continue;
      EXPECT_TRUE(same_images(run(op, gray, e, o), want_gray)) << describe(e) << " " << morph::to_string(a);
      EXPECT_TRUE(same_images(run(op, gray_f, e, o), want_f)) << describe(e) << " " << morph::to_string(a);
    }
  }
}

TEST(MorphReference, ShapesAndSizesThroughEverySchedule) {
  // The van Herk blocks (heights 5..13 around multiples of the image height), ring sizes, and
  // widths around 32-byte vectors and 64-bit words.
  for (int k : {5, 6, 7, 8, 12, 13})
    for (int w : {31, 63, 64, 65, 97}) {
      const auto mask = random_mask({1, 26, w, 1}, 300 + k * w, 255, 9);
      const auto gray = random_gray<u8>({1, 26, w, 1}, 301 + k * w);
      for (const auto& e : {morph::rect(k, k + 1), morph::disk(k / 2), morph::cross(k, 3)}) {
        const grid g = grid::of(e);
        for (auto op : {morph::operation::dilate, morph::operation::erode}) {
          const auto want_mask = reference<u8>(op, mask.view(), g), want_gray = reference<u8>(op, gray.view(), g);
          for (auto a : algorithms_for(e, true)) {
            EXPECT_TRUE(same_images(run(op, mask, e, {1, a}), want_mask))
                << describe(e) << " w " << w << " " << morph::to_string(a);
            if (a == morph::algorithm::packed) continue;
            EXPECT_TRUE(same_images(run(op, gray, e, {1, a}), want_gray))
                << describe(e) << " w " << w << " " << morph::to_string(a);
          }
        }
      }
    }
}

TEST(MorphProperties, DilationExtensiveAndMonotoneErosionAntiExtensive) {
  for (const auto& e : {morph::square(5), morph::disk(3), morph::cross(5, 3), morph::rect(4, 2), morph::ellipse(6, 9)}) {
    const auto x = random_mask({3, 40, 50, 1}, 7);
    // y >= x: x plus more dots.
    auto y = random_mask({3, 40, 50, 1}, 8);
    for (std::int64_t k = 0; k < y.shape().elements(); ++k) y.data()[k] = std::max(y.data()[k], x.data()[k]);
    const auto dx = run(morph::operation::dilate, x, e), dy = run(morph::operation::dilate, y, e);
    const auto ex = run(morph::operation::erode, x, e), ey = run(morph::operation::erode, y, e);
    EXPECT_TRUE(all_le(x, dx)) << describe(e);
    EXPECT_TRUE(all_le(ex, x)) << describe(e);
    EXPECT_TRUE(all_le(dx, dy)) << describe(e);
    EXPECT_TRUE(all_le(ex, ey)) << describe(e);
    const auto g = random_gray<u8>({1, 30, 33, 3}, 9);
    EXPECT_TRUE(all_le(g, run(morph::operation::dilate, g, e)));
    EXPECT_TRUE(all_le(run(morph::operation::erode, g, e), g));
  }
}

TEST(MorphProperties, OpenBelowImageBelowCloseForSymmetricElements) {
  // With OpenCV's convention (no reflection of the element) these need a point-symmetric element.
  for (const auto& e : {morph::square(7), morph::disk(4), morph::cross(5, 7), morph::ellipse(9, 5), morph::rect(3, 11)}) {
    ASSERT_TRUE(e.is_symmetric()) << describe(e);
    for (int iterations : {1, 2}) {
      const auto x = random_mask({2, 45, 60, 1}, 10);
      const auto g = random_gray<float>({1, 30, 40, 2}, 11);
      EXPECT_TRUE(all_le(run(morph::operation::open, x, e, {iterations}), x));
      EXPECT_TRUE(all_le(x, run(morph::operation::close, x, e, {iterations})));
      EXPECT_TRUE(all_le(run(morph::operation::open, g, e, {iterations}), g));
      EXPECT_TRUE(all_le(g, run(morph::operation::close, g, e, {iterations})));
      // Idempotence: opening an opened image changes nothing.
      const auto o = run(morph::operation::open, x, e);
      EXPECT_TRUE(same_images(run(morph::operation::open, o, e), o));
    }
  }
}

TEST(MorphProperties, DualityOfErosionAndDilation) {
  // erode(x) = 255 - dilate(255 - x); with OpenCV's convention and borders this holds for any
  // element, symmetric or not, on masks and gray images.
  std::mt19937 rng(12);
  for (int trial = 0; trial < 16; ++trial) {
    const auto e = trial < 4 ? std::vector{morph::square(9), morph::disk(5), morph::cross(7, 7), morph::ellipse(5, 8)}[trial]
                             : random_element(rng, 9);
    for (const auto& x : {random_mask({1, 33, 47, 1}, 20 + trial), random_gray<u8>({1, 33, 47, 2}, 30 + trial)})
      for (auto a : algorithms_for(e, x.shape().c == 1)) {
        const auto eroded = run(morph::operation::erode, x, e, {1, a});
        const auto dual = inverted(run(morph::operation::dilate, inverted(x), e, {1, a}));
        EXPECT_TRUE(same_images(eroded, dual)) << describe(e) << " " << morph::to_string(a);
      }
  }
}

TEST(MorphProperties, SameBytesForEveryThreadCountBatchSizeAndAlgorithm) {
  const auto masks = random_mask({5, 53, 71, 1}, 40);
  const auto gray = random_gray<u8>({3, 37, 45, 3}, 41);
  const auto gray_f = random_gray<float>({3, 29, 31, 1}, 42);
  for (const auto& e : {morph::square(15), morph::square(4), morph::disk(7), morph::cross(9, 9), morph::rect(2, 31)})
    for (auto op : {morph::operation::dilate, morph::operation::gradient}) {
      const auto want_mask = run(op, masks, e, {1, morph::algorithm::direct}, 0);
      const auto want_gray = run(op, gray, e, {1, morph::algorithm::direct}, 0);
      const auto want_f = run(op, gray_f, e, {1, morph::algorithm::direct}, 0);
      for (int threads : {0, 1, 2, 7})
        for (auto a : algorithms_for(e, true)) {
          EXPECT_TRUE(same_images(run(op, masks, e, {1, a}, threads), want_mask))
              << describe(e) << " " << morph::to_string(a) << " " << threads << " threads";
          if (a == morph::algorithm::packed) continue;
          EXPECT_TRUE(same_images(run(op, gray, e, {1, a}, threads), want_gray));
          EXPECT_TRUE(same_images(run(op, gray_f, e, {1, a}, threads), want_f));
        }
      // One image at a time gives the batch's bytes.
      for (int i = 0; i < masks.shape().n; ++i) {
        vb::batch_buffer<u8> one({1, 53, 71, 1});  // (1,H,W,1)
        morph::morphology(vb::cpu_par{7}, op, masks.view().image(i), one.view(), e);
        EXPECT_TRUE(same_images<u8>(one.view(), want_mask.view().image(i))) << "image " << i;
      }
    }
}

}  // namespace
