#pragma once
// Decoding YOLO-style detector outputs into boxes on the source images.
//
//   const model::detection_batch d = model::decode_yolo(vbatch::cpu_par{}, output, {.layout = model::yolo_layout::channels},
//                                                       letterboxes, sources);
//   for (const model::detection& det : d.of(i)) draw(det.box, det.class_id, det.score);
//
// The output tensor is (N, 1, K, 4 + classes) for yolo_layout::rows (YOLOv5/v7 exports, one row of
// cx, cy, w, h, class scores per anchor) or (N, 1, 4 + classes, K) for yolo_layout::channels (YOLOv8
// and later: one channel per attribute). With objectness (YOLOv5/v7) column 4 is the objectness and
// a class's score is objectness × class score.
//
// Per image: every anchor whose best class scores above score_threshold (strictly, as Ultralytics'
// conf_thres) becomes a candidate with that class (ties: the lowest class index). The candidates go
// through vbatch::boxes::nms_batched in network-input coordinates, class-aware unless
// class_agnostic, capped at max_detections; the kept boxes are then mapped back to the source image
// (x = (x_net - pad_x) / scale, undoing a letterbox) and clipped to it when its size is given.
// Detections come in NMS rank order: score descending, ties by anchor index, so the result is the
// same for any executor and thread count.

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "vbatch/boxes/box.hpp"
#include "vbatch/boxes/nms.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/model/tensor.hpp"

namespace vbatch::inline v0::model {

// How a source image was fitted into the network input: resized by `scale`, then offset by
// (pad_x, pad_y) pixels of padding. A network-input point p comes from source point (p - pad) / scale.
struct letterbox {
  float scale = 1;
  float pad_x = 0, pad_y = 0;
};

// A source image's size, to clip mapped boxes to; 0 × 0: no clipping.
struct source_size {
  int width = 0, height = 0;
};

enum class yolo_layout {
  rows,      // (N, 1, K, 4 + classes): an anchor per row
  channels,  // (N, 1, 4 + classes, K): an attribute per row (YOLOv8)
};

struct decode_options {
  yolo_layout layout = yolo_layout::rows;
  bool objectness = false;        // column 4 is an objectness score multiplying the class scores
  float score_threshold = 0.25f;  // keep anchors whose best score is above this
  float iou_threshold = 0.45f;    // NMS: suppress above this IoU, in [0, 1]
  bool class_agnostic = false;    // NMS across classes instead of per class
  int max_candidates = 0;         // 0: all; else only the best candidates enter NMS
  int max_detections = 300;       // 0: no limit
};

struct detection {
  boxes::box_xyxy box;  // in source-image pixels
  float score = 0;
  int class_id = 0;
  int anchor = 0;  // row of the output it came from (to pick YOLOv8-seg mask coefficients)
};

// Detections of a batch: image i's at items[offsets[i] .. offsets[i + 1]).
struct detection_batch {
  std::vector<detection> items;
  std::vector<int> offsets{0};

