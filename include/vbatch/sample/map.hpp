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
#include <span>
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

// An equirectangular column x in [-0.5, W - 0.5), the range equirect_source gives.
inline double wrap_column(double x, double width) { return x - width * std::floor((x + 0.5) / width); }

// Cameras whose maps on an equirectangular source are one camera's map shifted: a camera turned
// about the vertical axis by a yaw sees the same rows at columns shifted by yaw / 360° × W.
// `mirrored`: the camera's right axis is horizontal and its centre column the middle one, so
// columns x and w - 1 - x see longitudes mirrored about the camera's (their columns sum to
// mirror_sum, modulo W) at equal rows. Building 8 ring cameras then costs half of one camera's
// projections instead of eight cameras'.
struct yaw_group {
  int camera = 0;  // the camera whose rows are computed
  bool mirrored = false;
  double mirror_sum = 0;
  std::vector<std::pair<int, double>> members;  // camera, column shift (0 for `camera` itself)
};

// Groups the rig's cameras by the symmetries above, each proved twice: by the rotations and
// lenses (exact up to 1e-12), and by projecting a few pixels directly (within 1e-7 px of the
// shifted or mirrored points), so a camera that fails either check is computed on its own.
template <class Source>
std::vector<yaw_group> equirect_symmetries(const rig& cameras, const rig_rays<double>& rays, const Source& source) {
  const int w = cameras.front().lens.width, h = cameras.front().lens.height;
  const double width = source.width;
  const auto point = [&](int k, int x, int y) { return source(rays(k, double(x), double(y))); };
  const int probe_x[] = {0, w / 3, w / 2, w - 1}, probe_y[] = {0, h / 4, h / 2, h - 1};
  const auto near = [&](double a, double b) { return std::abs(wrap_column(a - b, width)) < 1e-7; };
  std::vector<yaw_group> groups;
  for (int k = 0; k < int(cameras.size()); ++k) {
    const camera& c = cameras[std::size_t(k)];
    bool placed = false;
    for (yaw_group& g : groups) {
      const camera& r = cameras[std::size_t(g.camera)];
      const pinhole &a = c.lens, &b = r.lens;
      if (a.fx != b.fx || a.fy != b.fy || a.cx != b.cx || a.cy != b.cy) continue;
      mat3<double> turn{};  // c's rotation after r's inverse: a turn about the vertical (y) axis?
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          for (int l = 0; l < 3; ++l) turn.m[i][j] += c.rotation.m[i][l] * r.rotation.m[j][l];
      if (std::abs(turn.m[1][1] - 1) > 1e-12 || std::abs(turn.m[0][1]) > 1e-12 || std::abs(turn.m[1][0]) > 1e-12 ||
          std::abs(turn.m[1][2]) > 1e-12 || std::abs(turn.m[2][1]) > 1e-12)
        continue;
      // The shift in [0, W), a whole number of columns when it is one within 1e-9 (then the
      // shifted points keep the fractions the direct ones have).
      const double d = point(k, w / 2, h / 2).x - point(g.camera, w / 2, h / 2).x;
      double shift = d - width * std::floor(d / width);
      if (std::abs(shift - std::round(shift)) < 1e-9) shift = std::round(shift);
      if (shift >= width) shift = 0;
      bool same = true;
      for (const int x : probe_x)
        for (const int y : probe_y) {
          const sample_point<double> p = point(k, x, y), q = point(g.camera, x, y);
          same = same && near(p.x, q.x + shift) && std::abs(p.y - q.y) < 1e-7;
        }
      if (!same) continue;
      g.members.emplace_back(k, shift);
      placed = true;
      break;
    }
    if (placed) continue;
    yaw_group g{k, false, 0, {{k, 0.0}}};
    if (std::abs(c.rotation.m[1][0]) < 1e-12 && 2 * c.lens.cx == w - 1) {
      g.mirror_sum = point(k, 0, h / 2).x + point(k, w - 1, h / 2).x;
      g.mirrored = true;
      for (const int x : probe_x)
        for (const int y : probe_y) {
          const sample_point<double> p = point(k, x, y), m = point(k, w - 1 - x, y);
          g.mirrored = g.mirrored && near(p.x, g.mirror_sum - m.x) && std::abs(p.y - m.y) < 1e-7;
        }
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

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
      const rig_rays<double> double_rays{rays.data(), shape_.width, shape_.height};
      if constexpr (std::is_same_v<Source, equirect_source>)
        fill(exec, double_rays, detail::equirect_symmetries(cameras, double_rays, source));
      else
        fill(exec, double_rays);
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

  // Computes every point in double precision on the host, then moves the tables to Memory. With
  // symmetries (equirectangular sources), each row is computed for one camera of a group (half of
  // it when the camera is mirror-symmetric) and the group's other cameras take it shifted.
  template <class Exec, class DoubleTarget>
  void fill(const Exec& exec, const DoubleTarget& target, const std::vector<detail::yaw_group>& groups = {}) {
    static_assert(host_executor<Exec>, "sample_map: maps are computed on the host: pass a host executor (then moved to Memory)");
    const std::size_t n = std::size_t(shape_.views) * shape_.height * shape_.width;
    // Written in place when Memory is the host's (no zeroing, no copy), else staged and copied.
    using staging = std::conditional_t<std::is_same_v<Memory, host_memory>, host_memory, huge_page_memory>;
    buffer<float_entry, staging> point_table(fixed ? 0 : n);
    buffer<fixed_tap, staging> tap_table(fixed ? n : 0);
    buffer<fixed_fraction, staging> fraction_table(fixed ? n : 0);
    buffer<std::uint8_t, staging> face_table(Source::images > 1 ? n : 0);
    float_entry* points = point_table.data();
    fixed_tap* taps = tap_table.data();
    fixed_fraction* fractions = fraction_table.data();
    std::uint8_t* faces = face_table.data();
    const auto store = [&](int k, int y, int x, const sample_point<double>& p) {
      const std::size_t i = (std::size_t(k) * shape_.height + y) * shape_.width + x;
      if constexpr (fixed) {
        const fixed_sample_point f = to_fixed(p);
        taps[i] = {static_cast<std::int16_t>(f.x), static_cast<std::int16_t>(f.y)};
        fractions[i] = {static_cast<std::uint8_t>(f.fx), static_cast<std::uint8_t>(f.fy)};
      } else {
        points[i] = {float(p.x), float(p.y)};
      }
      if (faces) faces[i] = static_cast<std::uint8_t>(p.image);
    };
    if (groups.empty()) {
      for_each_index(exec, {shape_.views, shape_.height, shape_.width},
                     [&](int k, int y, int x) { store(k, y, x, source_(target(k, double(x), double(y)))); });
    } else {
      const int w = shape_.width;
      const double source_w = shape_.source_w;
      for_each_index(exec, {int(groups.size()), shape_.height, 1}, [&](int g, int y, int) {
        const detail::yaw_group& group = groups[std::size_t(g)];
        std::vector<sample_point<double>> row(static_cast<std::size_t>(w));
        const int computed = group.mirrored ? (w + 1) / 2 : w;
        for (int x = 0; x < computed; ++x) row[std::size_t(x)] = source_(target(group.camera, double(x), double(y)));
        for (int x = computed; x < w; ++x) {
          const sample_point<double>& m = row[std::size_t(w - 1 - x)];
          row[std::size_t(x)] = {0, detail::wrap_column(group.mirror_sum - m.x, source_w), m.y};
        }
        std::vector<fixed_sample_point> fixed_row(fixed ? row.size() : 0);
        for (std::size_t x = 0; x < fixed_row.size(); ++x) fixed_row[x] = to_fixed(row[x]);
        for (const auto& [k, shift] : group.members) {
          if (fixed && shift == std::floor(shift)) {  // whole columns: the fractions stay, the taps move
            const int columns = static_cast<int>(shift);
            for (int x = 0; x < w; ++x) {
              const fixed_sample_point& f = fixed_row[std::size_t(x)];
              // Back by a turn past column W - 0.5, the end of equirect_source's range.
              int tap = f.x + columns;
              if (tap > shape_.source_w - 1 || (tap == shape_.source_w - 1 && f.fx > fixed_one / 2)) tap -= shape_.source_w;
              const std::size_t i = (std::size_t(k) * shape_.height + y) * w + x;
              taps[i] = {static_cast<std::int16_t>(tap), static_cast<std::int16_t>(f.y)};
              fractions[i] = {static_cast<std::uint8_t>(f.fx), static_cast<std::uint8_t>(f.fy)};
            }
            continue;
          }
          for (int x = 0; x < w; ++x) {  // points are in [-0.5, W - 0.5]: one turn back at most
            const sample_point<double>& p = row[std::size_t(x)];
            const double shifted = p.x + shift;
            store(k, y, x, {0, shifted < source_w - 0.5 ? shifted : shifted - source_w, p.y});
          }
        }
      });
    }
    points_ = to_memory(std::move(point_table));
    taps_ = to_memory(std::move(tap_table));
    fractions_ = to_memory(std::move(fraction_table));
    faces_ = to_memory(std::move(face_table));
  }

  template <class T, class Staging>
  static buffer<T, Memory> to_memory(buffer<T, Staging>&& table) {
    if constexpr (std::is_same_v<Staging, Memory>)
      return std::move(table);
    else
      return buffer<T, Memory>::from_host(std::span<const T>(table.data(), table.size()));
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
