#pragma once
// A CPU emulation of the CUDA execution model, for tests only: it lets vbatch's CUDA layer and
// kernels compile with g++ and run here, where there is no GPU, so their launch geometry, bounds
// checks and block synchronisation are executed and checked against the CPU backend.
//
// Include it before any vbatch header (the test CMake passes -include for the emulation tests).
// It defines VBATCH_CUDA_EMULATION, which makes vbatch's CUDA layer skip <cuda_runtime.h> and
// launch through vbatch_emulation::launch instead of <<<...>>>.
//
// What it models:
// - __global__/__device__/__host__ compile away; threadIdx, blockIdx, blockDim, gridDim are per
//   emulated thread; dim3.
// - A launch runs its blocks one after the other. Each CUDA thread of a block is an OS thread,
//   and __syncthreads() is a std::barrier across them. Between barriers the threads run one at a
//   time in a fixed order (reverse thread index by default; tests run kernels with barriers in
//   both orders), so a missing __syncthreads or a race on shared memory is not left to chance. A thread that
//   returns leaves the barrier (arrive_and_drop), as exited threads do on a GPU. Block 0 of every
//   launch runs this way; when its threads never called __syncthreads, the other blocks' threads
//   run one after the other on the calling thread (same order, no OS threads), and a
//   __syncthreads there is reported as a barrier in divergent code.
// - __shared__ variables are function statics: one block runs at a time, so a static is that
//   block's shared memory; like a GPU's, it starts with whatever the previous block left there.
//   (No dynamic `extern __shared__` memory.)
// - Atomics (atomicAdd/Sub/Min/Max/Or/And/Exch/CAS) on 32- and 64-bit integers and floats.
// - cudaMalloc/cudaFree/cudaMallocHost/cudaFreeHost/cudaMemcpy*/cudaMemset/streams/events/
//   cudaMemGetInfo on host memory, with a registry that returns CUDA's error codes for misuse:
//   copies that overrun an allocation or go the wrong direction (cudaErrorInvalidValue), freeing
//   twice or a pointer never allocated (cudaErrorInvalidValue), and guard bytes after every device
//   allocation that a kernel's out-of-bounds write breaks (cudaErrorIllegalAddress, reported after
//   the launch, at synchronisation and at free). Out-of-bounds reads are AddressSanitizer's job:
//   the sanitizer build runs these tests too.
// - Launch limits as a device checks them (threads per block, grid x, y and z): a launch beyond
//   them fails with cudaErrorInvalidConfiguration.
// What it does not model: warps (no __shfl/__ballot, no warp-synchronous code), the memory model
// (every access is immediately visible), concurrency between blocks or streams, performance.

#define VBATCH_CUDA_EMULATION 1

#include <algorithm>
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __forceinline__ inline

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalAddress = 700,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
struct CUstream_st {
  int id;
};
struct CUevent_st {
  bool recorded;
};
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;

