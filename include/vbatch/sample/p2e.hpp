#pragma once
// p2e: perspective views back to equirectangular panoramas, the inverse of e2p.
//
//   views:      F * K views, view k of frame f at index f * K + k, as e2p writes them   (F*K, h, w, C)
//   panoramas:  F frames                                                                (F,   H, W, C)
//   coverage:   optional, 255 where a view sees the pixel, 0 elsewhere                  (F,   H, W, 1) u8
//   weight_sum: optional, the sum of the views' weights at each pixel                   (F,   H, W, 1) f32
//
//   const auto map = vbatch::sample::make_p2e_map(rig, 4096, 2048);           // once per rig and size
//   vbatch::sample::p2e(vbatch::cpu_par{}, views, map, panoramas, coverage);  // every batch, one launch
//
// Each panorama pixel's ray (equirect_rays' convention) is projected into every camera (the
// inverse of pinhole_rays: pixel centres at integers, the image spans [-0.5, w - 0.5] ×
// [-0.5, h - 0.5]). A camera sees the ray when it lies in front of it and strictly inside that
// rectangle; the view is then sampled there (border::clamp) and the samples are averaged with the
// feathering weight
//   weight = 16 u (1 - u) v (1 - v),  u = (x + 0.5) / w,  v = (y + 0.5) / h:
// 1 at the view's centre and 0 on its edges, so a view fades out before its border and
// overlapping views blend without a seam. A product of parabolas rather than the distance to the
// nearest edge: smooth inside the image (no ridge along the diagonals), cheap, and it feathers
// across the whole overlap, which hides exposure differences between views best. Pixels no view
// sees get `fill`. u8 panoramas are rounded once, from the float average.

#include <cmath>
#include <type_traits>
#include <vector>

#include "vbatch/core/buffer.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/sample/interp.hpp"

namespace vbatch::inline v0::sample {

// World direction -> pixel coordinates of one pinhole camera, the inverse of pinhole_rays: the
// rows of K · Rᵀ (x = row_x · d / forward · d, y = row_y · d / forward · d).
template <class R>
struct pinhole_projection {
  vec3<R> row_x, row_y, forward;

  static pinhole_projection from(const camera& cam) {
    const pinhole& p = cam.lens;
    const vec3<double> right = cam.rotation.column(0), up = cam.rotation.column(1), fwd = cam.rotation.column(2);
    return {cast(p.fx * right + p.cx * fwd), cast((-p.fy) * up + p.cy * fwd), cast(fwd)};
  }
  // False for directions on or behind the camera's plane, which no pixel sees.
  VBATCH_HOST_DEVICE bool operator()(vec3<R> d, R& x, R& y) const {
    const R z = dot(forward, d);
    if (!(z > 0)) return false;
    x = dot(row_x, d) / z;
    y = dot(row_y, d) / z;
    return true;
  }

 private:
  static vec3<R> cast(vec3<double> v) { return {R(v.x), R(v.y), R(v.z)}; }
};

// The shape a p2e map is for: `views` cameras of view_w × view_h, panoramas of width × height.
struct p2e_shape {
  int views = 0, view_w = 0, view_h = 0;
  int width = 0, height = 0;
};

// What the kernel reads, in the kernel's memory space: the shape, the cameras' projections, and
// the sine and cosine of each column's longitude and each row's latitude (equirect_rays, computed
// once in double: a ray then costs three multiplies instead of four sines and cosines).
struct p2e_kernel_map {
  p2e_shape shape;
  const pinhole_projection<float>* cameras;
  const vec2<float>* longitudes;  // (sin, cos), one per column
  const vec2<float>* latitudes;   // (sin, cos), one per row

