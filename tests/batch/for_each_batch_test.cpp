// for_each_batch: every item exactly once and in order, also across back-offs under a real
// (simulated) memory limit, with output equal to an unlimited run.

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

#include "test_util.hpp"
#include "vbatch/batch/for_each_batch.hpp"
#include "vbatch/core/memory.hpp"
#include "vbatch/sample/e2p.hpp"

namespace {

namespace vb = vbatch;
namespace batch = vbatch::batch;
using vbatch_test::throws_error;

TEST(ForEachBatch, VisitsEveryItemOnceInOrderInBatchesOfThePolicysSize) {
  std::vector<int> items(103);
  std::iota(items.begin(), items.end(), 0);
  batch::fixed policy(10);
  std::vector<int> seen;
  std::vector<std::size_t> sizes, firsts;
  const auto run = batch::for_each_batch(items, policy, [&](std::span<int> b, std::size_t first) {
    sizes.push_back(b.size());
    firsts.push_back(first);
    seen.insert(seen.end(), b.begin(), b.end());
  });
  EXPECT_EQ(seen, items);
  EXPECT_EQ(sizes.size(), 11u);
  EXPECT_EQ(sizes.back(), 3u);
  EXPECT_EQ(firsts[4], 40u);
  EXPECT_EQ(run.batches, 11u);
  EXPECT_EQ(run.retries, 0u);
}

TEST(ForEachBatch, AnEmptyRangeRunsNothing) {
  std::vector<int> none;
  batch::fixed policy(4);
  int calls = 0;
  batch::for_each_batch(none, policy, [&](std::span<int>, std::size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ForEachBatch, WithoutBackoffRunningOutOfMemoryNamesTheItemsNotProcessed) {
  std::vector<int> items(20);
  batch::fixed policy(8);
  int done = 0;
  EXPECT_TRUE(throws_error(
      [&] {
        batch::for_each_batch(items, policy, [&](std::span<int> b, std::size_t first) {
          if (first == 8) throw std::bad_alloc();
          done += int(b.size());
        });
      },
      vb::errc::out_of_memory, {"batch of 8", "items 8 to 19 of 20"}));
  EXPECT_EQ(done, 8);
}

TEST(ForEachBatch, OtherErrorsPassThroughUnchanged) {
  std::vector<int> items(5);
  batch::backoff<batch::fixed> policy(batch::fixed(4));
  EXPECT_TRUE(throws_error(
      [&] {
        batch::for_each_batch(items, policy,
                              [&](std::span<int>, std::size_t) { vb::raise(vb::errc::io, "disk {} is full", "d"); });
      },
      vb::errc::io, {"disk d is full"}));
}

// The same work under a memory limit: each batch allocates its frames and views in a tracked
// memory space that refuses allocations above the limit, as a GPU or a small machine would.
struct limited {};
using limited_memory = vb::tracked_memory<vb::host_memory, limited>;

std::vector<vb::u8> split_frames(const std::vector<vb::batch_buffer<vb::u8>>& frames, batch::backoff<batch::fixed>& policy,
                                 std::vector<int>& processed) {
  const vb::sample::rig rig = vb::sample::ring_rig(4, 10, 48, 32, 90);
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(rig, 256, 128);
  const std::size_t view_bytes = 4 * 32 * 48 * 3;
  std::vector<vb::u8> out(frames.size() * view_bytes);
  std::vector<int> indices(frames.size());
  std::iota(indices.begin(), indices.end(), 0);
  batch::for_each_batch(indices, policy, [&](std::span<int> b, std::size_t first) {
    const int n = int(b.size());
    vb::batch_buffer<vb::u8, limited_memory> src({n, 128, 256, 3});      // (B,128,256,3)
    vb::batch_buffer<vb::u8, limited_memory> views({n * 4, 32, 48, 3});  // (B*4,32,48,3)
    for (int i = 0; i < n; ++i) std::copy_n(frames[b[i]].data(), frames[b[i]].shape().elements(), src.view().pixel(i, 0, 0));
    vb::sample::e2p(vb::cpu_par{2}, src.view(), map, views.view());
    std::copy_n(views.data(), views.shape().elements(), out.data() + first * view_bytes);  // results only once done
    for (int i : b) processed[i] += 1;
  });
  return out;
}

TEST(ForEachBatch, BackoffUnderAMemoryLimitProcessesEveryItemOnceWithTheSameOutput) {
  std::vector<vb::batch_buffer<vb::u8>> frames;
  for (unsigned f = 0; f < 23; ++f) frames.push_back(vbatch_test::random_images<vb::u8>({1, 128, 256, 3}, 100 + f));

  std::vector<int> free_count(frames.size(), 0), limited_count(frames.size(), 0);
  batch::backoff<batch::fixed> unlimited_policy(batch::fixed(16));
  const std::vector<vb::u8> expected = split_frames(frames, unlimited_policy, free_count);
  limited_memory::reset_peak();  // the limited run's peak starts from nothing held

  // Room for the frames and views of 5 items: a batch of 16 must back off to 4 (16 -> 8 -> 4).
  const std::int64_t per_item = 128 * 256 * 3 + 4 * 32 * 48 * 3;
  limited_memory::set_limit(5 * per_item);
  batch::backoff<batch::fixed> policy(batch::fixed(16), 3);
  const std::vector<vb::u8> got = split_frames(frames, policy, limited_count);
  limited_memory::set_limit(limited_memory::unlimited);

  EXPECT_GE(policy.backoffs(), 2u);
  EXPECT_GT(limited_memory::stats().refusals, 0);
  EXPECT_LE(limited_memory::stats().peak, 5 * per_item);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(free_count[i], 1) << "item " << i;
    EXPECT_EQ(limited_count[i], 1) << "item " << i;
  }
  EXPECT_EQ(got, expected);
}

TEST(ForEachBatch, BackoffGivesUpOnlyWhenOneItemDoesNotFit) {
  limited_memory::set_limit(1000);
  std::vector<int> items(4);
  batch::backoff<batch::fixed> policy(batch::fixed(4));
  EXPECT_TRUE(throws_error(
      [&] {
        batch::for_each_batch(items, policy, [&](std::span<int> b, std::size_t) {
          vb::batch_buffer<vb::u8, limited_memory> big({int(b.size()), 10, 10, 11});  // 1100 bytes an item
        });
      },
      vb::errc::out_of_memory, {"batch of 1", "items 0 to 3"}));
  limited_memory::set_limit(limited_memory::unlimited);
}

}  // namespace
