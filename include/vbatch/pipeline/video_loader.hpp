#pragma once
// A video's frames as a pipeline source: one pass of the decoder (io::raw_video: ffmpeg, which
// pipes only the selected frames) on a thread of its own, straight into recycled batch buffers up
// to `prefetch` batches ahead of the consumer, so that decoding overlaps whatever the run does
// with the batches before. Its interface is image_loader's (next, count, finish, largest_batch).
//
//   vbatch::pipeline::video_loader video("clip.mp4", {0, 25, 50, 75}, vbatch::batch::fixed(2));
//   while (auto b = video.next()) use(b->images);   // (B,H,W,3); b->first: its first frame's position in the list
//   vbatch::pipeline::run(options, video, stages...);   // or as a run's source, with a "decode" row
//
// Frames are read once each, in increasing order: a video cannot be decoded in parallel or out of
// order without seeking, and a seek costs the decode of a key frame and the frames after it.
//
// Errors: a decoder that fails, or a stream that ends before a selected frame, ends the run at
// that frame: the batches before it are delivered, and the frames of its batch read before it as
// a shorter batch; then next() throws naming the file and the frame, and nothing after it is
// read. There is no on_error::skip: once the decoder has failed its stream is gone, so a caller
// that skips failures lists the frames it never received.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
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
#include "vbatch/io/frame_source.hpp"
#include "vbatch/pipeline/loader.hpp"
#include "vbatch/pipeline/pipeline.hpp"

namespace vbatch::inline v0::pipeline {

struct video_loader_options {
  int prefetch = 2;  // batches decoded (or being decoded) ahead of the consumer, at least 1
  int channels = 3;  // 1, 3 or 4
  io::image_limits limits{};
  std::string decoder = "ffmpeg", probe = "ffprobe";  // as io::video_options
  std::string stage_name = "decode";                  // finish()'s row
};

class video_loader {
 public:
  // The frames `frames` (increasing, distinct, >= 0) of `file`, in batches of the policy's sizes.
  template <batch::policy Policy>
  video_loader(const std::filesystem::path& file, std::vector<std::int64_t> frames, Policy policy, video_loader_options o = {})
      : options_(std::move(o)), frames_(std::move(frames)) {
    if (frames_.empty()) raise(errc::invalid_argument, "video_loader: no frames selected from {}", file.string());
    if (options_.prefetch < 1) raise(errc::invalid_argument, "video_loader: prefetch {} (at least 1)", options_.prefetch);
    video_.emplace(file, io::video_options{.decoder = options_.decoder,
                                           .probe = options_.probe,
                                           .channels = options_.channels,
                                           .frames = frames_,
                                           .limits = options_.limits});
    items_.assign(frames_.size(), load_item{file, video_->width(), video_->height(), options_.channels});
    for (std::size_t first = 0; first < frames_.size();) {
      const std::size_t count = std::clamp<std::size_t>(policy.next(frames_.size() - first), 1, frames_.size() - first);
      plan_.push_back({first, count});
      largest_batch_ = std::max(largest_batch_, count);
      first += count;
    }
    batches_.resize(plan_.size());
    thread_ = std::thread([this] { work(); });
  }
  video_loader(const video_loader&) = delete;
  video_loader& operator=(const video_loader&) = delete;
  ~video_loader() { close(); }

  int width() const { return items_.front().width; }
  int height() const { return items_.front().height; }
  std::size_t batch_count() const { return plan_.size(); }
  std::size_t image_count() const { return frames_.size(); }
  std::size_t largest_batch() const { return largest_batch_; }
  int prefetch() const { return options_.prefetch; }
  // As a pipeline source: the number of batches.
  std::optional<std::size_t> count() const { return plan_.size(); }

