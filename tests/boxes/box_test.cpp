// Box formats and the overlap measures: conversions, area, IoU and GIoU against hand-computed
// cases (disjoint, touching, nested, identical, partial, empty and inverted boxes), and their
// properties on random boxes (symmetry, IoU(a, a) = 1, bounds, invariance under translation and
// under a common power-of-two scale, GIoU <= IoU).

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;

TEST(BoxTypes, ConversionsRoundTripExactlyOnRepresentableValues) {
  const vb::boxes::box_xywh w{10, 20, 30, 40};
  const box_xyxy c = vb::boxes::to_xyxy(w);
  EXPECT_EQ(c, (box_xyxy{10, 20, 40, 60}));
  EXPECT_EQ(vb::boxes::to_xywh(c), w);
  const vb::boxes::box_cxcywh m = vb::boxes::to_cxcywh(c);
  EXPECT_EQ(m, (vb::boxes::box_cxcywh{25, 40, 30, 40}));
  EXPECT_EQ(vb::boxes::to_xyxy(m), c);
  EXPECT_EQ(vb::boxes::to_xywh(m), w);
  EXPECT_EQ(vb::boxes::to_cxcywh(w), m);
  EXPECT_EQ(vb::boxes::to_xyxy(c), c);
}

TEST(BoxTypes, AreaWidthHeightAndEmptiness) {
  EXPECT_EQ(vb::boxes::area(box_xyxy{0, 0, 4, 2.5f}), 10.0f);
  EXPECT_EQ(vb::boxes::width(box_xyxy{1, 0, 4, 2}), 3.0f);
  EXPECT_EQ(vb::boxes::height(box_xyxy{1, 0, 4, 2}), 2.0f);
  // Inverted or degenerate boxes are empty: area 0, never negative.
  EXPECT_EQ(vb::boxes::area(box_xyxy{4, 0, 1, 2}), 0.0f);
  EXPECT_EQ(vb::boxes::area(box_xyxy{0, 0, 5, 0}), 0.0f);
  EXPECT_TRUE(vb::boxes::is_empty(box_xyxy{0, 0, 5, 0}));
  EXPECT_TRUE(vb::boxes::is_empty(box_xyxy{4, 0, 1, 2}));
  EXPECT_FALSE(vb::boxes::is_empty(box_xyxy{0, 0, 1, 1}));
  EXPECT_TRUE(vb::boxes::is_finite(box_xyxy{0, 0, 1, 1}));
  EXPECT_FALSE(vb::boxes::is_finite(box_xyxy{0, NAN, 1, 1}));
  EXPECT_FALSE(vb::boxes::is_finite(box_xyxy{0, 0, INFINITY, 1}));
}

struct iou_case {
  const char* name;
  box_xyxy a, b;
  double iou, giou;
};

// Expected values worked out by hand: intersection / union; GIoU = IoU - (C - U) / C with C the
// enclosing box's area.
const iou_case cases[] = {
    {"identical", {0, 0, 10, 10}, {0, 0, 10, 10}, 1.0, 1.0},
    {"disjoint", {0, 0, 10, 10}, {20, 0, 30, 10}, 0.0, 0.0 - (300.0 - 200.0) / 300.0},
    {"disjoint diagonally", {0, 0, 1, 1}, {2, 2, 3, 3}, 0.0, 0.0 - (9.0 - 2.0) / 9.0},
    {"touching edges", {0, 0, 10, 10}, {10, 0, 20, 10}, 0.0, 0.0},
    {"touching corners", {0, 0, 10, 10}, {10, 10, 20, 20}, 0.0, 0.0 - (400.0 - 200.0) / 400.0},
    {"nested", {0, 0, 10, 10}, {2, 2, 7, 7}, 25.0 / 100.0, 0.25},
    {"half overlap", {0, 0, 10, 10}, {5, 0, 15, 10}, 50.0 / 150.0, 50.0 / 150.0},
    {"corner overlap", {0, 0, 10, 10}, {5, 5, 15, 15}, 25.0 / 175.0, 25.0 / 175.0 - (225.0 - 175.0) / 225.0},
    {"cross", {0, 4, 10, 6}, {4, 0, 6, 10}, 4.0 / 36.0, 4.0 / 36.0 - (100.0 - 36.0) / 100.0},
    {"zero-area against a box", {0, 0, 10, 10}, {5, 5, 5, 8}, 0.0, 0.0},
    {"zero-area identical", {3, 3, 3, 3}, {3, 3, 3, 3}, 0.0, 0.0},
    {"zero-width lines", {3, 0, 3, 5}, {3, 2, 3, 9}, 0.0, 0.0},
    {"inverted box", {10, 10, 0, 0}, {0, 0, 10, 10}, 0.0, 0.0 - (100.0 - 100.0) / 100.0},
    {"fractional", {0.5f, 0.25f, 2.5f, 1.25f}, {1.5f, 0.75f, 3.5f, 1.75f}, 0.5 / 3.5, 0.5 / 3.5 - (4.5 - 3.5) / 4.5},
    {"negative coordinates", {-10, -10, 0, 0}, {-5, -10, 5, 0}, 50.0 / 150.0, 50.0 / 150.0},
};

