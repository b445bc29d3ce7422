// The IoU tracker on scenes built by hand, where the expected behaviour follows from the rules
// in tracker.hpp (worked out in each test's comment): parallel objects, appearing and
// disappearing objects, occlusions shorter and longer than max_age, two objects crossing with
// and without the motion model; identity switches counted against the truth. Then the synthetic
// scene generator, histories and best frames, and the checks.

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;
using vbatch_test::throws_error;

struct truth_box {
  box_xyxy box;
  int truth;
};
using scene = std::vector<std::vector<truth_box>>;  // frame f (1-based in update) -> boxes

struct run_result {
  std::map<int, std::map<int, int>> id_of;  // truth -> frame -> track id reported
  std::set<int> ids;
  int switches = 0, outputs = 0;
};

run_result run(const scene& s, const vb::boxes::tracker_options& o) {
  vb::boxes::iou_tracker tracker(o);
  vb::boxes::identity_switch_counter counter;
  run_result r;
  for (std::size_t f = 0; f < s.size(); ++f) {
    std::vector<box_xyxy> boxes;
    for (const truth_box& t : s[f]) boxes.push_back(t.box);
    std::set<int> seen;
    for (const vb::boxes::tracked_box& t : tracker.update(static_cast<int>(f) + 1, boxes)) {
      EXPECT_TRUE(seen.insert(t.id).second) << "id " << t.id << " twice in frame " << f + 1;
      EXPECT_EQ(t.box, boxes[t.detection]);
      const int truth = s[f][t.detection].truth;
      r.id_of[truth][static_cast<int>(f) + 1] = t.id;
      r.ids.insert(t.id);
      counter.add(truth, t.id);
      ++r.outputs;
    }
  }
  r.switches = counter.switches();
  return r;
}

box_xyxy at(float x, float y, float w, float h) { return {x, y, x + w, y + h}; }

TEST(Tracker, ParallelObjectsKeepTheirIdsFromConfirmation) {
  // Two 100x100 boxes 300 px apart moving right at 5 px/frame for 40 frames: IoU 0.9 between
  // frames, 0 across objects. min_hits 3: reported from frame 3 on, ids 1 and 2 in detection order.
  scene s(40);
  for (int f = 0; f < 40; ++f) s[f] = {{at(10 + 5.0f * f, 10, 100, 100), 0}, {at(10 + 5.0f * f, 310, 100, 100), 1}};
  const run_result r = run(s, {});
  EXPECT_EQ(r.ids, (std::set<int>{1, 2}));
  EXPECT_EQ(r.switches, 0);
  EXPECT_EQ(r.outputs, 2 * 38);
  EXPECT_EQ(r.id_of.at(0).begin()->first, 3);
  EXPECT_EQ(r.id_of.at(0).at(3), 1);
  EXPECT_EQ(r.id_of.at(1).at(40), 2);
  // min_hits 1 reports from the first frame.
  EXPECT_EQ(run(s, {.min_hits = 1}).outputs, 2 * 40);
}

