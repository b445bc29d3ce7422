#pragma once
// The CPU schedules of dilate / erode: the same values as the per-pixel kernels (kernels.hpp), in
// O(1) or O(rows of the element) work per pixel instead of O(cells).
//
// An element is a set of horizontal runs, (dy, x0, length) from the anchor.
//
// Horizontal. A row with border pixels on both sides is levelled in place, four at a time:
// D4[x] = op(D1[x], D1[x+1], D1[x+2], D1[x+3]), D16 from D4, ... and a run of length L is the op
// of at most four D_m (m the largest power of 4 <= L) at x + x0, x + x0 + m, ..., x + x0 + L - m.
// A 3-wide run is one pass over the row, a 61-wide one three; each further distinct (x0, L) of the
// element costs one pass more (a rectangle has one, a disk of radius r has r + 1; with more than
// two, levels go by twos). A scalar van Herk along the rows would be O(1) but measured 8-14x
// slower than these vector passes at widths 15-255, and runs are clamped to the image, so no
// image up to 65536 wide needs more than 8 passes.
//
// Gray images (u8 or f32, 1-4 channels interleaved; a shift of one pixel is C elements; AVX2
// max/min) stream input rows top to bottom through a band of output rows:
//   - rectangle, height <= 7: a ring of the last h rows, combined in one or two passes;
//   - rectangle, taller: van Herk / Gil-Werman down the rows. Output rows go in blocks of h; for a
//     block the suffix op S of its input rows is computed backwards once, the prefix op G of the
//     next block's rows grows forwards, and output t = op(S[t + dy0], G[t + dy0 + h - 1]): two row
//     passes per output row whatever h is. Blocks sit at multiples of h in absolute row numbers,
//     so the operations per pixel do not depend on where a band starts;
//   - any other element (disks, ellipses, crosses, custom): each input row's runs are scattered
//     into the output rows they belong to (output t = k - dy), kept in a ring as tall as the
//     element; an output row is complete once its last input row has passed.
//
// 0/v masks (u8, 1 channel) are packed at one bit per pixel, OR for dilation and AND for erosion
// with the border as 0 / 1 bits. A band's packed rows sit in one buffer, each row padded with
// border words wide enough that no shift reaches another row's pixels, so every step above becomes
// a single pass over the whole band (in chunks of 512 rows): the levelling, each run, and
// vertically the same levelling by whole rows (rectangles) or one shifted OR per run (other
// elements). The band packs its rows first and falls back to the gray schedule when a row holds a
// third value, so a gray image handed to the packed schedule costs one row of checking.
//
// Scratch rows come from a pool kept between calls (scratch.hpp).
//
// These are CPU schedules, run through for_each_index over (image, band) by the host executors;
// the GPU runs the per-pixel kernels instead.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "vbatch/core/buffer.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/morph/cpu/rows.hpp"
#include "vbatch/morph/cpu/scratch.hpp"
#include "vbatch/morph/kernels.hpp"

