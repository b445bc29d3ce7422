// The CPU's row schedules, SIMD u8 bilinear (sample/cpu/bilinear_simd.hpp), nearest and the
// others with fetching ahead (remap_kernel::nearest_row, fetch_ahead_row; SIMD float
// interpolation, sample/cpu/separable_simd.hpp), must write exactly the bytes the per-pixel body writes, which
// is what every other executor (and the GPU) runs. Each case runs
// remap through the CPU executors (rows, SIMD where eligible) and through a functor that exposes
// only the per-pixel operator(), and compares every byte.

#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>
#include <vector>

#include "vbatch/sample/cube.hpp"
#include "vbatch/sample/synthetic.hpp"

namespace {

using namespace vbatch;
using namespace vbatch::sample;

// Hides remap_kernel::row(), so for_each_index calls the per-pixel body.
template <class Kernel>
struct per_pixel_only {
  Kernel kernel;
  void operator()(int i, int y, int x) const { kernel(i, y, x); }
};

template <int C, class T, class Map, class Border, class Interp = interp::bilinear>
batch_buffer<T> per_pixel_remap(batch_view<const T> src, const Map& map, batch_shape out_shape, Border border, Interp = {}) {
  batch_buffer<T> out(out_shape);
  const remap_kernel<C, T, Map, Interp, Border> kernel{src, out.view(), map, {}, border};
  for_each_index(cpu_serial{}, {out_shape.n, out_shape.h, out_shape.w}, per_pixel_only<decltype(kernel)>{kernel});
  return out;
}

template <class T>
std::int64_t differing_bytes(const batch_buffer<T>& a, const batch_buffer<T>& b) {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < a.shape().elements(); ++i) n += a.data()[i] != b.data()[i];
  return n;
}

// Noise makes every tap matter: a wrong weight or a swapped channel changes bytes everywhere.
// f32 noise has fractions (1/256 steps).
template <class T = u8>
batch_buffer<T> noise_panorama(int w, int h, int c, std::uint32_t seed) {
  batch_buffer<T> image({1, h, w, c});  // (1,H,W,C)
  for (std::int64_t i = 0; i < image.shape().elements(); ++i) {
    seed = seed * 1664525u + 1013904223u;
    image.data()[i] = std::is_same_v<T, u8> ? T(seed >> 24) : T((seed >> 16) / 256.0);
  }
  return image;
}

template <int C, class Policy, class Interp = interp::bilinear, class T = u8>
void expect_simd_matches_per_pixel(int source_w, int source_h, const rig& cameras) {
  const batch_buffer<T> pano = noise_panorama<T>(source_w, source_h, C, 7u * source_w + source_h);
  const auto map = make_e2p_map<Policy>(cameras, source_w, source_h);
  const map_shape& m = map.shape();
  const batch_shape out_shape{m.views, m.height, m.width, C};  // (K,H,W,C)
  const batch_buffer<T> reference = per_pixel_remap<C, T>(pano.view(), map.view(), out_shape, border::wrap_equirect{}, Interp{});
  for (int threads : {1, 2, 7}) {
    batch_buffer<T> out(out_shape);
    remap(cpu_par{threads}, pano.view(), map, out.view(), Interp{}, border::wrap_equirect{});
    EXPECT_EQ(differing_bytes(out, reference), 0) << Policy::name << ", " << Interp::name << ", " << C << " channels, "
                                                  << source_w << "x" << source_h << " source, " << threads << " threads";
  }
}

TEST(RemapSimd, MatchesThePerPixelBodyForThreeAndFourChannels) {
  RecordProperty("simd", cpu::best_simd() == cpu::simd::avx2 ? "avx2" : "none");
  // Widths that are not multiples of 8, the seam (yaw 180) and both poles (pitch ±80).
  rig cameras = ring_rig(4, 0, 203, 77, 100);
  for (const camera& c : ring_rig(3, 80, 203, 77, 120)) cameras.push_back(c);
  for (const camera& c : ring_rig(3, -80, 203, 77, 120)) cameras.push_back(c);
  // Fixed-point maps are read in place; float and ray maps are rounded to fixed point per chunk.
  expect_simd_matches_per_pixel<3, maps::cached_fixed>(640, 320, cameras);
  expect_simd_matches_per_pixel<4, maps::cached_fixed>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::cached_float>(640, 320, cameras);
  expect_simd_matches_per_pixel<4, maps::cached_float>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::on_the_fly>(640, 320, cameras);
  expect_simd_matches_per_pixel<4, maps::on_the_fly>(640, 320, cameras);
}