TEST(Tracker, AppearingAndDisappearingObjects) {
  // A is seen in frames 1-30, B in frames 20-50, far apart. A: id 1, reported 3-30; B: id 2 from
  // frame 22. A may miss max_age = 1 frame (31) and still be paired in frame 32; at frame 33 it is
  // retired, with its 30 observations.
  vb::boxes::iou_tracker tracker({.min_hits = 3, .max_age = 1});
  std::map<int, std::vector<int>> frames_of;
  for (int f = 1; f <= 50; ++f) {
    std::vector<box_xyxy> boxes;
    if (f <= 30) boxes.push_back(at(100, 100, 80, 80));
    if (f >= 20) boxes.push_back(at(600, 100, 80, 80));
    for (const vb::boxes::tracked_box& t : tracker.update(f, boxes)) frames_of[t.id].push_back(f);
    if (f == 32) {
      EXPECT_EQ(tracker.active().size(), 2u) << "A survives one missed frame";
    }
    if (f == 33) {
      EXPECT_EQ(tracker.active().size(), 1u) << "A is retired after max_age missed frames";
      const std::vector<vb::boxes::track> done = tracker.take_finished();
      ASSERT_EQ(done.size(), 1u);
      EXPECT_EQ(done[0].id, 1);
      EXPECT_EQ(done[0].first_frame, 1);
      EXPECT_EQ(done[0].last_frame, 30);
      EXPECT_EQ(done[0].history.size(), 30u);
    }
  }
  ASSERT_EQ(frames_of.size(), 2u);
  EXPECT_EQ(frames_of[1].front(), 3);
  EXPECT_EQ(frames_of[1].back(), 30);
  EXPECT_EQ(frames_of[1].size(), 28u);
  EXPECT_EQ(frames_of[2].front(), 22);
  EXPECT_EQ(frames_of[2].back(), 50);
  tracker.finish();
  const std::vector<vb::boxes::track> rest = tracker.take_finished();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].history.size(), 31u);
  EXPECT_TRUE(tracker.active().empty());
}

TEST(Tracker, OcclusionsWithinMaxAgeKeepTheIdLongerOnesSwitch) {
  // One object drifting 2 px/frame, undetected in frames 20-22 (3 frames). Its last box (frame 19)
  // and its detection in frame 23 are 8 px apart on an 80 px box: IoU 72/88 = 0.82.
  // max_age >= 3: the same id continues; max_age 2 or less: a new track (confirmed in frame 25),
  // one identity switch.
  scene s(40);
  for (int f = 0; f < 40; ++f)
    if (f + 1 < 20 || f + 1 > 22) s[f] = {{at(100 + 2.0f * f, 100, 80, 80), 0}};
  for (int max_age : {3, 4, 10}) {
    const run_result r = run(s, {.max_age = max_age});
    EXPECT_EQ(r.ids, (std::set<int>{1})) << max_age;
    EXPECT_EQ(r.switches, 0) << max_age;
  }
  for (int max_age : {0, 1, 2}) {
    const run_result r = run(s, {.max_age = max_age});
    EXPECT_EQ(r.ids, (std::set<int>{1, 2})) << max_age;
    EXPECT_EQ(r.switches, 1) << max_age;
    EXPECT_EQ(r.id_of.at(0).begin()->first, 3);
    EXPECT_EQ(r.id_of.at(0).count(23), 0u) << "the new track needs min_hits frames again";
    EXPECT_EQ(r.id_of.at(0).at(25), 2);
  }
}

// Two 60x120 boxes moving towards each other at 8 px/frame, B 10 px lower: x_A = 8k, x_B = 536 - 8k
// in frame k + 1. From frame k to k + 1 a track's last box and the other object's new detection
// are d - 8 apart in x, d = x_B - x_A = 536 - 16k: a multiple of 16 except at k = 33, where it is 0.
scene crossing() {
  scene s(60);
  for (int f = 0; f < 60; ++f) s[f] = {{at(8.0f * f, 100, 60, 120), 0}, {at(536 - 8.0f * f, 110, 60, 120), 1}};
  return s;
}

TEST(Tracker, CrossingObjectsSwapWithoutMotionAndNotWithIt) {
  // Without motion: the right pairs always have IoU 52*120 / (14400 - 6240) = 0.765 (an 8 px shift).
  // Swapped pairs 16 px or more apart (and 10 px in y) have at most 0.506; but where they coincide in
  // x (frame 35) they have 6600/7800 = 0.846 each: the optimal assignment swaps there, never back,
  // and each object changes id once.
  const run_result still = run(crossing(), {});
  EXPECT_EQ(still.switches, 2);
  EXPECT_EQ(still.ids, (std::set<int>{1, 2}));
  // With constant velocity the predictions are exact (IoU 1 with the right detection), so nothing swaps.
  const run_result moving = run(crossing(), {.motion = vb::boxes::motion_model::constant_velocity});
  EXPECT_EQ(moving.switches, 0);
  EXPECT_EQ(moving.ids, (std::set<int>{1, 2}));
  EXPECT_EQ(moving.id_of.at(0).at(59), moving.id_of.at(0).at(3));
  // Greedy association makes the same choices here (the largest IoU pair first).
  EXPECT_EQ(run(crossing(), {.greedy = true}).switches, 2);
}