namespace vbatch::inline v0::morph::cpu {

// A folded element's runs grouped for the row schedules.
struct row_plan {
  struct window {
    int x0 = 0, length = 0;
  };
  struct placement {
    int dy = 0, window = 0;
  };
  std::vector<window> windows;        // distinct horizontal runs, shortest first
  std::vector<placement> placements;  // every run as (row, window), by row
  int dy_min = 0, dy_max = 0;
  int pad_left = 0, pad_right = 0;  // border pixels a loaded row needs on each side
  bool rect = false;                // one window, every row from dy_min to dy_max
};

inline row_plan make_row_plan(const std::vector<segment>& runs, bool rect) {
  row_plan p;
  p.rect = rect;
  p.dy_min = runs.front().dy, p.dy_max = runs.back().dy;
  const auto find = [&p](const segment& s) {
    return std::find_if(p.windows.begin(), p.windows.end(),
                        [&](const row_plan::window& w) { return w.x0 == s.x0 && w.length == s.length; });
  };
  for (const segment& s : runs) {
    if (find(s) == p.windows.end()) p.windows.push_back({s.x0, s.length});
    p.pad_left = std::max(p.pad_left, -s.x0);
    p.pad_right = std::max(p.pad_right, s.x0 + s.length - 1);
  }
  std::sort(p.windows.begin(), p.windows.end(), [](const row_plan::window& a, const row_plan::window& b) {
    return a.length != b.length ? a.length < b.length : a.x0 < b.x0;
  });
  for (const segment& s : runs) p.placements.push_back({s.dy, static_cast<int>(find(s) - p.windows.begin())});
  return p;
}

inline int floor_mod(int a, int m) { return ((a % m) + m) % m; }

// The largest power of `factor` (2 or 4) that is <= n (n >= 1).
inline int level_below(int n, int factor) {
  int m = 1;
  while (factor * m <= n) m *= factor;
  return m;
}

// Levels go four at a time for one or two distinct runs (fewer passes over the row); with more
// runs each run's own pass dominates, and two loads per pixel (levels of 2) beat four: a disk of
// radius 7 on a gray image measured 0.72 against 0.87 ms.
inline int level_factor(const row_plan& plan) { return plan.windows.size() <= 2 ? 4 : 2; }

// A run of length L from D_m (m = level_below(L, factor)): the offsets of its pieces (at most
// `factor`) from the run's first pixel.
inline int pieces_of(int length, int m, std::int64_t* offsets) {
  const int count = (length + m - 1) / m;
  for (int q = 0; q < count - 1; ++q) offsets[q] = std::int64_t{q} * m;
  offsets[count - 1] = length - m;
  return count;
}

// Streams one band of output rows of one gray image through a row_plan.
//   load(k, row, pad, elements): fill `elements` elements of `row` with input row k, its pixel 0
//                                at pixel `pad`, border pixels around it;
//   sink.open(t) -> row to write output row t into (stable until closed); sink.close(t, row).
template <class T, class Op>
class gray_engine {
 public:
  gray_engine(const row_plan& plan, int width, int height, int channels, bool simd)
      : plan_(plan), w_(width), h_(height), c_(channels), simd_(simd) {
    padded_pixels_ = plan.pad_left + w_ + plan.pad_right;
  }

  // Rows the sink must keep open at once.
  int sink_rows() const { return plan_.rect ? 1 : plan_.dy_max - plan_.dy_min + 1; }

  template <class Load, class Sink>
  void run(int y0, int y1, Load& load, Sink& sink) {
    const int h = plan_.dy_max - plan_.dy_min + 1;
    const int rows = !plan_.rect ? static_cast<int>(plan_.windows.size()) : h <= small_height ? h : 2 * h + 1;
    // Rows start on cache lines: a store that straddles two lines costs about twice as much.
    const auto aligned = [](std::ptrdiff_t n) { return (n + 63 / sizeof(T)) / (64 / sizeof(T)) * (64 / sizeof(T)); };
    const std::ptrdiff_t row = aligned(elements(w_)), first = aligned(elements(padded_pixels_));
    storage_ = scratch<T>(std::size_t(first + rows * row));
    padded_ = storage_.data();
    std::vector<T*> r(rows);
    for (int j = 0; j < rows; ++j) r[j] = padded_ + first + j * row;
    if (!plan_.rect) return scatter(y0, y1, load, sink, r.data());
    if (h <= small_height) return direct_rows(y0, y1, load, sink, r.data());
    std::vector<T*> cur(r.begin(), r.begin() + h), next(r.begin() + h, r.begin() + 2 * h);
    van_herk(y0, y1, load, sink, cur, next, r[2 * h]);
  }

 private:
  static constexpr int small_height = 7;

  std::ptrdiff_t elements(std::int64_t pixels) const { return static_cast<std::ptrdiff_t>(pixels * c_); }
  // dst = op over `count` rows, n pixels.
  void combine(T* dst, const T* const* src, int count, int n) const { cpu::combine<Op>(dst, src, count, elements(n), simd_); }
  void combine(T* dst, const T* a, const T* b, int n) const { cpu::combine<Op>(dst, a, b, elements(n), simd_); }

