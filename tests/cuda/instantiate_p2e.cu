// Compile-and-link check of p2e on the CUDA backend (built by nvcc for every architecture in
// VBATCH_CUDA_ARCHITECTURES): p2e_kernel for u8 and f32, 1, 3 and 4 channels, every
// interpolation, with the cameras in device memory and the optional coverage and weight planes.
// Nothing runs: this machine has no GPU.

#include "vbatch/core/cuda/executor.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/sample/p2e.hpp"

namespace {

using namespace vbatch;
using namespace vbatch::sample;

template <class T, class Interp>
void p2e_on_device(cudaStream_t stream, int channels) {
  const auto map = make_p2e_map<device_memory>(ring_rig(8, 0, 64, 32, 90), 256, 128);
  batch_buffer<T, device_memory> views({16, 32, 64, channels}), panoramas({2, 128, 256, channels});  // (F*K,h,w,C), (F,H,W,C)
  batch_buffer<u8, device_memory> coverage({2, 128, 256, 1});
  batch_buffer<float, device_memory> weights({2, 128, 256, 1});
  p2e(vbatch::cuda{stream}, views.view(), map, panoramas.view(), coverage.view(), Interp{},
      p2e_options{.fill = 0, .weight_sum = weights.view()});
}

template <class T>
void all_interpolations(cudaStream_t stream) {
  for (int channels : {1, 3, 4}) {
    p2e_on_device<T, interp::nearest>(stream, channels);
    p2e_on_device<T, interp::bilinear>(stream, channels);
    p2e_on_device<T, interp::bicubic>(stream, channels);
  }
}

}  // namespace

int main() {
  cudaStream_t stream = nullptr;
  if (cudaStreamCreate(&stream) != cudaSuccess) return 0;  // no GPU here: linking was the test
  all_interpolations<u8>(stream);
  all_interpolations<f32>(stream);
  return cudaStreamSynchronize(stream) == cudaSuccess ? 0 : 1;
}
