#pragma once
// Overlapping upload, compute and download of consecutive batches on a GPU (nvcc, or the tests'
// CPU emulation of CUDA): a ring of staging slots (pinned host input and output, device input and
// output) and three streams, each driven by its own pipeline stage, so that while batch i
// computes, batch i+1 uploads and batch i-1 downloads.
//
//   namespace pl = vbatch::pipeline;
//   pl::report r = pl::run_staged<vbatch::u8, vbatch::u8>(pl::iota(n), in_shape, out_shape,
//       [&](std::size_t i, vbatch::batch_view<vbatch::u8> pinned_in) { decode_batch(i, pinned_in); },          // CPU
//       [&](const vbatch::cuda& exec, auto device_in, auto device_out, std::size_t) {                           // GPU
//         vbatch::sample::e2p(exec, device_in, device_map, device_out); },
//       [&](std::size_t i, vbatch::batch_view<const vbatch::u8> pinned_out) { save_batch(i, pinned_out); },    // CPU
//       {.slots = 3});
//
// Stages (one worker each, ordered): "upload" takes a free slot (waiting while every slot is in
// use: the ring bounds memory), lets `fill` write the batch into the slot's pinned input, copies
// it to the device on the upload stream and waits for that stream; "compute" enqueues `compute` on
// the compute stream and waits for it; "download" copies the result into pinned memory on the
// download stream, waits, hands it to `consume`, and frees the slot. Each stage waits only for
// its own stream, so the three streams work on three batches at once; three slots suffice for
// full overlap, a fourth absorbs jitter. Batches may be smaller than the slot's shape: fill
// returns the count of images it wrote (or nothing: all of them).
//
// Errors and cancellation are the pipeline's (vbatch/pipeline/pipeline.hpp): a stage that throws
// fails its batch, and a slot is freed whenever its batch is done, failed or dropped.
//
// Under the tests' CPU emulation (tests/cuda/staging_test.cpp) streams execute at once: it checks
// the ring, the copies and the hand-over, not the overlap itself. What has been run on a GPU:
// docs/gpu-status.md.

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/pipeline/pipeline.hpp"

namespace vbatch::inline v0::pipeline {

// Three streams that do not synchronise with the legacy default stream.
class stream_set {
 public:
  stream_set() {
    for (cudaStream_t* s : {&upload, &compute, &download}) {
#if defined(VBATCH_CUDA_EMULATION)
      check_cuda(cudaStreamCreate(s), "stream_set: cudaStreamCreate");
#else
      check_cuda(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), "stream_set: cudaStreamCreateWithFlags");
#endif
    }
  }
  stream_set(const stream_set&) = delete;
  stream_set& operator=(const stream_set&) = delete;
  ~stream_set() {
    for (cudaStream_t s : {upload, compute, download})
      if (s) cudaStreamDestroy(s);
  }
  cudaStream_t upload = nullptr, compute = nullptr, download = nullptr;
};

// A ring of staging slots of fixed shapes. acquire() waits for a free slot; the returned lease
// frees it when destroyed.
template <class In, class Out = In>
class staging_ring {
 public:
  struct slot {
    int id = 0;
    int count = 0;                                // images of the batch in this slot
    batch_buffer<In, pinned_memory> host_in;      // (N,H,W,C)
    batch_buffer<In, device_memory> device_in;    // (N,H,W,C)
    batch_buffer<Out, device_memory> device_out;  // (N*K,h,w,c)
    batch_buffer<Out, pinned_memory> host_out;    // (N*K,h,w,c)
  };

  class lease {
   public:
    lease() = default;
    lease(staging_ring* ring, slot* s) : ring_(ring), slot_(s) {}
    lease(lease&& o) noexcept : ring_(std::exchange(o.ring_, nullptr)), slot_(std::exchange(o.slot_, nullptr)) {}
    lease& operator=(lease&& o) noexcept {
      if (this != &o) {
        reset();
        ring_ = std::exchange(o.ring_, nullptr), slot_ = std::exchange(o.slot_, nullptr);
      }
      return *this;
    }
    ~lease() { reset(); }
    slot* operator->() const { return slot_; }
    slot& operator*() const { return *slot_; }
    void reset() {
      if (ring_) ring_->release(slot_);
      ring_ = nullptr, slot_ = nullptr;
    }

   private:
    staging_ring* ring_ = nullptr;
    slot* slot_ = nullptr;
  };

  staging_ring(int slots, batch_shape in, batch_shape out) {
    if (slots < 1) raise(errc::invalid_argument, "staging_ring: {} slots (at least 1)", slots);
    check(can_allocate(in, sizeof(In)));
    check(can_allocate(out, sizeof(Out)));
    if (out.n % in.n != 0)
      raise(errc::invalid_argument, "staging_ring: {} output images per batch of {} inputs (a multiple is needed: K per input)",
            out.n, in.n);
    for (int i = 0; i < slots; ++i) {
      auto s = std::make_unique<slot>();
      s->id = i;
      s->host_in = batch_buffer<In, pinned_memory>(in);
      s->device_in = batch_buffer<In, device_memory>(in);
      s->device_out = batch_buffer<Out, device_memory>(out);
      s->host_out = batch_buffer<Out, pinned_memory>(out);
      free_.push_back(s.get());
      slots_.push_back(std::move(s));
    }
  }

