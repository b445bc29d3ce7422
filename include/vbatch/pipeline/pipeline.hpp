#pragma once
// Stages joined by bounded queues, each stage with its own worker threads, so that decoding,
// computing and encoding of consecutive items overlap while memory stays bounded.
//
//   namespace pl = vbatch::pipeline;
//   pl::report r = pl::run(pl::iota(frames.size()),                                    // items 0..n-1
//       pl::stage("decode", [&](std::size_t i) { return load(frames[i]); }, {.workers = 2, .kind = io}),
//       pl::stage("remap",  [&](image f) { return views_of(f); }),
//       pl::stage("save",   [&](views v, std::size_t item) { save(v, item); }, {.workers = 2, .kind = io}));
//   if (!r.ok()) r.rethrow();                // the first failure by item, as thrown
//
// Each stage function takes the previous stage's result (by value or T&&), optionally followed
// by the item's index (std::size_t), and returns the next stage's input; the last stage returns
// nothing. A stage with several workers calls its function from several threads at once.
//
// Delivery: an ordered stage (the default) hands its results on in the order it took its inputs,
// so with every stage ordered and one worker in the last stage, the last stage sees items in
// source order; an unordered stage hands each result on as soon as it is ready.
//
// Errors: a stage that throws on item k fails item k (the report names k, the stage and the
// message). Then, by default (on_error::finish_earlier), no new item is taken from the source,
// items after k are dropped at the next stage boundary, and items before k run to completion, so
// a run whose stages are ordered and whose last stage has one worker stops with exactly the
// items before the failure done. on_error::stop drops everything not finished at once; so does
// a request on options.stop (a std::stop_token). on_error::skip records the failure and goes on
// with the other items, for runs that must not end on one bad frame; with options.limit, a
// failure_limit shared with the run's parts, once more failures than its max() have happened
// no new item is taken (items in flight finish) and the report says too_many_failures. A source
// that throws ends the feed under every policy (it cannot say whether it could go on); sources
// that can skip a bad input do so themselves (image_loader with on_error::skip).
// Every item is accounted for: done, failed (with a reason), cancelled (started, then dropped
// at a stage boundary: only the last stage should have effects, and those atomic, so nothing is
// half-written), or not started.
//
// Statistics per stage: busy seconds (in the function, summed over workers), seconds waiting for
// input (starved) and for room downstream (back-pressure), items; the source's too. With
// options.profiler set they are added to it (busy; waiting = input + output), for its report.
//
// Parts: components with workers of their own join a run as parts, so that one run has one
// report, one list of failures and one profile. The source may be one (pipeline::image_loader,
// decoding ahead: pass it by reference); others are attached (options.parts, e.g.
// attach(writer) for a pipeline::image_writer encoding behind the last stage). When the stages
// are done, run() calls each part's finish(), which waits for its work and returns its rows for
// the report (a part source's rows replace the source's) and its failures, each naming its item.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/core/queue.hpp"
#include "vbatch/core/threads.hpp"
#include "vbatch/profile/profiler.hpp"

namespace vbatch::inline v0::pipeline {

enum class item_state : std::uint8_t { not_started, done, failed, cancelled };

constexpr const char* to_string(item_state s) {
  constexpr const char* names[] = {"not started", "done", "failed", "cancelled"};
  return names[static_cast<int>(s)];
}

enum class on_error {
  finish_earlier,  // items before the failed one complete; later ones are dropped
  stop,            // everything not finished is dropped
  skip,            // the failed item is reported and the others go on (up to a failure_limit)
};

// A cap on the failures of a run under on_error::skip, shared by its parts (the loader's files,
// the stages' items, the writer's files), so that a run failing wholesale (a wrong setting, a
// full disk) stops instead of failing item after item all night. Thread-safe.
class failure_limit {
 public:
  explicit failure_limit(std::size_t max = std::numeric_limits<std::size_t>::max()) : max_(max) {}
  // Counts one failure; false once more than max() have been counted: time to stop.
  bool add() noexcept { return count_.fetch_add(1) < max_; }
  bool exceeded() const noexcept { return count_.load() > max_; }
  std::size_t count() const noexcept { return count_.load(); }
  std::size_t max() const noexcept { return max_; }

