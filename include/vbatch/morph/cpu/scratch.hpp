#pragma once
// Scratch memory for the CPU schedules, kept across calls.
//
// A band of a 1080p mask needs a few hundred KB of rows. Allocated and freed on every call, such
// blocks sit above glibc's mmap and trim thresholds, go back to the kernel at each free and are
// page-faulted in again at the next call: measured 3x slower on a 15x15 dilation (191,000 page
// faults against 2,300 for the same work). So bands take their scratch rows, and the host
// executors their temporary images (open, close, in place), from a small pool that keeps up to
// `kept_blocks` free blocks for the next call; release_scratch() frees them.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "vbatch/core/buffer.hpp"

namespace vbatch::inline v0::morph::cpu {

class scratch_pool {
 public:
  static constexpr std::size_t kept_blocks = 32;

  static scratch_pool& instance() {
    static scratch_pool pool;
    return pool;
  }

  // At least `bytes` (64-byte aligned, uninitialised): the most recently released kept block that
  // is large enough (as malloc's reuse; best fit measured 12% slower on a 3x3 mask dilation, the
  // buffers trading places between calls), or a new one.
  void* acquire(std::size_t bytes) {
    bytes = std::max<std::size_t>(bytes, 64);
    std::lock_guard lock(mutex_);
    auto best = free_.end();
    for (auto it = free_.end(); it != free_.begin();)
      if ((--it)->bytes >= bytes) {
        best = it;
        break;
      }
    block b;
    if (best != free_.end()) {
      b = *best;
      free_.erase(best);
    } else {
      b = {host_memory::allocate(bytes), bytes};
    }
    used_.push_back(b);
    return b.data;
  }

  // Keeps the block for later calls; when the pool is full the smallest kept block goes.
  void release(void* data) {
    if (!data) return;
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(used_.begin(), used_.end(), [&](const block& b) { return b.data == data; });
    if (it == used_.end()) return;
    free_.push_back(*it);
    used_.erase(it);
    if (free_.size() > kept_blocks) {
      const auto smallest =
          std::min_element(free_.begin(), free_.end(), [](const block& x, const block& y) { return x.bytes < y.bytes; });
      host_memory::deallocate(smallest->data, smallest->bytes);
      free_.erase(smallest);
    }
  }

  // Frees every kept block (blocks in use stay valid).
  void clear() {
    std::lock_guard lock(mutex_);
    for (const block& b : free_) host_memory::deallocate(b.data, b.bytes);
    free_.clear();
  }

  ~scratch_pool() {
    clear();
    for (const block& b : used_) host_memory::deallocate(b.data, b.bytes);
  }

 private:
  struct block {
    void* data = nullptr;
    std::size_t bytes = 0;
  };
  scratch_pool() = default;
  std::mutex mutex_;
  std::vector<block> free_, used_;
};

// A memory space (as host_memory) drawing from the pool: the host executors' temporary images.
struct pooled_memory {
  static constexpr std::size_t alignment = host_memory::alignment;
  static void* allocate(std::size_t bytes) { return scratch_pool::instance().acquire(bytes); }
  static void deallocate(void* p, std::size_t) noexcept { scratch_pool::instance().release(p); }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
};

// `count` elements of T from the pool, returned to it on destruction.
template <class T>
class scratch {
 public:
  scratch() = default;
  explicit scratch(std::size_t count) : data_(static_cast<T*>(scratch_pool::instance().acquire(count * sizeof(T)))) {}
  scratch(scratch&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}
  scratch& operator=(scratch&& other) noexcept {
    if (this != &other) {
      scratch_pool::instance().release(data_);
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  ~scratch() { scratch_pool::instance().release(data_); }

  T* data() const { return data_; }

 private:
  T* data_ = nullptr;
};

}  // namespace vbatch::inline v0::morph::cpu

namespace vbatch::inline v0::morph {
// Returns the CPU schedules' kept scratch memory to the system.
inline void release_scratch() { cpu::scratch_pool::instance().clear(); }
}  // namespace vbatch::inline v0::morph
