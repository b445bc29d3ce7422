// remap: bit-identical results across executors, thread counts and batch sizes for every map
// policy, interpolation, element type and channel count; identity maps copy pixels; policies
// agree on smooth content; strided views; argument checks.

#include <cmath>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::failed_with;
using vbatch_test::same_bytes;
using vbatch_test::throws_error;

constexpr int source_w = 128, source_h = 64, frames = 3;

// Views that exercise the borders (one across the ±180° seam, one over the north pole) and one
// well inside the source, where the CPU's vectorised row schedule takes whole 8-pixel blocks.
vb::sample::rig border_rig() {
  return {vb::sample::make_camera({180, 10, 20}, 24, 16, 100), vb::sample::make_camera({-30, 75, -10}, 24, 16, 100),
          vb::sample::make_camera({30, -5, 3}, 24, 16, 40)};
}

template <class T>
vb::batch_buffer<T> random_frames(int channels, unsigned seed) {
  return vbatch_test::random_images<T>({frames, source_h, source_w, channels}, seed);  // (F,Hs,Ws,C)
}

template <class Exec, class T, class Map, class Interp>
vb::batch_buffer<T> run_remap(const Exec& exec, vb::batch_view<const T> src, const Map& map, Interp interp) {
  const vb::sample::map_shape& m = map.shape();
  vb::batch_buffer<T> out({src.n * m.views, m.height, m.width, src.c});  // (F*K,H,W,C)
  vb::sample::remap(exec, src, map, out.view(), interp, vb::sample::border::wrap_equirect{});
  return out;
}

// The per-pixel body, called pixel by pixel: what every executor (the CUDA grid included) runs
// when no row schedule replaces it.
template <class T, class KernelMap, class Interp, class Border>
vb::batch_buffer<T> per_pixel_remap(vb::batch_view<const T> src, const KernelMap& km, Interp interp, Border border) {
  const vb::sample::map_shape& m = km.shape;
  vb::batch_buffer<T> out({src.n / m.source_images * m.views, m.height, m.width, src.c});  // (F*K,H,W,C)
  const auto run = [&]<int C>() {
    const vb::sample::remap_kernel<C, T, KernelMap, Interp, Border> kernel{src, out.view(), km, interp, border};
    for (int i = 0; i < out.view().n; ++i)
      for (int y = 0; y < m.height; ++y)
        for (int x = 0; x < m.width; ++x) kernel(i, y, x);
  };
  if (src.c == 1) run.template operator()<1>();
  if (src.c == 3) run.template operator()<3>();
  if (src.c == 4) run.template operator()<4>();
  return out;
}

template <class Policy, class T, class Interp>
void check_deterministic(Interp interp) {
  const vb::sample::rig r = border_rig();
  const auto map = vb::sample::make_e2p_map<Policy>(r, source_w, source_h);
  const int views = static_cast<int>(r.size());
  for (int channels : {1, 3, 4}) {
    SCOPED_TRACE(testing::Message() << Policy::name << " " << Interp::name << " " << vb::element_name<T>() << " C=" << channels);
    const auto src = random_frames<T>(channels, 100 + channels);
    const vb::batch_view<const T> s = src.view();
    const auto reference = run_remap(vb::cpu_serial{}, s, map, interp);  // (F*K,H,W,C)
    const auto body = per_pixel_remap(s, map.view(), interp, vb::sample::border::wrap_equirect{});
    ASSERT_TRUE(same_bytes(body.view(), reference.view()))
        << "remap differs from its per-pixel body: " << vbatch_test::compare(body.view(), reference.view());
    for (int threads : {1, 2, 7}) {
      const auto par = run_remap(vb::cpu_par{threads}, s, map, interp);
      ASSERT_TRUE(same_bytes(par.view(), reference.view())) << threads << " threads differ from cpu_serial";
    }
    // One frame at a time, then two frames and one.
    for (int f = 0; f < frames; ++f) {
      const auto one = run_remap(vb::cpu_par{2}, s.image(f), map, interp);  // (K,H,W,C)
      ASSERT_TRUE(same_bytes(one.view(), reference.view().images(f * views, views))) << "frame " << f << " alone";
    }
    const auto two = run_remap(vb::cpu_par{3}, s.images(0, 2), map, interp);  // (2K,H,W,C)
    ASSERT_TRUE(same_bytes(two.view(), reference.view().images(0, 2 * views))) << "batch of two frames";
  }
}

