// The MOT Challenge text format (reading with line-numbered errors, writing, round trips), and the
// tracker on the real MOT15 detections (shared/data/mot15, 11 sequences, 35,147 detections) with
// invariants any correct run must satisfy: every output box is a detection of its frame, ids are
// unique per frame and numbered in order of first appearance, a track only continues across gaps
// of at most max_age frames and between boxes overlapping by the IoU threshold, and each track is
// reported exactly in the frames from its confirmation on.

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::failed_with;
using vbatch_test::throws_error;

TEST(TrackMotFormat, ReadsDetectionLines) {
  std::vector<vb::boxes::mot_record> r;
  const std::string text =
      "1,-1,1691.97,381.048,152.23,352.617,0.995616,-1,-1,-1\n"
      "\n"
      " 2 , 7 , 10 , 20 , 30 , 40 , -0.5\r\n"
      "3,-1,1e2,+5,0,0,1,extra,fields,are,ignored";
  ASSERT_TRUE(vb::boxes::parse_mot(text, "det.txt", r));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].frame, 1);
  EXPECT_EQ(r[0].id, -1);
  EXPECT_EQ(r[0].box, (vb::boxes::box_xywh{1691.97f, 381.048f, 152.23f, 352.617f}));
  EXPECT_EQ(r[0].score, 0.995616f);
  EXPECT_EQ(r[0].line, 1);
  EXPECT_EQ(r[1].frame, 2);
  EXPECT_EQ(r[1].id, 7);
  EXPECT_EQ(r[1].score, -0.5f);
  EXPECT_EQ(r[1].line, 3);
  EXPECT_EQ(r[2].box, (vb::boxes::box_xywh{100, 5, 0, 0}));
  EXPECT_EQ(r[2].line, 4);
}

TEST(TrackMotFormat, MalformedLinesNameTheLine) {
  const struct {
    const char* text;
    std::vector<std::string_view> parts;
  } cases[] = {
      {"1,-1,1,2,3,4,0.9\n2,-1,1,2,3\n", {"det.txt:2:", "5 fields, expected at least 7"}},
      {"1,-1,1,2,3,4,0.9\n1,-1,1,2,3,4,0.9\n3,-1,x,2,3,4,0.9\n", {"det.txt:3:", "field 3 (x) is 'x'"}},
      {"1.5,-1,1,2,3,4,0.9\n", {"det.txt:1:", "frame 1.5"}},
      {"-2,-1,1,2,3,4,0.9\n", {"det.txt:1:", "frame -2"}},
      {"1,0.5,1,2,3,4,0.9\n", {"det.txt:1:", "id 0.5"}},
      {"1,-1,1,2,-3,4,0.9\n", {"det.txt:1:", "negative width -3"}},
      {"1,-1,1,2,3,-4,0.9\n", {"det.txt:1:", "negative height -4"}},
      {"1,-1,1,2,3,4,nan\n", {"det.txt:1:", "field 7 (score)"}},
      {"1,-1,inf,2,3,4,1\n", {"det.txt:1:", "field 3 (x)"}},
      {"1,-1,1,2,3,4,\n", {"det.txt:1:", "field 7 (score) is ''"}},
      {"1;-1;1;2;3;4;1\n", {"det.txt:1:", "field 1 (frame)"}},
      {"1,-1,1e39,2,3,4,1\n", {"det.txt:1:", "single precision"}},
      // Found by fuzzing (tests/fuzz/regressions/mot/): a finite double score beyond float's range became -inf.
      {"1,-1,1,2,3,4,-2e61\n", {"det.txt:1:", "score -2e+61 does not fit in single precision"}},
      {"\n\n\n1,-1,1,2,3,4\n", {"det.txt:4:", "6 fields"}},
      {"1,-1,1,2,3,4,1\n2000000000,-1,1,2,3,4,1\n", {"det.txt:2:", "frame 2000000000"}},
      {"1,-1,1,2,3,4,1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", {"det.txt:2:", "'AAAA", "...'"}},
  };
  for (const auto& c : cases) {
    std::vector<vb::boxes::mot_record> r;
    const vb::status s = vb::boxes::parse_mot(c.text, "det.txt", r);
    EXPECT_TRUE(failed_with(s, vb::errc::corrupt_data)) << c.text;
    for (const std::string_view part : c.parts)
      EXPECT_NE(s.message.find(part), std::string::npos) << s.message << " lacks " << part;
  }
}

TEST(TrackMotFormat, WritesLinesThatReadBackExactly) {
  std::string text;
  const vb::boxes::box_xywh b{1691.97f, 381.048f, 152.23f, 1e-3f};
  vb::boxes::append_mot_line(text, 12, 3, b, 0.995616f);
  EXPECT_EQ(text, "12,3,1691.97,381.048,152.23,0.001,0.995616,-1,-1,-1\n");
  std::vector<vb::boxes::mot_record> r;
  ASSERT_TRUE(vb::boxes::parse_mot(text, "out", r));
  EXPECT_EQ(r[0].box, b);
  EXPECT_EQ(r[0].score, 0.995616f);
}

TEST(TrackMotFormat, FileErrors) {
  vbatch_test::temp_dir dir;
  EXPECT_TRUE(throws_error([&] { vb::boxes::read_mot_file(dir / "missing.txt"); }, vb::errc::io, {"missing.txt", "cannot open"}));
  EXPECT_TRUE(throws_error([&] { vb::boxes::read_mot_file(dir.path()); }, vb::errc::io, {"is a directory"}));
  vbatch_test::write_bytes(dir / "bad.txt", {'1', ',', '2', '\n'});
  EXPECT_TRUE(throws_error([&] { vb::boxes::read_mot_file(dir / "bad.txt"); }, vb::errc::corrupt_data, {"bad.txt:1:"}));
}

