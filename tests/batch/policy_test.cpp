// Batch policies: memory_budget arithmetic, fixed, probe and backoff decisions, free-memory parsing.

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "test_util.hpp"
#include "vbatch/batch/policy.hpp"

namespace {

namespace vb = vbatch;
namespace batch = vbatch::batch;
using vbatch_test::throws_error;

constexpr std::uint64_t gib = std::uint64_t{1} << 30, mib = std::uint64_t{1} << 20;

std::uint64_t sixteen_gib() { return 16 * gib; }

TEST(MemoryBudget, DividesTheFreeFractionAfterSharedBytesByTheItemSize) {
  const batch::memory_budget b(0.5, 100 * mib, 1, batch::no_limit, 200 * mib, sixteen_gib);
  EXPECT_EQ(b.size_for(16 * gib), (8 * gib - 200 * mib) / (100 * mib));   // 79
  EXPECT_EQ(b.size_for(1 * gib), (512 * mib - 200 * mib) / (100 * mib));  // 3
}

TEST(MemoryBudget, ClampsToMinAndMax) {
  const batch::memory_budget b(0.8, 1 * gib, 2, 10, 0, sixteen_gib);
  EXPECT_EQ(b.size_for(0), 2u);           // nothing free: still the minimum
  EXPECT_EQ(b.size_for(1 * gib), 2u);     // 0.8 items
  EXPECT_EQ(b.size_for(5 * gib), 4u);     // 4 items
  EXPECT_EQ(b.size_for(100 * gib), 10u);  // capped
}

TEST(MemoryBudget, SharedBytesLargerThanTheBudgetGiveTheMinimum) {
  const batch::memory_budget b(0.5, mib, 3, 100, 64 * gib, sixteen_gib);
  EXPECT_EQ(b.size_for(16 * gib), 3u);
}

TEST(MemoryBudget, ReadsFreeMemoryOnceAndNeverExceedsWhatRemains) {
  static int reads = 0;
  reads = 0;
  batch::memory_budget b(1.0, gib, 1, batch::no_limit, 0, [] {
    ++reads;
    return std::uint64_t{6} * gib;
  });
  EXPECT_EQ(b.next(100), 6u);
  EXPECT_EQ(b.next(4), 4u);
  EXPECT_EQ(b.next(100), 6u);
  EXPECT_EQ(reads, 1);
}

TEST(MemoryBudget, AbsurdParametersAreRejectedNamingThem) {
  EXPECT_TRUE(throws_error([] { batch::memory_budget(0, mib); }, vb::errc::invalid_argument, {"fraction 0"}));
  EXPECT_TRUE(throws_error([] { batch::memory_budget(1.5, mib); }, vb::errc::invalid_argument, {"fraction 1.5"}));
  EXPECT_TRUE(throws_error([] { batch::memory_budget(std::nan(""), mib); }, vb::errc::invalid_argument, {"fraction"}));
  EXPECT_TRUE(throws_error([] { batch::memory_budget(0.5, 0); }, vb::errc::invalid_argument, {"bytes_per_item"}));
  EXPECT_TRUE(throws_error([] { batch::memory_budget(0.5, mib, 0); }, vb::errc::invalid_argument, {"min"}));
  EXPECT_TRUE(throws_error([] { batch::memory_budget(0.5, mib, 8, 4); }, vb::errc::invalid_argument, {"min 8 > max 4"}));
  EXPECT_TRUE(
      throws_error([] { batch::memory_budget(0.5, mib, 1, 4, 0, nullptr); }, vb::errc::invalid_argument, {"free-memory"}));
}

TEST(Fixed, GivesItsSizeOrWhatRemainsAndNeverRetries) {
  batch::fixed f(8);
  EXPECT_EQ(f.next(100), 8u);
  EXPECT_EQ(f.next(3), 3u);
  EXPECT_FALSE(f.out_of_memory(8));
  EXPECT_TRUE(throws_error([] { batch::fixed(0); }, vb::errc::invalid_argument, {"size"}));
}

TEST(Backoff, HalvesOnOutOfMemoryAndGrowsBackAfterSuccesses) {
  batch::backoff<batch::fixed> b(batch::fixed(16), 2);
  EXPECT_EQ(b.next(100), 16u);
  EXPECT_TRUE(b.out_of_memory(16));
  EXPECT_EQ(b.next(100), 8u);
  EXPECT_TRUE(b.out_of_memory(8));
  EXPECT_EQ(b.next(100), 4u);
  b.succeeded(4, 1);
  EXPECT_EQ(b.next(100), 4u);
  b.succeeded(4, 1);  // two in a row: double
  EXPECT_EQ(b.next(100), 8u);
  b.succeeded(8, 1);
  b.succeeded(8, 1);
  EXPECT_EQ(b.next(100), 16u);  // back to what the inner policy asks, never above
  b.succeeded(16, 1);
  b.succeeded(16, 1);
  EXPECT_EQ(b.next(100), 16u);
  EXPECT_EQ(b.backoffs(), 2u);
  EXPECT_FALSE(b.out_of_memory(1));  // one item that does not fit: give up
}

TEST(Probe, DoublesWhileTheRateImprovesThenSettlesOnTheBest) {
  batch::probe p(1, 1024, 1.05);
  // Items cost 1 ms each plus 20 ms per batch: the rate improves with size, less and less.
  const auto seconds = [](std::size_t n) { return 0.020 + 0.001 * double(n); };
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 12; ++i) {
    const std::size_t n = p.next(100000);
    sizes.push_back(n);
    p.succeeded(n, seconds(n));
  }
  EXPECT_EQ(sizes[0], 1u);
  EXPECT_EQ(sizes[1], 2u);
  EXPECT_EQ(sizes[2], 4u);
  EXPECT_TRUE(p.settled());
  // Rates n / (20 + n): doubling 256 -> 512 gains under 5 %, so growth stops and the best rate seen (512) stays.
  EXPECT_EQ(p.best_size(), 512u);
  EXPECT_EQ(sizes.back(), 512u);
}

TEST(Probe, BisectsBelowASizeThatRanOutOfMemory) {
  batch::probe p(1, 4096, 1.0);
  const std::size_t fits = 300;
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 40; ++i) {
    const std::size_t n = p.next(1000000);
    sizes.push_back(n);
    if (n > fits) {
      ASSERT_TRUE(p.out_of_memory(n));
      continue;
    }
    p.succeeded(n, 0.001 * double(n) / (1 + double(n) / 1000));  // the rate keeps improving
  }
  EXPECT_TRUE(p.settled());
  EXPECT_LE(p.best_size(), fits);
  EXPECT_GE(p.best_size(), fits - 2);  // bisected down to the edge
  for (std::size_t i = 30; i < sizes.size(); ++i) EXPECT_EQ(sizes[i], p.best_size());
}

TEST(Probe, RejectsBadParameters) {
  EXPECT_TRUE(throws_error([] { batch::probe(0); }, vb::errc::invalid_argument, {"start"}));
  EXPECT_TRUE(throws_error([] { batch::probe(8, 4); }, vb::errc::invalid_argument, {"max 4 < start 8"}));
  EXPECT_TRUE(throws_error([] { batch::probe(1, 8, 0.5); }, vb::errc::invalid_argument, {"gain 0.5"}));
}

}  // namespace
