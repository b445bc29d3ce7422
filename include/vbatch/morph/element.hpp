#pragma once
// Structuring elements: which neighbours of a pixel take part in dilate / erode, and where the
// anchor (the pixel being computed) sits in the element.
//
//   auto grow = vbatch::morph::square(15);          // 15x15, anchor at the centre (7, 7)
//   auto round = vbatch::morph::disk(7);            // OpenCV's 15x15 MORPH_ELLIPSE
//   auto wide = vbatch::morph::rect(8, 3, {0, 1});  // 8x3 with the anchor at column 0, row 1
//
// Shapes and anchors are OpenCV's (cv::getStructuringElement): the default anchor is the centre
// (w/2, h/2), also for even sizes, and `centre` ({-1, -1}) means it as cv::Point(-1, -1) does.
// ellipse(w, h) reproduces MORPH_ELLIPSE cell for cell; disk(r) is ellipse(2r+1, 2r+1).
//
// An element is stored as its row segments: each row of cells is one or more horizontal runs,
// (dy, x0, length) relative to the anchor. Every algorithm starts from them (a rectangle is h equal
// runs, a disk one run per row), so an element costs O(rows), not O(width x height), to keep.
// The factories throw vbatch::error naming the parameter and value; can_make_* check without throwing.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vbatch/core/element.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::morph {

struct point {
  int x = 0, y = 0;
  friend constexpr bool operator==(const point&, const point&) = default;
};

// The anchor at the element's centre (w/2, h/2), as OpenCV's Point(-1, -1).
inline constexpr point centre{-1, -1};

// Cells (x0 .. x0 + length - 1, dy) of the element, relative to the anchor.
struct segment {
  int dy = 0, x0 = 0, length = 0;
  friend constexpr bool operator==(const segment&, const segment&) = default;
};

// Elements larger than this on a side are refused (errc::limit_exceeded); no image is that large.
inline constexpr int max_element_side = 1 << 16;

enum class shape { rect, cross, ellipse };

constexpr const char* to_string(shape s) {
  switch (s) {
    case shape::rect:
      return "rect";
    case shape::cross:
      return "cross";
    case shape::ellipse:
      return "ellipse";
  }
  return "unknown";
}

class structuring_element;
namespace detail {
structuring_element make_from_rows(const char* what, int width, int height, point anchor, std::vector<segment> runs);
}

class structuring_element {
 public:
  // The 3x3 square, OpenCV's default element.
  structuring_element() : width_(3), height_(3), anchor_{1, 1} {
    for (int dy = -1; dy <= 1; ++dy) segments_.push_back({dy, -1, 3});
    derive();
  }

  int width() const { return width_; }
  int height() const { return height_; }
  point anchor() const { return anchor_; }
  // Runs of cells relative to the anchor, sorted by dy then x0; never empty.
  std::span<const segment> segments() const { return segments_; }
  std::int64_t cell_count() const { return cells_; }

  // Whether cell (x, y) of the width x height grid (0-based, not anchor-relative) is set.
  bool contains(int x, int y) const {
    const int dy = y - anchor_.y, dx = x - anchor_.x;
    for (const segment& s : segments_)
      if (s.dy == dy && dx >= s.x0 && dx < s.x0 + s.length) return true;
    return false;
  }
  // The cells as width x height bytes, row-major, 1 where set (for tests and display).
  std::vector<u8> cells() const {
    std::vector<u8> out(std::size_t(width_) * height_, 0);
    for (const segment& s : segments_)
      for (int t = 0; t < s.length; ++t) out[std::size_t(s.dy + anchor_.y) * width_ + s.x0 + anchor_.x + t] = 1;
    return out;
  }

  // The set cells form one filled rectangle (which may be smaller than width x height).
  bool is_rect() const { return rect_; }
  // The anchor's own cell is set: dilation is then extensive and erosion anti-extensive.
  bool contains_anchor() const { return contains(anchor_.x, anchor_.y); }
  // Point-symmetric about the anchor: open <= image <= close hold for such elements.
  bool is_symmetric() const {
    for (const segment& s : segments_) {
      // The mirror of run (dy, x0, len) is (-dy, -(x0 + len - 1), len); runs of a row never touch.
      const segment m{-s.dy, -(s.x0 + s.length - 1), s.length};
      if (std::find(segments_.begin(), segments_.end(), m) == segments_.end()) return false;
    }
    return true;
  }