 private:
  std::size_t max_;
  std::atomic<std::size_t> count_{0};
};

struct stage_options {
  int workers = 1;  // threads calling the stage function; 0: one per hardware thread
  // Capacity of the queue in front of the stage: none given, workers + 1; 0, hand-off (an item
  // moves only when a worker waits for it: nothing is held ahead of the stage).
  std::optional<std::size_t> queue{};
  bool ordered = true;  // hand results on in input order
  profile::stage_kind kind = profile::stage_kind::compute;
};

template <class F>
struct stage_spec {
  std::string name;
  F fn;
  stage_options options;
};

template <class F>
stage_spec<std::decay_t<F>> stage(std::string name, F&& fn, stage_options options = {}) {
  return {std::move(name), std::forward<F>(fn), options};
}

struct failure {
  std::size_t item = 0;
  std::string stage;
  std::optional<errc> code;  // when a vbatch::error (std::bad_alloc counts as out_of_memory)
  std::string message;
  std::exception_ptr error;
};

struct stage_report {
  std::string name;
  profile::stage_kind kind = profile::stage_kind::compute;
  int workers = 1;
  double busy = 0, waiting_input = 0, waiting_output = 0;  // seconds, summed over workers
  std::size_t items = 0, failed = 0;                       // calls that returned, calls that threw
};

// What a part (see the top of this file) adds to the run's report when it finishes.
struct part_report {
  std::vector<stage_report> stages;
  std::vector<failure> failures;  // each with the item it belongs to
};

struct options {
  on_error policy = on_error::finish_earlier;
  failure_limit* limit = nullptr;         // on_error::skip: beyond it, no new item is taken (see the top of this file)
  profile::profiler* profiler = nullptr;  // receives every stage's statistics when the run ends
  std::stop_token stop{};                 // a stop request drops everything not finished
  std::string source_name = "source";     // the source's row in the report (a part source names its own)
  profile::stage_kind source_kind = profile::stage_kind::io;
  std::vector<std::function<part_report()>> parts{};  // attach(p): finished after the stages, in this order
};

// A part for options.parts: anything with part_report finish(), which must outlive the run.
template <class Part>
std::function<part_report()> attach(Part& part) {
  return [&part] { return part.finish(); };
}

struct report {
  std::size_t items = 0;
  // the source's items (its count when known, else those it gave)
  std::size_t done = 0, failed = 0, cancelled = 0, not_started = 0;
  std::vector<item_state> states;    // per item
  std::vector<failure> failures;     // by item
  std::vector<stage_report> stages;  // the source first, then each stage
  double wall = 0;
  bool stopped = false;            // options.stop was requested
  bool too_many_failures = false;  // options.limit was exceeded