TEST(Tracker, ConstantVelocityCarriesATrackThroughAGap) {
  // A fast object (20 px/frame, 60 px box) unseen in frames 12-14: when it reappears it is 80 px from
  // its last box (no overlap: a new track), but exactly where the constant velocity predicts.
  scene s(30);
  for (int f = 0; f < 30; ++f)
    if (f + 1 < 12 || f + 1 > 14) s[f] = {{at(20.0f * f, 50, 60, 60), 0}};
  EXPECT_EQ(run(s, {.max_age = 3}).switches, 1);
  EXPECT_EQ(run(s, {.max_age = 3, .motion = vb::boxes::motion_model::constant_velocity}).switches, 0);
}

TEST(Tracker, SyntheticScenesScoreAsExpected) {
  // Objects bouncing around, 5% missed detections, false positives. With max_age 3 and the motion
  // model the tracker follows every object through its misses.
  const vb::boxes::synthetic_scene sc = vb::boxes::make_synthetic_scene({.frames = 200, .objects = 12, .seed = 5});
  // The same options and seed give the same scene.
  const vb::boxes::synthetic_scene again = vb::boxes::make_synthetic_scene({.frames = 200, .objects = 12, .seed = 5});
  ASSERT_EQ(again.frames.size(), 200u);
  for (std::size_t f = 0; f < again.frames.size(); ++f) {
    ASSERT_EQ(again.frames[f].size(), sc.frames[f].size()) << "frame " << f;
    for (std::size_t j = 0; j < again.frames[f].size(); ++j) {
      EXPECT_EQ(again.frames[f][j].box, sc.frames[f][j].box) << "frame " << f << " detection " << j;
      EXPECT_EQ(again.frames[f][j].score, sc.frames[f][j].score) << "frame " << f << " detection " << j;
      EXPECT_EQ(again.frames[f][j].truth, sc.frames[f][j].truth) << "frame " << f << " detection " << j;
    }
  }
  scene s(sc.frames.size());
  int detections = 0;
  for (std::size_t f = 0; f < sc.frames.size(); ++f)
    for (const vb::boxes::synthetic_detection& d : sc.frames[f]) s[f].push_back({d.box, d.truth}), ++detections;
  EXPECT_EQ(detections, sc.detections());
  const run_result good = run(s, {.max_age = 3, .motion = vb::boxes::motion_model::constant_velocity});
  const run_result sort_defaults = run(s, {});
  vbatch_test::record("synthetic_switches_velocity_max_age_3", good.switches);
  vbatch_test::record("synthetic_switches_sort_defaults", sort_defaults.switches);
  EXPECT_LE(good.switches, 2);
  EXPECT_GE(sort_defaults.switches, good.switches);
  // False positives (truth -1) appear at random places: they hardly ever build a streak of
  // min_hits, and only now and then stand in for a missed detection of a confirmed track.
  const std::size_t false_reports = good.id_of.count(-1) ? good.id_of.at(-1).size() : 0u;
  vbatch_test::record("synthetic_false_positives_reported", static_cast<double>(false_reports));
  EXPECT_LE(false_reports * 200, static_cast<std::size_t>(good.outputs));
}

