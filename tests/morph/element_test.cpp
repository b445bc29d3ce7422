// Structuring elements: shapes and anchors against cv::getStructuringElement, the run
// decomposition, the folding of iterations, and the errors of the factories.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "morph_test_util.hpp"
#include "vbatch/morph/plan.hpp"

namespace {

using namespace morph_test;
using vbatch_test::failed_with;
using vbatch_test::throws_error;

std::vector<u8> cells_of(const morph::structuring_element& e) { return e.cells(); }

TEST(MorphElement, DefaultIsTheThreeByThreeSquare) {
  const morph::structuring_element e;
  EXPECT_EQ(e, morph::square(3));
  EXPECT_EQ(e.anchor(), (morph::point{1, 1}));
  EXPECT_TRUE(e.is_rect());
  EXPECT_EQ(e.cell_count(), 9);
}

TEST(MorphElement, DefaultAnchorIsTheCentreForOddAndEvenSizes) {
  for (int w = 1; w <= 8; ++w)
    for (int h = 1; h <= 8; ++h) {
      EXPECT_EQ(morph::rect(w, h).anchor(), (morph::point{w / 2, h / 2})) << w << "x" << h;
      EXPECT_EQ(morph::rect(w, h, morph::centre).anchor(), (morph::point{w / 2, h / 2}));
    }
  EXPECT_EQ(morph::rect(6, 4, {0, 3}).anchor(), (morph::point{0, 3}));
}

TEST(MorphElement, RunsDescribeTheCells) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const morph::structuring_element e = random_element(rng, 9);
    const std::vector<u8> cells = e.cells();
    std::int64_t set = 0;
    for (int y = 0; y < e.height(); ++y)
      for (int x = 0; x < e.width(); ++x) {
        set += cells[y * e.width() + x];
        ASSERT_EQ(e.contains(x, y), cells[y * e.width() + x] == 1);
      }
    EXPECT_EQ(e.cell_count(), set);
    // Runs are sorted, non-empty, and maximal (two runs of a row never touch).
    const auto runs = e.segments();
    for (std::size_t k = 0; k < runs.size(); ++k) {
      EXPECT_GT(runs[k].length, 0);
      if (k == 0) continue;
      EXPECT_LE(runs[k - 1].dy, runs[k].dy);
      if (runs[k].dy == runs[k - 1].dy) {
        EXPECT_GT(runs[k].x0, runs[k - 1].x0 + runs[k - 1].length);
      }
    }
    // custom() of the cells gives the same element back.
    EXPECT_EQ(morph::custom(e.width(), e.height(), cells, e.anchor()), e);
  }
}

TEST(MorphElement, ShapeProperties) {
  EXPECT_TRUE(morph::rect(4, 7).is_rect());
  EXPECT_FALSE(morph::cross(3, 3).is_rect());
  EXPECT_FALSE(morph::disk(3).is_rect());
  EXPECT_TRUE(morph::disk(0).is_rect());  // one cell
  EXPECT_TRUE(morph::square(5).is_symmetric());
  EXPECT_FALSE(morph::square(4).is_symmetric());  // anchor (2, 2): one more cell left and up
  EXPECT_TRUE(morph::disk(7).is_symmetric());
  EXPECT_TRUE(morph::cross(5, 7).is_symmetric());
  EXPECT_FALSE(morph::cross(5, 7, {0, 0}).is_symmetric());
  EXPECT_TRUE(morph::cross(5, 7, {0, 0}).contains_anchor());
  // A filled block inside a larger grid is still a rectangle.
  const std::vector<u8> inner{0, 0, 0, 0, 1, 1, 0, 1, 1};
  EXPECT_TRUE(morph::custom(3, 3, inner).is_rect());
  EXPECT_TRUE(morph::custom(3, 3, inner).contains_anchor());
  EXPECT_FALSE(morph::custom(3, 3, inner, {0, 0}).contains_anchor());
  // Two runs in one row are not a rectangle.
  const std::vector<u8> split{1, 0, 1};
  EXPECT_FALSE(morph::custom(3, 1, split).is_rect());
}

TEST(MorphElement, DiskIsTheOddEllipse) {
  for (int r = 0; r <= 40; ++r) EXPECT_EQ(morph::disk(r), morph::ellipse(2 * r + 1, 2 * r + 1)) << "r = " << r;
  // Radius 2: the familiar 5x5 digital disk.
  const std::vector<u8> want{0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0};
  EXPECT_EQ(cells_of(morph::disk(2)), want);
}