  bool ok() const { return failed == 0 && cancelled == 0 && not_started == 0 && !stopped; }
  const failure* first_failure() const { return failures.empty() ? nullptr : &failures.front(); }
  // Rethrows the first failure's exception as thrown; throws errc::io when the run was stopped.
  void rethrow() const {
    if (!failures.empty() && failures.front().error) std::rethrow_exception(failures.front().error);
    if (!failures.empty()) throw error(failures.front().code.value_or(errc::io), failures.front().message);
    if (stopped) raise(errc::io, "pipeline: stopped on request ({} of {} items done)", done, items);
  }
  // "10 items: 7 done, 1 failed, 2 cancelled, 0 not started; item 7 failed in 'remap': ..."
  std::string summary() const {
    std::string s = vbatch::detail::format("{} items: {} done, {} failed, {} cancelled, {} not started", items, done, failed,
                                           cancelled, not_started);
    if (!failures.empty())
      s += vbatch::detail::format("; item {} failed in '{}': {}", failures.front().item, failures.front().stage,
                                  failures.front().message);
    if (stopped) s += "; stopped on request";
    if (too_many_failures) s += "; stopped: too many failures";
    return s;
  }
};

// ---- sources ---------------------------------------------------------------------------------

// Items from a callable returning std::optional<T> (nullopt: no more); `count` when known, so
// that items never taken are reported as not started.
template <class F>
struct generator {
  F next;
  std::optional<std::size_t> count;
};

template <class F>
generator<std::decay_t<F>> generate(F&& next, std::optional<std::size_t> count = std::nullopt) {
  return {std::forward<F>(next), count};
}

// The indices 0, 1, ..., n-1.
inline auto iota(std::size_t n) {
  return generate(
      [i = std::size_t{0}, n]() mutable -> std::optional<std::size_t> {
        if (i >= n) return std::nullopt;
        return i++;
      },
      n);
}

namespace detail {

template <class T>
struct vector_source {
  std::vector<T> items;
  std::size_t next_index = 0;
  std::optional<T> next() {
    if (next_index >= items.size()) return std::nullopt;
    return std::move(items[next_index++]);
  }
  std::optional<std::size_t> count() const { return items.size(); }
};

template <class F>
struct generator_source {
  generator<F> g;
  auto next() { return g.next(); }
  std::optional<std::size_t> count() const { return g.count; }
};

// A source object passed by reference (it must outlive the run): next() and count(), and when it
// is a part, finish().
template <class S>
struct reference_source {
  S* source;
  auto next() { return source->next(); }
  std::optional<std::size_t> count() const { return source->count(); }
  part_report finish() requires requires(S& s) { s.finish(); }
  { return source->finish(); }
};

template <class S>
concept part_source = requires(S& s) {
  { s.finish() } -> std::same_as<part_report>;
};

template <class F>
struct callable_source {
  F f;
  auto next() { return f(); }
  std::optional<std::size_t> count() const { return std::nullopt; }
};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class S>
auto make_source(S&& s) {
  using D = std::remove_cvref_t<S>;
  if constexpr (std::is_lvalue_reference_v<S> && requires(D & d) {
                  d.next();
                  { d.count() } -> std::convertible_to<std::optional<std::size_t>>;
                }) {
    return reference_source<D>{&s};
  } else if constexpr (requires {
                         typename D::value_type;
                         requires std::is_same_v<D, std::vector<typename D::value_type>>;
                       }) {
    return vector_source<typename D::value_type>{std::vector<typename D::value_type>(std::forward<S>(s))};
  } else if constexpr (requires(D & d) {
                         d.next();
                         d.count;
                       }) {
    return generator_source<decltype(s.next)>{std::forward<S>(s)};
  } else {
    static_assert(std::is_invocable_v<D&> && is_optional<std::invoke_result_t<D&>>::value,
                  "pipeline::run: the source must be a std::vector<T>, pipeline::iota(n), pipeline::generate(f, count), "
                  "a callable returning std::optional<T>, or an object with next() and count() passed by reference");
    return callable_source<D>{std::forward<S>(s)};
  }
}

template <class Source>
using source_value_t = typename decltype(std::declval<Source&>().next())::value_type;

// Calls a stage function with the item, and with its index when it takes one.
template <class F, class T>
decltype(auto) call_stage(F& f, T&& value, std::size_t item) {
  if constexpr (std::is_invocable_v<F&, T&&, std::size_t>) {
    return f(std::forward<T>(value), item);
  } else {
    static_assert(std::is_invocable_v<F&, T&&>,
                  "pipeline stage: the function must take the previous stage's result (T or T&&), optionally followed by "
                  "the item index (std::size_t)");
    return f(std::forward<T>(value));
  }
}

template <class F, class T>
using stage_result_t = std::decay_t<decltype(call_stage(std::declval<F&>(), std::declval<T&&>(), std::size_t{}))>;

template <class... Ts>
struct types {};

// The input type of each stage, from the source's type through every function's result.
template <class T, class... Fs>
struct chain {
  using inputs = types<>;
  using result = T;
};
template <class T, class F, class... Fs>
struct chain<T, F, Fs...> {
  using out = stage_result_t<F, T>;
  static_assert(sizeof...(Fs) == 0 || !std::is_void_v<out>, "pipeline: only the last stage may return nothing");
  using rest = chain<out, Fs...>;
  template <class... Us>
  static types<T, Us...> prepend(types<Us...>);
  using inputs = decltype(prepend(typename rest::inputs{}));
  using result = typename rest::result;
};

// Where pipeline::blocked adds its seconds: the stage call running on this thread, if any.
inline double*& blocked_seconds() {
  static thread_local double* seconds = nullptr;
  return seconds;
}

template <class T>
struct envelope {
  std::size_t item;
  T value;
};

template <class List>
struct queue_tuple;
template <class... Ts>
struct queue_tuple<types<Ts...>> {
  using type = std::tuple<std::unique_ptr<bounded_queue<envelope<Ts>>>...>;
};

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// What happened to every item, and when to stop. Shared by the feeder and every worker.
class run_state {
 public:
  static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

