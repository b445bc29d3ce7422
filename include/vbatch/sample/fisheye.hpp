#pragma once
// Fisheye lenses as sampling sources: perspective views (f2p) and panoramas (f2e) of fisheye
// frames, and dual-fisheye frames of 360° cameras to a panorama.
//
//   // One 190° lens in a 1024×1024 image, centre (511.5, 511.5), image circle 512 px:
//   auto lens = vbatch::sample::fisheye_from_fov(vbatch::sample::fisheye_model::equidistant, 511.5, 511.5, 512, 190);
//   auto src = vbatch::sample::fisheye_source::from(1024, 1024, lens);                 // looking forward (+z)
//   auto map = vbatch::sample::make_f2p_map<vbatch::sample::maps::cached_fixed>(rig, src);
//   vbatch::sample::remap(exec, frames, map, views, vbatch::sample::interp::bilinear{}, vbatch::sample::border::constant{0});
//
//   // Both lenses of a 360° camera, side by side in one image, described by a JSON file:
//   auto dual = vbatch::sample::read_dual_fisheye("camera.json");
//   auto pano = vbatch::sample::make_f2e_map<vbatch::sample::maps::cached_fixed>(4096, 2048, dual);
//
// Models, with θ the angle between a ray and the lens axis and r the distance from the centre:
//   equidistant    r = f·θ
//   equisolid      r = 2f·sin(θ/2)
//   stereographic  r = 2f·tan(θ/2)
//   kannala_brandt r = f·θd, θd = θ(1 + k1θ² + k2θ⁴ + k3θ⁶ + k4θ⁸)  (OpenCV's cv::fisheye)
// with f = fx horizontally and fy vertically, as cv::fisheye (no skew). The lens frame is vbatch's
// camera frame (x right, y up, z forward, camera.hpp); OpenCV's camera point (X, Y, Z) is
// (X, -Y, Z) in it, so a lens with OpenCV's K and D projects every point to the same pixel.
// Pixel centres are at integers (OpenCV's convention too). Rays further than max_angle from the
// axis land outside the image (at outside_point), where border::constant reads its value.

#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/core/file.hpp"
#include "vbatch/sample/remap.hpp"
#include "vbatch/sample/rig_spec.hpp"

namespace vbatch::inline v0::sample {

enum class fisheye_model { equidistant, equisolid, stereographic, kannala_brandt };
inline constexpr const char* fisheye_model_names[] = {"equidistant", "equisolid", "stereographic", "kannala_brandt"};

inline std::optional<fisheye_model> find_fisheye_model(std::string_view name) {
  for (int m = 0; m < 4; ++m)
    if (name == fisheye_model_names[m]) return fisheye_model(m);
  return std::nullopt;
}

// Where a ray outside the lens's field lands: so far outside the image that no interpolation
// footprint (bicubic reaches 2 pixels) touches it, so the border decides.
inline constexpr float outside_point = -16;

// A fisheye lens: model, intrinsics in pixels, Kannala–Brandt coefficients, and the field it sees.
struct fisheye_lens {
  fisheye_model model = fisheye_model::equidistant;
  double fx = 0, fy = 0, cx = 0, cy = 0;
  double k[4] = {0, 0, 0, 0};  // kannala_brandt only
  double max_angle = 0;        // radians from the axis: half the field of view

  // The radius of a ray θ from the axis, per unit of focal length.
  double radius_at(double theta) const {
    switch (model) {
      case fisheye_model::equidistant:
        return theta;
      case fisheye_model::equisolid:
        return 2 * std::sin(theta / 2);
      case fisheye_model::stereographic:
        return 2 * std::tan(theta / 2);
      default: {
        const double t2 = theta * theta;
        return theta * (1 + t2 * (k[0] + t2 * (k[1] + t2 * (k[2] + t2 * k[3]))));
      }
    }
  }