TEST(RemapSimd, NearestAndFetchAheadRowsMatchThePerPixelBody) {
  // Rows wider than one fetch-ahead chunk (256 pixels), the seam and both poles, where pixels
  // fall outside the source and take the border.
  rig cameras = ring_rig(4, 0, 611, 41, 100);
  for (const camera& c : ring_rig(2, 85, 611, 41, 120)) cameras.push_back(c);
  for (const camera& c : ring_rig(2, -85, 611, 41, 120)) cameras.push_back(c);
  expect_simd_matches_per_pixel<1, maps::cached_fixed, interp::nearest>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::cached_fixed, interp::nearest>(640, 320, cameras);
  expect_simd_matches_per_pixel<4, maps::cached_fixed, interp::nearest>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::cached_float, interp::nearest>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::on_the_fly, interp::nearest>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::cached_fixed, interp::nearest>(5, 3, cameras);
  // The other cases run the per-pixel body a chunk at a time after fetching ahead.
  // Float interpolation with 3 and 4 channels has a SIMD schedule inside the image
  // (cpu/separable_simd.hpp): u8 bicubic and exact bilinear, f32 bilinear and bicubic.
  expect_simd_matches_per_pixel<3, maps::cached_float, interp::bicubic>(640, 320, cameras);
  expect_simd_matches_per_pixel<4, maps::cached_fixed, interp::bicubic>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::on_the_fly, interp::bicubic>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::cached_float, interp::bilinear_exact>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::cached_float, interp::bilinear, f32>(640, 320, cameras);
  expect_simd_matches_per_pixel<4, maps::cached_fixed, interp::bilinear, f32>(640, 320, cameras);
  expect_simd_matches_per_pixel<3, maps::on_the_fly, interp::bicubic, f32>(640, 320, cameras);
  expect_simd_matches_per_pixel<1, maps::cached_float, interp::bilinear, f32>(640, 320, cameras);
  for (auto [w, h] : {std::pair{4, 4}, {5, 4}, {6, 5}, {9, 7}}) {  // footprints at the last column and row
    expect_simd_matches_per_pixel<3, maps::cached_float, interp::bicubic>(w, h, cameras);
    expect_simd_matches_per_pixel<4, maps::cached_float, interp::bicubic>(w, h, cameras);
    expect_simd_matches_per_pixel<3, maps::cached_float, interp::bilinear, f32>(w, h, cameras);
    expect_simd_matches_per_pixel<3, maps::cached_float, interp::bicubic, f32>(w, h, cameras);
  }
  expect_simd_matches_per_pixel<4, maps::cached_fixed, interp::bilinear_exact>(640, 320, cameras);
}

TEST(RemapSimd, MatchesAtTheSourceEdgesOfTinyImages) {
  // Footprints at the last columns and rows, where the SIMD loads would leave the image.
  const rig cameras = ring_rig(2, 30, 37, 19, 150);
  for (auto [w, h] : {std::pair{3, 2}, {4, 2}, {5, 3}, {16, 8}}) {
    expect_simd_matches_per_pixel<3, maps::cached_fixed>(w, h, cameras);
    expect_simd_matches_per_pixel<4, maps::cached_fixed>(w, h, cameras);
    expect_simd_matches_per_pixel<3, maps::cached_float>(w, h, cameras);
  }
}

template <class Policy>
void expect_cube_simd_matches_per_pixel() {
  const int face_w = 48;
  const cube_source cube = cube_source::from(face_w);
  const c2e_map<Policy> map(161, 80, cube);
  batch_buffer<u8> faces({6, face_w, face_w, 3});  // (6,w,w,3)
  const batch_buffer<u8> noise = noise_panorama(face_w, 6 * face_w, 3, 99);
  std::copy_n(noise.data(), noise.shape().elements(), faces.data());
  const batch_shape out_shape{1, 80, 161, 3};
  const batch_buffer<u8> reference = per_pixel_remap<3, u8>(faces.view(), map.view(), out_shape, border::cube_seams{cube});
  batch_buffer<u8> out(out_shape);
  c2e(cpu_par{2}, faces.view(), map, out.view());
  EXPECT_EQ(differing_bytes(out, reference), 0) << Policy::name;
}

TEST(RemapSimd, MatchesForCubeSourcesWithPerPixelFaces) {
  expect_cube_simd_matches_per_pixel<maps::cached_fixed>();
  expect_cube_simd_matches_per_pixel<maps::cached_float>();
  expect_cube_simd_matches_per_pixel<maps::on_the_fly>();
}

TEST(RemapSimd, StridedDestinationsTakeThePerPixelPathWithTheSameResult) {
  const batch_buffer<u8> pano = noise_panorama(256, 128, 4, 5);
  const auto map = make_e2p_map<maps::cached_fixed>(ring_rig(2, 10, 64, 40, 90), 256, 128);
  // Three channels viewed inside four-channel pixels: source and destination both strided.
  batch_view<const u8> src3 = pano.view();
  src3.c = 3;
  batch_buffer<u8> out4({2, 40, 64, 4});
  batch_view<u8> dst3 = out4.view();
  dst3.c = 3;
  remap(cpu_serial{}, src3, map, dst3, interp::bilinear{}, border::wrap_equirect{});
  batch_buffer<u8> dense({2, 40, 64, 3});
  const batch_buffer<u8> reference = per_pixel_remap<3, u8>(src3, map.view(), dense.shape(), border::wrap_equirect{});
  std::int64_t differ = 0;
  for (int i = 0; i < 2; ++i)
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 64; ++x)
        for (int c = 0; c < 3; ++c) differ += dst3(i, y, x, c) != reference.view()(i, y, x, c);
  EXPECT_EQ(differ, 0);
}

}  // namespace