namespace vbatch_emulation {

inline thread_local uint3 thread_index{0, 0, 0}, block_index{0, 0, 0};
inline dim3 block_dim, grid_dim;

// ---- memory registry -------------------------------------------------------------------------

enum class space { device, pinned };
inline constexpr std::size_t guard_bytes = 64;
inline constexpr unsigned char guard_value = 0xA5;

struct allocation {
  std::size_t bytes;
  space where;
};

struct state {
  std::mutex mutex;
  std::map<const char*, allocation> live;  // base -> size
  cudaError_t last_error = cudaSuccess;
  std::size_t device_bytes = 0, device_capacity = std::size_t{1} << 34;  // a 16 GiB "device"
  std::vector<CUstream_st*> streams;
  std::size_t allocations = 0;  // successful cudaMalloc/cudaMallocHost calls: tests check reuse
};
inline state& global() {
  static state s;
  return s;
}

inline cudaError_t record(cudaError_t e) {
  if (e != cudaSuccess) global().last_error = e;
  return e;
}

// The allocation that holds [p, p + bytes), or none.
inline const allocation* find(const void* p, std::size_t bytes, space where) {
  state& s = global();
  const char* c = static_cast<const char*>(p);
  auto it = s.live.upper_bound(c);
  if (it == s.live.begin()) return nullptr;
  --it;
  if (it->second.where != where || c < it->first || c + bytes > it->first + it->second.bytes) return nullptr;
  return &it->second;
}
inline bool inside_any(const void* p, space where) { return find(p, 1, where) != nullptr; }

// Device allocations are followed by guard bytes; a kernel that wrote past the end broke them.
inline bool guards_intact() {
  for (const auto& [base, a] : global().live)
    if (a.where == space::device)
      for (std::size_t i = 0; i < guard_bytes; ++i)
        if (static_cast<unsigned char>(base[a.bytes + i]) != guard_value) return false;
  return true;
}

inline cudaError_t allocate(void** p, std::size_t bytes, space where) {
  if (!p) return record(cudaErrorInvalidValue);
  std::lock_guard lock(global().mutex);
  state& s = global();
  if (where == space::device && s.device_bytes + bytes > s.device_capacity) return record(cudaErrorMemoryAllocation);
  char* base = static_cast<char*>(std::malloc(bytes + guard_bytes + 1));
  if (!base) return record(cudaErrorMemoryAllocation);
  std::memset(base + bytes, guard_value, guard_bytes);
  s.live[base] = {bytes, where};
  ++s.allocations;
  if (where == space::device) s.device_bytes += bytes;
  *p = base;
  return cudaSuccess;
}

inline cudaError_t release(void* p, space where) {
  if (!p) return cudaSuccess;
  std::lock_guard lock(global().mutex);
  state& s = global();
  const auto it = s.live.find(static_cast<const char*>(p));
  if (it == s.live.end() || it->second.where != where) return record(cudaErrorInvalidValue);  // never allocated, or freed twice
  const bool intact = where != space::device || guards_intact();
  if (where == space::device) s.device_bytes -= it->second.bytes;
  s.live.erase(it);
  std::free(p);
  return intact ? cudaSuccess : record(cudaErrorIllegalAddress);
}

// ---- launches --------------------------------------------------------------------------------

// The threads of one block: each is an OS thread; between barriers they run one at a time, in
// `order` (positions in the block), so interleavings are the same on every run.
class block_run {
 public:
  explicit block_run(unsigned threads, bool reverse)
      : barrier_(threads, phase_end{this}), order_(threads), done_(threads, false) {
    for (unsigned i = 0; i < threads; ++i) order_[i] = reverse ? threads - 1 - i : i;
  }

  // Blocks until it is thread `me`'s turn.
  void wait_turn(unsigned me) {
    std::unique_lock lock(mutex_);
    turn_.wait(lock, [&] { return next_ < order_.size() && order_[next_] == me; });
  }
  // Passes the turn to the next thread still running, then waits at the barrier.
  void sync() {
    pass_turn();
    barrier_.arrive_and_wait();
  }
  // The thread returned from the kernel: it leaves the turn order and the barrier.
  void finish(unsigned me) {
    {
      std::lock_guard lock(mutex_);
      done_[me] = true;
    }
    pass_turn();
    barrier_.arrive_and_drop();
  }

 private:
  // When every running thread has reached the barrier, the first of them in order goes next.
  struct phase_end {
    block_run* run;
    void operator()() noexcept {
      {
        std::lock_guard lock(run->mutex_);
        run->next_ = 0;
        run->skip_finished();
      }
      run->turn_.notify_all();
    }
  };

  void skip_finished() {
    while (next_ < order_.size() && done_[order_[next_]]) ++next_;
  }
  void pass_turn() {
    {
      std::lock_guard lock(mutex_);
      ++next_;
      skip_finished();
    }
    turn_.notify_all();
  }

  std::barrier<phase_end> barrier_;
  std::mutex mutex_;
  std::condition_variable turn_;
  std::vector<unsigned> order_;
  std::vector<bool> done_;
  std::size_t next_ = 0;
};

inline thread_local block_run* current_block = nullptr;
inline thread_local unsigned current_thread = 0;
inline bool reverse_order = true;  // tests may flip it to run threads in index order
inline std::atomic<bool> block_synced{false};

inline void sync_threads() {
  if (!current_block)
    throw std::logic_error(
        "cuda emulation: __syncthreads in a block although block 0 of the launch never called it "
        "(a barrier in divergent code)");
  block_synced = true;
  current_block->sync();
  current_block->wait_turn(current_thread);
}

inline uint3 thread_at(unsigned t, dim3 block) { return {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)}; }

// One OS thread per CUDA thread, serialised between barriers (see block_run).
template <class Kernel, class Args>
void run_block_threaded(Kernel kernel, const Args& args, dim3 block, uint3 index) {
  const unsigned threads = block.x * block.y * block.z;
  block_run run(threads, reverse_order);
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (unsigned t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      thread_index = thread_at(t, block);
      block_index = index;
      current_block = &run;
      current_thread = t;
      run.wait_turn(t);
      std::apply(kernel, args);
      run.finish(t);
    });
  for (auto& w : workers) w.join();
}

