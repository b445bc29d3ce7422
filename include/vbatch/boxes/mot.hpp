#pragma once
// The MOT Challenge text format: one box per line, `frame,id,x,y,w,h,score,...` (x, y the top-left
// corner, w, h the size, in pixels; detections have id -1; trailing fields such as the 3D
// position -1,-1,-1 are read and ignored). Tracks are written the same way.
//
//   std::vector<vbatch::boxes::mot_record> dets = vbatch::boxes::read_mot_file("MOT15/ETH-Bahnhof/det.txt");
//   std::string text;
//   vbatch::boxes::append_mot_line(text, frame, id, box, score);   // "frame,id,x,y,w,h,score,-1,-1,-1\n"
//
// Reading is strict, and every error names the source and the line: at least 7 fields, a whole
// frame number from 0 to 1e9 and a whole id, finite numbers, w and h not negative. Empty lines
// (and '\r' line ends) are accepted. Numbers are written in the shortest form that reads back as
// the same float, so a box read and written again is the same box.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "vbatch/boxes/box.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/file.hpp"

namespace vbatch::inline v0::boxes {

// A box (x, y, w, h) in double precision.
struct box_xywh_d {
  double x = 0, y = 0, w = 0, h = 0;
};

struct mot_record {
  int frame = 0;
  int id = -1;
  box_xywh box;
  float score = 1;
  int line = 0;        // 1-based line of the source it came from
  box_xywh_d exact{};  // the box as read, in double (for scoring as py-motmetrics does)
};

inline constexpr int mot_max_frame = 1'000'000'000;

namespace detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

inline bool parse_number(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);  // from_chars takes no '+'
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size() && !s.empty() && std::isfinite(v);
}

inline std::string quoted(std::string_view s) {
  constexpr std::size_t longest = 40;
  std::string q(1, '\'');
  q.append(s.substr(0, longest));
  q.append(s.size() > longest ? "...'" : "'");
  return q;
}

}  // namespace detail

// Parses `text`; `source` names it in messages ("det.txt:12: ..."). Appends to `out`.
inline status parse_mot(std::string_view text, std::string_view source, std::vector<mot_record>& out) {
  static constexpr const char* names[] = {"frame", "id", "x", "y", "w", "h", "score"};
  int line_number = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string_view line = detail::trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_number;
    if (line.empty()) continue;
    if (line.find('\0') != std::string_view::npos)
      return fail(errc::corrupt_data, "{}:{}: a NUL byte (not a text file?)", source, line_number);
    double v[7];
    int fields = 0;
    for (std::size_t first = 0;; ++fields) {
      const std::size_t comma = std::min(line.find(',', first), line.size());
      if (fields < 7) {
        const std::string_view field = detail::trim(line.substr(first, comma - first));
        if (!detail::parse_number(field, v[fields]))
          return fail(errc::corrupt_data, "{}:{}: field {} ({}) is {}, expected a finite number", source, line_number, fields + 1,
                      names[fields], detail::quoted(field));
      }
      if (comma == line.size()) {
        ++fields;
        break;
      }
      first = comma + 1;
    }
    if (fields < 7)
      return fail(errc::corrupt_data, "{}:{}: {} field{}, expected at least 7 (frame,id,x,y,w,h,score): {}", source, line_number,
                  fields, fields == 1 ? "" : "s", detail::quoted(line));
    if (v[0] != std::floor(v[0]) || v[0] < 0 || v[0] > mot_max_frame)
      return fail(errc::corrupt_data, "{}:{}: frame {} is not a whole number from 0 to {}", source, line_number, v[0],
                  mot_max_frame);
    if (v[1] != std::floor(v[1]) || std::fabs(v[1]) > 2e9)
      return fail(errc::corrupt_data, "{}:{}: id {} is not a whole number", source, line_number, v[1]);
    if (v[4] < 0 || v[5] < 0)
      return fail(errc::corrupt_data, "{}:{}: negative {} {}", source, line_number, v[4] < 0 ? "width" : "height",
                  v[4] < 0 ? v[4] : v[5]);
    // Checked in double: a double beyond float's range does not convert to float (-inf, or worse).
    const auto fits_float = [](double d) { return std::fabs(d) <= std::numeric_limits<float>::max(); };
    if (!fits_float(v[6]))
      return fail(errc::corrupt_data, "{}:{}: score {} does not fit in single precision", source, line_number, v[6]);
    if (!fits_float(v[2]) || !fits_float(v[3]) || !fits_float(v[4]) || !fits_float(v[5]))
      return fail(errc::corrupt_data, "{}:{}: the box does not fit in single precision", source, line_number);
    mot_record r;
    r.frame = static_cast<int>(v[0]);
    r.id = static_cast<int>(v[1]);
    r.box = {static_cast<float>(v[2]), static_cast<float>(v[3]), static_cast<float>(v[4]), static_cast<float>(v[5])};
    r.score = static_cast<float>(v[6]);
    r.line = line_number;
    r.exact = {v[2], v[3], v[4], v[5]};
    if (!is_finite(to_xyxy(r.box)))
      return fail(errc::corrupt_data, "{}:{}: the box does not fit in single precision", source, line_number);
    out.push_back(r);
  }
  return status::success();
}

inline std::vector<mot_record> read_mot_file(const std::filesystem::path& path) {
  std::vector<mot_record> records;
  check(parse_mot(read_text_file(path), path.string(), records));
  return records;
}

namespace detail {
inline void append_float(std::string& out, float v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);  // shortest round trip
  out.append(buffer, ec == std::errc{} ? end : buffer);
}
}  // namespace detail

// "frame,id,x,y,w,h,score,-1,-1,-1\n"
inline void append_mot_line(std::string& out, int frame, int id, const box_xywh& b, float score) {
  out += std::to_string(frame);
  out += ',';
  out += std::to_string(id);
  for (const float v : {b.x, b.y, b.w, b.h, score}) {
    out += ',';
    detail::append_float(out, v);
  }
  out += ",-1,-1,-1\n";
}

}  // namespace vbatch::inline v0::boxes