TEST(Tracker, HistoryAndBestObservations) {
  const float scores[] = {0.3f, 0.9f, 0.5f, 0.9f, 0.1f};
  // Detections every other frame: each is paired (one missed frame is within max_age 1) but the
  // streak restarts at 1 every time, so min_hits 2 is never reached and nothing is finished.
  vb::boxes::iou_tracker sparse({.min_hits = 2});
  for (int f = 1; f <= 5; ++f)
    EXPECT_TRUE(
        sparse.update(2 * f, std::vector<box_xyxy>{at(10.0f + f, 10, 50, 50)}, std::vector<float>{scores[f - 1]}).empty());
  ASSERT_EQ(sparse.active().size(), 1u);
  EXPECT_EQ(sparse.active()[0].hits, 5);
  EXPECT_EQ(sparse.active()[0].streak, 1);
  sparse.finish();
  EXPECT_TRUE(sparse.take_finished().empty());

  vb::boxes::iou_tracker dense({.min_hits = 2});
  for (int f = 1; f <= 5; ++f)
    dense.update(f, std::vector<box_xyxy>{at(10.0f + f, 10, 50, 50)}, std::vector<float>{scores[f - 1]});
  dense.finish();
  const std::vector<vb::boxes::track> t = dense.take_finished();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].history.size(), 5u);
  EXPECT_EQ(t[0].history[0].frame, 1);
  const std::vector<vb::boxes::track_observation> best = vb::boxes::best_observations(t[0], 3);
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0].frame, 2);  // 0.9, earlier of the two
  EXPECT_EQ(best[1].frame, 4);  // 0.9
  EXPECT_EQ(best[2].frame, 3);  // 0.5
  EXPECT_EQ(vb::boxes::best_observations(t[0], 10).size(), 5u);
  EXPECT_TRUE(vb::boxes::best_observations(t[0], 0).empty());
  // By another score: the largest x (the last frame).
  EXPECT_EQ(vb::boxes::best_observations(t[0], 1, [](const vb::boxes::track_observation& o) { return o.box.x1; })[0].frame, 5);
}

TEST(Tracker, TentativeTracksAreDroppedNotFinished) {
  vb::boxes::iou_tracker tracker({.min_hits = 3, .max_age = 0});
  tracker.update(1, std::vector<box_xyxy>{at(0, 0, 10, 10)});
  tracker.update(2, std::vector<box_xyxy>{});
  tracker.update(3, std::vector<box_xyxy>{});
  EXPECT_TRUE(tracker.active().empty());
  EXPECT_TRUE(tracker.take_finished().empty());
  EXPECT_EQ(tracker.confirmed_tracks(), 0);
}

TEST(Tracker, ChecksNameTheProblem) {
  EXPECT_TRUE(throws_error([] { vb::boxes::iou_tracker t({.iou_threshold = 0}); }, vb::errc::invalid_argument, {"iou_threshold 0"}));
  EXPECT_TRUE(throws_error([] { vb::boxes::iou_tracker t({.min_hits = -1}); }, vb::errc::invalid_argument, {"min_hits -1"}));
  EXPECT_TRUE(throws_error([] { vb::boxes::iou_tracker t({.max_age = -2}); }, vb::errc::invalid_argument, {"max_age -2"}));
  EXPECT_TRUE(
      throws_error([] { vb::boxes::iou_tracker t({.velocity_smoothing = 0}); }, vb::errc::invalid_argument, {"velocity_smoothing"}));
  vb::boxes::iou_tracker t;
  t.update(5, std::vector<box_xyxy>{});
  EXPECT_TRUE(throws_error([&] { t.update(5, std::vector<box_xyxy>{}); }, vb::errc::invalid_argument, {"frame 5 after frame 5"}));
  const std::vector<box_xyxy> boxes{at(0, 0, 1, 1)};
  EXPECT_TRUE(throws_error(
      [&] {
        t.update(6, boxes, std::vector<float>{1, 2});
      },
      vb::errc::invalid_argument, {"2 scores for 1 boxes"}));
  EXPECT_TRUE(throws_error(
      [&] {
        t.update(6, std::vector<box_xyxy>{{0, 0, INFINITY, 1}});
      },
      vb::errc::invalid_argument, {"box 0"}));
  EXPECT_TRUE(throws_error([&] { t.update(6, boxes, std::vector<float>{NAN}); }, vb::errc::invalid_argument, {"score 0 is NaN"}));
}

}  // namespace
