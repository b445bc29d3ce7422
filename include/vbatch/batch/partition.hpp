#pragma once
// Splitting work: grouping items by key (items with one key are batched together, e.g. one model
// or one view type per batch) and sharding (job i of n takes its own part of the items).
//
//   auto groups = vbatch::batch::group_by(items, [](const item& i) { return i.model; });
//   for (const auto& g : groups) vbatch::batch::for_each_batch(g.indices, policy, ...);
//   auto [first, last] = vbatch::batch::shard_of(items.size(), vbatch::batch::parse_shard("2/8"));
//   auto [first, last] = vbatch::batch::shard_by_cost(pixels_per_image, vbatch::batch::shard_from_environment());

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::batch {

template <class Key>
struct group {
  Key key;
  std::vector<std::size_t> indices;  // ascending: the items' order within the group is kept
};

// Groups in the order their keys first appear; deterministic for a given input.
template <class Items, class KeyFn>
auto group_by(const Items& items, KeyFn&& key_of) {
  using key_type = std::decay_t<decltype(key_of(*std::begin(items)))>;
  std::vector<group<key_type>> groups;
  std::map<key_type, std::size_t> slot;
  std::size_t i = 0;
  for (const auto& item : items) {
    const key_type key = key_of(item);
    const auto [it, fresh] = slot.try_emplace(key, groups.size());
    if (fresh) groups.push_back({key, {}});
    groups[it->second].indices.push_back(i++);
  }
  return groups;
}

struct shard {
  std::size_t index = 0, count = 1;
};

struct index_range {
  std::size_t first = 0, last = 0;  // [first, last)
};

// "i/n" (0 <= i < n), as tools take it on the command line.
inline shard parse_shard(std::string_view text) {
  const std::size_t slash = text.find('/');
  shard s;
  const auto read = [](std::string_view part, std::size_t& v) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    return ec == std::errc{} && end == part.data() + part.size() && !part.empty();
  };
  if (slash == std::string_view::npos || !read(text.substr(0, slash), s.index) || !read(text.substr(slash + 1), s.count) ||
      s.count == 0 || s.index >= s.count)
    raise(errc::invalid_argument, "shard '{}': expected i/n with 0 <= i < n", text);
  return s;
}

// The contiguous part of `count` items that shard s takes: shards differ in size by at most one,
// are disjoint, and together cover everything. Contiguous parts keep frames of a video together.
inline index_range shard_of(std::size_t count, shard s) {
  if (s.count == 0 || s.index >= s.count) raise(errc::invalid_argument, "shard {}/{}: expected 0 <= i < n", s.index, s.count);
  // In 128 bits: count * (index + 1) overflows 64 for large counts or shard numbers ("2/22" of
  // 2^63 items, or "2000000000000/3000000000000" of 10^7), and the parts would then overlap.
  __extension__ using wide = unsigned __int128;  // __extension__: a GCC and clang type, no -Wpedantic warning
  const auto at = [&](std::size_t i) { return static_cast<std::size_t>(wide{count} * i / s.count); };
  return {at(s.index), at(s.index + 1)};
}

// The contiguous part of the items that shard s takes when item j costs costs[j] (a video's frame
// count, an image's pixels): item j goes to the shard in which the middle of its cost falls on
// the line of all costs cut into n equal lengths, so parts are disjoint, complete, in order, and
// each is within one item's cost of total/n. All costs zero: shard_of's equal counts.
inline index_range shard_by_cost(std::span<const std::uint64_t> costs, shard s) {
  if (s.count == 0 || s.index >= s.count) raise(errc::invalid_argument, "shard {}/{}: expected 0 <= i < n", s.index, s.count);
  __extension__ using wide = unsigned __int128;  // sums of 64-bit costs times n: 128 bits
  wide total = 0;
  for (const std::uint64_t c : costs) total += c;
  if (total == 0) return shard_of(costs.size(), s);
  // shard of item j = floor(n * (2 * before_j + cost_j) / (2 * total)): non-decreasing in j.
  const auto shard_of_item = [&](wide before, std::uint64_t cost) {
    return static_cast<std::size_t>(wide{s.count} * (2 * before + cost) / (2 * total));
  };
  index_range r{costs.size(), costs.size()};
  wide before = 0;
  for (std::size_t j = 0; j < costs.size(); before += costs[j], ++j) {
    const std::size_t owner = shard_of_item(before, costs[j]);
    if (owner == s.index && r.first == costs.size()) r.first = j;
    if (owner > s.index) {
      r.last = j;
      break;
    }
  }
  if (r.first == costs.size()) r.first = r.last;  // an empty part, placed where it would be
  return r;
}

