#pragma once
// Axis-aligned boxes in three formats, their conversions, and the overlap measures every other
// boxes header builds on: area, intersection, IoU and GIoU.
//
//   const vbatch::boxes::box_xyxy a = vbatch::boxes::to_xyxy(vbatch::boxes::box_xywh{10, 20, 30, 40});   // MOT/COCO -> corners
//   float overlap = vbatch::boxes::iou(a, vbatch::boxes::to_xyxy(vbatch::boxes::box_cxcywh{25, 40, 30, 40}));
//
// Coordinates are continuous (a box [0, 10) × [0, 10) is 10 wide, as in SORT, torchvision and
// OpenCV's NMS: no "+1"). A box whose x2 <= x1 or y2 <= y1 is empty: area 0, no overlap with
// anything. IoU is 0 whenever the union is 0 (two empty boxes), so IoU(a, a) = 1 only for
// boxes with positive area; OpenCV's jaccardDistance says 1 for two empty boxes.
//
// The arithmetic is written once for host and device and uses plain IEEE operations in a fixed
// order, so the CPU and the GPU compute the same bits: nvcc would otherwise fuse a * b + c into one
// fused multiply-add and an IoU at the NMS threshold could fall on the other side on one backend.

#include <concepts>

#include "vbatch/core/config.hpp"

