#pragma once
// remap: fills every view of every frame of a batch in one launch.
//
//   src: F frames, each `map.shape().source_images` images         (F*S, Hs, Ws, C)
//   dst: F * K views, view k of frame f at index f * K + k         (F*K, H,  W,  C)
//
//   vbatch::sample::remap(vbatch::cpu_par{2}, frames.view(), map, views.view(), vbatch::sample::interp::bilinear{},
//                 vbatch::sample::border::wrap_equirect{});
//
// The per-pixel body (remap_kernel) is the same code on every executor. can_remap() checks the
// arguments without throwing; remap() throws vbatch::error with the same message.

#include <type_traits>

#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/sample/cpu/bilinear_simd.hpp"
#include "vbatch/sample/cpu/separable_simd.hpp"
#include "vbatch/sample/interp.hpp"
#include "vbatch/sample/map.hpp"

namespace vbatch::inline v0::sample {

template <int C, class T, class KernelMap, class Interp, class Border>
struct remap_kernel {
  batch_view<const T> src;  // (F*S, Hs, Ws, C)
  batch_view<T> dst;        // (F*K, H, W, C)
  KernelMap map;
  Interp interp;
  Border border;

  // Output image i is view k of frame f; frame f's source images start at f * S.
  VBATCH_HOST_DEVICE source_images<T> sources_of(int i, int& k) const {
    const int frame = i / map.shape.views;
    k = i - frame * map.shape.views;
    return {src.pixel(frame * map.shape.source_images, 0, 0), src.w, src.h, src.stride_n, src.stride_h, src.stride_w};
  }

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    int k;
    const source_images<T> images = sources_of(i, k);
    sample<C>(interp, images, border, map.at(k, y, x), dst.pixel(i, y, x));
  }

  // CPU executors call this per row: the per-pixel body with the per-row work done once, or, for
  // u8 bilinear sampling, its bit-identical SIMD schedule (fixed-point maps are read in place;
  // other maps are rounded to fixed point a chunk at a time, as the per-pixel body does), or for
  // nearest sampling a two-pass schedule that fetches ahead, or else the per-pixel body a chunk at
  // a time after fetching ahead (float interpolation with SIMD inside the image).
  void row(int i, int y, int width) const {
    int k;
    const source_images<T> images = sources_of(i, k);
    T* out = dst.pixel(i, y, 0);
    if constexpr (std::is_same_v<Interp, interp::nearest>) {
      if (dst.stride_w == C && src.stride_w == C) return nearest_row(images, k, y, width, out);
    }
    if constexpr (simd_schedule) {
      if (dst.stride_w == C) {
        if constexpr (std::is_same_v<KernelMap, fixed_table_map>) {
          const std::int64_t first = map.index(k, y, 0);
          const auto pixel = [&](int x) { sample<C>(interp, images, border, map.at(k, y, x), out + x * C); };
          return cpu::bilinear_row<C>(images, map.taps + first, map.fractions + first, map.faces ? map.faces + first : nullptr,
                                      out, width, pixel);
        } else if (src.w <= fixed_tap_limit && src.h <= fixed_tap_limit) {
          return fixed_point_row(images, k, y, width, out);
        }
      }
    }
    fetch_ahead_row(images, k, y, width, out);
  }

 private:
  // interp::bilinear only: bilinear_exact weights the map's own point in float, per pixel.
  static constexpr bool simd_schedule =
      VBATCH_HAVE_X86_SIMD && std::is_same_v<T, u8> && (C == 3 || C == 4) && std::is_same_v<Interp, interp::bilinear>;

