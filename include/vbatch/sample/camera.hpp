#pragma once
// Pinhole cameras, the angle conventions that orient them, and rigs of cameras.
//
// World frame: x right, y up, z forward; longitude = atan2(x, z), latitude = asin(y).
// vbatch's convention (py360convert's u_deg, v_deg, in_rot_deg): yaw > 0 looks right, pitch > 0
// looks up, roll > 0 turns the image content counter-clockwise. The camera-to-world rotation is
//   R = Ry(yaw) · Rx(-pitch) · Rz(-roll).
// Pixel (x, y) has its centre at integer coordinates; image rows grow downwards.

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/sample/geometry.hpp"

namespace vbatch::inline v0::sample {

// Where a field of view ends on the pixel grid.
enum class fov_span {
  pixel_edges,    // the FOV spans the outer edges of the outer pixels (the usual pinhole: f = W/2 / tan(fov/2))
  pixel_centres,  // the FOV spans the centres of the outer pixels (np.linspace grids: f = (W-1)/2 / tan(fov/2))
};

// How a tool's yaw/pitch/roll and FOV map onto vbatch's. Named presets below.
struct angle_convention {
  std::string_view name;
  int yaw_sign = 1, pitch_sign = 1, roll_sign = 1;
  fov_span span = fov_span::pixel_edges;
};

namespace conventions {
inline constexpr angle_convention vbatch{"vbatch", 1, 1, 1, fov_span::pixel_edges};
// py360convert 1.x e2p/e2c: same angles as vbatch, linspace pixel grids.
inline constexpr angle_convention py360convert{"py360convert", 1, 1, 1, fov_span::pixel_centres};
// The 360toolkit splitter (Everton-Braz/360toolkit, E2P transform): pitch > 0 looks down and
// roll > 0 turns content clockwise; linspace grids (align_corners=True).
inline constexpr angle_convention toolkit360{"360toolkit", 1, -1, -1, fov_span::pixel_centres};
inline constexpr angle_convention all[] = {vbatch, py360convert, toolkit360};
}  // namespace conventions

inline std::optional<angle_convention> find_convention(std::string_view name) {
  for (const auto& c : conventions::all)
    if (c.name == name) return c;
  return std::nullopt;
}

// Intrinsics of a pinhole camera in pixels. A ray in the camera frame (x right, y up, z forward)
// through pixel (x, y) is ((x - cx) / fx, -(y - cy) / fy, 1).
struct pinhole {
  int width = 0, height = 0;
  double fx = 0, fy = 0, cx = 0, cy = 0;
};

struct view_angles {
  double yaw_deg = 0, pitch_deg = 0, roll_deg = 0;
};

struct camera {
  pinhole lens;
  mat3<double> rotation = mat3<double>::identity();  // camera frame -> world frame
};

inline status can_make_pinhole(int width, int height, double hfov_deg, double vfov_deg = 0,
                               fov_span span = fov_span::pixel_edges) {
  if (width <= 0 || height <= 0) return fail(errc::invalid_argument, "camera: output size {}x{} must be positive", width, height);
  if (span == fov_span::pixel_centres && (width < 2 || height < 2))
    return fail(errc::invalid_argument, "camera: {}x{} is too small for a pixel-centre FOV span (2x2 at least)", width, height);
  if (!(hfov_deg > 0 && hfov_deg < 180))
    return fail(errc::invalid_argument, "camera: horizontal FOV {} deg outside (0, 180)", hfov_deg);
  if (vfov_deg != 0 && !(vfov_deg > 0 && vfov_deg < 180))
    return fail(errc::invalid_argument, "camera: vertical FOV {} deg outside (0, 180)", vfov_deg);
  return status::success();
}

// A pinhole from horizontal and vertical FOV in degrees; vfov_deg = 0 means square pixels
// (fy = fx). The principal point is the image centre.
inline pinhole pinhole_from_fov(int width, int height, double hfov_deg, double vfov_deg = 0,
                                fov_span span = fov_span::pixel_edges) {
  check(can_make_pinhole(width, height, hfov_deg, vfov_deg, span));
  const double span_w = span == fov_span::pixel_edges ? width : width - 1;
  const double span_h = span == fov_span::pixel_edges ? height : height - 1;
  pinhole p{width, height};
  p.fx = 0.5 * span_w / std::tan(0.5 * deg_to_rad(hfov_deg));
  p.fy = vfov_deg == 0 ? p.fx : 0.5 * span_h / std::tan(0.5 * deg_to_rad(vfov_deg));
  p.cx = 0.5 * (width - 1);
  p.cy = 0.5 * (height - 1);
  return p;
}

inline pinhole pinhole_from_intrinsics(int width, int height, double fx, double fy, double cx, double cy) {
  if (width <= 0 || height <= 0) raise(errc::invalid_argument, "camera: output size {}x{} must be positive", width, height);
  if (!(fx > 0 && std::isfinite(fx)) || !(fy > 0 && std::isfinite(fy)))
    raise(errc::invalid_argument, "camera: focal lengths fx={} fy={} must be positive and finite", fx, fy);
  if (!std::isfinite(cx) || !std::isfinite(cy))
    raise(errc::invalid_argument, "camera: principal point ({}, {}) is not finite", cx, cy);
  return {width, height, fx, fy, cx, cy};
}

inline status can_rotate(view_angles a) {
  if (!std::isfinite(a.yaw_deg) || !std::isfinite(a.pitch_deg) || !std::isfinite(a.roll_deg))
    return fail(errc::invalid_argument, "camera: angles yaw={} pitch={} roll={} must be finite", a.yaw_deg, a.pitch_deg,
                a.roll_deg);
  return status::success();
}

inline mat3<double> rotation_from(view_angles a, const angle_convention& conv = conventions::vbatch) {
  check(can_rotate(a));
  const double yaw = deg_to_rad(conv.yaw_sign * a.yaw_deg);
  const double pitch = deg_to_rad(conv.pitch_sign * a.pitch_deg);
  const double roll = deg_to_rad(conv.roll_sign * a.roll_deg);
  return rotation_y(yaw) * rotation_x(-pitch) * rotation_z(-roll);
}

// Whether make_camera accepts these values: finite angles, FOVs in (0, 180), a size the
// convention's FOV span allows.
inline status can_make_camera(view_angles a, int width, int height, double hfov_deg, double vfov_deg = 0,
                              const angle_convention& conv = conventions::vbatch) {
  if (status s = can_rotate(a); !s) return s;
  return can_make_pinhole(width, height, hfov_deg, vfov_deg, conv.span);
}

inline camera make_camera(view_angles a, int width, int height, double hfov_deg, double vfov_deg = 0,
                          const angle_convention& conv = conventions::vbatch) {
  return {pinhole_from_fov(width, height, hfov_deg, vfov_deg, conv.span), rotation_from(a, conv)};
}

// A rig is the cameras applied to every frame; output image k of frame f is view f * size + k.
using rig = std::vector<camera>;

// `count` cameras at equal yaw steps starting at `first_yaw_deg`, all at one pitch.
inline rig ring_rig(int count, double pitch_deg, int width, int height, double hfov_deg, double vfov_deg = 0,
                    const angle_convention& conv = conventions::vbatch, double first_yaw_deg = 0) {
  if (count <= 0) raise(errc::invalid_argument, "ring_rig: camera count {} must be positive", count);
  rig r;
  for (int i = 0; i < count; ++i)
    r.push_back(make_camera({first_yaw_deg + 360.0 * i / count, pitch_deg, 0}, width, height, hfov_deg, vfov_deg, conv));
  return r;
}

// Three rings of `per_ring` cameras at pitch -30, 0 and +30 degrees (ordered by ring, then yaw).
inline rig three_ring_rig(int per_ring, int width, int height, double hfov_deg, double vfov_deg = 0,
                          const angle_convention& conv = conventions::vbatch) {
  rig r;
  for (double pitch : {-30.0, 0.0, 30.0}) {
    rig ring = ring_rig(per_ring, pitch, width, height, hfov_deg, vfov_deg, conv);
    r.insert(r.end(), ring.begin(), ring.end());
  }
  return r;
}

// The six faces of a cube map, in py360convert's order F R B L U D, each a 90° square view.
// U and D are pitch ±90 at yaw 0, so U's top row borders B and D's top row borders F.
enum class cube_face { front, right, back, left, up, down };
inline constexpr const char* cube_face_names[] = {"F", "R", "B", "L", "U", "D"};

inline rig cube_rig(int face_w, const angle_convention& conv = conventions::vbatch) {
  if (face_w <= 0) raise(errc::invalid_argument, "cube_rig: face width {} must be positive", face_w);
  const view_angles faces[] = {{0, 0, 0}, {90, 0, 0}, {180, 0, 0}, {-90, 0, 0}, {0, 90, 0}, {0, -90, 0}};
  rig r;
  for (const view_angles& a : faces) {
    // Face orientations are geometry, not user angles: only the pixel grid comes from `conv`.
    r.push_back({pinhole_from_fov(face_w, face_w, 90, 90, conv.span), rotation_from(a)});
  }
  return r;
}

}  // namespace vbatch::inline v0::sample
