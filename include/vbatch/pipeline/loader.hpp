#pragma once
// A prefetching parallel image loader: N decode workers fill batches K batches ahead of the
// consumer, straight into recycled batch buffers, so decoding overlaps whatever the consumer does
// with the previous batch, and memory stays bounded.
//
//   vbatch::pipeline::image_loader loader(files, {.workers = 2, .prefetch = 2, .batch = 4});
//   while (auto b = loader.next()) {                 // blocks only when the next batch is not decoded yet
//     use(b->images);                                 // (B,H,W,3), B <= 4; valid while b (or b->keep) lives
//   }                                                 // throws the first decode error, naming the file, in order
//
// As a pipeline source: pipeline::run(options, loader, stages...) takes the batches in order
// (item k = batch k), and its report has the loader's "decode" row (see finish()).
//
// Batches are runs of consecutive images of one size (and channel count), at most `batch` long,
// or as long as a batch policy says (the constructor taking one asks policy.next(remaining) for
// each batch; the sizes are planned when the loader is built, so a policy's feedback, such as a
// back-off, acts in the stage that computes, e.g. through batch::for_each_batch). Image sizes
// come from the headers, read when the loader is built (so a bad header fails before any
// decoding). Workers decode image by image in list order but only within the window of the
// `prefetch` batches after the last one handed out: at most `prefetch` batch buffers are filled
// or waiting at any time, plus the ones the consumer still holds. A batch's buffer goes back to
// the loader's pool when the last copy of its `keep` is released.
//
// Threads: `workers` decode threads (0: the budget's size, or one per hardware thread); with a
// thread_budget each holds one of the run's slots while it decodes, and none while it waits.
// prefetch 0 (the default) keeps every worker busy: enough batches that the window holds at
// least one image per worker that can run at once (at most one per core), and at least 2.
//
// Errors: by default (on_error::stop) a file that fails to decode fails its batch: the batches
// before it are delivered, next() throws that file's error when it reaches it, and nothing after
// it is decoded. With on_error::skip its batch is delivered with the file's pixels zeroed and the
// file listed in the batch's `failures` (the consumer skips it), and decoding goes on; with a
// failure_limit, the first failure beyond it fails as under on_error::stop. Headers are read when
// the loader is built, under every policy: a caller that skips files with unreadable headers
// leaves them out of the list.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "vbatch/batch/policy.hpp"
#include "vbatch/core/buffer_pool.hpp"
#include "vbatch/core/threads.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/pipeline/pipeline.hpp"

namespace vbatch::inline v0::pipeline {

struct loader_options {
  int workers = 0;   // decode threads; 0: the budget's size, or one per hardware thread
  int prefetch = 0;  // batches decoded (or being decoded) ahead of the consumer; 0: every worker busy
  int batch = 1;     // images per batch, at most (batch::fixed{batch}; or give the constructor a policy)
  int channels = 3;  // 1, 3 or 4; 0 keeps each file's own (gray+alpha becomes RGBA)
  io::image_limits limits{};
  thread_budget* budget = nullptr;    // the run's threads (see the top of this file)
  std::string stage_name = "decode";  // finish()'s row
  on_error policy = on_error::stop;   // stop or skip (see the top of this file)
  failure_limit* limit = nullptr;     // on_error::skip: shared with the run
};

// A file that failed to decode, under on_error::skip.
struct decode_failure {
  std::size_t index = 0;  // the file's position in the loader's list
  std::filesystem::path path;
  std::optional<errc> code;
  std::string message;  // names the file
};

// One file, with its size when already known (0: read from its header).
struct load_item {
  std::filesystem::path path;
  int width = 0, height = 0, channels = 0;
};

struct loaded_batch {
  std::size_t index = 0;                 // 0, 1, ... in delivery order
  std::size_t first = 0;                 // position of its first image in the loader's list
  batch_view<u8> images;                 // (B,H,W,C)
  std::span<const load_item> items;      // its B files
  std::shared_ptr<const void> keep;      // owns the pixels; the buffer is recycled when released
  std::vector<decode_failure> failures;  // on_error::skip: its files that failed (zeroed), by index
};

struct loader_stats {
  double decode_seconds = 0;                        // summed over workers
  double worker_idle_seconds = 0;                   // workers waiting for the window to move
  double consumer_wait_seconds = 0;                 // next() waiting for a batch: the consumer starved
  std::size_t images = 0, batches = 0, failed = 0;  // failed: files skipped (on_error::skip)
  std::size_t peak_ahead = 0;  // most batches filled or being filled, not yet handed out, at once (<= prefetch)
};

template <io::image_codec Codec = io::default_codec>
class image_loader {
 public:
  explicit image_loader(std::vector<load_item> items, loader_options o = {})
      : image_loader(std::move(items), fixed_batch(o), o) {}
  explicit image_loader(const std::vector<std::filesystem::path>& files, loader_options o = {})
      : image_loader(to_items(files), std::move(o)) {}

