// Executors: every index visited exactly once, empty extents, thread use, exceptions from worker
// threads, for_each_item, executor_traits and the executor concept, cpu_par under a thread budget.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;

// Runs `exec` over `e` and returns how often each (n, y, x) was visited, plus checks the
// indices are in range.
template <class Exec>
std::vector<int> visit_counts(const Exec& exec, vb::extent3 e) {
  const std::size_t size = std::size_t(std::max(e.n, 0)) * std::max(e.h, 0) * std::max(e.w, 0);
  auto counts = std::make_unique<std::atomic<int>[]>(size);
  for (std::size_t i = 0; i < size; ++i) counts[i] = 0;
  std::atomic<int> out_of_range{0};
  vb::for_each_index(exec, e, [&](int i, int y, int x) {
    if (i < 0 || i >= e.n || y < 0 || y >= e.h || x < 0 || x >= e.w) {
      ++out_of_range;
      return;
    }
    counts[(std::size_t(i) * e.h + y) * e.w + x].fetch_add(1, std::memory_order_relaxed);
  });
  EXPECT_EQ(out_of_range.load(), 0);
  std::vector<int> result(size);
  for (std::size_t i = 0; i < size; ++i) result[i] = counts[i].load();
  return result;
}

const vb::extent3 extents[] = {{1, 1, 1}, {3, 17, 29}, {2, 1, 100}, {1, 100, 1}, {5, 2, 3}, {7, 64, 33}, {1, 3, 1}};

TEST(ForEachIndex, SerialVisitsEveryIndexExactlyOnceInRowMajorOrder) {
  for (const vb::extent3 e : extents) {
    SCOPED_TRACE(testing::Message() << e.n << "x" << e.h << "x" << e.w);
    for (int c : visit_counts(vb::cpu_serial{}, e)) ASSERT_EQ(c, 1);
  }
  std::vector<int> order;
  vb::for_each_index(vb::cpu_serial{}, {2, 2, 3}, [&](int i, int y, int x) { order.push_back((i * 2 + y) * 3 + x); });
  for (std::size_t k = 0; k < order.size(); ++k) EXPECT_EQ(order[k], int(k));
}

TEST(ForEachIndex, ParallelVisitsEveryIndexExactlyOnceForAnyThreadCount) {
  for (int threads : {1, 2, 3, 7, 0}) {
    for (const vb::extent3 e : extents) {
      SCOPED_TRACE(testing::Message() << threads << " threads, " << e.n << "x" << e.h << "x" << e.w);
      const std::vector<int> counts = visit_counts(vb::cpu_par{threads}, e);
      ASSERT_EQ(counts.size(), std::size_t(e.n) * e.h * e.w);
      for (int c : counts) ASSERT_EQ(c, 1);
    }
  }
}

TEST(ForEachIndex, ParallelVisitsALargeExtentExactlyOnce) {
  // Many more rows than threads × 16, so the chunked hand-out runs many rounds.
  const vb::extent3 e{3, 1001, 7};
  for (int threads : {2, 3, 7}) {
    SCOPED_TRACE(threads);
    for (int c : visit_counts(vb::cpu_par{threads}, e)) ASSERT_EQ(c, 1);
  }
}

TEST(ForEachIndex, EmptyOrNegativeExtentsVisitNothing) {
  const vb::extent3 empties[] = {{0, 5, 5}, {5, 0, 5}, {5, 5, 0}, {-1, 5, 5}, {5, -2, 5}, {5, 5, -3}, {0, 0, 0}};
  for (const vb::extent3 e : empties) {
    int calls = 0;
    std::atomic<int> par_calls{0};
    vb::for_each_index(vb::cpu_serial{}, e, [&](int, int, int) { ++calls; });
    vb::for_each_index(vb::cpu_par{3}, e, [&](int, int, int) { ++par_calls; });
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(par_calls.load(), 0);
  }
}

