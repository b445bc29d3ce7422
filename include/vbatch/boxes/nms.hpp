#pragma once
// Greedy non-maximum suppression: class-aware or not, per image of a batch.
//
//   std::vector<int> kept = vbatch::boxes::nms(boxes, scores, {.iou_threshold = 0.5f});          // one image
//   std::vector<int> kept = vbatch::boxes::nms(boxes, scores, classes, {.max_detections = 100});  // per class
//   vbatch::boxes::nms_batch_result r = vbatch::boxes::nms_batched(vbatch::cpu_par{}, boxes, scores, classes, offsets);
//
// What is kept. Boxes with a score below min_score (and NaN scores) take no part; the rest are
// ranked by score, highest first, ties by index, lowest first (a total order, so the same boxes
// are kept on every backend and thread count; it is also cv::dnn::NMSBoxes' order, a stable sort).
// Only the best max_candidates ranks take part when it is set (OpenCV's top_k). Going down the
// ranks, a box is kept unless a kept box of higher rank (and the same class, when classes are
// given) has IoU(kept, box) > iou_threshold; at most max_detections boxes are kept. Results are
// indices into the input, in rank order.
//
// How (schedules, identical results, tests/boxes/nms_test.cpp):
// - nms_schedule::sweep (CPU, the default): boxes are sorted once by score and once into buckets
//   (class, power-of-two width) ordered by x1, with a running maximum of x2; each kept box visits
//   only the buckets whose widths can reach IoU > t (IoU > t needs t·w_a < w_b < w_a/t) and in
//   each only the boxes whose x-range can overlap its own, found by binary search. Cost: the
//   sorts plus the kept boxes' neighbourhoods, instead of OpenCV's kept × candidates IoUs.
// - nms_schedule::bitmask (any executor; the GPU's): a per-element kernel writes, for every
//   rank r, a bit per lower rank it would suppress (words of 64 ranks); a serial scan then keeps
//   rank r unless a kept rank's row has its bit. O(N²/64) memory: meant for a GPU's thousands of
//   threads. The sort and the scan stay on the host (vbatch/boxes/cuda/nms.hpp).

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <type_traits>
#include <vector>

#include "vbatch/boxes/box.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"

namespace vbatch::inline v0::boxes {

struct nms_options {
  float iou_threshold = 0.5f;                                 // suppress above this IoU, in [0, 1]
  float min_score = -std::numeric_limits<float>::infinity();  // drop boxes scoring less
  int max_candidates = 0;                                     // 0: all; else only the best ranks take part
  int max_detections = 0;                                     // 0: no limit on kept boxes
};

namespace nms_schedule {
struct sweep {};    // CPU only: size-class buckets sorted by x
struct bitmask {};  // any executor: suppression-mask kernel + serial scan
}  // namespace nms_schedule

// Kept indices of a batch: image i's at indices[offsets[i] .. offsets[i + 1]), in rank order.
struct nms_batch_result {
  std::vector<int> indices;
  std::vector<int> offsets{0};

  int images() const { return static_cast<int>(offsets.size()) - 1; }
  std::span<const int> kept(int image) const {
    return std::span<const int>(indices).subspan(offsets[image], offsets[image + 1] - offsets[image]);
  }
};

// Offsets of `images` lists of `count` boxes each: {0, count, 2 count, ...}.
inline std::vector<int> uniform_offsets(int images, int count) {
  std::vector<int> offsets(static_cast<std::size_t>(images) + 1);
  for (int i = 0; i <= images; ++i) offsets[i] = i * count;
  return offsets;
}

// ---- checks ---------------------------------------------------------------------------------

inline status can_nms(std::span<const box_xyxy> boxes, std::span<const float> scores, std::span<const int> classes,
                      std::span<const int> offsets, const nms_options& o) {
  if (!(o.iou_threshold >= 0.0f && o.iou_threshold <= 1.0f))
    return fail(errc::invalid_argument, "nms: iou_threshold {} outside [0, 1]", o.iou_threshold);
  if (std::isnan(o.min_score)) return fail(errc::invalid_argument, "nms: min_score is NaN");
  if (o.max_candidates < 0) return fail(errc::invalid_argument, "nms: max_candidates {} is negative", o.max_candidates);
  if (o.max_detections < 0) return fail(errc::invalid_argument, "nms: max_detections {} is negative", o.max_detections);
  if (boxes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max() / 2))
    return fail(errc::limit_exceeded, "nms: {} boxes is too many", boxes.size());
  if (scores.size() != boxes.size())
    return fail(errc::invalid_argument, "nms: {} scores for {} boxes", scores.size(), boxes.size());
  if (!classes.empty() && classes.size() != boxes.size())
    return fail(errc::invalid_argument, "nms: {} classes for {} boxes", classes.size(), boxes.size());
  for (std::size_t j = 0; j < boxes.size(); ++j)
    if (!is_finite(boxes[j]))
      return fail(errc::invalid_argument, "nms: box {} has a non-finite coordinate ({}, {}, {}, {})", j, boxes[j].x1, boxes[j].y1,
                  boxes[j].x2, boxes[j].y2);
  if (offsets.empty() || offsets.front() != 0 || offsets.back() != static_cast<int>(boxes.size()))
    return fail(errc::invalid_argument, "nms: offsets must run from 0 to the number of boxes ({})", boxes.size());
  for (std::size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] < offsets[i - 1])
      return fail(errc::invalid_argument, "nms: offsets decrease at image {} ({} after {})", i - 1, offsets[i], offsets[i - 1]);
  return status::success();
}

