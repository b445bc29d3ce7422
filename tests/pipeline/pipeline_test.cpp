// Pipelines: every item exactly once under random worker counts and queue sizes, in order when
// ordered; the first error cancels cleanly with every item accounted for; a stage that throws on
// item k reports k; nothing half-written; statistics reach the profiler. No assertion depends on
// timing: schedules are shuffled with yields and random amounts of busy work.

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/format.hpp"
#include "vbatch/pipeline/pipeline.hpp"

namespace {

namespace vb = vbatch;
namespace pl = vbatch::pipeline;
using vbatch_test::temp_dir;

// A few microseconds of work, different per item and stage, so workers finish out of order.
void jitter(std::size_t item, unsigned salt) {
  std::minstd_rand rng(unsigned(item) * 7919u + salt);
  const int spins = int(rng() % 200);
  for (int i = 0; i < spins; ++i) {
    if (i % 50 == 0) std::this_thread::yield();
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
}

struct config {
  int workers[3];
  std::size_t queues[3];
  std::size_t items;
};

std::vector<config> random_configs(unsigned seed, int count) {
  std::mt19937 rng(seed);
  std::vector<config> out;
  for (int i = 0; i < count; ++i) {
    config c{};
    for (int s = 0; s < 3; ++s) c.workers[s] = 1 + int(rng() % 4), c.queues[s] = 1 + rng() % 4;
    c.items = rng() % 120;
    out.push_back(c);
  }
  return out;
}

std::string describe(const config& c) {
  return vb::detail::format("workers {}/{}/{}, queues {}/{}/{}, {} items", c.workers[0], c.workers[1], c.workers[2], c.queues[0],
                            c.queues[1], c.queues[2], c.items);
}

void expect_accounting_adds_up(const pl::report& r) {
  EXPECT_EQ(r.done + r.failed + r.cancelled + r.not_started, r.items) << r.summary();
  EXPECT_EQ(r.states.size(), r.items);
  std::size_t counts[4] = {};
  for (pl::item_state s : r.states) ++counts[int(s)];
  EXPECT_EQ(counts[int(pl::item_state::done)], r.done);
  EXPECT_EQ(counts[int(pl::item_state::failed)], r.failed);
  EXPECT_EQ(counts[int(pl::item_state::cancelled)], r.cancelled);
  EXPECT_EQ(counts[int(pl::item_state::not_started)], r.not_started);
  EXPECT_EQ(r.failures.size(), r.failed);
}

TEST(Pipeline, OrderedStagesDeliverEveryItemOnceInOrder) {
  for (const config& c : random_configs(1, 25)) {
    SCOPED_TRACE(describe(c));
    std::vector<std::size_t> seen;
    const pl::report r = pl::run(
        pl::iota(c.items),
        pl::stage("square", [](std::size_t i) { return jitter(i, 1), i * i; }, {.workers = c.workers[0], .queue = c.queues[0]}),
        pl::stage("plus", [](std::size_t v, std::size_t item) { return jitter(item, 2), v + item; },
                  {.workers = c.workers[1], .queue = c.queues[1]}),
        pl::stage("sink", [&](std::size_t v) { seen.push_back(v); }, {.workers = 1, .queue = c.queues[2]}));
    ASSERT_TRUE(r.ok()) << r.summary();
    EXPECT_EQ(r.done, c.items);
    ASSERT_EQ(seen.size(), c.items);
    for (std::size_t i = 0; i < c.items; ++i) ASSERT_EQ(seen[i], i * i + i) << "position " << i;
    expect_accounting_adds_up(r);
  }
}

TEST(Pipeline, UnorderedStagesDeliverEveryItemExactlyOnce) {
  for (const config& c : random_configs(2, 25)) {
    SCOPED_TRACE(describe(c));
    std::mutex m;
    std::multiset<std::size_t> seen;
    const pl::report r = pl::run(pl::iota(c.items),
                                 pl::stage("a", [](std::size_t i) { return jitter(i, 3), i; },
                                           {.workers = c.workers[0], .queue = c.queues[0], .ordered = false}),
                                 pl::stage("b", [](std::size_t i) { return jitter(i, 4), i; },
                                           {.workers = c.workers[1], .queue = c.queues[1], .ordered = false}),
                                 pl::stage("sink",
                                           [&](std::size_t i) {
                                             std::lock_guard lock(m);
                                             seen.insert(i);
                                           },
                                           {.workers = c.workers[2], .queue = c.queues[2]}));
    ASSERT_TRUE(r.ok()) << r.summary();
    ASSERT_EQ(seen.size(), c.items);
    std::size_t expected = 0;
    for (std::size_t v : seen) EXPECT_EQ(v, expected++);  // each index once
  }
}

TEST(Pipeline, MoveOnlyItemsAndVectorSources) {
  std::vector<std::unique_ptr<int>> items;
  for (int i = 0; i < 20; ++i) items.push_back(std::make_unique<int>(i));
  std::vector<int> seen;
  const pl::report r = pl::run(std::move(items),
                               pl::stage("twice",
                                         [](std::unique_ptr<int> p) {
                                           *p *= 2;
                                           return p;
                                         },
                                         {.workers = 3}),
                               pl::stage("sink", [&](std::unique_ptr<int> p) { seen.push_back(*p); }));
  ASSERT_TRUE(r.ok()) << r.summary();
  ASSERT_EQ(seen.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(seen[i], 2 * i);
}

TEST(Pipeline, AGeneratorWithoutACountIsCountedAsItGoes) {
  int next = 0;
  std::size_t sum = 0;
  const pl::report r = pl::run([&]() -> std::optional<int> { return next < 10 ? std::optional(next++) : std::nullopt; },
                               pl::stage("sink", [&](int v) { sum += std::size_t(v); }));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.items, 10u);
  EXPECT_EQ(sum, 45u);
}

// The first error: with finish_earlier, exactly the items before it are done in an ordered run;
// the failing item is reported with its index, stage and message.
TEST(Pipeline, AStageThatThrowsOnItemKReportsKAndFinishesTheItemsBeforeIt) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 30; ++trial) {
    const std::size_t n = 5 + rng() % 80, k = rng() % n;
    const int failing_stage = int(rng() % 3);
    config c{};
    for (int s = 0; s < 3; ++s) c.workers[s] = 1 + int(rng() % 4), c.queues[s] = 1 + rng() % 3;
    c.items = n;
    SCOPED_TRACE(describe(c) + vb::detail::format(", item {} fails in stage {}", k, failing_stage));
    const auto maybe_throw = [&](int stage, std::size_t item) {
      if (stage == failing_stage && item == k)
        throw vb::error(vb::errc::corrupt_data, vb::detail::format("frame_{}.jpg: cannot decode", item));
    };
    std::vector<std::size_t> delivered;
    const pl::report r = pl::run(pl::iota(n),
                                 pl::stage("decode", [&](std::size_t i) { return jitter(i, 5), maybe_throw(0, i), i; },
                                           {.workers = c.workers[0], .queue = c.queues[0]}),
                                 pl::stage("remap", [&](std::size_t i) { return jitter(i, 6), maybe_throw(1, i), i; },
                                           {.workers = c.workers[1], .queue = c.queues[1]}),
                                 pl::stage("save", [&](std::size_t i) { maybe_throw(2, i), delivered.push_back(i); },
                                           {.workers = 1, .queue = c.queues[2]}));
    expect_accounting_adds_up(r);
    ASSERT_EQ(r.failures.size(), 1u) << r.summary();
    EXPECT_EQ(r.failures[0].item, k);
    EXPECT_EQ(r.failures[0].stage, failing_stage == 0 ? "decode" : failing_stage == 1 ? "remap" : "save");
    EXPECT_EQ(r.failures[0].code, vb::errc::corrupt_data);
    EXPECT_NE(r.failures[0].message.find(vb::detail::format("frame_{}.jpg", k)), std::string::npos);
    EXPECT_EQ(r.states[k], pl::item_state::failed);
    // Items before k all done, in order; none after k.
    ASSERT_EQ(delivered.size(), k);
    for (std::size_t i = 0; i < k; ++i) EXPECT_EQ(delivered[i], i);
    EXPECT_EQ(r.done, k);
    for (std::size_t i = k + 1; i < n; ++i)
      EXPECT_TRUE(r.states[i] == pl::item_state::cancelled || r.states[i] == pl::item_state::not_started) << i;
    EXPECT_THROW(r.rethrow(), vb::error);
    EXPECT_NE(r.summary().find(vb::detail::format("item {} failed in", k)), std::string::npos) << r.summary();
  }
}