template <class Policy, class T>
void check_deterministic_all_interpolations() {
  check_deterministic<Policy, T>(vb::sample::interp::nearest{});
  check_deterministic<Policy, T>(vb::sample::interp::bilinear{});
  check_deterministic<Policy, T>(vb::sample::interp::bicubic{});
}

TEST(Remap, IsBitIdenticalAcrossExecutorsThreadsAndBatchSizesWithOnTheFlyMaps) {
  check_deterministic_all_interpolations<vb::sample::maps::on_the_fly, vb::u8>();
  check_deterministic_all_interpolations<vb::sample::maps::on_the_fly, float>();
}

TEST(Remap, IsBitIdenticalAcrossExecutorsThreadsAndBatchSizesWithCachedFloatMaps) {
  check_deterministic_all_interpolations<vb::sample::maps::cached_float, vb::u8>();
  check_deterministic_all_interpolations<vb::sample::maps::cached_float, float>();
}

TEST(Remap, IsBitIdenticalAcrossExecutorsThreadsAndBatchSizesWithCachedFixedMaps) {
  check_deterministic_all_interpolations<vb::sample::maps::cached_fixed, vb::u8>();
  check_deterministic_all_interpolations<vb::sample::maps::cached_fixed, float>();
}

TEST(Remap, FramesDifferAndViewKOfFrameFIsOutputFTimesKPlusK) {
  const vb::sample::rig r = border_rig();
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, source_w, source_h);
  const auto src = random_frames<vb::u8>(3, 5);
  const auto out = run_remap(vb::cpu_par{2}, vb::batch_view<const vb::u8>(src.view()), map, vb::sample::interp::bilinear{});
  const int views = static_cast<int>(r.size());
  ASSERT_EQ(out.shape(), (vb::batch_shape{frames * views, 16, 24, 3}));
  for (int f = 0; f < frames; ++f)
    for (int k = 0; k < views; ++k) {
      const auto single = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(vb::sample::rig{r[k]}, source_w, source_h);
      const auto one =
          run_remap(vb::cpu_serial{}, vb::batch_view<const vb::u8>(src.view().image(f)), single, vb::sample::interp::bilinear{});
      EXPECT_TRUE(same_bytes(one.view(), out.view().image(f * views + k))) << "frame " << f << " view " << k;
    }
  EXPECT_FALSE(same_bytes(out.view().image(0), out.view().image(views))) << "different frames gave the same view";
}

// A pinhole rig identical to the cube faces, sampling those faces: every output pixel centre
// lands on the same pixel centre of the same face, so every interpolation copies the pixels.
template <class Policy, class T, class Interp>
void check_cube_identity(Interp interp, bool exact) {
  const int w = 17;
  const vb::sample::rig faces_rig = vb::sample::cube_rig(w);
  const vb::sample::cube_source cube = vb::sample::cube_source::from(w);
  const vb::sample::sample_map<Policy, vb::sample::rig_rays<float>, vb::sample::cube_source> map(faces_rig, cube);
  for (int channels : {1, 3, 4}) {
    SCOPED_TRACE(testing::Message() << Policy::name << " " << Interp::name << " " << vb::element_name<T>() << " C=" << channels);
    const auto faces = vbatch_test::random_images<T>({12, w, w, channels}, 40 + channels);  // (2 frames*6,w,w,C)
    vb::batch_buffer<T> out(faces.shape());                                                 // (12,w,w,C)
    vb::sample::remap(vb::cpu_par{2}, vb::batch_view<const T>(faces.view()), map, out.view(), interp, vb::sample::border::cube_seams{cube});
    const auto d = vbatch_test::compare(out.view(), faces.view());
    if (exact)
      EXPECT_EQ(d.max_abs, 0) << d;
    else
      EXPECT_LE(d.max_abs, 1e-3) << d;
  }
}