// ---- MOT15 ----------------------------------------------------------------------------------

const std::filesystem::path mot15 = std::filesystem::path(VBATCH_SHARED_DATA_DIR) / "mot15";

struct frame_detections {
  std::vector<vb::boxes::box_xyxy> boxes;
  std::vector<float> scores;
};

std::map<int, frame_detections> by_frame(const std::vector<vb::boxes::mot_record>& records) {
  std::map<int, frame_detections> frames;
  for (const vb::boxes::mot_record& r : records) {
    frames[r.frame].boxes.push_back(vb::boxes::to_xyxy(r.box));
    frames[r.frame].scores.push_back(r.score);
  }
  return frames;
}

TEST(TrackerMot15, InvariantsOnEverySequence) {
  if (!std::filesystem::is_directory(mot15)) GTEST_SKIP() << "no MOT15 data at " << mot15;
  const vb::boxes::tracker_options o{.iou_threshold = 0.3f, .min_hits = 3, .max_age = 1};
  int sequences = 0, detections = 0, outputs = 0, tracks = 0;
  for (const auto& entry : std::filesystem::directory_iterator(mot15)) {
    const std::filesystem::path det = entry.path() / "det.txt";
    if (!std::filesystem::exists(det)) continue;
    SCOPED_TRACE(det.string());
    const std::map<int, frame_detections> frames = by_frame(vb::boxes::read_mot_file(det));
    vb::boxes::iou_tracker tracker(o);
    std::map<int, std::vector<std::pair<int, vb::boxes::box_xyxy>>> reported;  // id -> (frame, box)
    int next_new_id = 1;
    for (const auto& [frame, d] : frames) {
      detections += static_cast<int>(d.boxes.size());
      std::set<int> ids, used;
      for (const vb::boxes::tracked_box& t : tracker.update(frame, d.boxes, d.scores)) {
        ASSERT_TRUE(t.detection >= 0 && t.detection < static_cast<int>(d.boxes.size()));
        ASSERT_EQ(t.box, d.boxes[t.detection]) << "frame " << frame;
        ASSERT_EQ(t.score, d.scores[t.detection]);
        ASSERT_TRUE(ids.insert(t.id).second) << "id " << t.id << " twice in frame " << frame;
        ASSERT_TRUE(used.insert(t.detection).second) << "detection used twice in frame " << frame;
        if (!reported.count(t.id)) {
          ASSERT_EQ(t.id, next_new_id++) << "ids appear in order";
        }
        auto& track = reported[t.id];
        if (!track.empty()) {
          const auto& [last_frame, last_box] = track.back();
          ASSERT_LE(frame - last_frame - 1, o.max_age) << "id " << t.id << " jumped a gap";
          ASSERT_GE(vb::boxes::iou(last_box, t.box), o.iou_threshold) << "id " << t.id << " frame " << frame;
        }
        track.push_back({frame, t.box});
        ++outputs;
      }
    }
    tracker.finish();
    // Each finished track is reported exactly in its history's frames from the end of its first
    // streak of min_hits consecutive frames.
    const std::vector<vb::boxes::track> done = tracker.take_finished();
    ASSERT_EQ(done.size(), reported.size());
    for (const vb::boxes::track& t : done) {
      std::size_t confirm = 0;
      for (std::size_t k = 0, streak = 0; k < t.history.size(); ++k) {
        streak = k > 0 && t.history[k].frame == t.history[k - 1].frame + 1 ? streak + 1 : 1;
        if (streak == static_cast<std::size_t>(o.min_hits)) {
          confirm = k;
          break;
        }
      }
      const auto& r = reported.at(t.id);
      ASSERT_EQ(r.size(), t.history.size() - confirm) << "id " << t.id;
      for (std::size_t k = 0; k < r.size(); ++k) ASSERT_EQ(r[k].first, t.history[confirm + k].frame);
    }
    tracks += static_cast<int>(reported.size());
    ++sequences;
  }
  EXPECT_EQ(sequences, 11);
  EXPECT_EQ(detections, 35147);
  vbatch_test::record("mot15_tracks", tracks);
  vbatch_test::record("mot15_track_boxes", outputs);
  // Sanity: most detections end up in tracks, and tracks are not fragments of one or two boxes.
  EXPECT_GT(outputs, detections / 2);
  EXPECT_GT(outputs / std::max(tracks, 1), 10);
}

TEST(TrackerMot15, RunsAreDeterministic) {
  if (!std::filesystem::is_directory(mot15)) GTEST_SKIP() << "no MOT15 data";
  const std::map<int, frame_detections> frames = by_frame(vb::boxes::read_mot_file(mot15 / "PETS09-S2L1" / "det.txt"));
  const auto run = [&](const vb::boxes::tracker_options& o) {
    vb::boxes::iou_tracker tracker(o);
    std::vector<int> ids;
    for (const auto& [frame, d] : frames)
      for (const vb::boxes::tracked_box& t : tracker.update(frame, d.boxes, d.scores)) ids.push_back(t.id * 100000 + t.detection);
    return ids;
  };
  for (const vb::boxes::tracker_options& o :
       {vb::boxes::tracker_options{},
        vb::boxes::tracker_options{.max_age = 3, .motion = vb::boxes::motion_model::constant_velocity},
        vb::boxes::tracker_options{.greedy = true}}) {
    const std::vector<int> first = run(o);
    EXPECT_EQ(run(o), first);
    EXPECT_GT(first.size(), 3000u);
  }
}

}  // namespace
