// Memory accounting: what the machine can give this process (MemAvailable within the cgroup
// limit), from given figures and on this machine, and tracked memory spaces.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "test_util.hpp"
#include "vbatch/core/memory.hpp"

namespace {

namespace vb = vbatch;

constexpr std::uint64_t gib = std::uint64_t{1} << 30;

TEST(AvailableMemory, IsMemAvailableWithinTheCgroupLimit) {
  const std::string meminfo = "MemTotal:       24000000 kB\nMemFree:        1000 kB\nMemAvailable:   20000000 kB\n";
  const std::uint64_t none = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(vb::available_memory(meminfo, none, 0), 20000000ull * 1024);
  EXPECT_EQ(vb::available_memory(meminfo, 8 * gib, 3 * gib), 5 * gib);               // the cgroup is tighter
  EXPECT_EQ(vb::available_memory(meminfo, 100 * gib, 1 * gib), 20000000ull * 1024);  // the machine is tighter
  EXPECT_EQ(vb::available_memory(meminfo, 2 * gib, 3 * gib), 0u);                    // over the limit already
  EXPECT_EQ(vb::available_memory("MemTotal: 5 kB\n", none, 0), 0u);                  // no MemAvailable line
}

TEST(AvailableMemory, CgroupFilesSayMaxOrAHugeNumberForNoLimit) {
  const std::uint64_t none = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(vb::detail::cgroup_bytes("max\n"), none);
  EXPECT_EQ(vb::detail::cgroup_bytes("9223372036854771712\n"), none);
  EXPECT_EQ(vb::detail::cgroup_bytes("4294967296\n"), 4 * gib);
  EXPECT_EQ(vb::detail::cgroup_bytes(""), none);
}

TEST(AvailableMemory, OnThisMachineIsPositiveAndAtMostTheTotal) {
  const std::uint64_t free = vb::host_available_memory();
  const std::uint64_t total = vb::detail::meminfo_bytes(vb::detail::read_text("/proc/meminfo"), "MemTotal:");
  EXPECT_GT(free, 0u);
  EXPECT_LE(free, total);
  EXPECT_GT(vb::peak_rss_bytes(), 0u);
}

TEST(TrackedMemory, CountsCurrentAndPeakBytesAndRefusesAboveTheLimit) {
  struct tag {};
  using counted = vb::tracked_memory<vb::host_memory, tag>;
  {
    vb::batch_buffer<float, counted> a({2, 10, 10, 1});  // 800 bytes
    EXPECT_EQ(counted::stats().current, 800);
    {
      vb::buffer<vb::u8, counted> b(200);
      EXPECT_EQ(counted::stats().current, 1000);
    }
    EXPECT_EQ(counted::stats().current, 800);
    EXPECT_EQ(counted::stats().peak, 1000);
    counted::reset_peak();
    EXPECT_EQ(counted::stats().peak, 800);
    counted::set_limit(900);
    EXPECT_THROW((vb::buffer<vb::u8, counted>(101)), std::bad_alloc);
    EXPECT_EQ(counted::stats().current, 800);  // a refusal leaves the count as it was
    EXPECT_EQ(counted::stats().refusals, 1);
    vb::buffer<vb::u8, counted> fits(100);
    EXPECT_EQ(counted::stats().current, 900);
  }
  EXPECT_EQ(counted::stats().current, 0);
  EXPECT_EQ(counted::stats().allocations, 3);
}

}  // namespace