  run_state(on_error policy, failure_limit* limit) : policy_(policy), limit_(limit) {}

  void add_item(std::size_t item) {
    std::lock_guard lock(mutex_);
    if (states_.size() <= item) states_.resize(item + 1, live);
  }
  void mark_started(std::size_t item) {
    std::lock_guard lock(mutex_);
    states_[item] = started;
  }
  void mark_done(std::size_t item) { settle(item, static_cast<std::uint8_t>(item_state::done)); }
  // An item dropped at a stage boundary: cancelled if a stage had started on it, else not started.
  void mark_dropped(std::size_t item) {
    std::lock_guard lock(mutex_);
    if (states_[item] == started) states_[item] = static_cast<std::uint8_t>(item_state::cancelled);
    if (states_[item] == live) states_[item] = static_cast<std::uint8_t>(item_state::not_started);
  }
  // Records item's failure; never throws (it runs in a worker's catch handler, where an escaping
  // exception would end the process): without memory for the details, the item still counts as
  // failed and finish() says how many details were lost.
  void fail(std::size_t item, const std::string& stage, std::exception_ptr error) noexcept {
    std::optional<failure> f;
    try {
      f.emplace(failure{item, stage, std::nullopt, {}, error});
      try {
        std::rethrow_exception(error);
      } catch (const vbatch::error& e) {
        f->code = e.code(), f->message = e.what();
      } catch (const std::bad_alloc&) {
        f->code = errc::out_of_memory, f->message = "out of memory";
      } catch (const std::exception& e) {
        f->message = e.what();
      } catch (...) {
        f->message = "an exception that is not a std::exception";
      }
    } catch (...) {
      f.reset();
    }
    {
      std::lock_guard lock(mutex_);
      try {
        if (states_.size() <= item) states_.resize(item + 1, live);
        if (!f) throw std::bad_alloc();
        failures_.push_back(std::move(*f));
      } catch (...) {
        ++lost_details_;
      }
      if (item < states_.size()) states_[item] = static_cast<std::uint8_t>(item_state::failed);
    }
    if (policy_ == on_error::skip) {
      if (limit_) limit_->add();  // beyond the limit the feeder stops (should_stop_feeding)
      return;
    }
    if (policy_ == on_error::stop) {
      abort();
    } else {
      for (std::size_t c = cancel_after_.load(); item < c && !cancel_after_.compare_exchange_weak(c, item);) {
      }
    }
  }
  void abort() {
    if (aborted_.exchange(true)) return;
    if (abort_queues_) abort_queues_();
  }
  void set_abort_action(std::function<void()> a) { abort_queues_ = std::move(a); }

  bool should_drop(std::size_t item) const { return aborted_.load() || item > cancel_after_.load(); }
  // A part may exceed the shared limit too (a loader's files, a writer's files).
  bool should_stop_feeding() const { return aborted_.load() || cancel_after_.load() != none || limit_exceeded(); }
  bool limit_exceeded() const { return policy_ == on_error::skip && limit_ && limit_->exceeded(); }

