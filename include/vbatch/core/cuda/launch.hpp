#pragma once
// The one place vbatch launches CUDA kernels. Under nvcc it is the <<<grid, block, shared,
// stream>>> syntax; in the tests' CPU emulation of the CUDA execution model
// (tests/cuda/emulation.hpp), where VBATCH_CUDA_EMULATION is defined, the emulator runs the kernel's
// blocks and threads on the host. Every kernel of the CUDA layer goes through launch(), so the
// same launch code is compiled by nvcc and executed by the tests.

#if !defined(VBATCH_CUDA_EMULATION)
#include <cuda_runtime.h>
#endif

#include <cstddef>
#include <utility>

#include "vbatch/core/error.hpp"

namespace vbatch::inline v0 {

// Throws vbatch::error (errc::out_of_memory for allocation failures) when a CUDA call failed.
inline void check_cuda(cudaError_t result, const char* what) {
  if (result == cudaSuccess) return;
  const errc code = result == cudaErrorMemoryAllocation ? errc::out_of_memory : errc::cuda;
  raise(code, "{}: {} ({})", what, cudaGetErrorString(result), cudaGetErrorName(result));
}

namespace detail {
template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
#if defined(VBATCH_CUDA_EMULATION)
  ::vbatch_emulation::launch(kernel, grid, block, shared_bytes, stream, std::forward<Args>(args)...);
#else
  // clang-format off
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
  // clang-format on
#endif
  check_cuda(cudaGetLastError(), "kernel launch");
}
}  // namespace detail

}  // namespace vbatch::inline v0
