// Compile-and-link check of the CUDA backend (built by nvcc for every architecture in
// VBATCH_CUDA_ARCHITECTURES). It instantiates every vbatch kernel for the device: remap for each
// element type × interpolation × map policy (with the border each source uses, plus clamp and
// constant), and the buffers and copies around it. Nothing runs: this machine has no GPU.

#include <cuda/std/mdspan>

#include "vbatch/batch/policy.hpp"
#include "vbatch/core/cuda/executor.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/core/mdspan.hpp"
#include "vbatch/sample/cube.hpp"

namespace {

using namespace vbatch;
using namespace vbatch::sample;

template <class T, class Policy, class Interp>
void e2p_on_device(cudaStream_t stream) {
  const rig cameras = ring_rig(8, 0, 64, 32, 90);
  const auto map = make_e2p_map<Policy, device_memory>(cameras, 256, 128);
  batch_buffer<T, device_memory> frames({2, 128, 256, 3}), views({16, 32, 64, 3});
  remap(vbatch::cuda{stream}, frames.view(), map, views.view(), Interp{}, border::wrap_equirect{});
}

template <class T, class Policy, class Interp>
void c2e_on_device(cudaStream_t stream) {
  const c2e_map<Policy, device_memory> map(256, 128, cube_source::from(64));
  batch_buffer<T, device_memory> faces({12, 64, 64, 4}), panoramas({2, 128, 256, 4});
  c2e(vbatch::cuda{stream}, faces.view(), map, panoramas.view(), Interp{});
}

template <class T, class Policy>
void all_interpolations(cudaStream_t stream) {
  e2p_on_device<T, Policy, interp::nearest>(stream);
  e2p_on_device<T, Policy, interp::bilinear>(stream);
  e2p_on_device<T, Policy, interp::bilinear_exact>(stream);
  e2p_on_device<T, Policy, interp::bicubic>(stream);
  c2e_on_device<T, Policy, interp::bilinear>(stream);
}

template <class T>
void all_policies(cudaStream_t stream) {
  all_interpolations<T, maps::on_the_fly>(stream);
  all_interpolations<T, maps::cached_float>(stream);
  all_interpolations<T, maps::cached_fixed>(stream);
}

}  // namespace

int main() {
  cudaStream_t stream = nullptr;
  if (cudaStreamCreate(&stream) != cudaSuccess) return 0;  // no GPU here: linking was the test
  all_policies<u8>(stream);
  all_policies<f32>(stream);
  const auto map = make_e2p_map<maps::cached_fixed, device_memory>(ring_rig(4, 0, 64, 32, 90), 256, 128);
  batch_buffer<u8, pinned_memory> host({1, 128, 256, 1});
  batch_buffer<u8, device_memory> device({1, 128, 256, 1}), views({4, 32, 64, 1});
  copy(vbatch::cuda{stream}, host.view(), device.view());
  remap(vbatch::cuda{stream}, device.view(), map, views.view(), interp::bilinear{}, border::clamp{});
  remap(vbatch::cuda{stream}, device.view(), map, views.view(), interp::bilinear{}, border::constant{0});
  batch::memory_budget on_device(0.5, 1 << 20, 1, 64, 0, device_free_memory);  // sizes batches from cudaMemGetInfo
  (void)on_device.next(128);
  return cudaStreamSynchronize(stream) == cudaSuccess ? 0 : 1;
}
