#pragma once
// Batch policies: how many items the next batch takes. A policy is a small stateful object that
// for_each_batch (batch/for_each_batch.hpp) asks before each batch and tells after it:
//
//   std::size_t next(std::size_t remaining);          // 1 <= size <= remaining
//   void succeeded(std::size_t size, double seconds); // the batch ran
//   bool out_of_memory(std::size_t size);             // the batch ran out of memory: true to retry
//                                                     // the same items with next(), false to give up
//
//   fixed{8}                                          // always 8
//   memory_budget{0.5, bytes_per_item}                // half the free memory / bytes per item
//   probe{}                                           // grow 1, 2, 4, ... then settle at the best rate
//   backoff{memory_budget{0.8, bytes}}                // halve on out-of-memory, grow back later
//
// Policies compose: backoff wraps any policy. Constructors check their parameters and throw
// vbatch::error naming the one that is wrong.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include "vbatch/core/memory.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::batch {

template <class P>
concept policy = requires(P p, std::size_t n, double s) {
  { p.next(n) } -> std::convertible_to<std::size_t>;
  p.succeeded(n, s);
  { p.out_of_memory(n) } -> std::convertible_to<bool>;
};

inline constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

// The same size every time.
class fixed {
 public:
  explicit fixed(std::size_t size) : size_(size) {
    if (size == 0) raise(errc::invalid_argument, "batch::fixed: size must be at least 1");
  }
  std::size_t next(std::size_t remaining) const { return std::min(size_, remaining); }
  void succeeded(std::size_t, double) {}
  bool out_of_memory(std::size_t) const { return false; }

 private:
  std::size_t size_;
};

// As many items as fit in `fraction` of the free memory, after `fixed_bytes` shared by all
// batches (maps, models), at `bytes_per_item` each; clamped to [min, max]. Free memory is read
// once, at the first batch (free_memory: host_available_memory by default; on a GPU pass
// vbatch::device_free_memory from core/cuda/memory.hpp).
class memory_budget {
 public:
  using free_memory_fn = std::uint64_t (*)();

  memory_budget(double fraction, std::uint64_t bytes_per_item, std::size_t min = 1, std::size_t max = no_limit,
                std::uint64_t fixed_bytes = 0, free_memory_fn free_memory = host_available_memory)
      : fraction_(fraction),
        bytes_per_item_(bytes_per_item),
        fixed_bytes_(fixed_bytes),
        min_(min),
        max_(max),
        free_(free_memory) {
    check(validate());
  }

  status validate() const {
    if (!(fraction_ > 0 && fraction_ <= 1))
      return fail(errc::invalid_argument, "memory_budget: fraction {} outside (0, 1]", fraction_);
    if (bytes_per_item_ == 0) return fail(errc::invalid_argument, "memory_budget: bytes_per_item must be positive");
    if (min_ == 0) return fail(errc::invalid_argument, "memory_budget: min must be at least 1");
    if (min_ > max_) return fail(errc::invalid_argument, "memory_budget: min {} > max {}", min_, max_);
    if (!free_) return fail(errc::invalid_argument, "memory_budget: no free-memory source");
    return status::success();
  }

  // The batch size for `free_bytes` of free memory.
  std::size_t size_for(std::uint64_t free_bytes) const {
    const double usable = std::floor(double(free_bytes) * fraction_) - double(fixed_bytes_);
    const double items = usable > 0 ? std::floor(usable / double(bytes_per_item_)) : 0;
    return static_cast<std::size_t>(std::clamp(items, double(min_), double(max_)));
  }

  std::size_t next(std::size_t remaining) {
    if (size_ == 0) size_ = size_for(free_());
    return std::min(size_, remaining);
  }
  void succeeded(std::size_t, double) {}
  bool out_of_memory(std::size_t) const { return false; }

 private:
  double fraction_;
  std::uint64_t bytes_per_item_, fixed_bytes_;
  std::size_t min_, max_, size_ = 0;
  free_memory_fn free_;
};

// Finds a good size while working: doubles from `start` while batches succeed and the rate
// (items per second) improves by more than `gain`; on out-of-memory it bisects between the
// largest size that worked and the one that failed (retrying the same items); then it settles at
// the size with the best rate seen. Every batch does real work: nothing is spent on trials.
class probe {
 public:
  explicit probe(std::size_t start = 1, std::size_t max = 4096, double gain = 1.05) : size_(start), max_(max), gain_(gain) {
    if (start == 0) raise(errc::invalid_argument, "probe: start must be at least 1");
    if (max < start) raise(errc::invalid_argument, "probe: max {} < start {}", max, start);
    if (!(gain >= 1)) raise(errc::invalid_argument, "probe: gain {} must be at least 1", gain);
  }

  std::size_t next(std::size_t remaining) const { return std::min(size_, remaining); }

  void succeeded(std::size_t size, double seconds) {
    const double rate = double(size) / std::max(seconds, 1e-12);
    const bool improved = rate > best_rate_ * gain_;
    if (rate > best_rate_) best_rate_ = rate, best_size_ = size;
    if (settled_ || size < size_) return;  // a short last batch says little about its size
    largest_ok_ = std::max(largest_ok_, size);
    const std::size_t next = failed_at_ ? (largest_ok_ + failed_at_) / 2 : std::min(max_, size * 2);
    if (!improved || next <= largest_ok_) return settle();
    size_ = next;
  }

  bool out_of_memory(std::size_t size) {
    if (size <= 1) return false;
    failed_at_ = failed_at_ ? std::min(failed_at_, size) : size;
    settled_ = false;
    size_ = std::clamp<std::size_t>((largest_ok_ + size) / 2, 1, size - 1);  // between what worked and what failed
    return true;
  }

  bool settled() const { return settled_; }
  std::size_t best_size() const { return best_size_; }
  double best_rate() const { return best_rate_; }

 private:
  void settle() {
    settled_ = true;
    size_ = std::max<std::size_t>(best_size_, 1);
  }

  std::size_t size_, max_;
  double gain_;
  std::size_t largest_ok_ = 0, failed_at_ = 0, best_size_ = 0;
  double best_rate_ = 0;
  bool settled_ = false;
};

// Wraps a policy: on out-of-memory, halves the size and retries the same items; after
// `grow_after` successes in a row, doubles again up to what the inner policy asks. Gives up only
// when a single item does not fit.
template <policy Inner>
class backoff {
 public:
  explicit backoff(Inner inner, std::size_t grow_after = 4) : inner_(std::move(inner)), grow_after_(grow_after) {
    if (grow_after == 0) raise(errc::invalid_argument, "backoff: grow_after must be at least 1");
  }

  std::size_t next(std::size_t remaining) {
    const std::size_t wanted = inner_.next(remaining);
    return cap_ ? std::min(wanted, cap_) : wanted;
  }
  void succeeded(std::size_t size, double seconds) {
    inner_.succeeded(size, seconds);
    if (cap_ && ++streak_ >= grow_after_) {
      streak_ = 0;
      cap_ = cap_ > no_limit / 2 ? 0 : cap_ * 2;
    }
  }
  bool out_of_memory(std::size_t size) {
    streak_ = 0;
    if (size <= 1) return false;
    cap_ = size / 2;
    ++backoffs_;
    return true;
  }

  std::size_t backoffs() const { return backoffs_; }
  const Inner& inner() const { return inner_; }

 private:
  Inner inner_;
  std::size_t grow_after_, cap_ = 0, streak_ = 0, backoffs_ = 0;
};

}  // namespace vbatch::inline v0::batch
