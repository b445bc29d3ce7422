// The run-wide thread budget: never more slots busy than its size, blocking and non-blocking
// acquisition, slots given back on every path, and no deadlock when a thread that holds a slot
// asks again (a decode worker calling a kernel).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "vbatch/core/threads.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::throws_error;

TEST(Threads, ZeroMeansEveryHardwareThread) {
  EXPECT_GE(vb::hardware_threads(), 1);
  EXPECT_EQ(vb::resolve_threads(0), vb::hardware_threads());
  EXPECT_EQ(vb::resolve_threads(5), 5);
  EXPECT_EQ(vb::thread_budget(0).size(), vb::hardware_threads());
  EXPECT_EQ(vb::thread_budget(3).size(), 3);
  EXPECT_TRUE(throws_error([] { vb::thread_budget b(-1); }, vb::errc::invalid_argument, {"-1 threads"}));
}

TEST(ThreadBudget, TryAcquireTakesWhatIsFreeAndLeasesGiveItBack) {
  vb::thread_budget budget(3);
  {
    auto a = budget.try_acquire(2);
    EXPECT_EQ(a.count(), 2);
    auto b = budget.try_acquire(5);
    EXPECT_EQ(b.count(), 1);
    EXPECT_EQ(budget.try_acquire(1).count(), 0);
    auto moved = std::move(a);
    EXPECT_EQ(a.count(), 0);
    EXPECT_EQ(budget.try_acquire(1).count(), 0);  // the moved lease still holds its 2
  }
  EXPECT_EQ(budget.try_acquire(3).count(), 3);  // all back
  EXPECT_EQ(budget.peak(), 3);
}

TEST(ThreadBudget, AcquireWaitsForAFreeSlot) {
  vb::thread_budget budget(1);
  auto held = budget.try_acquire(1);
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto slot = budget.acquire();
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(got.load());  // every slot is held
  held.release();
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST(ThreadBudget, AThreadHoldingASlotIsNotMadeToWaitForItself) {
  vb::thread_budget budget(1);
  auto outer = budget.acquire();
  EXPECT_EQ(outer.count(), 1);
  auto inner = budget.acquire();  // would deadlock if it waited
  EXPECT_EQ(inner.count(), 0);
  inner.release();
  EXPECT_EQ(budget.try_acquire(1).count(), 0);  // the outer slot is still held
  outer.release();
  EXPECT_EQ(budget.try_acquire(1).count(), 1);
}

TEST(ThreadBudget, NeverMoreBusyThanItsSize) {
  for (int size : {1, 2, 3}) {
    vb::thread_budget budget(size);
    std::atomic<int> busy{0}, most{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i) {
          auto slot = budget.acquire();
          const int now = ++busy;
          for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
          }
          std::this_thread::yield();
          --busy;
        }
      });
    for (auto& t : threads) t.join();
    EXPECT_LE(most.load(), size);
    EXPECT_GE(most.load(), 1);
    EXPECT_LE(budget.peak(), size);
  }
}

// Busy slot-seconds grow only while slots are held: the run's average of busy threads.
TEST(ThreadBudget, CountsBusySlotSecondsOnlyWhileSlotsAreHeld) {
  vb::thread_budget budget(2);
  const double idle = budget.busy_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(budget.busy_seconds(), idle);  // nothing held: nothing counted
  double held = 0;
  {
    auto two = budget.try_acquire(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    held = budget.busy_seconds();
    EXPECT_GT(held, idle);
  }
  const double after = budget.busy_seconds();
  EXPECT_GE(after, held);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(budget.busy_seconds(), after);
}

}  // namespace
