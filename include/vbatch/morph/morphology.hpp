#pragma once
// Batched dilate, erode, open, close, gradient, top-hat and black-hat, with OpenCV's semantics.
//
//   namespace morph = vbatch::morph;
//   morph::dilate(vbatch::cpu_par{}, masks, grown, morph::square(15));          // (N,H,W,1) u8
//   morph::close(vbatch::cpu_par{}, gray, out, morph::disk(5), {.iterations = 2});
//   auto opened = morph::open(vbatch::cpu_serial{}, masks, morph::ellipse(7, 5)); // allocates
//
// Every image of the batch in one call; u8 or f32, 1 to 4 channels, strided views allowed, src may
// be dst (in place). Results equal cv::dilate / cv::erode / cv::morphologyEx with the same element,
// anchor, iterations and the default border (kernels.hpp), and are identical for every executor,
// thread count, batch size and algorithm (f32: -0 and +0 count as equal; NaN is not supported).
//
// Algorithms (options::algorithm), all giving the same bytes:
//   automatic  the default: on the CPU packed for u8 1-channel images, else van_herk or segments;
//              on the GPU separable (rectangles), else segment_levels where it does less work
//              than direct (segment_levels_pays)
//   direct     any element, any executor: O(cells) per pixel, the reference (VBATCH_HOST_DEVICE)
//   segment_levels  any element, any executor: doubling levels of the rows, then two reads per
//              run, O(runs + log2 w) per pixel (VBATCH_HOST_DEVICE; the GPU's algorithm for disks)
//   separable  rectangles, any executor: a row pass and a column pass, O(w + h) per pixel
//   van_herk   rectangles, CPU: van Herk / Gil-Werman down the columns, O(1) in the height;
//              log4(w) vector passes along the rows
//   segments   any element, CPU: one run per element row, O(distinct runs + rows) per pixel
//   packed     any element, CPU, u8 1-channel 0/v masks: the two above at 64 pixels per word
//              (images with a third value take the pixel schedules)
// See morph/cpu/engine.hpp and docs/morph.md.
//
// can_morph() checks the arguments without throwing; the calls throw vbatch::error with the same
// message. The CPU schedules take scratch rows from a pool kept between calls (cpu/scratch.hpp);
// the GPU path allocates its temporary images and returns once the stream has finished with them.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "vbatch/core/buffer.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/morph/cpu/engine.hpp"
#include "vbatch/morph/element.hpp"
#include "vbatch/morph/kernels.hpp"
#include "vbatch/morph/plan.hpp"

