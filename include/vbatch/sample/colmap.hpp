#pragma once
// The views of a rig as COLMAP sees them: intrinsics, poses and the text model files
// (cameras.txt, images.txt), so that views cut from panoramas go to structure-from-motion with
// the geometry they were sampled with.
//
//   const sample::rig cams = sample::ring_rig(8, 0, 1920, 1080, 90);
//   std::string cameras = sample::colmap::cameras_txt(cams);                 // camera k has id k + 1
//   std::vector<sample::colmap::posed_image> images{{"frame_00042_cam_00.jpg", 0}, ...};
//   std::string poses = sample::colmap::images_txt(cams, images);
//
// Frames. COLMAP's camera looks along +z with x right and y down, pixel centres at +0.5; vbatch's
// looks along +z with x right and y up, pixel centres at integers (camera.hpp). The COLMAP world
// written here is vbatch's world with y flipped: x right, y down, z forward of the panorama, so
// that the camera at yaw 0, pitch 0, roll 0 has the identity pose. Every view of a frame shares
// the panorama's centre: translations are 0 (a frame's position is for SfM to find).

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "vbatch/core/error.hpp"
#include "vbatch/sample/camera.hpp"

namespace vbatch::inline v0::sample::colmap {

// A unit rotation quaternion, COLMAP's order (QW QX QY QZ), w >= 0.
struct quaternion {
  double w = 1, x = 0, y = 0, z = 0;
};

// The quaternion of a rotation matrix (Shepperd's method: the largest of the four squares first,
// so that no division is by a small number).
inline quaternion quaternion_from(const mat3<double>& r) {
  const auto& m = r.m;
  const double trace = m[0][0] + m[1][1] + m[2][2];
  quaternion q;
  if (trace >= m[0][0] && trace >= m[1][1] && trace >= m[2][2]) {
    const double s = 2 * std::sqrt(1 + trace);  // 4w
    q = {0.25 * s, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s};
  } else if (m[0][0] >= m[1][1] && m[0][0] >= m[2][2]) {
    const double s = 2 * std::sqrt(1 + m[0][0] - m[1][1] - m[2][2]);  // 4x
    q = {(m[2][1] - m[1][2]) / s, 0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s};
  } else if (m[1][1] >= m[2][2]) {
    const double s = 2 * std::sqrt(1 + m[1][1] - m[0][0] - m[2][2]);  // 4y
    q = {(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s};
  } else {
    const double s = 2 * std::sqrt(1 + m[2][2] - m[0][0] - m[1][1]);  // 4z
    q = {(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s};
  }
  const double norm = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
  const double sign = q.w < 0 ? -1 : 1;  // q and -q are one rotation: COLMAP's files keep w >= 0
  return {sign * q.w / norm, sign * q.x / norm, sign * q.y / norm, sign * q.z / norm};
}

// vbatch's frames (y up) to COLMAP's (y down), for cameras and the world alike.
inline constexpr mat3<double> flip_y{{{1, 0, 0}, {0, -1, 0}, {0, 0, 1}}};

// The rotation taking world points into camera `c`'s frame (COLMAP's cam_from_world), for a rig
// turned by `world_from_rig` (a frame's orientation in vbatch's world; identity for a level,
// north-facing panorama).
inline mat3<double> cam_from_world(const camera& c, const mat3<double>& world_from_rig = mat3<double>::identity()) {
  return flip_y * (world_from_rig * c.rotation).transposed() * flip_y;
}

// The rotation from the rig's frame, the frame of its reference camera `ref`, into camera `c`'s
// (COLMAP's cam_from_rig in a rig configuration).
inline mat3<double> cam_from_rig(const camera& c, const camera& ref) {
  return flip_y * c.rotation.transposed() * ref.rotation * flip_y;
}

// A PINHOLE camera's parameters fx, fy, cx, cy in COLMAP's pixel convention.
inline std::array<double, 4> pinhole_params(const pinhole& p) { return {p.fx, p.fy, p.cx + 0.5, p.cy + 0.5}; }

namespace detail {
// The shortest text that reads back as the same double.
inline void append_number(std::string& out, double v) {
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  out.append(text, end);
}
// Numbers separated by ", " (a JSON array's items).
inline void append_list(std::string& out, std::initializer_list<double> values) {
  for (const double& v : values) {
    if (&v != values.begin()) out += ", ";
    append_number(out, v);
  }
}
}  // namespace detail

// cameras.txt: one PINHOLE camera per camera of the rig, camera k with id k + 1.
inline std::string cameras_txt(const rig& cams) {
  std::string out =
      "# Camera list with one line of data per camera:\n"
      "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n"
      "# Written by vbatch: one PINHOLE camera per view of the rig, PARAMS = fx, fy, cx, cy\n";
  out += "# Number of cameras: " + std::to_string(cams.size()) + "\n";
  for (std::size_t k = 0; k < cams.size(); ++k) {
    const pinhole& p = cams[k].lens;
    out += std::to_string(k + 1) + " PINHOLE " + std::to_string(p.width) + " " + std::to_string(p.height);
    for (const double v : pinhole_params(p)) out += ' ', detail::append_number(out, v);
    out += '\n';
  }
  return out;
}

// One view written by a tool: its file name (relative to COLMAP's image path), the rig camera it
// was sampled with, and its frame's orientation.
struct posed_image {
  std::string name;
  std::size_t camera = 0;
  mat3<double> world_from_rig = mat3<double>::identity();
};

// Whether images_txt can write these images: known cameras, names without line breaks or
// leading/trailing spaces (COLMAP reads the name as the rest of the line).
inline status can_write_images(const rig& cams, std::span<const posed_image> images) {
  for (const posed_image& im : images) {
    if (im.camera >= cams.size())
      return fail(errc::invalid_argument, "colmap: image '{}' names camera {}, but the rig has {}", im.name, im.camera,
                  cams.size());
    if (im.name.empty() || im.name.find_first_of("\r\n") != std::string::npos || im.name.front() == ' ' || im.name.back() == ' ')
      return fail(errc::invalid_argument, "colmap: image name '{}' is empty, has a line break or starts or ends with a space",
                  im.name);
  }
  return status::success();
}

// images.txt: image i (id i + 1) with its cam_from_world rotation, translation 0, its camera's id
// and name, and an empty line of 2-D points.
inline std::string images_txt(const rig& cams, std::span<const posed_image> images) {
  check(can_write_images(cams, images));
  std::string out =
      "# Image list with two lines of data per image:\n"
      "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n"
      "#   POINTS2D[] as (X, Y, POINT3D_ID)\n"
      "# Written by vbatch: views of panoramas, all at the panorama's centre (T = 0), no points\n";
  out += "# Number of images: " + std::to_string(images.size()) + "\n";
  for (std::size_t i = 0; i < images.size(); ++i) {
    const posed_image& im = images[i];
    const quaternion q = quaternion_from(cam_from_world(cams[im.camera], im.world_from_rig));
    out += std::to_string(i + 1);
    for (const double v : {q.w, q.x, q.y, q.z}) out += ' ', detail::append_number(out, v);
    out += " 0 0 0 " + std::to_string(im.camera + 1) + " " + im.name + "\n\n";
  }
  return out;
}

// rig_config.json for `colmap rig_configurator` (COLMAP 3.12 and later): one rig whose camera k
// holds the images named image_prefixes[k]..., camera `ref` the reference sensor, every other
// camera with its cam_from_rig rotation (QW QX QY QZ) and translation 0, each with its PINHOLE
// parameters. COLMAP groups a rig's images into frames by the name after the prefix, so a frame's
// views must be named alike under each camera's prefix (e2p --by-camera: cam_00/frame_00042.jpg).
inline std::string rig_config_json(const rig& cams, std::span<const std::string> image_prefixes, std::size_t ref = 0) {
  if (image_prefixes.size() != cams.size() || ref >= cams.size())
    raise(errc::invalid_argument, "colmap: {} image prefixes and reference camera {} for a rig of {} cameras",
          image_prefixes.size(), ref, cams.size());
  std::string out = "[\n  {\n    \"cameras\": [";
  for (std::size_t k = 0; k < cams.size(); ++k) {
    const std::string& prefix = image_prefixes[k];
    if (prefix.empty() || prefix.find_first_of("\"\\\r\n") != std::string::npos)
      raise(errc::invalid_argument, "colmap: image prefix '{}' is empty or has a quote, backslash or line break", prefix);
    out += k == 0 ? "\n" : ",\n";
    out += "      {\"image_prefix\": \"" + prefix + "\", ";
    if (k == ref) {
      out += "\"ref_sensor\": true, ";
    } else {
      const quaternion q = quaternion_from(cam_from_rig(cams[k], cams[ref]));
      out += "\"cam_from_rig_rotation\": [";
      detail::append_list(out, {q.w, q.x, q.y, q.z});
      out += "], \"cam_from_rig_translation\": [0, 0, 0], ";
    }
    const std::array<double, 4> params = pinhole_params(cams[k].lens);
    out += "\"camera_model_name\": \"PINHOLE\", \"camera_params\": [";
    detail::append_list(out, {params[0], params[1], params[2], params[3]});
    out += "]}";
  }
  out += "\n    ]\n  }\n]\n";
  return out;
}

}  // namespace vbatch::inline v0::sample::colmap
