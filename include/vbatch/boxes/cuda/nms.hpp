#pragma once
// NMS with the suppression mask computed on the GPU (nvcc only).
//
//   vbatch::boxes::nms_batch_result r = vbatch::boxes::nms_batched(vbatch::cuda{stream}, boxes, scores, classes, offsets);
//
// Inputs and results are in host memory. The host ranks each image's boxes (filter by score,
// sort by score then index: the same order as on the CPU), uploads them in rank order, the GPU
// runs nms_mask_kernel over (images, ranks, 64-rank words), the mask comes back and the host
// scans it. So the kept boxes are those of the CPU schedules, given the same IoU bits (box.hpp
// keeps nvcc from fusing multiply-adds). The sort stays on the host: a CUB segmented radix sort
// would move it to the GPU; it is not written yet. What has been compiled, emulated or run on a
// GPU: docs/gpu-status.md.

#include <span>
#include <vector>

#include "vbatch/boxes/nms.hpp"
#include "vbatch/core/cuda/memory.hpp"

namespace vbatch::inline v0::boxes {

inline nms_batch_result nms_batched(const cuda& exec, std::span<const box_xyxy> boxes, std::span<const float> scores,
                                    std::span<const int> classes, std::span<const int> offsets, const nms_options& options = {}) {
  check(can_nms(boxes, scores, classes, offsets, options));
  const int images = static_cast<int>(offsets.size()) - 1;
  const detail::ranked_batch r = detail::rank_batch(boxes, scores, classes, offsets, options);
  const int words = detail::mask_words(r.max_count);
  std::vector<std::uint64_t> mask(static_cast<std::size_t>(images) * r.max_count * words);
  if (!mask.empty()) {
    using memory = executor_traits<cuda>::memory;
    const auto d_boxes = buffer<box_xyxy, memory>::from_host(r.boxes);
    const auto d_classes = buffer<int, memory>::from_host(r.classes);
    const auto d_offsets = buffer<int, memory>::from_host(r.offsets);
    buffer<std::uint64_t, memory> d_mask(mask.size());
    const nms_mask_kernel kernel{
        d_boxes.data(),       r.classes.empty() ? nullptr : d_classes.data(), d_offsets.data(), d_mask.data(), r.max_count, words,
        options.iou_threshold};
    for_each_index(exec, extent3{images, r.max_count, words}, kernel);
    check_cuda(cudaMemcpyAsync(mask.data(), d_mask.data(), d_mask.bytes(), cudaMemcpyDeviceToHost, exec.stream),
               "nms_batched: mask download");
    executor_traits<cuda>::synchronize(exec);  // the download lands in `mask`, which the scan reads next
  }
  std::vector<std::vector<int>> kept(static_cast<std::size_t>(images));
  for (int i = 0; i < images; ++i) detail::scan_mask(r, mask.data(), i, options.max_detections, kept[i]);
  return detail::join(kept);
}

}  // namespace vbatch::inline v0::boxes
