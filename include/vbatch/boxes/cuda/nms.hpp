#pragma once
// NMS with the suppression mask and its scan on the GPU (nvcc only).
//
//   vbatch::boxes::nms_batch_result r = vbatch::boxes::nms_batched(vbatch::cuda{stream}, boxes, scores, classes, offsets);
//   vbatch::boxes::nms_workspace ws;                                       // or one kept per stream
//   r = vbatch::boxes::nms_batched(vbatch::cuda{stream}, ws, boxes, scores, classes, offsets);
//
// Inputs and results are in host memory. The host ranks each image's boxes (filter by score,
// sort by score then index: the same order as on the CPU) and uploads them in rank order; the GPU
// runs nms_mask_kernel over (images, ranks, 64-rank words), then nms_scan_kernel, one block per
// image, keeps ranks down the mask exactly as the host scan does (detail::scan_mask); only the
// kept ranks come back (a few KB, not the N²/64-word mask), in one download and one stream
// synchronisation per call. So the kept boxes are those of the CPU schedules, given the same IoU
// bits (box.hpp keeps nvcc from fusing multiply-adds).
//
// Memory: a call takes its device buffers and the pinned buffer the result lands in from an
// nms_workspace, which grows to the largest batch it has seen and is reused, so repeated calls
// allocate nothing. The overload without one uses a workspace kept per calling thread
// (release_nms_workspace() frees it); pass your own when a thread uses several devices or calls
// from several streams at once. The sort stays on the host: a CUB segmented radix sort would move
// it to the GPU; it is not written yet. What has been compiled, emulated or run on a GPU:
// docs/gpu-status.md.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "vbatch/boxes/nms.hpp"
#include "vbatch/core/cuda/memory.hpp"

namespace vbatch::inline v0::boxes {

// Device and pinned memory for nms_batched on vbatch::cuda, kept between calls. One call at a time
// per workspace: a call returns only when the GPU is done with it.
class nms_workspace {
 public:
  // Frees everything (the next call allocates again).
  void release() { *this = nms_workspace{}; }
  // Bytes held now (device and pinned).
  std::size_t bytes() const {
    return boxes_.bytes() + classes_.bytes() + offsets_.bytes() + mask_.bytes() + removed_.bytes() + kept_.bytes() +
           kept_host_.bytes();
  }

 private:
  // Grows `b` to at least n elements (by half again, so a slowly growing batch reallocates rarely).
  template <class T, class Memory>
  static T* reserve(buffer<T, Memory>& b, std::size_t n) {
    if (b.size() < n) b = buffer<T, Memory>(std::max(n, b.size() + b.size() / 2));
    return b.data();
  }

  buffer<box_xyxy, device_memory> boxes_;
  buffer<int, device_memory> classes_, offsets_, kept_;
  buffer<std::uint64_t, device_memory> mask_, removed_;
  buffer<int, pinned_memory> kept_host_;

