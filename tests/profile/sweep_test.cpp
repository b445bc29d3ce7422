// Batch-size sweeps: where they stop, what they recommend, and their reports.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "test_util.hpp"
#include "vbatch/profile/sweep.hpp"

namespace {

namespace vb = vbatch;
namespace profile = vbatch::profile;
using vbatch_test::throws_error;

TEST(Sweep, DoublesUntilOutOfMemoryAndRecordsTheFailure) {
  std::vector<std::size_t> sizes;
  const auto points = profile::sweep([&](std::size_t n) {
    sizes.push_back(n);
    if (n > 40) throw std::bad_alloc();
    return profile::trial{n, std::int64_t(n) * 1000, 0.001 + 0.00002 * double(n)};  // the rate keeps improving
  });
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 2, 4, 8, 16, 32, 64}));
  ASSERT_EQ(points.size(), 7u);
  EXPECT_TRUE(points.back().out_of_memory);
  EXPECT_EQ(points[3].peak_bytes, 8000);
  EXPECT_GT(points[3].items_per_second, 0);
}

TEST(Sweep, StopsWhenTheRatePlateausAndRecommendsTheSmallestNearTheBest) {
  // A simulated cost, 2 ms per batch plus 0.1 ms per item: rates climb, then flatten.
  const auto points = profile::sweep(
      [](std::size_t n) {
        return profile::trial{n, 0, 0.002 + 0.0001 * double(n)};
      },
      {1, 4096, 1.05, 2, 1});
  // Rates n / (2 + 0.1 n) per ms: 256 -> 512 gains 4 % and 512 -> 1024 2 %: two flat steps.
  ASSERT_EQ(points.back().size, 1024u);
  const std::size_t last = points.back().size;
  EXPECT_LT(last, 4096u);  // stopped on the plateau, not at the maximum
  const std::size_t pick = profile::recommended_size(points, 0.10);
  double best = 0;
  for (const auto& p : points) best = std::max(best, p.items_per_second);
  for (const auto& p : points) {
    if (p.size == pick) {
      EXPECT_GE(p.items_per_second, 0.9 * best);
    } else if (p.size < pick) {
      EXPECT_LT(p.items_per_second, 0.9 * best) << p.size;
    }
  }
}

TEST(Sweep, RecommendsNothingWhenNothingFits) {
  const auto points = profile::sweep([](std::size_t) -> profile::trial { throw std::bad_alloc(); });
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(profile::recommended_size(points), 0u);
}

TEST(Sweep, OtherErrorsPropagateAndBadOptionsAreRejected) {
  EXPECT_TRUE(throws_error([] { profile::sweep([](std::size_t) -> profile::trial { vb::raise(vb::errc::io, "broken"); }); },
                           vb::errc::io, {"broken"}));
  EXPECT_TRUE(throws_error(
      [] {
        profile::sweep([](std::size_t n) { return profile::trial{n, 0}; }, {0, 8});
      },
      vb::errc::invalid_argument, {"0..8"}));
  EXPECT_TRUE(throws_error(
      [] {
        profile::sweep([](std::size_t n) { return profile::trial{n, 0}; }, {16, 8});
      },
      vb::errc::invalid_argument, {"16..8"}));
}

TEST(Sweep, TimesTheCallItselfWhenTheTrialGivesNoSeconds) {
  const auto points = profile::sweep(
      [](std::size_t n) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return profile::trial{n, 0};
      },
      {1, 1, 1.05, 2, 1});
  ASSERT_EQ(points.size(), 1u);
  EXPECT_GE(points[0].seconds, 0.005);  // sleeping never returns early
}

TEST(Sweep, ReportsAreCompleteAndMarkTheRecommendation) {
  std::vector<profile::sweep_point> points = {
      {1, 1.0, 10, 100, false}, {2, 1.0, 19, 200, false}, {4, 1.0, 20, 400, false}, {8, 0, 0, 0, true}};
  EXPECT_EQ(profile::recommended_size(points), 2u);  // 19 is within 5 % of 20
  const std::string table = profile::sweep_table(points, "frames");
  EXPECT_NE(table.find("frames/s"), std::string::npos);
  EXPECT_NE(table.find("out of memory"), std::string::npos);
  EXPECT_NE(table.find("<- recommended"), std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(profile::sweep_json(points));
  EXPECT_EQ(j.at("recommended_size").get<int>(), 2);
  ASSERT_EQ(j.at("points").size(), 4u);
  EXPECT_TRUE(j.at("points")[3].at("out_of_memory").get<bool>());
  EXPECT_EQ(j.at("points")[2].at("peak_bytes").get<int>(), 400);
  const std::string svg = profile::sweep_svg(points, "e2p", "frames");
  std::size_t dots = 0;
  for (std::size_t at = 0; (at = svg.find("<circle", at)) != std::string::npos; ++at) ++dots;
  EXPECT_EQ(dots, 3u);  // one per size that ran
  EXPECT_NE(svg.find("recommended"), std::string::npos);
}

}  // namespace