  VBATCH_HOST_DEVICE vec3<float> ray(int y, int x) const {
    const vec2<float> lon = longitudes[x], lat = latitudes[y];
    return {lat.y * lon.x, lat.x, lat.y * lon.y};
  }
};

// Feathering weight of the point (x, y) of a w × h view: 0 outside and on the edges of the image
// rectangle [-0.5, w - 0.5] × [-0.5, h - 0.5], > 0 strictly inside, 1 at its centre.
VBATCH_HOST_DEVICE inline float p2e_weight(float x, float y, float inv_w, float inv_h) {
  const float u = (x + 0.5f) * inv_w, v = (y + 0.5f) * inv_h;
  if (!(u > 0 && u < 1 && v > 0 && v < 1)) return 0;
  return 16 * u * (1 - u) * v * (1 - v);
}

namespace detail {

// C channels at point p, unrounded: bilinear (either precision) and bicubic in float, as
// interpolate() gives them, so that p2e rounds once, after blending; other interpolation tags
// through sample() (on u8 views rounded before the blend too).
template <int C, class T, class Border, class Interp>
VBATCH_HOST_DEVICE inline void sample_unrounded(Interp i, const source_images<T>& src, const Border& border,
                                                sample_point<float> p, float (&out)[C]) {
  if constexpr (std::is_same_v<Interp, interp::bilinear> || std::is_same_v<Interp, interp::bilinear_exact> ||
                std::is_same_v<Interp, interp::bicubic>) {
    interpolate<C>(i, src, border, p, out);
  } else {
    T v[C];
    sample<C>(i, src, border, p, v);
    for (int c = 0; c < C; ++c) out[c] = float(v[c]);
  }
}

}  // namespace detail

// The per-pixel body, the same code on every executor: panorama pixel (y, x) of frame f.
template <int C, class T, class Interp>
struct p2e_kernel {
  batch_view<const T> views;  // (F*K, h, w, C)
  batch_view<T> panoramas;    // (F, H, W, C)
  batch_view<u8> coverage;    // (F, H, W, 1) or empty
  batch_view<float> weights;  // (F, H, W, 1) or empty
  p2e_kernel_map map;
  Interp interp;
  float fill;

  VBATCH_HOST_DEVICE void operator()(int f, int y, int x) const {
    const p2e_shape& s = map.shape;
    const vec3<float> d = map.ray(y, x);
    const float inv_w = 1.0f / float(s.view_w), inv_h = 1.0f / float(s.view_h);
    // A running weighted mean: one view gives its sample exactly, equal samples stay exact.
    float mean[C] = {}, sum = 0;
    for (int k = 0; k < s.views; ++k) {
      float vx, vy;
      if (!map.cameras[k](d, vx, vy)) continue;
      const float w = p2e_weight(vx, vy, inv_w, inv_h);
      if (!(w > 0)) continue;
      const int i = f * s.views + k;
      const source_images<T> view{views.pixel(i, 0, 0), views.w, views.h, views.stride_n, views.stride_h, views.stride_w};
      float value[C];
      detail::sample_unrounded<C>(interp, view, border::clamp{}, sample_point<float>{0, vx, vy}, value);
      sum += w;
      const float t = w / sum;
      for (int c = 0; c < C; ++c) mean[c] += t * (value[c] - mean[c]);
    }
    T* out = panoramas.pixel(f, y, x);
    for (int c = 0; c < C; ++c) out[c] = to_element<T>(sum > 0 ? mean[c] : fill);
    if (coverage.data) *coverage.pixel(f, y, x) = sum > 0 ? 255 : 0;
    if (weights.data) *weights.pixel(f, y, x) = sum;
  }
};

// Whether a p2e map can be built: cameras of one size, a positive panorama size.
inline status can_make_p2e_map(const rig& cameras, int width, int height) {
  if (cameras.empty()) return fail(errc::invalid_argument, "p2e_map: the rig has no cameras");
  const pinhole& first = cameras.front().lens;
  for (std::size_t k = 1; k < cameras.size(); ++k)
    if (cameras[k].lens.width != first.width || cameras[k].lens.height != first.height)
      return fail(errc::invalid_argument, "p2e_map: camera {} is {}x{} but camera 0 is {}x{}; one batch of views has one size", k,
                  cameras[k].lens.width, cameras[k].lens.height, first.width, first.height);
  if (first.width <= 0 || first.height <= 0)
    return fail(errc::invalid_argument, "p2e_map: camera size {}x{} must be positive", first.width, first.height);
  if (width <= 0 || height <= 0)
    return fail(errc::invalid_argument, "p2e_map: panorama size {}x{} must be positive", width, height);
  return status::success();
}

// The cameras a batch of views was taken with and the panorama size they go back to, in a memory
// space (device_memory for vbatch::cuda): K camera projections and W + H sines and cosines, a few
// kilobytes built on the host in microseconds; reuse it for every batch.
template <class Memory = host_memory>
class p2e_map {
 public:
  p2e_map(const rig& cameras, int width, int height) {
    check(can_make_p2e_map(cameras, width, height));
    shape_ = {int(cameras.size()), cameras.front().lens.width, cameras.front().lens.height, width, height};
    std::vector<pinhole_projection<float>> table;
    for (const camera& c : cameras) table.push_back(pinhole_projection<float>::from(c));
    cameras_ = buffer<pinhole_projection<float>, Memory>::from_host(table);
    std::vector<vec2<float>> lon(width), lat(height);
    for (int x = 0; x < width; ++x) {
      const double a = ((x + 0.5) / width - 0.5) * (2 * pi);
      lon[x] = {float(std::sin(a)), float(std::cos(a))};
    }
    for (int y = 0; y < height; ++y) {
      const double a = (0.5 - (y + 0.5) / height) * pi;
      lat[y] = {float(std::sin(a)), float(std::cos(a))};
    }
    longitudes_ = buffer<vec2<float>, Memory>::from_host(lon);
    latitudes_ = buffer<vec2<float>, Memory>::from_host(lat);
  }

