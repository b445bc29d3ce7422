// Greedy NMS against a plain reference written from the definition (stable sort by score, then
// keep a box unless a kept box of the same class overlaps it by more than the threshold), on
// random inputs with tied scores, duplicate boxes, IoUs exactly at the threshold, empty boxes and
// classes; both schedules (sweep, bitmask), every thread count and batch split must agree; the
// soft limits (min_score, max_candidates, max_detections) and the checks.

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;
using vbatch_test::throws_error;

struct problem {
  std::vector<box_xyxy> boxes;
  std::vector<float> scores;
  std::vector<int> classes;
};

// The reference: O(N·K), straight from the definition.
std::vector<int> reference_nms(const problem& p, bool use_classes, const vb::boxes::nms_options& o, int first = 0, int last = -1) {
  if (last < 0) last = static_cast<int>(p.boxes.size());
  std::vector<int> ranked;
  for (int j = first; j < last; ++j)
    if (p.scores[j] >= o.min_score) ranked.push_back(j);
  std::stable_sort(ranked.begin(), ranked.end(), [&](int a, int b) { return p.scores[a] > p.scores[b]; });
  if (o.max_candidates > 0 && static_cast<int>(ranked.size()) > o.max_candidates) ranked.resize(o.max_candidates);
  std::vector<int> kept;
  for (const int j : ranked) {
    bool keep = true;
    for (const int k : kept)
      if ((!use_classes || p.classes[k] == p.classes[j]) && vb::boxes::iou(p.boxes[k], p.boxes[j]) > o.iou_threshold) keep = false;
    if (keep) kept.push_back(j);
    if (o.max_detections > 0 && static_cast<int>(kept.size()) == o.max_detections) break;
  }
  return kept;
}

// Clusters of jittered boxes (what a detector emits around each object), on an integer grid so
// that some IoUs land exactly on simple thresholds, with scores from a few levels (many ties),
// exact duplicates, empty boxes and a few wide boxes.
problem random_problem(int n, unsigned seed, int classes = 1) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pos(0, 400), size(4, 60), jitter(-6, 6), level(1, 6), cls(0, classes - 1), pct(0, 99);
  problem p;
  std::vector<box_xyxy> objects;
  for (int k = 0; k < std::max(1, n / 8); ++k) {
    const int x = pos(rng), y = pos(rng);
    objects.push_back({float(x), float(y), float(x + size(rng)), float(y + size(rng))});
  }
  for (int i = 0; i < n; ++i) {
    const box_xyxy& o = objects[std::uniform_int_distribution<int>(0, int(objects.size()) - 1)(rng)];
    box_xyxy b{o.x1 + jitter(rng), o.y1 + jitter(rng), o.x2 + jitter(rng), o.y2 + jitter(rng)};
    const int r = pct(rng);
    if (r < 4 && i > 0)
      b = p.boxes[i / 2];  // duplicate
    else if (r < 7)
      b.x2 = b.x1;  // empty
    else if (r < 9)
      b = {b.x1, b.y1, b.x1 + 300.0f, b.y2 + 5};  // wide
    p.boxes.push_back(b);
    p.scores.push_back(0.1f * level(rng));
    p.classes.push_back(cls(rng));
  }
  return p;
}

TEST(Nms, HandWorkedExample) {
  // a (0.9) and b (0.8) overlap by IoU 50/150 = 0.33; c (0.7) lies inside a (IoU 0.9) and overlaps
  // b by 45/145 = 0.31; d is alone.
  const std::vector<box_xyxy> boxes{{0, 0, 10, 10}, {5, 0, 15, 10}, {0, 0, 10, 9}, {100, 100, 110, 110}};
  const std::vector<float> scores{0.9f, 0.8f, 0.7f, 0.2f};
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.5f}), (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.3f}), (std::vector<int>{0, 3}));
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.9f}), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.5f, .min_score = 0.75f}), (std::vector<int>{0, 1}));
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.5f, .min_score = 0.8f}), (std::vector<int>{0, 1}))
      << "a score equal to min_score stays";
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.5f, .max_detections = 2}), (std::vector<int>{0, 1}));
  // max_candidates limits who takes part (OpenCV's top_k): c is not a candidate, d neither.
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.5f, .max_candidates = 2}), (std::vector<int>{0, 1}));
  // Classes: c (class 1) is not suppressed by a (class 0).
  const std::vector<int> classes{0, 0, 1, 0};
  EXPECT_EQ(vb::boxes::nms(boxes, scores, classes, {.iou_threshold = 0.3f}), (std::vector<int>{0, 2, 3}));
}

TEST(Nms, IouExactlyAtTheThresholdIsKept) {
  // IoU = 50 / 100 = 0.5 exactly: suppression needs IoU > threshold.
  const std::vector<box_xyxy> boxes{{0, 0, 10, 10}, {0, 0, 10, 5}};
  const std::vector<float> scores{0.9f, 0.8f};
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.5f}).size(), 2u);
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.4999f}).size(), 1u);
}

