#pragma once
// Pairwise IoU (or GIoU) matrices: every box of a against every box of b, per image of a batch,
// in one launch.
//
//   a: B lists of N boxes        box_batch_view  (B,N)
//   b: B lists of M boxes        box_batch_view  (B,M)
//   out: B matrices N×M          batch_view<float> (B,N,M,1): out(i, r, c, 0) = IoU(a(i, r), b(i, c))
//
//   std::vector<float> m = vbatch::boxes::pairwise_iou(tracks, detections);            // N×M, row-major
//   vbatch::boxes::pairwise_iou(vbatch::cpu_par{2}, a, b, out);                         // batched, any executor
//
// The per-element body (pairwise_kernel) runs on every executor. On the CPU executors each output
// row instead goes through cpu::iou_row (cpu/iou_simd.hpp), which reads b as planes prepared once
// per call and is bit-identical to the per-element body. Results do not depend on the executor,
// the thread count or how the batch is split.

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "vbatch/boxes/box.hpp"
#include "vbatch/boxes/cpu/iou_simd.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"

namespace vbatch::inline v0::boxes {

// B lists of `count` boxes each; box j of list i is data[i * stride_n + j]. Usable in device code.
template <class Box>
struct box_batch_view {
  using element_type = Box;

  Box* data = nullptr;
  int n = 0, count = 0;
  std::ptrdiff_t stride_n = 0;

  static constexpr box_batch_view dense(Box* data, int n, int count) { return {data, n, count, count}; }
  // One list (n = 1) over a span.
  static constexpr box_batch_view of(std::span<Box> boxes) {
    return {boxes.data(), 1, static_cast<int>(boxes.size()), static_cast<std::ptrdiff_t>(boxes.size())};
  }

  constexpr bool empty() const { return n == 0 || count == 0; }
  VBATCH_HOST_DEVICE Box& operator()(int i, int j) const { return data[i * stride_n + j]; }
  VBATCH_HOST_DEVICE Box* list(int i) const { return data + i * stride_n; }
  constexpr box_batch_view lists(int first, int number) const { return {data + first * stride_n, number, count, stride_n}; }

  template <class U = Box>
  requires(!std::is_const_v<U>) constexpr operator box_batch_view<const U>() const { return {data, n, count, stride_n}; }
};

template <class Box>
status can_use_boxes(const box_batch_view<Box>& v, const char* what) {
  if (v.n < 0 || v.count < 0) return fail(errc::invalid_argument, "{}: negative size {}x{} (B,N)", what, v.n, v.count);
  if (!v.empty() && v.data == nullptr)
    return fail(errc::invalid_argument, "{}: null data for {}x{} boxes (B,N)", what, v.n, v.count);
  if (v.n > 1 && v.stride_n < v.count)
    return fail(errc::invalid_argument, "{}: list stride {} < {} boxes per list", what, v.stride_n, v.count);
  return status::success();
}

// Outputs above this size are written with non-temporal stores: they would not stay in the
// caches anyway, and skipping the read-for-ownership of each line halves the memory traffic
// (4000×4000: 2.2 ms instead of 4.3 ms on the project's machine; a 4 MB output is 40% slower).
inline constexpr std::int64_t stream_threshold_bytes = std::int64_t{16} << 20;

template <class Metric>
struct pairwise_kernel {
  box_batch_view<const box_xyxy> a;  // (B,N)
  box_batch_view<const box_xyxy> b;  // (B,M)
  batch_view<float> out;             // (B,N,M,1)
  // CPU executors only: b as planes x1, y1, x2, y2, area, each B*M floats, list i at i*M; and
  // whether to write with non-temporal stores (an output much larger than the caches).
  const float* planes = nullptr;
  bool stream = false;

  VBATCH_HOST_DEVICE void operator()(int i, int r, int c) const { *out.pixel(i, r, c) = Metric::of(a(i, r), b(i, c)); }

