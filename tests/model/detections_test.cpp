// YOLO-style decoding: hand-built outputs in both layouts, letterbox undo and clipping, the score
// threshold, objectness, and NMS equal to calling vbatch::boxes::nms on the same candidates.

#include "vbatch/model/detections.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
namespace model = vbatch::model;
namespace boxes = vbatch::boxes;
using vbatch_test::throws_error;

// An output tensor in the rows layout, (N, 1, K, A), filled by anchor rows.
struct yolo_output {
  int n = 0, anchors = 0, attributes = 0;
  std::vector<float> data;

  yolo_output(int n_, int anchors_, int attributes_)
      : n(n_), anchors(anchors_), attributes(attributes_), data(static_cast<std::size_t>(n_) * anchors_ * attributes_) {}
  float& at(int i, int k, int a) { return data[(static_cast<std::size_t>(i) * anchors + k) * attributes + a]; }
  void set(int i, int k, std::vector<float> row) {
    for (int a = 0; a < attributes; ++a) at(i, k, a) = row[a];
  }
  model::tensor_view<const float> rows() const { return {data.data(), n, 1, anchors, attributes}; }

  // The same values transposed to (N, 1, A, K), YOLOv8's layout.
  std::vector<float> channels_data() const {
    std::vector<float> t(data.size());
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < anchors; ++k)
        for (int a = 0; a < attributes; ++a)
          t[(static_cast<std::size_t>(i) * attributes + a) * anchors + k] =
              data[(static_cast<std::size_t>(i) * anchors + k) * attributes + a];
    return t;
  }
};

// Anchors in a few clusters (so NMS has work), `classes` class scores each, uniform in [0, 1).
yolo_output random_output(int n, int anchors, int classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), jitter(-12.0f, 12.0f), size(10.0f, 80.0f);
  yolo_output out(n, anchors, 4 + classes);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < anchors; ++k) {
      const float cx = 80.0f + 120.0f * static_cast<float>(k % 5), cy = 100.0f + 150.0f * static_cast<float>((k / 5) % 3);
      out.at(i, k, 0) = cx + jitter(rng), out.at(i, k, 1) = cy + jitter(rng);
      out.at(i, k, 2) = size(rng), out.at(i, k, 3) = size(rng);
      for (int c = 0; c < classes; ++c) out.at(i, k, 4 + c) = unit(rng);
    }
  return out;
}

bool same_detections(std::span<const model::detection> a, std::span<const model::detection> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t j = 0; j < a.size(); ++j)
    if (!(a[j].box == b[j].box) || a[j].score != b[j].score || a[j].class_id != b[j].class_id || a[j].anchor != b[j].anchor)
      return false;
  return true;
}

TEST(ModelDetections, RowsLayoutKeepsBestClassAboveThreshold) {
  yolo_output out(1, 3, 4 + 2);
  out.set(0, 0, {50, 40, 20, 10, 0.1f, 0.9f});    // class 1
  out.set(0, 1, {200, 200, 30, 30, 0.2f, 0.1f});  // below the threshold
  out.set(0, 2, {300, 100, 40, 20, 0.6f, 0.3f});  // class 0
  const model::detection_batch d = model::decode_yolo(vb::cpu_serial{}, out.rows(), {.score_threshold = 0.25f});
  ASSERT_EQ(d.images(), 1);
  ASSERT_EQ(d.of(0).size(), 2u);
  EXPECT_EQ(d.of(0)[0].box, (boxes::box_xyxy{40, 35, 60, 45}));
  EXPECT_EQ(d.of(0)[0].class_id, 1);
  EXPECT_EQ(d.of(0)[0].score, 0.9f);
  EXPECT_EQ(d.of(0)[0].anchor, 0);
  EXPECT_EQ(d.of(0)[1].box, (boxes::box_xyxy{280, 90, 320, 110}));
  EXPECT_EQ(d.of(0)[1].class_id, 0);
  EXPECT_EQ(d.of(0)[1].anchor, 2);
}

TEST(ModelDetections, ThresholdIsStrictAndTiesPickTheLowestClass) {
  yolo_output out(1, 2, 4 + 3);
  out.set(0, 0, {10, 10, 4, 4, 0.5f, 0.5f, 0.5f});
  out.set(0, 1, {50, 50, 4, 4, 0.7f, 0.7f, 0.2f});
  const model::detection_batch d = model::decode_yolo(vb::cpu_serial{}, out.rows(), {.score_threshold = 0.5f});
  ASSERT_EQ(d.of(0).size(), 1u);  // a score equal to the threshold is not above it
  EXPECT_EQ(d.of(0)[0].anchor, 1);
  EXPECT_EQ(d.of(0)[0].class_id, 0);
}

