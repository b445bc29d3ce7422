// Cube maps: e2c faces are e2p views, the e2c -> c2e round trip (seam and poles included),
// layouts (horizon, dice) and their errors.

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::record;
using vbatch_test::throws_error;

TEST(E2c, EachFaceIsBitForBitTheE2pViewOfTheSameDirection) {
  const auto pano = vb::sample::render_equirect(256, 128, 3, vb::sample::demo_scene);  // (1,128,256,3)
  const int w = 40;
  const auto faces = vb::sample::e2c(vb::cpu_par{2}, pano.view(), w);  // (6,w,w,3)
  ASSERT_EQ(faces.shape(), (vb::batch_shape{6, w, w, 3}));
  const vb::sample::view_angles directions[6] = {{0, 0, 0}, {90, 0, 0}, {180, 0, 0}, {-90, 0, 0}, {0, 90, 0}, {0, -90, 0}};
  for (int f = 0; f < 6; ++f) {
    const auto view = vb::sample::e2p(vb::cpu_serial{}, pano.view(), vb::sample::rig{vb::sample::make_camera(directions[f], w, w, 90, 90)});
    EXPECT_TRUE(vbatch_test::same_bytes(view.view(), faces.view().image(f))) << vb::sample::cube_face_names[f];
  }
  // With a cached map (another policy) the faces agree within one level.
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(vb::sample::cube_rig(w), 256, 128);
  vb::batch_buffer<vb::u8> cached({6, w, w, 3});  // (6,w,w,3)
  vb::sample::e2p(vb::cpu_par{2}, pano.view(), map, cached.view());
  EXPECT_LE(vbatch_test::compare(cached.view(), faces.view()).max_abs, 1);
}

TEST(E2c, FacesOfSeveralFramesFollowFrameOrder) {
  auto frames = vbatch_test::random_images<vb::u8>({2, 32, 64, 1}, 12);  // (2,32,64,1)
  const auto faces = vb::sample::e2c(vb::cpu_par{2}, frames.view(), 8, vb::sample::interp::nearest{});
  ASSERT_EQ(faces.shape(), (vb::batch_shape{12, 8, 8, 1}));
  const auto second = vb::sample::e2c(vb::cpu_serial{}, frames.view().image(1), 8, vb::sample::interp::nearest{});
  EXPECT_TRUE(vbatch_test::same_bytes(second.view(), faces.view().images(6, 6)));
}

// ---------------------------------------------------------------------------------------------
// Round trip

struct round_trip_stats {
  vbatch_test::diff_stats all, poles, seam;
};

round_trip_stats round_trip(vb::batch_view<const vb::u8> pano, int face_w,
                            const vb::sample::angle_convention& conv = vb::sample::conventions::vbatch) {
  const auto faces = vb::sample::e2c(vb::cpu_par{2}, pano, face_w, vb::sample::interp::bilinear{}, conv);                 // (6,fw,fw,3)
  const auto back = vb::sample::c2e(vb::cpu_par{2}, faces.view(), pano.w, pano.h, vb::sample::interp::bilinear{}, conv);  // (1,H,W,3)
  EXPECT_EQ(back.shape(), pano.shape());
  const int pole_rows = pano.h / 16, seam_cols = pano.w / 32;
  round_trip_stats s;
  s.all = vbatch_test::compare(back.view(), pano);
  s.poles = vbatch_test::compare_if(back.view(), pano, [&](int, int y, int) { return y < pole_rows || y >= pano.h - pole_rows; });
  s.seam = vbatch_test::compare_if(back.view(), pano, [&](int, int, int x) { return x < seam_cols || x >= pano.w - seam_cols; });
  return s;
}

TEST(CubeRoundTrip, E2cThenC2eReturnsASmoothPanoramaWithinOneLevel) {
  const auto pano = vb::sample::render_equirect(512, 256, 3, vb::sample::direction_colour);  // (1,256,512,3)
  for (int face_w : {128, 192}) {
    SCOPED_TRACE(face_w);
    const round_trip_stats s = round_trip(pano.view(), face_w);
    record("round_trip_direction_colour_mean_fw" + std::to_string(face_w), s.all.mean_abs);
    record("round_trip_direction_colour_p99_fw" + std::to_string(face_w), s.all.p99);
    record("round_trip_direction_colour_max_fw" + std::to_string(face_w), s.all.max_abs);
    // Two resamplings of a smooth scene: each within ~0.5 level of rounding; no pixel may be off
    // by more than a couple of levels anywhere, poles and seam included.
    EXPECT_LT(s.all.mean_abs, 0.5) << s.all;
    EXPECT_LE(s.all.p99, 1) << s.all;
    EXPECT_LE(s.all.max_abs, 2) << s.all;
    EXPECT_LE(s.poles.max_abs, 2) << "pole rows: " << s.poles;
    EXPECT_LE(s.seam.max_abs, 2) << "seam columns: " << s.seam;
  }
}