  // The next batch in order, waiting until it is decoded; nullopt after the last. Throws the
  // error of a batch that failed, after every batch before it and the frames of it read before
  // the error (delivered as a shorter batch).
  std::optional<loaded_batch> next() {
    std::unique_lock lock(mutex_);
    if (delivered_ >= plan_.size() || closed_) return std::nullopt;
    batch_state& b = batches_[delivered_];
    if (!b.ready) {
      const auto start = std::chrono::steady_clock::now();
      ready_.wait(lock, [&] { return b.ready || closed_; });
      consumer_wait_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (closed_) return std::nullopt;
    }
    if (b.error && b.frames == 0) {
      delivered_ = plan_.size();  // nothing after a failed batch
      std::rethrow_exception(b.error);
    }
    const batch_plan& p = plan_[delivered_];
    loaded_batch out{delivered_,
                     p.first,
                     b.buffer->view().images(0, int(b.frames)),
                     std::span<const load_item>(items_).subspan(p.first, b.frames),
                     std::move(b.buffer),
                     {}};
    if (b.error)
      b.frames = 0;  // the frames read before the error went out: the error comes next
    else
      ++delivered_;
    lock.unlock();
    room_.notify_all();  // the window moved
    return out;
  }

  // Stops the decoding thread (a frame being read finishes first; the decoder is stopped).
  // Batches handed out stay valid. Called by the destructor.
  void close() {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    room_.notify_all();
    ready_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // As a part of a pipeline run: closes, and returns the decode row (busy: reading frames from
  // the decoder; waiting for input: the thread idle at the end of the window; waiting for output:
  // the consumer waiting for a batch).
  part_report finish() {
    close();
    std::lock_guard lock(mutex_);
    part_report p;
    p.stages.push_back(
        {options_.stage_name, profile::stage_kind::io, 1, decode_seconds_, idle_seconds_, consumer_wait_, frames_read_, 0});
    return p;
  }

 private:
  struct batch_plan {
    std::size_t first = 0, count = 0;
  };
  struct batch_state {
    std::shared_ptr<batch_buffer<u8>> buffer;
    std::size_t frames = 0;  // read into the buffer: the whole batch, or those before its error
    std::exception_ptr error;
    bool ready = false;
  };

  // The only thread that touches video_: reads each batch's frames in order, within the window.
  void work() {
    using clock = std::chrono::steady_clock;
    for (std::size_t b = 0; b < plan_.size(); ++b) {
      {
        std::unique_lock lock(mutex_);
        const auto start = clock::now();
        room_.wait(lock, [&] { return closed_ || b < delivered_ + std::size_t(options_.prefetch); });
        idle_seconds_ += std::chrono::duration<double>(clock::now() - start).count();
        if (closed_) break;
      }
      std::shared_ptr<batch_buffer<u8>> buffer;
      std::exception_ptr error;
      const auto start = clock::now();
      std::size_t read = 0;
      try {
        buffer = pool_.acquire({int(plan_[b].count), height(), width(), options_.channels});
        for (; read < plan_[b].count; ++read) {
          const std::int64_t wanted = frames_[plan_[b].first + read];
          video_->skip(wanted - video_->position());  // frames not selected: never piped, nothing read
          if (!video_->next_into(buffer->view().image(int(read))))
            raise(errc::invalid_argument, "{}: frame {} is past the end of the video (its stream ended first)",
                  items_.front().path.string(), wanted);
        }
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      decode_seconds_ += std::chrono::duration<double>(clock::now() - start).count();
      frames_read_ += read;
      batches_[b].buffer = read > 0 ? std::move(buffer) : nullptr;
      batches_[b].frames = read;
      batches_[b].error = error;
      batches_[b].ready = true;
      ready_.notify_all();
      if (error) break;
    }
    video_->close();
  }

  video_loader_options options_;
  std::vector<std::int64_t> frames_;
  std::optional<io::raw_video> video_;
  std::vector<load_item> items_;
  std::vector<batch_plan> plan_;
  std::size_t largest_batch_ = 1;
  buffer_pool<u8> pool_;

  std::mutex mutex_;
  std::condition_variable room_, ready_;
  std::vector<batch_state> batches_;
  std::size_t delivered_ = 0, frames_read_ = 0;
  double decode_seconds_ = 0, idle_seconds_ = 0, consumer_wait_ = 0;
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace vbatch::inline v0::pipeline