  // The pixel a direction in the lens frame (x right, y up, z forward, any length) lands on.
  // Each model's radius is written as (radius / s) · (x, y), s = |(x, y)|, in forms that stay
  // accurate near the axis, where s and θ vanish together.
  template <class R>
  VBATCH_HOST_DEVICE sample_point<R> project(vec3<R> d) const {
    const R s2 = d.x * d.x + d.y * d.y, s = math::sqrt(s2);
    const R theta = math::atan2(s, d.z);
    if (!(theta <= R(max_angle))) return {0, R(outside_point), R(outside_point)};  // NaN too
    if (s2 == 0) return {0, R(cx), R(cy)};
    R scale;  // radius / s
    if (model == fisheye_model::equidistant) {
      scale = theta / s;
    } else if (model == fisheye_model::kannala_brandt) {
      const R t2 = theta * theta;
      scale = theta * (1 + t2 * (R(k[0]) + t2 * (R(k[1]) + t2 * (R(k[2]) + t2 * R(k[3]))))) / s;
    } else {
      // With n = |d|: 2 sin(θ/2) = s·sqrt(2 / (n (n + z))), 2 tan(θ/2) = 2s / (n + z), and
      // n + z = s² / (n - z) when z < 0 (no cancellation behind the lens).
      const R n = math::sqrt(s2 + d.z * d.z);
      const R n_plus_z = d.z >= 0 ? n + d.z : s2 / (n - d.z);
      scale = model == fisheye_model::equisolid ? math::sqrt(R(2) / (n * n_plus_z)) : R(2) / n_plus_z;
    }
    return {0, R(cx) + R(fx) * scale * d.x, R(cy) - R(fy) * scale * d.y};
  }
};

// Whether a lens is usable: positive finite focal lengths, a finite centre, a field of view the
// model can map (stereographic below 360°) on which the radius keeps growing (Kannala–Brandt).
inline status can_make_fisheye(const fisheye_lens& lens) {
  const int m = int(lens.model);
  if (m < 0 || m > 3) return fail(errc::invalid_argument, "fisheye: model {} is not a fisheye_model", m);
  if (!(lens.fx > 0 && std::isfinite(lens.fx)) || !(lens.fy > 0 && std::isfinite(lens.fy)))
    return fail(errc::invalid_argument, "fisheye: focal lengths fx={} fy={} must be positive and finite", lens.fx, lens.fy);
  if (!std::isfinite(lens.cx) || !std::isfinite(lens.cy))
    return fail(errc::invalid_argument, "fisheye: centre ({}, {}) is not finite", lens.cx, lens.cy);
  const double fov = 2 * rad_to_deg(lens.max_angle);
  const bool open_end = lens.model == fisheye_model::stereographic;  // tan(θ/2) is infinite at 180°
  if (!(lens.max_angle > 0) || !(open_end ? fov < 360 : fov <= 360))
    return fail(errc::invalid_argument, "fisheye: field of view {} deg outside (0, 360{} for {}", fov, open_end ? ")" : "]",
                fisheye_model_names[m]);
  if (lens.model == fisheye_model::kannala_brandt) {
    for (double c : lens.k)
      if (!std::isfinite(c))
        return fail(errc::invalid_argument, "fisheye: k = ({}, {}, {}, {}) is not finite", lens.k[0], lens.k[1], lens.k[2],
                    lens.k[3]);
    // The radius must grow with θ over the whole field, or two rays would share a pixel.
    constexpr int steps = 256;
    for (int i = 1; i <= steps; ++i) {
      const double a = lens.max_angle * (i - 1) / steps, b = lens.max_angle * i / steps;
      if (!(lens.radius_at(b) > lens.radius_at(a)))
        return fail(errc::invalid_argument,
                    "fisheye: k = ({}, {}, {}, {}) makes the radius stop growing at {} deg, inside the field of view {} deg",
                    lens.k[0], lens.k[1], lens.k[2], lens.k[3], rad_to_deg(a), fov);
    }
  }
  return status::success();
}

// A lens as cv::fisheye describes it: K's fx, fy, cx, cy and, for kannala_brandt, D = k.
inline fisheye_lens fisheye_from_intrinsics(fisheye_model model, double fx, double fy, double cx, double cy, double fov_deg,
                                            std::array<double, 4> k = {}) {
  fisheye_lens lens{model, fx, fy, cx, cy, {k[0], k[1], k[2], k[3]}, deg_to_rad(fov_deg / 2)};
  check(can_make_fisheye(lens));
  return lens;
}

// A lens whose image circle of `radius` pixels around (cx, cy) spans `fov_deg`: f follows.
inline fisheye_lens fisheye_from_fov(fisheye_model model, double cx, double cy, double radius, double fov_deg,
                                     std::array<double, 4> k = {}) {
  if (!(radius > 0 && std::isfinite(radius)))
    raise(errc::invalid_argument, "fisheye: image circle radius {} px must be positive and finite", radius);
  fisheye_lens lens{model, 1, 1, cx, cy, {k[0], k[1], k[2], k[3]}, deg_to_rad(fov_deg / 2)};
  check(can_make_fisheye(lens));
  lens.fx = lens.fy = radius / lens.radius_at(lens.max_angle);
  return lens;
}

namespace detail {
template <class R>
VBATCH_HOST_DEVICE inline vec3<R> rotate(const mat3<double>& m, vec3<R> v) {
  return {R(m.m[0][0]) * v.x + R(m.m[0][1]) * v.y + R(m.m[0][2]) * v.z,
          R(m.m[1][0]) * v.x + R(m.m[1][1]) * v.y + R(m.m[1][2]) * v.z,
          R(m.m[2][0]) * v.x + R(m.m[2][1]) * v.y + R(m.m[2][2]) * v.z};
}
}  // namespace detail

// One fisheye image of width × height per frame. The lens is oriented like a camera
// (camera.hpp): rotation_from(yaw, pitch, roll) takes the lens frame to the world.
struct fisheye_source {
  int width = 0, height = 0;
  fisheye_lens lens;
  mat3<double> to_lens = mat3<double>::identity();  // world -> lens frame