  // outputs[j] = window j of the plan applied to input row k (all border outside the image).
  template <class Load>
  void horizontal(int k, Load& load, T* const* outputs) {
    if (k < 0 || k >= h_) {
      for (std::size_t j = 0; j < plan_.windows.size(); ++j) std::fill_n(outputs[j], elements(w_), border_value<T, Op>());
      return;
    }
    load(k, padded_, plan_.pad_left, elements(padded_pixels_));
    int level = 1;  // padded_ holds D_level
    const int f = level_factor(plan_);
    for (std::size_t j = 0; j < plan_.windows.size(); ++j) {
      const row_plan::window win = plan_.windows[j];
      const int m = level_below(win.length, f);
      for (; level < m; level *= f) {
        const T* src[4] = {padded_, padded_ + elements(level), padded_ + elements(2 * level), padded_ + elements(3 * level)};
        combine(padded_, src, f, padded_pixels_ - f * level + 1);
      }
      std::int64_t offsets[4];
      const int count = pieces_of(win.length, m, offsets);
      const T* src[4];
      for (int q = 0; q < count; ++q) src[q] = padded_ + elements(plan_.pad_left + win.x0 + offsets[q]);
      combine(outputs[j], src, count, w_);
    }
  }

  // Rectangles of height <= small_height: op over the ring of the last h rows.
  template <class Load, class Sink>
  void direct_rows(int y0, int y1, Load& load, Sink& sink, T* const* ring) {
    const int h = plan_.dy_max - plan_.dy_min + 1, dy0 = plan_.dy_min;
    if (h == 1) {
      for (int t = y0; t < y1; ++t) {
        T* out = sink.open(t);
        horizontal(t + dy0, load, &out);
        sink.close(t, out);
      }
      return;
    }
    for (int k = y0 + dy0; k <= y1 - 1 + dy0 + h - 1; ++k) {
      horizontal(k, load, &ring[floor_mod(k, h)]);
      const int t = k - dy0 - h + 1;
      if (t < y0) continue;
      T* out = sink.open(t);
      const T* src[small_height];
      for (int j = 0; j < h; ++j) src[j] = ring[floor_mod(t + dy0 + j, h)];
      combine(out, src, std::min(h, 4), w_);
      if (h > 4) {
        const T* rest[4] = {out, src[4], h > 5 ? src[5] : out, h > 6 ? src[6] : out};
        combine(out, rest, h - 3, w_);
      }
      sink.close(t, out);
    }
  }

  // Taller rectangles: van Herk / Gil-Werman down the rows (see the header comment).
  template <class Load, class Sink>
  void van_herk(int y0, int y1, Load& load, Sink& sink, std::vector<T*>& cur, std::vector<T*>& next, T* g) {
    const int h = plan_.dy_max - plan_.dy_min + 1, dy0 = plan_.dy_min;
    const int b_first = y0 / h, b_last = (y1 - 1) / h;
    const auto suffix = [&](int lo) {
      for (int i = h - 2; i >= lo; --i) combine(cur[i], cur[i], cur[i + 1], w_);
    };
    const int lo = y0 - b_first * h;
    for (int i = lo; i < h; ++i) horizontal(b_first * h + dy0 + i, load, &cur[i]);
    suffix(lo);
    for (int b = b_first; b <= b_last; ++b) {
      const int t0 = b * h, base = t0 + dy0;
      if (t0 >= y0) {  // a window that is exactly block b
        T* out = sink.open(t0);
        std::copy_n(cur[0], elements(w_), out);
        sink.close(t0, out);
      }
      // Rows of block b + 1: all of them when block b + 1 has outputs too (its suffix needs them).
      const int need = b < b_last ? h : y1 - 1 - t0;
      const T* gp = nullptr;
      for (int j = 0; j < need; ++j) {
        horizontal(base + h + j, load, &next[j]);
        const int t = t0 + j + 1;
        const bool emit = j + 1 < h && t >= y0 && t < y1;
        T* out = emit ? sink.open(t) : nullptr;
        if (j == 0) {
          gp = next[0];
          if (emit) combine(out, cur[1], gp, w_);
        } else if (emit) {
          van_herk_step<Op>(g, out, gp, next[j], cur[j + 1], elements(w_), simd_);
          gp = g;
        } else {
          combine(g, gp, next[j], w_);
          gp = g;
        }
        if (emit) sink.close(t, out);
      }
      if (b < b_last) {
        std::swap(cur, next);
        suffix(0);
      }
    }
  }