TEST(ModelDetections, ChannelsLayoutGivesTheSameAsRows) {
  const yolo_output out = random_output(3, 60, 4, 1);
  const std::vector<float> transposed = out.channels_data();
  const model::tensor_view<const float> channels{transposed.data(), out.n, 1, out.attributes, out.anchors};
  const model::detection_batch rows = model::decode_yolo(vb::cpu_serial{}, out.rows(), {.score_threshold = 0.5f});
  const model::detection_batch v8 =
      model::decode_yolo(vb::cpu_serial{}, channels, {.layout = model::yolo_layout::channels, .score_threshold = 0.5f});
  ASSERT_EQ(v8.images(), 3);
  EXPECT_GT(rows.items.size(), 6u);
  EXPECT_EQ(rows.offsets, v8.offsets);
  EXPECT_TRUE(same_detections(rows.items, v8.items));
}

TEST(ModelDetections, LetterboxIsUndoneAndBoxesClippedPerImage) {
  // Image 0: 1280x720 fitted into 640x640 at scale 0.5, padded 140 rows on top.
  // Image 1: 320x320 at scale 2, no padding.
  yolo_output out(2, 2, 4 + 1);
  out.set(0, 0, {20, 160, 20, 20, 0.9f});   // network (10, 150)-(30, 170)
  out.set(0, 1, {635, 145, 30, 30, 0.8f});  // reaches past the right and the top of the source
  out.set(1, 0, {100, 100, 40, 20, 0.9f});  // network (80, 90)-(120, 110)
  const model::letterbox letterboxes[] = {{.scale = 0.5f, .pad_x = 0, .pad_y = 140}, {.scale = 2.0f, .pad_x = 0, .pad_y = 0}};
  const model::source_size sources[] = {{1280, 720}, {320, 320}};
  const model::detection_batch d = model::decode_yolo(vb::cpu_serial{}, out.rows(), {}, letterboxes, sources);
  ASSERT_EQ(d.of(0).size(), 2u);
  EXPECT_EQ(d.of(0)[0].box, (boxes::box_xyxy{20, 20, 60, 60}));
  EXPECT_EQ(d.of(0)[1].box, (boxes::box_xyxy{1240, 0, 1280, 40}));  // (1240, -20)-(1300, 40) clipped
  ASSERT_EQ(d.of(1).size(), 1u);
  EXPECT_EQ(d.of(1)[0].box, (boxes::box_xyxy{40, 45, 60, 55}));

  // Without sizes nothing is clipped; one letterbox serves every image.
  const model::detection_batch unclipped = model::decode_yolo(vb::cpu_serial{}, out.rows(), {}, std::span(letterboxes, 1));
  EXPECT_EQ(unclipped.of(0)[1].box, (boxes::box_xyxy{1240, -20, 1300, 40}));
  EXPECT_EQ(unclipped.of(1)[0].box, (boxes::box_xyxy{160, -100, 240, -60}));
}

TEST(ModelDetections, ObjectnessMultipliesTheClassScores) {
  yolo_output out(1, 2, 5 + 2);
  out.set(0, 0, {10, 10, 4, 4, 0.5f, 0.2f, 0.8f});  // 0.5 * 0.8 = 0.4
  out.set(0, 1, {50, 50, 4, 4, 0.2f, 0.9f, 0.1f});  // 0.18: below
  const model::detection_batch d =
      model::decode_yolo(vb::cpu_serial{}, out.rows(), {.objectness = true, .score_threshold = 0.3f});
  ASSERT_EQ(d.of(0).size(), 1u);
  EXPECT_EQ(d.of(0)[0].class_id, 1);
  EXPECT_FLOAT_EQ(d.of(0)[0].score, 0.4f);
}

// The candidates as the decoder's contract defines them, built here without it.
struct candidates {
  std::vector<boxes::box_xyxy> boxes;
  std::vector<float> scores;
  std::vector<int> classes, anchors;
};

candidates reference_candidates(yolo_output& out, int image, float threshold) {
  candidates c;
  for (int k = 0; k < out.anchors; ++k) {
    int best = 0;
    for (int a = 1; a < out.attributes - 4; ++a)
      if (out.at(image, k, 4 + a) > out.at(image, k, 4 + best)) best = a;
    if (!(out.at(image, k, 4 + best) > threshold)) continue;
    c.boxes.push_back(
        boxes::to_xyxy(boxes::box_cxcywh{out.at(image, k, 0), out.at(image, k, 1), out.at(image, k, 2), out.at(image, k, 3)}));
    c.scores.push_back(out.at(image, k, 4 + best));
    c.classes.push_back(best);
    c.anchors.push_back(k);
  }
  return c;
}