  friend nms_batch_result nms_batched(const cuda&, nms_workspace&, std::span<const box_xyxy>, std::span<const float>,
                                      std::span<const int>, std::span<const int>, const nms_options&);
};

namespace detail {

// The host scan (detail::scan_mask) for image blockIdx.x, by one block: rank p is kept unless its
// bit in `removed` is set; a kept rank's mask row is ORed into `removed` by the block's threads,
// word by word. Every thread reads the same word after a barrier, so all take the same branch and
// the barriers inside it are not divergent. kept is (images, 1 + max_count): the count, then the
// kept ranks in order. removed is (images, words) scratch.
// (A template, as every kernel in vbatch, so the header defines it in any number of translation units.)
template <class Word>
__global__ void nms_scan_kernel(const Word* mask, const int* offsets, int max_count, int words, int max_detections, Word* removed,
                                int* kept) {
  const int image = static_cast<int>(blockIdx.x);
  const int count = offsets[image + 1] - offsets[image];
  Word* gone = removed + static_cast<std::int64_t>(image) * words;
  int* out = kept + static_cast<std::int64_t>(image) * (1 + max_count);
  for (int w = static_cast<int>(threadIdx.x); w < words; w += static_cast<int>(blockDim.x)) gone[w] = 0;
  __syncthreads();
  int n = 0;
  for (int p = 0; p < count; ++p) {
    if ((gone[p >> 6] >> (p & 63)) & 1) continue;
    if (threadIdx.x == 0) out[1 + n] = p;
    if (++n == max_detections) break;
    __syncthreads();  // every thread has read the word of rank p before any thread changes it
    const Word* row = mask + (static_cast<std::int64_t>(image) * max_count + p) * words;
    for (int w = (p >> 6) + static_cast<int>(threadIdx.x); w < words; w += static_cast<int>(blockDim.x)) gone[w] |= row[w];
    __syncthreads();  // the next rank's word is complete
  }
  if (threadIdx.x == 0) out[0] = n;
}

inline nms_workspace& thread_nms_workspace() {
  thread_local nms_workspace workspace;
  return workspace;
}

}  // namespace detail

// Frees the calling thread's NMS workspace (the one the overload without a workspace uses).
inline void release_nms_workspace() { detail::thread_nms_workspace().release(); }

inline nms_batch_result nms_batched(const cuda& exec, nms_workspace& ws, std::span<const box_xyxy> boxes,
                                    std::span<const float> scores, std::span<const int> classes, std::span<const int> offsets,
                                    const nms_options& options = {}) {
  check(can_nms(boxes, scores, classes, offsets, options));
  const int images = static_cast<int>(offsets.size()) - 1;
  const detail::ranked_batch r = detail::rank_batch(boxes, scores, classes, offsets, options);
  nms_batch_result result;
  if (r.max_count == 0) {
    result.offsets.assign(static_cast<std::size_t>(images) + 1, 0);
    return result;
  }
  const int words = detail::mask_words(r.max_count);
  const std::size_t mask_words = static_cast<std::size_t>(images) * r.max_count * words;
  const std::size_t kept_values = static_cast<std::size_t>(images) * (1 + r.max_count);
  const auto upload = [&](auto* dst, const auto& values) {
    check_cuda(cudaMemcpyAsync(dst, values.data(), values.size() * sizeof(values[0]), cudaMemcpyHostToDevice, exec.stream),
               "nms_batched: upload");
  };
  box_xyxy* d_boxes = nms_workspace::reserve(ws.boxes_, r.boxes.size());
  int* d_classes = r.classes.empty() ? nullptr : nms_workspace::reserve(ws.classes_, r.classes.size());
  int* d_offsets = nms_workspace::reserve(ws.offsets_, r.offsets.size());
  std::uint64_t* d_mask = nms_workspace::reserve(ws.mask_, mask_words);
  std::uint64_t* d_removed = nms_workspace::reserve(ws.removed_, static_cast<std::size_t>(images) * words);
  int* d_kept = nms_workspace::reserve(ws.kept_, kept_values);
  int* h_kept = nms_workspace::reserve(ws.kept_host_, kept_values);
  upload(d_boxes, r.boxes);
  if (d_classes) upload(d_classes, r.classes);
  upload(d_offsets, r.offsets);
  for_each_index(exec, extent3{images, r.max_count, words},
                 nms_mask_kernel{d_boxes, d_classes, d_offsets, d_mask, r.max_count, words, options.iou_threshold});
  // One block per image (grid x holds up to 2^31 - 1), block_x threads over a row's words (a warp
  // by default: a row of 10,000 ranks is 157 words).
  vbatch::detail::launch(detail::nms_scan_kernel<std::uint64_t>, dim3(static_cast<unsigned>(images)), dim3(exec.block_x), 0,
                         exec.stream, d_mask, d_offsets, r.max_count, words, options.max_detections, d_removed, d_kept);
  check_cuda(cudaMemcpyAsync(h_kept, d_kept, kept_values * sizeof(int), cudaMemcpyDeviceToHost, exec.stream),
             "nms_batched: result download");
  executor_traits<cuda>::synchronize(exec);  // the download lands in h_kept, read next
  for (int i = 0; i < images; ++i) {
    const int* row = h_kept + static_cast<std::size_t>(i) * (1 + r.max_count);
    for (int k = 0; k < row[0]; ++k) result.indices.push_back(r.order[r.offsets[i] + row[1 + k]]);
    result.offsets.push_back(static_cast<int>(result.indices.size()));
  }
  return result;
}

inline nms_batch_result nms_batched(const cuda& exec, std::span<const box_xyxy> boxes, std::span<const float> scores,
                                    std::span<const int> classes, std::span<const int> offsets, const nms_options& options = {}) {
  return nms_batched(exec, detail::thread_nms_workspace(), boxes, scores, classes, offsets, options);
}

}  // namespace vbatch::inline v0::boxes
