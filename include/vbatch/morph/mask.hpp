#pragma once
// Mask helpers the segmentation pipelines need around morphology.
//
//   morph::mask_union(exec, instances, person_masks);        // (N*K,H,W,1) -> (N,H,W,1), max of each K
//   morph::mask_intersection(exec, instances, common);       // min of each K
//   morph::threshold(exec, probabilities, masks, 0.5f);      // f32 (or u8) -> u8: p > 0.5 ? 255 : 0
//   morph::invert_mask(exec, keep, remove);                  // 0 <-> 255 (or 0 <-> on_value)
//   if (!morph::any(mask.image(i))) continue;                // skip an empty mask (host memory)
//
// union and intersection are the element-wise max and min (OR and AND for 0/v masks of one v;
// fuzzy union and intersection for probabilities). threshold is strict like OpenCV's
// THRESH_BINARY (p > level; NaN is never above it). invert_mask swaps the conventions
// "0 = remove, 255 = keep" and "255 = remove": zero becomes on_value, anything else 0.
// The first four are per-pixel VBATCH_HOST_DEVICE kernels (any executor); any() reads host memory.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/morph/kernels.hpp"

namespace vbatch::inline v0::morph {

// dst image i = op over masks[i * K + k], K = masks.n / dst.n.
template <class T, class Op>
struct merge_kernel {
  batch_view<const T> masks;  // (N*K,H,W,C)
  batch_view<T> dst;          // (N,H,W,C)
  int per_image;

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    T* out = dst.pixel(i, y, x);
    const T* first = masks.pixel(i * per_image, y, x);
    for (int c = 0; c < dst.c; ++c) out[c] = first[c];
    for (int k = 1; k < per_image; ++k) {
      const T* p = masks.pixel(i * per_image + k, y, x);
      for (int c = 0; c < dst.c; ++c) out[c] = Op::apply(out[c], p[c]);
    }
  }
};

template <class T>
struct threshold_kernel {
  batch_view<const T> src;  // (N,H,W,C)
  batch_view<u8> dst;       // (N,H,W,C)
  float level;
  u8 on_value;

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    const T* p = src.pixel(i, y, x);
    u8* out = dst.pixel(i, y, x);
    for (int c = 0; c < src.c; ++c) out[c] = static_cast<float>(p[c]) > level ? on_value : u8(0);
  }
};

struct invert_kernel {
  batch_view<const u8> src;  // (N,H,W,C)
  batch_view<u8> dst;        // (N,H,W,C)
  u8 on_value;

  VBATCH_HOST_DEVICE void operator()(int i, int y, int x) const {
    const u8* p = src.pixel(i, y, x);
    u8* out = dst.pixel(i, y, x);
    for (int c = 0; c < src.c; ++c) out[c] = p[c] == 0 ? on_value : u8(0);
  }
};

// ---- checks -------------------------------------------------------------------------------------

template <class T>
status can_merge_masks(const char* what, const batch_view<const T>& masks, const batch_view<T>& dst) {
  if (auto s = can_access(masks, what); !s) return s;
  if (auto s = can_access(dst, what); !s) return s;
  if (masks.h != dst.h || masks.w != dst.w || masks.c != dst.c)
    return fail(errc::invalid_argument, "{}: masks are {}x{}x{} (H,W,C) but the destination {}x{}x{}", what, masks.h, masks.w,
                masks.c, dst.h, dst.w, dst.c);
  if (dst.n == 0 ? masks.n != 0 : (masks.n == 0 || masks.n % dst.n != 0))
    return fail(errc::invalid_argument, "{}: {} masks do not split into {} destination images (K masks each, K >= 1)", what,
                masks.n, dst.n);
  return status::success();
}

template <class T>
status can_threshold(const batch_view<const T>& src, const batch_view<u8>& dst, float level) {
  if (auto s = can_access(src, "threshold"); !s) return s;
  if (auto s = can_access(dst, "threshold"); !s) return s;
  if (src.shape() != dst.shape())
    return fail(errc::invalid_argument, "threshold: source is {}x{}x{}x{} (N,H,W,C) but destination {}x{}x{}x{}", src.n, src.h,
                src.w, src.c, dst.n, dst.h, dst.w, dst.c);
  if (std::isnan(level)) return fail(errc::invalid_argument, "threshold: level {} is not a number", level);
  return status::success();
}