  // Any element: every run of input row k goes to output row k - dy.
  template <class Load, class Sink>
  void scatter(int y0, int y1, Load& load, Sink& sink, T* const* windows) {
    const int e = plan_.dy_max - plan_.dy_min + 1;
    std::vector<T*> open(e, nullptr);
    for (int k = y0 + plan_.dy_min; k <= y1 - 1 + plan_.dy_max; ++k) {
      horizontal(k, load, windows);
      const int t_new = k - plan_.dy_min;  // receives its first runs now
      if (t_new >= y0 && t_new < y1) open[floor_mod(t_new, e)] = sink.open(t_new);
      bool first = true;
      for (const row_plan::placement& p : plan_.placements) {
        const int t = k - p.dy;
        if (t < y0 || t >= y1) continue;
        T* acc = open[floor_mod(t, e)];
        if (p.dy == plan_.dy_min && first) {
          std::copy_n(windows[p.window], elements(w_), acc);
          first = false;
        } else {
          combine(acc, acc, windows[p.window], w_);
        }
      }
      const int t_done = k - plan_.dy_max;
      if (t_done >= y0 && t_done < y1) sink.close(t_done, open[floor_mod(t_done, e)]);
    }
  }

  const row_plan& plan_;
  int w_, h_, c_;
  bool simd_;
  int padded_pixels_ = 0;
  scratch<T> storage_;
  T* padded_ = nullptr;
};

// One band of a 0/v mask at one bit per pixel (see the header comment). The band's rows are
// packed once; output rows then go in chunks of about `chunk_rows`, so that the chunk's buffers
// (its input rows with padding, one run, the output) stay in L2. Buffer row r of a chunk holds
// input row top + r, top = chunk start + dy_min: `left` border words, the row's bits, border words
// to the stride.
template <class Op>
class packed_engine {
 public:
  static constexpr word border = Op::is_dilate ? word{0} : ~word{0};
  static constexpr int chunk_rows = 512;

  packed_engine(const row_plan& plan, int width, int height, int y0, int y1, bool simd)
      : plan_(plan), w_(width), h_(height), y0_(y0), y1_(y1), simd_(simd) {
    data_ = (width + 63) / 64;
    left_ = (plan.pad_left + 63) / 64;
    stride_ = left_ + data_ + (plan.pad_right + 63) / 64 + 1;
    first_ = std::max(0, y0 + plan.dy_min), last_ = std::min(height - 1, y1 - 1 + plan.dy_max);
    packed_ = scratch<word>(std::size_t(std::max(0, last_ - first_ + 1) * data_));
    const int chunk = std::min(chunk_rows, y1 - y0);
    const std::ptrdiff_t rows = chunk + plan.dy_max - plan.dy_min;
    slack_ = stride_ + 8;  // shifted reads run up to a row's width plus two words past the last row
    levels_ = scratch<word>(std::size_t(rows * stride_ + slack_));
    window_ = scratch<word>(std::size_t(rows * stride_ + slack_));
    out_ = scratch<word>(std::size_t(chunk * stride_ + slack_));
  }

  // Packs the band's input rows (row(k) -> pointer and pixel step of image row k); false when a
  // row holds a third value. `value` is the mask's "on" value (0 until one is seen).
  template <class Row>
  bool pack(Row&& row, u8& value) {
    for (int k = first_; k <= last_; ++k) {
      const auto [pixels, step] = row(k);
      if (!pack_row(pixels, step, w_, packed_.data() + (k - first_) * data_, value, simd_)) return false;
    }
    return true;
  }

  // Computes every output row and hands it to write(y, bits).
  template <class Write>
  void run(Write&& write) {
    for (int c0 = y0_; c0 < y1_; c0 += chunk_rows) {
      const int c1 = std::min(y1_, c0 + chunk_rows);
      run_chunk(c0, c1);
      for (int u = 0; u < c1 - c0; ++u) write(c0 + u, out_.data() + u * stride_);
    }
  }