TEST(Pipeline, StopOnErrorDropsEverythingUnfinishedAndStillAccountsForEveryItem) {
  std::mt19937 rng(4);
  for (int trial = 0; trial < 30; ++trial) {
    const std::size_t n = 10 + rng() % 60, k = rng() % n;
    const int w = 1 + int(rng() % 4);
    std::atomic<std::size_t> sunk{0};
    pl::options o;
    o.policy = pl::on_error::stop;
    const pl::report r =
        pl::run(o, pl::iota(n), pl::stage("a", [&](std::size_t i) { return jitter(i, 7), i; }, {.workers = w, .queue = 2}),
                pl::stage("b",
                          [&](std::size_t i) {
                            if (i == k) throw std::runtime_error("boom");
                            return i;
                          },
                          {.workers = w}),
                pl::stage("sink", [&](std::size_t) { ++sunk; }));
    expect_accounting_adds_up(r);
    ASSERT_EQ(r.failed, 1u);
    EXPECT_EQ(r.failures[0].item, k);
    EXPECT_FALSE(r.failures[0].code.has_value());  // not a vbatch::error
    EXPECT_EQ(r.failures[0].message, "boom");
    EXPECT_EQ(r.done, sunk.load());
    EXPECT_LT(r.done, n);
  }
}