namespace detail {

// Ranks of one image: indices in [first, last) with score >= min_score, best first, ties by index.
inline void nms_ranks(std::span<const float> scores, int first, int last, const nms_options& o, std::vector<int>& order) {
  order.clear();
  for (int j = first; j < last; ++j)
    if (scores[j] >= o.min_score) order.push_back(j);  // NaN fails every comparison
  std::sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
  if (o.max_candidates > 0 && static_cast<int>(order.size()) > o.max_candidates) order.resize(o.max_candidates);
}

// Whether a box of width wb can reach IoU > t with a box of width wa: IoU <= min(wa, wb) / max(wa, wb)
// (the intersection is at most the narrower width times the lower height), with a margin for rounding.
inline bool widths_compatible(float wa, float wb_min, float wb_max, float t) {
  constexpr float margin = 1.0f - 1e-4f;
  return wb_max >= t * margin * wa && wa >= t * margin * wb_min;
}

// The sweep schedule for one image. order: ranks -> input indices. Appends kept indices to `kept`.
class nms_sweeper {
 public:
  void run(std::span<const box_xyxy> boxes, std::span<const int> classes, std::span<const int> order, float t, int max_detections,
           std::vector<int>& kept) {
    const int n = static_cast<int>(order.size());
    build(boxes, classes, order);
    suppressed_.assign(n, 0);
    int count = 0;
    for (int p = 0; p < n; ++p) {
      if (suppressed_[p]) continue;
      kept.push_back(order[p]);
      if (++count == max_detections) break;
      const int g = group_of_rank_[p];
      if (g < 0) continue;  // an empty box overlaps nothing
      const box_xyxy k = boxes[order[p]];
      const float wk = k.x2 - k.x1;
      for (int b = groups_[g].first; b < groups_[g].last; ++b) {
        const bucket& bk = buckets_[b];
        if (!widths_compatible(wk, bk.min_width, bk.max_width, t)) continue;
        // The first entry whose running max of x2 passes k.x1: nothing before it reaches k.
        int j = static_cast<int>(std::upper_bound(max_x2_.begin() + bk.first, max_x2_.begin() + bk.last, k.x1) - max_x2_.begin());
        for (; j < bk.last && x1_[j] < k.x2; ++j) {
          if (x2_[j] <= k.x1 || y2_[j] <= k.y1 || y1_[j] >= k.y2) continue;
          const int q = rank_[j];
          if (q <= p || suppressed_[q]) continue;
          if (iou(k, box_xyxy{x1_[j], y1_[j], x2_[j], y2_[j]}) > t) suppressed_[q] = 1;
        }
      }
    }
  }

 private:
  struct entry {
    int cls, exponent;
    float x1;
    int rank;
  };
  struct bucket {
    int first, last;
    float min_width, max_width;
  };
  struct group {
    int first, last;  // buckets
  };

