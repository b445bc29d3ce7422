// Compile-and-link check of the staged GPU pipeline (vbatch/pipeline/cuda/staging.hpp) under
// nvcc: pinned staging slots in a ring, three streams, the e2p kernel in the compute stage.
// Nothing runs without a GPU; tests/cuda/staging_test.cpp runs the same code
// under the CPU emulation.

#include "vbatch/pipeline/cuda/staging.hpp"
#include "vbatch/sample/e2p.hpp"

int main() {
  using namespace vbatch;
using namespace vbatch::sample;
  cudaStream_t probe = nullptr;
  if (cudaStreamCreate(&probe) != cudaSuccess) return 0;  // no GPU here: linking was the test
  cudaStreamDestroy(probe);
  const rig cameras = ring_rig(8, 0, 64, 32, 90);
  const auto map = make_e2p_map<maps::cached_fixed, device_memory>(cameras, 256, 128);
  const pipeline::report r = pipeline::run_staged<u8, u8>(
      pipeline::iota(4), batch_shape{2, 128, 256, 3}, batch_shape{16, 32, 64, 3},
      [](std::size_t, batch_view<u8> pinned) { (void)pinned; },
      [&](const vbatch::cuda& exec, batch_view<const u8> frames, batch_view<u8> views, std::size_t) {
        e2p(exec, frames, map, views, interp::bilinear{});
      },
      [](std::size_t, batch_view<const u8>) {}, {.slots = 3});
  return r.ok() ? 0 : 1;
}