// Without barriers the threads of a block are independent: run them one after the other, in the
// same order, on the calling thread.
template <class Kernel, class Args>
void run_block_serial(Kernel kernel, const Args& args, dim3 block, uint3 index) {
  const unsigned threads = block.x * block.y * block.z;
  block_index = index;
  for (unsigned i = 0; i < threads; ++i) {
    thread_index = thread_at(reverse_order ? threads - 1 - i : i, block);
    std::apply(kernel, args);
  }
}

template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t, Args&&... args) {
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  // A device's limits: 1024 threads per block, block z <= 64, grid x <= 2^31 - 1, grid y and z <= 65,535.
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > 1024 || block.z > 64 || grid.x > 2147483647u ||
      grid.y > 65535 || grid.z > 65535 || shared_bytes > 48 * 1024) {
    record(cudaErrorInvalidConfiguration);
    return;
  }
  const std::tuple<Params...> copied(std::forward<Args>(args)...);  // kernels get their arguments by value
  grid_dim = grid;
  block_dim = block;
  // Block 0 always runs threaded; a kernel that never synchronised there needs no threads for the
  // other blocks, which keeps large test launches fast.
  block_synced = false;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        const uint3 index{x, y, z};
        if ((x | y | z) == 0 || block_synced)
          run_block_threaded(kernel, copied, block, index);
        else
          run_block_serial(kernel, copied, block, index);
      }
  std::lock_guard lock(global().mutex);
  if (!guards_intact()) record(cudaErrorIllegalAddress);
}

template <class T, class Op>
T atomic_apply(T* address, Op op) {
  std::atomic_ref<T> a(*address);
  T old = a.load();
  while (!a.compare_exchange_weak(old, op(old))) {
  }
  return old;
}

}  // namespace vbatch_emulation

#define threadIdx (::vbatch_emulation::thread_index)
#define blockIdx (::vbatch_emulation::block_index)
#define blockDim (::vbatch_emulation::block_dim)
#define gridDim (::vbatch_emulation::grid_dim)

inline void __syncthreads() { vbatch_emulation::sync_threads(); }

template <class T>
T atomicAdd(T* a, T v) {
  return vbatch_emulation::atomic_apply(a, [v](T old) { return old + v; });
}
template <class T>
T atomicSub(T* a, T v) {
  return vbatch_emulation::atomic_apply(a, [v](T old) { return old - v; });
}
template <class T>
T atomicMin(T* a, T v) {
  return vbatch_emulation::atomic_apply(a, [v](T old) { return std::min(old, v); });
}
template <class T>
T atomicMax(T* a, T v) {
  return vbatch_emulation::atomic_apply(a, [v](T old) { return std::max(old, v); });
}
template <class T>
T atomicExch(T* a, T v) {
  return vbatch_emulation::atomic_apply(a, [v](T old) { return v; });
}
template <class T>
T atomicOr(T* a, T v) {
  return std::atomic_ref<T>(*a).fetch_or(v);
}
template <class T>
T atomicAnd(T* a, T v) {
  return std::atomic_ref<T>(*a).fetch_and(v);
}
template <class T>
T atomicCAS(T* a, T compare, T v) {
  std::atomic_ref<T>(*a).compare_exchange_strong(compare, v);
  return compare;
}

// ---- runtime API ---------------------------------------------------------------------------------

inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorIllegalAddress:
      return "an illegal memory access was encountered";
  }
  return "unknown error";
}
inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress:
      return "cudaErrorIllegalAddress";
  }
  return "cudaErrorUnknown";
}
inline cudaError_t cudaGetLastError() { return std::exchange(vbatch_emulation::global().last_error, cudaSuccess); }
inline cudaError_t cudaPeekAtLastError() { return vbatch_emulation::global().last_error; }

