#pragma once
// The CUDA executor (nvcc only): for_each_index launches one thread per (n, y, x) on a stream.
//
//   vbatch::for_each_index(vbatch::cuda{stream}, {n, h, w}, functor);   // functor is VBATCH_HOST_DEVICE
//
// Blocks are 32×8 threads over (x, y); grid z runs over images, in slices of at most 65535.
// This layer only launches: the per-index body is the same code the CPU executors run.

#include <cuda_runtime.h>

#include <algorithm>

#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"

namespace vbatch::inline v0 {

struct cuda {
  cudaStream_t stream = nullptr;
};

// Throws vbatch::error (errc::out_of_memory for allocation failures) when a CUDA call failed.
inline void check_cuda(cudaError_t result, const char* what) {
  if (result == cudaSuccess) return;
  const errc code = result == cudaErrorMemoryAllocation ? errc::out_of_memory : errc::cuda;
  raise(code, "{}: {} ({})", what, cudaGetErrorString(result), cudaGetErrorName(result));
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
  const dim3 block(32, 8);
  constexpr int max_grid_z = 65535;
  for (int first = 0; first < e.n; first += max_grid_z) {
    const dim3 grid((e.w + block.x - 1) / block.x, (e.h + block.y - 1) / block.y, std::min(max_grid_z, e.n - first));
    detail::for_each_index_kernel<<<grid, block, 0, exec.stream>>>(e, first, f);
    check_cuda(cudaGetLastError(), "for_each_index: kernel launch");
  }
}

}  // namespace vbatch::inline v0