  int images() const { return static_cast<int>(offsets.size()) - 1; }
  std::span<const detection> of(int image) const {
    return std::span<const detection>(items).subspan(offsets[image], offsets[image + 1] - offsets[image]);
  }
};

// ---- checks ---------------------------------------------------------------------------------

inline status can_decode_yolo(tensor_view<const float> output, const decode_options& o, std::span<const letterbox> letterboxes,
                              std::span<const source_size> sources) {
  if (output.n < 0 || output.c < 0 || output.h < 0 || output.w < 0)
    return fail(errc::invalid_argument, "decode_yolo: output has a negative size {}x{}x{}x{}", output.n, output.c, output.h,
                output.w);
  if (output.c != 1)
    return fail(errc::invalid_argument,
                "decode_yolo: output must be (N, 1, K, 4 + classes) or (N, 1, 4 + classes, K), not {}x{}x{}x{}", output.n,
                output.c, output.h, output.w);
  const int attributes = o.layout == yolo_layout::rows ? output.w : output.h;
  const int needed = o.objectness ? 6 : 5;
  if (attributes < needed)
    return fail(errc::invalid_argument, "decode_yolo: output has {} attributes per anchor, at least {} needed (box{}, a class)",
                attributes, needed, o.objectness ? ", objectness" : "");
  if (output.elements() > 0 && output.data == nullptr) return fail(errc::invalid_argument, "decode_yolo: output has null data");
  if (std::isnan(o.score_threshold)) return fail(errc::invalid_argument, "decode_yolo: score_threshold is NaN");
  if (!(o.iou_threshold >= 0.0f && o.iou_threshold <= 1.0f))
    return fail(errc::invalid_argument, "decode_yolo: iou_threshold {} outside [0, 1]", o.iou_threshold);
  if (o.max_candidates < 0) return fail(errc::invalid_argument, "decode_yolo: max_candidates {} is negative", o.max_candidates);
  if (o.max_detections < 0) return fail(errc::invalid_argument, "decode_yolo: max_detections {} is negative", o.max_detections);
  const auto per_image_or_all = [&](std::size_t size) { return size <= 1 || size == static_cast<std::size_t>(output.n); };
  if (!per_image_or_all(letterboxes.size()))
    return fail(errc::invalid_argument, "decode_yolo: {} letterboxes for {} images (give 0, 1 or one per image)",
                letterboxes.size(), output.n);
  if (!per_image_or_all(sources.size()))
    return fail(errc::invalid_argument, "decode_yolo: {} sources for {} images (give 0, 1 or one per image)", sources.size(),
                output.n);
  for (std::size_t i = 0; i < letterboxes.size(); ++i) {
    const letterbox& l = letterboxes[i];
    if (!(l.scale > 0.0f && std::isfinite(l.scale) && std::isfinite(l.pad_x) && std::isfinite(l.pad_y)))
      return fail(errc::invalid_argument, "decode_yolo: letterbox {} has scale {} and padding ({}, {}); scale must be > 0", i,
                  l.scale, l.pad_x, l.pad_y);
  }
  for (std::size_t i = 0; i < sources.size(); ++i)
    if (sources[i].width < 0 || sources[i].height < 0)
      return fail(errc::invalid_argument, "decode_yolo: source {} has a negative size {}x{}", i, sources[i].width,
                  sources[i].height);
  return status::success();
}

namespace detail {

// One image's candidates, in anchor order.
struct yolo_candidates {
  std::vector<boxes::box_xyxy> boxes;  // network-input coordinates
  std::vector<float> scores;
  std::vector<int> classes, anchors;
};

inline void collect_candidates(tensor_view<const float> output, int image, const decode_options& o, yolo_candidates& out) {
  const bool rows = o.layout == yolo_layout::rows;
  const int anchors = rows ? output.h : output.w, attributes = rows ? output.w : output.h;
  const int first_class = o.objectness ? 5 : 4;
  const auto at = [&](int anchor, int attribute) {
    return rows ? output(image, 0, anchor, attribute) : output(image, 0, attribute, anchor);
  };
  for (int k = 0; k < anchors; ++k) {
    int best_class = 0;
    float best = -std::numeric_limits<float>::infinity();  // a NaN class score never wins
    for (int a = first_class; a < attributes; ++a)
      if (const float s = at(k, a); s > best) best = s, best_class = a - first_class;
    if (o.objectness) best *= at(k, 4);
    if (!(best > o.score_threshold)) continue;  // NaN is never above
    const boxes::box_xyxy b = boxes::to_xyxy(boxes::box_cxcywh{at(k, 0), at(k, 1), at(k, 2), at(k, 3)});
    if (!boxes::is_finite(b)) continue;  // a broken anchor must not stop the image's NMS
    out.boxes.push_back(b);
    out.scores.push_back(best);
    out.classes.push_back(best_class);
    out.anchors.push_back(k);
  }
}

inline float clip(float v, int size) { return size > 0 ? std::fmin(std::fmax(v, 0.0f), static_cast<float>(size)) : v; }

inline boxes::box_xyxy to_source(const boxes::box_xyxy& b, const letterbox& l, const source_size& s) {
  const auto x = [&](float v) { return clip((v - l.pad_x) / l.scale, s.width); };
  const auto y = [&](float v) { return clip((v - l.pad_y) / l.scale, s.height); };
  return {x(b.x1), y(b.y1), x(b.x2), y(b.y2)};
}

}  // namespace detail

// ---- the call -------------------------------------------------------------------------------

// Decodes every image of `output` (host memory). letterboxes and sources: empty (identity, no
// clipping), one for every image, or one per image.
template <class Exec>
requires host_executor<Exec> detection_batch decode_yolo(const Exec& exec, tensor_view<const float> output,
                                                         const decode_options& options = {},
                                                         std::span<const letterbox> letterboxes = {},
                                                         std::span<const source_size> sources = {}) {
  check(can_decode_yolo(output, options, letterboxes, sources));
  std::vector<detail::yolo_candidates> per_image(static_cast<std::size_t>(output.n));
  for_each_item(exec, output.n, [&](int i) { detail::collect_candidates(output, i, options, per_image[i]); });

  detail::yolo_candidates all;
  std::vector<int> offsets{0};
  for (const detail::yolo_candidates& c : per_image) {
    all.boxes.insert(all.boxes.end(), c.boxes.begin(), c.boxes.end());
    all.scores.insert(all.scores.end(), c.scores.begin(), c.scores.end());
    all.classes.insert(all.classes.end(), c.classes.begin(), c.classes.end());
    all.anchors.insert(all.anchors.end(), c.anchors.begin(), c.anchors.end());
    offsets.push_back(static_cast<int>(all.boxes.size()));
  }
  const boxes::nms_options nms{
      .iou_threshold = options.iou_threshold, .max_candidates = options.max_candidates, .max_detections = options.max_detections};
  const boxes::nms_batch_result kept =
      boxes::nms_batched(exec, all.boxes, all.scores,
                         options.class_agnostic ? std::span<const int>() : std::span<const int>(all.classes), offsets, nms);

  detection_batch result;
  result.items.reserve(kept.indices.size());
  for (int i = 0; i < kept.images(); ++i) {
    const letterbox l = letterboxes.empty() ? letterbox{} : letterboxes[letterboxes.size() == 1 ? 0 : i];
    const source_size s = sources.empty() ? source_size{} : sources[sources.size() == 1 ? 0 : i];
    for (int j : kept.kept(i))
      result.items.push_back({detail::to_source(all.boxes[j], l, s), all.scores[j], all.classes[j], all.anchors[j]});
    result.offsets.push_back(static_cast<int>(result.items.size()));
  }
  return result;
}

}  // namespace vbatch::inline v0::model