  // Final states: items still in flight were dropped inside an aborted queue.
  report finish(std::optional<std::size_t> count) {
    std::lock_guard lock(mutex_);
    if (lost_details_ > 0)
      failures_.push_back({none,
                           "?",
                           errc::out_of_memory,
                           vbatch::detail::format("{} failures not recorded (out of memory)", lost_details_),
                           {}});
    report r;
    if (count && states_.size() < *count) states_.resize(*count, static_cast<std::uint8_t>(item_state::not_started));
    r.items = states_.size();
    r.states.reserve(states_.size());
    for (std::uint8_t s : states_) {
      const item_state st = s == live      ? item_state::not_started
                            : s == started ? item_state::cancelled
                                           : static_cast<item_state>(s);
      r.states.push_back(st);
      (st == item_state::done        ? r.done
       : st == item_state::failed    ? r.failed
       : st == item_state::cancelled ? r.cancelled
                                     : r.not_started)++;
    }
    r.failures = failures_;
    std::sort(r.failures.begin(), r.failures.end(), [](const failure& a, const failure& b) { return a.item < b.item; });
    return r;
  }

 private:
  // Internal states beyond item_state: taken from the source, and started by the first stage.
  static constexpr std::uint8_t live = 100, started = 101;

  void settle(std::size_t item, std::uint8_t s) {
    std::lock_guard lock(mutex_);
    if (states_[item] != static_cast<std::uint8_t>(item_state::failed)) states_[item] = s;
  }

  on_error policy_;
  failure_limit* limit_;
  std::mutex mutex_;
  std::vector<std::uint8_t> states_;
  std::vector<failure> failures_;
  std::size_t lost_details_ = 0;  // failures that found no memory to be described in
  std::atomic<std::size_t> cancel_after_{none};
  std::atomic<bool> aborted_{false};
  std::function<void()> abort_queues_;
};

// Per-stage bookkeeping: the turn for ordered hand-over, and the statistics.
struct stage_runtime {
  std::mutex mutex;
  std::condition_variable turn_changed;
  std::size_t turn = 0;
  std::atomic<int> active{0};
  stage_report stats;

  void wait_turn(std::size_t sequence, double& waited) {
    std::unique_lock lock(mutex);
    if (turn == sequence) return;
    const auto start = std::chrono::steady_clock::now();
    turn_changed.wait(lock, [&] { return turn == sequence; });
    waited += seconds_since(start);
  }
  void pass_turn() {
    {
      std::lock_guard lock(mutex);
      ++turn;
    }
    turn_changed.notify_all();
  }
  void merge(const stage_report& s) {
    std::lock_guard lock(mutex);
    stats.busy += s.busy, stats.waiting_input += s.waiting_input, stats.waiting_output += s.waiting_output;
    stats.items += s.items, stats.failed += s.failed;
  }
};

template <class Source, class... Specs>
class runner {
  using first_input = source_value_t<Source>;
  using flow = chain<first_input, decltype(std::declval<Specs&>().fn)...>;
  using queues_t = typename queue_tuple<typename flow::inputs>::type;
  static constexpr std::size_t stage_count = sizeof...(Specs);
  static_assert(stage_count > 0, "pipeline::run: give at least one stage");
  static_assert(std::is_void_v<typename flow::result>, "pipeline::run: the last stage must return nothing (it is the sink)");

 public:
  runner(Source source, const options& o, Specs... specs)
      : source_(std::move(source)), options_(o), specs_(std::move(specs)...), state_(o.policy, o.limit) {}

  report run() {
    const auto start = std::chrono::steady_clock::now();
    check_options(std::index_sequence_for<Specs...>{});
    make_queues(std::index_sequence_for<Specs...>{});
    state_.set_abort_action([this] { abort_queues(std::index_sequence_for<Specs...>{}); });
    bool stopped = false;
    {
      std::optional<std::stop_callback<std::function<void()>>> on_stop;
      if (options_.stop.stop_possible()) on_stop.emplace(options_.stop, std::function<void()>([this] { state_.abort(); }));
      std::vector<std::jthread> threads;
      try {
        start_workers(threads, std::index_sequence_for<Specs...>{});
        threads.emplace_back([this] { feed(); });
      } catch (...) {
        state_.abort();  // could not start a thread: stop what started (the jthreads join)
        for (auto& t : threads) t.join();
        throw;
      }
      for (auto& t : threads) t.join();
      stopped = options_.stop.stop_requested();  // counted only if it dropped something (below)
    }
    report r = state_.finish(source_.count());
    r.stopped = stopped && r.done + r.failed < r.items;
    if constexpr (part_source<Source>)
      add_part(r, [this] { return source_.finish(); });
    else
      r.stages.push_back(source_stats_);
    for (auto& s : runtimes_) r.stages.push_back(s.stats);
    for (auto& part : options_.parts) add_part(r, part);
    r.too_many_failures = state_.limit_exceeded();
    r.wall = seconds_since(start);
    if (options_.profiler) {
      for (const stage_report& s : r.stages) {
        options_.profiler->add(s.name, s.kind, s.busy, s.waiting_input + s.waiting_output);
        options_.profiler->count(s.name, s.items);
      }
    }
    return r;
  }