// The shard a job array gives this process (what a tool's `--shard auto` reads), from the environment read
// through `get` (std::getenv by default; tests pass their own):
//   Slurm job arrays   SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN and, for
//                      arrays with a step (--array=0-30:10), SLURM_ARRAY_TASK_STEP:
//                      index = (ID - MIN) / STEP, count = COUNT;
//   Kubernetes         JOB_COMPLETION_INDEX (an Indexed Job) with the count in VBATCH_SHARD_COUNT
//                      (the Job's `completions`: Kubernetes does not put it in the environment).
// Missing, non-numeric or inconsistent values are errors naming the variables and their values;
// so are both schedulers' variables at once when they disagree.
inline shard shard_from_environment(const std::function<const char*(const char*)>& get = [](const char* name) {
  return std::getenv(name);
}) {
  const auto number = [&](const char* name) -> std::optional<std::size_t> {
    const char* text = get(name);
    if (text == nullptr) return std::nullopt;
    const std::string_view t(text);
    std::size_t v = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size())
      raise(errc::invalid_argument, "shard auto: {}='{}' is not a non-negative integer", name, t);
    return v;
  };
  std::optional<shard> slurm, kubernetes;
  if (const auto id = number("SLURM_ARRAY_TASK_ID")) {
    const auto count = number("SLURM_ARRAY_TASK_COUNT"), min = number("SLURM_ARRAY_TASK_MIN");
    const std::size_t step = number("SLURM_ARRAY_TASK_STEP").value_or(1);
    if (!count || !min)
      raise(errc::invalid_argument, "shard auto: SLURM_ARRAY_TASK_ID={} is set but SLURM_ARRAY_TASK_{} is not", *id,
            !count ? "COUNT" : "MIN");
    if (*id < *min || step == 0 || (*id - *min) % step != 0 || (*id - *min) / step >= *count)
      raise(errc::invalid_argument,
            "shard auto: SLURM_ARRAY_TASK_ID={} does not fit SLURM_ARRAY_TASK_MIN={}, SLURM_ARRAY_TASK_STEP={} and "
            "SLURM_ARRAY_TASK_COUNT={}",
            *id, *min, step, *count);
    slurm = shard{(*id - *min) / step, *count};
  }
  if (const auto index = number("JOB_COMPLETION_INDEX")) {
    const auto count = number("VBATCH_SHARD_COUNT");
    if (!count)
      raise(errc::invalid_argument,
            "shard auto: JOB_COMPLETION_INDEX={} is set but VBATCH_SHARD_COUNT (the Job's completions) is not", *index);
    if (*index >= *count)
      raise(errc::invalid_argument, "shard auto: JOB_COMPLETION_INDEX={} is not below VBATCH_SHARD_COUNT={}", *index, *count);
    kubernetes = shard{*index, *count};
  }
  if (slurm && kubernetes && (slurm->index != kubernetes->index || slurm->count != kubernetes->count))
    raise(errc::invalid_argument, "shard auto: Slurm says shard {}/{} but Kubernetes says {}/{}", slurm->index, slurm->count,
          kubernetes->index, kubernetes->count);
  if (slurm) return *slurm;
  if (kubernetes) return *kubernetes;
  raise(errc::invalid_argument,
        "shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) "
        "is set");
}

}  // namespace vbatch::inline v0::batch