  // Nearest sampling a chunk at a time: first the source address of every pixel, each fetched
  // into the cache as it is found (an output row crosses many rows of a large panorama, which
  // the hardware prefetcher does not follow), then the copies. Pixels whose source is outside
  // the image (seams, poles) take the per-pixel body, which applies the border.
  void nearest_row(const source_images<T>& images, int k, int y, int width, T* out) const {
    constexpr int chunk = 256;
    const T* from[chunk];
    for (int first = 0; first < width; first += chunk) {
      const int count = width - first < chunk ? width - first : chunk;
      for (int j = 0; j < count; ++j) {
        const nearest_pixel n = nearest_of(map.at(k, y, first + j));
        const bool inside = unsigned(n.x) < unsigned(images.w) && unsigned(n.y) < unsigned(images.h);
        from[j] = inside ? images.pixel(n.image, n.y, n.x) : nullptr;
        if (inside) __builtin_prefetch(from[j]);
      }
      for (int j = 0; j < count; ++j) {
        T* o = out + (first + j) * C;
        if (from[j])
          for (int c = 0; c < C; ++c) o[c] = from[j][c];
        else
          sample<C>(interp, images, border, map.at(k, y, first + j), o);
      }
    }
  }

  // The per-pixel body a chunk at a time, after fetching each pixel's nearest source pixel and
  // the one below into the cache (as in nearest_row).
  void fetch_ahead_row(const source_images<T>& images, int k, int y, int width, T* out) const {
    constexpr int chunk = 256;
    using point = decltype(map.at(k, y, 0));
    point points[chunk];
    const bool simd = separable_schedule && cpu::best_simd() == cpu::simd::avx2 && src.stride_w == C && dst.stride_w == C;
    for (int first = 0; first < width; first += chunk) {
      const int count = width - first < chunk ? width - first : chunk;
      for (int j = 0; j < count; ++j) {
        points[j] = map.at(k, y, first + j);
        const nearest_pixel n = nearest_of(points[j]);
        if (unsigned(n.x) < unsigned(images.w) && unsigned(n.y) + 1 < unsigned(images.h)) {
          __builtin_prefetch(images.pixel(n.image, n.y, n.x));
          __builtin_prefetch(images.pixel(n.image, n.y + 1, n.x));
        }
      }
      for (int j = 0; j < count; ++j) {
        T* o = out + (first + j) * dst.stride_w;
        if (!simd || !separable_inside(images, points[j], o)) sample<C>(interp, images, border, points[j], o);
      }
    }
  }

  // Float interpolation: u8 bicubic and exact bilinear (u8 bilinear has its fixed-point SIMD
  // schedule), f32 bilinear and bicubic.
  static constexpr bool separable_schedule =
      VBATCH_HAVE_X86_SIMD && (C == 3 || C == 4) &&
      ((std::is_same_v<T, u8> && (std::is_same_v<Interp, interp::bicubic> || std::is_same_v<Interp, interp::bilinear_exact>)) ||
       (std::is_same_v<T, f32> && (std::is_same_v<Interp, interp::bicubic> || std::is_same_v<Interp, interp::bilinear>)));

  // Samples with SIMD where the footprint lies inside the image (for 3 channels one column short
  // of its right edge: each tap is read as 4 elements) and returns true; false elsewhere, for the
  // per-pixel body.
  template <class Point>
  bool separable_inside([[maybe_unused]] const source_images<T>& images, [[maybe_unused]] Point p,
                        [[maybe_unused]] T* out) const {
#if VBATCH_HAVE_X86_SIMD
    if constexpr (separable_schedule) {
      const auto f = detail::footprint_of(interp, p);  // the per-pixel body's footprint and weights
      constexpr int K = sizeof(f.wx) / sizeof(f.wx[0]);
      if (f.x0 < 0 || f.y0 < 0 || f.x0 + K + (C == 3) > images.w || f.y0 + K > images.h) return false;
      cpu::separable_pixel<K, C>(images.pixel(p.image, f.y0, f.x0), images.stride_h, f.wx, f.wy, out);
      return true;
    }
#endif
    return false;
  }

