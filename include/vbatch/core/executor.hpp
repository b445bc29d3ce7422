#pragma once
// Executors say where and how a kernel runs; kernels say what runs per index.
//
//   vbatch::for_each_index(vbatch::cpu_par{2}, {n, h, w}, [=](int i, int y, int x) { ... });
//
// cpu_serial runs on the calling thread; cpu_par splits rows over `threads` threads (0 = all
// hardware threads); vbatch::cuda{stream} (vbatch/core/cuda/executor.hpp, nvcc only) launches a
// grid. Every index is visited exactly once and each result depends only on its index, so
// results are identical whatever the executor or thread count.
//
// An executor is any type with an executor_traits specialisation (its memory space for
// temporaries, whether it runs on the host, its concurrency, how to wait for its work) and a
// for_each_index(exec, extent3, f) found by argument-dependent lookup; modules are written against
// the traits only, so a user's executor runs every kernel without editing vbatch (docs/concepts.md).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "vbatch/core/config.hpp"
#include "vbatch/core/memory.hpp"
#include "vbatch/core/threads.hpp"

namespace vbatch::inline v0 {

// The index space of a batched image kernel: images × rows × columns.
struct extent3 {
  int n = 0, h = 0, w = 0;
};

struct cpu_serial {};

struct cpu_par {
  int threads = 0;                  // 0: one per hardware thread
  thread_budget* budget = nullptr;  // when set: the caller holds one slot, helpers only free ones

  int thread_count() const { return resolve_threads(threads); }
};

// What an executor means for memory and synchronisation. A specialisation has
//   using memory = ...;                       the memory space for a call's temporaries
//   static constexpr bool host;               whether kernels run on the host (and read host memory)
//   static int concurrency(const E&);         threads that run indices at once (host schedules size work by it)
//   static void synchronize(const E&);        returns once the work submitted so far is done
// and the backend's tuning values as named constants.
template <class E>
struct executor_traits;

template <>
struct executor_traits<cpu_serial> {
  using memory = host_memory;
  static constexpr bool host = true;
  static int concurrency(const cpu_serial&) { return 1; }
  static void synchronize(const cpu_serial&) {}  // work is done when for_each_index returns
};

template <>
struct executor_traits<cpu_par> {
  using memory = host_memory;
  static constexpr bool host = true;
  // Rows are handed out in threads × 16 chunks: small enough that a thread finishing early takes
  // more, large enough that the shared counter is not contended.
  static constexpr int chunks_per_thread = 16;
  // A pool helper without a budget slot looks again this often (µs) while rows are left: short
  // enough that a slot freed mid-call is used at once, long enough to cost nothing.
  static constexpr int slot_wait_us = 500;
  static int concurrency(const cpu_par& e) { return e.thread_count(); }
  static void synchronize(const cpu_par&) {}
};

// A kernel may offer row(i, y, width), doing f(i, y, x) for x in [0, width) with per-row work
// hoisted; the CPU executors then call it once per row.
template <class F>
concept row_kernel = requires(const F& f, int i) {
  f.row(i, i, i);
};

namespace detail {

// Worker threads kept for the life of the program, so that a parallel call costs a wake-up
// (a few µs) instead of starting threads (50–100 µs): sub-millisecond kernels then scale too.
// One job at a time: a call that finds the pool busy (another thread's job, or a call from inside
// a job) gets `false` and does its work on its own thread, so nothing waits on itself and the
// machine is never oversubscribed.
class thread_pool {
 public:
  static thread_pool& instance() {
    static thread_pool pool;
    return pool;
  }

  // Runs job(0) on the calling thread and job(i) on up to `helpers` pool workers, each worker i
  // that wakes while the caller still works; returns once the caller's share and every started
  // worker are done. A worker that wakes after that skips the job, so a busy machine never makes
  // the caller wait for a thread that has nothing left to do. `job` must not throw.
  template <class Job>
  bool run(int helpers, Job& job) {
    std::unique_lock busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || inside_job()) return false;
    {
      std::lock_guard lock(mutex_);
      while (int(workers_.size()) < helpers) workers_.emplace_back([this, index = int(workers_.size()) + 1] { loop(index); });
      job_ = [&job](int i) { job(i); };
      wanted_ = helpers;
      open_ = true;
      ++generation_;
    }
    wake_.notify_all();
    inside_job() = true;
    job(0);
    inside_job() = false;
    std::unique_lock lock(mutex_);
    open_ = false;
    done_.wait(lock, [&] { return running_ == 0; });
    job_ = nullptr;
    return true;
  }

  ~thread_pool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

 private:
  static bool& inside_job() {
    static thread_local bool inside = false;
    return inside;
  }

