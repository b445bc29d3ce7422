#pragma once
// The CUDA executor (nvcc, or the tests' CPU emulation): for_each_index launches one thread per
// (n, y, x) on a stream.
//
//   vbatch::for_each_index(vbatch::cuda{stream}, {n, h, w}, functor);   // functor is VBATCH_HOST_DEVICE
//
// Blocks are block_x × block_y threads over (x, y) (executor_traits<cuda>: 32×8 by default); grid
// z runs over images, in slices of at most max_grid_z. This layer only launches: the per-index
// body is the same code the CPU executors run. for_each_index returns once the launches are
// queued; executor_traits<cuda>::synchronize waits for them.

#include <algorithm>

#include "vbatch/core/cuda/launch.hpp"
#include "vbatch/core/executor.hpp"

namespace vbatch::inline v0 {

struct cuda;
struct device_memory;  // vbatch/core/cuda/memory.hpp, included below

template <>
struct executor_traits<cuda> {
  using memory = device_memory;
  static constexpr bool host = false;
  // 32×8: a warp wide over x for coalesced rows, 256 threads per block for occupancy.
  static constexpr unsigned block_x = 32, block_y = 8;
  static constexpr int max_grid_z = 65535;  // the hardware's limit on gridDim.z
  // The device schedules its own threads; host-side schedules see one stream of work.
  static int concurrency(const cuda&) { return 1; }
  static void synchronize(const cuda& exec);
};

struct cuda {
  cudaStream_t stream = nullptr;
  unsigned block_x = executor_traits<cuda>::block_x, block_y = executor_traits<cuda>::block_y;  // threads per block
};

inline void executor_traits<cuda>::synchronize(const cuda& exec) {
  check_cuda(cudaStreamSynchronize(exec.stream), "cudaStreamSynchronize");
}

namespace detail {
template <class F>
__global__ void for_each_index_kernel(extent3 e, int first_image, F f) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  if (x < e.w && y < e.h) f(first_image + static_cast<int>(blockIdx.z), y, x);
}
}  // namespace detail

template <class F>
void for_each_index(const cuda& exec, extent3 e, F f) {
  if (e.n <= 0 || e.h <= 0 || e.w <= 0) return;
  const dim3 block(exec.block_x, exec.block_y);
  constexpr int max_grid_z = executor_traits<cuda>::max_grid_z;
  for (int first = 0; first < e.n; first += max_grid_z) {
    const dim3 grid((e.w + block.x - 1) / block.x, (e.h + block.y - 1) / block.y, std::min(max_grid_z, e.n - first));
    detail::launch(detail::for_each_index_kernel<F>, grid, block, 0, exec.stream, e, first, f);
  }
}

}  // namespace vbatch::inline v0

// executor_traits<cuda>::memory complete for whoever includes this header (memory.hpp includes
// this one, so it comes last).
#include "vbatch/core/cuda/memory.hpp"
