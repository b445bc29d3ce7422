#pragma once
// Executors say where and how a kernel runs; kernels say what runs per index.
//
//   vbatch::for_each_index(vbatch::cpu_par{2}, {n, h, w}, [=](int i, int y, int x) { ... });
//
// cpu_serial runs on the calling thread; cpu_par splits rows over `threads` threads (0 = all
// hardware threads); vbatch::cuda{stream} (vbatch/core/cuda/executor.hpp, nvcc only) launches a
// grid. Every index is visited exactly once and each result depends only on its index, so
// results are identical whatever the executor or thread count.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "vbatch/core/config.hpp"

namespace vbatch::inline v0 {

// The index space of a batched image kernel: images × rows × columns.
struct extent3 {
  int n = 0, h = 0, w = 0;
};

struct cpu_serial {};

struct cpu_par {
  int threads = 0;  // 0: one per hardware thread

  int thread_count() const {
    if (threads > 0) return threads;
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
};

template <class E>
inline constexpr bool is_host_executor_v =
    std::is_same_v<std::remove_cvref_t<E>, cpu_serial> || std::is_same_v<std::remove_cvref_t<E>, cpu_par>;

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
// pool. The first exception thrown by `f` on any thread stops the hand-out and is rethrown here.
template <class F>
void for_each_index(const cpu_par& exec, extent3 e, F&& f) {
  if (e.n <= 0 || e.h <= 0 || e.w <= 0) return;
  const std::int64_t rows = std::int64_t{e.n} * e.h;
  const int threads = static_cast<int>(std::min<std::int64_t>(exec.thread_count(), rows));
  if (threads <= 1) return detail::run_rows(e, 0, rows, f);

  const std::int64_t chunk = std::max<std::int64_t>(1, rows / (std::int64_t{threads} * 16));
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
  auto job = [&](int) { work(); };
  if (!detail::thread_pool::instance().run(threads - 1, job)) work();  // pool busy: this thread does it all
  if (failure) std::rethrow_exception(failure);
}

// Runs f(i) for i in [0, count): per-item work such as decoding or encoding files.
template <class Exec, class F>
void for_each_item(const Exec& exec, int count, F&& f) {
  for_each_index(exec, extent3{count, 1, 1}, [&f](int i, int, int) { f(i); });
}

}  // namespace vbatch::inline v0