TEST(Pipeline, SeveralFailuresAreReportedByItem) {
  const pl::report r = pl::run(pl::iota(50),
                               pl::stage("a",
                                         [](std::size_t i) {
                                           if (i == 30 || i == 10) throw std::runtime_error("bad " + std::to_string(i));
                                           return i;
                                         },
                                         {.workers = 4, .queue = 8, .ordered = false}),
                               pl::stage("sink", [](std::size_t) {}));
  expect_accounting_adds_up(r);
  ASSERT_GE(r.failures.size(), 1u);
  EXPECT_EQ(r.failures.front().item, 10u);  // the first by item, whatever failed first in time
  for (std::size_t i = 1; i < r.failures.size(); ++i) EXPECT_LT(r.failures[i - 1].item, r.failures[i].item);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(r.states[i], pl::item_state::done) << i;
}

TEST(Pipeline, SkipReportsTheFailedItemsAndFinishesEveryOtherInOrder) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    const std::size_t n = 10 + rng() % 80;
    std::set<std::size_t> bad;  // failing items, each in a random stage
    for (int i = 0; i < 4; ++i) bad.insert(rng() % n);
    const auto stage_of = [](std::size_t item) { return int(item % 3); };
    config c{};
    for (int s = 0; s < 3; ++s) c.workers[s] = 1 + int(rng() % 4), c.queues[s] = 1 + rng() % 3;
    c.items = n;
    SCOPED_TRACE(describe(c));
    const auto maybe_throw = [&](int stage, std::size_t item) {
      if (bad.count(item) && stage_of(item) == stage)
        throw vb::error(vb::errc::corrupt_data, vb::detail::format("frame_{}.jpg", item));
    };
    std::vector<std::size_t> delivered;
    pl::options o;
    o.policy = pl::on_error::skip;
    const pl::report r = pl::run(o, pl::iota(n),
                                 pl::stage("decode", [&](std::size_t i) { return jitter(i, 5), maybe_throw(0, i), i; },
                                           {.workers = c.workers[0], .queue = c.queues[0]}),
                                 pl::stage("remap", [&](std::size_t i) { return jitter(i, 6), maybe_throw(1, i), i; },
                                           {.workers = c.workers[1], .queue = c.queues[1]}),
                                 pl::stage("save", [&](std::size_t i) { maybe_throw(2, i), delivered.push_back(i); },
                                           {.workers = 1, .queue = c.queues[2]}));
    expect_accounting_adds_up(r);
    EXPECT_EQ(r.failed, bad.size()) << r.summary();
    EXPECT_EQ(r.done, n - bad.size());
    std::vector<std::size_t> expected;
    for (std::size_t i = 0; i < n; ++i)
      if (!bad.count(i)) expected.push_back(i);
    EXPECT_EQ(delivered, expected) << "every good item, in order";
    std::size_t f = 0;
    for (std::size_t item : bad) {
      ASSERT_LT(f, r.failures.size());
      EXPECT_EQ(r.failures[f].item, item);
      EXPECT_EQ(r.failures[f].stage, stage_of(item) == 0 ? "decode" : stage_of(item) == 1 ? "remap" : "save");
      EXPECT_EQ(r.failures[f++].message, vb::detail::format("frame_{}.jpg", item));
    }
    EXPECT_FALSE(r.too_many_failures);
  }
}

