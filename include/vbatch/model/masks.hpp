#pragma once
// From a segmentation model's score maps to masks, components and boxes.
//
//   model::score_map_to_mask(exec, scores, masks);                       // (N,1,h,w) -> (N,H,W,1) u8 0/255
//   model::score_map_to_mask(exec, logits, masks, {.threshold = 0.0f, .scores = model::score_kind::logit});
//   model::component_labels cc = model::connected_components(masks.image(i), model::connectivity::eight);
//   for (const model::component& c : cc.components) boxes.push_back(c.box());
//   boxes::box_xyxy b = model::mask_box(masks.image(i));                 // one box around the whole mask
//
// Upsampling before thresholding. score_map_to_mask resizes the scores bilinearly to the mask's
// size (OpenCV's INTER_LINEAR / PyTorch's align_corners=False: half-pixel centres, edges
// replicated) and then keeps the pixels scoring above the threshold (strictly, as torch's gt and
// OpenCV's THRESH_BINARY). This is what Mask R-CNN (detectron2's paste_masks_in_image), YOLOv8-seg
// and SAM do: interpolating the continuous scores places the boundary between low-resolution
// pixels, where thresholding first would give a mask made of blocks of the score map's pixels.
// Probabilities take a threshold in [0, 1]; logits any finite one (0 is probability 0.5, the
// SAM and YOLOv8 convention). The kernel is VBATCH_HOST_DEVICE: any executor, the GPU's included.
//
// Components, mask boxes: host memory, u8 masks with one channel, non-zero is foreground.
// Components are labelled 1, 2, ... in raster order of their first pixel; a box covers whole
// pixels: a component on columns 3..5 gives x1 = 3, x2 = 6 (vbatch's continuous boxes and COCO's
// width = 3; torchvision's masks_to_boxes says x2 = 5).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vbatch/boxes/box.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/model/tensor.hpp"

namespace vbatch::inline v0::model {

enum class score_kind { probability, logit };

struct mask_options {
  float threshold = 0.5f;  // a probability in [0, 1], or a logit (any finite value) for score_kind::logit
  score_kind scores = score_kind::probability;
  u8 on_value = 255;  // the value of mask pixels scoring above the threshold; others are 0
};

// Bilinear resize of scores (N,h,w,1) to mask (N,H,W,1), then threshold. The arithmetic is the
// rounded IEEE operations boxes uses, in OpenCV's order (rows first, then columns), so that CPU
// and GPU give the same mask bit for bit.
struct score_to_mask_kernel {
  batch_view<const float> scores;  // (N,h,w,1)
  batch_view<u8> mask;             // (N,H,W,1)
  float threshold;
  u8 on_value;

  // Source taps of destination pixel `dst` and the second tap's weight, as OpenCV's INTER_LINEAR
  // computes them: the position (dst + 0.5) * src_size / dst_size - 0.5 rounded once to float (an
  // exact integer ratio and one division here, so no backend rounds it differently).
  VBATCH_HOST_DEVICE static void taps(int dst, int src_size, int dst_size, int& first, int& second, float& weight) {
    const std::int64_t twice_position = (2 * std::int64_t{dst} + 1) * src_size - dst_size;
    const float at = static_cast<float>(static_cast<double>(twice_position) / static_cast<double>(2 * std::int64_t{dst_size}));
    first = static_cast<int>(floorf(at));
    weight = at - static_cast<float>(first);  // exact for at >= 0 (Sterbenz); negative positions are clamped below
    if (first < 0) first = 0, weight = 0.0f;
    if (first >= src_size - 1) first = src_size - 1, weight = 0.0f;
    second = first + 1 < src_size ? first + 1 : first;
  }

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    using namespace boxes::detail;
    int x0, x1, y0, y1;
    float ax, ay;
    taps(x, scores.w, mask.w, x0, x1, ax);
    taps(y, scores.h, mask.h, y0, y1, ay);
    const auto row = [&](int sy) {
      return add_rn(mul_rn(*scores.pixel(i, sy, x0), sub_rn(1.0f, ax)), mul_rn(*scores.pixel(i, sy, x1), ax));
    };
    const float value = add_rn(mul_rn(row(y0), sub_rn(1.0f, ay)), mul_rn(row(y1), ay));
    *mask.pixel(i, y, x) = value > threshold ? on_value : u8(0);
  }
};

// A (N,1,h,w) tensor as the (N,h,w,1) view it also is.
inline batch_view<const float> as_score_view(tensor_view<const float> t) {
  return {t.data, t.n, t.h, t.w, 1, static_cast<std::ptrdiff_t>(t.h) * t.w, t.w, 1};
}

