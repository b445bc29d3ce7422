// The parts pipelines are made of: the bounded queue (capacity, order, close, abort) and the
// buffer pool (reuse, the limit as back-pressure, abort). Threads meet through latches and
// atomics, never through sleeps.

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "vbatch/core/buffer_pool.hpp"
#include "vbatch/core/queue.hpp"

namespace {

namespace vb = vbatch;

TEST(BoundedQueue, KeepsOrderAndNumbersPops) {
  vb::bounded_queue<int> q(3);
  EXPECT_TRUE(q.push(10));
  EXPECT_TRUE(q.push(11));
  EXPECT_EQ(q.size(), 2u);
  auto a = q.pop(), b = q.pop();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->value, 10);
  EXPECT_EQ(a->sequence, 0u);
  EXPECT_EQ(b->value, 11);
  EXPECT_EQ(b->sequence, 1u);
}

TEST(BoundedQueue, AFullQueueHoldsItsProducerUntilAConsumerTakesAnItem) {
  vb::bounded_queue<int> q(2);
  ASSERT_TRUE(q.push(1));
  ASSERT_TRUE(q.push(2));
  std::atomic<bool> third_in{false};
  std::latch started(1);
  std::thread producer([&] {
    started.count_down();
    q.push(3);
    third_in = true;
  });
  started.wait();
  // The producer cannot have added a third item while two wait: the queue never exceeds 2.
  EXPECT_LE(q.size(), 2u);
  EXPECT_FALSE(third_in.load() && q.size() > 2);
  EXPECT_EQ(q.pop()->value, 1);
  producer.join();
  EXPECT_TRUE(third_in.load());
  EXPECT_EQ(q.pop()->value, 2);
  EXPECT_EQ(q.pop()->value, 3);
}

TEST(BoundedQueue, CloseLetsConsumersDrainThenEnds) {
  vb::bounded_queue<int> q(4);
  q.push(1);
  q.push(2);
  q.close();
  EXPECT_FALSE(q.push(3));
  EXPECT_EQ(q.pop()->value, 1);
  EXPECT_EQ(q.pop()->value, 2);
  EXPECT_FALSE(q.pop().has_value());
}

TEST(BoundedQueue, AbortWakesBlockedProducersAndConsumersAndDropsItems) {
  vb::bounded_queue<std::shared_ptr<int>> full(1);
  auto token = std::make_shared<int>(5);
  full.push(std::shared_ptr<int>(token));
  vb::bounded_queue<int> empty(1);
  std::atomic<int> woke{0};
  std::thread producer([&] {
    if (!full.push(std::make_shared<int>(6))) ++woke;
  });
  std::thread consumer([&] {
    if (!empty.pop()) ++woke;
  });
  full.abort();
  empty.abort();
  producer.join();
  consumer.join();
  EXPECT_EQ(woke.load(), 2);
  EXPECT_EQ(token.use_count(), 1) << "the aborted queue still holds its item";
  EXPECT_FALSE(full.pop().has_value());
}

TEST(BoundedQueue, ManyProducersAndConsumersPassEveryItemOnce) {
  vb::bounded_queue<int> q(3);
  constexpr int producers = 3, per_producer = 500;
  std::vector<std::atomic<int>> seen(producers * per_producer);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) q.push(p * per_producer + i);
    });
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c)
    consumers.emplace_back([&] {
      while (auto v = q.pop()) ++seen[v->value];
    });
  for (auto& t : threads) t.join();
  q.close();
  for (auto& t : consumers) t.join();
  for (const auto& s : seen) ASSERT_EQ(s.load(), 1);
}