 private:
  void combine(word* dst, const word* src, const std::int64_t* bits, int count, std::ptrdiff_t words) const {
    const word* s[4] = {src, src, src, src};
    combine_bits<Op>(dst, s, bits, count, words, simd_);
  }

  void run_chunk(int c0, int c1) {
    const int rows = (c1 - c0) + plan_.dy_max - plan_.dy_min, outputs = c1 - c0;
    for (int r = 0; r < rows; ++r) {
      word* dst = levels_.data() + r * stride_;
      const int k = c0 + plan_.dy_min + r;
      std::fill_n(dst, left_, border);
      if (k < 0 || k >= h_) {
        std::fill_n(dst + left_, data_, border);
      } else {
        std::copy_n(packed_.data() + (k - first_) * data_, data_, dst + left_);
        if (!Op::is_dilate && w_ % 64 != 0) dst[left_ + data_ - 1] |= ~word{0} << (w_ % 64);  // border past the last pixel
      }
      std::fill(dst + left_ + data_, dst + stride_, border);
    }
    std::fill_n(levels_.data() + rows * stride_, slack_, border);
    std::fill_n(window_.data() + rows * stride_, slack_, border);
    std::fill_n(out_.data() + outputs * stride_, slack_, border);

    const std::int64_t row_bits = std::int64_t{stride_} * 64;
    int level = 1;  // levels_ holds D_level along the rows
    bool first = true;
    const int f = level_factor(plan_);
    for (std::size_t j = 0; j < plan_.windows.size(); ++j) {
      const row_plan::window win = plan_.windows[j];
      const int m = level_below(win.length, f);
      for (; level < m; level *= f) {
        const std::int64_t bits[4] = {0, level, 2 * level, 3 * level};
        combine(levels_.data(), levels_.data(), bits, f, rows * stride_);
      }
      // window_ bit (r, x) = op over the run's pieces of levels_ bit (r, left + x0 + x + offset).
      std::int64_t bits[4];
      const int count = pieces_of(win.length, m, bits);
      for (int q = 0; q < count; ++q) bits[q] += std::int64_t{left_} * 64 + win.x0;
      combine(window_.data(), levels_.data(), bits, count, rows * stride_);
      if (plan_.rect) return vertical_levels(rows, outputs);
      // Output row u takes this window's rows u + dy - dy_min for each run using it.
      for (const row_plan::placement& p : plan_.placements) {
        if (p.window != static_cast<int>(j)) continue;
        const std::int64_t shift = (p.dy - plan_.dy_min) * row_bits;
        if (first) {
          combine(out_.data(), window_.data(), &shift, 1, outputs * stride_);
          first = false;
        } else {
          const word* src[2] = {out_.data(), window_.data()};
          const std::int64_t at[2] = {0, shift};
          combine_bits<Op>(out_.data(), src, at, 2, outputs * stride_, simd_);
        }
      }
    }
  }

  // A rectangle: level window_ down the rows four at a time, then op of <= 4 pieces per output row.
  void vertical_levels(int rows, int outputs) {
    const int h = plan_.dy_max - plan_.dy_min + 1, m = level_below(h, 4);
    const std::int64_t row_bits = std::int64_t{stride_} * 64;
    for (int level = 1; level < m; level *= 4) {
      const std::int64_t bits[4] = {0, level * row_bits, 2 * level * row_bits, 3 * level * row_bits};
      combine(window_.data(), window_.data(), bits, 4, (rows - 4 * level + 1) * stride_);
    }
    std::int64_t bits[4];
    const int count = pieces_of(h, m, bits);
    for (int q = 0; q < count; ++q) bits[q] *= row_bits;
    combine(out_.data(), window_.data(), bits, count, outputs * stride_);
  }

  const row_plan& plan_;
  int w_, h_, y0_, y1_;
  bool simd_;
  int first_ = 0, last_ = -1;  // image rows held in packed_
  std::ptrdiff_t data_, left_, stride_, slack_;
  scratch<word> packed_, levels_, window_, out_;
};

// Output rows kept in a ring of `slots` rows until emit(t, row) writes them out.
template <class Unit, class Emit>
class ring_sink {
 public:
  ring_sink(int slots, std::ptrdiff_t row_units, Emit emit)
      : slots_(slots), row_units_(row_units), storage_(std::size_t(slots) * row_units), emit_(std::move(emit)) {}
  Unit* open(int t) { return storage_.data() + std::ptrdiff_t(floor_mod(t, slots_)) * row_units_; }
  void close(int t, Unit* row) { emit_(t, row); }