inline cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  return vbatch_emulation::allocate(p, bytes, vbatch_emulation::space::device);
}
template <class T>
cudaError_t cudaMalloc(T** p, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
inline cudaError_t cudaFree(void* p) { return vbatch_emulation::release(p, vbatch_emulation::space::device); }
inline cudaError_t cudaMallocHost(void** p, std::size_t bytes) {
  return vbatch_emulation::allocate(p, bytes, vbatch_emulation::space::pinned);
}
inline cudaError_t cudaFreeHost(void* p) { return vbatch_emulation::release(p, vbatch_emulation::space::pinned); }

namespace vbatch_emulation {
// Checks one side of a copy: device sides must lie inside a live device allocation; host sides
// must not be device memory.
inline bool side_ok(const void* p, std::size_t bytes, bool device) {
  return device ? find(p, bytes, space::device) != nullptr : !inside_any(p, space::device);
}
inline cudaError_t copy_checked(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return record(cudaErrorInvalidValue);
  {
    std::lock_guard lock(global().mutex);
    bool ok = true;
    switch (kind) {
      case cudaMemcpyHostToHost:
        ok = side_ok(dst, bytes, false) && side_ok(src, bytes, false);
        break;
      case cudaMemcpyHostToDevice:
        ok = side_ok(dst, bytes, true) && side_ok(src, bytes, false);
        break;
      case cudaMemcpyDeviceToHost:
        ok = side_ok(dst, bytes, false) && side_ok(src, bytes, true);
        break;
      case cudaMemcpyDeviceToDevice:
        ok = side_ok(dst, bytes, true) && side_ok(src, bytes, true);
        break;
      case cudaMemcpyDefault:  // unified addressing: each side is whatever it is, but must not overrun
        ok = (!inside_any(dst, space::device) || find(dst, bytes, space::device)) &&
             (!inside_any(src, space::device) || find(src, bytes, space::device));
        break;
    }
    if (!ok) return record(cudaErrorInvalidValue);
  }
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
}  // namespace vbatch_emulation

inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  return vbatch_emulation::copy_checked(dst, src, bytes, kind);
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t = nullptr) {
  return vbatch_emulation::copy_checked(dst, src, bytes, kind);
}
inline cudaError_t cudaMemcpy2DAsync(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                                     std::size_t height, cudaMemcpyKind kind, cudaStream_t = nullptr) {
  if (width > dpitch || width > spitch) return vbatch_emulation::record(cudaErrorInvalidValue);
  for (std::size_t r = 0; r < height; ++r)
    if (const cudaError_t e = vbatch_emulation::copy_checked(static_cast<char*>(dst) + r * dpitch,
                                                             static_cast<const char*>(src) + r * spitch, width, kind);
        e != cudaSuccess)
      return e;
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy2D(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                                std::size_t height, cudaMemcpyKind kind) {
  return cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, kind);
}
inline cudaError_t cudaMemsetAsync(void* p, int value, std::size_t bytes, cudaStream_t = nullptr) {
  {
    std::lock_guard lock(vbatch_emulation::global().mutex);
    if (!vbatch_emulation::find(p, bytes, vbatch_emulation::space::device))
      return vbatch_emulation::record(cudaErrorInvalidValue);
  }
  std::memset(p, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemset(void* p, int value, std::size_t bytes) { return cudaMemsetAsync(p, value, bytes); }

inline cudaError_t cudaStreamCreate(cudaStream_t* s) {
  if (!s) return vbatch_emulation::record(cudaErrorInvalidValue);
  std::lock_guard lock(vbatch_emulation::global().mutex);
  auto& streams = vbatch_emulation::global().streams;
  *s = new CUstream_st{static_cast<int>(streams.size()) + 1};
  streams.push_back(*s);
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::lock_guard lock(vbatch_emulation::global().mutex);
  auto& streams = vbatch_emulation::global().streams;
  const auto it = std::find(streams.begin(), streams.end(), s);
  if (it == streams.end()) return vbatch_emulation::record(cudaErrorInvalidResourceHandle);
  streams.erase(it);
  delete s;
  return cudaSuccess;
}
// Work runs when it is issued, so synchronising only reports what went wrong.
inline cudaError_t cudaDeviceSynchronize() {
  std::lock_guard lock(vbatch_emulation::global().mutex);
  return vbatch_emulation::guards_intact() ? cudaSuccess : vbatch_emulation::record(cudaErrorIllegalAddress);
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaDeviceSynchronize(); }
inline cudaError_t cudaEventCreate(cudaEvent_t* e) {
  if (!e) return vbatch_emulation::record(cudaErrorInvalidValue);
  *e = new CUevent_st{false};
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t = nullptr) {
  if (!e) return vbatch_emulation::record(cudaErrorInvalidResourceHandle);
  e->recorded = true;
  return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  return e && e->recorded ? cudaSuccess : vbatch_emulation::record(cudaErrorInvalidResourceHandle);
}
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total) {
  std::lock_guard lock(vbatch_emulation::global().mutex);
  const auto& s = vbatch_emulation::global();
  *total = s.device_capacity;
  *free = s.device_capacity - s.device_bytes;
  return cudaSuccess;
}
