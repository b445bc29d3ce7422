// Flatten, run in batches, scatter: every output back at its item's key for ragged nested inputs
// (empty inner ranges, several depths, other containers), with out-of-memory back-offs and
// per-item failures in between; failures name their keys and stop nothing else.

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <filesystem>
#include <list>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/model/scatter.hpp"

namespace {

namespace vb = vbatch;
namespace batch = vbatch::batch;
namespace model = vbatch::model;

// scene -> track -> frame -> box, each leaf naming its own place, with empty tracks and scenes.
using box_id = std::array<int, 4>;  // a leaf that is itself a range
}  // namespace

template <>
inline constexpr bool vbatch::model::treat_as_leaf<box_id> = true;

namespace {

std::vector<std::vector<std::vector<std::vector<box_id>>>> ragged_scenes() {
  std::vector<std::vector<std::vector<std::vector<box_id>>>> scenes(5);
  const int tracks[] = {3, 0, 1, 4, 2}, frames[] = {2, 0, 5, 1, 3};
  for (int s = 0; s < 5; ++s) {
    scenes[s].resize(tracks[s]);
    for (int t = 0; t < tracks[s]; ++t) {
      scenes[s][t].resize((frames[(s + t) % 5] + t) % 4);
      for (int f = 0; f < int(scenes[s][t].size()); ++f)
        for (int b = 0; b < (s * 7 + t * 3 + f) % 4; ++b) scenes[s][t][f].push_back({s, t, f, b});
    }
  }
  return scenes;
}

// A fake model: output = a number computed from the leaf, so each output says where it belongs.
int code(const box_id& b) { return ((b[0] * 10 + b[1]) * 10 + b[2]) * 10 + b[3]; }

TEST(Flatten, ListsLeavesDepthFirstWithTheirPaths) {
  const auto scenes = ragged_scenes();
  const auto flat = model::flatten(scenes);
  ASSERT_EQ(flat.items.size(), flat.keys.size());
  ASSERT_GT(flat.items.size(), 20u);
  std::vector<box_id> expected;
  for (const auto& s : scenes)
    for (const auto& t : s)
      for (const auto& f : t)
        for (const auto& b : f) expected.push_back(b);
  EXPECT_EQ(flat.items, expected);
  for (std::size_t i = 0; i < flat.items.size(); ++i) {
    const box_id& b = flat.items[i];
    EXPECT_EQ(flat.keys[i].path, (std::vector<int>{b[0], b[1], b[2], b[3]}));
  }
}

TEST(Flatten, WorksOnOtherContainersDepthsAndLabels) {
  const std::list<std::deque<std::string>> frames = {{"a.jpg", "b.jpg"}, {}, {"c.jpg"}};  // strings are leaves
  const auto flat = model::flatten(frames, [](const std::string& name) { return "file " + name; });
  EXPECT_EQ(flat.items, (std::vector<std::string>{"a.jpg", "b.jpg", "c.jpg"}));
  EXPECT_EQ(flat.keys[2].path, (std::vector<int>{2, 0}));
  EXPECT_EQ(model::to_string(flat.keys[1]), "0/1 (file b.jpg)");

  const std::vector<std::vector<std::filesystem::path>> paths = {{"x/y.png"}, {"z.png", "w.png"}};  // a path is a range of paths
  EXPECT_EQ(model::flatten(paths).keys.back().path, (std::vector<int>{1, 1}));
  EXPECT_EQ(model::scatter(paths, std::vector<int>{7, 8, 9}), (std::vector<std::vector<int>>{{7}, {8, 9}}));
}

TEST(Scatter, PutsEachOutputBackAtItsKeyWithEmptyRangesKept) {
  const auto scenes = ragged_scenes();
  const auto flat = model::flatten(scenes);
  std::vector<int> outputs;
  for (const box_id& b : flat.items) outputs.push_back(code(b));
  const auto nested = model::scatter(scenes, outputs);
  ASSERT_EQ(nested.size(), scenes.size());
  for (std::size_t s = 0; s < scenes.size(); ++s) {
    ASSERT_EQ(nested[s].size(), scenes[s].size());
    for (std::size_t t = 0; t < scenes[s].size(); ++t) {
      ASSERT_EQ(nested[s][t].size(), scenes[s][t].size());
      for (std::size_t f = 0; f < scenes[s][t].size(); ++f) {
        ASSERT_EQ(nested[s][t][f].size(), scenes[s][t][f].size());
        for (std::size_t b = 0; b < scenes[s][t][f].size(); ++b) EXPECT_EQ(nested[s][t][f][b], code(scenes[s][t][f][b]));
      }
    }
  }
  EXPECT_TRUE(vbatch_test::throws_error([&] { model::scatter(scenes, std::vector<int>(3)); }, vb::errc::invalid_argument,
                                        {"3 outputs", std::to_string(flat.items.size()) + " items"}));
}

// A simulated device: a batch of more than `fits` items runs out of memory; items whose code is
// in `broken` throw (a corrupt crop, say) whatever batch they are in.
struct fake_model {
  std::size_t fits;
  std::set<int> broken = {};
  std::vector<std::size_t> batch_sizes = {};
  std::vector<int> calls_per_item = std::vector<int>(10000);

