// Compile-and-link check of the boxes kernels for the CUDA executor (built by nvcc for every
// architecture in VBATCH_CUDA_ARCHITECTURES): the pairwise IoU and GIoU kernels over device
// views, and NMS with its suppression-bitmask and scan kernels on the device (ranking on the
// host), with the per-thread workspace and a caller's. Nothing runs: this machine has no GPU, and without one the program exits
// at once.

#include <vector>

#include "vbatch/boxes/cuda/nms.hpp"
#include "vbatch/boxes/pairwise.hpp"
#include "vbatch/core/cuda/executor.hpp"
#include "vbatch/core/cuda/memory.hpp"

namespace {

using namespace vbatch;
using namespace vbatch::boxes;

void pairwise_on_device(cudaStream_t stream) {
  const std::vector<box_xyxy> host_a(3 * 16, box_xyxy{0, 0, 10, 10}), host_b(3 * 40, box_xyxy{5, 5, 15, 15});
  const auto a = buffer<box_xyxy, device_memory>::from_host(host_a);
  const auto b = buffer<box_xyxy, device_memory>::from_host(host_b);
  batch_buffer<float, device_memory> out({3, 16, 40, 1});                  // (B,N,M,1)
  const auto va = box_batch_view<const box_xyxy>::dense(a.data(), 3, 16);  // (B,N)
  const auto vb = box_batch_view<const box_xyxy>::dense(b.data(), 3, 40);  // (B,M)
  pairwise_iou(vbatch::cuda{stream}, va, vb, out.view());
  pairwise_giou(vbatch::cuda{stream}, va, vb, out.view());
}

void nms_on_device(cudaStream_t stream) {
  const std::vector<box_xyxy> boxes(200, box_xyxy{0, 0, 10, 10});
  const std::vector<float> scores(200, 0.5f);
  const std::vector<int> classes(200, 1);
  const std::vector<int> offsets = uniform_offsets(4, 50);
  const nms_batch_result agnostic = nms_batched(vbatch::cuda{stream}, boxes, scores, {}, offsets, {.iou_threshold = 0.5f});
  const nms_batch_result aware = nms_batched(vbatch::cuda{stream}, boxes, scores, classes, offsets, {.max_detections = 10});
  nms_workspace workspace;
  const nms_batch_result reused = nms_batched(vbatch::cuda{stream}, workspace, boxes, scores, classes, offsets);
  release_nms_workspace();
  (void)agnostic, (void)aware, (void)reused;
}

}  // namespace

int main() {
  cudaStream_t stream = nullptr;
  if (cudaStreamCreate(&stream) != cudaSuccess) return 0;  // no GPU here: linking was the test
  pairwise_on_device(stream);
  nms_on_device(stream);
  return cudaStreamSynchronize(stream) == cudaSuccess ? 0 : 1;
}