  // Batch sizes from `policy` (see the top of this file); options.batch is not used.
  template <batch::policy Policy>
  image_loader(std::vector<load_item> items, Policy policy, loader_options o) : items_(std::move(items)), options_(std::move(o)) {
    if (options_.workers < 0) raise(errc::invalid_argument, "image_loader: {} workers (0 or more)", options_.workers);
    if (options_.prefetch < 0)
      raise(errc::invalid_argument, "image_loader: prefetch {} (0 for automatic, or more)", options_.prefetch);
    if (options_.policy != on_error::stop && options_.policy != on_error::skip)
      raise(errc::invalid_argument, "image_loader: the policy on errors is stop or skip");
    if (options_.channels != 0 && options_.channels != 1 && options_.channels != 3 && options_.channels != 4)
      raise(errc::invalid_argument, "image_loader: {} channels (0, 1, 3 or 4)", options_.channels);
    for (load_item& it : items_) {
      if (it.width > 0 && it.height > 0 && (it.channels > 0 || options_.channels > 0)) continue;
      const io::image_info info = io::read_image_info(it.path);
      check(io::can_load(it.path, info, options_.limits));
      it.width = info.width, it.height = info.height, it.channels = info.channels == 2 ? 4 : info.channels;
    }
    if (options_.channels > 0)
      for (load_item& it : items_) it.channels = options_.channels;
    plan(policy);
    const int wanted = options_.workers > 0 ? options_.workers : options_.budget ? options_.budget->size() : hardware_threads();
    const int workers = std::min<int>(wanted, int(std::max<std::size_t>(1, items_.size())));
    workers_ = workers;
    // Automatic window: one image for each worker that can run at once (more workers than cores
    // only take turns), plus the batch being handed out.
    const int parallel = std::min(workers, hardware_threads());
    if (options_.prefetch == 0) options_.prefetch = std::max(2, (parallel + largest_batch_ - 1) / largest_batch_ + 1);
    batches_state_.resize(plan_.size());
    threads_.reserve(workers);
    try {
      for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { work(); });
    } catch (...) {  // a thread could not start: stop the ones that did, or they would outlive us
      close();
      throw;
    }
  }
  image_loader(const image_loader&) = delete;
  image_loader& operator=(const image_loader&) = delete;
  ~image_loader() { close(); }

  std::size_t batch_count() const { return plan_.size(); }
  std::size_t image_count() const { return items_.size(); }
  int prefetch() const { return options_.prefetch; }  // the window, once resolved
  std::size_t largest_batch() const { return std::size_t(largest_batch_); }
  // As a pipeline source: the number of batches.
  std::optional<std::size_t> count() const { return plan_.size(); }