  void build(std::span<const box_xyxy> boxes, std::span<const int> classes, std::span<const int> order) {
    const int n = static_cast<int>(order.size());
    entries_.clear();
    group_of_rank_.assign(n, -1);
    for (int p = 0; p < n; ++p) {
      const box_xyxy& b = boxes[order[p]];
      if (is_empty(b)) continue;
      // Width classes by the float exponent: widths within a factor 2 share a bucket.
      const int exponent = static_cast<int>(std::bit_cast<std::uint32_t>(b.x2 - b.x1) >> 23);
      entries_.push_back({classes.empty() ? 0 : classes[order[p]], exponent, b.x1, p});
    }
    std::sort(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) {
      if (a.cls != b.cls) return a.cls < b.cls;
      if (a.exponent != b.exponent) return a.exponent < b.exponent;
      if (a.x1 != b.x1) return a.x1 < b.x1;
      return a.rank < b.rank;
    });
    const int m = static_cast<int>(entries_.size());
    x1_.resize(m), y1_.resize(m), x2_.resize(m), y2_.resize(m), max_x2_.resize(m), rank_.resize(m);
    buckets_.clear();
    groups_.clear();
    for (int j = 0; j < m; ++j) {
      const entry& e = entries_[j];
      const box_xyxy& b = boxes[order[e.rank]];
      x1_[j] = b.x1, y1_[j] = b.y1, x2_[j] = b.x2, y2_[j] = b.y2, rank_[j] = e.rank;
      const float w = b.x2 - b.x1;
      const bool new_group = j == 0 || e.cls != entries_[j - 1].cls;
      if (new_group || e.exponent != entries_[j - 1].exponent) {
        if (new_group) groups_.push_back({static_cast<int>(buckets_.size()), static_cast<int>(buckets_.size())});
        buckets_.push_back({j, j, w, w});
        ++groups_.back().last;
        max_x2_[j] = b.x2;
      } else {
        max_x2_[j] = std::max(max_x2_[j - 1], b.x2);
      }
      bucket& bk = buckets_.back();
      bk.last = j + 1;
      bk.min_width = std::min(bk.min_width, w), bk.max_width = std::max(bk.max_width, w);
      group_of_rank_[e.rank] = static_cast<int>(groups_.size()) - 1;
    }
  }

  std::vector<entry> entries_;
  std::vector<float> x1_, y1_, x2_, y2_, max_x2_;  // entries in bucket order
  std::vector<int> rank_, group_of_rank_;
  std::vector<bucket> buckets_;
  std::vector<group> groups_;
  std::vector<unsigned char> suppressed_;  // by rank
};

}  // namespace detail

// ---- the bitmask schedule's kernel ----------------------------------------------------------

// Bit c of word w of row r (image i) says: rank r, if kept, suppresses rank 64 w + c (> r).
// Boxes and classes are in rank order, image i's at [offsets[i], offsets[i + 1]); classes may be
// null (class-agnostic). mask is (images, max_count, words) 64-bit words.
struct nms_mask_kernel {
  const box_xyxy* boxes = nullptr;
  const int* classes = nullptr;
  const int* offsets = nullptr;
  std::uint64_t* mask = nullptr;
  int max_count = 0, words = 0;
  float iou_threshold = 0.5f;

  VBATCH_HOST_DEVICE void operator()(int i, int r, int w) const {
    const int first = offsets[i], count = offsets[i + 1] - first;
    std::uint64_t bits = 0;
    if (r < count) {
      const box_xyxy a = boxes[first + r];
      const int cls = classes ? classes[first + r] : 0;
      const int begin = w * 64 > r + 1 ? w * 64 : r + 1, end = w * 64 + 64 < count ? w * 64 + 64 : count;
      for (int c = begin; c < end; ++c)
        if ((!classes || classes[first + c] == cls) && iou(a, boxes[first + c]) > iou_threshold)
          bits |= std::uint64_t{1} << (c - w * 64);
    }
    mask[(static_cast<std::int64_t>(i) * max_count + r) * words + w] = bits;
  }
};

namespace detail {

// The bitmask schedule's host side: rank every image, gather boxes (and classes) in rank order.
struct ranked_batch {
  std::vector<int> order;    // input index of each ranked box, images one after another
  std::vector<int> offsets;  // (images + 1) into order
  std::vector<box_xyxy> boxes;
  std::vector<int> classes;  // empty when class-agnostic
  int max_count = 0;
};

inline ranked_batch rank_batch(std::span<const box_xyxy> boxes, std::span<const float> scores, std::span<const int> classes,
                               std::span<const int> offsets, const nms_options& o) {
  ranked_batch r;
  r.offsets.push_back(0);
  std::vector<int> order;
  for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
    nms_ranks(scores, offsets[i], offsets[i + 1], o, order);
    r.order.insert(r.order.end(), order.begin(), order.end());
    r.offsets.push_back(static_cast<int>(r.order.size()));
    r.max_count = std::max(r.max_count, static_cast<int>(order.size()));
  }
  r.boxes.resize(r.order.size());
  for (std::size_t k = 0; k < r.order.size(); ++k) r.boxes[k] = boxes[r.order[k]];
  if (!classes.empty()) {
    r.classes.resize(r.order.size());
    for (std::size_t k = 0; k < r.order.size(); ++k) r.classes[k] = classes[r.order[k]];
  }
  return r;
}