TEST(Pipeline, SkipStopsTakingItemsOnceTheFailuresPassTheLimit) {
  for (const int workers : {1, 3}) {
    pl::failure_limit limit(3);
    pl::options o;
    o.policy = pl::on_error::skip;
    o.limit = &limit;
    std::atomic<std::size_t> sunk{0};
    const pl::report r = pl::run(o, pl::iota(1000),
                                 pl::stage("work",
                                           [](std::size_t i) {
                                             if (i >= 10) throw std::runtime_error("disk full");  // everything from 10 on fails
                                             return i;
                                           },
                                           {.workers = workers, .queue = 1}),
                                 pl::stage("sink", [&](std::size_t) { ++sunk; }));
    expect_accounting_adds_up(r);
    EXPECT_TRUE(r.too_many_failures);
    EXPECT_EQ(r.done, 10u);
    EXPECT_GE(r.failed, 4u);
    EXPECT_LE(r.failed, 4u + 2u * std::size_t(workers)) << "only the items already taken fail after the limit";
    EXPECT_GT(r.not_started, 900u);
    EXPECT_NE(r.summary().find("too many failures"), std::string::npos) << r.summary();
  }
}

TEST(Pipeline, APartBeyondTheSharedLimitStopsTheFeed) {
  pl::failure_limit limit(0);
  pl::options o;
  o.policy = pl::on_error::skip;
  o.limit = &limit;
  const pl::report r = pl::run(o, pl::iota(1000),
                               pl::stage("sink",
                                         [&](std::size_t i) {
                                           if (i == 5) limit.add();  // as a loader or writer sharing the limit would
                                         },
                                         {.queue = 0}));
  expect_accounting_adds_up(r);
  EXPECT_TRUE(r.too_many_failures);
  EXPECT_LT(r.done, 10u);
  EXPECT_EQ(r.failed, 0u);
}

TEST(Pipeline, ASourceThatThrowsFailsTheItemItWasProducing) {
  std::size_t next = 0;
  std::vector<std::size_t> seen;
  const pl::report r = pl::run(pl::generate(
                                   [&]() -> std::optional<std::size_t> {
                                     if (next == 7) throw vb::error(vb::errc::io, "frames/0007.jpg: cannot open");
                                     return next++;
                                   },
                                   20),
                               pl::stage("sink", [&](std::size_t i) { seen.push_back(i); }));
  expect_accounting_adds_up(r);
  EXPECT_EQ(r.items, 20u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].item, 7u);
  EXPECT_EQ(r.failures[0].stage, "source");
  EXPECT_EQ(r.done, 7u);
  EXPECT_EQ(r.not_started, 12u);
  EXPECT_EQ(seen.size(), 7u);
}

