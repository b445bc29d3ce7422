#pragma once
// Batch buffers recycled between the stages of a pipeline: an 8K frame is 95 MB, and allocating
// one per frame costs its page faults every time (about 10 ms per frame measured here), while
// reusing it costs nothing. A pool with a limit is also back-pressure: a stage that needs a buffer
// waits until a later stage has given one back.
//
//   vbatch::buffer_pool<vbatch::u8> pool(3);                 // at most 3 buffers alive
//   std::shared_ptr<vbatch::batch_buffer<vbatch::u8>> b = pool.acquire({8, 1080, 1920, 3});
//   // ... hand b (or a std::shared_ptr<const void> aliasing it) to whoever finishes with it last;
//   // the last owner's release returns the buffer to the pool.
//
// The pool may be destroyed before its buffers: they are then freed when released.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "vbatch/core/buffer.hpp"

namespace vbatch::inline v0 {

template <class T, class Memory = host_memory>
class buffer_pool {
 public:
  using buffer_type = batch_buffer<T, Memory>;

  // At most `max_buffers` buffers alive (handed out or idle). 0: no limit, and idle buffers are
  // kept only while their shape is in use (a request for another shape frees them), so a run of
  // changing sizes never accumulates buffers nobody asks for.
  explicit buffer_pool(std::size_t max_buffers = 0) : state_(std::make_shared<state>(max_buffers)) {}
  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;
  ~buffer_pool() { abort(); }

  // A buffer of `shape` (contents undefined): an idle one of that shape, else a new one; waits
  // while the limit is reached and none is idle. Throws errc::io once the pool was aborted.
  std::shared_ptr<buffer_type> acquire(batch_shape shape) {
    std::unique_ptr<buffer_type> b;
    std::vector<std::unique_ptr<buffer_type>> freed;  // destroyed after the lock (unmapping 95 MB takes time)
    {
      std::unique_lock lock(state_->mutex);
      for (;;) {
        if (state_->aborted) raise(errc::io, "buffer_pool: aborted while waiting for a buffer");
        for (auto it = state_->idle.begin(); it != state_->idle.end(); ++it)
          if ((*it)->shape() == shape) {
            b = std::move(*it);
            state_->idle.erase(it);
            break;
          }
        if (b) break;
        if (state_->max == 0) {  // no limit: the idle buffers are of other shapes, no longer in use
          state_->alive -= state_->idle.size();
          freed.swap(state_->idle);
        }
        if (state_->max == 0 || state_->alive < state_->max) {
          ++state_->alive;
          break;
        }
        if (!state_->idle.empty()) {  // at the limit with idle buffers of another shape: replace one
          freed.push_back(std::move(state_->idle.front()));
          state_->idle.erase(state_->idle.begin());
          break;
        }
        state_->released.wait(lock);
      }
    }
    freed.clear();
    if (!b) {
      try {
        b = std::make_unique<buffer_type>(shape);
      } catch (...) {
        std::lock_guard lock(state_->mutex);
        --state_->alive;
        state_->released.notify_one();
        throw;
      }
    }
    buffer_type* raw = b.release();
    return std::shared_ptr<buffer_type>(raw, [s = state_](buffer_type* p) { s->give_back(std::unique_ptr<buffer_type>(p)); });
  }

  // Wakes every waiting acquire() (it throws) and frees idle buffers; buffers still out are freed
  // when released.
  void abort() {
    std::vector<std::unique_ptr<buffer_type>> freed;
    {
      std::lock_guard lock(state_->mutex);
      state_->aborted = true;
      freed.swap(state_->idle);
      state_->alive -= freed.size();
    }
    state_->released.notify_all();
  }

  std::size_t alive() const {
    std::lock_guard lock(state_->mutex);
    return state_->alive;
  }
  std::size_t idle() const {
    std::lock_guard lock(state_->mutex);
    return state_->idle.size();
  }

 private:
  struct state {
    explicit state(std::size_t m) : max(m) {}
    std::mutex mutex;
    std::condition_variable released;
    std::vector<std::unique_ptr<buffer_type>> idle;
    std::size_t max, alive = 0;
    bool aborted = false;

    // Called by the last owner's release (a shared_ptr deleter): must not throw.
    void give_back(std::unique_ptr<buffer_type> b) noexcept {
      std::unique_lock lock(mutex);
      bool kept = false;
      if (!aborted) {
        try {
          idle.push_back(std::move(b));
          kept = true;
        } catch (...) {  // no room to keep it (out of memory): free it instead
        }
      }
      if (!kept) --alive;
      lock.unlock();
      b.reset();
      released.notify_one();
    }
  };
  std::shared_ptr<state> state_;
};

}  // namespace vbatch::inline v0