  lease acquire() {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [&] { return !free_.empty(); });
    slot* s = free_.back();
    free_.pop_back();
    return lease(this, s);
  }
  int size() const { return int(slots_.size()); }
  int available() const {
    std::lock_guard lock(mutex_);
    return int(free_.size());
  }

 private:
  void release(slot* s) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(s);
    }
    released_.notify_one();
  }

  std::vector<std::unique_ptr<slot>> slots_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::vector<slot*> free_;
};

struct staged_options {
  int slots = 3;  // batches in flight, at least 1; 3 overlap upload, compute and download fully
  on_error policy = on_error::finish_earlier;
  profile::profiler* profiler = nullptr;
  std::stop_token stop{};
};

// Runs batches from `source` (anything pipeline::run takes) through fill → upload → compute →
// download → consume (see the top of this file). Shapes are the slot's: `in` (N,H,W,C) for
// inputs, `out` (N*K,h,w,c) for outputs, K images out per image in (e2p: K cameras per frame);
// a batch of `count` inputs computes and downloads its count*K outputs.
template <class In, class Out, class Source, class Fill, class Compute, class Consume>
report run_staged(Source&& source, batch_shape in, batch_shape out, Fill fill, Compute compute, Consume consume,
                  const staged_options& o = {}) {
  staging_ring<In, Out> ring(o.slots, in, out);
  stream_set streams;
  using lease = typename staging_ring<In, Out>::lease;
  struct batch {
    std::size_t item;
    lease slot;
  };
  options po;
  po.policy = o.policy, po.profiler = o.profiler, po.stop = o.stop, po.source_name = "batches";
  const auto views = [](auto& buffer, int count) { return buffer.view().images(0, count); };
  const int outputs_per_input = out.n / in.n;
  // A stage that throws after queueing work on its stream waits for that work before the batch
  // (and its slot, owned outside the body) is released: the next batch must not get a slot a
  // kernel or copy still uses.
  const auto finishing_on_error = [](cudaStream_t stream, auto&& body) {
    try {
      body();
    } catch (...) {
      cudaStreamSynchronize(stream);
      throw;
    }
  };
  return run(po, std::forward<Source>(source),
             stage("upload",
                   [&](auto&& value, std::size_t item) {
                     batch b{item, ring.acquire()};  // outlives the body, so an error syncs before the slot is freed
                     finishing_on_error(streams.upload, [&] {
                       const batch_view<In> pinned = b.slot->host_in.view();  // (N,H,W,C)
                       if constexpr (std::is_void_v<decltype(fill(value, pinned))>) {
                         fill(value, pinned);
                         b.slot->count = pinned.n;
                       } else {
                         b.slot->count = static_cast<int>(fill(value, pinned));
                         if (b.slot->count < 0 || b.slot->count > pinned.n)
                           raise(errc::invalid_argument, "run_staged: fill wrote {} images into a slot of {}", b.slot->count,
                                 pinned.n);
                       }
                       copy(vbatch::cuda{streams.upload}, batch_view<const In>(views(b.slot->host_in, b.slot->count)),
                            views(b.slot->device_in, b.slot->count));
                       check_cuda(cudaStreamSynchronize(streams.upload), "run_staged: upload");
                     });
                     return b;
                   },
                   {.workers = 1, .queue = 1, .kind = profile::stage_kind::io}),
             stage("compute",
                   [&](batch b) {
                     finishing_on_error(streams.compute, [&] {
                       compute(vbatch::cuda{streams.compute}, batch_view<const In>(views(b.slot->device_in, b.slot->count)),
                               views(b.slot->device_out, b.slot->count * outputs_per_input), b.item);
                       check_cuda(cudaStreamSynchronize(streams.compute), "run_staged: compute");
                     });
                     return b;
                   },
                   {.workers = 1, .queue = 1}),
             stage("download",
                   [&](batch b) {
                     finishing_on_error(streams.download, [&] {
                       copy(vbatch::cuda{streams.download},
                            batch_view<const Out>(views(b.slot->device_out, b.slot->count * outputs_per_input)),
                            views(b.slot->host_out, b.slot->count * outputs_per_input));
                       check_cuda(cudaStreamSynchronize(streams.download), "run_staged: download");
                       consume(b.item, batch_view<const Out>(views(b.slot->host_out, b.slot->count * outputs_per_input)));
                     });
                   },
                   {.workers = 1, .queue = 1, .kind = profile::stage_kind::io}));
}

}  // namespace vbatch::inline v0::pipeline