 private:
  int slots_;
  std::ptrdiff_t row_units_;
  scratch<Unit> storage_;
  Emit emit_;
};

// Output rows written straight into a destination image whose pixels are contiguous.
template <class T>
struct direct_sink {
  batch_view<T> dst;
  int image;
  T* open(int t) { return dst.pixel(image, t, 0); }
  void close(int, T*) {}
};

// The band kernel: for_each_index over (image, band, 0) runs output rows
// [band * band_rows, (band + 1) * band_rows) of one image.
template <class T, class Op>
struct band_kernel {
  batch_view<const T> src;  // (N,H,W,C)
  batch_view<T> dst;        // (N,H,W,C), not overlapping src
  const row_plan* plan;
  int band_rows = 1;
  bool try_packed = false;  // u8, 1 channel, and (dilation or the anchor's cell set)
  bool simd = true;

  void operator()(int i, int band, int) const {
    const int y0 = band * band_rows, y1 = std::min(src.h, y0 + band_rows);
    if (y0 >= y1) return;
    if constexpr (std::is_same_v<T, u8>)
      if (try_packed && run_packed(i, y0, y1)) return;
    run_gray(i, y0, y1);
  }

  void run_gray(int i, int y0, int y1) const {
    gray_engine<T, Op> engine(*plan, src.w, src.h, src.c, simd);
    const int c = src.c, w = src.w;
    auto load = [&](int k, T* padded, int pad, std::ptrdiff_t units) {
      const T border = border_value<T, Op>();
      std::fill_n(padded, std::ptrdiff_t(pad) * c, border);
      const T* in = src.pixel(i, k, 0);
      if (k + 1 < src.h) {  // the next row, so that it streams in while this one is worked on (-7%)
        const char* ahead = reinterpret_cast<const char*>(src.pixel(i, k + 1, 0));
        for (std::ptrdiff_t b = 0; b < std::ptrdiff_t(w) * c * std::ptrdiff_t(sizeof(T)); b += 64) __builtin_prefetch(ahead + b);
      }
      T* out = padded + std::ptrdiff_t(pad) * c;
      if (src.stride_w == c) {
        std::memcpy(out, in, std::size_t(w) * c * sizeof(T));
      } else {
        for (int x = 0; x < w; ++x)
          for (int ch = 0; ch < c; ++ch) out[x * c + ch] = in[x * src.stride_w + ch];
      }
      std::fill(out + std::ptrdiff_t(w) * c, padded + units, border);
    };
    if (dst.stride_w == c) {
      direct_sink<T> sink{dst, i};
      engine.run(y0, y1, load, sink);
    } else {
      auto emit = [&](int t, const T* row) {
        T* out = dst.pixel(i, t, 0);
        for (int x = 0; x < w; ++x)
          for (int ch = 0; ch < c; ++ch) out[x * dst.stride_w + ch] = row[x * c + ch];
      };
      ring_sink<T, decltype(emit)> sink(engine.sink_rows(), std::ptrdiff_t(w) * c, emit);
      engine.run(y0, y1, load, sink);
    }
  }

  // Packs the band's input rows; false (nothing written) when they are not a two-valued mask.
  bool run_packed(int i, int y0, int y1) const {
    packed_engine<Op> engine(*plan, src.w, src.h, y0, y1, simd);
    u8 value = 0;
    if (!engine.pack([&](int k) { return std::pair{src.pixel(i, k, 0), src.stride_w}; }, value)) return false;
    if (value == 0) value = 255;  // an empty band: no "on" value to write anyway
    engine.run([&](int y, const word* bits) { unpack_row(bits, src.w, value, dst.pixel(i, y, 0), dst.stride_w, simd); });
    return true;
  }
};

}  // namespace vbatch::inline v0::morph::cpu