  static constexpr int images = 1;

  static fisheye_source from(int width, int height, const fisheye_lens& lens, view_angles angles = {}) {
    return from_rotation(width, height, lens, rotation_from(angles));
  }
  // `rotation` takes the lens frame to the world (a calibrated rig's orientation).
  static fisheye_source from_rotation(int width, int height, const fisheye_lens& lens, const mat3<double>& rotation) {
    if (width <= 0 || height <= 0)
      raise(errc::invalid_argument, "fisheye_source: image size {}x{} must be positive", width, height);
    check(can_make_fisheye(lens));
    return {width, height, lens, rotation.transposed()};
  }

  template <class R>
  VBATCH_HOST_DEVICE sample_point<R> operator()(vec3<R> d) const {
    return lens.project(detail::rotate(to_lens, d));
  }
};

// Two lenses in one image per frame, as 360° cameras write them (side by side, or one above the
// other: two separate images of one size stacked in memory are one image twice as high). Each
// direction is sampled from the lens whose axis it is closer to, the lens with the smaller field
// angle, so with lenses of more than 180° the overlap has no gap.
struct dual_fisheye_source {
  int width = 0, height = 0;
  fisheye_source lenses[2];

  static constexpr int images = 1;

  static dual_fisheye_source from(const fisheye_source& first, const fisheye_source& second) {
    if (first.width != second.width || first.height != second.height)
      raise(errc::invalid_argument, "dual_fisheye_source: the lenses share one image, but are {}x{} and {}x{}", first.width,
            first.height, second.width, second.height);
    return {first.width, first.height, {first, second}};
  }

  template <class R>
  VBATCH_HOST_DEVICE sample_point<R> operator()(vec3<R> d) const {
    // The forward components along each axis: the larger one has the smaller field angle.
    const mat3<double>& a = lenses[0].to_lens;
    const mat3<double>& b = lenses[1].to_lens;
    const R za = R(a.m[2][0]) * d.x + R(a.m[2][1]) * d.y + R(a.m[2][2]) * d.z;
    const R zb = R(b.m[2][0]) * d.x + R(b.m[2][1]) * d.y + R(b.m[2][2]) * d.z;
    return za >= zb ? lenses[0](d) : lenses[1](d);
  }
};

// ---------------------------------------------------------------------------------------------
// Dual-fisheye files: the two lenses of a camera as JSON (no JSON library needed).
//
//   {"width": 5760, "height": 2880,
//    "lenses": [{"model": "equidistant", "centre": [1439.5, 1439.5], "radius": 1440, "fov": 190},
//               {"model": "equidistant", "centre": [4319.5, 1439.5], "radius": 1440, "fov": 190,
//                "yaw": 180, "pitch": 0.3, "roll": -0.2}]}
//
// width, height: the whole image (both lenses). Per lens: model (a fisheye_model_names entry),
// centre [x, y] in pixels (pixel centres at integers), radius of the image circle in pixels, fov
// in degrees (the field the circle spans: f follows from radius and fov), yaw, pitch, roll in
// degrees (camera.hpp's convention, default 0), and k [k1, k2, k3, k4] for kannala_brandt only.
// Reading is strict: unknown keys are errors, and every message names the file and the key
// ("rig.json: lenses[1].fov: ...").

namespace detail {

// A JSON value; objects keep their keys in order (keys[i] names items[i]).
struct json_value {
  enum kind_t { null, boolean, number, string, array, object } kind = null;
  double value = 0;
  std::string text;
  std::vector<std::string> keys;
  std::vector<json_value> items;

