#pragma once
// An asynchronous image writer: submit() queues an image and returns; N workers encode and write
// each one atomically (temporary file + rename). The queue is bounded, so a producer faster than
// the encoders waits (back-pressure) instead of filling memory.
//
//   vbatch::pipeline::image_writer writer({.workers = 2, .queue = 16});
//   writer.submit("out/view_00.jpg", views.image(0), keep);   // keep: a shared_ptr owning the pixels
//   writer.submit_copy("out/mask_00.png", mask.view());       // or let the writer copy them
//   vbatch::pipeline::writer_report r = writer.close();       // waits for everything; r.failures name files
//   writer.throw_if_failed();                                  // or: the first failure as a vbatch::error
//
// In a pipeline run the writer is a part behind the last stage (options.parts =
// {attach(writer)}): the stage submits with the item's index, run() waits for the writes, and a
// failed write fails its item in the run's report, beside the encode and write rows.
//
// Threads: with options.budget, a worker holds one of the run's slots while it encodes (not while
// it waits for work or for the disk).
// Errors are collected with their file names. With on_error::stop (the default), after the first
// failure nothing more is written: images not yet started are discarded (counted), and submit()
// throws that failure so the producer stops. With on_error::skip the writer goes on after a
// failure; with a failure_limit (shared with the run), it stops as above once its own failures
// take the count beyond the limit. Failed writes leave no file: neither the temporary nor a
// partial target (an existing target is kept as it was).
//
// Resuming a run: is_complete_image(path, w, h) says whether a file exists, decodes without error
// and has the expected size, so a tool can skip exactly the outputs that are finished and redo
// truncated or corrupt ones.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vbatch/core/queue.hpp"
#include "vbatch/core/threads.hpp"
#include "vbatch/io/format.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/pipeline/pipeline.hpp"

namespace vbatch::inline v0::pipeline {

struct writer_options {
  int workers = 0;        // encode-and-write threads; 0: the budget's size, or one per hardware thread
  std::size_t queue = 0;  // images waiting to be encoded; 0: 2 × workers
  io::save_options save{};
  on_error policy = on_error::stop;                            // stop or skip (see the top of this file)
  failure_limit* limit = nullptr;                              // on_error::skip: shared with the run
  thread_budget* budget = nullptr;                             // the run's threads (see the top of this file)
  std::string encode_stage = "encode", write_stage = "write";  // the rows of finish()'s report
};

inline constexpr std::size_t no_item = std::numeric_limits<std::size_t>::max();

struct write_failure {
  std::size_t item = no_item;  // the pipeline item it was submitted for
  std::filesystem::path path;
  std::optional<errc> code;
  std::string message;
};

struct writer_report {
  std::size_t submitted = 0, written = 0, failed = 0, discarded = 0;
  std::vector<write_failure> failures;           // in the order they happened
  double encode_seconds = 0, write_seconds = 0;  // summed over workers
  double producer_wait_seconds = 0;              // submit() blocked on a full queue
  std::uint64_t bytes = 0;                       // written
};

template <io::image_codec Codec = io::default_codec>
class image_writer {
 public:
  explicit image_writer(writer_options o = {})
      : options_(std::move(o)),
        workers_(options_.workers > 0 ? options_.workers
                 : options_.budget    ? options_.budget->size()
                                      : hardware_threads()),
        queue_(options_.queue > 0 ? options_.queue : 2 * std::size_t(workers_)) {
    if (options_.workers < 0) raise(errc::invalid_argument, "image_writer: {} workers (0 or more)", options_.workers);
    if (options_.policy != on_error::stop && options_.policy != on_error::skip)
      raise(errc::invalid_argument, "image_writer: the policy on errors is stop or skip");
    if (options_.save.jpeg_quality < 1 || options_.save.jpeg_quality > 100)
      raise(errc::invalid_argument, "image_writer: JPEG quality {} outside 1..100", options_.save.jpeg_quality);
    threads_.reserve(workers_);
    try {
      for (int w = 0; w < workers_; ++w) threads_.emplace_back([this] { work(); });
    } catch (...) {  // a thread could not start: stop the ones that did, or they would outlive us
      queue_.close();
      for (auto& t : threads_) t.join();
      throw;
    }
  }
  image_writer(const image_writer&) = delete;
  image_writer& operator=(const image_writer&) = delete;
  // Writes everything queued, like close() (call cancel() first to drop what has not started).
  ~image_writer() { close(); }