namespace vbatch::inline v0::morph {

enum class operation { erode, dilate, open, close, gradient, tophat, blackhat };
enum class algorithm { automatic, direct, separable, van_herk, segments, packed, segment_levels };

constexpr const char* to_string(operation op) {
  constexpr const char* names[] = {"erode", "dilate", "open", "close", "gradient", "tophat", "blackhat"};
  return names[static_cast<int>(op)];
}
constexpr const char* to_string(algorithm a) {
  constexpr const char* names[] = {"automatic", "direct", "separable", "van_herk", "segments", "packed", "segment_levels"};
  return names[static_cast<int>(a)];
}

struct options {
  int iterations = 1;  // as OpenCV's: open = dilate^n(erode^n(x)); 0 copies
  morph::algorithm algorithm = algorithm::automatic;
  bool simd = true;  // CPU: allow the AVX2 variants (false: the portable loops; for tests)
};

namespace detail {

// Temporaries of a call on `Exec`: on the host from the scratch pool kept between calls
// (cpu/scratch.hpp), so that repeated calls on large images do not page-fault fresh memory each
// time; elsewhere in the executor's own memory space.
template <class Exec>
using temporary_memory =
    std::conditional_t<executor_traits<Exec>::host, cpu::pooled_memory, typename executor_traits<Exec>::memory>;

inline bool cpu_only(algorithm a) { return a == algorithm::van_herk || a == algorithm::segments || a == algorithm::packed; }

// Whether two views share any byte (then the operation goes through a copy of the source).
template <class S, class T>
bool overlap(const batch_view<S>& a, const batch_view<T>& b) {
  if (a.empty() || b.empty()) return false;
  const auto span = [](const auto& v) {
    const char* first = reinterpret_cast<const char*>(v.data);
    const std::ptrdiff_t last = (v.n - 1) * v.stride_n + (v.h - 1) * v.stride_h + (v.w - 1) * v.stride_w + v.c;
    return std::pair{first, first + last * std::ptrdiff_t(sizeof(*v.data))};
  };
  const auto [a0, a1] = span(a);
  const auto [b0, b1] = span(b);
  return a0 < b1 && b0 < a1;
}

}  // namespace detail

// Checks a morphology call without running it. `on_host`: whether the executor is a CPU one.
template <class T>
status can_morph(operation op, const batch_view<const T>& src, const batch_view<T>& dst, const structuring_element& e,
                 const options& o = {}, bool on_host = true) {
  const char* name = to_string(op);
  if (auto s = can_access(src, name); !s) return s;
  if (auto s = can_access(dst, name); !s) return s;
  if (src.shape() != dst.shape())
    return fail(errc::invalid_argument, "{}: source is {}x{}x{}x{} (N,H,W,C) but destination {}x{}x{}x{}", name, src.n, src.h,
                src.w, src.c, dst.n, dst.h, dst.w, dst.c);
  if (o.iterations < 0) return fail(errc::invalid_argument, "{}: iterations {} must be >= 0", name, o.iterations);
  const algorithm a = o.algorithm;
  if ((a == algorithm::separable || a == algorithm::van_herk) && !e.is_rect())
    return fail(errc::invalid_argument, "{}: algorithm {} needs a rectangular element, not a {} (use segments or direct)", name,
                to_string(a), describe(e));
  if (a == algorithm::packed && !(std::is_same_v<T, u8> && src.c == 1))
    return fail(errc::invalid_argument, "{}: algorithm packed needs u8 masks with 1 channel, not {} images with C = {}", name,
                element_name<T>(), src.c);
  if (!on_host && detail::cpu_only(a))
    return fail(errc::unsupported,
                "{}: algorithm {} runs on the CPU executors only (use automatic, direct, separable or segment_levels)", name,
                to_string(a));
  return status::success();
}

namespace detail {

// Up to two images of scratch, allocated on first use.
template <class T, class Memory>
class temporaries {
 public:
  explicit temporaries(batch_shape shape) : shape_(shape) {}
  batch_view<T> first() { return get(a_); }
  batch_view<T> second() { return get(b_); }

