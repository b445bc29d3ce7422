#pragma once
// Owning storage in one memory space. Buffers own memory and make views; kernels only ever see
// views or raw pointers.
//
//   vbatch::batch_buffer<vbatch::u8> frames({8, 3840, 7680, 3});   // host memory, (N,H,W,C)
//   vbatch::batch_view<vbatch::u8> v = frames.view();
//
// The memory space is a type with static allocate / deallocate / copy_from_host: host_memory,
// huge_page_memory and tracked_memory<Inner> (vbatch/core/memory.hpp); pinned_memory and
// device_memory (vbatch/core/cuda/memory.hpp, nvcc builds).

#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <utility>

#include "vbatch/core/memory.hpp"
#include "vbatch/core/view.hpp"

namespace vbatch::inline v0 {

// `size` elements of T in one memory space, uninitialised.
template <class T, class Memory = host_memory>
class buffer {
 public:
  using memory_space = Memory;

  buffer() = default;
  explicit buffer(std::size_t size) : size_(size) {
    if (size > 0) data_ = static_cast<T*>(Memory::allocate(size * sizeof(T)));
  }
  // A copy of host data in this memory space.
  static buffer from_host(std::span<const T> values) {
    buffer b(values.size());
    if (!values.empty()) Memory::copy_from_host(b.data_, values.data(), values.size_bytes());
    return b;
  }
  buffer(buffer&& other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  buffer& operator=(buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  ~buffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

 private:
  void release() noexcept {
    if (data_) Memory::deallocate(data_, bytes());
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

inline status can_allocate(batch_shape s, std::size_t element_size) {
  if (s.n < 0 || s.h < 0 || s.w < 0 || s.c < 0)
    return fail(errc::invalid_argument, "batch_buffer: negative shape {}x{}x{}x{} (N,H,W,C)", s.n, s.h, s.w, s.c);
  // Four int factors can overflow 64 bits; no machine holds 2^62 bytes anyway.
  if (double(s.n) * s.h * s.w * s.c * double(element_size) > 0x1p62)
    return fail(errc::limit_exceeded, "batch_buffer: shape {}x{}x{}x{} (N,H,W,C) is too large", s.n, s.h, s.w, s.c);
  return status::success();
}

// A dense N×H×W×C batch of images in one memory space.
template <class T, class Memory = host_memory>
class batch_buffer {
 public:
  using memory_space = Memory;

  batch_buffer() = default;
  explicit batch_buffer(batch_shape shape) : storage_((check(can_allocate(shape, sizeof(T))), shape.elements())), shape_(shape) {}
  // A moved-from buffer is empty, shape included, so its view is the empty view.
  batch_buffer(batch_buffer&& other) noexcept : storage_(std::move(other.storage_)), shape_(std::exchange(other.shape_, {})) {}
  batch_buffer& operator=(batch_buffer&& other) noexcept {
    storage_ = std::move(other.storage_);
    shape_ = std::exchange(other.shape_, {});
    return *this;
  }

  batch_view<T> view() { return batch_view<T>::dense(storage_.data(), shape_); }
  batch_view<const T> view() const { return batch_view<const T>::dense(storage_.data(), shape_); }
  batch_shape shape() const { return shape_; }
  T* data() { return storage_.data(); }
  const T* data() const { return storage_.data(); }
  std::size_t bytes() const { return storage_.bytes(); }

 private:
  buffer<T, Memory> storage_;
  batch_shape shape_{};
};

}  // namespace vbatch::inline v0
