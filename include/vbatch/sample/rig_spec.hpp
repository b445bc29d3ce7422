#pragma once
// Views, cameras and rigs written as text: what tools and configuration files take.
//
//   vbatch::sample::view_size size = vbatch::sample::parse_size("1920x1080", "--size");    // "1024": 1024x1024
//   vbatch::sample::camera_spec cam = vbatch::sample::parse_camera("-90,0,0,90", "--camera");  // yaw,pitch,roll,hfov[,vfov]
//   vbatch::sample::rig_preset preset = vbatch::sample::parse_rig("rings3:8", "--rig");   // ring:N, rings3:N, cube
//   vbatch::sample::rig cameras = vbatch::sample::make_rig(preset, size, 90);
//
// parse_* throw vbatch::error (errc::invalid_argument); can_parse_* return the same as a status.
// Every message starts with the parameter and the text ("--size '64by48': expected WxH ..."), so
// a tool can show it as it is. Parsing checks the syntax and the ranges the text alone decides;
// whether the values make a camera is can_make_camera's business (it depends on the size and the
// convention).

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/sample/camera.hpp"

namespace vbatch::inline v0::sample {

// The largest side a size may give: the default side limit of images loaded and saved by
// vbatch::io (io::image_limits::max_side), so that every view can be written and read back.
inline constexpr int max_view_side = 1 << 16;
// The most cameras a ring preset may have: one per degree of yaw.
inline constexpr int max_ring_cameras = 360;

struct view_size {
  int width = 0, height = 0;
  friend bool operator==(const view_size&, const view_size&) = default;
};

// One camera: its angles and FOVs in degrees.
struct camera_spec {
  view_angles angles;
  double hfov_deg = 0;
  std::optional<double> vfov_deg;  // not given: the caller's default (0 is square pixels)
};

enum class rig_kind {
  ring,    // ring:N — N cameras at equal yaw steps, at pitch_deg
  rings3,  // rings3:N — N at each of pitch -30, 0, +30
  cube,    // cube — the six faces of a cube map, 90° squares
};

struct rig_preset {
  rig_kind kind = rig_kind::ring;
  int count = 8;         // cameras per ring (unused by cube)
  double pitch_deg = 0;  // of a ring; rings3 and cube have their own pitches
};

namespace detail {

// A whole non-negative int, without sign, spaces or anything after it.
inline bool parse_count(std::string_view s, int& v) {
  if (s.empty() || s.front() == '-') return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size();
}

inline status parse_size(std::string_view text, std::string_view parameter, view_size& out) {
  const std::size_t x = text.find_first_of("xX");
  int w = 0, h = 0;
  if (!parse_count(text.substr(0, x), w) || (x != std::string_view::npos && !parse_count(text.substr(x + 1), h)))
    return fail(errc::invalid_argument, "{} '{}': expected WxH (e.g. 1920x1080) or N for NxN", parameter, text);
  if (x == std::string_view::npos) h = w;
  if (w == 0 || h == 0) return fail(errc::invalid_argument, "{} '{}': width and height must be positive", parameter, text);
  if (w > max_view_side || h > max_view_side)
    return fail(errc::invalid_argument, "{} '{}': at most {} pixels per side", parameter, text, max_view_side);
  out = {w, h};
  return status::success();
}

inline status parse_camera(std::string_view text, std::string_view parameter, camera_spec& out) {
  std::vector<double> v;
  bool numbers = true;
  for (std::size_t first = 0; numbers;) {
    const std::size_t comma = std::min(text.find(',', first), text.size());
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data() + first, text.data() + comma, value);
    numbers = ec == std::errc{} && end == text.data() + comma;
    v.push_back(value);
    if (comma == text.size()) break;
    first = comma + 1;
  }
  if (!numbers || (v.size() != 4 && v.size() != 5))
    return fail(errc::invalid_argument, "{} '{}': expected yaw,pitch,roll,hfov[,vfov] in degrees", parameter, text);
  out = {{v[0], v[1], v[2]}, v[3], v.size() == 5 ? std::optional<double>(v[4]) : std::nullopt};
  return status::success();
}

inline status parse_rig(std::string_view text, std::string_view parameter, rig_preset& out) {
  if (text == "cube") {
    out = {rig_kind::cube, 6};
    return status::success();
  }
  const std::size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  int count = 0;
  if ((kind != "ring" && kind != "rings3") || colon == std::string_view::npos || !parse_count(text.substr(colon + 1), count) ||
      count < 1 || count > max_ring_cameras)
    return fail(errc::invalid_argument, "{} '{}': expected ring:N, rings3:N (N from 1 to {}) or cube", parameter, text,
                max_ring_cameras);
  out = {kind == "ring" ? rig_kind::ring : rig_kind::rings3, count};
  return status::success();
}

}  // namespace detail

// "WxH" (or "WXH"), or "N" for NxN; each side from 1 to max_view_side.
inline status can_parse_size(std::string_view text, std::string_view parameter = "size") {
  view_size unused;
  return detail::parse_size(text, parameter, unused);
}
inline view_size parse_size(std::string_view text, std::string_view parameter = "size") {
  view_size size;
  check(detail::parse_size(text, parameter, size));
  return size;
}

// "yaw,pitch,roll,hfov[,vfov]": four or five numbers in degrees.
inline status can_parse_camera(std::string_view text, std::string_view parameter = "camera") {
  camera_spec unused;
  return detail::parse_camera(text, parameter, unused);
}
inline camera_spec parse_camera(std::string_view text, std::string_view parameter = "camera") {
  camera_spec spec;
  check(detail::parse_camera(text, parameter, spec));
  return spec;
}

// "ring:N", "rings3:N" (N from 1 to max_ring_cameras) or "cube". The pitch of a ring is not part
// of the text: set pitch_deg.
inline status can_parse_rig(std::string_view text, std::string_view parameter = "rig") {
  rig_preset unused;
  return detail::parse_rig(text, parameter, unused);
}
inline rig_preset parse_rig(std::string_view text, std::string_view parameter = "rig") {
  rig_preset preset;
  check(detail::parse_rig(text, parameter, preset));
  return preset;
}

// The cameras of a preset, each view `size`. Cube faces are 90° squares: the size must be square
// and the FOVs do not apply.
inline rig make_rig(const rig_preset& preset, view_size size, double hfov_deg, double vfov_deg = 0,
                    const angle_convention& conv = conventions::vbatch) {
  if (preset.kind != rig_kind::ring && preset.pitch_deg != 0)
    raise(errc::invalid_argument, "make_rig: pitch {} applies to ring presets only", preset.pitch_deg);
  if (preset.kind == rig_kind::ring)
    return ring_rig(preset.count, preset.pitch_deg, size.width, size.height, hfov_deg, vfov_deg, conv);
  if (preset.kind == rig_kind::rings3) return three_ring_rig(preset.count, size.width, size.height, hfov_deg, vfov_deg, conv);
  if (size.width != size.height)
    raise(errc::invalid_argument, "make_rig: cube faces are square, not {}x{}", size.width, size.height);
  return cube_rig(size.width, conv);
}

}  // namespace vbatch::inline v0::sample