  void row(int i, int r, int width) const {
    float* o = out.pixel(i, r, 0);
    if constexpr (std::is_same_v<Metric, metric::iou>) {
      if (planes && out.stride_w == 1) {
        const std::ptrdiff_t plane = std::ptrdiff_t{b.n} * b.count, first = std::ptrdiff_t{i} * b.count;
        const cpu::box_planes p{planes + first, planes + plane + first, planes + 2 * plane + first, planes + 3 * plane + first,
                                planes + 4 * plane + first};
        return cpu::iou_row(a(i, r), p, width, o, stream);
      }
    }
    const box_xyxy p = a(i, r);
    for (int c = 0; c < width; ++c) o[c * out.stride_w] = Metric::of(p, b(i, c));
  }
};

template <class Metric = metric::iou>
status can_pairwise(const box_batch_view<const box_xyxy>& a, const box_batch_view<const box_xyxy>& b,
                    const batch_view<float>& out) {
  const char* name = std::is_same_v<Metric, metric::iou> ? "pairwise_iou" : "pairwise_giou";
  if (auto s = can_use_boxes(a, "pairwise a"); !s) return s;
  if (auto s = can_use_boxes(b, "pairwise b"); !s) return s;
  if (out.n < 0 || out.h < 0 || out.w < 0 || out.c < 0)
    return fail(errc::invalid_argument, "{}: negative output size {}x{}x{}x{} (B,N,M,1)", name, out.n, out.h, out.w, out.c);
  if (a.n != b.n) return fail(errc::invalid_argument, "{}: a has {} lists but b has {}", name, a.n, b.n);
  if (out.n != a.n || out.h != a.count || out.w != b.count || out.c != 1)
    return fail(errc::invalid_argument, "{}: output is {}x{}x{}x{} but {} lists of {} x {} boxes need {}x{}x{}x1 (B,N,M,1)", name,
                out.n, out.h, out.w, out.c, a.n, a.count, b.count, a.n, a.count, b.count);
  if (!out.empty() && out.data == nullptr) return fail(errc::invalid_argument, "{}: null output data", name);
  return status::success();
}

// The explicit layer: any executor, views in the executor's memory (device memory for cuda{}).
template <class Metric = metric::iou, class Exec>
void pairwise(const Exec& exec, box_batch_view<const box_xyxy> a, box_batch_view<const box_xyxy> b, batch_view<float> out) {
  check(can_pairwise<Metric>(a, b, out));
  pairwise_kernel<Metric> kernel{a, b, out};
  std::vector<float> planes;
  if constexpr (host_executor<Exec> && std::is_same_v<Metric, metric::iou>) {
    // b once as planes, so every row reads five contiguous streams: O(B*M) against O(B*N*M).
    const std::ptrdiff_t plane = std::ptrdiff_t{b.n} * b.count;
    if (out.stride_w == 1 && plane > 0 && a.count > 0) {
      planes.resize(5 * static_cast<std::size_t>(plane));
      for (int i = 0; i < b.n; ++i)
        for (int c = 0; c < b.count; ++c) {
          const box_xyxy& q = b(i, c);
          const std::ptrdiff_t k = std::ptrdiff_t{i} * b.count + c;
          planes[k] = q.x1, planes[plane + k] = q.y1, planes[2 * plane + k] = q.x2, planes[3 * plane + k] = q.y2;
          planes[4 * plane + k] = area(q);
        }
      kernel.planes = planes.data();
      kernel.stream = out.pixels() * std::int64_t{sizeof(float)} > stream_threshold_bytes;
    }
  }
  for_each_index(exec, extent3{out.n, out.h, out.w}, kernel);
}

template <class Exec>
void pairwise_iou(const Exec& exec, box_batch_view<const box_xyxy> a, box_batch_view<const box_xyxy> b, batch_view<float> out) {
  pairwise<metric::iou>(exec, a, b, out);
}
template <class Exec>
void pairwise_giou(const Exec& exec, box_batch_view<const box_xyxy> a, box_batch_view<const box_xyxy> b, batch_view<float> out) {
  pairwise<metric::giou>(exec, a, b, out);
}

// The easy layer: one list against another on the calling thread; N×M values, row-major.
namespace detail {
template <class Metric>
std::vector<float> pairwise_matrix(std::span<const box_xyxy> a, std::span<const box_xyxy> b) {
  std::vector<float> m(a.size() * b.size());
  const auto out = batch_view<float>::dense(m.data(), {1, static_cast<int>(a.size()), static_cast<int>(b.size()), 1});
  pairwise<Metric>(cpu_serial{}, box_batch_view<const box_xyxy>::of(a), box_batch_view<const box_xyxy>::of(b), out);
  return m;
}
}  // namespace detail
inline std::vector<float> pairwise_iou(std::span<const box_xyxy> a, std::span<const box_xyxy> b) {
  return detail::pairwise_matrix<metric::iou>(a, b);
}
inline std::vector<float> pairwise_giou(std::span<const box_xyxy> a, std::span<const box_xyxy> b) {
  return detail::pairwise_matrix<metric::giou>(a, b);
}

// One box against many: out[j] = IoU(a, b[j]).
inline void iou_one_to_many(const box_xyxy& a, std::span<const box_xyxy> b, std::span<float> out) {
  if (out.size() != b.size())
    raise(errc::invalid_argument, "iou_one_to_many: output has {} values for {} boxes", out.size(), b.size());
  for (std::size_t j = 0; j < b.size(); ++j) out[j] = iou(a, b[j]);
}
inline std::vector<float> iou_one_to_many(const box_xyxy& a, std::span<const box_xyxy> b) {
  std::vector<float> out(b.size());
  iou_one_to_many(a, b, out);
  return out;
}

}  // namespace vbatch::inline v0::boxes
