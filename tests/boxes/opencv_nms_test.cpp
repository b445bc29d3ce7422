// cv::dnn::NMSBoxes (OpenCV 4.x, modules/dnn/src/nms.inl.hpp) as an independent reference.
//
// What OpenCV does, read from its source and checked here: candidates are boxes with
// score > score_threshold (strictly), ranked by std::stable_sort on score descending (ties keep
// the input order, as vbatch's index tie-break does), cut to top_k *before* suppression (vbatch's
// max_candidates); a candidate is kept when its overlap with every kept box is <= nms_threshold
// (vbatch suppresses at IoU > threshold: the same rule). The overlap is 1 - jaccardDistance,
// with areas width * height and no "+1" on widths or heights (for cv::Rect as well as Rect2d), so
// it is the same IoU convention as vbatch's; it is computed in double, then 1 - (1 - IoU) is
// rounded to float, so an IoU within about 1e-7 of the threshold may be decided differently.
// One real difference: two empty boxes have overlap 1 in OpenCV (jaccardDistance returns 0 when
// both areas are 0), IoU 0 in vbatch, so OpenCV suppresses duplicates of an empty box.

#if VBATCH_HAVE_OPENCV

#include <opencv2/dnn.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;

struct problem {
  std::vector<box_xyxy> boxes;
  std::vector<float> scores;
};

// Detector-like clusters of boxes; integer corners when `integral` (every IoU is then a ratio of
// small integers, computed exactly enough on both sides that no decision can differ).
problem make_problem(int n, unsigned seed, bool integral) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(0, 500), size(8, 80), jitter(-8, 8), score(0.01f, 1.0f);
  std::vector<box_xyxy> objects;
  for (int k = 0; k < n / 6 + 1; ++k) {
    const float x = pos(rng), y = pos(rng);
    objects.push_back({x, y, x + size(rng), y + size(rng)});
  }
  problem p;
  const auto q = [&](float v) { return integral ? std::round(v) : v; };
  for (int i = 0; i < n; ++i) {
    const box_xyxy& o = objects[std::uniform_int_distribution<int>(0, static_cast<int>(objects.size()) - 1)(rng)];
    box_xyxy b{q(o.x1 + jitter(rng)), q(o.y1 + jitter(rng)), q(o.x2 + jitter(rng)), q(o.y2 + jitter(rng))};
    if (b.x2 <= b.x1) b.x2 = b.x1 + 1;
    if (b.y2 <= b.y1) b.y2 = b.y1 + 1;
    p.boxes.push_back(b);
    // A few score levels in the integral problems: ties must be broken the same way.
    p.scores.push_back(integral ? std::round(score(rng) * 8) / 8 + 0.0625f : score(rng));
  }
  return p;
}

std::vector<int> opencv_nms(const problem& p, float threshold, int top_k, bool integral) {
  std::vector<int> kept;
  if (integral) {
    std::vector<cv::Rect> r;
    for (const box_xyxy& b : p.boxes)
      r.emplace_back(static_cast<int>(b.x1), static_cast<int>(b.y1), static_cast<int>(b.x2 - b.x1),
                     static_cast<int>(b.y2 - b.y1));
    cv::dnn::NMSBoxes(r, p.scores, 0.0f, threshold, kept, 1.0f, top_k);
  } else {
    std::vector<cv::Rect2d> r;
    for (const box_xyxy& b : p.boxes) r.emplace_back(b.x1, b.y1, double(b.x2) - b.x1, double(b.y2) - b.y1);
    cv::dnn::NMSBoxes(r, p.scores, 0.0f, threshold, kept, 1.0f, top_k);
  }
  return kept;
}

// OpenCV's score_threshold 0 keeps scores > 0; vbatch's min_score keeps scores >= it.
vb::boxes::nms_options options_like_opencv(float threshold, int top_k) {
  return {.iou_threshold = threshold, .min_score = std::nextafter(0.0f, 1.0f), .max_candidates = top_k};
}

TEST(NmsOpenCv, IdenticalOnIntegerBoxesWithTiedScores) {
  int compared = 0, kept = 0;
  for (unsigned seed = 1; seed <= 25; ++seed) {
    const problem p = make_problem(40 * static_cast<int>(seed), seed, true);
    for (const float t : {0.3f, 0.5f, 0.7f})
      for (const int top_k : {0, 50}) {
        const std::vector<int> want = opencv_nms(p, t, top_k, true);
        ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, options_like_opencv(t, top_k)), want)
            << "seed " << seed << " t " << t << " top_k " << top_k;
        ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, options_like_opencv(t, top_k), vb::boxes::nms_schedule::bitmask{}), want);
        ++compared, kept += static_cast<int>(want.size());
      }
  }
  vbatch_test::record("opencv_integer_cases", compared);
  vbatch_test::record("opencv_integer_kept", kept);
}

TEST(NmsOpenCv, IdenticalOnFloatBoxesAwayFromTheThreshold) {
  // Cases where some pair's IoU lies within 1e-5 of the threshold are skipped: there the two
  // roundings (float IoU vs 1 - float(1 - double IoU)) may legitimately disagree.
  int compared = 0, skipped = 0;
  for (unsigned seed = 100; seed < 140; ++seed) {
    const problem p = make_problem(300, seed, false);
    for (const float t : {0.4f, 0.5f, 0.65f}) {
      bool near = false;
      for (std::size_t a = 0; a < p.boxes.size() && !near; ++a)
        for (std::size_t b = a + 1; b < p.boxes.size() && !near; ++b)
          near = std::fabs(vb::boxes::iou(p.boxes[a], p.boxes[b]) - t) < 1e-5f;
      if (near) {
        ++skipped;
        continue;
      }
      ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, options_like_opencv(t, 0)), opencv_nms(p, t, 0, false))
          << "seed " << seed << " t " << t;
      ++compared;
    }
  }
  vbatch_test::record("opencv_float_cases", compared);
  vbatch_test::record("opencv_float_skipped", skipped);
  EXPECT_GT(compared, 100);
}

TEST(NmsOpenCv, NoPlusOneInOpenCvsIou) {
  // Two 10x10 boxes sharing a 5x10 half: IoU 50/150 = 1/3 without "+1", 66/176 = 0.375 with it.
  const problem p{{{0, 0, 10, 10}, {5, 0, 15, 10}}, {0.9f, 0.8f}};
  EXPECT_EQ(opencv_nms(p, 0.34f, 0, true).size(), 2u);  // a +1 convention would suppress at 0.34
  EXPECT_EQ(opencv_nms(p, 0.33f, 0, true).size(), 1u);
  EXPECT_EQ(vb::boxes::nms(p.boxes, p.scores, {.iou_threshold = 0.34f}).size(), 2u);
  EXPECT_EQ(vb::boxes::nms(p.boxes, p.scores, {.iou_threshold = 0.33f}).size(), 1u);
}

TEST(NmsOpenCv, EmptyBoxDuplicatesAreTheOneDifference) {
  const problem p{{{5, 5, 5, 5}, {5, 5, 5, 5}}, {0.9f, 0.8f}};
  EXPECT_EQ(opencv_nms(p, 0.5f, 0, false).size(), 1u) << "OpenCV: two empty boxes overlap fully";
  EXPECT_EQ(vb::boxes::nms(p.boxes, p.scores, {.iou_threshold = 0.5f}).size(), 2u) << "vbatch: an empty box overlaps nothing";
}

}  // namespace

#endif