TEST(Remap, APinholeViewLandingOnPixelCentresCopiesPixelsExactly) {
  check_cube_identity<vb::sample::maps::cached_float, vb::u8>(vb::sample::interp::nearest{}, true);
  check_cube_identity<vb::sample::maps::cached_float, vb::u8>(vb::sample::interp::bilinear{}, true);
  check_cube_identity<vb::sample::maps::cached_float, vb::u8>(vb::sample::interp::bicubic{}, true);
  check_cube_identity<vb::sample::maps::cached_float, float>(vb::sample::interp::bilinear{}, true);
  check_cube_identity<vb::sample::maps::cached_float, float>(vb::sample::interp::bicubic{}, true);
  check_cube_identity<vb::sample::maps::cached_fixed, vb::u8>(vb::sample::interp::nearest{}, true);
  check_cube_identity<vb::sample::maps::cached_fixed, vb::u8>(vb::sample::interp::bilinear{}, true);
  check_cube_identity<vb::sample::maps::cached_fixed, float>(vb::sample::interp::bicubic{}, true);
  // Rays in float land within ~1e-5 px of the centres: nearest and u8 still copy exactly.
  check_cube_identity<vb::sample::maps::on_the_fly, vb::u8>(vb::sample::interp::nearest{}, true);
  check_cube_identity<vb::sample::maps::on_the_fly, vb::u8>(vb::sample::interp::bilinear{}, true);
  check_cube_identity<vb::sample::maps::on_the_fly, float>(vb::sample::interp::bilinear{}, false);
}

// A hand-made table whose points are the integer pixel centres of the source, shifted.
TEST(Remap, AnIntegerTableMapIsAPixelShift) {
  const int w = 20, h = 10;
  std::vector<vb::sample::float_entry> points(std::size_t(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) points[std::size_t(y) * w + x] = {float((x + 3) % w), float(h - 1 - y)};
  const vb::sample::float_table_map map{{1, w, h, 1, w, h}, points.data(), nullptr};
  const auto src = vbatch_test::random_images<float>({2, h, w, 4}, 77);  // (2,H,W,4)
  vb::batch_buffer<float> out({2, h, w, 4});                             // (2,H,W,4)
  for (int interp = 0; interp < 3; ++interp) {
    const vb::batch_view<const float> s = src.view();
    if (interp == 0) vb::sample::remap(vb::cpu_par{2}, s, map, out.view(), vb::sample::interp::nearest{}, vb::sample::border::constant{});
    if (interp == 1) vb::sample::remap(vb::cpu_par{2}, s, map, out.view(), vb::sample::interp::bilinear{}, vb::sample::border::constant{});
    if (interp == 2) vb::sample::remap(vb::cpu_par{2}, s, map, out.view(), vb::sample::interp::bicubic{}, vb::sample::border::constant{});
    for (int i = 0; i < 2; ++i)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          for (int c = 0; c < 4; ++c) ASSERT_EQ(out.view()(i, y, x, c), s(i, h - 1 - y, (x + 3) % w, c)) << interp;
  }
}

TEST(Remap, MapPoliciesAgreeWithinOneLevelOnSmoothContent) {
  const auto pano = vb::sample::render_equirect(1024, 512, 3, vb::sample::direction_colour);  // (1,512,1024,3)
  const vb::batch_view<const vb::u8> s = pano.view();
  const vb::sample::rig r = vb::sample::three_ring_rig(6, 64, 64, 90);
  const auto a = run_remap(vb::cpu_par{2}, s, vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 1024, 512), vb::sample::interp::bilinear{});
  const auto b = run_remap(vb::cpu_par{2}, s, vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(r, 1024, 512), vb::sample::interp::bilinear{});
  const auto c = run_remap(vb::cpu_par{2}, s, vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 1024, 512), vb::sample::interp::bilinear{});
  const auto ab = vbatch_test::compare(a.view(), b.view());
  const auto ac = vbatch_test::compare(a.view(), c.view());
  vbatch_test::record("policies_on_the_fly_vs_cached_float_max", ab.max_abs);
  vbatch_test::record("policies_cached_fixed_vs_cached_float_max", ac.max_abs);
  EXPECT_LE(ab.max_abs, 1) << "on_the_fly vs cached_float: " << ab;
  EXPECT_LE(ac.max_abs, 1) << "cached_fixed vs cached_float: " << ac;
  EXPECT_LT(ab.mean_abs, 0.05) << ab;
  EXPECT_LT(ac.mean_abs, 0.1) << ac;
}