 private:
  // Waits for a part, then adds its rows and its failures (an item done by the stages but failed
  // in the part, such as a view whose write failed, counts as failed).
  template <class Finish>
  void add_part(report& r, Finish&& finish) {
    part_report p;
    try {
      p = finish();
    } catch (...) {
      p.failures.push_back(
          {run_state::none, "part", std::nullopt, "a part of the run failed to finish", std::current_exception()});
    }
    for (stage_report& s : p.stages) r.stages.push_back(std::move(s));
    for (failure& f : p.failures) {
      if (f.item < r.states.size() && r.states[f.item] != item_state::failed) {
        (r.states[f.item] == item_state::done        ? r.done
         : r.states[f.item] == item_state::cancelled ? r.cancelled
                                                     : r.not_started)--;
        r.states[f.item] = item_state::failed;
        ++r.failed;
      }
      r.failures.push_back(std::move(f));
    }
    std::stable_sort(r.failures.begin(), r.failures.end(), [](const failure& a, const failure& b) { return a.item < b.item; });
  }

  template <std::size_t... K>
  void check_options(std::index_sequence<K...>) {
    const auto check_one = [&](const std::string& name, const stage_options& o, std::size_t k) {
      if (o.workers < 0) raise(errc::invalid_argument, "pipeline stage '{}': {} workers (0 or more)", name, o.workers);
      runtimes_[k].stats.name = name;
      runtimes_[k].stats.kind = o.kind;
      runtimes_[k].stats.workers = resolve_threads(o.workers);
    };
    (check_one(std::get<K>(specs_).name, std::get<K>(specs_).options, K), ...);
    source_stats_.name = options_.source_name;
    source_stats_.kind = options_.source_kind;
  }

  template <std::size_t... K>
  void make_queues(std::index_sequence<K...>) {
    const auto capacity = [](const stage_options& o) { return o.queue.value_or(std::size_t(resolve_threads(o.workers)) + 1); };
    ((std::get<K>(queues_) =
          std::make_unique<typename std::tuple_element_t<K, queues_t>::element_type>(capacity(std::get<K>(specs_).options))),
     ...);
  }

  template <std::size_t... K>
  void abort_queues(std::index_sequence<K...>) {
    (std::get<K>(queues_)->abort(), ...);
  }

  template <std::size_t... K>
  void start_workers(std::vector<std::jthread>& threads, std::index_sequence<K...>) {
    (start_stage<K>(threads), ...);
  }

  template <std::size_t K>
  void start_stage(std::vector<std::jthread>& threads) {
    const int n = runtimes_[K].stats.workers;
    runtimes_[K].active = n;
    for (int w = 0; w < n; ++w) threads.emplace_back([this] { work<K>(); });
  }

  void feed() {
    auto& queue = *std::get<0>(queues_);
    stage_report s;
    std::size_t pulled = 0;
    // The source is asked for an item only when the first stage has room for it, so that with a
    // hand-off queue nothing is taken from a prefetching source before a worker is ready.
    while (!state_.should_stop_feeding() && queue.wait_for_room(&s.waiting_output)) {
      std::optional<first_input> value;
      const auto t0 = std::chrono::steady_clock::now();
      try {
        value = source_.next();
      } catch (...) {
        s.busy += seconds_since(t0);
        state_.fail(pulled, options_.source_name, std::current_exception());
        ++s.failed;
        break;
      }
      s.busy += seconds_since(t0);
      if (!value) break;
      state_.add_item(pulled);
      ++s.items;
      if (!queue.push(envelope<first_input>{pulled, std::move(*value)}, &s.waiting_output)) {
        state_.mark_dropped(pulled);
        break;
      }
      ++pulled;
    }
    queue.close();
    source_stats_.busy = s.busy, source_stats_.waiting_output = s.waiting_output;
    source_stats_.items = s.items, source_stats_.failed = s.failed;
  }

