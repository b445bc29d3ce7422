#pragma once
// Memory accounting: how much memory is free for batches, how much a run used, and a way to make
// allocations fail above a budget so that out-of-memory handling is tested for real on the CPU.
//
//   std::size_t free = vbatch::host_available_memory();      // MemAvailable, within the cgroup limit
//   using counted = vbatch::tracked_memory<vbatch::host_memory>;
//   vbatch::batch_buffer<vbatch::u8, counted> frames({8, 3840, 7680, 3});
//   counted::stats().peak;                                   // bytes at the high-water mark
//   counted::set_limit(1 << 30);                             // allocations beyond 1 GiB throw std::bad_alloc
//
// Device memory: vbatch::device_free_memory() in vbatch/core/cuda/memory.hpp (cudaMemGetInfo).

#include <sys/resource.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <string_view>

#include "vbatch/core/buffer.hpp"

namespace vbatch::inline v0 {

namespace detail {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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