  // The next batch in order, waiting until it is decoded; nullopt after the last. Throws the
  // error of a batch that failed (the file's decode error), after every batch before it.
  std::optional<loaded_batch> next() {
    std::unique_lock lock(mutex_);
    if (delivered_ >= plan_.size() || closed_) return std::nullopt;
    batch_state& b = batches_state_[delivered_];
    if (!(b.remaining == 0 && b.started)) {
      const auto start = std::chrono::steady_clock::now();
      ready_.wait(lock, [&] { return (b.remaining == 0 && b.started) || closed_; });
      stats_.consumer_wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (closed_) return std::nullopt;
    }
    if (b.error) {
      delivered_ = plan_.size();  // nothing after a failed batch
      stop_ = true;
      work_.notify_all();
      std::rethrow_exception(b.error);
    }
    const batch_plan& p = plan_[delivered_];
    loaded_batch out{delivered_,
                     p.first,
                     b.buffer->view().images(0, int(p.count)),
                     std::span<const load_item>(items_).subspan(p.first, p.count),
                     std::move(b.buffer),
                     std::move(b.failures)};
    std::sort(out.failures.begin(), out.failures.end(),
              [](const decode_failure& x, const decode_failure& y) { return x.index < y.index; });
    ++delivered_;
    ++stats_.batches;
    lock.unlock();
    work_.notify_all();  // the window moved
    return out;
  }

  // Stops the workers (an image being decoded finishes first). Batches handed out stay valid.
  // Called by the destructor.
  void close() {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = stop_ = true;
    }
    work_.notify_all();
    ready_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // As a part of a pipeline run: closes, and returns the decode row (busy: decoding, summed over
  // workers; waiting for input: workers idle at the end of the window; waiting for output: the
  // consumer waiting for a batch, i.e. the run starved of decoded frames).
  part_report finish() {
    close();
    const loader_stats s = stats();
    part_report p;
    p.stages.push_back({options_.stage_name, profile::stage_kind::io, workers_, s.decode_seconds, s.worker_idle_seconds,
                        s.consumer_wait_seconds, s.images, s.failed});
    return p;
  }

  loader_stats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  struct batch_plan {
    std::size_t first = 0, count = 0;
    batch_shape shape{};
  };
  struct batch_state {
    std::shared_ptr<batch_buffer<u8>> buffer;
    std::size_t remaining = 0;
    bool started = false;
    std::exception_ptr error;
    std::vector<decode_failure> failures;  // skipped files
  };

  // The failure's description; nothing when there is no memory for it (the batch then fails).
  std::optional<decode_failure> describe(std::size_t image, std::exception_ptr e) const noexcept {
    try {
      decode_failure f{image, items_[image].path, std::nullopt, {}};
      try {
        std::rethrow_exception(e);
      } catch (const vbatch::error& x) {
        f.code = x.code(), f.message = x.what();
      } catch (const std::bad_alloc&) {
        f.code = errc::out_of_memory, f.message = items_[image].path.string() + ": out of memory while decoding";
      } catch (const std::exception& x) {
        f.message = items_[image].path.string() + ": " + x.what();
      }
      return f;
    } catch (...) {
      return std::nullopt;
    }
  }

  static std::vector<load_item> to_items(const std::vector<std::filesystem::path>& files) {
    std::vector<load_item> items;
    items.reserve(files.size());
    for (const auto& f : files) items.push_back({f});
    return items;
  }

  static batch::fixed fixed_batch(const loader_options& o) {
    if (o.batch < 1) raise(errc::invalid_argument, "image_loader: batch {} (at least 1)", o.batch);
    return batch::fixed(std::size_t(o.batch));
  }

