#pragma once
// Host memory spaces and memory accounting: cache-line aligned host memory, huge-page memory for
// large batch buffers, how much memory is free for batches, how much a run used, and a way to
// make allocations fail above a budget so that out-of-memory handling is tested for real on the
// CPU. Pinned and device memory: vbatch/core/cuda/memory.hpp.
//
//   std::size_t free = vbatch::host_available_memory();      // MemAvailable, within the cgroup limit
//   using counted = vbatch::tracked_memory<vbatch::host_memory>;
//   vbatch::batch_buffer<vbatch::u8, counted> frames({8, 3840, 7680, 3});
//   counted::stats().peak;                                   // bytes at the high-water mark
//   counted::set_limit(1 << 30);                             // allocations beyond 1 GiB throw std::bad_alloc
//
// Device memory: vbatch::device_free_memory() in vbatch/core/cuda/memory.hpp (cudaMemGetInfo).

#include <sys/mman.h>
#include <sys/resource.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <string_view>

#include "vbatch/core/file.hpp"

namespace vbatch::inline v0 {

// Cache-line aligned host allocations. Throws std::bad_alloc when memory runs out, so callers
// (and batch back-off policies) can react to it.
struct host_memory {
  static constexpr std::size_t alignment = 64;
  static void* allocate(std::size_t bytes) { return ::operator new (bytes, std::align_val_t{alignment}); }
  static void deallocate(void* p, std::size_t) noexcept { ::operator delete (p, std::align_val_t{alignment}); }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
};

// huge_page_memory is the memory space for such buffers: from 4 MB up, whole 2 MB-aligned
// mappings with transparent huge pages requested, so that first touching a 95 MB frame takes 48
// page faults instead of 23,000 (on Linux with THP in "madvise" or "always" mode; elsewhere plain
// pages); smaller buffers come from host_memory.
struct huge_page_memory {
  static constexpr std::size_t alignment = std::size_t{2} << 20, threshold = std::size_t{4} << 20;
  static std::size_t rounded(std::size_t bytes) { return (bytes + alignment - 1) / alignment * alignment; }
  static void* allocate(std::size_t bytes) {
    if (bytes < threshold) return host_memory::allocate(bytes);
    const std::size_t size = rounded(bytes);
    // Map one alignment more, then unmap the slack on both sides: the mapping is then exactly
    // [p, p + size) with p on a 2 MB boundary, so every 2 MB of it can be one huge page.
    void* raw = ::mmap(nullptr, size + alignment, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + alignment - 1) / alignment * alignment;
    if (aligned > start) ::munmap(raw, aligned - start);
    if (const std::uintptr_t tail = start + size + alignment - (aligned + size); tail > 0)
      ::munmap(reinterpret_cast<void*>(aligned + size), tail);
#if defined(MADV_HUGEPAGE)
    ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
    return reinterpret_cast<void*>(aligned);
  }
  static void deallocate(void* p, std::size_t bytes) noexcept {
    if (bytes < threshold) return host_memory::deallocate(p, bytes);
    ::munmap(p, rounded(bytes));
  }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
};

// What one batch item costs in memory, for batch::memory_budget (the kernel modules say what
// their items cost, e.g. sample::e2p_cost).
struct item_cost {
  std::uint64_t per_item = 0;  // bytes each item adds to a batch
  std::uint64_t shared = 0;    // bytes every batch shares (maps, models)
};

namespace detail {

// A missing or unreadable file (no such cgroup controller) reads as empty: no figure, no limit.
inline std::string read_text(const std::string& path) {
  std::string text;
  (void)read_all(path, text);
  return text;
}

// The number after `key` (e.g. "MemAvailable:") in /proc/meminfo text, in bytes (the file says kB).
inline std::uint64_t meminfo_bytes(std::string_view meminfo, std::string_view key) {
  const std::size_t at = meminfo.find(key);
  if (at == std::string_view::npos) return 0;
  std::istringstream in(std::string(meminfo.substr(at + key.size(), 32)));
  std::uint64_t kib = 0;
  in >> kib;
  return kib * 1024;
}

// A cgroup memory file's value: a byte count, or "max" (v2) / a huge number (v1) for no limit.
inline std::uint64_t cgroup_bytes(const std::string& text) {
  if (text.empty() || text.rfind("max", 0) == 0) return std::numeric_limits<std::uint64_t>::max();
  std::istringstream in(text);
  std::uint64_t v = std::numeric_limits<std::uint64_t>::max();
  in >> v;
  return v >= (std::uint64_t{1} << 62) ? std::numeric_limits<std::uint64_t>::max() : v;
}

// The memory cgroup of this process: its limit and usage in bytes (no limit: max()).
inline void cgroup_memory(std::uint64_t& limit, std::uint64_t& usage) {
  limit = std::numeric_limits<std::uint64_t>::max();
  usage = 0;
  std::istringstream lines(read_text("/proc/self/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    const std::size_t second = line.find(':', line.find(':') + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(line.find(':') + 1, second - line.find(':') - 1);
    const std::string path = line.substr(second + 1);
    if (controllers.empty()) {  // cgroup v2
      limit = cgroup_bytes(read_text("/sys/fs/cgroup" + path + "/memory.max"));
      usage = cgroup_bytes(read_text("/sys/fs/cgroup" + path + "/memory.current"));
    } else if (controllers.find("memory") != std::string::npos) {  // cgroup v1
      limit = cgroup_bytes(read_text("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes"));
      usage = cgroup_bytes(read_text("/sys/fs/cgroup/memory" + path + "/memory.usage_in_bytes"));
      return;
    }
  }
  if (usage == std::numeric_limits<std::uint64_t>::max()) usage = 0;
}

}  // namespace detail

// What the machine could give this process now: min(MemAvailable, cgroup limit − cgroup usage).
// From text so it can be checked on given figures; host_available_memory() reads the system.
inline std::uint64_t available_memory(std::string_view meminfo, std::uint64_t cgroup_limit, std::uint64_t cgroup_usage) {
  const std::uint64_t available = detail::meminfo_bytes(meminfo, "MemAvailable:");
  if (cgroup_limit == std::numeric_limits<std::uint64_t>::max()) return available;
  const std::uint64_t room = cgroup_limit > cgroup_usage ? cgroup_limit - cgroup_usage : 0;
  return room < available ? room : available;
}

inline std::uint64_t host_available_memory() {
  std::uint64_t limit = 0, usage = 0;
  detail::cgroup_memory(limit, usage);
  return available_memory(detail::read_text("/proc/meminfo"), limit, usage);
}

// The process's peak resident set size so far, in bytes.
inline std::uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Counters of a tracked memory space.
struct memory_stats {
  std::int64_t current = 0, peak = 0, allocations = 0, refusals = 0;
};

// A memory space that counts what goes through Inner, and refuses (std::bad_alloc) allocations
// that would take it over a limit. Counters are per <Inner, Tag>: give a Tag to keep separate
// accounts for the same Inner.
template <class Inner, class Tag = Inner>
struct tracked_memory {
  static constexpr std::int64_t unlimited = std::numeric_limits<std::int64_t>::max();

