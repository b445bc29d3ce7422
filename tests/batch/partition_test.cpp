// Grouping by key and sharding: disjoint, complete, deterministic, order kept within groups.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/batch/partition.hpp"

namespace {

namespace vb = vbatch;
namespace batch = vbatch::batch;
using vbatch_test::throws_error;

TEST(GroupBy, GroupsInFirstAppearanceOrderKeepingItemOrder) {
  const std::vector<std::string> models = {"sam", "yolo", "sam", "clip", "yolo", "sam"};
  const auto groups = batch::group_by(models, [](const std::string& m) { return m; });
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].key, "sam");
  EXPECT_EQ(groups[0].indices, (std::vector<std::size_t>{0, 2, 5}));
  EXPECT_EQ(groups[1].key, "yolo");
  EXPECT_EQ(groups[1].indices, (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(groups[2].key, "clip");
  EXPECT_EQ(groups[2].indices, (std::vector<std::size_t>{3}));
}

TEST(GroupBy, IsDisjointCompleteAndDeterministicOnRandomKeys) {
  std::mt19937 rng(3);
  std::vector<int> keys(1000);
  for (int& k : keys) k = int(rng() % 17);
  const auto a = batch::group_by(keys, [](int k) { return k % 7; });
  const auto b = batch::group_by(keys, [](int k) { return k % 7; });
  std::vector<int> owner(keys.size(), -1);
  for (std::size_t g = 0; g < a.size(); ++g) {
    EXPECT_EQ(a[g].indices, b[g].indices);
    EXPECT_TRUE(std::is_sorted(a[g].indices.begin(), a[g].indices.end()));
    for (std::size_t i : a[g].indices) {
      EXPECT_EQ(owner[i], -1) << "item " << i << " in two groups";
      EXPECT_EQ(keys[i] % 7, a[g].key);
      owner[i] = int(g);
    }
  }
  for (int o : owner) EXPECT_GE(o, 0);
}

TEST(Shard, PartsAreDisjointCompleteBalancedAndContiguous) {
  for (std::size_t count : {0u, 1u, 7u, 100u, 1001u})
    for (std::size_t shards : {1u, 2u, 3u, 8u, 13u}) {
      std::size_t next = 0, smallest = count, largest = 0;
      for (std::size_t i = 0; i < shards; ++i) {
        const batch::index_range r = batch::shard_of(count, {i, shards});
        EXPECT_EQ(r.first, next) << count << " items, shard " << i << "/" << shards;
        next = r.last;
        smallest = std::min(smallest, r.last - r.first);
        largest = std::max(largest, r.last - r.first);
      }
      EXPECT_EQ(next, count);
      EXPECT_LE(largest - std::min(smallest, largest), 1u);
    }
}

TEST(Shard, ParsesIndexSlashCountAndRejectsAnythingElse) {
  const batch::shard s = batch::parse_shard("2/8");
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 8u);
  for (const char* bad : {"8/8", "1/0", "x/2", "2", "-1/4", "1/4/2", "", "/", "3/"})
    EXPECT_TRUE(throws_error([&] { (void)batch::parse_shard(bad); }, vb::errc::invalid_argument, {bad})) << bad;
  EXPECT_TRUE(throws_error([] { (void)batch::shard_of(10, {3, 3}); }, vb::errc::invalid_argument, {"3/3"}));
}

// Fuzzing found count * (index + 1) overflowing (tests/fuzz/regressions/shard/): huge shard
// numbers or item counts must still give disjoint parts that cover everything.
TEST(Shard, LargeCountsAndShardNumbersDoNotOverflow) {
  const batch::shard s = batch::parse_shard("2000000000000/3000000000000");
  const batch::index_range r = batch::shard_of(10'000'000, s);
  EXPECT_EQ(r.first, 6'666'666u);
  EXPECT_EQ(r.last, 6'666'666u);
  const std::size_t huge = SIZE_MAX;
  const batch::index_range a = batch::shard_of(huge, batch::parse_shard("1/22"));
  const batch::index_range b = batch::shard_of(huge, batch::parse_shard("2/22"));
  EXPECT_EQ(a.last, b.first);
  EXPECT_LT(a.first, a.last);
  EXPECT_LT(b.first, b.last);
  EXPECT_EQ(batch::shard_of(huge, batch::parse_shard("21/22")).last, huge);
}

// Parts by cost: for every n from 1 to 17, disjoint, complete and in order, and each part's cost
// within one item's cost of total/n (the balance a job array needs when images differ in size).
TEST(ShardByCost, PartsAreDisjointCompleteAndBalancedByCost) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::uint64_t> costs(1 + rng() % 60);
    for (auto& c : costs) c = rng() % 4 == 0 ? 33'177'600 : 1 + rng() % 2'000'000;  // a few 8K frames among small images
    const std::uint64_t total = std::accumulate(costs.begin(), costs.end(), std::uint64_t{0});
    const std::uint64_t largest = *std::max_element(costs.begin(), costs.end());
    for (std::size_t n = 1; n <= 17; ++n) {
      std::size_t next = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const batch::index_range r = batch::shard_by_cost(costs, {i, n});
        ASSERT_EQ(r.first, next) << "shard " << i << "/" << n;
        ASSERT_LE(r.first, r.last);
        const std::uint64_t cost = std::accumulate(costs.begin() + r.first, costs.begin() + r.last, std::uint64_t{0});
        EXPECT_LE(std::abs(double(cost) - double(total) / n), double(largest)) << "shard " << i << "/" << n;
        next = r.last;
      }
      EXPECT_EQ(next, costs.size()) << n << " shards";
    }
  }
}