TEST(ModelDetections, NmsEqualsBoxesNmsOnTheSameCandidates) {
  yolo_output out = random_output(2, 300, 5, 7);
  for (bool agnostic : {false, true})
    for (int max_detections : {0, 7}) {
      const model::decode_options o{
          .score_threshold = 0.3f, .iou_threshold = 0.4f, .class_agnostic = agnostic, .max_detections = max_detections};
      const model::detection_batch d = model::decode_yolo(vb::cpu_serial{}, out.rows(), o);
      for (int i = 0; i < 2; ++i) {
        const candidates c = reference_candidates(out, i, 0.3f);
        const boxes::nms_options nms{.iou_threshold = 0.4f, .max_detections = max_detections};
        const std::vector<int> kept =
            agnostic ? boxes::nms(c.boxes, c.scores, nms) : boxes::nms(c.boxes, c.scores, c.classes, nms);
        ASSERT_EQ(d.of(i).size(), kept.size()) << "agnostic " << agnostic << ", image " << i;
        EXPECT_LT(kept.size(), c.boxes.size());  // NMS removed something
        for (std::size_t j = 0; j < kept.size(); ++j) {
          EXPECT_EQ(d.of(i)[j].anchor, c.anchors[kept[j]]);
          EXPECT_EQ(d.of(i)[j].class_id, c.classes[kept[j]]);
          EXPECT_EQ(d.of(i)[j].score, c.scores[kept[j]]);
          EXPECT_EQ(d.of(i)[j].box, c.boxes[kept[j]]);
        }
      }
    }
}

TEST(ModelDetections, SerialAndParallelAgree) {
  const yolo_output out = random_output(5, 400, 3, 11);
  const model::letterbox l{.scale = 0.75f, .pad_x = 3, .pad_y = 17};
  const model::detection_batch serial = model::decode_yolo(vb::cpu_serial{}, out.rows(), {}, std::span(&l, 1));
  const model::detection_batch parallel = model::decode_yolo(vb::cpu_par{2}, out.rows(), {}, std::span(&l, 1));
  EXPECT_EQ(serial.offsets, parallel.offsets);
  EXPECT_TRUE(same_detections(serial.items, parallel.items));
  EXPECT_GT(serial.items.size(), 20u);
}

TEST(ModelDetections, EmptyOutputsGiveNoDetections) {
  const yolo_output none(2, 0, 4 + 3);
  const model::detection_batch d = model::decode_yolo(vb::cpu_serial{}, none.rows());
  EXPECT_EQ(d.images(), 2);
  EXPECT_TRUE(d.items.empty());
}

TEST(ModelDetections, BadInputsNameTheParameter) {
  const yolo_output out = random_output(2, 10, 2, 3);
  const auto decode = [&](model::tensor_view<const float> t, model::decode_options o = {},
                          std::span<const model::letterbox> l = {}) {
    return [=] { (void)model::decode_yolo(vb::cpu_serial{}, t, o, l); };
  };
  const model::tensor_view<const float> two_channels{out.data.data(), 1, 2, 10, 6};
  EXPECT_TRUE(throws_error(decode(two_channels), vb::errc::invalid_argument, {"output"}));
  const model::tensor_view<const float> four_attributes{out.data.data(), 1, 1, 15, 4};
  EXPECT_TRUE(throws_error(decode(four_attributes), vb::errc::invalid_argument, {"attributes"}));
  const model::tensor_view<const float> five_attributes{out.data.data(), 1, 1, 12, 5};  // a box and objectness, no class
  EXPECT_TRUE(
      throws_error(decode(five_attributes, {.objectness = true}), vb::errc::invalid_argument, {"attributes", "objectness"}));
  EXPECT_TRUE(throws_error(decode(out.rows(), {.iou_threshold = 1.5f}), vb::errc::invalid_argument, {"iou_threshold"}));
  EXPECT_TRUE(throws_error(decode(out.rows(), {.score_threshold = NAN}), vb::errc::invalid_argument, {"score_threshold"}));
  EXPECT_TRUE(throws_error(decode(out.rows(), {.max_detections = -1}), vb::errc::invalid_argument, {"max_detections"}));
  const model::letterbox zero_scale[] = {{.scale = 0}};
  EXPECT_TRUE(throws_error(decode(out.rows(), {}, zero_scale), vb::errc::invalid_argument, {"letterbox", "scale"}));
  const model::letterbox three[3] = {};
  EXPECT_TRUE(throws_error(decode(out.rows(), {}, three), vb::errc::invalid_argument, {"letterboxes"}));
}

}  // namespace