TEST(Iou, HandComputedCases) {
  for (const iou_case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(vb::boxes::iou(c.a, c.b), c.iou, 1e-7);
    EXPECT_NEAR(vb::boxes::iou(c.b, c.a), c.iou, 1e-7);
  }
  // Exact where the arithmetic is exact.
  EXPECT_EQ(vb::boxes::iou(box_xyxy{0, 0, 10, 10}, box_xyxy{0, 0, 10, 10}), 1.0f);
  EXPECT_EQ(vb::boxes::iou(box_xyxy{0, 0, 10, 10}, box_xyxy{0, 0, 10, 5}), 0.5f);
  EXPECT_EQ(vb::boxes::iou(box_xyxy{0, 0, 10, 10}, box_xyxy{10, 0, 20, 10}), 0.0f);
}

TEST(Giou, HandComputedCases) {
  for (const iou_case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(vb::boxes::giou(c.a, c.b), c.giou, 1e-6);
    EXPECT_NEAR(vb::boxes::giou(c.b, c.a), c.giou, 1e-6);
  }
  // Far apart, GIoU tends to -1.
  EXPECT_LT(vb::boxes::giou(box_xyxy{0, 0, 1, 1}, box_xyxy{1000, 1000, 1001, 1001}), -0.99f);
}

TEST(Iou, OtherFormatsConvertFirst) {
  EXPECT_NEAR(vb::boxes::iou(vb::boxes::box_xywh{0, 0, 10, 10}, vb::boxes::box_cxcywh{10, 5, 10, 10}), 50.0 / 150.0, 1e-7);
  EXPECT_NEAR(vb::boxes::giou(vb::boxes::box_xywh{0, 0, 10, 10}, box_xyxy{5, 0, 15, 10}), 50.0 / 150.0, 1e-7);
}

// Random boxes, coordinates on a 1/64 grid when `grid`: then sums and differences of coordinates
// (translations) are exact in float.
std::vector<box_xyxy> random_boxes(int n, unsigned seed, bool grid = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(-100, 100), size(0.0f, 40);
  const auto q = [&](float v) { return grid ? std::round(v * 64) / 64 : v; };
  std::vector<box_xyxy> boxes;
  for (int i = 0; i < n; ++i) {
    const float x = q(pos(rng)), y = q(pos(rng));
    boxes.push_back({x, y, x + q(size(rng)), y + q(size(rng))});
  }
  return boxes;
}

// The same boxes in double precision, computed independently.
double iou_double(const box_xyxy& a, const box_xyxy& b) {
  const double w = std::max(0.0, std::min<double>(a.x2, b.x2) - std::max<double>(a.x1, b.x1));
  const double h = std::max(0.0, std::min<double>(a.y2, b.y2) - std::max<double>(a.y1, b.y1));
  const double aa = std::max(0.0, double(a.x2) - a.x1) * std::max(0.0, double(a.y2) - a.y1);
  const double ab = std::max(0.0, double(b.x2) - b.x1) * std::max(0.0, double(b.y2) - b.y1);
  const double u = aa + ab - w * h;
  return u > 0 ? w * h / u : 0.0;
}

TEST(Iou, PropertiesOnRandomBoxes) {
  const std::vector<box_xyxy> a = random_boxes(400, 1), b = random_boxes(400, 2);
  int overlapping = 0;
  double worst = 0;
  for (const box_xyxy& p : a)
    for (const box_xyxy& q : b) {
      const float v = vb::boxes::iou(p, q), w = vb::boxes::iou(q, p);
      ASSERT_EQ(std::memcmp(&v, &w, sizeof v), 0) << "symmetric bit for bit";
      ASSERT_GE(v, 0.0f);
      ASSERT_LE(v, 1.0f);
      overlapping += v > 0;
      worst = std::max(worst, std::fabs(v - iou_double(p, q)));
      // Scaling both by a power of two is exact.
      const float s = 4.0f;
      ASSERT_EQ(vb::boxes::iou(box_xyxy{s * p.x1, s * p.y1, s * p.x2, s * p.y2}, box_xyxy{s * q.x1, s * q.y1, s * q.x2, s * q.y2}), v);
      const float g = vb::boxes::giou(p, q);
      ASSERT_LE(g, v + 1e-6f);
      ASSERT_GE(g, -1.0f);
    }
  for (const box_xyxy& p : a)
    if (!vb::boxes::is_empty(p)) {
      ASSERT_EQ(vb::boxes::iou(p, p), 1.0f);
    }
  EXPECT_GT(overlapping, 1000) << "the random boxes should overlap often enough to test something";
  vbatch_test::record("iou_max_error_vs_double", worst);
  EXPECT_LT(worst, 1e-6);
}

TEST(Iou, InvariantUnderTranslatingBothBoxes) {
  // On a 1/64 grid the translated coordinates are exact, so the IoU must be too.
  const std::vector<box_xyxy> a = random_boxes(200, 3, true), b = random_boxes(200, 4, true);
  const float shifts[][2] = {{17.25f, -3.5f}, {-1000, 250.125f}, {0.015625f, 0}};
  int overlapping = 0;
  for (const auto& d : shifts)
    for (const box_xyxy& p : a)
      for (const box_xyxy& q : b) {
        const box_xyxy pm{p.x1 + d[0], p.y1 + d[1], p.x2 + d[0], p.y2 + d[1]},
            qm{q.x1 + d[0], q.y1 + d[1], q.x2 + d[0], q.y2 + d[1]};
        ASSERT_EQ(vb::boxes::iou(pm, qm), vb::boxes::iou(p, q));
        ASSERT_EQ(vb::boxes::giou(pm, qm), vb::boxes::giou(p, q));
        overlapping += vb::boxes::iou(p, q) > 0;
      }
  EXPECT_GT(overlapping, 500);
}

}  // namespace
