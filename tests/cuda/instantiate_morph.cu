// Compile-and-link check of morphology on the CUDA backend (built by nvcc for every architecture
// in VBATCH_CUDA_ARCHITECTURES). It instantiates every morph kernel for the device: each
// operation (erode, dilate, open, close, gradient, tophat, blackhat) for u8 and f32 with the
// per-pixel algorithms the GPU runs (automatic, direct, separable, segment_levels: direct_kernel,
// row_pass_kernel, column_pass_kernel, row_level_kernel, segment_levels_kernel, difference_kernel,
// copy_kernel), and the mask helpers (union, intersection,
// threshold, invert). Nothing runs: this machine has no GPU.

#include "vbatch/core/cuda/executor.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/morph/cuda/morphology.hpp"
#include "vbatch/morph/mask.hpp"

namespace {

using namespace vbatch;

template <class T>
void every_operation(cudaStream_t stream) {
  const vbatch::cuda exec{stream};
  batch_buffer<T, device_memory> images({4, 64, 96, 3}), out({4, 64, 96, 3});  // (N,H,W,C)
  const morph::structuring_element shapes[] = {morph::square(15), morph::disk(7), morph::cross(5, 5), morph::ellipse(8, 6)};
  const morph::operation operations[] = {morph::operation::erode,   morph::operation::dilate,   morph::operation::open,
                                         morph::operation::close,   morph::operation::gradient, morph::operation::tophat,
                                         morph::operation::blackhat};
  for (const auto& e : shapes)
    for (auto op : operations) {
      morph::morphology(exec, op, images.view(), out.view(), e);
      morph::morphology(exec, op, images.view(), out.view(), e, {2, morph::algorithm::direct});
      morph::morphology(exec, op, images.view(), out.view(), e, {2, morph::algorithm::segment_levels});
      if (e.is_rect()) morph::morphology(exec, op, images.view(), out.view(), e, {3, morph::algorithm::separable});
    }
  morph::dilate(exec, images.view(), images.view(), morph::square(3));  // in place
  morph::erode(exec, images.view(), out.view(), morph::disk(2));
  morph::open(exec, images.view(), out.view(), morph::rect(4, 2));
  morph::close(exec, images.view(), out.view(), morph::rect(4, 2));
  morph::gradient(exec, images.view(), out.view(), morph::cross(3, 3));
  morph::tophat(exec, images.view(), out.view(), morph::square(5));
  morph::blackhat(exec, images.view(), out.view(), morph::square(5));
}

void mask_helpers(cudaStream_t stream) {
  const vbatch::cuda exec{stream};
  batch_buffer<u8, device_memory> instances({6, 64, 96, 1}), masks({2, 64, 96, 1});
  batch_buffer<f32, device_memory> probabilities({2, 64, 96, 1});
  morph::mask_union(exec, instances.view(), masks.view());
  morph::mask_intersection(exec, instances.view(), masks.view());
  morph::threshold(exec, probabilities.view(), masks.view(), 0.5f);
  morph::threshold(exec, masks.view(), masks.view(), 127.5f, 1);
  morph::invert_mask(exec, masks.view(), masks.view());
}

}  // namespace

int main() {
  cudaStream_t stream = nullptr;
  if (cudaStreamCreate(&stream) != cudaSuccess) return 0;  // no GPU here: linking was the test
  every_operation<u8>(stream);
  every_operation<f32>(stream);
  mask_helpers(stream);
  return cudaStreamSynchronize(stream) == cudaSuccess ? 0 : 1;
}