TEST(Remap, StridedSourcesAndDestinationsGiveTheSamePixels) {
  const vb::sample::rig r = border_rig();
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, source_w, source_h);
  const auto src = random_frames<vb::u8>(3, 9);
  const auto dense = run_remap(vb::cpu_serial{}, vb::batch_view<const vb::u8>(src.view()), map, vb::sample::interp::bilinear{});
  // The same frames inside a wider canvas, and views written into a mosaic with a margin.
  vb::batch_buffer<vb::u8> canvas({frames, source_h + 4, source_w + 10, 3});  // (F,Hs+4,Ws+10,3)
  const auto inner = canvas.view().crop(2, 5, source_h, source_w);            // (F,Hs,Ws,3), strided rows
  for (int i = 0; i < frames; ++i)
    for (int y = 0; y < source_h; ++y)
      for (int x = 0; x < source_w; ++x)
        for (int c = 0; c < 3; ++c) inner(i, y, x, c) = src.view()(i, y, x, c);
  vb::batch_buffer<vb::u8> mosaic({frames * int(r.size()), 20, 30, 3});  // (F*K,20,30,3)
  const auto tiles = mosaic.view().crop(3, 4, 16, 24);                   // (F*K,16,24,3)
  vb::sample::remap(vb::cpu_par{3}, vb::batch_view<const vb::u8>(inner), map, tiles, vb::sample::interp::bilinear{}, vb::sample::border::wrap_equirect{});
  EXPECT_TRUE(same_bytes(tiles, dense.view()));
}

TEST(Remap, PixelsWithPaddingChannelsAreReadAndWrittenInPlace) {
  // Three channels inside four-channel pixels (stride_w = 4): the fourth channel of the
  // destination is left alone and the result equals the dense three-channel remap.
  const vb::sample::rig r = border_rig();
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, source_w, source_h);
  const auto rgba = random_frames<vb::u8>(4, 21);                 // (F,Hs,Ws,4)
  vb::batch_buffer<vb::u8> rgb({frames, source_h, source_w, 3});  // (F,Hs,Ws,3)
  for (int i = 0; i < frames; ++i)
    for (int y = 0; y < source_h; ++y)
      for (int x = 0; x < source_w; ++x)
        for (int c = 0; c < 3; ++c) rgb.view()(i, y, x, c) = rgba.view()(i, y, x, c);
  const auto dense = run_remap(vb::cpu_serial{}, vb::batch_view<const vb::u8>(rgb.view()), map, vb::sample::interp::bilinear{});
  const vb::batch_view<const vb::u8> src3{rgba.data(),          frames, source_h, source_w, 3, rgba.view().stride_n,
                                          rgba.view().stride_h, 4};
  const int views = frames * int(r.size());
  vb::batch_buffer<vb::u8> padded({views, 16, 24, 4});  // (F*K,16,24,4)
  std::fill_n(padded.data(), padded.bytes(), vb::u8{77});
  const vb::batch_view<vb::u8> dst3{padded.data(), views, 16, 24, 3, padded.view().stride_n, padded.view().stride_h, 4};
  vb::sample::remap(vb::cpu_par{2}, src3, map, dst3, vb::sample::interp::bilinear{}, vb::sample::border::wrap_equirect{});
  EXPECT_TRUE(same_bytes(dst3, dense.view()));
  for (int i = 0; i < views; ++i)
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 24; ++x) ASSERT_EQ(padded.view()(i, y, x, 3), 77);
}