TEST(Pipeline, AStopRequestDropsWhatIsNotFinished) {
  std::stop_source stop;
  pl::options o;
  o.stop = stop.get_token();
  const pl::report r = pl::run(o, pl::iota(200),
                               pl::stage("a",
                                         [&](std::size_t i) {
                                           if (i == 40) stop.request_stop();
                                           return i;
                                         },
                                         {.workers = 2}),
                               pl::stage("sink", [](std::size_t) {}));
  expect_accounting_adds_up(r);
  EXPECT_TRUE(r.stopped);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failed, 0u);
  EXPECT_LT(r.done, 200u);
  EXPECT_THROW(r.rethrow(), vb::error);
}

// Outputs written atomically in the last stage: after a failure the directory holds exactly the
// finished items' files and no temporary file.
TEST(Pipeline, ACancelledRunLeavesOnlyCompleteFilesAndNoTemporaries) {
  temp_dir dir;
  const std::size_t n = 40, k = 23;
  const pl::report r = pl::run(pl::iota(n),
                               pl::stage("make",
                                         [&](std::size_t i) {
                                           if (i == k) throw vb::error(vb::errc::corrupt_data, "item 23 is broken");
                                           return std::vector<unsigned char>(1000 + i, static_cast<unsigned char>(i));
                                         },
                                         {.workers = 3}),
                               pl::stage("write",
                                         [&](std::vector<unsigned char> bytes, std::size_t item) {
                                           vb::io::write_file_atomically(dir / ("out_" + std::to_string(item) + ".bin"),
                                                                         bytes.data(), bytes.size());
                                         },
                                         {.workers = 2}));
  expect_accounting_adds_up(r);
  std::vector<std::string> expected;
  for (std::size_t i = 0; i < n; ++i)
    if (r.states[i] == pl::item_state::done) expected.push_back("out_" + std::to_string(i) + ".bin");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(dir.entries(), expected);
  EXPECT_EQ(r.done, k);
  for (const std::string& f : dir.entries()) {
    const std::size_t i = std::stoul(f.substr(4));
    EXPECT_EQ(std::filesystem::file_size(dir / f), 1000 + i) << f;
  }
}

TEST(Pipeline, StatisticsReachTheProfiler) {
  vb::profile::profiler prof;
  pl::options o;
  o.profiler = &prof;
  o.source_name = "frames";
  const pl::report r = pl::run(
      o, pl::iota(12), pl::stage("decode", [](std::size_t i) { return i; }, {.workers = 2, .kind = vb::profile::stage_kind::io}),
      pl::stage("save", [](std::size_t) {}));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.stages.size(), 3u);
  EXPECT_EQ(r.stages[0].name, "frames");
  EXPECT_EQ(r.stages[1].name, "decode");
  EXPECT_EQ(r.stages[1].workers, 2);
  EXPECT_EQ(r.stages[1].items, 12u);
  EXPECT_EQ(r.stages[2].items, 12u);
  const auto report = prof.report();
  ASSERT_EQ(report.stages.size(), 3u);
  EXPECT_EQ(report.stages[1].name, "decode");
  EXPECT_EQ(report.stages[1].kind, vb::profile::stage_kind::io);
  EXPECT_EQ(report.stages[1].items, 12u);
  EXPECT_EQ(report.stages[2].kind, vb::profile::stage_kind::compute);
  for (const auto& s : r.stages) EXPECT_GE(s.busy, 0.0);
}

TEST(Pipeline, NegativeWorkerCountsAreRejectedBeforeAnyWork) {
  bool ran = false;
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] { (void)pl::run(pl::iota(3), pl::stage("bad", [&](std::size_t) { ran = true; }, {.workers = -1})); },
      vb::errc::invalid_argument, {"bad", "-1"}));
  EXPECT_FALSE(ran);
}

TEST(Pipeline, ZeroItemsIsAnEmptySuccessfulRun) {
  const pl::report r = pl::run(pl::iota(0), pl::stage("a", [](std::size_t i) { return i; }, {.workers = 3}),
                               pl::stage("sink", [](std::size_t) {}));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.items, 0u);
}

}  // namespace
