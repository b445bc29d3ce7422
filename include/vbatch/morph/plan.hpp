#pragma once
// From an element, an iteration count and an image size to the runs an algorithm applies (host
// code, shared by every executor):
//
// - iterations of a rectangle that holds its anchor fold into one larger rectangle, as OpenCV
//   does ((w-1) n + 1 wide, anchor n times further): the same result, in one O(1) pass;
// - runs are clamped to [-W, W] x [-H, H] around the anchor. A run reaching further than the image
//   is wide covers the same image pixels and the same border, so the result is unchanged, and the
//   work and memory stay bounded by the image (a 10001x10001 square on a 64x64 mask is cheap);
// - runs of one row that overlap or touch merge (max and min are idempotent).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "vbatch/morph/element.hpp"

namespace vbatch::inline v0::morph::detail {

struct folded_element {
  std::vector<segment> runs;  // sorted by dy then x0, disjoint
  bool rect = false;          // one run per row, equal runs, rows contiguous
  bool contains_anchor = false;
  int repeat = 1;  // how many times to apply the runs (0: copy)
};

inline bool runs_form_rect(const std::vector<segment>& runs) {
  for (std::size_t k = 0; k < runs.size(); ++k)
    if (runs[k].x0 != runs[0].x0 || runs[k].length != runs[0].length || runs[k].dy != runs[0].dy + static_cast<int>(k))
      return false;
  return !runs.empty();
}

inline folded_element fold(const structuring_element& e, int iterations, int image_w, int image_h) {
  folded_element f;
  f.contains_anchor = e.contains_anchor();
  f.repeat = iterations;
  std::vector<segment> runs(e.segments().begin(), e.segments().end());
  // Extents as int64: (w - 1) * iterations overflows int for large counts.
  std::vector<std::int64_t> first, last, rows;
  for (const segment& s : runs) first.push_back(s.x0), last.push_back(s.x0 + s.length - 1), rows.push_back(s.dy);
  if (e.is_rect() && iterations > 1) {
    const segment& r = runs.front();
    const int dy_last = runs.back().dy;
    if (r.x0 <= 0 && r.x0 + r.length - 1 >= 0 && r.dy <= 0 && dy_last >= 0) {
      const std::int64_t n = iterations;
      first.assign(1, n * r.x0), last.assign(1, n * (r.x0 + r.length - 1));
      const std::int64_t top = n * r.dy, bottom = n * dy_last;
      // Clamped now, so the row list stays at most 2H + 1 long.
      rows.clear();
      for (std::int64_t dy = std::max<std::int64_t>(top, -image_h); dy <= std::min<std::int64_t>(bottom, image_h); ++dy)
        rows.push_back(dy);
      if (top > image_h) rows.assign(1, image_h);
      if (bottom < -image_h) rows.assign(1, -image_h);
      first.resize(rows.size(), first[0]), last.resize(rows.size(), last[0]);
      f.repeat = 1;
    }
  }
  const auto clamp = [](std::int64_t v, int limit) { return static_cast<int>(std::clamp<std::int64_t>(v, -limit, limit)); };
  runs.clear();
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const int a = clamp(first[k], image_w), b = clamp(last[k], image_w);
    runs.push_back({clamp(rows[k], image_h), a, b - a + 1});
  }
  std::sort(runs.begin(), runs.end(),
            [](const segment& p, const segment& q) { return p.dy != q.dy ? p.dy < q.dy : p.x0 < q.x0; });
  std::vector<segment> merged;
  for (const segment& s : runs) {
    if (!merged.empty() && merged.back().dy == s.dy && s.x0 <= merged.back().x0 + merged.back().length) {
      segment& m = merged.back();
      m.length = std::max(m.x0 + m.length, s.x0 + s.length) - m.x0;
    } else {
      merged.push_back(s);
    }
  }
  f.runs = std::move(merged);
  f.rect = runs_form_rect(f.runs);
  return f;
}

}  // namespace vbatch::inline v0::morph::detail