  // Queues `image` (one image, 1, 3 or 4 channels, packed pixels) for an atomic save to `path`
  // (format by extension), for pipeline item `item`. `keep` must own the pixels (and the bytes of
  // `save->exif`, if any) until the image is written. Blocks while the queue is full. Throws at once for an unusable path or
  // image, and once the writer has stopped on a failure (see the top of this file) the first failure.
  void submit(std::filesystem::path path, batch_view<const u8> image, std::shared_ptr<const void> keep,
              std::optional<io::save_options> save = std::nullopt, std::size_t item = no_item) {
    const io::image_format format = io::format_from_path(path);
    const io::save_options s = save.value_or(options_.save);
    check(io::can_encode(format, image, s, path));
    enqueue(job{std::move(path), format, image, std::move(keep), s, item});
  }
  // The same, with a copy of the pixels (and EXIF) made here (the caller may reuse its memory at once).
  void submit_copy(std::filesystem::path path, batch_view<const u8> image, std::optional<io::save_options> save = std::nullopt,
                   std::size_t item = no_item) {
    const io::image_format format = io::format_from_path(path);
    io::save_options s = save.value_or(options_.save);
    check(io::can_encode(format, image, s, path));
    struct copied {
      batch_buffer<u8> pixels;
      std::vector<unsigned char> exif;
    };
    auto copy = std::make_shared<copied>(
        copied{batch_buffer<u8>(batch_shape{1, image.h, image.w, image.c}), {s.exif.begin(), s.exif.end()}});  // (1,H,W,C)
    for (int y = 0; y < image.h; ++y)
      std::memcpy(copy->pixels.view().pixel(0, y, 0), image.pixel(0, y, 0), std::size_t(image.w) * image.c);
    s.exif = copy->exif;
    const batch_view<const u8> view = copy->pixels.view();
    enqueue(job{std::move(path), format, view, std::move(copy), s, item});
  }