// ---------------------------------------------------------------------------------------------
// Argument checks

struct remap_fixture {
  vb::sample::rig r = vb::sample::ring_rig(2, 0, 16, 12, 90);
  vb::sample::e2p_map<vb::sample::maps::cached_float> map = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 64, 32);
};

TEST(RemapChecks, AWrongDestinationShapeIsRejectedWithBothShapes) {
  remap_fixture fx;
  const auto src = vbatch_test::random_images<vb::u8>({2, 32, 64, 3}, 1);  // (F=2,32,64,3)
  for (const vb::batch_shape bad :
       {vb::batch_shape{3, 12, 16, 3}, vb::batch_shape{4, 12, 15, 3}, vb::batch_shape{4, 13, 16, 3}}) {
    vb::batch_buffer<vb::u8> dst(bad);
    EXPECT_TRUE(throws_error([&] { vb::sample::e2p(vb::cpu_serial{}, src.view(), fx.map, dst.view()); }, vb::errc::invalid_argument,
                             {"destination", "4x12x16", "2 frames x 2 views"}));
  }
}

TEST(RemapChecks, TwoOrFiveChannelsAreRejectedNamingTheCount) {
  remap_fixture fx;
  for (int channels : {2, 5}) {
    const auto src = vbatch_test::random_images<vb::u8>({1, 32, 64, channels}, 1);  // (1,32,64,C)
    vb::batch_buffer<vb::u8> dst({2, 12, 16, channels});                            // (2,12,16,C)
    EXPECT_TRUE(throws_error([&] { vb::sample::e2p(vb::cpu_par{2}, src.view(), fx.map, dst.view()); }, vb::errc::invalid_argument,
                             {std::to_string(channels) + " channels"}));
  }
  const auto src = vbatch_test::random_images<vb::u8>({1, 32, 64, 3}, 1);  // (1,32,64,3)
  vb::batch_buffer<vb::u8> dst({2, 12, 16, 4});                            // (2,12,16,4)
  EXPECT_TRUE(throws_error([&] { vb::sample::e2p(vb::cpu_par{2}, src.view(), fx.map, dst.view()); }, vb::errc::invalid_argument,
                           {"source has 3 channels, destination 4"}));
}

TEST(RemapChecks, ASourceSizeOtherThanTheMapsIsRejectedWithBothSizes) {
  remap_fixture fx;
  const auto src = vbatch_test::random_images<float>({1, 32, 63, 3}, 1);  // (1,32,63,3)
  vb::batch_buffer<float> dst({2, 12, 16, 3});                            // (2,12,16,3)
  EXPECT_TRUE(throws_error([&] { vb::sample::e2p(vb::cpu_par{2}, src.view(), fx.map, dst.view()); }, vb::errc::invalid_argument,
                           {"63x32", "64x32"}));
}

TEST(RemapChecks, AnEmptyBatchIsRejected) {
  remap_fixture fx;
  vb::batch_buffer<vb::u8> src({0, 32, 64, 3});  // (0,32,64,3)
  vb::batch_buffer<vb::u8> dst({0, 12, 16, 3});  // (0,12,16,3)
  EXPECT_TRUE(throws_error([&] { vb::sample::e2p(vb::cpu_par{2}, src.view(), fx.map, dst.view()); }, vb::errc::invalid_argument,
                           {"empty batch"}));
  EXPECT_TRUE(
      throws_error([&] { (void)vb::sample::e2p(vb::cpu_par{2}, src.view(), fx.r); }, vb::errc::invalid_argument, {"empty batch"}));
}

