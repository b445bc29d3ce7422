#pragma once
// Small writers for the profile reports: JSON text, and SVG charts a person can open in a browser
// (bars for stage times, a line for throughput against batch size).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vbatch::inline v0::profile {

// Streams JSON with commas and escaping handled; the caller nests begin/end calls correctly.
class json_writer {
 public:
  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }
  json_writer& key(std::string_view k) {
    separate();
    quote(k);
    out_ << ':';
    after_key_ = true;
    return *this;
  }
  json_writer& value(std::string_view s) {
    separate();
    quote(s);
    return *this;
  }
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(const std::string& s) { return value(std::string_view(s)); }
  template <class N>
  requires std::is_arithmetic_v<N> json_writer& value(N n) {
    separate();
    if constexpr (std::is_same_v<N, bool>) {
      out_ << (n ? "true" : "false");
    } else if constexpr (std::is_floating_point_v<N>) {
      if (std::isfinite(n))
        out_ << std::setprecision(10) << n;
      else
        out_ << "null";  // JSON has no inf or nan
    } else {
      out_ << n;
    }
    return *this;
  }
  std::string str() const { return out_.str() + "\n"; }

 private:
  json_writer& open(char c) {
    separate();
    out_ << c;
    first_ = true;
    return *this;
  }
  json_writer& close(char c) {
    out_ << c;
    first_ = false;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ << ',';
    first_ = false;
  }
  void quote(std::string_view s) {
    out_ << '"';
    for (const char c : s) {
      if (c == '"' || c == '\\')
        out_ << '\\' << c;
      else if (static_cast<unsigned char>(c) < 0x20)
        out_ << "\\u" << std::hex << std::setw(4) << std::setfill('0') << int(c) << std::dec << std::setfill(' ');
      else
        out_ << c;
    }
    out_ << '"';
  }

  std::ostringstream out_;
  bool first_ = true, after_key_ = false;
};

namespace detail {
inline std::string escape_xml(std::string_view s) {
  std::string r;
  for (const char c : s) {
    if (c == '<')
      r += "&lt;";
    else if (c == '>')
      r += "&gt;";
    else if (c == '&')
      r += "&amp;";
    else
      r += c;
  }
  return r;
}
inline std::string svg_header(int w, int h, std::string_view title) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << ' ' << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << w / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << escape_xml(title) << "</text>\n";
  return s.str();
}
// A round step for about `ticks` axis divisions up to `top`.
inline double nice_step(double top, int ticks) {
  const double raw = top / ticks, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}
}  // namespace detail

struct bar {
  std::string label;
  double first = 0, second = 0;  // drawn end to end: dark, then light
};

inline std::string bar_chart_svg(std::string_view title, std::string_view axis, const std::vector<bar>& bars) {
  const int left = 180, right = 30, top = 40, row = 28, width = 760;
  const int height = top + row * std::max<int>(1, int(bars.size())) + 50;
  double most = 0;
  for (const bar& b : bars) most = std::max(most, b.first + b.second);
  const double step = detail::nice_step(most > 0 ? most : 1, 5), scale_top = std::ceil((most > 0 ? most : 1) / step) * step;
  const double px = (width - left - right) / scale_top;
  std::ostringstream s;
  s << detail::svg_header(width, height, title) << std::fixed << std::setprecision(1);
  for (double t = 0; t <= scale_top + 1e-9; t += step) {
    const double x = left + t * px;
    s << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << height - 40 << "\" stroke=\"#ddd\"/>\n"
      << "<text x=\"" << x << "\" y=\"" << height - 25 << "\" text-anchor=\"middle\">" << std::setprecision(2) << t
      << std::setprecision(1) << "</text>\n";
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double y = top + row * double(i) + 4;
    s << "<text x=\"" << left - 8 << "\" y=\"" << y + 14 << "\" text-anchor=\"end\">" << detail::escape_xml(bars[i].label)
      << "</text>\n"
      << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << bars[i].first * px << "\" height=\"" << row - 8
      << "\" fill=\"#3b6ea5\"/>\n"
      << "<rect x=\"" << left + bars[i].first * px << "\" y=\"" << y << "\" width=\"" << bars[i].second * px << "\" height=\""
      << row - 8 << "\" fill=\"#a9c4e2\"/>\n";
  }
  s << "<text x=\"" << (left + width - right) / 2 << "\" y=\"" << height - 8 << "\" text-anchor=\"middle\">"
    << detail::escape_xml(axis) << "</text>\n</svg>\n";
  return s.str();
}