TEST(ShardByCost, OneHeavyItemTakesAShardOfItsOwnAndZeroCostsSplitByCount) {
  const std::vector<std::uint64_t> costs{1, 1, 100, 1, 1};
  // The middle of the heavy item's cost is at 52.5 of 104: shard 1 of 2, with what follows it.
  EXPECT_EQ(batch::shard_by_cost(costs, {0, 2}).first, 0u);
  EXPECT_EQ(batch::shard_by_cost(costs, {0, 2}).last, 2u);
  EXPECT_EQ(batch::shard_by_cost(costs, {1, 2}).last, 5u);
  const std::vector<std::uint64_t> zeros(10, 0);
  EXPECT_EQ(batch::shard_by_cost(zeros, {1, 3}).first, batch::shard_of(10, {1, 3}).first);
  EXPECT_EQ(batch::shard_by_cost(zeros, {1, 3}).last, batch::shard_of(10, {1, 3}).last);
  EXPECT_TRUE(throws_error([&] { (void)batch::shard_by_cost(costs, {2, 2}); }, vb::errc::invalid_argument, {"2/2"}));
}

// --shard auto: what Slurm job arrays and Kubernetes Indexed Jobs put in the environment.
batch::shard shard_in(const std::map<std::string, std::string>& env) {
  return batch::shard_from_environment([&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ShardFromEnvironment, ReadsSlurmArraysIncludingOffsetsAndSteps) {
  // sbatch --array=0-7
  batch::shard s = shard_in({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "0"}});
  EXPECT_EQ(s.index, 3u);
  EXPECT_EQ(s.count, 8u);
  // sbatch --array=1-4: ids start at 1
  s = shard_in({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}});
  EXPECT_EQ(s.index, 3u);
  EXPECT_EQ(s.count, 4u);
  // sbatch --array=10-40:10
  s = shard_in({{"SLURM_ARRAY_TASK_ID", "30"},
                {"SLURM_ARRAY_TASK_COUNT", "4"},
                {"SLURM_ARRAY_TASK_MIN", "10"},
                {"SLURM_ARRAY_TASK_STEP", "10"}});
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 4u);
}

TEST(ShardFromEnvironment, ReadsKubernetesIndexedJobsWithTheirCount) {
  const batch::shard s = shard_in({{"JOB_COMPLETION_INDEX", "5"}, {"VBATCH_SHARD_COUNT", "6"}});
  EXPECT_EQ(s.index, 5u);
  EXPECT_EQ(s.count, 6u);
  // Both schedulers agreeing is fine (a Slurm job inside a pod, say).
  EXPECT_EQ(shard_in({{"JOB_COMPLETION_INDEX", "1"},
                      {"VBATCH_SHARD_COUNT", "2"},
                      {"SLURM_ARRAY_TASK_ID", "1"},
                      {"SLURM_ARRAY_TASK_COUNT", "2"},
                      {"SLURM_ARRAY_TASK_MIN", "0"}})
                .index,
            1u);
}

TEST(ShardFromEnvironment, RefusesMissingMalformedAndInconsistentValuesNamingThem) {
  const auto refused = [](const std::map<std::string, std::string>& env, std::initializer_list<std::string_view> words) {
    return throws_error([&] { (void)shard_in(env); }, vb::errc::invalid_argument, words);
  };
  EXPECT_TRUE(refused({}, {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"}));
  EXPECT_TRUE(refused({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_MIN", "0"}}, {"SLURM_ARRAY_TASK_COUNT"}));
  EXPECT_TRUE(refused({{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}, {"SLURM_ARRAY_TASK_MIN"}));
  EXPECT_TRUE(refused({{"SLURM_ARRAY_TASK_ID", "x3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "0"}},
                      {"SLURM_ARRAY_TASK_ID", "x3"}));
  EXPECT_TRUE(refused({{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "0"}},
                      {"SLURM_ARRAY_TASK_ID=8", "SLURM_ARRAY_TASK_COUNT=8"}));
  EXPECT_TRUE(refused({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}},
                      {"SLURM_ARRAY_TASK_MIN=1"}));
  EXPECT_TRUE(refused({{"SLURM_ARRAY_TASK_ID", "15"},
                       {"SLURM_ARRAY_TASK_COUNT", "4"},
                       {"SLURM_ARRAY_TASK_MIN", "10"},
                       {"SLURM_ARRAY_TASK_STEP", "10"}},
                      {"SLURM_ARRAY_TASK_STEP=10"}));
  EXPECT_TRUE(refused({{"JOB_COMPLETION_INDEX", "2"}}, {"VBATCH_SHARD_COUNT"}));
  EXPECT_TRUE(refused({{"JOB_COMPLETION_INDEX", "2"}, {"VBATCH_SHARD_COUNT", "2"}}, {"JOB_COMPLETION_INDEX=2"}));
  EXPECT_TRUE(refused({{"JOB_COMPLETION_INDEX", "-1"}, {"VBATCH_SHARD_COUNT", "2"}}, {"JOB_COMPLETION_INDEX", "-1"}));
  EXPECT_TRUE(refused({{"JOB_COMPLETION_INDEX", "0"},
                       {"VBATCH_SHARD_COUNT", "2"},
                       {"SLURM_ARRAY_TASK_ID", "1"},
                       {"SLURM_ARRAY_TASK_COUNT", "2"},
                       {"SLURM_ARRAY_TASK_MIN", "0"}},
                      {"Slurm", "1/2", "Kubernetes", "0/2"}));
}

}  // namespace
