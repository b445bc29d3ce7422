// The Kalman filter and the `sort` preset against SORT itself: sort.py's outputs on the 11 MOT15
// sequences (tests/data/mot15_sort, made by its README's command) must be reproduced box for box
// and id for id, and the filter's state must follow SORT's equations on a hand-checked case.

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;

const fs::path mot15 = fs::path(VBATCH_SHARED_DATA_DIR) / "mot15";
const fs::path sort_outputs = fs::path(VBATCH_TEST_DATA_DIR) / "mot15_sort";

struct frame_boxes {
  std::vector<vb::boxes::box_xyxy> boxes;
  std::vector<float> scores;
};

std::map<int, frame_boxes> by_frame(const std::vector<vb::boxes::mot_record>& records) {
  std::map<int, frame_boxes> frames;
  for (const vb::boxes::mot_record& r : records) {
    frames[r.frame].boxes.push_back(vb::boxes::to_xyxy(r.box));
    frames[r.frame].scores.push_back(r.score);
  }
  return frames;
}

// frame -> id -> box (x, y, w, h)
using track_output = std::map<int, std::map<int, vb::boxes::box_xywh>>;

// Runs `options` over a det.txt the way sort.py's script does: one update per frame from 1 to the
// last frame with a detection, frames without detections included.
track_output run(const fs::path& det, const vb::boxes::tracker_options& options) {
  const std::map<int, frame_boxes> frames = by_frame(vb::boxes::read_mot_file(det));
  vb::boxes::iou_tracker tracker(options);
  track_output out;
  const frame_boxes none;
  for (int f = 1; f <= frames.rbegin()->first; ++f) {
    const auto it = frames.find(f);
    const frame_boxes& d = it == frames.end() ? none : it->second;
    for (const vb::boxes::tracked_box& t : tracker.update(f, d.boxes, d.scores)) out[f][t.id] = vb::boxes::to_xywh(t.box);
  }
  return out;
}

track_output read_output(const fs::path& path) {
  track_output out;
  for (const vb::boxes::mot_record& r : vb::boxes::read_mot_file(path)) out[r.frame][r.id] = r.box;
  return out;
}

struct agreement {
  int reference = 0, ours = 0, same = 0;  // boxes in SORT's output, in ours, and in both with the same id and box
  double rate() const { return double(same) / std::max({reference, ours, 1}); }
};

// A box agrees when the same id has it in the same frame, each of x, y, w, h within 0.01 of
// SORT's (which prints two decimals).
agreement compare(const track_output& reference, const track_output& ours) {
  agreement a;
  for (const auto& [frame, boxes] : reference) a.reference += static_cast<int>(boxes.size());
  for (const auto& [frame, boxes] : ours) {
    a.ours += static_cast<int>(boxes.size());
    const auto r = reference.find(frame);
    if (r == reference.end()) continue;
    for (const auto& [id, b] : boxes) {
      const auto s = r->second.find(id);
      if (s == r->second.end()) continue;
      const vb::boxes::box_xywh& t = s->second;
      const double tolerance = 0.01 + 1e-4;
      if (std::fabs(b.x - t.x) <= tolerance && std::fabs(b.y - t.y) <= tolerance && std::fabs(b.w - t.w) <= tolerance &&
          std::fabs(b.h - t.h) <= tolerance)
        ++a.same;
    }
  }
  return a;
}

TEST(SortPreset, AgreesWithSortOnMot15) {
  if (!fs::is_directory(mot15)) GTEST_SKIP() << "no MOT15 data at " << mot15;
  agreement all;
  int sequences = 0;
  for (const auto& entry : fs::directory_iterator(mot15)) {
    const fs::path det = entry.path() / "det.txt", reference = sort_outputs / (entry.path().filename().string() + ".txt");
    if (!fs::exists(det)) continue;
    SCOPED_TRACE(det.string());
    ASSERT_TRUE(fs::exists(reference)) << reference;
    const agreement a = compare(read_output(reference), run(det, vb::boxes::sort_preset()));
    EXPECT_GE(a.rate(), 0.99) << a.same << " of " << a.reference << " SORT boxes (" << a.ours << " ours)";
    all.reference += a.reference, all.ours += a.ours, all.same += a.same;
    ++sequences;
  }
  EXPECT_EQ(sequences, 11);
  EXPECT_EQ(all.reference, 28203);  // the committed outputs, whole
  EXPECT_GE(all.rate(), 0.999) << all.same << " of " << all.reference << " SORT boxes (" << all.ours << " ours)";
  vbatch_test::record("sort_agreement", all.rate());
}