TEST(RemapChecks, CubeSourcesNeedWholeFramesOfSixFaces) {
  const vb::sample::c2e_map<vb::sample::maps::cached_float> map(32, 16, vb::sample::cube_source::from(8));
  const auto faces = vbatch_test::random_images<vb::u8>({7, 8, 8, 3}, 1);  // (7,8,8,3)
  vb::batch_buffer<vb::u8> dst({1, 16, 32, 3});                            // (1,16,32,3)
  EXPECT_TRUE(throws_error([&] { vb::sample::c2e(vb::cpu_serial{}, faces.view(), map, dst.view()); }, vb::errc::invalid_argument,
                           {"7 source images", "6-image frames"}));
}

TEST(RemapChecks, CanRemapReportsEveryProblemWithoutThrowing) {
  remap_fixture fx;
  const auto km = fx.map.view();
  const auto good_src = vbatch_test::random_images<vb::u8>({1, 32, 64, 3}, 1);  // (1,32,64,3)
  vb::batch_buffer<vb::u8> good_dst({2, 12, 16, 3});                            // (2,12,16,3)
  const vb::batch_view<const vb::u8> s = good_src.view();
  EXPECT_TRUE(vb::sample::can_remap(s, km, good_dst.view()));

  vb::batch_buffer<vb::u8> wrong_dst({2, 12, 17, 3});  // (2,12,17,3)
  vb::status st = vb::status::success();
  EXPECT_NO_THROW(st = vb::sample::can_remap(s, km, wrong_dst.view()));
  EXPECT_TRUE(failed_with(st, vb::errc::invalid_argument, {"2x12x17"}));

  const auto five = vbatch_test::random_images<vb::u8>({1, 32, 64, 5}, 1);  // (1,32,64,5)
  vb::batch_buffer<vb::u8> five_dst({2, 12, 16, 5});                        // (2,12,16,5)
  EXPECT_NO_THROW(st = vb::sample::can_remap(vb::batch_view<const vb::u8>(five.view()), km, five_dst.view()));
  EXPECT_TRUE(failed_with(st, vb::errc::invalid_argument, {"remap source", "5 channels"}));

  const vb::batch_view<const vb::u8> null_src{nullptr, 1, 32, 64, 3, 0, 192, 3};
  EXPECT_NO_THROW(st = vb::sample::can_remap(null_src, km, good_dst.view()));
  EXPECT_TRUE(failed_with(st, vb::errc::invalid_argument, {"null"}));

  vb::batch_buffer<vb::u8> empty({0, 32, 64, 3});  // (0,32,64,3)
  EXPECT_NO_THROW(st = vb::sample::can_remap(vb::batch_view<const vb::u8>(empty.view()), km, good_dst.view()));
  EXPECT_TRUE(failed_with(st, vb::errc::invalid_argument, {"empty batch"}));
}

TEST(RemapChecks, AFailedCheckLeavesTheDestinationUntouched) {
  remap_fixture fx;
  const auto src = vbatch_test::random_images<vb::u8>({1, 32, 60, 3}, 1);  // (1,32,60,3): wrong width
  vb::batch_buffer<vb::u8> dst({2, 12, 16, 3});                            // (2,12,16,3)
  std::fill_n(dst.data(), dst.bytes(), vb::u8{123});
  EXPECT_THROW(vb::sample::e2p(vb::cpu_par{2}, src.view(), fx.map, dst.view()), vb::error);
  EXPECT_EQ(std::count(dst.data(), dst.data() + dst.bytes(), vb::u8{123}), std::ptrdiff_t(dst.bytes()));
}

}  // namespace