inline status can_invert_mask(const batch_view<const u8>& src, const batch_view<u8>& dst) {
  if (auto s = can_access(src, "invert_mask"); !s) return s;
  if (auto s = can_access(dst, "invert_mask"); !s) return s;
  if (src.shape() != dst.shape())
    return fail(errc::invalid_argument, "invert_mask: source is {}x{}x{}x{} (N,H,W,C) but destination {}x{}x{}x{}", src.n, src.h,
                src.w, src.c, dst.n, dst.h, dst.w, dst.c);
  return status::success();
}

// ---- the calls ----------------------------------------------------------------------------------

// Union of the K = masks.n / dst.n instance masks of each image (element-wise max).
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void mask_union(const Exec& exec, batch_view<S> masks, batch_view<T> dst) {
  const batch_view<const T> in = masks;
  check(can_merge_masks("mask_union", in, dst));
  if (dst.empty()) return;
  for_each_index(exec, extent3{dst.n, dst.h, dst.w}, merge_kernel<T, dilate_op>{in, dst, in.n / dst.n});
}

// Intersection of the K instance masks of each image (element-wise min).
template <class Exec, class S, class T>
requires std::is_same_v<std::remove_const_t<S>, T>
void mask_intersection(const Exec& exec, batch_view<S> masks, batch_view<T> dst) {
  const batch_view<const T> in = masks;
  check(can_merge_masks("mask_intersection", in, dst));
  if (dst.empty()) return;
  for_each_index(exec, extent3{dst.n, dst.h, dst.w}, merge_kernel<T, erode_op>{in, dst, in.n / dst.n});
}

// dst = src > level ? on_value : 0, per channel (a probability map to a mask).
template <class Exec, class S>
void threshold(const Exec& exec, batch_view<S> src, batch_view<u8> dst, float level, u8 on_value = 255) {
  using T = std::remove_const_t<S>;
  static_assert(vbatch::element<T>, "threshold: images must be u8 or f32");
  const batch_view<const T> in = src;
  check(can_threshold(in, dst, level));
  if (dst.empty()) return;
  for_each_index(exec, extent3{dst.n, dst.h, dst.w}, threshold_kernel<T>{in, dst, level, on_value});
}

// dst = src == 0 ? on_value : 0 (src may be dst).
template <class Exec, class S>
requires std::is_same_v<std::remove_const_t<S>, u8>
void invert_mask(const Exec& exec, batch_view<S> src, batch_view<u8> dst, u8 on_value = 255) {
  const batch_view<const u8> in = src;
  check(can_invert_mask(in, dst));
  if (dst.empty()) return;
  for_each_index(exec, extent3{dst.n, dst.h, dst.w}, invert_kernel{in, dst, on_value});
}

// Whether any value of the view (host memory) is nonzero; stops at the first row that has one.
// Rows of contiguous pixels are scanned 8 bytes at a time (f32: -0.0 counts as zero).
template <class S>
bool any(batch_view<S> v) {
  using T = std::remove_const_t<S>;
  static_assert(vbatch::element<T>, "any: images must be u8 or f32");
  check(can_access(v, "any"));
  for (int i = 0; i < v.n; ++i)
    for (int y = 0; y < v.h; ++y) {
      const T* row = v.pixel(i, y, 0);
      if (v.stride_w == v.c) {
        const std::size_t count = std::size_t(v.w) * v.c;
        if constexpr (std::is_same_v<T, u8>) {
          std::uint64_t acc = 0;
          std::size_t k = 0;
          for (; k + 8 <= count; k += 8) {
            std::uint64_t w;
            std::memcpy(&w, row + k, 8);
            acc |= w;
          }
          for (; k < count; ++k) acc |= row[k];
          if (acc) return true;
        } else {
          bool found = false;
          for (std::size_t k = 0; k < count; ++k) found |= row[k] != 0.0f;
          if (found) return true;
        }
      } else {
        for (int x = 0; x < v.w; ++x)
          for (int c = 0; c < v.c; ++c)
            if (row[std::ptrdiff_t(x) * v.stride_w + c] != T(0)) return true;
      }
    }
  return false;
}

}  // namespace vbatch::inline v0::morph