// The comparison can fail: vbatch's own lifecycle (sticky confirmation, detection boxes) with the
// same filter agrees far less.
TEST(SortPreset, ComparisonTellsOtherTrackersApart) {
  if (!fs::is_directory(mot15)) GTEST_SKIP() << "no MOT15 data";
  const fs::path det = mot15 / "TUD-Stadtmitte" / "det.txt";
  const track_output reference = read_output(sort_outputs / "TUD-Stadtmitte.txt");
  EXPECT_GE(compare(reference, run(det, vb::boxes::sort_preset())).rate(), 0.99);
  EXPECT_LT(compare(reference, run(det, vb::boxes::tracker_preset("kalman"))).rate(), 0.5);
  vb::boxes::tracker_options loose = vb::boxes::sort_preset();
  loose.kalman.measurement_shape = 1;  // other noise settings move the boxes
  EXPECT_LT(compare(reference, run(det, loose)).rate(), 0.9);
}

// One step of the filter worked out by hand from SORT's matrices: a 10×20 box at (0, 0) (cx 5,
// cy 10, s 200, r 0.5), predicted once (P = P0 + Q on positions plus the velocity variance), then
// updated with the same box moved 2 px right.
TEST(KalmanBoxFilter, FollowsSortsEquations) {
  const vb::boxes::kalman_noise n;
  vb::boxes::kalman_box_filter f({0, 0, 10, 20}, n);
  EXPECT_EQ(f.state(), (std::array<double, 7>{5, 10, 200, 0.5, 0, 0, 0}));
  f.predict(n);
  EXPECT_EQ(f.state(), (std::array<double, 7>{5, 10, 200, 0.5, 0, 0, 0}));  // no velocity yet
  f.update({2, 0, 12, 20}, n);
  // P(cx) after predict: 10 + 1e4 + 1 = 10011, cov 1e4; gain k0 = 10011/10012, k1 = 1e4/10012.
  const std::array<double, 7> x = f.state();
  EXPECT_NEAR(x[0], 5 + 2 * 10011.0 / 10012.0, 1e-12);
  EXPECT_NEAR(x[4], 2 * 1e4 / 10012.0, 1e-12);
  EXPECT_NEAR(x[1], 10, 1e-12);
  EXPECT_NEAR(x[3], 0.5, 1e-12);
  const vb::boxes::box_xyxy_d b = f.box();
  EXPECT_NEAR(b.x2 - b.x1, 10, 1e-9);
  EXPECT_NEAR(b.y2 - b.y1, 20, 1e-9);
  // An area shrinking to nothing: the velocity is zeroed rather than the area made negative.
  vb::boxes::kalman_box_filter g({0, 0, 10, 10}, n);
  g.predict(n);
  g.update({0, 0, 1, 1}, n);
  for (int k = 0; k < 20; ++k) g.predict(n);
  EXPECT_GE(g.state()[2], 0);
}

TEST(KalmanBoxFilter, BadNoiseNamesTheParameter) {
  vb::boxes::tracker_options o = vb::boxes::sort_preset();
  o.kalman.process_velocity = -1;
  EXPECT_TRUE(vbatch_test::throws_error([&] { vb::boxes::iou_tracker t(o); }, vb::errc::invalid_argument, {"process_velocity"}));
  o = vb::boxes::sort_preset();
  o.motion = vb::boxes::motion_model::none;
  EXPECT_TRUE(vbatch_test::throws_error([&] { vb::boxes::iou_tracker t(o); }, vb::errc::invalid_argument, {"lifecycle"}));
  EXPECT_TRUE(vbatch_test::throws_error([] { vb::boxes::tracker_preset("deepsort"); }, vb::errc::invalid_argument,
                                        {"'deepsort'", "sort, byte"}));
}

}  // namespace