TEST(CubeRoundTrip, E2cThenC2eKeepsTheDemoSceneAndIsNoWorseAtThePolesOrTheSeam) {
  // demo_scene is point-sampled (not anti-aliased): 0.25°-wide graticule lines on 0.7° pixels and
  // floor tiles shrinking to nothing at the horizon alias, and two bilinear resamplings move or
  // miss them. So the absolute bounds are loose (measured ×1.3: fw 128 measured mean 8.9 / p99 85,
  // fw 192 mean 6.6 / p99 69) and catch gross errors (a misplaced or flipped face gives a mean
  // far above); the fine check is that the pole rows and seam columns are no worse than the rest.
  const auto pano = vb::sample::render_equirect(512, 256, 3, vb::sample::demo_scene);  // (1,256,512,3)
  const struct {
    int face_w;
    double mean, p99;
  } bounds[] = {{128, 11.5, 110}, {192, 8.6, 90}};
  for (const auto& b : bounds) {
    SCOPED_TRACE(b.face_w);
    const round_trip_stats s = round_trip(pano.view(), b.face_w);
    const std::string fw = std::to_string(b.face_w);
    record("round_trip_demo_mean_fw" + fw, s.all.mean_abs);
    record("round_trip_demo_p99_fw" + fw, s.all.p99);
    record("round_trip_demo_pole_mean_fw" + fw, s.poles.mean_abs);
    record("round_trip_demo_seam_mean_fw" + fw, s.seam.mean_abs);
    EXPECT_LT(s.all.mean_abs, b.mean) << s.all;
    EXPECT_LT(s.all.p99, b.p99) << s.all;
    EXPECT_LT(s.poles.mean_abs, 1.25 * s.all.mean_abs + 1) << "pole rows: " << s.poles;
    EXPECT_LT(s.seam.mean_abs, 1.25 * s.all.mean_abs + 1) << "seam columns: " << s.seam;
  }
}

TEST(CubeRoundTrip, SwappedOrMirroredFacesAreCaught) {
  // Sensitivity of the round-trip checks: a wrong face order or a mirrored face is far outside.
  const auto pano = vb::sample::render_equirect(512, 256, 3, vb::sample::direction_colour);  // (1,256,512,3)
  auto faces = vb::sample::e2c(vb::cpu_par{2}, pano.view(), 64);                     // (6,64,64,3)
  vb::batch_buffer<vb::u8> swapped({6, 64, 64, 3});                          // (6,64,64,3)
  const int order[6] = {0, 1, 2, 3, 5, 4};                                   // U and D exchanged
  for (int f = 0; f < 6; ++f) std::copy_n(faces.data() + order[f] * 64 * 64 * 3, 64 * 64 * 3, swapped.data() + f * 64 * 64 * 3);
  const auto back_swapped = vb::sample::c2e(vb::cpu_par{2}, swapped.view(), 512, 256);
  EXPECT_GT(vbatch_test::compare(back_swapped.view(), pano.view()).mean_abs, 10);
  for (int y = 0; y < 64; ++y)  // mirror F left-right
    std::reverse(reinterpret_cast<std::array<vb::u8, 3>*>(faces.view().pixel(0, y, 0)),
                 reinterpret_cast<std::array<vb::u8, 3>*>(faces.view().pixel(0, y, 0)) + 64);
  const auto back_mirrored = vb::sample::c2e(vb::cpu_par{2}, faces.view(), 512, 256);
  EXPECT_GT(vbatch_test::compare(back_mirrored.view(), pano.view()).max_abs, 50);
}

