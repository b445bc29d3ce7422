#pragma once
// for_each_batch: runs fn over consecutive batches of a range, sized by a policy, so that every
// item is processed exactly once and in order, also when batches run out of memory.
//
//   vbatch::batch::backoff policy{vbatch::batch::memory_budget{0.5, bytes_per_frame}};
//   vbatch::batch::for_each_batch(frames, policy, [&](std::span<const frame> batch, std::size_t first) {
//     ...                                                    // throw std::bad_alloc to ask for a smaller batch
//   });
//
// A batch that throws std::bad_alloc, or vbatch::error with errc::out_of_memory, is retried from
// its first item with the size the policy gives next (policies without back-off give up: the
// error names the items not processed). fn must leave no effects behind for a batch that throws
// (write results once the batch is done), which is what "exactly once" then means.

#include <chrono>
#include <cstddef>
#include <iterator>
#include <new>
#include <ranges>
#include <span>

#include "vbatch/batch/policy.hpp"

namespace vbatch::inline v0::batch {

struct run_summary {
  std::size_t batches = 0, retries = 0;  // retries: batches rerun after running out of memory
};

template <std::ranges::contiguous_range Items, policy Policy, class Fn>
run_summary for_each_batch(Items&& items, Policy& policy, Fn&& fn) {
  const std::span all{std::ranges::data(items), std::ranges::size(items)};
  run_summary summary;
  for (std::size_t done = 0; done < all.size();) {
    const std::size_t remaining = all.size() - done;
    const std::size_t size = std::clamp<std::size_t>(policy.next(remaining), 1, remaining);
    const auto start = std::chrono::steady_clock::now();
    bool out_of_memory = false;
    try {
      fn(all.subspan(done, size), done);
    } catch (const std::bad_alloc&) {
      out_of_memory = true;
    } catch (const error& e) {
      if (e.code() != errc::out_of_memory) throw;
      out_of_memory = true;
    }
    if (out_of_memory) {
      if (!policy.out_of_memory(size))
        raise(errc::out_of_memory, "for_each_batch: out of memory with a batch of {} (items {} to {} of {} not processed)", size,
              done, all.size() - 1, all.size());
      ++summary.retries;
      continue;
    }
    policy.succeeded(size, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    done += size;
    ++summary.batches;
  }
  return summary;
}

}  // namespace vbatch::inline v0::batch
