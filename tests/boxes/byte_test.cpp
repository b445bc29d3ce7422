// Two-stage association (ByteTrack) and the appearance hook, on scenes built by hand where the
// outcome follows from the rules: an object whose detection score drops while it is occluded
// keeps its id with the two-stage association, where the plain tracker loses it (confidence cut)
// or makes a track of clutter (no cut); an appearance distance stops the swap of two crossing
// objects that IoU alone makes.

#include <map>
#include <set>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;

struct detection {
  box_xyxy box;
  float score;
  int object;  // -1: clutter
};
using scene = std::vector<std::vector<detection>>;  // frame f + 1 -> detections

struct outcome {
  std::map<int, std::set<int>> ids_of;  // object -> ids reported for it
  std::set<int> ids;
  int clutter_reported = 0;
};

// Runs the tracker; detections scoring under min_score are not given to it (a detector's cut).
outcome run(const scene& s, const vb::boxes::tracker_options& o, float min_score = 0) {
  vb::boxes::iou_tracker tracker(o);
  outcome r;
  for (std::size_t f = 0; f < s.size(); ++f) {
    std::vector<box_xyxy> boxes;
    std::vector<float> scores;
    std::vector<int> objects;
    for (const detection& d : s[f])
      if (d.score >= min_score) boxes.push_back(d.box), scores.push_back(d.score), objects.push_back(d.object);
    for (const vb::boxes::tracked_box& t : tracker.update(static_cast<int>(f) + 1, boxes, scores)) {
      const int object = objects[t.detection];
      if (object < 0)
        ++r.clutter_reported;
      else
        r.ids_of[object].insert(t.id);
      r.ids.insert(t.id);
    }
  }
  return r;
}

box_xyxy at(float x, float y, float w, float h) { return {x, y, x + w, y + h}; }

// A (score 0.9) walks right at 5 px/frame from x = 0, B left from x = 200, both 40×80 boxes at
// y = 100 and 110: they overlap in frames 17-23 (|x_A - x_B| = |10 f - 200| < 40), where B is behind A and
// its detection scores 0.3. A static shadow at (400, 300) is detected at 0.3 in frames 5-14.
scene occlusion() {
  scene s(40);
  for (int f = 0; f < 40; ++f) {
    const float xa = 5.0f * f, xb = 200 - 5.0f * f;
    const bool hidden = std::abs(xa - xb) < 40;
    s[f] = {{at(xa, 100, 40, 80), 0.9f, 0}, {at(xb, 110, 40, 80), hidden ? 0.3f : 0.9f, 1}};
    if (f >= 4 && f < 14) s[f].push_back({at(400, 300, 30, 30), 0.3f, -1});
  }
  return s;
}

TEST(ByteAssociation, KeepsAnOccludedObjectsId) {
  const scene s = occlusion();
  // Two-stage: B's weak detections (0.3 >= low 0.1) keep its track through the crossing, the
  // shadow never starts a track (only high-score detections do).
  const outcome byte = run(s, vb::boxes::byte_preset());
  EXPECT_EQ(byte.ids_of.at(0).size(), 1u);
  EXPECT_EQ(byte.ids_of.at(1).size(), 1u);
  EXPECT_NE(*byte.ids_of.at(0).begin(), *byte.ids_of.at(1).begin());
  EXPECT_EQ(byte.clutter_reported, 0);
  // The same with vbatch's lifecycle and the constant-velocity model.
  vb::boxes::tracker_options vbatch_byte{.motion = vb::boxes::motion_model::constant_velocity,
                                         .association = vb::boxes::association_policy::two_stage};
  const outcome byte2 = run(s, vbatch_byte);
  EXPECT_EQ(byte2.ids_of.at(1).size(), 1u);
  EXPECT_EQ(byte2.clutter_reported, 0);

  // One stage, with a detector's usual cut at 0.5: B is unseen for 7 frames (> max_age 1), its
  // track is retired and it comes back under a new id.
  const outcome cut = run(s, vb::boxes::sort_preset(), 0.5f);
  EXPECT_EQ(cut.ids_of.at(1).size(), 2u);
  const outcome cut_iou = run(s, {.motion = vb::boxes::motion_model::constant_velocity}, 0.5f);
  EXPECT_EQ(cut_iou.ids_of.at(1).size(), 2u);
  // One stage without the cut: B survives, but the shadow becomes a track of its own.
  const outcome all = run(s, vb::boxes::sort_preset());
  EXPECT_GT(all.clutter_reported, 0);
  EXPECT_EQ(all.ids.size(), 3u);
}

// Two objects crossing without motion model (the scene of tracker_test's crossing: with IoU alone
// the optimal assignment swaps them where they coincide). The hook gives the distance of the
// objects' "embeddings": 0 for the same object, 1 for another; blended at weight 0.5 it outweighs
// any IoU difference, and nothing swaps.
TEST(ByteAssociation, AppearanceStopsASwap) {
  scene s(70);
  for (int f = 0; f < 70; ++f) s[f] = {{at(8.0f * f, 100, 60, 120), 0.9f, 0}, {at(536 - 8.0f * f, 110, 60, 120), 0.9f, 1}};
  EXPECT_EQ(run(s, {}).ids_of.at(0).size(), 2u);  // IoU alone: the ids swap

  // The caller knows each detection's object (its embedding); a track's is its last detection's.
  std::vector<int> previous, current;
  int frame = 0;
  vb::boxes::tracker_options o;
  o.appearance = [&](const vb::boxes::track& t, int d) {
    const int mine = t.last_frame == frame ? current[t.last_detection] : previous[t.last_detection];
    return mine == current[d] ? 0.0f : 1.0f;
  };
  vb::boxes::iou_tracker tracker(o);
  std::map<int, std::set<int>> ids_of;
  for (frame = 1; frame <= 70; ++frame) {
    std::vector<box_xyxy> boxes;
    current.clear();
    for (const detection& d : s[frame - 1]) boxes.push_back(d.box), current.push_back(d.object);
    for (const vb::boxes::tracked_box& t : tracker.update(frame, boxes)) ids_of[current[t.detection]].insert(t.id);
    previous = current;
  }
  EXPECT_EQ(ids_of.at(0).size(), 1u);
  EXPECT_EQ(ids_of.at(1).size(), 1u);
}

TEST(ByteAssociation, ChecksNameTheParameter) {
  vb::boxes::tracker_options o = vb::boxes::byte_preset();
  o.low_score = 0.75f, o.high_score = 0.5f;
  EXPECT_TRUE(vbatch_test::throws_error([&] { vb::boxes::iou_tracker t(o); }, vb::errc::invalid_argument, {"low_score 0.75"}));
  o = vb::boxes::byte_preset();
  o.low_iou_threshold = 0;
  EXPECT_TRUE(vbatch_test::throws_error([&] { vb::boxes::iou_tracker t(o); }, vb::errc::invalid_argument, {"low_iou_threshold"}));
  o = {};
  o.appearance_weight = 2;
  EXPECT_TRUE(
      vbatch_test::throws_error([&] { vb::boxes::iou_tracker t(o); }, vb::errc::invalid_argument, {"appearance_weight 2"}));
}

}  // namespace
