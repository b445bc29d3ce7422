#pragma once
// Cube maps: e2c (equirectangular -> six faces), c2e (six faces -> equirectangular) and the
// layouts faces are stored in.
//
// Faces are ordered F R B L U D (cube_rig). In memory a cube is a batch of six square images per
// frame, (F*6, w, w, C): the "list" layout. to_layout / from_layout convert to and from
//   horizon: one w × 6w image, faces left to right;
//   dice:    one 3w × 4w image, the cross   . U . .
//                                           L F R B
//                                           . D . .   (empty cells are zero).
//
//   auto faces = vbatch::sample::e2c(vbatch::cpu_par{}, frames, 1024);                 // (F*6,1024,1024,3)
//   auto pano  = vbatch::sample::c2e(vbatch::cpu_par{}, faces.view(), 4096, 2048);     // (F,2048,4096,3)

#include <algorithm>
#include <optional>
#include <string_view>

#include "vbatch/sample/e2p.hpp"

namespace vbatch::inline v0::sample {

enum class cube_layout { list, horizon, dice };

inline std::optional<cube_layout> find_cube_layout(std::string_view name) {
  if (name == "list") return cube_layout::list;
  if (name == "horizon") return cube_layout::horizon;
  if (name == "dice") return cube_layout::dice;
  return std::nullopt;
}

// Cell (column, row) of each face in a layout image, in face widths.
inline constexpr int horizon_cells[6][2] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}};
inline constexpr int dice_cells[6][2] = {{1, 1}, {2, 1}, {3, 1}, {0, 1}, {1, 0}, {1, 2}};

// The view of face f of every cube stored in layout images (N, rows*w, cols*w, C).
template <class T>
batch_view<T> face_in_layout(batch_view<T> layout_images, cube_layout layout, int f) {
  const int w = layout == cube_layout::horizon ? layout_images.h : layout_images.h / 3;
  const auto& cell = layout == cube_layout::horizon ? horizon_cells[f] : dice_cells[f];
  return layout_images.crop(cell[1] * w, cell[0] * w, w, w);
}

namespace detail {
// Copies the pixels src shows into dst (same shape); whole rows when both have contiguous pixels.
template <class D, class S>
void copy_pixels(batch_view<D> dst, batch_view<S> src) {
  const bool rows = src.stride_w == src.c && dst.stride_w == dst.c;
  for (int i = 0; i < src.n; ++i)
    for (int y = 0; y < src.h; ++y) {
      if (rows) {
        std::copy_n(src.pixel(i, y, 0), std::size_t(src.w) * src.c, dst.pixel(i, y, 0));
        continue;
      }
      for (int x = 0; x < src.w; ++x) std::copy_n(src.pixel(i, y, x), src.c, dst.pixel(i, y, x));
    }
}
}  // namespace detail

// Faces (F*6, w, w, C) -> layout images (F, ...). `list` is not a layout image.
template <class S>
batch_buffer<std::remove_const_t<S>> to_layout(batch_view<S> faces, cube_layout layout) {
  if (layout == cube_layout::list) raise(errc::invalid_argument, "to_layout: list is the faces batch itself");
  if (faces.n % 6 != 0 || faces.w != faces.h)
    raise(errc::invalid_argument, "to_layout: faces must be a (N*6, w, w, C) batch; got {}x{}x{}x{}", faces.n, faces.h, faces.w,
          faces.c);
  const int w = faces.w, frames = faces.n / 6;
  const batch_shape shape =
      layout == cube_layout::horizon ? batch_shape{frames, w, 6 * w, faces.c} : batch_shape{frames, 3 * w, 4 * w, faces.c};
  batch_buffer<std::remove_const_t<S>> out(shape);
  std::fill_n(out.data(), shape.elements(), std::remove_const_t<S>{});
  for (int i = 0; i < frames; ++i)
    for (int f = 0; f < 6; ++f) detail::copy_pixels(face_in_layout(out.view().image(i), layout, f), faces.image(i * 6 + f));
  return out;
}

// Layout images (F, ...) -> faces (F*6, w, w, C).
template <class S>
batch_buffer<std::remove_const_t<S>> from_layout(batch_view<S> images, cube_layout layout) {
  const bool ok = layout == cube_layout::horizon
                      ? images.w == 6 * images.h
                      : layout == cube_layout::dice && images.h % 3 == 0 && images.w * 3 == images.h * 4;
  if (!ok || images.h == 0)
    raise(errc::invalid_argument, "from_layout: a {}x{} image is not a {} cube layout", images.w, images.h,
          layout == cube_layout::horizon ? "horizon (6w x w)" : "dice (4w x 3w)");
  const int w = layout == cube_layout::horizon ? images.h : images.h / 3;
  batch_buffer<std::remove_const_t<S>> faces({images.n * 6, w, w, images.c});
  for (int i = 0; i < images.n; ++i)
    for (int f = 0; f < 6; ++f) detail::copy_pixels(faces.view().image(i * 6 + f), face_in_layout(images.image(i), layout, f));
  return faces;
}

// Six faces of face_w pixels per frame: e2p with cube_rig(face_w).
template <class Exec, class S, class Interp = interp::bilinear>
batch_buffer<std::remove_const_t<S>> e2c(const Exec& exec, batch_view<S> frames, int face_w, Interp interp = {},
                                         const angle_convention& conv = conventions::vbatch) {
  return e2p(exec, frames, cube_rig(face_w, conv), interp);
}

// Equirectangular frames of width × height from faces (F*6, w, w, C); taps across a face edge
// read the neighbouring face.
template <class Exec, class S, class T, map_policy P, class Memory, class Interp = interp::bilinear>
void c2e(const Exec& exec, batch_view<S> faces, const c2e_map<P, Memory>& map, batch_view<T> panoramas, Interp interp = {}) {
  remap(exec, faces, map, panoramas, interp, border::cube_seams{map.source()});
}

template <class Exec, class S, class Interp = interp::bilinear>
batch_buffer<std::remove_const_t<S>> c2e(const Exec& exec, batch_view<S> faces, int width, int height, Interp interp = {},
                                         const angle_convention& conv = conventions::vbatch) {
  static_assert(host_executor<Exec>, "c2e: the allocating overload runs on the CPU; on CUDA build a device map and pass views");
  if (faces.n == 0 || faces.n % 6 != 0 || faces.w != faces.h)
    raise(errc::invalid_argument, "c2e: faces must be (N*6, w, w, C) with N > 0; got {}x{}x{}x{}", faces.n, faces.h, faces.w,
          faces.c);
  const c2e_map<maps::on_the_fly> map(width, height, cube_source::from(faces.w, conv.span));
  batch_buffer<std::remove_const_t<S>> out({faces.n / 6, height, width, faces.c});
  c2e(exec, faces, map, out.view(), interp);
  return out;
}

}  // namespace vbatch::inline v0::sample