  template <std::size_t K>
  void work() {
    constexpr bool last = K + 1 == stage_count;
    auto& spec = std::get<K>(specs_);
    auto& in = *std::get<K>(queues_);
    stage_runtime& rt = runtimes_[K];
    stage_report s;
    while (auto popped = in.pop(&s.waiting_input)) {
      const std::size_t item = popped->value.item;
      using input_t = decltype(popped->value.value);
      // Runs the stage function on the item unless it is to be dropped; false when dropped or failed.
      const auto attempt = [&](auto&& body) {
        if (state_.should_drop(item)) {
          state_.mark_dropped(item);
          return false;
        }
        if constexpr (K == 0) state_.mark_started(item);
        const auto t0 = std::chrono::steady_clock::now();
        double blocked = 0;  // inside the function, waiting for room downstream (pipeline::blocked)
        blocked_seconds() = &blocked;
        bool ok = false;
        try {
          body();
          ok = true;
          ++s.items;
        } catch (...) {
          state_.fail(item, spec.name, std::current_exception());
          ++s.failed;
        }
        blocked_seconds() = nullptr;
        s.busy += seconds_since(t0) - blocked;
        s.waiting_output += blocked;
        return ok;
      };
      if constexpr (last) {
        if (attempt([&] { call_stage(spec.fn, std::move(popped->value.value), item); })) state_.mark_done(item);
      } else {
        std::optional<stage_result_t<decltype(spec.fn), input_t>> out;
        const bool ok = attempt([&] { out.emplace(call_stage(spec.fn, std::move(popped->value.value), item)); });
        // Hand on, in turn when ordered: every popped item takes its turn, dropped or not.
        const bool ordered = spec.options.ordered;
        if (ordered) rt.wait_turn(popped->sequence, s.waiting_output);
        if (ok) {
          bool pushed = false;
          if (!state_.should_drop(item)) {
            try {
              pushed = std::get<K + 1>(queues_)->push({item, std::move(*out)}, &s.waiting_output);
            } catch (...) {
              state_.fail(item, spec.name, std::current_exception());
            }
          }
          if (!pushed) state_.mark_dropped(item);
        }
        if (ordered) rt.pass_turn();
      }
    }
    rt.merge(s);
    if constexpr (!last) {
      if (--rt.active == 0) std::get<K + 1>(queues_)->close();
    }
  }

  Source source_;
  options options_;
  std::tuple<Specs...> specs_;
  queues_t queues_;
  run_state state_;
  std::array<stage_runtime, sizeof...(Specs)> runtimes_;
  stage_report source_stats_;
};

}  // namespace detail

// Inside a stage function: runs `wait` (acquiring a buffer from a pool that later stages give
// back, or any other wait for room downstream) and counts its time as the stage waiting for
// output, not as busy. image_writer::submit counts its own wait for queue room so.
template <class F>
decltype(auto) blocked(F&& wait) {
  struct timer {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~timer() {
      if (double* s = detail::blocked_seconds()) *s += detail::seconds_since(start);
    }
  } t;
  return std::forward<F>(wait)();
}

// Runs items from `source` through `stages` (see the top of this file); returns when every
// item is accounted for and every thread has finished.
template <class Source, class... Specs>
requires(!std::is_same_v<std::remove_cvref_t<Source>, options>) report run(Source&& source, Specs&&... stages) {
  return run(options{}, std::forward<Source>(source), std::forward<Specs>(stages)...);
}

template <class Source, class... Specs>
report run(const options& o, Source&& source, Specs&&... stages) {
  auto s = detail::make_source(std::forward<Source>(source));
  detail::runner<decltype(s), std::decay_t<Specs>...> r(std::move(s), o, std::forward<Specs>(stages)...);
  return r.run();
}

}  // namespace vbatch::inline v0::pipeline