// ---- checks ---------------------------------------------------------------------------------

inline status can_score_map_to_mask(const batch_view<const float>& scores, const batch_view<u8>& mask, const mask_options& o) {
  if (auto s = can_access(scores, "score_map_to_mask: scores"); !s) return s;
  if (auto s = can_access(mask, "score_map_to_mask: mask"); !s) return s;
  if (scores.c != 1) return fail(errc::invalid_argument, "score_map_to_mask: scores have {} channels, 1 expected", scores.c);
  if (mask.c != 1) return fail(errc::invalid_argument, "score_map_to_mask: mask has {} channels, 1 expected", mask.c);
  if (scores.n != mask.n) return fail(errc::invalid_argument, "score_map_to_mask: {} score maps for {} masks", scores.n, mask.n);
  if (scores.empty() && !mask.empty())
    return fail(errc::invalid_argument, "score_map_to_mask: scores are empty ({}x{}) but the mask is {}x{} (H,W)", scores.h,
                scores.w, mask.h, mask.w);
  if (mask.empty() && !scores.empty())
    return fail(errc::invalid_argument, "score_map_to_mask: mask is empty ({}x{}) but the scores are {}x{} (H,W)", mask.h, mask.w,
                scores.h, scores.w);
  if (o.scores == score_kind::probability && !(o.threshold >= 0.0f && o.threshold <= 1.0f))
    return fail(errc::invalid_argument, "score_map_to_mask: threshold {} outside [0, 1] for probabilities", o.threshold);
  if (o.scores == score_kind::logit && !std::isfinite(o.threshold))
    return fail(errc::invalid_argument, "score_map_to_mask: threshold {} is not a finite logit", o.threshold);
  return status::success();
}

inline status can_score_map_to_mask(tensor_view<const float> scores, const batch_view<u8>& mask, const mask_options& o) {
  if (scores.c != 1)
    return fail(errc::invalid_argument, "score_map_to_mask: scores are {}x{}x{}x{} (N,C,H,W), C must be 1", scores.n, scores.c,
                scores.h, scores.w);
  return can_score_map_to_mask(as_score_view(scores), mask, o);
}

// ---- score map -> mask ----------------------------------------------------------------------

// scores (N,h,w,1) in the executor's memory, upsampled to mask (N,H,W,1) and thresholded.
template <class Exec>
void score_map_to_mask(const Exec& exec, batch_view<const float> scores, batch_view<u8> mask, const mask_options& options = {}) {
  check(can_score_map_to_mask(scores, mask, options));
  if (mask.empty()) return;
  for_each_index(exec, extent3{mask.n, mask.h, mask.w}, score_to_mask_kernel{scores, mask, options.threshold, options.on_value});
}

// scores (N,1,h,w): a segmentation head's output.
template <class Exec>
void score_map_to_mask(const Exec& exec, tensor_view<const float> scores, batch_view<u8> mask, const mask_options& options = {}) {
  check(can_score_map_to_mask(scores, mask, options));
  score_map_to_mask(exec, as_score_view(scores), mask, options);
}

// ---- connected components -------------------------------------------------------------------

enum class connectivity { four = 4, eight = 8 };

struct component {
  std::int64_t area = 0;                    // pixels
  int x = 0, y = 0, width = 0, height = 0;  // bounding box in whole pixels (OpenCV's CC_STAT_*)
  int first_x = 0, first_y = 0;             // the first pixel in raster order

  boxes::box_xyxy box() const {
    return {static_cast<float>(x), static_cast<float>(y), static_cast<float>(x + width), static_cast<float>(y + height)};
  }
};

// One mask's labels: 0 background, k for components[k - 1].
struct component_labels {
  int width = 0, height = 0;
  std::vector<int> labels;  // row-major, width × height
  std::vector<component> components;

  int count() const { return static_cast<int>(components.size()); }
  int at(int y, int x) const { return labels[static_cast<std::size_t>(y) * width + x]; }
};

inline status can_label(const batch_view<const u8>& masks, const char* what) {
  if (auto s = can_access(masks, what); !s) return s;
  if (masks.c != 1) return fail(errc::invalid_argument, "{}: mask has {} channels, 1 expected", what, masks.c);
  return status::success();
}

namespace detail {

inline int find_root(std::vector<int>& parent, int a) {
  while (parent[a] != a) a = parent[a] = parent[parent[a]];  // path halving
  return a;
}

// The smaller label stays the root: provisional labels grow in raster order, so a component's
// root is the label of its first pixel.
inline int merge(std::vector<int>& parent, int a, int b) {
  a = find_root(parent, a), b = find_root(parent, b);
  if (a < b) return parent[b] = a;
  return parent[a] = b;
}

}  // namespace detail

