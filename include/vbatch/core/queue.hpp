#pragma once
// A bounded multi-producer, multi-consumer queue: the link between pipeline stages. A full queue
// blocks its producers (back-pressure, bounded memory); an empty one its consumers.
//
//   vbatch::bounded_queue<int> q(4);
//   q.push(1);                 // blocks while 4 items wait; false once aborted or closed
//   vbatch::bounded_queue<int> h(vbatch::bounded_queue<int>::hand_off);
//   h.push(1);                 // blocks until a consumer waits for it: nothing is ever held ahead
//   auto v = q.pop();          // blocks while empty; nullopt once closed and drained, or aborted
//   q.close();                 // no more items: consumers drain what is left, then get nullopt
//   q.abort();                 // stop now: everything waiting wakes, queued items are destroyed
//
// pop() also returns the item's sequence number (0, 1, ... in pop order), which ordered stages
// use to hand results on in the order they took their inputs.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace vbatch::inline v0 {

template <class T>
class bounded_queue {
 public:
  using clock = std::chrono::steady_clock;

  // Capacity 0: a producer hands its item straight to a waiting consumer, so no item waits in
  // the queue while the consumer is busy (a decoded batch is not held beyond the prefetch window).
  static constexpr std::size_t hand_off = 0;

  explicit bounded_queue(std::size_t capacity) : capacity_(capacity) {}
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;

  // Adds `value`, waiting while the queue is full; adds the seconds waited to *waited. Returns
  // false (and leaves `value` alone) when the queue was aborted or closed.
  bool push(T&& value, double* waited = nullptr) {
    std::unique_lock lock(mutex_);
    if (!has_room() && !aborted_ && !closed_) {
      const auto start = clock::now();
      not_full_.wait(lock, [&] { return has_room() || aborted_ || closed_; });
      if (waited) *waited += std::chrono::duration<double>(clock::now() - start).count();
    }
    if (aborted_ || closed_) return false;
    items_.push_back(std::move(value));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // Waits until a push would not wait; false once aborted or closed. A single producer can so
  // make its item only when it is wanted (a pipeline asks its source for the next item then).
  bool wait_for_room(double* waited = nullptr) {
    std::unique_lock lock(mutex_);
    if (!has_room() && !aborted_ && !closed_) {
      const auto start = clock::now();
      not_full_.wait(lock, [&] { return has_room() || aborted_ || closed_; });
      if (waited) *waited += std::chrono::duration<double>(clock::now() - start).count();
    }
    return !aborted_ && !closed_;
  }

  struct popped {
    T value;
    std::size_t sequence;
  };

  // The oldest item and its sequence number, waiting while the queue is empty and open; nullopt
  // once it is closed and empty, or aborted.
  std::optional<popped> pop(double* waited = nullptr) {
    std::unique_lock lock(mutex_);
    if (items_.empty() && !aborted_ && !closed_) {
      const auto start = clock::now();
      ++waiting_;
      if (capacity_ == hand_off) not_full_.notify_one();  // a producer may hand over now
      not_empty_.wait(lock, [&] { return !items_.empty() || aborted_ || closed_; });
      --waiting_;
      if (waited) *waited += std::chrono::duration<double>(clock::now() - start).count();
    }
    if (aborted_ || items_.empty()) return std::nullopt;
    std::optional<popped> out{popped{std::move(items_.front()), sequence_++}};
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return out;
  }

  // No more pushes; consumers take what is left.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // Wakes every waiting producer and consumer and destroys the queued items (outside the lock:
  // their destructors may release resources others wait for, such as staging slots).
  void abort() {
    std::deque<T> dropped;
    {
      std::lock_guard lock(mutex_);
      aborted_ = true;
      dropped.swap(items_);
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t capacity() const { return capacity_; }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  // Under mutex_: a hand-off queue has room for one item per consumer waiting on it.
  bool has_room() const { return capacity_ == hand_off ? items_.size() < waiting_ : items_.size() < capacity_; }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  std::size_t sequence_ = 0, waiting_ = 0;  // waiting_: consumers in pop() on an empty queue
  bool closed_ = false, aborted_ = false;
};

}  // namespace vbatch::inline v0