TEST(MorphElement, FoldingIterationsOfARectangleMatchesOpenCVsExpansion) {
  // 4x3 anchored at (2, 1), 3 iterations: OpenCV dilates once by 10x7 anchored at (6, 3).
  const auto f = morph::detail::fold(morph::rect(4, 3), 3, 100, 100);
  EXPECT_EQ(f.repeat, 1);
  EXPECT_TRUE(f.rect);
  ASSERT_EQ(f.runs.size(), 7u);
  EXPECT_EQ(f.runs.front(), (morph::segment{-3, -6, 10}));
  EXPECT_EQ(f.runs.back(), (morph::segment{3, -6, 10}));
  // Non-rectangles repeat.
  EXPECT_EQ(morph::detail::fold(morph::disk(2), 3, 100, 100).repeat, 3);
  // Clamped to the image: a huge square on a 10x6 image reaches at most one image size away.
  const auto big = morph::detail::fold(morph::square(1001), 50, 10, 6);
  EXPECT_EQ(big.runs.size(), 13u);
  EXPECT_EQ(big.runs.front(), (morph::segment{-6, -10, 21}));
}

TEST(MorphElement, FactoryErrorsNameTheParameterAndValue) {
  using vbatch::errc;
  EXPECT_TRUE(throws_error([] { morph::rect(0, 3); }, errc::invalid_argument, {"rect", "width 0"}));
  EXPECT_TRUE(throws_error([] { morph::rect(3, -2); }, errc::invalid_argument, {"rect", "height -2"}));
  EXPECT_TRUE(throws_error([] { morph::square(0); }, errc::invalid_argument, {"square", "size 0"}));
  EXPECT_TRUE(throws_error([] { morph::square(-5); }, errc::invalid_argument, {"square", "size -5"}));
  EXPECT_TRUE(throws_error([] { morph::disk(-1); }, errc::invalid_argument, {"disk", "radius -1"}));
  EXPECT_TRUE(throws_error([] { morph::disk(1 << 20); }, errc::limit_exceeded, {"disk", "radius 1048576"}));
  EXPECT_TRUE(throws_error([] { morph::ellipse(7, 0); }, errc::invalid_argument, {"ellipse", "height 0"}));
  EXPECT_TRUE(throws_error([] { morph::cross(-3, 3); }, errc::invalid_argument, {"cross", "width -3"}));
  EXPECT_TRUE(throws_error([] { morph::rect(3, 3, {3, 0}); }, errc::invalid_argument, {"anchor (3, 0)", "3x3"}));
  EXPECT_TRUE(throws_error([] { morph::cross(5, 5, {1, -2}); }, errc::invalid_argument, {"cross", "anchor (1, -2)"}));
  EXPECT_TRUE(throws_error([] { morph::rect(70000, 1); }, errc::limit_exceeded, {"70000x1"}));
  const std::vector<u8> eight(8, 1), zeros(9, 0);
  EXPECT_TRUE(throws_error([&] { morph::custom(3, 3, eight); }, errc::invalid_argument, {"8 cells", "3x3", "9 expected"}));
  EXPECT_TRUE(throws_error([&] { morph::custom(3, 3, zeros); }, errc::invalid_argument, {"no cell"}));
  // The non-throwing tier says the same.
  EXPECT_TRUE(failed_with(morph::can_make_element(morph::shape::ellipse, 0, 5), errc::invalid_argument, {"ellipse: width 0"}));
  EXPECT_TRUE(failed_with(morph::can_make_disk(-4), errc::invalid_argument, {"radius -4"}));
  EXPECT_TRUE(failed_with(morph::can_make_custom(2, 2, zeros), errc::invalid_argument, {"9 cells"}));
  EXPECT_TRUE(morph::can_make_element(morph::shape::cross, 4, 6, {3, 5}));
}

#if VBATCH_HAVE_OPENCV

TEST(MorphElement, ShapesMatchGetStructuringElement) {
  int compared = 0;
  for (int w = 1; w <= 64; ++w)
    for (int h = 1; h <= 64; ++h) {
      const auto expect_same = [&](int cv_shape, const morph::structuring_element& ours, cv::Point anchor) {
        const cv::Mat theirs = cv::getStructuringElement(cv_shape, cv::Size(w, h), anchor);
        const std::vector<u8> cells = ours.cells();
        ASSERT_EQ(cv::countNonZero(theirs != cv::Mat(h, w, CV_8U, const_cast<u8*>(cells.data()))), 0)
            << "shape " << cv_shape << " " << w << "x" << h << " anchor " << anchor.x << "," << anchor.y;
        ++compared;
      };
      expect_same(cv::MORPH_RECT, morph::rect(w, h), {-1, -1});
      expect_same(cv::MORPH_ELLIPSE, morph::ellipse(w, h), {-1, -1});
      expect_same(cv::MORPH_CROSS, morph::cross(w, h), {-1, -1});
      // A cross follows its anchor.
      const morph::point a{(w * 7 + h) % w, (h * 3 + w) % h};
      expect_same(cv::MORPH_CROSS, morph::cross(w, h, a), {a.x, a.y});
    }
  vbatch_test::record("elements_compared", compared);
}

#endif

}  // namespace
