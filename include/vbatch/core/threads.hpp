#pragma once
// Thread counts, resolved in one place, and one budget of busy threads for a whole run.
//
//   vbatch::thread_budget budget(8);                  // 8 threads may compute at once (0: every core)
//   { auto slot = budget.acquire(); decode(file); }   // blocks while 8 others are busy
//   vbatch::cpu_par{.threads = 8, .budget = &budget}  // kernels take what is free, on top of their caller's
//
// A run has more threads than cores (decode workers, encode workers, pipeline stages, the kernel
// pool), but each holds a slot only while it computes and gives it back before it waits for a
// queue, a buffer or a file. So at most `size()` threads compute at once whatever the stages need
// at the moment: decoding takes every core while frames are missing, the kernels (served first:
// acquire_ahead) while decoded frames wait, encoding while views wait; with size() at most the
// cores, the machine is never oversubscribed.
// A thread that holds a slot and asks for one more of the same budget (a decode worker calling a
// kernel) gets an empty lease: it already counts, and waiting on itself would deadlock.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "vbatch/core/error.hpp"

namespace vbatch::inline v0 {

// The machine's hardware threads, at least 1.
inline int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// A requested thread count: 0 means every hardware thread.
inline int resolve_threads(int requested) { return requested > 0 ? requested : hardware_threads(); }

class thread_budget {
 public:
  // Slots held, given back when it is destroyed (movable, not copyable).
  class lease {
   public:
    lease() = default;
    lease(lease&& o) noexcept
        : budget_(std::exchange(o.budget_, nullptr)), count_(std::exchange(o.count_, 0)), marks_(std::exchange(o.marks_, false)) {}
    lease& operator=(lease&& o) noexcept {
      if (this != &o) {
        release();
        budget_ = std::exchange(o.budget_, nullptr), count_ = std::exchange(o.count_, 0), marks_ = std::exchange(o.marks_, false);
      }
      return *this;
    }
    ~lease() { release(); }
    int count() const { return count_; }
    // A lease from acquire() must be released on the thread that took it.
    void release() {
      if (marks_) holder() = nullptr;
      if (budget_ && count_ > 0) budget_->give_back(count_);
      budget_ = nullptr, count_ = 0, marks_ = false;
    }

   private:
    friend class thread_budget;
    lease(thread_budget* b, int n, bool marks = false) : budget_(b), count_(n), marks_(marks) {
      if (marks_) holder() = b;
    }
    thread_budget* budget_ = nullptr;
    int count_ = 0;
    bool marks_ = false;  // this lease is the slot its thread holds
  };

  explicit thread_budget(int threads = 0) : size_(resolve_threads(threads)), free_(size_) {
    if (threads < 0) raise(errc::invalid_argument, "thread_budget: {} threads (0 for every core, or more)", threads);
  }
  thread_budget(const thread_budget&) = delete;
  thread_budget& operator=(const thread_budget&) = delete;

  int size() const { return size_; }

  // One slot, waiting until one is free and no acquire_ahead() waits; an empty lease when this
  // thread holds one already.
  lease acquire() {
    if (holder() == this) return {};
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [&] { return free_ > 0 && ahead_ == 0; });
    account();
    --free_;
    peak_ = std::max(peak_, size_ - free_);
    return {this, 1, true};
  }

  // The same, served before every waiting acquire(): for kernels, the run's serial point, while
  // decode and encode workers, which work ahead of it, wait their turn.
  lease acquire_ahead() {
    if (holder() == this) return {};
    std::unique_lock lock(mutex_);
    ++ahead_;
    freed_.wait(lock, [&] { return free_ > 0; });
    --ahead_;
    account();
    --free_;
    peak_ = std::max(peak_, size_ - free_);
    return {this, 1, true};
  }

  // Up to `most` slots, without waiting: none when every slot is busy. They are for other threads
  // (a kernel's helpers), so holding them does not mark this thread.
  lease try_acquire(int most) {
    std::lock_guard lock(mutex_);
    const int n = std::clamp(free_, 0, std::max(most, 0));
    account();
    free_ -= n;
    peak_ = std::max(peak_, size_ - free_);
    return {this, n};
  }

  // One slot for another thread (a kernel's helper joining late), ahead of acquire() like
  // acquire_ahead(), waiting at most `wait`: none when every slot stayed busy, so the caller can
  // look again whether it is still wanted.
  lease try_acquire_for(std::chrono::microseconds wait) {
    std::unique_lock lock(mutex_);
    ++ahead_;
    const bool got = freed_.wait_for(lock, wait, [&] { return free_ > 0; });
    --ahead_;
    if (!got) {
      if (ahead_ == 0 && free_ > 0) freed_.notify_all();  // acquire() may have waited for us
      return {};
    }
    account();
    --free_;
    peak_ = std::max(peak_, size_ - free_);
    return {this, 1};
  }

  // Slot-seconds held so far: divided by the wall time, the average number of busy threads (a
  // run that keeps every core busy approaches size() on a machine with that many cores).
  double busy_seconds() const {
    std::lock_guard lock(mutex_);
    account();
    return busy_;
  }

  // The most slots held at once so far (never above size()).
  int peak() const {
    std::lock_guard lock(mutex_);
    return peak_;
  }

 private:
  // Adds the slots held since the last change (under mutex_).
  void account() const {
    const auto now = std::chrono::steady_clock::now();
    busy_ += (size_ - free_) * std::chrono::duration<double>(now - since_).count();
    since_ = now;
  }

  // The budget whose slot this thread holds, if any.
  static thread_budget*& holder() {
    static thread_local thread_budget* held = nullptr;
    return held;
  }

  void give_back(int n) {
    {
      std::lock_guard lock(mutex_);
      account();
      free_ += n;
    }
    freed_.notify_all();  // waiters differ (acquire() waits for acquire_ahead()): wake them all
  }

  const int size_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int free_, peak_ = 0;
  int ahead_ = 0;  // threads waiting in acquire_ahead() or try_acquire_for()
  mutable double busy_ = 0;  // slot-seconds up to since_
  mutable std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
};

}  // namespace vbatch::inline v0