  friend bool operator==(const structuring_element& a, const structuring_element& b) {
    return a.width_ == b.width_ && a.height_ == b.height_ && a.anchor_ == b.anchor_ && a.segments_ == b.segments_;
  }

 private:
  friend structuring_element detail::make_from_rows(const char*, int, int, point, std::vector<segment>);
  structuring_element(int w, int h, point anchor, std::vector<segment> segments)
      : width_(w), height_(h), anchor_(anchor), segments_(std::move(segments)) {
    derive();
  }

  void derive() {
    cells_ = 0;
    for (const segment& s : segments_) cells_ += s.length;
    const segment& first = segments_.front();
    rect_ = true;
    for (std::size_t k = 0; k < segments_.size(); ++k) {
      const segment& s = segments_[k];
      if (s.x0 != first.x0 || s.length != first.length || s.dy != first.dy + static_cast<int>(k)) rect_ = false;
    }
  }

  int width_, height_;
  point anchor_;
  std::vector<segment> segments_;
  std::int64_t cells_ = 0;
  bool rect_ = false;
};

// "15x15 ellipse element, anchor (7, 7)": for messages.
inline std::string describe(const structuring_element& e) {
  return vbatch::detail::format("{}x{} {}element with anchor ({}, {})", e.width(), e.height(), e.is_rect() ? "rectangular " : "",
                                e.anchor().x, e.anchor().y);
}

namespace detail {

inline status can_make_grid(const char* what, int width, int height, point anchor) {
  if (width <= 0) return fail(errc::invalid_argument, "{}: width {} must be positive", what, width);
  if (height <= 0) return fail(errc::invalid_argument, "{}: height {} must be positive", what, height);
  if (width > max_element_side || height > max_element_side)
    return fail(errc::limit_exceeded, "{}: {}x{} exceeds the largest element side {}", what, width, height, max_element_side);
  if (anchor != centre && (anchor.x < 0 || anchor.x >= width || anchor.y < 0 || anchor.y >= height))
    return fail(errc::invalid_argument, "{}: anchor ({}, {}) outside the {}x{} element (columns 0..{}, rows 0..{})", what,
                anchor.x, anchor.y, width, height, width - 1, height - 1);
  return status::success();
}

inline point resolve(point anchor, int width, int height) { return anchor == centre ? point{width / 2, height / 2} : anchor; }

// `runs` hold (row, first column, length) in grid coordinates; they become anchor-relative segments.
inline structuring_element make_from_rows(const char* what, int width, int height, point anchor, std::vector<segment> runs) {
  check(can_make_grid(what, width, height, anchor));
  const point a = resolve(anchor, width, height);
  std::vector<segment> segments;
  for (const segment& r : runs)
    if (r.length > 0) segments.push_back({r.dy - a.y, r.x0 - a.x, r.length});
  if (segments.empty()) raise(errc::invalid_argument, "{}: no cell of the {}x{} element is set", what, width, height);
  std::sort(segments.begin(), segments.end(),
            [](const segment& p, const segment& q) { return p.dy != q.dy ? p.dy < q.dy : p.x0 < q.x0; });
  return structuring_element(width, height, a, std::move(segments));
}

// OpenCV's MORPH_ELLIPSE, written from its documented behaviour: with the integer half sizes
// r = h/2 and c = w/2, row i (dy = i - r) holds the cells within dx = round(c * sqrt(1 - dy^2/r^2))
// of column c, clipped to the grid (so even sizes are lopsided, as in OpenCV); r = 0 leaves one
// cell per row. The arithmetic order (a product with 1/r^2, round half to even) is kept so that
// every size matches getStructuringElement bit for bit (tests/morph/element_test.cpp).
inline std::vector<segment> ellipse_rows(int width, int height) {
  const int r = height / 2, c = width / 2;
  const double inv_r2 = r != 0 ? 1.0 / (double(r) * r) : 0.0;
  std::vector<segment> rows;
  for (int i = 0; i < height; ++i) {
    const int dy = i - r;
    const double q = double(std::int64_t{r} * r - std::int64_t{dy} * dy) * inv_r2;
    const int dx = static_cast<int>(std::lrint(c * std::sqrt(q)));
    const int first = std::max(c - dx, 0), end = std::min(c + dx + 1, width);
    rows.push_back({i, first, end - first});
  }
  return rows;
}

}  // namespace detail