TEST(Nms, TiesAreBrokenByIndex) {
  // Three identical boxes with one score: the lowest index wins, whatever the schedule.
  const std::vector<box_xyxy> boxes{{0, 0, 10, 10}, {0, 0, 10, 10}, {0, 0, 10, 10}, {50, 50, 60, 60}};
  const std::vector<float> scores{0.5f, 0.5f, 0.5f, 0.5f};
  EXPECT_EQ(vb::boxes::nms(boxes, scores), (std::vector<int>{0, 3}));
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {}, vb::boxes::nms_schedule::bitmask{}), (std::vector<int>{0, 3}));
  const std::vector<float> later{0.5f, 0.7f, 0.7f, 0.1f};
  EXPECT_EQ(vb::boxes::nms(boxes, later), (std::vector<int>{1, 3}));
}

TEST(Nms, EmptyBoxesAreNeverSuppressedAndSuppressNothing) {
  const std::vector<box_xyxy> boxes{{5, 5, 5, 5}, {0, 0, 10, 10}, {5, 5, 5, 5}, {0, 0, 10, 10}};
  const std::vector<float> scores{0.9f, 0.8f, 0.7f, 0.6f};
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.0f}), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(vb::boxes::nms(boxes, scores, {.iou_threshold = 0.0f}, vb::boxes::nms_schedule::bitmask{}), (std::vector<int>{0, 1, 2}));
}

TEST(Nms, NanScoresTakeNoPart) {
  const std::vector<box_xyxy> boxes{{0, 0, 10, 10}, {0, 0, 10, 10}, {20, 20, 30, 30}};
  const std::vector<float> scores{NAN, 0.1f, 0.2f};
  EXPECT_EQ(vb::boxes::nms(boxes, scores), (std::vector<int>{2, 1}));
}

TEST(Nms, MatchesTheReferenceOnRandomInputs) {
  int kept_total = 0, cases = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    const int n = seed % 10 == 0 ? 1200 : static_cast<int>(20 + seed * 9);
    const problem p = random_problem(n, seed, seed % 3 == 0 ? 4 : 1);
    for (const float t : {0.0f, 0.3f, 0.5f, 0.7f, 1.0f}) {
      const vb::boxes::nms_options o{.iou_threshold = t};
      const std::vector<int> want = reference_nms(p, false, o);
      ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, o), want) << "sweep, seed " << seed << " t " << t;
      ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, o, vb::boxes::nms_schedule::bitmask{}), want) << "bitmask, seed " << seed << " t " << t;
      const std::vector<int> want_classes = reference_nms(p, true, o);
      ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, p.classes, o), want_classes) << "classes, seed " << seed << " t " << t;
      ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, p.classes, o, vb::boxes::nms_schedule::bitmask{}), want_classes);
      kept_total += static_cast<int>(want.size()), cases += 1;
    }
  }
  vbatch_test::record("nms_reference_cases", cases);
  vbatch_test::record("nms_reference_kept", kept_total);
}

TEST(Nms, SoftLimitsMatchTheReference) {
  for (unsigned seed = 100; seed < 130; ++seed) {
    const problem p = random_problem(300, seed, 3);
    const vb::boxes::nms_options o{.iou_threshold = 0.45f,
                            .min_score = 0.25f,
                            .max_candidates = static_cast<int>(seed % 5) * 40,
                            .max_detections = static_cast<int>(seed % 4) * 7};
    ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, o), reference_nms(p, false, o)) << seed;
    ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, p.classes, o), reference_nms(p, true, o)) << seed;
    ASSERT_EQ(vb::boxes::nms(p.boxes, p.scores, p.classes, o, vb::boxes::nms_schedule::bitmask{}), reference_nms(p, true, o)) << seed;
  }
}