// Components of image 0 of `mask` (host memory): two raster passes with union-find.
inline component_labels connected_components(batch_view<const u8> mask, connectivity neighbours = connectivity::eight) {
  check(can_label(mask, "connected_components"));
  component_labels out;
  if (mask.empty()) return out;
  out.width = mask.w, out.height = mask.h;
  out.labels.assign(static_cast<std::size_t>(mask.w) * mask.h, 0);
  std::vector<int> parent{0};
  const bool diagonals = neighbours == connectivity::eight;
  for (int y = 0; y < mask.h; ++y)
    for (int x = 0; x < mask.w; ++x) {
      if (*mask.pixel(0, y, x) == 0) continue;
      int label = 0;
      const auto join = [&](int ny, int nx) {
        if (ny < 0 || nx < 0 || nx >= mask.w) return;
        const int other = out.at(ny, nx);
        if (other != 0) label = label == 0 ? detail::find_root(parent, other) : detail::merge(parent, label, other);
      };
      join(y, x - 1);
      join(y - 1, x);
      if (diagonals) join(y - 1, x - 1), join(y - 1, x + 1);
      if (label == 0) parent.push_back(label = static_cast<int>(parent.size()));
      out.labels[static_cast<std::size_t>(y) * mask.w + x] = label;
    }
  // Roots in increasing order are components in raster order of their first pixel.
  std::vector<int> final_label(parent.size(), 0);
  int count = 0;
  for (std::size_t l = 1; l < parent.size(); ++l)
    final_label[l] = parent[l] == static_cast<int>(l) ? ++count : final_label[detail::find_root(parent, static_cast<int>(l))];
  out.components.resize(static_cast<std::size_t>(count));
  std::vector<int> right(out.components.size()), bottom(out.components.size());
  for (int y = 0; y < mask.h; ++y)
    for (int x = 0; x < mask.w; ++x) {
      int& l = out.labels[static_cast<std::size_t>(y) * mask.w + x];
      if (l == 0) continue;
      l = final_label[l];
      component& c = out.components[l - 1];
      if (c.area++ == 0) c.x = c.first_x = right[l - 1] = x, c.y = c.first_y = bottom[l - 1] = y;
      c.x = std::min(c.x, x), right[l - 1] = std::max(right[l - 1], x), bottom[l - 1] = y;
    }
  for (std::size_t k = 0; k < out.components.size(); ++k)
    out.components[k].width = right[k] - out.components[k].x + 1, out.components[k].height = bottom[k] - out.components[k].y + 1;
  return out;
}

// Components of every image of `masks` (host memory), images in parallel.
template <class Exec>
requires host_executor<Exec> std::vector<component_labels> connected_components(const Exec& exec, batch_view<const u8> masks,
                                                                                connectivity neighbours = connectivity::eight) {
  check(can_label(masks, "connected_components"));
  std::vector<component_labels> out(static_cast<std::size_t>(masks.n));
  for_each_item(exec, masks.n, [&](int i) { out[i] = connected_components(masks.image(i), neighbours); });
  return out;
}

// ---- masks -> boxes -------------------------------------------------------------------------

// The box around every foreground pixel of image 0 of `mask` (host memory); {0, 0, 0, 0} (empty) when there is none.
inline boxes::box_xyxy mask_box(batch_view<const u8> mask) {
  check(can_label(mask, "mask_box"));
  int x1 = mask.w, y1 = mask.h, x2 = -1, y2 = -1;
  for (int y = 0; y < mask.h; ++y)
    for (int x = 0; x < mask.w; ++x)
      if (*mask.pixel(0, y, x) != 0) x1 = std::min(x1, x), x2 = std::max(x2, x), y1 = std::min(y1, y), y2 = y;
  if (x2 < 0) return {};
  return {static_cast<float>(x1), static_cast<float>(y1), static_cast<float>(x2 + 1), static_cast<float>(y2 + 1)};
}

// One box per image of `masks` (host memory).
template <class Exec>
requires host_executor<Exec> std::vector<boxes::box_xyxy> mask_boxes(const Exec& exec, batch_view<const u8> masks) {
  check(can_label(masks, "mask_boxes"));
  std::vector<boxes::box_xyxy> out(static_cast<std::size_t>(masks.n));
  for_each_item(exec, masks.n, [&](int i) { out[i] = mask_box(masks.image(i)); });
  return out;
}

}  // namespace vbatch::inline v0::model