  const p2e_shape& shape() const { return shape_; }
  p2e_kernel_map view() const { return {shape_, cameras_.data(), longitudes_.data(), latitudes_.data()}; }

 private:
  p2e_shape shape_{};
  buffer<pinhole_projection<float>, Memory> cameras_;
  buffer<vec2<float>, Memory> longitudes_, latitudes_;
};

template <class Memory = host_memory>
p2e_map<Memory> make_p2e_map(const rig& cameras, int width, int height) {
  return p2e_map<Memory>(cameras, width, height);
}

// Extras of a p2e call: the value of pixels no view sees, and where to put the weight sums for a
// caller who blends several calls (sum the weighted panoramas, divide by the summed weights).
struct p2e_options {
  float fill = 0;
  batch_view<float> weight_sum{};  // (F, H, W, 1) or empty
};

namespace detail {
template <class V>
status can_take_plane(const V& v, const char* name, int frames, const p2e_shape& s) {
  if (v.empty() && v.data == nullptr) return status::success();  // not wanted
  if (auto st = can_access(v, name); !st) return st;
  if (v.n != frames || v.h != s.height || v.w != s.width || v.c != 1)
    return fail(errc::invalid_argument, "p2e: {} is {}x{}x{}x{} (N,H,W,C) but must be {}x{}x{}x1", name, v.n, v.h, v.w, v.c,
                frames, s.height, s.width);
  return status::success();
}
}  // namespace detail

// Checks the arguments of p2e without throwing; the messages name the parameter.
template <class T>
status can_p2e(const batch_view<const T>& views, const p2e_kernel_map& map, const batch_view<T>& panoramas,
               const batch_view<u8>& coverage = {}, const p2e_options& options = {}) {
  if (auto s = can_access(views, "p2e views"); !s) return s;
  if (auto s = can_access(panoramas, "p2e panoramas"); !s) return s;
  const p2e_shape& m = map.shape;
  if (m.views <= 0 || !map.cameras || !map.longitudes || !map.latitudes)
    return fail(errc::invalid_argument, "p2e: the map has no cameras");
  if (views.n == 0) return fail(errc::invalid_argument, "p2e: views: empty batch (no views)");
  if (views.n % m.views != 0)
    return fail(errc::invalid_argument, "p2e: views: {} views is not a whole number of frames of the rig's {} cameras", views.n,
                m.views);
  if (views.w != m.view_w || views.h != m.view_h)
    return fail(errc::invalid_argument, "p2e: views are {}x{} but the rig's cameras are {}x{}", views.w, views.h, m.view_w,
                m.view_h);
  if (views.c != panoramas.c)
    return fail(errc::invalid_argument, "p2e: views have {} channels, panoramas {}", views.c, panoramas.c);
  if (views.c != 1 && views.c != 3 && views.c != 4)
    return fail(errc::invalid_argument, "p2e: views have {} channels (1, 3 or 4 supported)", views.c);
  const int frames = views.n / m.views;
  if (panoramas.n != frames || panoramas.w != m.width || panoramas.h != m.height)
    return fail(errc::invalid_argument, "p2e: panoramas are {}x{}x{} (N,H,W) but {} views of {} cameras need {}x{}x{}",
                panoramas.n, panoramas.h, panoramas.w, views.n, m.views, frames, m.height, m.width);
  if (auto s = detail::can_take_plane(coverage, "coverage", frames, m); !s) return s;
  return detail::can_take_plane(options.weight_sum, "weight_sum", frames, m);
}

template <class T, class Memory>
status can_p2e(const batch_view<const T>& views, const p2e_map<Memory>& map, const batch_view<T>& panoramas,
               const batch_view<u8>& coverage = {}, const p2e_options& options = {}) {
  return can_p2e(views, map.view(), panoramas, coverage, options);
}

// Panoramas from views, all frames in one launch. `coverage` may be empty (not written).
template <class Exec, class S, class T, class Interp = interp::bilinear>
requires std::is_same_v<std::remove_const_t<S>, T>
void p2e(const Exec& exec, batch_view<S> source, const p2e_kernel_map& map, batch_view<T> panoramas, batch_view<u8> coverage = {},
         Interp interp = {}, const p2e_options& options = {}) {
  static_assert(element<T>, "p2e: images must be u8 or f32");
  static_assert(executor<Exec>, "p2e: not an executor (specialise vbatch::executor_traits; docs/concepts.md)");
  const batch_view<const T> views = source;
  check(can_p2e(views, map, panoramas, coverage, options));
  const extent3 extent{panoramas.n, panoramas.h, panoramas.w};
  const batch_view<float> weights = options.weight_sum;
  switch (views.c) {
    case 1:
      return for_each_index(exec, extent,
                            p2e_kernel<1, T, Interp>{views, panoramas, coverage, weights, map, interp, options.fill});
    case 3:
      return for_each_index(exec, extent,
                            p2e_kernel<3, T, Interp>{views, panoramas, coverage, weights, map, interp, options.fill});
    default:
      return for_each_index(exec, extent,
                            p2e_kernel<4, T, Interp>{views, panoramas, coverage, weights, map, interp, options.fill});
  }
}

template <class Exec, class S, class T, class Memory, class Interp = interp::bilinear>
requires std::is_same_v<std::remove_const_t<S>, T>
void p2e(const Exec& exec, batch_view<S> views, const p2e_map<Memory>& map, batch_view<T> panoramas, batch_view<u8> coverage = {},
         Interp interp = {}, const p2e_options& options = {}) {
  p2e(exec, views, map.view(), panoramas, coverage, interp, options);
}

// The easy layer: panoramas of width × height and their coverage, allocated for you (CPU).
template <class T>
struct p2e_result {
  batch_buffer<T> panoramas;  // (F, H, W, C)
  batch_buffer<u8> coverage;  // (F, H, W, 1)
};

template <class Exec, class S, class Interp = interp::bilinear>
p2e_result<std::remove_const_t<S>> p2e(const Exec& exec, batch_view<S> views, const rig& cameras, int width, int height,
                                       Interp interp = {}, const p2e_options& options = {}) {
  static_assert(host_executor<Exec>, "p2e: the allocating overload runs on the CPU; on CUDA build a device map and pass outputs");
  const p2e_map<> map(cameras, width, height);
  if (views.n % int(cameras.size()) != 0)  // checked again by p2e; here to size the outputs
    raise(errc::invalid_argument, "p2e: views: {} views is not a whole number of frames of the rig's {} cameras", views.n,
          cameras.size());
  const int frames = views.n / int(cameras.size());
  p2e_result<std::remove_const_t<S>> out{batch_buffer<std::remove_const_t<S>>({frames, height, width, views.c}),
                                         batch_buffer<u8>({frames, height, width, 1})};
  p2e(exec, views, map, out.panoramas.view(), out.coverage.view(), interp, options);
  return out;
}

}  // namespace vbatch::inline v0::sample