  std::vector<int> operator()(std::span<const box_id> batch) {
    batch_sizes.push_back(batch.size());
    if (batch.size() > fits) throw std::bad_alloc();
    std::vector<int> out;
    for (const box_id& b : batch) {
      if (broken.count(code(b))) throw std::runtime_error("cannot read box " + std::to_string(code(b)));
      out.push_back(code(b));
    }
    for (const box_id& b : batch) ++calls_per_item[code(b)];
    return out;
  }
};

TEST(RunBatches, BacksOffAndReportsFailuresByKeyWithoutLosingTheOthers) {
  const auto scenes = ragged_scenes();
  const auto flat = model::flatten(scenes);
  const int first_broken = code(flat.items[3]), second_broken = code(flat.items[flat.items.size() - 2]);
  fake_model m{.fits = 5, .broken = {first_broken, second_broken}};
  batch::backoff<batch::fixed> policy(batch::fixed(16), 2);
  const auto results = model::run_batches(flat, policy, [&](std::span<const box_id> b) { return m(b); });

  EXPECT_GT(policy.backoffs(), 0u);
  EXPECT_GT(results.summary.retries, 0u);
  ASSERT_EQ(results.failures.size(), 2u);
  EXPECT_EQ(results.failures[0].index, 3u);
  EXPECT_EQ(results.failures[0].key, flat.keys[3]);
  EXPECT_NE(results.failures[0].reason.find("cannot read box " + std::to_string(first_broken)), std::string::npos);
  EXPECT_EQ(results.failures[1].key, flat.keys[flat.items.size() - 2]);

  const auto nested = model::scatter(scenes, results.outputs);
  for (std::size_t i = 0; i < flat.items.size(); ++i) {
    const auto& p = flat.keys[i].path;
    const std::optional<int>& out = nested[p[0]][p[1]][p[2]][p[3]];
    const int c = code(flat.items[i]);
    if (c == first_broken || c == second_broken) {
      EXPECT_FALSE(out.has_value()) << model::to_string(flat.keys[i]);
    } else {
      ASSERT_TRUE(out.has_value()) << model::to_string(flat.keys[i]);
      EXPECT_EQ(*out, c);
      EXPECT_EQ(m.calls_per_item[c], 1) << "item " << model::to_string(flat.keys[i]) << " not kept exactly once";
    }
  }
  for (std::size_t size : m.batch_sizes) EXPECT_LE(size, 16u);
}

TEST(RunBatches, WithoutBackoffRunningOutOfMemoryIsAnError) {
  const auto flat = model::flatten(ragged_scenes());
  fake_model m{.fits = 2};
  batch::fixed policy(4);
  EXPECT_TRUE(
      vbatch_test::throws_error([&] { model::run_batches(flat, policy, [&](std::span<const box_id> b) { return m(b); }); },
                                vb::errc::out_of_memory, {"batch of 4"}));
}

}  // namespace