  // Runs of one shape, cut into batches of the policy's sizes.
  template <class Policy>
  void plan(Policy& policy) {
    for (std::size_t i = 0; i < items_.size();) {
      const batch_shape shape{1, items_[i].height, items_[i].width, items_[i].channels};
      const std::size_t size = std::max<std::size_t>(1, policy.next(items_.size() - i));
      std::size_t j = i + 1;
      while (j < items_.size() && j - i < size && items_[j].width == shape.w && items_[j].height == shape.h &&
             items_[j].channels == shape.c)
        ++j;
      plan_.push_back({i, j - i, {int(j - i), shape.h, shape.w, shape.c}});
      largest_batch_ = std::max(largest_batch_, int(j - i));
      i = j;
    }
    batch_of_.resize(items_.size());
    for (std::size_t b = 0; b < plan_.size(); ++b)
      for (std::size_t k = 0; k < plan_[b].count; ++k) batch_of_[plan_[b].first + k] = b;
  }

  void work() {
    double decode = 0, idle = 0;
    std::size_t images = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      // Nothing left to do: stopped, every image taken, or the rest comes after a failed batch.
      const auto finished = [&] { return stop_ || next_image_ >= items_.size() || batch_of_[next_image_] > failed_after_; };
      const auto can_start = [&] { return finished() || batch_of_[next_image_] < delivered_ + std::size_t(options_.prefetch); };
      if (!can_start()) {
        const auto start = std::chrono::steady_clock::now();
        work_.wait(lock, can_start);
        idle += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      if (finished()) break;
      const std::size_t image = next_image_++;
      const std::size_t b = batch_of_[image];
      batch_state& st = batches_state_[b];
      if (!st.started) {
        st.started = true;
        st.remaining = plan_[b].count;
        stats_.peak_ahead = std::max(stats_.peak_ahead, b + 1 - delivered_);
      }
      std::exception_ptr error;
      if (!st.buffer && !st.error) {
        try {
          st.buffer = pool_.acquire(plan_[b].shape);  // a recycled buffer in steady state: no page faults
        } catch (...) {
          error = std::current_exception();
        }
      }
      std::shared_ptr<batch_buffer<u8>> buffer = st.buffer;
      const bool skip = st.error || error || failed_after_ < b;
      lock.unlock();
      std::optional<decode_failure> skipped;
      if (!skip) {
        thread_budget::lease slot = options_.budget ? options_.budget->acquire() : thread_budget::lease{};
        const auto start = std::chrono::steady_clock::now();
        const batch_view<u8> slot_pixels = buffer->view().image(int(image - plan_[b].first));
        try {
          io::load_image_into<Codec>(items_[image].path, slot_pixels, options_.limits);
          ++images;
        } catch (...) {
          error = std::current_exception();
          if (options_.policy == on_error::skip && (!options_.limit || options_.limit->add())) {
            skipped = describe(image, error);
            if (skipped) {
              error = nullptr;
              std::fill_n(slot_pixels.data, slot_pixels.shape().elements(), u8{0});  // no half-decoded pixels downstream
            }
          }
        }
        decode += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
      buffer.reset();
      lock.lock();
      if (skipped) {
        try {
          st.failures.push_back(std::move(*skipped));
          ++stats_.failed;
        } catch (...) {
          error = std::current_exception();  // no memory to list it: the batch fails instead
        }
      }
      if (error && !st.error) {
        st.error = error;
        failed_after_ = std::min(failed_after_, b);
        work_.notify_all();  // waiting workers may stop
      }
      if (--st.remaining == 0) {
        if (st.error) st.buffer.reset();
        ready_.notify_all();
      }
    }
    stats_.decode_seconds += decode;
    stats_.worker_idle_seconds += idle;
    stats_.images += images;
  }

  std::vector<load_item> items_;
  loader_options options_;
  std::vector<batch_plan> plan_;
  int largest_batch_ = 1, workers_ = 1;
  std::vector<std::size_t> batch_of_;
  buffer_pool<u8> pool_;

  mutable std::mutex mutex_;
  std::condition_variable work_, ready_;
  std::vector<batch_state> batches_state_;
  std::size_t next_image_ = 0, delivered_ = 0, failed_after_ = std::size_t(-1);
  bool stop_ = false, closed_ = false;
  loader_stats stats_;
  std::vector<std::thread> threads_;
};

}  // namespace vbatch::inline v0::pipeline