  void loop(int index) {
    inside_job() = true;
    for (std::uint64_t seen = 0;;) {
      std::function<void(int)> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || (generation_ != seen && index <= wanted_); });
        if (stop_) return;
        seen = generation_;
        if (!open_) continue;  // woke too late: the caller has finished the work
        ++running_;
        job = job_;
      }
      job(index);
      std::lock_guard lock(mutex_);
      if (--running_ == 0) done_.notify_one();
    }
  }

  std::mutex busy_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::function<void(int)> job_;
  std::uint64_t generation_ = 0;
  int wanted_ = 0, running_ = 0;
  bool open_ = false, stop_ = false;
};

// The budget whose slot this pool worker fills (its caller took it with try_acquire), so that a
// kernel called inside the job does not wait for a slot the worker already stands for.
inline const thread_budget*& worker_budget() {
  static thread_local const thread_budget* budget = nullptr;
  return budget;
}

template <class F>
void run_rows(const extent3& e, std::int64_t first_row, std::int64_t last_row, F& f) {
  for (std::int64_t r = first_row; r < last_row; ++r) {
    const int i = static_cast<int>(r / e.h), y = static_cast<int>(r % e.h);
    if constexpr (row_kernel<F>)
      f.row(i, y, e.w);
    else
      for (int x = 0; x < e.w; ++x) f(i, y, x);
  }
}
}  // namespace detail

template <class F>
void for_each_index(cpu_serial, extent3 e, F&& f) {
  if (e.n <= 0 || e.h <= 0 || e.w <= 0) return;
  detail::run_rows(e, 0, std::int64_t{e.n} * e.h, f);
}

// Rows are handed out in chunks from a shared counter (dynamic scheduling keeps both cores busy
// when images differ in cost) to the caller's thread and threads-1 workers of the process-wide
// pool. With a budget, the caller first takes its own slot, ahead of decode and encode workers
// (waiting if needed; free if it holds one already) and each helper works only while it holds a slot of its own: one free now, or one
// that frees up while rows are left (a decode worker finishing its image), so the call never
// oversubscribes the run and still takes every core that falls idle. The first exception thrown
// by `f` on any thread stops the hand-out and is rethrown here.
template <class F>
void for_each_index(const cpu_par& exec, extent3 e, F&& f) {
  if (e.n <= 0 || e.h <= 0 || e.w <= 0) return;
  const std::int64_t rows = std::int64_t{e.n} * e.h;
  const int threads = static_cast<int>(std::min<std::int64_t>(exec.thread_count(), rows));
  thread_budget::lease caller;
  if (exec.budget && detail::worker_budget() != exec.budget) caller = exec.budget->acquire_ahead();
  if (threads <= 1) return detail::run_rows(e, 0, rows, f);

  const std::int64_t chunk =
      std::max<std::int64_t>(1, rows / (std::int64_t{threads} * executor_traits<cpu_par>::chunks_per_thread));
  std::atomic<std::int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      for (std::int64_t r; (r = next.fetch_add(chunk)) < rows;) detail::run_rows(e, r, std::min(r + chunk, rows), f);
    } catch (...) {
      next = rows;
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  auto job = [&](int i) {
    if (i == 0) return work();
    thread_budget::lease slot;
    if (exec.budget) {
      // Wait for a slot in short steps, so that a helper never holds up the caller for long
      // after the rows have run out.
      constexpr auto step = std::chrono::microseconds(executor_traits<cpu_par>::slot_wait_us);
      while (next.load() < rows && (slot = exec.budget->try_acquire_for(step)).count() == 0) {
      }
      if (slot.count() == 0) return;
    }
    const thread_budget* outer = std::exchange(detail::worker_budget(), exec.budget);
    work();
    detail::worker_budget() = outer;
  };
  if (!detail::thread_pool::instance().run(threads - 1, job)) work();  // pool busy: this thread does it all
  if (failure) std::rethrow_exception(failure);
}

namespace detail {
// What the executor concept calls for_each_index with: a kernel of every executor.
struct any_kernel {
  VBATCH_HOST_DEVICE void operator()(int, int, int) const {}
};
}  // namespace detail

// A type usable wherever vbatch takes an executor: complete traits and a for_each_index, found in
// vbatch or, for a user's executor, in the executor's own namespace.
template <class E>
concept executor = requires(const std::remove_cvref_t<E>& e) {
  typename executor_traits<std::remove_cvref_t<E>>::memory;
  { executor_traits<std::remove_cvref_t<E>>::host } -> std::convertible_to<bool>;
  { executor_traits<std::remove_cvref_t<E>>::concurrency(e) } -> std::convertible_to<int>;
  executor_traits<std::remove_cvref_t<E>>::synchronize(e);
  for_each_index(e, extent3{}, detail::any_kernel{});
};

// An executor whose kernels run on the host and may read host memory (std::vector, host buffers).
template <class E>
concept host_executor = executor<E> && executor_traits<std::remove_cvref_t<E>>::host;

// Runs f(i) for i in [0, count): per-item work such as decoding or encoding files.
template <class Exec, class F>
void for_each_item(const Exec& exec, int count, F&& f) {
  for_each_index(exec, extent3{count, 1, 1}, [&f](int i, int, int) { f(i); });
}

}  // namespace vbatch::inline v0
