#pragma once
// Sample maps: for every view k and output pixel (y, x), the point of the source images to
// sample. The map policy, chosen at compile time, decides how that point is obtained:
//
//   maps::on_the_fly    computes the ray and its projection per pixel, in float (no map memory;
//                       best when a map is used for one frame or memory is tight);
//   maps::cached_float  precomputes every point once, in double, stored as two floats (8 B/pixel);
//   maps::cached_fixed  precomputes in double, stored as 16-bit integer taps plus fractions in
//                       1/128 pixel (6 B/pixel); u8 bilinear then runs in exact integer
//                       arithmetic, on the CPU with SIMD.
//
// A cached map is built once per rig and source size and reused for every frame.
//
//   auto map = vbatch::sample::make_e2p_map<vbatch::sample::maps::cached_fixed>(rig, 7680, 3840);
//   vbatch::sample::remap(vbatch::cpu_par{}, frames, map, views);           // (N,H,W,C) -> (N*K,h,w,C)
//
// Targets (output pixel -> world ray): a rig of pinhole cameras or an equirectangular image.
// Sources (world ray -> point on a frame's images): any sample_source, such as equirect_source,
// cube_source (projection.hpp), fisheye_source and dual_fisheye_source (fisheye.hpp).

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "vbatch/core/buffer.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/sample/interp.hpp"

namespace vbatch::inline v0::sample {

namespace maps {
struct on_the_fly {
  static constexpr const char* name = "on_the_fly";
};
struct cached_float {
  static constexpr const char* name = "cached_float";
};
struct cached_fixed {
  static constexpr const char* name = "cached_fixed";
};
}  // namespace maps

template <class P>
concept map_policy =
    std::is_same_v<P, maps::on_the_fly> || std::is_same_v<P, maps::cached_float> || std::is_same_v<P, maps::cached_fixed>;

// What a map needs of a source: how many images a frame has (Source::images) and their size
// (width and height members, or face_w for square faces), and the point of a world direction.
template <class S>
concept has_face_w = requires(const S& s) {
  s.face_w;
};
template <class S>
concept has_width_height = requires(const S& s) {
  s.width + s.height;
};

template <class S>
concept projects_directions = requires(const S& s, vec3<double> d) {
  { S::images } -> std::convertible_to<int>;
  { s(d) } -> std::same_as<sample_point<double>>;
};
template <class S>
concept has_image_size = has_width_height<S> || has_face_w<S>;
template <class S>
concept sample_source = std::is_trivially_copyable_v<S> && projects_directions<S> && has_image_size<S>;

// The shape every map shares: `views` output images of width × height, sampling frames made of
// `source_images` images of source_w × source_h.
struct map_shape {
  int views = 0, width = 0, height = 0;
  int source_images = 1, source_w = 0, source_h = 0;
};

// Kernel-side map that computes each point from a target and a source.
template <class Target, class Source>
struct ray_map {
  map_shape shape;
  Target target;
  Source source;

  VBATCH_HOST_DEVICE sample_point<float> at(int k, int y, int x) const { return source(target(k, float(x), float(y))); }
};

struct float_entry {
  float x, y;
};

// Kernel-side map that reads precomputed float points. `faces` is null for one-image sources.
struct float_table_map {
  map_shape shape;
  const float_entry* points;
  const std::uint8_t* faces;

  VBATCH_HOST_DEVICE sample_point<float> at(int k, int y, int x) const {
    const std::int64_t i = (std::int64_t{k} * shape.height + y) * shape.width + x;
    return {faces ? faces[i] : 0, points[i].x, points[i].y};
  }
};

// Fixed-point points are stored as two arrays (structure of arrays), which the CPU's SIMD path
// loads eight at a time: integer taps and fractions in 1/fixed_one pixel.
struct fixed_tap {
  std::int16_t x, y;
};
struct fixed_fraction {
  std::uint8_t x, y;
};

struct fixed_table_map {
  map_shape shape;
  const fixed_tap* taps;
  const fixed_fraction* fractions;
  const std::uint8_t* faces;

  VBATCH_HOST_DEVICE std::int64_t index(int k, int y, int x) const {
    return (std::int64_t{k} * shape.height + y) * shape.width + x;
  }
  VBATCH_HOST_DEVICE fixed_sample_point at(int k, int y, int x) const {
    const std::int64_t i = index(k, y, x);
    return {faces ? faces[i] : 0, taps[i].x, taps[i].y, fractions[i].x, fractions[i].y};
  }
};

namespace detail {

// Host-side description of the output rays: a rig of pinhole cameras, or an equirectangular image.
struct rig_target {
  const rig& cameras;