  void fixed_point_row(const source_images<T>& images, int k, int y, int width, T* out) const {
    constexpr int chunk = 256;
    fixed_tap taps[chunk];
    fixed_fraction fractions[chunk];
    std::uint8_t faces[chunk];
    const bool many_images = map.shape.source_images > 1;
    for (int first = 0; first < width; first += chunk) {
      const int count = width - first < chunk ? width - first : chunk;
      for (int j = 0; j < count; ++j) {
        const fixed_sample_point p = to_fixed(map.at(k, y, first + j));
        taps[j] = {static_cast<std::int16_t>(p.x), static_cast<std::int16_t>(p.y)};
        fractions[j] = {static_cast<std::uint8_t>(p.fx), static_cast<std::uint8_t>(p.fy)};
        faces[j] = static_cast<std::uint8_t>(p.image);
      }
      const auto pixel = [&](int j) {
        const fixed_sample_point p{faces[j], taps[j].x, taps[j].y, fractions[j].x, fractions[j].y};
        sample<C>(interp, images, border, p, out + (first + j) * C);
      };
      cpu::bilinear_row<C>(images, taps, fractions, many_images ? faces : nullptr, out + first * C, count, pixel);
    }
  }
};

template <class T, class KernelMap>
status can_remap(const batch_view<const T>& src, const KernelMap& map, const batch_view<T>& dst) {
  if (auto s = can_access(src, "remap source"); !s) return s;
  if (auto s = can_access(dst, "remap destination"); !s) return s;
  const map_shape& m = map.shape;
  if (src.n == 0) return fail(errc::invalid_argument, "remap: empty batch (no source frames)");
  if (src.c != dst.c) return fail(errc::invalid_argument, "remap: source has {} channels, destination {}", src.c, dst.c);
  if (src.c != 1 && src.c != 3 && src.c != 4)
    return fail(errc::invalid_argument, "remap: {} channels (1, 3 or 4 supported)", src.c);
  if (src.w != m.source_w || src.h != m.source_h)
    return fail(errc::invalid_argument, "remap: source images are {}x{} but the map was built for {}x{}", src.w, src.h,
                m.source_w, m.source_h);
  if (src.n % m.source_images != 0)
    return fail(errc::invalid_argument, "remap: {} source images is not a whole number of {}-image frames", src.n,
                m.source_images);
  const int frames = src.n / m.source_images;
  if (dst.n != frames * m.views || dst.w != m.width || dst.h != m.height)
    return fail(errc::invalid_argument, "remap: destination is {}x{}x{} (N,H,W) but {} frames x {} views need {}x{}x{}", dst.n,
                dst.h, dst.w, frames, m.views, frames * m.views, m.height, m.width);
  return status::success();
}

template <class Exec, class S, class T, class KernelMap, class Interp, class Border>
requires std::is_same_v<std::remove_const_t<S>, T>
void remap(const Exec& exec, batch_view<S> source, const KernelMap& map, batch_view<T> dst, Interp interp, Border border) {
  static_assert(element<T>, "remap: images must be u8 or f32");
  static_assert(executor<Exec>, "remap: not an executor (specialise vbatch::executor_traits; docs/concepts.md)");
  const batch_view<const T> src = source;
  check(can_remap(src, map, dst));
  const extent3 extent{dst.n, dst.h, dst.w};
  switch (src.c) {
    case 1:
      return for_each_index(exec, extent, remap_kernel<1, T, KernelMap, Interp, Border>{src, dst, map, interp, border});
    case 3:
      return for_each_index(exec, extent, remap_kernel<3, T, KernelMap, Interp, Border>{src, dst, map, interp, border});
    default:
      return for_each_index(exec, extent, remap_kernel<4, T, KernelMap, Interp, Border>{src, dst, map, interp, border});
  }
}

// Owning maps pass their kernel view.
template <class Exec, class S, class T, map_policy P, class Target, class Source, class Memory, class Interp, class Border>
requires std::is_same_v<std::remove_const_t<S>, T>
void remap(const Exec& exec, batch_view<S> src, const sample_map<P, Target, Source, Memory>& map, batch_view<T> dst,
           Interp interp, Border border) {
  remap(exec, src, map.view(), dst, interp, border);
}

}  // namespace vbatch::inline v0::sample
