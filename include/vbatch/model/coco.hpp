#pragma once
// Masks as COCO run-length encodings, and COCO-style JSON annotations to write beside the PNGs.
//
//   model::rle r = model::rle_encode(masks.image(i));           // u8 (1,H,W,1), non-zero is foreground
//   std::string counts = model::rle_to_string(r);               // pycocotools' compressed counts
//   model::rle_decode(model::rle_from_string(counts, h, w), decoded.view());
//   std::string json = model::coco_json(annotations);           // [{"id": .., "segmentation": {..}, ..}, ..]
//
// The encoding is COCO's (pycocotools/common/maskApi.c): pixels in column-major order (down the
// first column, then the next), runs alternating 0s and 1s, starting with 0s (a mask whose first
// pixel is set starts with a run of zero 0s). The string form is maskApi's rleToString: from the
// fourth count on, each count is stored as the difference from the count two before; each value
// goes out in 5-bit groups, low first, as characters 48 + group, with 0x20 added while more groups
// follow; the last group's 0x10 bit is the sign. Host memory only; no JSON library needed.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vbatch/boxes/box.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/view.hpp"

namespace vbatch::inline v0::model {

struct rle {
  int height = 0, width = 0;
  std::vector<std::uint32_t> counts;  // alternating runs of 0s and 1s, column-major, starting with 0s
  friend bool operator==(const rle&, const rle&) = default;
};

// Encodes image 0 of `mask` (host memory, one channel).
inline rle rle_encode(batch_view<const u8> mask) {
  check(can_access(mask, "rle_encode: mask"));
  if (mask.c != 1) raise(errc::invalid_argument, "rle_encode: mask has {} channels, 1 expected", mask.c);
  rle r{mask.h, mask.w, {}};
  if (mask.empty()) return r;
  bool value = false;
  std::uint32_t run = 0;
  for (int x = 0; x < mask.w; ++x)
    for (int y = 0; y < mask.h; ++y) {
      if ((*mask.pixel(0, y, x) != 0) != value) r.counts.push_back(run), run = 0, value = !value;
      ++run;
    }
  r.counts.push_back(run);
  return r;
}

inline status can_decode(const rle& r) {
  if (r.height < 0 || r.width < 0) return fail(errc::invalid_argument, "rle: negative size {}x{}", r.height, r.width);
  std::uint64_t total = 0;
  for (std::uint32_t c : r.counts) total += c;
  if (total != static_cast<std::uint64_t>(r.height) * static_cast<std::uint64_t>(r.width))
    return fail(errc::corrupt_data, "rle: counts cover {} pixels, the size {}x{} has {}", total, r.height, r.width,
                static_cast<std::uint64_t>(r.height) * static_cast<std::uint64_t>(r.width));
  return status::success();
}

// Writes the mask into image 0 of `mask` (host memory, (1,H,W,1) of the rle's size): on_value or 0.
inline void rle_decode(const rle& r, batch_view<u8> mask, u8 on_value = 255) {
  check(can_decode(r));
  check(can_access(mask, "rle_decode: mask"));
  if (mask.c != 1 || mask.h != r.height || mask.w != r.width || (mask.n < 1 && r.height * r.width > 0))
    raise(errc::invalid_argument, "rle_decode: mask is {}x{}x{}x{} (N,H,W,C) for a {}x{} encoding", mask.n, mask.h, mask.w,
          mask.c, r.height, r.width);
  std::int64_t pixel = 0;
  for (std::size_t k = 0; k < r.counts.size(); ++k)
    for (std::uint32_t j = 0; j < r.counts[k]; ++j, ++pixel)
      *mask.pixel(0, static_cast<int>(pixel % r.height), static_cast<int>(pixel / r.height)) = k % 2 ? on_value : u8(0);
}

// Foreground pixels (pycocotools' area).
inline std::int64_t rle_area(const rle& r) {
  std::int64_t area = 0;
  for (std::size_t k = 1; k < r.counts.size(); k += 2) area += r.counts[k];
  return area;
}

// The box around the foreground in whole pixels (pycocotools' toBbox); {0, 0, 0, 0} when empty.
inline boxes::box_xywh rle_bbox(const rle& r) {
  check(can_decode(r));
  std::int64_t x1 = r.width, y1 = r.height, x2 = -1, y2 = -1, pixel = 0;
  for (std::size_t k = 0; k < r.counts.size(); pixel += r.counts[k++]) {
    if (k % 2 == 0 || r.counts[k] == 0) continue;
    const std::int64_t first = pixel, last = pixel + r.counts[k] - 1;
    x1 = std::min(x1, first / r.height), x2 = std::max(x2, last / r.height);
    // A run that wraps to another column covers every row in between.
    if (first / r.height != last / r.height) y1 = 0, y2 = r.height - 1;
    y1 = std::min(y1, first % r.height), y2 = std::max(y2, last % r.height);
  }
  if (x2 < 0) return {};
  return {static_cast<float>(x1), static_cast<float>(y1), static_cast<float>(x2 - x1 + 1), static_cast<float>(y2 - y1 + 1)};
}

// pycocotools' compressed counts (what mask.encode gives in 'counts', as text).
inline std::string rle_to_string(const rle& r) {
  std::string s;
  for (std::size_t k = 0; k < r.counts.size(); ++k) {
    std::int64_t x = r.counts[k];
    if (k > 2) x -= r.counts[k - 2];  // maskApi.c's `i > 2`: the third count is stored whole
    for (bool more = true; more;) {
      int group = static_cast<int>(x & 0x1f);
      x >>= 5;  // arithmetic: a negative value ends in all-ones groups
      more = (group & 0x10) ? x != -1 : x != 0;
      if (more) group |= 0x20;
      s.push_back(static_cast<char>(group + 48));
    }
  }
  return s;
}

inline rle rle_from_string(std::string_view s, int height, int width) {
  rle r{height, width, {}};
  for (std::size_t p = 0; p < s.size();) {
    std::int64_t x = 0;
    for (int shift = 0;; shift += 5, ++p) {
      if (p == s.size()) raise(errc::corrupt_data, "rle_from_string: counts end inside a value");
      const int group = s[p] - 48;
      if (group < 0 || group > 63 || shift > 35)
        raise(errc::corrupt_data, "rle_from_string: character '{}' at {} is not a count", s[p], p);
      x |= static_cast<std::int64_t>(group & 0x1f) << shift;
      if (!(group & 0x20)) {
        if (group & 0x10) x -= std::int64_t{1} << (shift + 5);  // sign-extend the last group
        ++p;
        break;
      }
    }
    if (r.counts.size() > 2) x += r.counts[r.counts.size() - 2];
    if (x < 0 || x > std::numeric_limits<std::uint32_t>::max())
      raise(errc::corrupt_data, "rle_from_string: count {} is {}", r.counts.size(), x);
    r.counts.push_back(static_cast<std::uint32_t>(x));
  }
  check(can_decode(r));
  return r;
}

// ---- JSON -----------------------------------------------------------------------------------

struct coco_annotation {
  std::int64_t id = 0, image_id = 0;
  int category_id = 0;
  rle segmentation;
  float score = std::numeric_limits<float>::quiet_NaN();  // written only when finite (results files)
};

namespace detail {
inline std::string json_number(std::int64_t v) { return std::to_string(v); }
inline std::string json_number(float v) {
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof text, v).ptr);  // shortest form that reads back the same float
}
}  // namespace detail