  int views() const { return static_cast<int>(cameras.size()); }
  int width() const { return cameras.front().lens.width; }
  int height() const { return cameras.front().lens.height; }
  template <class R>
  std::vector<pinhole_rays<R>> rays() const {
    std::vector<pinhole_rays<R>> r;
    for (const camera& c : cameras) r.push_back(pinhole_rays<R>::from(c));
    return r;
  }
};

}  // namespace detail

// An owning map in a memory space. Target is rig_rays<float> (pinhole outputs) or equirect_rays
// (panorama outputs); Source is a sample_source.
template <map_policy Policy, class Target, sample_source Source, class Memory = host_memory>
class sample_map {
 public:
  using policy = Policy;
  static constexpr bool fixed = std::is_same_v<Policy, maps::cached_fixed>;
  using kernel_map = std::conditional_t<std::is_same_v<Policy, maps::on_the_fly>, ray_map<Target, Source>,
                                        std::conditional_t<fixed, fixed_table_map, float_table_map>>;

  // Pinhole outputs: one view per camera of the rig; all cameras must share one output size.
  template <class Exec = cpu_par>
  requires std::is_same_v<Target, rig_rays<float>> sample_map(const rig& cameras, Source source, const Exec& exec = {})
      : source_(source) {
    check(can_build(cameras, source));
    const detail::rig_target target{cameras};
    shape_ = shape_for(target.views(), target.width(), target.height(), source);
    if constexpr (std::is_same_v<Policy, maps::on_the_fly>) {
      rays_ = buffer<pinhole_rays<float>, Memory>::from_host(target.template rays<float>());
    } else {
      const std::vector<pinhole_rays<double>> rays = target.template rays<double>();
      fill(exec, rig_rays<double>{rays.data(), shape_.width, shape_.height});
    }
  }

  // Equirectangular output of width × height: one view.
  template <class Exec = cpu_par>
  requires std::is_same_v<Target, equirect_rays> sample_map(int width, int height, Source source, const Exec& exec = {})
      : source_(source) {
    if (width <= 0 || height <= 0) raise(errc::invalid_argument, "sample_map: output size {}x{} must be positive", width, height);
    check(can_use(source));
    shape_ = shape_for(1, width, height, source);
    if constexpr (!std::is_same_v<Policy, maps::on_the_fly>) fill(exec, equirect_rays{width, height});
  }

  // Whether a map can be built for these cameras and this source, without building it.
  static status can_build(const rig& cameras, const Source& source) {
    if (cameras.empty()) return fail(errc::invalid_argument, "sample_map: the rig has no cameras");
    const pinhole& first = cameras.front().lens;
    for (std::size_t k = 1; k < cameras.size(); ++k)
      if (cameras[k].lens.width != first.width || cameras[k].lens.height != first.height)
        return fail(errc::invalid_argument, "sample_map: camera {} is {}x{} but camera 0 is {}x{}; one map needs one output size",
                    k, cameras[k].lens.width, cameras[k].lens.height, first.width, first.height);
    return can_use(source);
  }

  // Whether the policy can sample this source.
  static status can_use(const Source& source) {
    const map_shape s = shape_for(1, 1, 1, source);
    if (s.source_w <= 0 || s.source_h <= 0)
      return fail(errc::invalid_argument, "sample_map: source size {}x{} must be positive", s.source_w, s.source_h);
    if (fixed && (s.source_w > fixed_tap_limit || s.source_h > fixed_tap_limit))
      return fail(errc::unsupported, "sample_map: cached_fixed holds sources up to {} pixels; {}x{} needs cached_float",
                  fixed_tap_limit, s.source_w, s.source_h);
    return status::success();
  }

  const map_shape& shape() const { return shape_; }
  const Source& source() const { return source_; }
  // Bytes of map memory (0 for on_the_fly beyond the camera table).
  std::size_t bytes() const { return points_.bytes() + taps_.bytes() + fractions_.bytes() + faces_.bytes() + rays_.bytes(); }

  kernel_map view() const {
    if constexpr (std::is_same_v<Policy, maps::on_the_fly>) {
      if constexpr (std::is_same_v<Target, rig_rays<float>>)
        return {shape_, Target{rays_.data(), shape_.width, shape_.height}, source_};
      else
        return {shape_, Target{shape_.width, shape_.height}, source_};
    } else if constexpr (fixed) {
      return {shape_, taps_.data(), fractions_.data(), faces_.data()};
    } else {
      return {shape_, points_.data(), faces_.data()};
    }
  }

 private:
  static map_shape shape_for(int views, int width, int height, const Source& s) {
    if constexpr (has_face_w<Source>)
      return {views, width, height, Source::images, s.face_w, s.face_w};
    else
      return {views, width, height, Source::images, s.width, s.height};
  }

