// Grouping by key and sharding: disjoint, complete, deterministic, order kept within groups.

#include <gtest/gtest.h>

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

}  // namespace