namespace vbatch::inline v0::boxes {

// Corners: (x1, y1) top-left, (x2, y2) bottom-right. The format every kernel takes.
struct box_xyxy {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  friend constexpr bool operator==(const box_xyxy&, const box_xyxy&) = default;
};

// Top-left corner and size (MOT Challenge, COCO).
struct box_xywh {
  float x = 0, y = 0, w = 0, h = 0;
  friend constexpr bool operator==(const box_xywh&, const box_xywh&) = default;
};

// Centre and size (YOLO outputs).
struct box_cxcywh {
  float cx = 0, cy = 0, w = 0, h = 0;
  friend constexpr bool operator==(const box_cxcywh&, const box_cxcywh&) = default;
};

namespace detail {
// Rounded IEEE operations that no compiler may fuse (see the header comment).
VBATCH_HOST_DEVICE inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
VBATCH_HOST_DEVICE inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
VBATCH_HOST_DEVICE inline float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
VBATCH_HOST_DEVICE inline float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
// The forms x86 min/max instructions implement, so loops over them vectorise.
VBATCH_HOST_DEVICE inline float min_of(float a, float b) { return a < b ? a : b; }
VBATCH_HOST_DEVICE inline float max_of(float a, float b) { return a > b ? a : b; }
VBATCH_HOST_DEVICE inline float positive_part(float v) { return v > 0.0f ? v : 0.0f; }
}  // namespace detail

// ---- conversions ---------------------------------------------------------------------------

VBATCH_HOST_DEVICE constexpr box_xyxy to_xyxy(const box_xyxy& b) { return b; }
VBATCH_HOST_DEVICE constexpr box_xyxy to_xyxy(const box_xywh& b) { return {b.x, b.y, b.x + b.w, b.y + b.h}; }
VBATCH_HOST_DEVICE constexpr box_xyxy to_xyxy(const box_cxcywh& b) {
  return {b.cx - 0.5f * b.w, b.cy - 0.5f * b.h, b.cx + 0.5f * b.w, b.cy + 0.5f * b.h};
}
VBATCH_HOST_DEVICE constexpr box_xywh to_xywh(const box_xyxy& b) { return {b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1}; }
VBATCH_HOST_DEVICE constexpr box_xywh to_xywh(const box_xywh& b) { return b; }
VBATCH_HOST_DEVICE constexpr box_xywh to_xywh(const box_cxcywh& b) { return to_xywh(to_xyxy(b)); }
VBATCH_HOST_DEVICE constexpr box_cxcywh to_cxcywh(const box_xyxy& b) {
  return {0.5f * (b.x1 + b.x2), 0.5f * (b.y1 + b.y2), b.x2 - b.x1, b.y2 - b.y1};
}
VBATCH_HOST_DEVICE constexpr box_cxcywh to_cxcywh(const box_xywh& b) { return {b.x + 0.5f * b.w, b.y + 0.5f * b.h, b.w, b.h}; }
VBATCH_HOST_DEVICE constexpr box_cxcywh to_cxcywh(const box_cxcywh& b) { return b; }

template <class B>
concept box_format = requires(const B& b) {
  { to_xyxy(b) } -> std::same_as<box_xyxy>;
};

// ---- measures (on corners; other formats convert first) ------------------------------------

VBATCH_HOST_DEVICE inline float width(const box_xyxy& b) { return detail::positive_part(detail::sub_rn(b.x2, b.x1)); }
VBATCH_HOST_DEVICE inline float height(const box_xyxy& b) { return detail::positive_part(detail::sub_rn(b.y2, b.y1)); }
VBATCH_HOST_DEVICE inline float area(const box_xyxy& b) { return detail::mul_rn(width(b), height(b)); }
VBATCH_HOST_DEVICE inline bool is_empty(const box_xyxy& b) { return !(b.x2 > b.x1 && b.y2 > b.y1); }

// Area of a ∩ b.
VBATCH_HOST_DEVICE inline float intersection_area(const box_xyxy& a, const box_xyxy& b) {
  using namespace detail;
  const float w = positive_part(sub_rn(min_of(a.x2, b.x2), max_of(a.x1, b.x1)));
  const float h = positive_part(sub_rn(min_of(a.y2, b.y2), max_of(a.y1, b.y1)));
  return mul_rn(w, h);
}

namespace detail {
// |a| + |b| - |a ∩ b|. The sum is formed as max + min, the same value, so that every product in
// these formulas also feeds a comparison or a division: GCC then never fuses one into an FMA,
// even with -march=native, and the per-element body and the SIMD rows stay identical.
VBATCH_HOST_DEVICE inline float union_area(float inter, float area_a, float area_b) {
  return sub_rn(add_rn(max_of(area_a, area_b), min_of(area_a, area_b)), inter);
}
}  // namespace detail

// |a ∩ b| / |a ∪ b| from the areas. The union is never below the larger area in float either
// (rounding is monotonic), so it is 0 only when both boxes are empty, and then so is the
// intersection: dividing by 1 instead keeps the loop branch-free and gives IoU 0.
VBATCH_HOST_DEVICE inline float iou_from_areas(float inter, float area_a, float area_b) {
  using namespace detail;
  const float uni = union_area(inter, area_a, area_b);
  return div_rn(inter, uni > 0.0f ? uni : 1.0f);
}

// Intersection over union, in [0, 1]; symmetric bit for bit (iou(a, b) == iou(b, a)).
VBATCH_HOST_DEVICE inline float iou(const box_xyxy& a, const box_xyxy& b) {
  return iou_from_areas(intersection_area(a, b), area(a), area(b));
}

// Generalised IoU (Rezatofighi et al. 2019): IoU - |C \ (a ∪ b)| / |C|, C the smallest box
// enclosing both; in [-1, 1]. Equals IoU when C is empty (both boxes are the same point or line).
VBATCH_HOST_DEVICE inline float giou(const box_xyxy& a, const box_xyxy& b) {
  using namespace detail;
  const float inter = intersection_area(a, b), area_a = area(a), area_b = area(b);
  const float uni = union_area(inter, area_a, area_b);
  const float iou_ab = div_rn(inter, uni > 0.0f ? uni : 1.0f);
  const float cw = sub_rn(max_of(a.x2, b.x2), min_of(a.x1, b.x1)), ch = sub_rn(max_of(a.y2, b.y2), min_of(a.y1, b.y1));
  const float enclosing = mul_rn(positive_part(cw), positive_part(ch));
  if (!(enclosing > 0.0f)) return iou_ab;
  return sub_rn(iou_ab, div_rn(sub_rn(enclosing, uni), enclosing));
}

template <box_format A, box_format B>
VBATCH_HOST_DEVICE inline float iou(const A& a, const B& b) {
  return iou(to_xyxy(a), to_xyxy(b));
}
template <box_format A, box_format B>
VBATCH_HOST_DEVICE inline float giou(const A& a, const B& b) {
  return giou(to_xyxy(a), to_xyxy(b));
}

// Metrics as policy types, for the pairwise kernels.
namespace metric {
struct iou {
  static constexpr const char* name = "iou";
  VBATCH_HOST_DEVICE static float of(const box_xyxy& a, const box_xyxy& b) { return ::vbatch::boxes::iou(a, b); }
};
struct giou {
  static constexpr const char* name = "giou";
  VBATCH_HOST_DEVICE static float of(const box_xyxy& a, const box_xyxy& b) { return ::vbatch::boxes::giou(a, b); }
};
}  // namespace metric

// True when every coordinate is finite (not NaN, not ±inf): what the checked entry points require.
namespace detail {
VBATCH_HOST_DEVICE inline bool finite(float v) { return v - v == 0.0f; }  // NaN and ±inf give NaN
}  // namespace detail
VBATCH_HOST_DEVICE inline bool is_finite(const box_xyxy& b) {
  return detail::finite(b.x1) && detail::finite(b.y1) && detail::finite(b.x2) && detail::finite(b.y2);
}

}  // namespace vbatch::inline v0::boxes
