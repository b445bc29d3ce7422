#pragma once
// Pinned host memory and device memory for buffer / batch_buffer, and copies between views in
// any memory space (CUDA runtime; nvcc builds).
//
//   vbatch::batch_buffer<vbatch::u8, vbatch::device_memory> d_frames({8, 3840, 7680, 3});
//   vbatch::copy(vbatch::cuda{stream}, h_frames.view(), d_frames.view());   // async on `stream`

#include <cstdint>
#include <new>

#include "vbatch/core/buffer.hpp"
#include "vbatch/core/cuda/executor.hpp"

namespace vbatch::inline v0 {

namespace detail {
// Allocation failures surface as std::bad_alloc, as on the host, so one back-off policy serves both.
// The runtime also keeps the failure as its last error: clear it, or the next launch check
// (cudaGetLastError) would report this allocation as a failed launch.
inline void check_allocation(cudaError_t result, const char* what) {
  if (result == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw std::bad_alloc();
  }
  check_cuda(result, what);
}
}  // namespace detail

// Page-locked host memory: the staging area for fast asynchronous uploads and downloads.
struct pinned_memory {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    detail::check_allocation(cudaMallocHost(&p, bytes), "pinned_memory: cudaMallocHost");
    return p;
  }
  static void deallocate(void* p, std::size_t) noexcept { cudaFreeHost(p); }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) {
    check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToHost), "pinned_memory: copy");
  }
};

struct device_memory {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    detail::check_allocation(cudaMalloc(&p, bytes), "device_memory: cudaMalloc");
    return p;
  }
  static void deallocate(void* p, std::size_t) noexcept { cudaFree(p); }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) {
    check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "device_memory: upload");
  }
};

// Free device memory now, for batch::memory_budget on the GPU.
inline std::uint64_t device_free_memory() {
  std::size_t free = 0, total = 0;
  check_cuda(cudaMemGetInfo(&free, &total), "device_free_memory: cudaMemGetInfo");
  return free;
}

// Copies src into dst (same shape) on exec's stream; either side may be host, pinned or device
// memory (unified addressing decides the direction). Rows may be strided.
template <class S, class T>
void copy(const cuda& exec, batch_view<S> src, batch_view<T> dst) {
  if (src.shape() != dst.shape())
    raise(errc::invalid_argument, "copy: shapes differ: {}x{}x{}x{} -> {}x{}x{}x{}", src.n, src.h, src.w, src.c, dst.n, dst.h,
          dst.w, dst.c);
  if (src.stride_w != src.c || dst.stride_w != dst.c) raise(errc::invalid_argument, "copy: pixels must be contiguous");
  for (int i = 0; i < src.n; ++i)
    check_cuda(cudaMemcpy2DAsync(dst.pixel(i, 0, 0), dst.stride_h * sizeof(T), src.pixel(i, 0, 0), src.stride_h * sizeof(S),
                                 std::size_t(src.w) * src.c * sizeof(T), src.h, cudaMemcpyDefault, exec.stream),
               "copy: cudaMemcpy2DAsync");
}

}  // namespace vbatch::inline v0
