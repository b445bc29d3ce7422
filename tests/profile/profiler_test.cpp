// Profiling: stage times and the I/O share of a synthetic pipeline with known sleeps; the JSON is
// valid and complete; the SVG is a drawing of the stages.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "test_util.hpp"
#include "vbatch/profile/profiler.hpp"

namespace {

namespace profile = vbatch::profile;
using namespace std::chrono_literals;

// Reads 30 ms, computes 10 ms, writes 20 ms per item, for 4 items: I/O is 200 of 240 ms.
profile::run_report synthetic_run() {
  profile::profiler prof;
  for (int item = 0; item < 4; ++item) {
    {
      auto t = prof.busy("read", profile::stage_kind::io);
      std::this_thread::sleep_for(30ms);
    }
    {
      auto t = prof.busy("compute");
      std::this_thread::sleep_for(10ms);
    }
    prof.count("compute", 1, 1920 * 1080);
    {
      auto t = prof.busy("write", profile::stage_kind::io);
      std::this_thread::sleep_for(20ms);
    }
    {
      auto t = prof.waiting("write", profile::stage_kind::io);
      std::this_thread::sleep_for(5ms);
    }
  }
  prof.record_peak("host", 12345);
  return prof.report();
}

TEST(Profiler, ReportsTheIoShareOfKnownSleepsWithinFivePercentagePoints) {
  const profile::run_report r = synthetic_run();
  ASSERT_EQ(r.stages.size(), 3u);
  EXPECT_EQ(r.stages[0].name, "read");
  EXPECT_EQ(r.stages[1].name, "compute");
  EXPECT_EQ(r.stages[2].name, "write");
  // Sleeps last at least as asked and rarely much longer: the tolerances are for a busy machine.
  EXPECT_NEAR(r.stages[0].busy, 0.120, 0.030);
  EXPECT_NEAR(r.stages[1].busy, 0.040, 0.030);
  EXPECT_NEAR(r.stages[2].busy, 0.080, 0.030);
  EXPECT_NEAR(r.stages[2].waiting, 0.020, 0.030);
  EXPECT_NEAR(r.io_share(), 200.0 / 240.0, 0.05);
  EXPECT_GE(r.wall, 0.260);
  EXPECT_EQ(r.stages[1].items, 4u);
  EXPECT_EQ(r.stages[1].pixels, 4u * 1920 * 1080);
  vbatch_test::record("profiler_io_share", r.io_share());
}

// A stage first seen by count() takes its kind from the timer that comes later (the io share of
// a loader counted before it is timed would otherwise be 0).
TEST(Profiler, ATimerSetsTheKindOfAStageFirstCounted) {
  profile::profiler prof;
  prof.count("decode", 4);
  prof.add("decode", profile::stage_kind::io, 1.0, 0);
  prof.add("remap", profile::stage_kind::compute, 1.0, 0);
  const auto r = prof.report();
  EXPECT_EQ(r.stages.at(0).kind, profile::stage_kind::io);
  EXPECT_EQ(r.stages.at(0).items, 4u);
  EXPECT_DOUBLE_EQ(r.io_share(), 0.5);
}

TEST(Profiler, SumsBusyTimeOverThreads) {
  profile::profiler prof;
  std::vector<std::jthread> workers;
  for (int t = 0; t < 3; ++t)
    workers.emplace_back([&] {
      auto s = prof.busy("decode", profile::stage_kind::io);
      std::this_thread::sleep_for(40ms);
    });
  workers.clear();
  const auto r = prof.report();
  EXPECT_NEAR(r.stages.at(0).busy, 0.120, 0.040);
  EXPECT_LT(r.wall, r.stages.at(0).busy);  // three threads at once
}

TEST(Profiler, JsonIsValidAndHasEveryField) {
  const profile::run_report r = synthetic_run();
  const nlohmann::json j = nlohmann::json::parse(r.json());
  EXPECT_NEAR(j.at("wall_seconds").get<double>(), r.wall, 1e-6);
  EXPECT_NEAR(j.at("io_share").get<double>(), r.io_share(), 1e-6);
  EXPECT_GT(j.at("peak_rss_bytes").get<std::uint64_t>(), 0u);
  EXPECT_EQ(j.at("peak_memory_bytes").at("host").get<std::int64_t>(), 12345);
  ASSERT_EQ(j.at("stages").size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& s = j.at("stages")[i];
    EXPECT_EQ(s.at("name").get<std::string>(), r.stages[i].name);
    EXPECT_EQ(s.at("kind").get<std::string>(), profile::to_string(r.stages[i].kind));
    for (const char* key : {"busy_seconds", "waiting_seconds", "items", "pixels", "items_per_second", "pixels_per_second"})
      EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(j.at("stages")[1].at("items").get<int>(), 4);
}

TEST(Profiler, JsonEscapesNamesAndWritesNullForNonFiniteNumbers) {
  profile::json_writer w;
  w.begin_object()
      .key("a \"quoted\"\n name")
      .value(std::nan(""))
      .key("list")
      .begin_array()
      .value(1)
      .value("x")
      .end_array()
      .end_object();
  const nlohmann::json j = nlohmann::json::parse(w.str());
  EXPECT_TRUE(j.at("a \"quoted\"\n name").is_null());
  EXPECT_EQ(j.at("list")[1].get<std::string>(), "x");
}

TEST(Profiler, TableAndSvgShowEveryStage) {
  const profile::run_report r = synthetic_run();
  const std::string table = r.table(), svg = r.svg();
  for (const char* stage : {"read", "compute", "write"}) {
    EXPECT_NE(table.find(stage), std::string::npos) << stage;
    EXPECT_NE(svg.find(stage), std::string::npos) << stage;
  }
  EXPECT_NE(table.find("I/O share"), std::string::npos);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  std::size_t rects = 0;
  for (std::size_t at = 0; (at = svg.find("<rect x=", at)) != std::string::npos; ++at) ++rects;
  EXPECT_EQ(rects, 6u);  // busy and waiting bars for three stages
}

}  // namespace