TEST(CubeRoundTrip, WorksWithPixelCentreFacesToo) {
  const auto pano = vb::sample::render_equirect(512, 256, 3, vb::sample::direction_colour);  // (1,256,512,3)
  const round_trip_stats s = round_trip(pano.view(), 128, vb::sample::conventions::py360convert);
  record("round_trip_direction_colour_py360_max", s.all.max_abs);
  EXPECT_LT(s.all.mean_abs, 0.5) << s.all;
  EXPECT_LE(s.all.max_abs, 2) << s.all;
}

TEST(C2e, EveryPanoramaPixelReadsTheFaceItsDirectionHits) {
  // Faces of constant colour: each panorama pixel must take its face's value, except where the
  // bilinear footprint straddles a cube edge.
  const int w = 16;
  vb::batch_buffer<vb::u8> faces({6, w, w, 1});  // (6,w,w,1)
  for (int f = 0; f < 6; ++f) std::fill_n(faces.data() + f * w * w, w * w, static_cast<vb::u8>(40 * (f + 1)));
  const auto pano = vb::sample::c2e(vb::cpu_serial{}, faces.view(), 128, 64, vb::sample::interp::nearest{});  // (1,64,128,1)
  const vb::sample::equirect_rays rays{128, 64};
  const vb::sample::cube_source cube = vb::sample::cube_source::from(w);
  int checked = 0;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 128; ++x) {
      const auto d = rays(0, double(x), double(y));
      vb::sample::vec3<double> local{};
      const int f = vb::sample::cube_source::face_of(d, local);
      const auto p = cube(d);
      if (p.x < 0.5 || p.y < 0.5 || p.x > w - 1.5 || p.y > w - 1.5) continue;  // near an edge
      ++checked;
      ASSERT_EQ(pano.view()(0, y, x, 0), 40 * (f + 1)) << x << "," << y;
    }
  EXPECT_GT(checked, 128 * 64 / 2);
}

TEST(C2e, RejectsFacesThatAreNotWholeSquareCubes) {
  const auto five = vbatch_test::random_images<vb::u8>({5, 8, 8, 3}, 1);  // (5,8,8,3)
  EXPECT_TRUE(
      throws_error([&] { (void)vb::sample::c2e(vb::cpu_serial{}, five.view(), 32, 16); }, vb::errc::invalid_argument, {"5x8x8x3"}));
  const auto oblong = vbatch_test::random_images<vb::u8>({6, 8, 9, 3}, 1);  // (6,8,9,3)
  EXPECT_TRUE(
      throws_error([&] { (void)vb::sample::c2e(vb::cpu_serial{}, oblong.view(), 32, 16); }, vb::errc::invalid_argument, {"6x8x9x3"}));
  vb::batch_buffer<vb::u8> none({0, 8, 8, 3});  // (0,8,8,3)
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::c2e(vb::cpu_serial{}, none.view(), 32, 16); }, vb::errc::invalid_argument));
  const auto ok = vbatch_test::random_images<vb::u8>({6, 8, 8, 3}, 1);  // (6,8,8,3)
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::c2e(vb::cpu_serial{}, ok.view(), 0, 16); }, vb::errc::invalid_argument, {"0x16"}));
}

// ---------------------------------------------------------------------------------------------
// Layouts

// Faces whose pixels encode (face, y, x): channel 0 = face * 40 + 1, channel 1 = y, channel 2 = x.
vb::batch_buffer<vb::u8> coded_faces(int frames, int w) {
  vb::batch_buffer<vb::u8> faces({frames * 6, w, w, 3});  // (F*6,w,w,3)
  for (int i = 0; i < frames * 6; ++i)
    for (int y = 0; y < w; ++y)
      for (int x = 0; x < w; ++x) {
        faces.view()(i, y, x, 0) = static_cast<vb::u8>((i % 6) * 40 + 1 + i / 6);
        faces.view()(i, y, x, 1) = static_cast<vb::u8>(y);
        faces.view()(i, y, x, 2) = static_cast<vb::u8>(x);
      }
  return faces;
}

TEST(CubeLayout, HorizonPlacesFRBLUDLeftToRight) {
  const int w = 5;
  const auto faces = coded_faces(2, w);
  const auto h = vb::sample::to_layout(faces.view(), vb::sample::cube_layout::horizon);
  ASSERT_EQ(h.shape(), (vb::batch_shape{2, w, 6 * w, 3}));
  for (int i = 0; i < 2; ++i)
    for (int f = 0; f < 6; ++f)
      for (int y = 0; y < w; ++y)
        for (int x = 0; x < w; ++x) {
          ASSERT_EQ(h.view()(i, y, f * w + x, 0), f * 40 + 1 + i);
          ASSERT_EQ(h.view()(i, y, f * w + x, 1), y);
          ASSERT_EQ(h.view()(i, y, f * w + x, 2), x);
        }
}