  static void* allocate(std::size_t bytes) {
    state& s = get();
    const std::int64_t now = s.current.fetch_add(static_cast<std::int64_t>(bytes)) + static_cast<std::int64_t>(bytes);
    if (now > s.limit.load()) {
      s.current.fetch_sub(static_cast<std::int64_t>(bytes));
      s.refusals.fetch_add(1);
      throw std::bad_alloc();
    }
    void* p = nullptr;
    try {
      p = Inner::allocate(bytes);
    } catch (...) {
      s.current.fetch_sub(static_cast<std::int64_t>(bytes));
      throw;
    }
    s.allocations.fetch_add(1);
    for (std::int64_t peak = s.peak.load(); now > peak && !s.peak.compare_exchange_weak(peak, now);) {
    }
    return p;
  }
  static void deallocate(void* p, std::size_t bytes) noexcept {
    Inner::deallocate(p, bytes);
    get().current.fetch_sub(static_cast<std::int64_t>(bytes));
  }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { Inner::copy_from_host(dst, src, bytes); }

  static memory_stats stats() {
    const state& s = get();
    return {s.current.load(), s.peak.load(), s.allocations.load(), s.refusals.load()};
  }
  // The peak restarts from the current use (for measuring one phase of a run).
  static void reset_peak() { get().peak = get().current.load(); }
  static void set_limit(std::int64_t bytes) { get().limit = bytes; }
  static std::int64_t limit() { return get().limit.load(); }

 private:
  struct state {
    std::atomic<std::int64_t> current{0}, peak{0}, allocations{0}, refusals{0}, limit{unlimited};
  };
  static state& get() {
    static state s;
    return s;
  }
};

}  // namespace vbatch::inline v0