  static const char* name_of(kind_t k) {
    constexpr const char* names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return names[k];
  }
  const char* kind_name() const { return name_of(kind); }
  const json_value* find(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &items[i];
    return nullptr;
  }
};

// A strict reader of RFC 8259 JSON, except \u escapes (names here are ASCII).
class json_reader {
 public:
  json_reader(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  json_value document() {
    json_value v = value(0);
    space();
    if (pos_ != text_.size()) bad("text after the end of the document");
    return v;
  }

 private:
  static constexpr int max_depth = 32;  // far more than the format nests; keeps the stack small

  [[noreturn]] void bad(std::string_view what) const {
    raise(errc::corrupt_data, "{}: not valid JSON at byte {}: {}", source_, pos_, what);
  }
  void space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool take(char c) {
    space();
    if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
    return false;
  }
  void expect(char c) {
    if (!take(c)) bad(std::string("expected '") + c + "'");
  }
  void literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) bad("unknown literal");
    pos_ += word.size();
  }

  std::string string_body() {
    expect('"');
    std::string s;
    for (;;) {
      if (pos_ >= text_.size()) bad("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return s;
      if (static_cast<unsigned char>(c) < 0x20) bad("control character in a string");
      if (c != '\\') {
        s += c;
        continue;
      }
      if (pos_ >= text_.size()) bad("unterminated string");
      const char e = text_[pos_++];
      const std::string_view plain = "\"\\/", codes = "bfnrt", chars = "\b\f\n\r\t";
      if (plain.find(e) != std::string_view::npos)
        s += e;
      else if (codes.find(e) != std::string_view::npos)
        s += chars[codes.find(e)];
      else
        bad(e == 'u' ? "\\u escapes are not supported" : "unknown escape");
    }
  }

  double number_body() {
    const std::size_t first = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') bad("expected a value");
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
      bad("leading zero in a number");
    double v = 0;
    const auto [end, ec] = std::from_chars(text_.data() + first, text_.data() + text_.size(), v);
    if (ec != std::errc{} || !std::isfinite(v)) bad("number out of range");
    pos_ = std::size_t(end - text_.data());
    return v;
  }

  json_value value(int depth) {
    if (depth > max_depth) bad("nested too deeply");
    space();
    if (pos_ >= text_.size()) bad("unexpected end of the text");
    json_value v;
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      const bool object = c == '{';
      const char close = object ? '}' : ']';
      v.kind = object ? json_value::object : json_value::array;
      ++pos_;
      if (take(close)) return v;
      do {
        if (object) {
          space();
          v.keys.push_back(string_body());
          expect(':');
        }
        v.items.push_back(value(depth + 1));
      } while (take(','));
      expect(close);
    } else if (c == '"') {
      v.kind = json_value::string;
      v.text = string_body();
    } else if (c == 't' || c == 'f') {
      v.kind = json_value::boolean;
      v.value = c == 't';
      literal(c == 't' ? "true" : "false");
    } else if (c == 'n') {
      literal("null");
    } else {
      v.kind = json_value::number;
      v.value = number_body();
    }
    return v;
  }

  std::string_view text_, source_;
  std::size_t pos_ = 0;
};

// Reads the keys of one JSON object, naming each as "<source>: <path>.<key>" in errors.
class json_fields {
 public:
  json_fields(const json_value& object, std::string source, std::string path, std::initializer_list<std::string_view> allowed)
      : object_(object), source_(std::move(source)), path_(std::move(path)) {
    if (object.kind != json_value::object)
      raise(errc::corrupt_data, "{}: {} must be an object, got {}", source_, path_.empty() ? "the document" : path_,
            object.kind_name());
    for (std::size_t i = 0; i < object.keys.size(); ++i) {
      bool known = false;
      std::string list;
      for (std::string_view a : allowed) known |= a == object.keys[i], list += (list.empty() ? "" : ", ") + std::string(a);
      if (!known) raise(errc::corrupt_data, "{}: unknown key \"{}\" (expected {})", source_, name(object.keys[i]), list);
      for (std::size_t j = 0; j < i; ++j)
        if (object.keys[j] == object.keys[i])
          raise(errc::corrupt_data, "{}: \"{}\" is given twice", source_, name(object.keys[i]));
    }
  }

  std::string name(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }
  const std::string& source() const { return source_; }