  // Waits until every image submitted so far is written, failed or discarded.
  void flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return settled() == submitted_; });
  }

  // Flushes, stops the workers and returns the report (idempotent).
  writer_report close() {
    flush();
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    queue_.close();
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard lock(mutex_);
    return report_locked();
  }

  // As a part of a pipeline run: closes, then the encode and write rows and every failure with
  // its item (a discarded image is not a failure: its item failed or was cancelled already).
  part_report finish() {
    const writer_report r = close();
    part_report p;
    p.stages.push_back({options_.encode_stage, profile::stage_kind::io, workers_, r.encode_seconds, 0, 0, r.written, r.failed});
    p.stages.push_back({options_.write_stage, profile::stage_kind::io, workers_, r.write_seconds, 0, 0, r.written, 0});
    for (const write_failure& f : r.failures) p.failures.push_back({f.item, options_.encode_stage, f.code, f.message, nullptr});
    return p;
  }

  // Discards every image not started yet; the ones being written finish.
  void cancel() {
    stopping_ = true;
    flush();
  }

  bool failed() const {
    std::lock_guard lock(mutex_);
    return report_.failed > 0;
  }
  writer_report report() const {
    std::lock_guard lock(mutex_);
    return report_locked();
  }
  // Throws the first failure as a vbatch::error (its message names the file), adding how many
  // more failed.
  void throw_if_failed() const {
    std::lock_guard lock(mutex_);
    if (report_.failed == 0) return;
    throw first_failure();
  }

 private:
  struct job {
    std::filesystem::path path;
    io::image_format format;
    batch_view<const u8> image;
    std::shared_ptr<const void> keep;
    io::save_options save;
    std::size_t item = no_item;
  };

  std::size_t settled() const { return report_.written + report_.failed + report_.discarded; }

  // The first failure as an error naming its file, with how many more failed (under mutex_).
  error first_failure() const {
    const std::size_t more = report_.failed - 1;
    const std::string tail = more ? vbatch::detail::format(" (and {} more failed writes)", more) : "";
    if (report_.failures.empty()) return error(errc::io, "image_writer: " + std::to_string(report_.failed) + " writes failed");
    const write_failure& f = report_.failures.front();
    return error(f.code.value_or(errc::io), f.message + tail);
  }

  // A failed write with its message; never throws (a worker thread must not): with no memory left
  // for the message, the path alone.
  static std::optional<write_failure> describe_failure(std::size_t item, const std::filesystem::path& path,
                                                       std::exception_ptr e) noexcept {
    try {
      try {
        std::rethrow_exception(e);
      } catch (const vbatch::error& x) {
        return write_failure{item, path, x.code(), x.what()};
      } catch (const std::bad_alloc&) {
        return write_failure{item, path, errc::out_of_memory, path.string() + ": out of memory while encoding"};
      } catch (const std::exception& x) {
        return write_failure{item, path, std::nullopt, path.string() + ": " + x.what()};
      } catch (...) {
        return write_failure{item, path, std::nullopt, path.string() + ": an exception that is not a std::exception"};
      }
    } catch (...) {
      try {
        return write_failure{item, path, errc::out_of_memory, {}};
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  writer_report report_locked() const { return report_; }

  void enqueue(job&& j) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_on_failure_) throw first_failure();
      if (closing()) raise(errc::invalid_argument, "image_writer: submit() after close() or cancel(): {}", j.path.string());
      ++submitted_;
      ++report_.submitted;
    }
    double waited = 0;
    bool queued = false;
    try {
      queued = queue_.push(std::move(j), &waited);
    } catch (...) {  // the queue could not grow: the job is settled as discarded, or flush() would wait for it
      std::lock_guard lock(mutex_);
      ++report_.discarded;
      idle_.notify_all();
      throw;
    }
    if (double* blocked = detail::blocked_seconds()) *blocked += waited;  // a stage waiting for room downstream
    std::lock_guard lock(mutex_);
    report_.producer_wait_seconds += waited;
    if (!queued) {
      ++report_.discarded;
      idle_.notify_all();
    }
  }
  bool closing() const { return stopping_.load() || closed_; }

  void work() {
    using clock = std::chrono::steady_clock;
    while (auto popped = queue_.pop()) {
      job& j = popped->value;
      bool discard = stopping_.load();
      {
        std::lock_guard lock(mutex_);
        discard = discard || stopped_on_failure_;
      }
      if (discard) {
        j.keep.reset();
        std::lock_guard lock(mutex_);
        ++report_.discarded;
        idle_.notify_all();
        continue;
      }
      double encode = 0, write = 0;
      std::size_t bytes = 0;
      std::optional<write_failure> failure;
      bool failed = false;
      try {
        std::vector<unsigned char> encoded;
        auto t0 = clock::now();
        {
          thread_budget::lease slot = options_.budget ? options_.budget->acquire() : thread_budget::lease{};
          t0 = clock::now();  // the wait for a slot is not encoding
          encoded = io::encode_image<Codec>(j.format, j.image, j.save, j.path);
        }
        auto t1 = clock::now();
        encode = std::chrono::duration<double>(t1 - t0).count();
        j.keep.reset();  // the pixels are no longer needed: recycle them before the (slower) write
        io::write_file_atomically(j.path, encoded.data(), encoded.size(), j.save.fsync);
        write = std::chrono::duration<double>(clock::now() - t1).count();
        bytes = encoded.size();
      } catch (...) {
        failed = true;
        failure = describe_failure(j.item, j.path, std::current_exception());
      }
      j.keep.reset();
      std::lock_guard lock(mutex_);
      report_.encode_seconds += encode;
      report_.write_seconds += write;
      if (failed) {
        ++report_.failed;
        if (options_.policy == on_error::stop || (options_.limit && !options_.limit->add())) stopped_on_failure_ = true;
        try {
          if (failure) report_.failures.push_back(std::move(*failure));
        } catch (...) {  // no memory to keep the details: the count above still says it failed
        }
      } else {
        ++report_.written;
        report_.bytes += bytes;
      }
      idle_.notify_all();
    }
  }

  writer_options options_;
  int workers_;
  bounded_queue<job> queue_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t submitted_ = 0;
  writer_report report_;
  std::atomic<bool> stopping_{false};
  bool closed_ = false;
  bool stopped_on_failure_ = false;  // see the top of this file (under mutex_)
  std::vector<std::thread> threads_;
};

// Whether `path` holds a finished image: it exists, decodes without error (a truncated JPEG or
// PNG does not), and is width × height when those are given (non-zero).
template <io::image_codec Codec = io::default_codec>
bool is_complete_image(const std::filesystem::path& path, int width = 0, int height = 0, const io::image_limits& limits = {}) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  try {
    const std::vector<unsigned char> bytes = read_file(path);
    bool size_ok = true;
    batch_buffer<u8> pixels;
    io::decode_image<Codec>(bytes, path, 0, limits, [&](const io::image_info& info) {
      size_ok = (width == 0 || info.width == width) && (height == 0 || info.height == height);
      if (!size_ok) raise(errc::invalid_argument, "size");  // no need to decode
      pixels = batch_buffer<u8>({1, info.height, info.width, info.channels});
      return pixels.view();
    });
    return size_ok;
  } catch (const vbatch::error&) {
    return false;
  }
}

}  // namespace vbatch::inline v0::pipeline
