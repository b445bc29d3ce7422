#pragma once
// Splitting work: grouping items by key (items with one key are batched together, e.g. one model
// or one view type per batch) and sharding (job i of n takes its own part of the items).
//
//   auto groups = vbatch::batch::group_by(items, [](const item& i) { return i.model; });
//   for (const auto& g : groups) vbatch::batch::for_each_batch(g.indices, policy, ...);
//   auto [first, last] = vbatch::batch::shard_of(items.size(), vbatch::batch::parse_shard("2/8"));

#include <charconv>
#include <cstddef>
#include <map>
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

}  // namespace vbatch::inline v0::batch
