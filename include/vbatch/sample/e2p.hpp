#pragma once
// e2p: perspective views of equirectangular frames, the easy layer over remap.
//
//   // Reuse one map for every batch (the fast way):
//   auto rig = vbatch::sample::ring_rig(8, 0, 1920, 1080, 90);
//   auto map = vbatch::sample::make_e2p_map<vbatch::sample::maps::cached_fixed>(rig, 7680, 3840);
//   vbatch::sample::e2p(vbatch::cpu_par{}, frames, map, views);              // (F,3840,7680,3) -> (F*8,1080,1920,3)
//
//   // One call that allocates its output (computes rays on the fly):
//   auto views = vbatch::sample::e2p(vbatch::cpu_par{}, frames, rig);
//
// Borders default to wrap_equirect: the ±180° seam and the poles are continuous.

#include <type_traits>

#include "vbatch/sample/remap.hpp"

namespace vbatch::inline v0::sample {

template <class Exec, class S, class T, map_policy P, class Memory, class Interp = interp::bilinear,
          class Border = border::wrap_equirect>
void e2p(const Exec& exec, batch_view<S> frames, const e2p_map<P, Memory>& map, batch_view<T> views, Interp interp = {},
         Border border = {}) {
  remap(exec, frames, map, views, interp, border);
}

template <class Exec, class S, class Interp = interp::bilinear>
batch_buffer<std::remove_const_t<S>> e2p(const Exec& exec, batch_view<S> frames, const rig& cameras, Interp interp = {}) {
  static_assert(host_executor<Exec>, "e2p: the allocating overload runs on the CPU; on CUDA build a device map and pass views");
  if (frames.n == 0) raise(errc::invalid_argument, "e2p: empty batch (no frames)");
  if (cameras.empty()) raise(errc::invalid_argument, "e2p: the rig has no cameras");
  const auto map = make_e2p_map<maps::on_the_fly>(cameras, frames.w, frames.h, exec);
  const map_shape& m = map.shape();
  batch_buffer<std::remove_const_t<S>> views({frames.n * m.views, m.height, m.width, frames.c});
  e2p(exec, frames, map, views.view(), interp);
  return views;
}

// An e2p item is one frame: the decoded frame plus the views of every camera; the map is shared.
template <class T, map_policy Policy>
vbatch::item_cost e2p_cost(int source_w, int source_h, int channels, const rig& cameras) {
  if (cameras.empty()) raise(errc::invalid_argument, "e2p_cost: the rig has no cameras");
  const std::uint64_t view_pixels = std::uint64_t(cameras.front().lens.width) * cameras.front().lens.height;
  const std::uint64_t views = cameras.size();
  return {(std::uint64_t(source_w) * source_h + views * view_pixels) * channels * sizeof(T),
          map_bytes<Policy>(views * view_pixels, int(views), false)};
}

}  // namespace vbatch::inline v0::sample