  // Computes every point in double precision on the host, then moves the tables to Memory.
  template <class Exec, class DoubleTarget>
  void fill(const Exec& exec, const DoubleTarget& target) {
    static_assert(host_executor<Exec>, "sample_map: maps are computed on the host: pass a host executor (then moved to Memory)");
    const std::size_t n = std::size_t(shape_.views) * shape_.height * shape_.width;
    std::vector<float_entry> points(fixed ? 0 : n);
    std::vector<fixed_tap> taps(fixed ? n : 0);
    std::vector<fixed_fraction> fractions(fixed ? n : 0);
    std::vector<std::uint8_t> faces(Source::images > 1 ? n : 0);
    for_each_index(exec, {shape_.views, shape_.height, shape_.width}, [&](int k, int y, int x) {
      const std::size_t i = (std::size_t(k) * shape_.height + y) * shape_.width + x;
      const sample_point<double> p = source_(target(k, double(x), double(y)));
      if constexpr (fixed) {
        const fixed_sample_point f = to_fixed(p);
        taps[i] = {static_cast<std::int16_t>(f.x), static_cast<std::int16_t>(f.y)};
        fractions[i] = {static_cast<std::uint8_t>(f.fx), static_cast<std::uint8_t>(f.fy)};
      } else {
        points[i] = {float(p.x), float(p.y)};
      }
      if (!faces.empty()) faces[i] = static_cast<std::uint8_t>(p.image);
    });
    points_ = buffer<float_entry, Memory>::from_host(points);
    taps_ = buffer<fixed_tap, Memory>::from_host(taps);
    fractions_ = buffer<fixed_fraction, Memory>::from_host(fractions);
    faces_ = buffer<std::uint8_t, Memory>::from_host(faces);
  }

  map_shape shape_{};
  Source source_;
  buffer<float_entry, Memory> points_;
  buffer<fixed_tap, Memory> taps_;
  buffer<fixed_fraction, Memory> fractions_;
  buffer<std::uint8_t, Memory> faces_;
  buffer<pinhole_rays<float>, Memory> rays_;
};

// Perspective views (e2p, e2c) of equirectangular frames source_w × source_h.
template <map_policy Policy, class Memory = host_memory>
using e2p_map = sample_map<Policy, rig_rays<float>, equirect_source, Memory>;

// An equirectangular image of width × height from cube faces (c2e).
template <map_policy Policy, class Memory = host_memory>
using c2e_map = sample_map<Policy, equirect_rays, cube_source, Memory>;

template <map_policy Policy>
status can_make_e2p_map(const rig& cameras, int source_w, int source_h) {
  return e2p_map<Policy>::can_build(cameras, equirect_source{source_w, source_h});
}

template <map_policy Policy, class Memory = host_memory, class Exec = cpu_par>
e2p_map<Policy, Memory> make_e2p_map(const rig& cameras, int source_w, int source_h, const Exec& exec = {}) {
  return e2p_map<Policy, Memory>(cameras, equirect_source{source_w, source_h}, exec);
}

// Perspective views of fisheye frames (fisheye_source, dual_fisheye_source: fisheye.hpp).
template <map_policy Policy, sample_source Source, class Memory = host_memory>
using f2p_map = sample_map<Policy, rig_rays<float>, Source, Memory>;

// An equirectangular image of width × height from fisheye frames.
template <map_policy Policy, sample_source Source, class Memory = host_memory>
using f2e_map = sample_map<Policy, equirect_rays, Source, Memory>;

template <map_policy Policy, sample_source Source>
status can_make_f2p_map(const rig& cameras, const Source& source) {
  return f2p_map<Policy, Source>::can_build(cameras, source);
}

template <map_policy Policy, class Memory = host_memory, sample_source Source, class Exec = cpu_par>
f2p_map<Policy, Source, Memory> make_f2p_map(const rig& cameras, const Source& source, const Exec& exec = {}) {
  return f2p_map<Policy, Source, Memory>(cameras, source, exec);
}

template <map_policy Policy, class Memory = host_memory, sample_source Source, class Exec = cpu_par>
f2e_map<Policy, Source, Memory> make_f2e_map(int width, int height, const Source& source, const Exec& exec = {}) {
  return f2e_map<Policy, Source, Memory>(width, height, source, exec);
}

// Bytes of a cached sample map: per output pixel 6 (fixed) or 8 (float), plus 1 for the face of
// a cube source; on_the_fly keeps only the camera table.
template <map_policy Policy>
std::uint64_t map_bytes(std::uint64_t output_pixels, int views, bool cube_source) {
  if constexpr (std::is_same_v<Policy, maps::on_the_fly>) return std::uint64_t(views) * sizeof(pinhole_rays<float>);
  const std::uint64_t point =
      std::is_same_v<Policy, maps::cached_fixed> ? sizeof(fixed_tap) + sizeof(fixed_fraction) : sizeof(float_entry);
  return output_pixels * (point + (cube_source ? 1 : 0));
}

}  // namespace vbatch::inline v0::sample