struct series_point {
  double x, y;
};

struct series {
  std::string name;
  std::vector<series_point> points;
};

// Lines of y against x on a log2 x axis (batch sizes 1, 2, 4, ...), with a legend and an optional
// marked x.
inline std::string line_chart_svg(std::string_view title, std::string_view x_axis, std::string_view y_axis,
                                  const std::vector<series>& lines, double marked_x = 0) {
  static constexpr const char* colours[] = {"#3b6ea5", "#d35400", "#27ae60", "#8e44ad", "#c0392b", "#16a085"};
  const int left = 80, right = 30, top = 40, bottom = 60, width = 760, height = 420;
  double max_x = 1, max_y = 0;
  for (const auto& line : lines)
    for (const auto& p : line.points) max_x = std::max(max_x, p.x), max_y = std::max(max_y, p.y);
  const double log_max = std::max(1.0, std::log2(max_x)), step = detail::nice_step(max_y > 0 ? max_y : 1, 5);
  const double y_top = std::ceil((max_y > 0 ? max_y : 1) / step) * step;
  const auto sx = [&](double x) { return left + std::log2(std::max(x, 1.0)) / log_max * (width - left - right); };
  const auto sy = [&](double y) { return height - bottom - y / y_top * (height - top - bottom); };
  std::ostringstream s;
  s << detail::svg_header(width, height, title) << std::fixed << std::setprecision(1);
  const int label_digits = step >= 1 ? 0 : 2;
  for (double t = 0; t <= y_top + 1e-9; t += step)
    s << "<line x1=\"" << left << "\" y1=\"" << sy(t) << "\" x2=\"" << width - right << "\" y2=\"" << sy(t)
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << sy(t) + 4 << "\" text-anchor=\"end\">"
      << std::setprecision(label_digits) << t << std::setprecision(1) << "</text>\n";
  for (double x = 1; x <= max_x * 1.0001; x *= 2)
    s << "<text x=\"" << sx(x) << "\" y=\"" << height - bottom + 18 << "\" text-anchor=\"middle\">" << std::setprecision(0) << x
      << std::setprecision(1) << "</text>\n";
  if (marked_x > 0) {
    const bool near_right = sx(marked_x) > 0.7 * width;  // put the label where it fits
    s << "<line x1=\"" << sx(marked_x) << "\" y1=\"" << top << "\" x2=\"" << sx(marked_x) << "\" y2=\"" << height - bottom
      << "\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>\n<text x=\"" << sx(marked_x) + (near_right ? -4 : 4) << "\" y=\""
      << top + 12 << "\" fill=\"#c0392b\" text-anchor=\"" << (near_right ? "end" : "start") << "\">recommended</text>\n";
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const char* colour = colours[i % std::size(colours)];
    s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
    for (const auto& p : lines[i].points) s << sx(p.x) << ',' << sy(p.y) << ' ';
    s << "\"/>\n";
    for (const auto& p : lines[i].points)
      s << "<circle cx=\"" << sx(p.x) << "\" cy=\"" << sy(p.y) << "\" r=\"3.5\" fill=\"" << colour << "\"/>\n";
    if (!lines[i].name.empty())
      s << "<text x=\"" << width - right - 6 << "\" y=\"" << height - bottom - 10 - 16 * double(lines.size() - 1 - i)
        << "\" text-anchor=\"end\" fill=\"" << colour << "\">" << detail::escape_xml(lines[i].name) << "</text>\n";  // legend
  }
  s << "<text x=\"" << (left + width - right) / 2 << "\" y=\"" << height - 18 << "\" text-anchor=\"middle\">"
    << detail::escape_xml(x_axis) << "</text>\n<text x=\"16\" y=\"" << (top + height - bottom) / 2
    << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " << (top + height - bottom) / 2 << ")\">"
    << detail::escape_xml(y_axis) << "</text>\n</svg>\n";
  return s.str();
}

}  // namespace vbatch::inline v0::profile