inline int mask_words(int max_count) { return (max_count + 63) / 64; }

// Keeps rank r of image i unless a kept rank's mask row has its bit.
inline void scan_mask(const ranked_batch& r, const std::uint64_t* mask, int image, int max_detections, std::vector<int>& kept) {
  const int words = mask_words(r.max_count), first = r.offsets[image], count = r.offsets[image + 1] - first;
  std::vector<std::uint64_t> removed(static_cast<std::size_t>(words), 0);
  int n = 0;
  for (int p = 0; p < count; ++p) {
    if ((removed[p >> 6] >> (p & 63)) & 1) continue;
    kept.push_back(r.order[first + p]);
    if (++n == max_detections) break;
    const std::uint64_t* row = mask + (static_cast<std::int64_t>(image) * r.max_count + p) * words;
    for (int w = p >> 6; w < words; ++w) removed[w] |= row[w];
  }
}

inline nms_batch_result join(std::vector<std::vector<int>>& per_image) {
  nms_batch_result result;
  for (auto& k : per_image) {
    result.indices.insert(result.indices.end(), k.begin(), k.end());
    result.offsets.push_back(static_cast<int>(result.indices.size()));
  }
  return result;
}

}  // namespace detail

// ---- entry points ---------------------------------------------------------------------------

// A batch on a host executor: images in parallel (sweep) or the mask kernel over every image at
// once (bitmask). classes may be empty (class-agnostic).
template <class Exec, class Schedule = nms_schedule::sweep>
requires host_executor<Exec> nms_batch_result nms_batched(const Exec& exec, std::span<const box_xyxy> boxes,
                                                          std::span<const float> scores, std::span<const int> classes,
                                                          std::span<const int> offsets, const nms_options& options = {},
                                                          Schedule = {}) {
  check(can_nms(boxes, scores, classes, offsets, options));
  const int images = static_cast<int>(offsets.size()) - 1;
  std::vector<std::vector<int>> kept(static_cast<std::size_t>(images));
  if constexpr (std::is_same_v<Schedule, nms_schedule::sweep>) {
    for_each_item(exec, images, [&](int i) {
      std::vector<int> order;
      detail::nms_ranks(scores, offsets[i], offsets[i + 1], options, order);
      detail::nms_sweeper().run(boxes, classes, order, options.iou_threshold, options.max_detections, kept[i]);
    });
  } else {
    static_assert(std::is_same_v<Schedule, nms_schedule::bitmask>,
                  "nms_batched: schedule must be nms_schedule::sweep or bitmask");
    const detail::ranked_batch r = detail::rank_batch(boxes, scores, classes, offsets, options);
    const int words = detail::mask_words(r.max_count);
    std::vector<std::uint64_t> mask(static_cast<std::size_t>(images) * r.max_count * words);
    const nms_mask_kernel kernel{
        r.boxes.data(),       r.classes.empty() ? nullptr : r.classes.data(), r.offsets.data(), mask.data(), r.max_count, words,
        options.iou_threshold};
    for_each_index(exec, extent3{images, r.max_count, words}, kernel);
    for_each_item(exec, images, [&](int i) { detail::scan_mask(r, mask.data(), i, options.max_detections, kept[i]); });
  }
  return detail::join(kept);
}

// One image, class-aware: boxes suppress only boxes of their own class.
template <class Schedule = nms_schedule::sweep>
std::vector<int> nms(std::span<const box_xyxy> boxes, std::span<const float> scores, std::span<const int> classes,
                     const nms_options& options = {}, Schedule schedule = {}) {
  const int offsets[2] = {0, static_cast<int>(boxes.size())};
  return nms_batched(cpu_serial{}, boxes, scores, classes, offsets, options, schedule).indices;
}

// One image, class-agnostic.
template <class Schedule = nms_schedule::sweep>
std::vector<int> nms(std::span<const box_xyxy> boxes, std::span<const float> scores, const nms_options& options = {},
                     Schedule schedule = {}) {
  return nms(boxes, scores, std::span<const int>(), options, schedule);
}

}  // namespace vbatch::inline v0::boxes