TEST(BufferPool, ReusesABufferOfTheSameShape) {
  vb::buffer_pool<vb::u8> pool;
  const vb::u8* first = nullptr;
  {
    auto b = pool.acquire({2, 8, 8, 3});
    first = b->data();
  }
  EXPECT_EQ(pool.idle(), 1u);
  auto again = pool.acquire({2, 8, 8, 3});
  EXPECT_EQ(again->data(), first);
  auto other = pool.acquire({1, 4, 4, 3});
  EXPECT_EQ(other->shape(), (vb::batch_shape{1, 4, 4, 3}));
  EXPECT_EQ(pool.alive(), 2u);
}

// Without a limit, idle buffers of shapes no longer asked for are freed by the next request of
// another shape: frames of changing sizes never pile up buffers (the loader's pool is such a pool).
TEST(BufferPool, AnUnlimitedPoolKeepsNoIdleBuffersOfOtherShapes) {
  vb::buffer_pool<vb::u8> pool;
  for (int size = 8; size < 64; size += 8) {
    auto a = pool.acquire({2, size, size, 3});
    auto b = pool.acquire({2, size, size, 3});
  }
  EXPECT_EQ(pool.idle(), 2u);  // the last shape's two buffers
  EXPECT_EQ(pool.alive(), 2u);
  auto c = pool.acquire({1, 4, 4, 3});
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_EQ(pool.alive(), 1u);
}

TEST(BufferPool, TheLimitMakesAcquireWaitForARelease) {
  vb::buffer_pool<vb::u8> pool(2);
  auto a = pool.acquire({1, 4, 4, 1});
  auto b = pool.acquire({1, 4, 4, 1});
  std::atomic<bool> got{false};
  std::latch started(1);
  std::thread waiter([&] {
    started.count_down();
    auto c = pool.acquire({1, 4, 4, 1});
    got = true;
  });
  started.wait();
  EXPECT_LE(pool.alive(), 2u);
  const vb::u8* released = a->data();
  a.reset();  // lets the waiter through, with the same memory
  waiter.join();
  EXPECT_TRUE(got.load());
  EXPECT_EQ(pool.alive(), 2u);
  auto d = pool.acquire({1, 4, 4, 1});
  EXPECT_EQ(d->data(), released);
}

TEST(BufferPool, AtTheLimitAnIdleBufferOfAnotherShapeIsReplaced) {
  vb::buffer_pool<vb::u8> pool(1);
  { auto a = pool.acquire({1, 4, 4, 1}); }
  auto b = pool.acquire({1, 8, 8, 1});
  EXPECT_EQ(b->shape(), (vb::batch_shape{1, 8, 8, 1}));
  EXPECT_EQ(pool.alive(), 1u);
}

TEST(BufferPool, AbortWakesWaitersWithAnError) {
  vb::buffer_pool<vb::u8> pool(1);
  auto a = pool.acquire({1, 4, 4, 1});
  std::atomic<bool> threw{false};
  std::thread waiter([&] {
    try {
      (void)pool.acquire({1, 4, 4, 1});
    } catch (const vb::error&) {
      threw = true;
    }
  });
  pool.abort();
  waiter.join();
  EXPECT_TRUE(threw.load());
}

TEST(BufferPool, BuffersMayOutliveThePool) {
  std::shared_ptr<vb::batch_buffer<vb::u8>> kept;
  {
    vb::buffer_pool<vb::u8> pool;
    kept = pool.acquire({1, 2, 2, 1});
  }
  kept->data()[0] = 1;  // still valid; freed on release (ASan checks)
  kept.reset();
}

// A hand-off queue holds nothing ahead: a push waits until a consumer waits for the item.
TEST(BoundedQueue, HandOffPushWaitsForAWaitingConsumer) {
  vb::bounded_queue<int> q(vb::bounded_queue<int>::hand_off);
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.push(7));
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(pushed.load());  // nobody waits yet
  EXPECT_EQ(q.size(), 0u);
  auto v = q.pop();
  producer.join();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, 7);
  EXPECT_TRUE(pushed.load());
  q.close();
  EXPECT_FALSE(q.push(8));
  EXPECT_FALSE(q.wait_for_room());
}

}  // namespace