// ---- non-throwing checks ------------------------------------------------------------------------

inline status can_make_element(shape s, int width, int height, point anchor = centre) {
  return detail::can_make_grid(to_string(s), width, height, anchor);
}
inline status can_make_disk(int radius) {
  if (radius < 0) return fail(errc::invalid_argument, "disk: radius {} must be >= 0", radius);
  if (radius > (max_element_side - 1) / 2)
    return fail(errc::limit_exceeded, "disk: radius {} exceeds the largest radius {}", radius, (max_element_side - 1) / 2);
  return status::success();
}
inline status can_make_custom(int width, int height, std::span<const u8> cells, point anchor = centre) {
  if (auto s = detail::can_make_grid("custom element", width, height, anchor); !s) return s;
  if (cells.size() != std::size_t(width) * std::size_t(height))
    return fail(errc::invalid_argument, "custom element: {} cells given for a {}x{} element ({} expected)", cells.size(), width,
                height, std::size_t(width) * std::size_t(height));
  if (std::all_of(cells.begin(), cells.end(), [](u8 v) { return v == 0; }))
    return fail(errc::invalid_argument, "custom element: no cell of the {}x{} element is set", width, height);
  return status::success();
}

// ---- factories (throw vbatch::error) ------------------------------------------------------------

// A width x height block of cells; the anchor defaults to the centre (w/2, h/2).
inline structuring_element rect(int width, int height, point anchor = centre) {
  std::vector<segment> rows;
  for (int i = 0; i < height && width > 0; ++i) rows.push_back({i, 0, width});
  return detail::make_from_rows("rect", width, height, anchor, std::move(rows));
}

// A size x size block: the 15x15 growth of person masks is square(15).
inline structuring_element square(int size, point anchor = centre) {
  if (size <= 0) raise(errc::invalid_argument, "square: size {} must be positive", size);
  return rect(size, size, anchor);
}

// The anchor's full row and full column (OpenCV's MORPH_CROSS, which follows the anchor).
inline structuring_element cross(int width, int height, point anchor = centre) {
  check(detail::can_make_grid("cross", width, height, anchor));
  const point a = detail::resolve(anchor, width, height);
  std::vector<segment> rows;
  for (int i = 0; i < height; ++i) rows.push_back(i == a.y ? segment{i, 0, width} : segment{i, a.x, 1});
  return detail::make_from_rows("cross", width, height, anchor, std::move(rows));
}

// OpenCV's MORPH_ELLIPSE inscribed in width x height.
inline structuring_element ellipse(int width, int height, point anchor = centre) {
  check(detail::can_make_grid("ellipse", width, height, anchor));
  return detail::make_from_rows("ellipse", width, height, anchor, detail::ellipse_rows(width, height));
}

// The digital disk of radius r: (2r+1) x (2r+1), row dy holding the cells within
// round(sqrt(r^2 - dy^2)) of the centre; the same as ellipse(2r + 1, 2r + 1). disk(0) is one cell.
inline structuring_element disk(int radius) {
  check(can_make_disk(radius));
  return ellipse(2 * radius + 1, 2 * radius + 1);
}

inline structuring_element make_element(shape s, int width, int height, point anchor = centre) {
  switch (s) {
    case shape::cross:
      return cross(width, height, anchor);
    case shape::ellipse:
      return ellipse(width, height, anchor);
    default:
      return rect(width, height, anchor);
  }
}

// Any binary element: `cells` holds width x height bytes, row-major, nonzero = in the element.
// The anchor's own cell may be unset (then pixels whose element lies wholly outside the image take
// the border value, as in OpenCV).
inline structuring_element custom(int width, int height, std::span<const u8> cells, point anchor = centre) {
  check(can_make_custom(width, height, cells, anchor));
  std::vector<segment> rows;
  for (int i = 0; i < height; ++i) {
    const u8* row = cells.data() + std::size_t(i) * width;
    for (int x = 0; x < width;) {
      if (!row[x]) {
        ++x;
        continue;
      }
      int end = x;
      while (end < width && row[end]) ++end;
      rows.push_back({i, x, end - x});
      x = end;
    }
  }
  return detail::make_from_rows("custom element", width, height, anchor, std::move(rows));
}

}  // namespace vbatch::inline v0::morph