 private:
  batch_view<T> get(batch_buffer<T, Memory>& b) {
    if (b.shape() != shape_) b = batch_buffer<T, Memory>(shape_);
    return b.view();
  }
  batch_shape shape_;
  batch_buffer<T, Memory> a_, b_;
};

// Rows per band so that every thread has work: one band per image once there are 4 images per
// thread; otherwise enough bands for the images to split evenly over the threads, each band at
// least 16 rows and twice the element's height (every band re-reads an element's height of rows).
inline int band_rows(int n, int h, int threads, int element_rows) {
  if (threads <= 1 || n >= 4 * threads) return h;
  const int wanted = threads / std::gcd(n, threads);
  const int smallest = std::max(16, 2 * element_rows);
  const int bands = std::clamp(h / smallest, 1, wanted);
  return (h + bands - 1) / bands;
}

// The levels segment_levels needs: up to floor(log2) of the longest run inside a row of w pixels.
inline int segment_levels_needed(const folded_element& f, int w) {
  int longest = 1;
  for (const segment& s : f.runs) longest = std::max(longest, std::min(s.length, w));
  return floor_log2(static_cast<unsigned>(longest));
}

// Whether segment_levels does less work per pixel than direct, counted in loads and ops per
// output value: direct reads every cell inside the image and pays a loop per run; segment_levels
// pays one pass per level (two loads, one op, one store: 4) and per run two loads and two ops (a
// 1-pixel run: one load, one op). Disk radius 15: 760 against 136 (5.6x less); radius 30: 2942
// against 260 (11x); radius 2: 22 against 24 and a 3x3 cross 8 against 12 stay direct.
inline bool segment_levels_pays(const folded_element& f, int w) {
  std::int64_t direct = 0, levels = 4 * segment_levels_needed(f, w);
  for (const segment& s : f.runs) {
    const int cells = std::min(s.length, w);
    direct += cells + 1;
    levels += cells > 1 ? 4 : 2;
  }
  return levels < direct;
}

// segment_levels: the row levels of a group of images, then the runs from them. Images go in
// groups so that the levels take at most ~256 MiB (at least one image): each image is computed
// alone, so the grouping changes no byte.
template <class Op, class Exec, class T, class Memory>
void apply_segment_levels(const Exec& exec, batch_view<const T> src, batch_view<T> dst, const folded_element& f,
                          const buffer<segment, Memory>& table) {
  const int levels = segment_levels_needed(f, src.w);
  const std::int64_t image_values = std::int64_t(src.h) * src.w * src.c;
  constexpr std::int64_t budget_bytes = std::int64_t{256} << 20;
  const int group = levels == 0 ? src.n
                                : static_cast<int>(std::clamp<std::int64_t>(
                                      budget_bytes / (std::int64_t(levels) * image_values * std::int64_t(sizeof(T))), 1, src.n));
  const std::int64_t plane = image_values * group;
  buffer<T, Memory> store(static_cast<std::size_t>(levels * plane));  // (L,group,H,W,C)
  for (int first = 0; first < src.n; first += group) {
    const int count = std::min(group, src.n - first);
    const batch_view<const T> in = src.images(first, count);
    const extent3 extent{count, src.h, src.w};
    batch_view<const T> prev = in;
    for (int l = 1; l <= levels; ++l) {
      const batch_view<T> next = batch_view<T>::dense(store.data() + (l - 1) * plane, {count, src.h, src.w, src.c});
      for_each_index(exec, extent, row_level_kernel<T, Op>{prev, next, 1 << (l - 1)});
      prev = next;
    }
    for_each_index(exec, extent,
                   segment_levels_kernel<T, Op>{in, store.data(), plane, dst.images(first, count), table.data(),
                                                static_cast<int>(f.runs.size())});
  }
  executor_traits<Exec>::synchronize(exec);  // the levels must outlive the kernels
}

// One erosion or dilation, `f.repeat` times, src -> dst (which do not overlap).
template <class Op, class Exec, class T>
void apply_basic(const Exec& exec, batch_view<const T> src, batch_view<T> dst, const folded_element& f, const options& o,
                 temporaries<T, temporary_memory<Exec>>& tmp) {
  using memory = temporary_memory<Exec>;
  const extent3 extent{dst.n, dst.h, dst.w};
  if (f.repeat == 0) return for_each_index(exec, extent, copy_kernel<T>{src, dst});
  algorithm a = o.algorithm;
  if (a == algorithm::automatic && !executor_traits<Exec>::host)
    a = f.rect ? algorithm::separable : segment_levels_pays(f, dst.w) ? algorithm::segment_levels : algorithm::direct;

  if constexpr (executor_traits<Exec>::host) {
    if (a != algorithm::direct && a != algorithm::separable && a != algorithm::segment_levels) {
      const cpu::row_plan plan = cpu::make_row_plan(f.runs, f.rect && a != algorithm::segments);
      const bool packed_ok = std::is_same_v<T, u8> && src.c == 1 && (Op::is_dilate || f.contains_anchor);
      const int threads = executor_traits<Exec>::concurrency(exec);
      const int rows = band_rows(dst.n, dst.h, threads, plan.dy_max - plan.dy_min + 1);
      const cpu::band_kernel<T, Op> kernel{
          {}, {}, &plan, rows, packed_ok && (a == algorithm::automatic || a == algorithm::packed), o.simd && cpu::have_avx2()};
      const extent3 bands{dst.n, (dst.h + rows - 1) / rows, 1};
      // Ping-pong so that the last pass lands in dst.
      batch_view<const T> in = src;
      for (int r = 0; r < f.repeat; ++r) {
        const batch_view<T> out = (f.repeat - 1 - r) % 2 == 0 ? dst : tmp.first();
        cpu::band_kernel<T, Op> k = kernel;
        k.src = in, k.dst = out;
        for_each_index(exec, bands, k);
        in = out;
      }
      return;
    }
  }

  // The per-pixel kernels (every executor).
  batch_view<const T> in = src;
  const buffer<segment, memory> table = buffer<segment, memory>::from_host(f.runs);
  for (int r = 0; r < f.repeat; ++r) {
    const batch_view<T> out = (f.repeat - 1 - r) % 2 == 0 ? dst : tmp.first();
    if (a == algorithm::separable) {
      const batch_view<T> rows = tmp.second();
      const segment& s = f.runs.front();
      for_each_index(exec, extent, row_pass_kernel<T, Op>{in, rows, s.x0, s.length});
      for_each_index(exec, extent, column_pass_kernel<T, Op>{rows, out, s.dy, static_cast<int>(f.runs.back().dy - s.dy + 1)});
    } else if (a == algorithm::segment_levels) {
      apply_segment_levels<Op>(exec, in, out, f, table);
    } else {
      for_each_index(exec, extent, direct_kernel<T, Op>{in, out, table.data(), static_cast<int>(f.runs.size())});
    }
    in = out;
  }
  executor_traits<Exec>::synchronize(exec);  // the table and temporaries must outlive the kernels
}

template <class Exec, class T>
void run(const Exec& exec, operation op, batch_view<const T> src, batch_view<T> dst, const structuring_element& e,
         const options& o) {
  using memory = temporary_memory<Exec>;
  if (src.empty()) return;
  const folded_element f = fold(e, o.iterations, src.w, src.h);
  temporaries<T, memory> tmp(src.shape());
  // In place (or any overlap): work from a copy of the source.
  batch_buffer<T, memory> copy;
  if (overlap(src, dst)) {
    copy = batch_buffer<T, memory>(src.shape());
    for_each_index(exec, extent3{src.n, src.h, src.w}, copy_kernel<T>{src, copy.view()});
    src = copy.view();
  }
  const auto erode = [&](batch_view<const T> in, batch_view<T> out, temporaries<T, memory>& t) {
    apply_basic<erode_op>(exec, in, out, f, o, t);
  };
  const auto dilate = [&](batch_view<const T> in, batch_view<T> out, temporaries<T, memory>& t) {
    apply_basic<dilate_op>(exec, in, out, f, o, t);
  };
  const extent3 extent{src.n, src.h, src.w};
  temporaries<T, memory> inner(src.shape());
  switch (op) {
    case operation::erode:
      erode(src, dst, tmp);
      break;
    case operation::dilate:
      dilate(src, dst, tmp);
      break;
    case operation::open:
      erode(src, tmp.second(), inner);
      dilate(tmp.second(), dst, inner);
      break;
    case operation::close:
      dilate(src, tmp.second(), inner);
      erode(tmp.second(), dst, inner);
      break;
    case operation::gradient:
      dilate(src, dst, inner);
      erode(src, tmp.second(), inner);
      for_each_index(exec, extent, difference_kernel<T>{dst, tmp.second(), dst});
      break;
    case operation::tophat:
      erode(src, tmp.second(), inner);
      dilate(tmp.second(), dst, inner);
      for_each_index(exec, extent, difference_kernel<T>{src, dst, dst});
      break;
    case operation::blackhat:
      dilate(src, tmp.second(), inner);
      erode(tmp.second(), dst, inner);
      for_each_index(exec, extent, difference_kernel<T>{dst, src, dst});
      break;
  }
  executor_traits<Exec>::synchronize(exec);
}

}  // namespace detail

// ---- the calls ----------------------------------------------------------------------------------

// Applies `op` to every image of src into dst (same shape; may be the same memory).
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void morphology(const Exec& exec, operation op, batch_view<S> src, batch_view<T> dst, const structuring_element& e,
                const options& o = {}) {
  static_assert(vbatch::element<T>, "morph: images must be u8 or f32");
  static_assert(vbatch::executor<Exec>,
                "morph: not an executor: specialise vbatch::executor_traits for it (memory, host, concurrency, "
                "synchronize) and give it a for_each_index(exec, extent3, f) (docs/concepts.md); for vbatch::cuda include "
                "vbatch/core/cuda/executor.hpp (nvcc)");
  const batch_view<const T> in = src;
  check(can_morph(op, in, dst, e, o, executor_traits<Exec>::host));
  detail::run(exec, op, in, dst, e, o);
}

namespace detail {
// The allocating forms (host executors): the result in a new host buffer.
template <class Exec, class S>
batch_buffer<std::remove_const_t<S>> allocating(const Exec& exec, operation op, batch_view<S> src, const structuring_element& e,
                                                const options& o) {
  batch_buffer<std::remove_const_t<S>> out(src.shape());  // (N,H,W,C)
  morphology(exec, op, src, out.view(), e, o);
  return out;
}
}  // namespace detail

// min over the element
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void erode(const Exec& exec, batch_view<S> src, batch_view<T> dst, const structuring_element& e, const options& o = {}) {
  morphology(exec, operation::erode, src, dst, e, o);
}
template <class Exec, class S>
requires host_executor<Exec> batch_buffer<std::remove_const_t<S>> erode(const Exec& exec, batch_view<S> src,
                                                                        const structuring_element& e, const options& o = {}) {
  return detail::allocating(exec, operation::erode, src, e, o);
}

// max over the element
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void dilate(const Exec& exec, batch_view<S> src, batch_view<T> dst, const structuring_element& e, const options& o = {}) {
  morphology(exec, operation::dilate, src, dst, e, o);
}
template <class Exec, class S>
requires host_executor<Exec> batch_buffer<std::remove_const_t<S>> dilate(const Exec& exec, batch_view<S> src,
                                                                         const structuring_element& e, const options& o = {}) {
  return detail::allocating(exec, operation::dilate, src, e, o);
}

// dilate(erode(x)), each `iterations` times
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void open(const Exec& exec, batch_view<S> src, batch_view<T> dst, const structuring_element& e, const options& o = {}) {
  morphology(exec, operation::open, src, dst, e, o);
}
template <class Exec, class S>
requires host_executor<Exec> batch_buffer<std::remove_const_t<S>> open(const Exec& exec, batch_view<S> src,
                                                                       const structuring_element& e, const options& o = {}) {
  return detail::allocating(exec, operation::open, src, e, o);
}

// erode(dilate(x))
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void close(const Exec& exec, batch_view<S> src, batch_view<T> dst, const structuring_element& e, const options& o = {}) {
  morphology(exec, operation::close, src, dst, e, o);
}
template <class Exec, class S>
requires host_executor<Exec> batch_buffer<std::remove_const_t<S>> close(const Exec& exec, batch_view<S> src,
                                                                        const structuring_element& e, const options& o = {}) {
  return detail::allocating(exec, operation::close, src, e, o);
}

// dilate(x) - erode(x)
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void gradient(const Exec& exec, batch_view<S> src, batch_view<T> dst, const structuring_element& e, const options& o = {}) {
  morphology(exec, operation::gradient, src, dst, e, o);
}
template <class Exec, class S>
requires host_executor<Exec> batch_buffer<std::remove_const_t<S>> gradient(const Exec& exec, batch_view<S> src,
                                                                           const structuring_element& e, const options& o = {}) {
  return detail::allocating(exec, operation::gradient, src, e, o);
}

// x - open(x)
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void tophat(const Exec& exec, batch_view<S> src, batch_view<T> dst, const structuring_element& e, const options& o = {}) {
  morphology(exec, operation::tophat, src, dst, e, o);
}
template <class Exec, class S>
requires host_executor<Exec> batch_buffer<std::remove_const_t<S>> tophat(const Exec& exec, batch_view<S> src,
                                                                         const structuring_element& e, const options& o = {}) {
  return detail::allocating(exec, operation::tophat, src, e, o);
}

// close(x) - x
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void blackhat(const Exec& exec, batch_view<S> src, batch_view<T> dst, const structuring_element& e, const options& o = {}) {
  morphology(exec, operation::blackhat, src, dst, e, o);
}
template <class Exec, class S>
requires host_executor<Exec> batch_buffer<std::remove_const_t<S>> blackhat(const Exec& exec, batch_view<S> src,
                                                                           const structuring_element& e, const options& o = {}) {
  return detail::allocating(exec, operation::blackhat, src, e, o);
}

}  // namespace vbatch::inline v0::morph
