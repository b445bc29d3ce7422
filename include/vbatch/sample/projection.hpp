#pragma once
// Projections: a target turns an output pixel into a world direction (a ray); a source turns a
// world direction into a sample point on the source images. A sample map is a target composed
// with a source.
//
// Targets: pinhole_rays (a rig of pinhole cameras), equirect_rays (an equirectangular output).
// Sources: equirect_source (one W×H panorama per frame), cube_source (six faces per frame).
// All are trivially copyable and usable in device code; R is float or double.

#include "vbatch/sample/camera.hpp"

namespace vbatch::inline v0::sample {

// A point on the source images of one frame: which image (0 for a panorama, the face for a cube)
// and where on it, in pixel coordinates with pixel centres at integers.
template <class R>
struct sample_point {
  int image;
  R x, y;
};

// Rays of one pinhole camera: dir(x, y) = origin + x * step_x + y * step_y, linear in the pixel
// coordinates, so a pixel costs six multiply-adds.
template <class R>
struct pinhole_rays {
  vec3<R> origin, step_x, step_y;

  static pinhole_rays from(const camera& cam) {
    const pinhole& p = cam.lens;
    const vec3<double> right = cam.rotation.column(0), up = cam.rotation.column(1), forward = cam.rotation.column(2);
    const vec3<double> sx = (1.0 / p.fx) * right, sy = (-1.0 / p.fy) * up;
    const vec3<double> o = forward + (-p.cx) * sx + (-p.cy) * sy;
    return {cast(o), cast(sx), cast(sy)};
  }
  VBATCH_HOST_DEVICE vec3<R> operator()(R x, R y) const {
    return {origin.x + x * step_x.x + y * step_y.x, origin.y + x * step_x.y + y * step_y.y,
            origin.z + x * step_x.z + y * step_y.z};
  }

 private:
  static vec3<R> cast(vec3<double> v) { return {R(v.x), R(v.y), R(v.z)}; }
};

// The rays of the cameras of a rig, indexed by view k. The array lives in the memory space the
// kernel runs in.
template <class R>
struct rig_rays {
  const pinhole_rays<R>* cameras;
  int width, height;

  VBATCH_HOST_DEVICE vec3<R> operator()(int k, R x, R y) const { return cameras[k](x, y); }
};

// Longitude and latitude of equirectangular pixel (x, y):
//   lon = ((x + 0.5) / W - 0.5) * 2π,  lat = (0.5 - (y + 0.5) / H) * π.
struct equirect_rays {
  int width, height;

  template <class R>
  VBATCH_HOST_DEVICE vec3<R> operator()(int, R x, R y) const {
    const double lon = ((double(x) + 0.5) / width - 0.5) * (2 * pi);
    const double lat = (0.5 - (double(y) + 0.5) / height) * pi;
    return {R(std::cos(lat) * std::sin(lon)), R(std::sin(lat)), R(std::cos(lat) * std::cos(lon))};
  }
};

// The equirectangular projection, inverse of equirect_rays:
//   x = (lon / 2π + 0.5) * W - 0.5,  y = (0.5 - lat / π) * H - 0.5.
struct equirect_source {
  int width, height;

  static constexpr int images = 1;

  template <class R>
  VBATCH_HOST_DEVICE sample_point<R> operator()(vec3<R> d) const {
    const R lon = math::atan2(d.x, d.z);
    const R lat = math::atan2(d.y, math::sqrt(d.x * d.x + d.z * d.z));
    constexpr R inv_two_pi = R(0.5 / pi), inv_pi = R(1 / pi);
    return {0, (lon * inv_two_pi + R(0.5)) * R(width) - R(0.5), (R(0.5) - lat * inv_pi) * R(height) - R(0.5)};
  }
};

// Six square faces F R B L U D (cube_rig's cameras), face_w pixels wide. A direction lands on the
// face whose axis has the largest |component|.
struct cube_source {
  int face_w;
  double focal, centre;  // the faces' pinhole fx = fy and cx = cy

  static constexpr int images = 6;

  static cube_source from(int face_w, fov_span span = fov_span::pixel_edges) {
    const pinhole p = pinhole_from_fov(face_w, face_w, 90, 90, span);
    return {face_w, p.fx, p.cx};
  }

  // Face index and face-frame coordinates (right, up, forward) of direction d, per the cube_rig
  // orientations (U: right +x, up -z; D: right +x, up +z).
  template <class R>
  VBATCH_HOST_DEVICE static int face_of(vec3<R> d, vec3<R>& local) {
    const R ax = d.x < 0 ? -d.x : d.x, ay = d.y < 0 ? -d.y : d.y, az = d.z < 0 ? -d.z : d.z;
    if (ay >= ax && ay >= az) {
      if (d.y > 0) return local = {d.x, -d.z, d.y}, int(cube_face::up);
      return local = {d.x, d.z, -d.y}, int(cube_face::down);
    }
    if (az >= ax) {
      if (d.z > 0) return local = {d.x, d.y, d.z}, int(cube_face::front);
      return local = {-d.x, d.y, -d.z}, int(cube_face::back);
    }
    if (d.x > 0) return local = {-d.z, d.y, d.x}, int(cube_face::right);
    return local = {d.z, d.y, -d.x}, int(cube_face::left);
  }

  // World direction of a point on the (extended) plane of face f, in face pixel coordinates.
  template <class R>
  VBATCH_HOST_DEVICE vec3<R> direction(int f, R x, R y) const {
    const R u = (x - R(centre)) / R(focal), v = (R(centre) - y) / R(focal);
    switch (f) {
      case int(cube_face::front):
        return {u, v, R(1)};
      case int(cube_face::right):
        return {R(1), v, -u};
      case int(cube_face::back):
        return {-u, v, R(-1)};
      case int(cube_face::left):
        return {R(-1), v, u};
      case int(cube_face::up):
        return {u, R(1), -v};
      default:
        return {u, R(-1), v};
    }
  }

  template <class R>
  VBATCH_HOST_DEVICE sample_point<R> operator()(vec3<R> d) const {
    vec3<R> l{};
    const int f = face_of(d, l);
    return {f, R(centre) + R(focal) * l.x / l.z, R(centre) - R(focal) * l.y / l.z};
  }
};

}  // namespace vbatch::inline v0::sample
