#pragma once
// Helpers shared by the vbatch tests: error expectations, random images, image comparison
// statistics, an independent model of the camera and equirectangular conventions, temporary
// directories and a tiny reader for the flat JSON of the peer-reference data.
//
// The geometry here is written from the documented conventions (docs of camera.hpp and
// projection.hpp, and the py360convert README), not from vbatch's matrices, so tests comparing
// against it can catch a sign or axis mistake in the library.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <ostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "vbatch/vbatch.hpp"

namespace vbatch_test {

namespace vb = vbatch;

// ---------------------------------------------------------------------------------------------
// Errors

// Runs `f` and checks that it throws vbatch::error with `code` and a message containing every
// string of `parts`. Use as EXPECT_TRUE(throws_error(...)) so failures point at the caller.
template <class F>
::testing::AssertionResult throws_error(F&& f, vb::errc code, std::initializer_list<std::string_view> parts = {}) {
  try {
    f();
  } catch (const vb::error& e) {
    if (e.code() != code)
      return ::testing::AssertionFailure() << "threw errc '" << vb::to_string(e.code()) << "' instead of '" << vb::to_string(code)
                                           << "': " << e.what();
    const std::string message = e.what();
    for (std::string_view p : parts)
      if (message.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << message << "\" does not contain \"" << p << "\"";
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-vbatch exception: " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "threw something that is not a std::exception";
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// Checks a failed status the same way.
inline ::testing::AssertionResult failed_with(const vb::status& s, vb::errc code,
                                              std::initializer_list<std::string_view> parts = {}) {
  if (s) return ::testing::AssertionFailure() << "status is success";
  if (s.code != code)
    return ::testing::AssertionFailure() << "errc '" << vb::to_string(s.code) << "' instead of '" << vb::to_string(code)
                                         << "': " << s.message;
  for (std::string_view p : parts)
    if (s.message.find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "message \"" << s.message << "\" does not contain \"" << p << "\"";
  return ::testing::AssertionSuccess() << s.message;
}

// ---------------------------------------------------------------------------------------------
// Measurements: recorded as test properties (in the XML/JSON output) and printed, so a tolerance
// can be read next to the value it bounds.

inline void record(const std::string& key, double value) {
  ::testing::Test::RecordProperty(key, std::to_string(value));
  std::printf("[ measured ] %s = %.6g\n", key.c_str(), value);
}

// ---------------------------------------------------------------------------------------------
// Images

template <class T>
void fill_random(vb::batch_view<T> v, unsigned seed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < v.n; ++i)
    for (int y = 0; y < v.h; ++y)
      for (int x = 0; x < v.w; ++x)
        for (int c = 0; c < v.c; ++c) {
          if constexpr (std::is_same_v<T, vb::u8>)
            v(i, y, x, c) = static_cast<vb::u8>(rng() & 0xFF);
          else
            v(i, y, x, c) = std::uniform_real_distribution<float>(0.0f, 255.0f)(rng);
        }
}

template <class T>
vb::batch_buffer<T> random_images(vb::batch_shape s, unsigned seed) {
  vb::batch_buffer<T> b(s);
  fill_random(b.view(), seed);
  return b;
}

// A JPEG-friendly test picture: smooth bands with edges, a different phase per channel (so a
// channel swap costs 20+ dB), C channels.
inline vb::batch_buffer<vb::u8> smooth_picture(int w, int h, int channels) {
  vb::batch_buffer<vb::u8> img({1, h, w, channels});  // (1,H,W,C)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) {
        const double v = 128 + 90 * std::sin(0.07 * x + 0.05 * y + 2 * c) + ((x / 16 + y / 16) % 2 ? 20 : -20);
        img.view()(0, y, x, c) = static_cast<vb::u8>(std::clamp(v, 0.0, 255.0));
      }
  return img;
}

// PSNR in dB of image 0 of `a` against image 0 of `b` over their common channels; 99 when equal.
inline double psnr(vb::batch_view<const vb::u8> a, vb::batch_view<const vb::u8> b) {
  double se = 0;
  std::int64_t n = 0;
  for (int y = 0; y < a.h; ++y)
    for (int x = 0; x < a.w; ++x)
      for (int c = 0; c < std::min(a.c, b.c); ++c, ++n) {
        const double d = double(a(0, y, x, c)) - b(0, y, x, c);
        se += d * d;
      }
  return se == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / (se / double(n)));
}

// An f32 copy of a u8 batch.
inline vb::batch_buffer<float> to_f32(vb::batch_view<const vb::u8> v) {
  vb::batch_buffer<float> out(v.shape());  // (N,H,W,C)
  const vb::batch_view<float> o = out.view();
  for (int i = 0; i < v.n; ++i)
    for (int y = 0; y < v.h; ++y)
      for (int x = 0; x < v.w; ++x)
        for (int c = 0; c < v.c; ++c) o(i, y, x, c) = v(i, y, x, c);
  return out;
}

// A copy of `v` with `channels` channels: the first channels of v, extra ones derived from them.
inline vb::batch_buffer<vb::u8> with_channels(vb::batch_view<const vb::u8> v, int channels) {
  vb::batch_buffer<vb::u8> out({v.n, v.h, v.w, channels});  // (N,H,W,C)
  const vb::batch_view<vb::u8> o = out.view();
  for (int i = 0; i < v.n; ++i)
    for (int y = 0; y < v.h; ++y)
      for (int x = 0; x < v.w; ++x)
        for (int c = 0; c < channels; ++c) o(i, y, x, c) = v(i, y, x, c % v.c) ^ static_cast<vb::u8>(c >= v.c ? 0x5A : 0);
  return out;
}

template <class A, class B>
bool same_bytes(vb::batch_view<A> a, vb::batch_view<B> b) {
  if (a.shape() != b.shape()) return false;
  for (int i = 0; i < a.n; ++i)
    for (int y = 0; y < a.h; ++y)
      for (int x = 0; x < a.w; ++x)
        for (int c = 0; c < a.c; ++c)
          if (std::memcmp(&a(i, y, x, c), &b(i, y, x, c), sizeof(A)) != 0) return false;
  return true;
}

struct diff_stats {
  double max_abs = 0, mean_abs = 0, p99 = 0;
  std::int64_t values = 0, differing_values = 0, differing_pixels = 0, pixels = 0;
  int worst_i = 0, worst_y = 0, worst_x = 0, worst_c = 0;
};

inline std::ostream& operator<<(std::ostream& os, const diff_stats& s) {
  return os << "max " << s.max_abs << " at (n=" << s.worst_i << ", y=" << s.worst_y << ", x=" << s.worst_x << ", c=" << s.worst_c
            << "), mean " << s.mean_abs << ", p99 " << s.p99 << ", differing pixels " << s.differing_pixels << "/" << s.pixels;
}

// Per-channel absolute differences of two batches of the same shape, optionally restricted to
// the pixels where `keep(i, y, x)` is true.
template <class A, class B, class Keep>
diff_stats compare_if(vb::batch_view<A> a, vb::batch_view<B> b, Keep keep) {
  EXPECT_EQ(a.shape(), b.shape());
  diff_stats s;
  std::vector<double> all;
  double sum = 0;
  for (int i = 0; i < a.n; ++i)
    for (int y = 0; y < a.h; ++y)
      for (int x = 0; x < a.w; ++x) {
        if (!keep(i, y, x)) continue;
        bool differs = false;
        for (int c = 0; c < a.c; ++c) {
          const double d = std::fabs(double(a(i, y, x, c)) - double(b(i, y, x, c)));
          all.push_back(d);
          sum += d;
          if (d > 0) differs = true, ++s.differing_values;
          if (d > s.max_abs) s.max_abs = d, s.worst_i = i, s.worst_y = y, s.worst_x = x, s.worst_c = c;
        }
        s.differing_pixels += differs;
        ++s.pixels;
      }
  s.values = static_cast<std::int64_t>(all.size());
  if (!all.empty()) {
    s.mean_abs = sum / double(all.size());
    const std::size_t k = std::min(all.size() - 1, static_cast<std::size_t>(0.99 * double(all.size())));
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
    s.p99 = all[k];
  }
  return s;
}

template <class A, class B>
diff_stats compare(vb::batch_view<A> a, vb::batch_view<B> b) {
  return compare_if(a, b, [](int, int, int) { return true; });
}

// ---------------------------------------------------------------------------------------------
// An independent model of the geometry conventions

struct dir3 {
  double x, y, z;
};
inline dir3 operator+(dir3 a, dir3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline dir3 operator*(double s, dir3 a) { return {s * a.x, s * a.y, s * a.z}; }
inline dir3 cross(dir3 a, dir3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
inline double norm(dir3 a) { return std::sqrt(a.x * a.x + a.y * a.y + a.z * a.z); }
inline dir3 normalised(dir3 a) { return (1 / norm(a)) * a; }
inline double angle_between_deg(dir3 a, dir3 b) {  // atan2 form: accurate for tiny angles too
  return std::atan2(norm(cross(a, b)), a.x * b.x + a.y * b.y + a.z * b.z) * 180 / vb::sample::pi;
}

inline double rad(double deg) { return deg * vb::sample::pi / 180; }
inline double deg(double rad) { return rad * 180 / vb::sample::pi; }

// World frame x right, y up, z forward.
inline double longitude_deg(dir3 d) { return deg(std::atan2(d.x, d.z)); }
inline double latitude_deg(dir3 d) { return deg(std::asin(d.y / norm(d))); }
inline dir3 from_lon_lat(double lon_deg, double lat_deg) {
  return {std::cos(rad(lat_deg)) * std::sin(rad(lon_deg)), std::sin(rad(lat_deg)),
          std::cos(rad(lat_deg)) * std::cos(rad(lon_deg))};
}

// Equirectangular pixel coordinates (pixel centres at integers) of a direction.
struct point2 {
  double x, y;
};
inline point2 equirect_point(dir3 d, int w, int h) {
  const double lon = std::atan2(d.x, d.z), lat = std::atan2(d.y, std::hypot(d.x, d.z));
  return {(lon / (2 * vb::sample::pi) + 0.5) * w - 0.5, (0.5 - lat / vb::sample::pi) * h - 0.5};
}

// a - b for equirect x coordinates, taking the ±180° seam into account: in [-w/2, w/2).
inline double wrapped_dx(double a, double b, int w) {
  double d = std::fmod(a - b, double(w));
  if (d >= 0.5 * w) d -= w;
  if (d < -0.5 * w) d += w;
  return d;
}

// A pinhole camera in vbatch's convention, built from basis vectors: yaw > 0 turns the view to
// larger longitude, pitch > 0 raises it, roll > 0 turns the image content counter-clockwise (the
// camera's right and up axes turn clockwise about the viewing direction).
struct ref_camera {
  dir3 right, up, forward;
  double fx, fy, cx, cy;

  dir3 ray(double x, double y) const { return forward + ((x - cx) / fx) * right + (-(y - cy) / fy) * up; }
};

inline ref_camera make_ref_camera(double yaw, double pitch, double roll, int w, int h, double hfov, double vfov = 0,
                                  bool span_pixel_centres = false) {
  ref_camera c{};
  c.forward = {std::sin(rad(yaw)) * std::cos(rad(pitch)), std::sin(rad(pitch)), std::cos(rad(yaw)) * std::cos(rad(pitch))};
  const dir3 right0{std::cos(rad(yaw)), 0, -std::sin(rad(yaw))};
  const dir3 up0 = cross(c.forward, right0);
  const double cr = std::cos(rad(roll)), sr = std::sin(rad(roll));
  c.right = cr * right0 + (-sr) * up0;
  c.up = sr * right0 + cr * up0;
  const double sw = span_pixel_centres ? w - 1 : w, sh = span_pixel_centres ? h - 1 : h;
  c.fx = 0.5 * sw / std::tan(0.5 * rad(hfov));
  c.fy = vfov == 0 ? c.fx : 0.5 * sh / std::tan(0.5 * rad(vfov));
  c.cx = 0.5 * (w - 1);
  c.cy = 0.5 * (h - 1);
  return c;
}

inline dir3 to_dir3(vb::sample::vec3<double> v) { return {v.x, v.y, v.z}; }
inline vb::sample::vec3<double> to_vec3(dir3 d) { return {d.x, d.y, d.z}; }

// A scene for sign tests: white inside a small disc of `radius_deg` around `centre`, black elsewhere.
struct spot_scene {
  dir3 centre;
  double radius_deg;
  vb::sample::rgb operator()(vb::sample::vec3<double> d) const {
    return angle_between_deg(to_dir3(d), centre) < radius_deg ? vb::sample::rgb{255, 255, 255} : vb::sample::rgb{0, 0, 0};
  }
};

// Intensity-weighted centroid of channel 0 of image i.
struct centroid {
  double x = 0, y = 0, mass = 0;
};
inline centroid centroid_of(vb::batch_view<const vb::u8> v, int i = 0) {
  centroid c;
  for (int y = 0; y < v.h; ++y)
    for (int x = 0; x < v.w; ++x) {
      const double m = v(i, y, x, 0);
      c.x += m * x, c.y += m * y, c.mass += m;
    }
  if (c.mass > 0) c.x /= c.mass, c.y /= c.mass;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Files

// A fresh directory under the system temporary directory, removed with its content.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vbatch-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  // Names of the entries of the directory, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

inline std::vector<unsigned char> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<unsigned char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::filesystem::path data_dir() { return VBATCH_TEST_DATA_DIR; }

// ---------------------------------------------------------------------------------------------
// A reader for flat JSON objects: the objects of the array under `array_key`, each a map from
// key to the raw text of its value (strings unquoted). Nested objects and arrays are not
// supported inside those objects, and string escapes are kept as written.

using json_object = std::map<std::string, std::string>;

inline std::vector<json_object> read_flat_json_array(const std::string& text, const std::string& array_key) {
  std::vector<json_object> objects;
  const std::size_t key = text.find("\"" + array_key + "\"");
  if (key == std::string::npos) return objects;
  std::size_t i = text.find('[', key);
  if (i == std::string::npos) return objects;
  ++i;
  const auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  const auto read_string = [&] {
    std::string s;
    ++i;  // opening quote
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size()) s += text[i++];
      s += text[i++];
    }
    ++i;  // closing quote
    return s;
  };
  for (;;) {
    skip_space();
    if (i >= text.size() || text[i] == ']') break;
    if (text[i] == ',') {
      ++i;
      continue;
    }
    if (text[i] != '{') break;
    ++i;
    json_object obj;
    for (;;) {
      skip_space();
      if (i >= text.size()) return objects;
      if (text[i] == '}') {
        ++i;
        break;
      }
      if (text[i] == ',') {
        ++i;
        continue;
      }
      const std::string k = read_string();
      skip_space();
      ++i;  // ':'
      skip_space();
      std::string v;
      if (text[i] == '"') {
        v = read_string();
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '}' && !std::isspace(static_cast<unsigned char>(text[i])))
          v += text[i++];
      }
      obj[k] = v;
    }
    objects.push_back(std::move(obj));
  }
  return objects;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace vbatch_test