TEST(Nms, BatchedPerImageEqualsSingleImagesForEveryScheduleAndThreadCount) {
  // Six images of different sizes (one empty), boxes of all images in one array.
  problem all;
  std::vector<int> offsets{0};
  for (int i = 0; i < 6; ++i) {
    const problem p = random_problem(i == 3 ? 0 : 150 + 40 * i, 200 + i, 3);
    all.boxes.insert(all.boxes.end(), p.boxes.begin(), p.boxes.end());
    all.scores.insert(all.scores.end(), p.scores.begin(), p.scores.end());
    all.classes.insert(all.classes.end(), p.classes.begin(), p.classes.end());
    offsets.push_back(static_cast<int>(all.boxes.size()));
  }
  const vb::boxes::nms_options o{.iou_threshold = 0.5f, .max_detections = 40};
  vb::boxes::nms_batch_result want;
  for (int i = 0; i < 6; ++i) {
    const std::vector<int> kept = reference_nms(all, true, o, offsets[i], offsets[i + 1]);
    want.indices.insert(want.indices.end(), kept.begin(), kept.end());
    want.offsets.push_back(static_cast<int>(want.indices.size()));
  }
  const auto same = [&](const vb::boxes::nms_batch_result& r) { return r.indices == want.indices && r.offsets == want.offsets; };
  EXPECT_TRUE(same(vb::boxes::nms_batched(vb::cpu_serial{}, all.boxes, all.scores, all.classes, offsets, o)));
  EXPECT_TRUE(
      same(vb::boxes::nms_batched(vb::cpu_serial{}, all.boxes, all.scores, all.classes, offsets, o, vb::boxes::nms_schedule::bitmask{})));
  for (int threads : {1, 2, 3, 7}) {
    EXPECT_TRUE(same(vb::boxes::nms_batched(vb::cpu_par{threads}, all.boxes, all.scores, all.classes, offsets, o))) << threads;
    EXPECT_TRUE(
        same(vb::boxes::nms_batched(vb::cpu_par{threads}, all.boxes, all.scores, all.classes, offsets, o, vb::boxes::nms_schedule::bitmask{})))
        << threads;
  }
  const vb::boxes::nms_batch_result r = vb::boxes::nms_batched(vb::cpu_par{2}, all.boxes, all.scores, all.classes, offsets, o);
  ASSERT_EQ(r.images(), 6);
  EXPECT_TRUE(r.kept(3).empty());
  for (int i = 0; i < 6; ++i)
    for (const int k : r.kept(i))
      EXPECT_TRUE(k >= offsets[i] && k < offsets[i + 1]) << "image " << i << " kept a box of another image";
  // Splitting the batch in two calls gives the same per-image results.
  const std::vector<int> head(offsets.begin(), offsets.begin() + 4);
  const vb::boxes::nms_batch_result first =
      vb::boxes::nms_batched(vb::cpu_par{2}, std::span(all.boxes).first(head.back()), std::span(all.scores).first(head.back()),
                      std::span(all.classes).first(head.back()), head, o);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::ranges::equal(first.kept(i), r.kept(i))) << i;
}

TEST(Nms, UniformOffsets) {
  EXPECT_EQ(vb::boxes::uniform_offsets(3, 5), (std::vector<int>{0, 5, 10, 15}));
  EXPECT_EQ(vb::boxes::uniform_offsets(0, 5), (std::vector<int>{0}));
}

TEST(Nms, EmptyInputKeepsNothing) {
  EXPECT_TRUE(vb::boxes::nms(std::vector<box_xyxy>{}, std::vector<float>{}).empty());
  EXPECT_TRUE(vb::boxes::nms(std::vector<box_xyxy>{}, std::vector<float>{}, {}, vb::boxes::nms_schedule::bitmask{}).empty());
}

TEST(Nms, ChecksNameTheProblem) {
  const std::vector<box_xyxy> boxes{{0, 0, 1, 1}, {0, 0, 2, 2}};
  const std::vector<float> scores{1, 2};
  EXPECT_TRUE(
      throws_error([&] { vb::boxes::nms(boxes, scores, {.iou_threshold = 1.5f}); }, vb::errc::invalid_argument, {"iou_threshold 1.5"}));
  EXPECT_TRUE(
      throws_error([&] { vb::boxes::nms(boxes, scores, {.iou_threshold = NAN}); }, vb::errc::invalid_argument, {"iou_threshold"}));
  EXPECT_TRUE(throws_error([&] { vb::boxes::nms(boxes, std::vector<float>{1}); }, vb::errc::invalid_argument, {"1 scores for 2 boxes"}));
  EXPECT_TRUE(throws_error(
      [&] {
        vb::boxes::nms(boxes, scores, std::vector<int>{1, 2, 3});
      },
      vb::errc::invalid_argument, {"3 classes for 2 boxes"}));
  EXPECT_TRUE(
      throws_error([&] { vb::boxes::nms(boxes, scores, {.max_detections = -1}); }, vb::errc::invalid_argument, {"max_detections -1"}));
  EXPECT_TRUE(
      throws_error([&] { vb::boxes::nms(boxes, scores, {.max_candidates = -2}); }, vb::errc::invalid_argument, {"max_candidates -2"}));
  EXPECT_TRUE(
      throws_error([&] { vb::boxes::nms(boxes, scores, {.min_score = NAN}); }, vb::errc::invalid_argument, {"min_score is NaN"}));
  const std::vector<box_xyxy> bad{{0, 0, 1, 1}, {0, NAN, 2, 2}};
  EXPECT_TRUE(throws_error([&] { vb::boxes::nms(bad, scores); }, vb::errc::invalid_argument, {"box 1", "non-finite"}));
  const std::vector<int> offsets{0, 1, 3};
  EXPECT_TRUE(throws_error([&] { vb::boxes::nms_batched(vb::cpu_serial{}, boxes, scores, {}, offsets); }, vb::errc::invalid_argument,
                           {"offsets must run from 0 to the number of boxes (2)"}));
  const std::vector<int> decreasing{0, 2, 1, 2};
  EXPECT_TRUE(throws_error([&] { vb::boxes::nms_batched(vb::cpu_serial{}, boxes, scores, {}, decreasing); }, vb::errc::invalid_argument,
                           {"offsets decrease at image 1"}));
  EXPECT_TRUE(vb::boxes::can_nms(boxes, scores, {}, std::vector<int>{0, 2}, {}));
}

}  // namespace