TEST(CubeLayout, DicePutsUAboveFThenLFRBThenDBelowFAndZerosElsewhere) {
  const int w = 4;
  const auto faces = coded_faces(1, w);
  const auto d = vb::sample::to_layout(faces.view(), vb::sample::cube_layout::dice);
  ASSERT_EQ(d.shape(), (vb::batch_shape{1, 3 * w, 4 * w, 3}));
  // Expected face in each cell (column, row); -1 is empty.
  const int cells[3][4] = {{-1, 4, -1, -1}, {3, 0, 1, 2}, {-1, 5, -1, -1}};
  for (int row = 0; row < 3; ++row)
    for (int col = 0; col < 4; ++col)
      for (int y = 0; y < w; ++y)
        for (int x = 0; x < w; ++x) {
          const int f = cells[row][col];
          const vb::u8* p = d.view().pixel(0, row * w + y, col * w + x);
          if (f < 0) {
            ASSERT_EQ(p[0] | p[1] | p[2], 0) << "empty cell " << col << "," << row;
          } else {
            ASSERT_EQ(p[0], f * 40 + 1) << vb::sample::cube_face_names[f];
            ASSERT_EQ(p[1], y);
            ASSERT_EQ(p[2], x);
          }
        }
}

TEST(CubeLayout, ToLayoutThenFromLayoutRoundTripsBothLayouts) {
  const auto faces = vbatch_test::random_images<vb::u8>({12, 7, 7, 4}, 31);  // (2*6,7,7,4)
  for (vb::sample::cube_layout layout : {vb::sample::cube_layout::horizon, vb::sample::cube_layout::dice}) {
    const auto image = vb::sample::to_layout(faces.view(), layout);
    const auto back = vb::sample::from_layout(image.view(), layout);
    EXPECT_TRUE(vbatch_test::same_bytes(back.view(), faces.view()));
  }
  const auto ff = vbatch_test::random_images<float>({6, 3, 3, 1}, 32);  // (6,3,3,1)
  const auto back = vb::sample::from_layout(vb::sample::to_layout(ff.view(), vb::sample::cube_layout::dice).view(), vb::sample::cube_layout::dice);
  EXPECT_TRUE(vbatch_test::same_bytes(back.view(), ff.view()));
}

// from_layout takes any view of layout images; one whose pixels are strided (here the RGB
// channels of an RGBA image, stride_w = 4) must give the pixels the view shows, or be refused.
TEST(CubeLayout, FromLayoutOfAViewWithStridedPixelsGivesThePixelsItShows) {
  const int w = 4;
  const auto rgba = vbatch_test::random_images<vb::u8>({1, w, 6 * w, 4}, 5);  // (1,w,6w,4)
  const vb::batch_view<const vb::u8> rgb{rgba.data(),          1, w, 6 * w, 3, rgba.view().stride_n,
                                         rgba.view().stride_h, 4};  // (1,w,6w,3)
  vb::batch_buffer<vb::u8> faces;
  try {
    faces = vb::sample::from_layout(rgb, vb::sample::cube_layout::horizon);
  } catch (const vb::error& e) {
    EXPECT_EQ(e.code(), vb::errc::invalid_argument);
    return;  // refusing is fine
  }
  ASSERT_EQ(faces.shape(), (vb::batch_shape{6, w, w, 3}));
  for (int f = 0; f < 6; ++f)
    for (int y = 0; y < w; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(faces.view()(f, y, x, c), rgb(0, y, f * w + x, c)) << "face " << f << " (" << x << ", " << y << ")";
}

TEST(CubeLayout, FaceInLayoutIsAViewIntoTheLayoutImage) {
  const auto faces = coded_faces(1, 6);
  auto dice = vb::sample::to_layout(faces.view(), vb::sample::cube_layout::dice);
  const auto up = vb::sample::face_in_layout(dice.view(), vb::sample::cube_layout::dice, int(vb::sample::cube_face::up));  // (1,6,6,3)
  EXPECT_EQ(up.shape(), (vb::batch_shape{1, 6, 6, 3}));
  EXPECT_EQ(up.data, dice.view().pixel(0, 0, 6));
  EXPECT_EQ(up(0, 2, 3, 0), 4 * 40 + 1);
}

TEST(CubeLayout, FindCubeLayoutKnowsTheNames) {
  EXPECT_EQ(vb::sample::find_cube_layout("horizon"), vb::sample::cube_layout::horizon);
  EXPECT_EQ(vb::sample::find_cube_layout("dice"), vb::sample::cube_layout::dice);
  EXPECT_EQ(vb::sample::find_cube_layout("list"), vb::sample::cube_layout::list);
  EXPECT_FALSE(vb::sample::find_cube_layout("cross"));
}

TEST(CubeLayout, ToLayoutOfCroppedFacesCopiesThePixelsTheCropShows) {
  const auto six = vbatch_test::random_images<vb::u8>({6, 6, 6, 3}, 1);   // (6,6,6,3)
  const vb::batch_view<const vb::u8> crop = six.view().crop(1, 2, 4, 4);  // (6,4,4,3), rows strided
  const auto horizon = vb::sample::to_layout(crop, vb::sample::cube_layout::horizon);     // (1,4,24,3)
  ASSERT_EQ(horizon.shape(), (vb::batch_shape{1, 4, 24, 3}));
  for (int f = 0; f < 6; ++f)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x)
        for (int c = 0; c < 3; ++c) ASSERT_EQ(horizon.view()(0, y, 4 * f + x, c), crop(f, y, x, c)) << f << " " << y << " " << x;
}

