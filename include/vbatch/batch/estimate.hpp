#pragma once
// Memory that one batch item of a vbatch kernel needs, for memory_budget.
//
//   auto cost = vbatch::batch::e2p_cost<vbatch::u8, vbatch::maps::cached_fixed>(7680, 3840, 3, rig);
//   vbatch::batch::memory_budget budget{0.5, cost.per_item, 1, 64, cost.shared};

#include <cstdint>

#include "vbatch/sample/map.hpp"

namespace vbatch::inline v0::batch {

struct item_cost {
  std::uint64_t per_item = 0;  // bytes each item adds to a batch
  std::uint64_t shared = 0;    // bytes every batch shares (maps, models)
};

// Bytes of a cached sample map: per output pixel 6 (fixed) or 8 (float), plus 1 for the face of
// a cube source; on_the_fly keeps only the camera table.
template <map_policy Policy>
std::uint64_t map_bytes(std::uint64_t output_pixels, int views, bool cube_source) {
  if constexpr (std::is_same_v<Policy, maps::on_the_fly>) return std::uint64_t(views) * sizeof(pinhole_rays<float>);
  const std::uint64_t point =
      std::is_same_v<Policy, maps::cached_fixed> ? sizeof(fixed_tap) + sizeof(fixed_fraction) : sizeof(float_entry);
  return output_pixels * (point + (cube_source ? 1 : 0));
}

// An e2p item is one frame: the decoded frame plus the views of every camera; the map is shared.
template <class T, map_policy Policy>
item_cost e2p_cost(int source_w, int source_h, int channels, const rig& cameras) {
  if (cameras.empty()) raise(errc::invalid_argument, "e2p_cost: the rig has no cameras");
  const std::uint64_t view_pixels = std::uint64_t(cameras.front().lens.width) * cameras.front().lens.height;
  const std::uint64_t views = cameras.size();
  return {(std::uint64_t(source_w) * source_h + views * view_pixels) * channels * sizeof(T),
          map_bytes<Policy>(views * view_pixels, int(views), false)};
}

}  // namespace vbatch::inline v0::batch