  const json_value& required(std::string_view key, json_value::kind_t kind) const {
    const json_value* v = object_.find(key);
    if (!v) raise(errc::corrupt_data, "{}: {} is missing", source_, name(key));
    return typed(key, *v, kind);
  }
  std::optional<double> number(std::string_view key) const {
    const json_value* v = object_.find(key);
    return v ? std::optional<double>(typed(key, *v, json_value::number).value) : std::nullopt;
  }
  // An array of exactly `count` numbers.
  std::vector<double> numbers(std::string_view key, std::size_t count, bool optional = false) const {
    const json_value* v = object_.find(key);
    if (!v && optional) return {};
    const json_value& a = v ? typed(key, *v, json_value::array) : required(key, json_value::array);
    std::vector<double> out;
    for (const json_value& item : a.items) {
      if (item.kind != json_value::number) break;
      out.push_back(item.value);
    }
    if (out.size() != count || a.items.size() != count)
      raise(errc::corrupt_data, "{}: {} must be an array of {} numbers", source_, name(key), count);
    return out;
  }

 private:
  const json_value& typed(std::string_view key, const json_value& v, json_value::kind_t kind) const {
    if (v.kind != kind)
      raise(errc::corrupt_data, "{}: {} must be {}, got {}", source_, name(key), json_value::name_of(kind), v.kind_name());
    return v;
  }

  const json_value& object_;
  std::string source_, path_;
};

}  // namespace detail

// Parses a dual-fisheye description; `source` names it in messages. Throws vbatch::error:
// errc::corrupt_data for the syntax, types and keys, errc::invalid_argument for values.
inline dual_fisheye_source parse_dual_fisheye(std::string_view text, std::string_view source = "dual fisheye") {
  const detail::json_value doc = detail::json_reader(text, source).document();
  const detail::json_fields top(doc, std::string(source), "", {"width", "height", "lenses"});
  int size[2] = {};
  for (int i = 0; i < 2; ++i) {
    const char* key = i == 0 ? "width" : "height";
    const double v = top.required(key, detail::json_value::number).value;
    if (!(v >= 1 && v <= max_view_side && v == std::floor(v)))
      raise(errc::invalid_argument, "{}: {} must be a whole number of pixels from 1 to {}, got {}", source, key, max_view_side,
            v);
    size[i] = int(v);
  }
  const detail::json_value& lenses = top.required("lenses", detail::json_value::array);
  if (lenses.items.size() != 2) raise(errc::corrupt_data, "{}: lenses must hold 2 lenses, got {}", source, lenses.items.size());

  fisheye_source sources[2];
  for (int i = 0; i < 2; ++i) {
    const std::string path = "lenses[" + std::to_string(i) + "]";
    const detail::json_fields lens(lenses.items[std::size_t(i)], std::string(source), path,
                                   {"model", "centre", "radius", "fov", "yaw", "pitch", "roll", "k"});
    const std::string& name = lens.required("model", detail::json_value::string).text;
    const std::optional<fisheye_model> model = find_fisheye_model(name);
    if (!model)
      raise(errc::invalid_argument, "{}: {} \"{}\" is not a model (equidistant, equisolid, stereographic, kannala_brandt)",
            source, lens.name("model"), name);
    const bool kb = *model == fisheye_model::kannala_brandt;
    const std::vector<double> centre = lens.numbers("centre", 2);
    const std::vector<double> k = lens.numbers("k", 4, /*optional*/ true);
    if (!k.empty() && !kb)
      raise(errc::invalid_argument, "{}: {} applies to kannala_brandt only, not {}", source, lens.name("k"), name);
    const double radius = lens.required("radius", detail::json_value::number).value;
    const double fov = lens.required("fov", detail::json_value::number).value;
    if (!(radius > 0)) raise(errc::invalid_argument, "{}: {} must be positive, got {}", source, lens.name("radius"), radius);
    if (!(fov > 0 && fov <= 360))
      raise(errc::invalid_argument, "{}: {} must be in (0, 360] degrees, got {}", source, lens.name("fov"), fov);
    const view_angles angles{lens.number("yaw").value_or(0), lens.number("pitch").value_or(0), lens.number("roll").value_or(0)};
    try {
      const std::array<double, 4> coefficients =
          k.empty() ? std::array<double, 4>{} : std::array<double, 4>{k[0], k[1], k[2], k[3]};
      sources[i] = fisheye_source::from(size[0], size[1],
                                        fisheye_from_fov(*model, centre[0], centre[1], radius, fov, coefficients), angles);
    } catch (const error& e) {
      raise(e.code(), "{}: {}: {}", source, path, e.what());
    }
  }
  return dual_fisheye_source::from(sources[0], sources[1]);
}

// Reads and parses a dual-fisheye file; errors name the file (errc::io when it cannot be read).
inline dual_fisheye_source read_dual_fisheye(const std::filesystem::path& path) {
  return parse_dual_fisheye(read_text_file(path), path.string());
}

}  // namespace vbatch::inline v0::sample
