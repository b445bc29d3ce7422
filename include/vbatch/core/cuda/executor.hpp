#pragma once
// The CUDA executor (nvcc, or the tests' CPU emulation): for_each_index launches one thread per
// (n, y, x) on a stream.
//
//   vbatch::for_each_index(vbatch::cuda{stream}, {n, h, w}, functor);   // functor is VBATCH_HOST_DEVICE
//
// Blocks are block_x × block_y threads over (x, y) (executor_traits<cuda>: 32×8 by default); grid
// z runs over images. A device takes at most 65,535 blocks in grid y and z and 2^31 − 1 in x, so
// rows and images go in slices of at most max_grid_y and max_grid_z blocks (one launch each): any
// extent that fits in int runs, whatever the block shape. This layer only launches: the per-index
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
  // The hardware's limits on gridDim (every architecture since sm_30).
  static constexpr unsigned max_grid_x = 2147483647u, max_grid_y = 65535, max_grid_z = 65535;
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
// Indices in 64 bits: the last block of a row of 2^31 − 1 pixels reaches past INT_MAX, and an int
// there would wrap to a negative x that passes `x < w`.
template <class F>
__global__ void for_each_index_kernel(extent3 e, int first_image, int first_row, F f) {
  const long long x = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  const long long y = first_row + static_cast<long long>(blockIdx.y) * blockDim.y + threadIdx.y;
  if (x < e.w && y < e.h) f(first_image + static_cast<int>(blockIdx.z), static_cast<int>(y), static_cast<int>(x));
}
}  // namespace detail

template <class F>
void for_each_index(const cuda& exec, extent3 e, F f) {
  if (e.n <= 0 || e.h <= 0 || e.w <= 0) return;
  if (exec.block_x == 0 || exec.block_y == 0 || exec.block_x * exec.block_y > 1024)
    raise(errc::invalid_argument, "for_each_index: a block of {}x{} threads (block_x x block_y) must hold 1 to 1024 threads",
          exec.block_x, exec.block_y);
  using traits = executor_traits<cuda>;
  const dim3 block(exec.block_x, exec.block_y);
  const long long blocks_x = (static_cast<long long>(e.w) + block.x - 1) / block.x;  // <= 2^31 - 1: fits max_grid_x
  // Rows per launch: as many whole blocks as grid y takes (a multiple of block_y, so slices tile).
  const long long slice_rows = static_cast<long long>(traits::max_grid_y) * block.y;
  // 64-bit loop counters: first + max_grid_z would overflow int for extents near INT_MAX.
  for (long long first = 0; first < e.n; first += traits::max_grid_z) {
    const unsigned images = static_cast<unsigned>(std::min<long long>(traits::max_grid_z, e.n - first));
    for (long long row = 0; row < e.h; row += slice_rows) {
      const long long rows = std::min<long long>(slice_rows, e.h - row);
      const dim3 grid(static_cast<unsigned>(blocks_x), static_cast<unsigned>((rows + block.y - 1) / block.y), images);
      detail::launch(detail::for_each_index_kernel<F>, grid, block, 0, exec.stream, e, static_cast<int>(first),
                     static_cast<int>(row), f);
    }
  }
}

}  // namespace vbatch::inline v0

// executor_traits<cuda>::memory complete for whoever includes this header (memory.hpp includes
// this one, so it comes last).
#include "vbatch/core/cuda/memory.hpp"