TEST(CubeLayout, BadLayoutSizesAreRejectedNamingTheSize) {
  const auto wide = vbatch_test::random_images<vb::u8>({1, 8, 47, 3}, 1);  // (1,8,47,3)
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::from_layout(wide.view(), vb::sample::cube_layout::horizon); }, vb::errc::invalid_argument,
                           {"47x8", "horizon"}));
  const auto dice_bad = vbatch_test::random_images<vb::u8>({1, 10, 12, 3}, 1);  // (1,10,12,3): 10 not divisible by 3
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::from_layout(dice_bad.view(), vb::sample::cube_layout::dice); }, vb::errc::invalid_argument,
                           {"12x10", "dice"}));
  const auto dice_ratio = vbatch_test::random_images<vb::u8>({1, 9, 13, 3}, 1);  // (1,9,13,3)
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::from_layout(dice_ratio.view(), vb::sample::cube_layout::dice); }, vb::errc::invalid_argument));
  const auto horizon_as_dice = vbatch_test::random_images<vb::u8>({1, 8, 48, 3}, 1);  // (1,8,48,3)
  EXPECT_TRUE(
      throws_error([&] { (void)vb::sample::from_layout(horizon_as_dice.view(), vb::sample::cube_layout::dice); }, vb::errc::invalid_argument));
  EXPECT_TRUE(
      throws_error([&] { (void)vb::sample::from_layout(horizon_as_dice.view(), vb::sample::cube_layout::list); }, vb::errc::invalid_argument));
  vb::batch_buffer<vb::u8> empty({1, 0, 0, 3});  // (1,0,0,3)
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::from_layout(empty.view(), vb::sample::cube_layout::horizon); }, vb::errc::invalid_argument));

  const auto seven = vbatch_test::random_images<vb::u8>({7, 4, 4, 3}, 1);  // (7,4,4,3)
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::to_layout(seven.view(), vb::sample::cube_layout::horizon); }, vb::errc::invalid_argument,
                           {"7x4x4x3"}));
  const auto oblong = vbatch_test::random_images<vb::u8>({6, 4, 5, 3}, 1);  // (6,4,5,3)
  EXPECT_TRUE(
      throws_error([&] { (void)vb::sample::to_layout(oblong.view(), vb::sample::cube_layout::dice); }, vb::errc::invalid_argument, {"6x4x5x3"}));
  const auto six = vbatch_test::random_images<vb::u8>({6, 6, 6, 3}, 1);  // (6,6,6,3)
  EXPECT_TRUE(
      throws_error([&] { (void)vb::sample::to_layout(six.view(), vb::sample::cube_layout::list); }, vb::errc::invalid_argument, {"list"}));
}

}  // namespace