// A JSON array of COCO annotations: id, image_id, category_id, segmentation {size [h, w],
// counts}, area, bbox [x, y, w, h], iscrowd 0 and, when finite, score. Counts are pycocotools'
// compressed string (what loadRes and the evaluators read), or the list of numbers with
// compressed = false.
inline std::string coco_json(std::span<const coco_annotation> annotations, bool compressed = true) {
  using detail::json_number;
  std::string out = "[";
  for (std::size_t a = 0; a < annotations.size(); ++a) {
    const coco_annotation& ann = annotations[a];
    const rle& r = ann.segmentation;
    std::string counts;
    if (compressed) {
      counts = "\"";
      for (char c : rle_to_string(r)) {
        if (c == '\\') counts += '\\';  // the only character of 48..111 JSON escapes
        counts += c;
      }
      counts += '"';
    } else {
      counts = "[";
      for (std::size_t k = 0; k < r.counts.size(); ++k) counts += (k ? ", " : "") + std::to_string(r.counts[k]);
      counts += ']';
    }
    const boxes::box_xywh b = rle_bbox(r);  // whole pixels: the integers print exactly
    out += a ? ",\n {" : "{";
    out += "\"id\": " + json_number(ann.id) + ", \"image_id\": " + json_number(ann.image_id) +
           ", \"category_id\": " + json_number(std::int64_t{ann.category_id});
    out += ", \"segmentation\": {\"size\": [" + json_number(std::int64_t{r.height}) + ", " + json_number(std::int64_t{r.width}) +
           "], \"counts\": " + counts + "}";
    out += ", \"area\": " + json_number(rle_area(r));
    out += ", \"bbox\": [" + json_number(static_cast<std::int64_t>(b.x)) + ", " + json_number(static_cast<std::int64_t>(b.y)) +
           ", " + json_number(static_cast<std::int64_t>(b.w)) + ", " + json_number(static_cast<std::int64_t>(b.h)) + "]";
    out += ", \"iscrowd\": 0";
    if (std::isfinite(ann.score)) out += ", \"score\": " + json_number(ann.score);
    out += '}';
  }
  out += "]\n";
  return out;
}

}  // namespace vbatch::inline v0::model