TEST(ForEachIndex, SerialRunsOnTheCallingThread) {
  const auto me = std::this_thread::get_id();
  bool elsewhere = false;
  vb::for_each_index(vb::cpu_serial{}, {2, 8, 8}, [&](int, int, int) { elsewhere |= std::this_thread::get_id() != me; });
  EXPECT_FALSE(elsewhere);
}

TEST(ForEachIndex, ParallelUsesAtMostTheRequestedThreads) {
  for (int threads : {1, 2, 3, 7}) {
    std::mutex m;
    std::set<std::thread::id> ids;
    vb::for_each_index(vb::cpu_par{threads}, {4, 200, 4}, [&](int, int, int) {
      std::lock_guard lock(m);
      ids.insert(std::this_thread::get_id());
    });
    EXPECT_GE(ids.size(), 1u);
    EXPECT_LE(ids.size(), std::size_t(threads)) << threads << " threads requested";
    if (threads == 1) {
      EXPECT_EQ(*ids.begin(), std::this_thread::get_id());
    }
  }
}

TEST(CpuPar, ThreadCountIsTheRequestOrTheHardware) {
  EXPECT_EQ(vb::cpu_par{3}.thread_count(), 3);
  EXPECT_EQ(vb::cpu_par{1}.thread_count(), 1);
  EXPECT_GE(vb::cpu_par{0}.thread_count(), 1);
  EXPECT_EQ(vb::cpu_par{0}.thread_count(), int(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(vb::cpu_par{0}.thread_count(), vb::hardware_threads());
}

TEST(ExecutorTraits, DescribeTheCpuExecutors) {
  static_assert(vb::executor<vb::cpu_serial> && vb::executor<const vb::cpu_par&>);
  static_assert(vb::host_executor<vb::cpu_serial> && vb::host_executor<vb::cpu_par&>);
  static_assert(!vb::executor<int> && !vb::host_executor<int>);
  static_assert(std::is_same_v<vb::executor_traits<vb::cpu_serial>::memory, vb::host_memory>);
  static_assert(std::is_same_v<vb::executor_traits<vb::cpu_par>::memory, vb::host_memory>);
  static_assert(vb::executor_traits<vb::cpu_par>::chunks_per_thread > 0);
  EXPECT_EQ(vb::executor_traits<vb::cpu_serial>::concurrency({}), 1);
  EXPECT_EQ(vb::executor_traits<vb::cpu_par>::concurrency(vb::cpu_par{3}), 3);
  EXPECT_EQ(vb::executor_traits<vb::cpu_par>::concurrency(vb::cpu_par{0}), vb::hardware_threads());
  vb::executor_traits<vb::cpu_serial>::synchronize({});  // nothing to wait for, but callable
  vb::executor_traits<vb::cpu_par>::synchronize(vb::cpu_par{2});
}

// A type with traits but no for_each_index, and one with for_each_index but no traits: neither is
// an executor.
struct traits_only {};
struct loop_only {};
template <class F>
void for_each_index(const loop_only&, vb::extent3, F&&) {}
}  // namespace
template <>
struct vbatch::executor_traits<traits_only> {
  using memory = vbatch::host_memory;
  static constexpr bool host = true;
  static int concurrency(const traits_only&) { return 1; }
  static void synchronize(const traits_only&) {}
};
namespace {

TEST(ExecutorConcept, NeedsBothTraitsAndForEachIndex) {
  static_assert(!vb::executor<traits_only>);
  static_assert(!vb::executor<loop_only>);
}

// f(i, y, x) = a hash of the index, written where it belongs: any thread count gives the same bytes.
std::vector<std::uint32_t> index_hashes(const vb::cpu_par& exec, vb::extent3 e) {
  std::vector<std::uint32_t> out(std::size_t(e.n) * e.h * e.w);
  vb::for_each_index(exec, e, [&](int i, int y, int x) {
    out[(std::size_t(i) * e.h + y) * e.w + x] = std::uint32_t(i) * 2654435761u ^ std::uint32_t(y) * 40503u ^ std::uint32_t(x);
  });
  return out;
}

TEST(CpuParBudget, ResultsAreIdenticalWhateverTheBudget) {
  const vb::extent3 e{3, 257, 19};
  const std::vector<std::uint32_t> expected = index_hashes(vb::cpu_par{1}, e);
  for (int size : {1, 2, 3}) {
    SCOPED_TRACE(testing::Message() << "budget of " << size);
    vb::thread_budget budget(size);
    EXPECT_EQ(index_hashes(vb::cpu_par{3, &budget}, e), expected);
    EXPECT_LE(budget.peak(), size);
    EXPECT_GE(budget.peak(), 1) << "the caller took no slot";
    EXPECT_EQ(budget.try_acquire(size).count(), size) << "slots were not given back";
    for (int c : visit_counts(vb::cpu_par{3, &budget}, e)) ASSERT_EQ(c, 1);
  }
}

TEST(CpuParBudget, ACallerHoldingTheOnlySlotStillCompletesOnItsOwnThread) {
  vb::thread_budget budget(1);
  const auto slot = budget.acquire();
  ASSERT_EQ(slot.count(), 1);
  std::mutex m;
  std::set<std::thread::id> ids;
  vb::for_each_index(vb::cpu_par{4, &budget}, {2, 300, 3}, [&](int, int, int) {
    std::lock_guard lock(m);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(ids, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(budget.peak(), 1);
}

TEST(CpuParBudget, HelpersTakeOnlyFreeSlots) {
  vb::thread_budget budget(2);
  const auto elsewhere = budget.try_acquire(1);  // another stage computing: one slot left, for the caller
  ASSERT_EQ(elsewhere.count(), 1);
  std::mutex m;
  std::set<std::thread::id> ids;
  vb::for_each_index(vb::cpu_par{4, &budget}, {4, 500, 2}, [&](int, int, int) {
    std::lock_guard lock(m);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(ids, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(budget.peak(), 2);
}

// A kernel called inside a budgeted job (an item's kernel) on a pool worker: the worker's slot is
// already taken for it, so asking for another would wait forever once the budget is full.
TEST(CpuParBudget, NestedCallsWithTheSameBudgetComplete) {
  vb::thread_budget budget(2);
  const vb::cpu_par exec{2, &budget};
  constexpr int items = 64, h = 40, w = 8;
  std::vector<std::atomic<int>> hits(items * h * w);
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> worker_started{false};
  vb::for_each_item(exec, items, [&](int i) {
    if (std::this_thread::get_id() != caller) {
      worker_started = true;
    } else {
      // Hold the caller until a worker has an item too, so a nested call does run on a worker
      // (bounded wait: never hangs here).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!worker_started && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    }
    vb::for_each_index(exec, {1, h, w}, [&](int, int y, int x) { hits[(i * h + y) * w + x].fetch_add(1); });
  });
  EXPECT_TRUE(worker_started.load()) << "no item ran on a pool worker";
  for (const auto& hit : hits) ASSERT_EQ(hit.load(), 1);
  EXPECT_LE(budget.peak(), 2);
  EXPECT_EQ(budget.try_acquire(2).count(), 2);
}

TEST(ForEachIndex, AnExceptionThrownOnAWorkerThreadReachesTheCaller) {
  for (int threads : {2, 3, 7}) {
    SCOPED_TRACE(threads);
    const auto caller = std::this_thread::get_id();
    std::atomic<bool> worker_threw{false};
    std::atomic<int> throws{0};
    auto body = [&](int, int, int) {
      if (std::this_thread::get_id() == caller) {
        // Hold the caller inside its first chunk until a worker has thrown, so the exception is
        // guaranteed to come from another thread (bounded wait: never hangs).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!worker_threw && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        return;
      }
      ++throws;
      worker_threw = true;
      throw std::runtime_error("boom on a worker");
    };
    try {
      vb::for_each_index(vb::cpu_par{threads}, {1, 4000, 2}, body);
      ADD_FAILURE() << "no exception reached the caller";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom on a worker");
    }
    EXPECT_TRUE(worker_threw.load()) << "no worker thread ran the body";
    EXPECT_GE(throws.load(), 1);
  }
}

TEST(ForEachIndex, AVbatchErrorThrownInsideKeepsItsCode) {
  auto body = [](int i, int y, int) {
    if (i == 1 && y == 3) vb::raise(vb::errc::corrupt_data, "item {} row {}", i, y);
  };
  for (int threads : {1, 2, 7}) {
    EXPECT_TRUE(vbatch_test::throws_error(
        [&] {
          vb::for_each_index(vb::cpu_par{threads}, {3, 50, 5}, body);
        },
        vb::errc::corrupt_data, {"item 1 row 3"}));
  }
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] {
        vb::for_each_index(vb::cpu_serial{}, {3, 50, 5}, body);
      },
      vb::errc::corrupt_data, {"item 1 row 3"}));
}

TEST(ForEachIndex, TheExecutorIsReusableAfterAnException) {
  const vb::cpu_par exec{3};
  EXPECT_THROW(vb::for_each_index(exec, {2, 30, 3}, [](int, int, int) { throw std::logic_error("x"); }), std::logic_error);
  for (int c : visit_counts(exec, {2, 30, 3})) ASSERT_EQ(c, 1);
}

TEST(ForEachItem, VisitsEachItemOnceOnEveryExecutor) {
  for (int count : {0, 1, 5, 100}) {
    std::vector<std::atomic<int>> serial(count), par(count);
    vb::for_each_item(vb::cpu_serial{}, count, [&](int i) { ++serial[i]; });
    vb::for_each_item(vb::cpu_par{7}, count, [&](int i) { ++par[i]; });
    for (int i = 0; i < count; ++i) {
      EXPECT_EQ(serial[i].load(), 1);
      EXPECT_EQ(par[i].load(), 1);
    }
  }
  int calls = 0;
  vb::for_each_item(vb::cpu_par{2}, -3, [&](int) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ForEachItem, PropagatesExceptions) {
  EXPECT_THROW(vb::for_each_item(vb::cpu_par{2}, 10,
                                 [](int i) {
                                   if (i == 7) throw std::out_of_range("seven");
                                 }),
               std::out_of_range);
}

}  // namespace

// The process-wide worker pool: a call from inside a parallel job, or while another thread's job
// holds the pool, runs on its own thread instead of waiting on itself; every index is still
// visited exactly once.
TEST(CpuParPool, NestedAndConcurrentCallsVisitEveryIndexOnce) {
  constexpr int outer = 6, inner_h = 5, inner_w = 7;
  std::vector<std::atomic<int>> hits(outer * inner_h * inner_w);
  vbatch::for_each_item(vbatch::cpu_par{2}, outer, [&](int i) {
    vbatch::for_each_index(vbatch::cpu_par{2}, {1, inner_h, inner_w},
                           [&](int, int y, int x) { hits[(i * inner_h + y) * inner_w + x].fetch_add(1); });
  });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);

  std::vector<std::atomic<int>> a(50000), b(50000);
  std::thread other([&] {
    for (int r = 0; r < 20; ++r)
      vbatch::for_each_item(vbatch::cpu_par{2}, int(b.size()), [&](int i) { b[std::size_t(i)].fetch_add(1); });
  });
  for (int r = 0; r < 20; ++r)
    vbatch::for_each_item(vbatch::cpu_par{3}, int(a.size()), [&](int i) { a[std::size_t(i)].fetch_add(1); });
  other.join();
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].load(), 20) << i;
    ASSERT_EQ(b[i].load(), 20) << i;
  }
}

TEST(CpuParPool, AnExceptionLeavesThePoolUsable) {
  EXPECT_THROW(vbatch::for_each_item(vbatch::cpu_par{2}, 100,
                                     [](int i) {
                                       if (i == 77) throw std::runtime_error("item 77");
                                     }),
               std::runtime_error);
  std::atomic<int> count{0};
  vbatch::for_each_item(vbatch::cpu_par{2}, 1000, [&](int) { count.fetch_add(1); });
  EXPECT_EQ(count.load(), 1000);
}
