// Cameras: intrinsics from FOV, rotations against an independent model of the angle convention,
// presets, rigs, and invalid parameters.

#include <cmath>
#include <limits>
#include <string>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::dir3;
using vbatch_test::make_ref_camera;
using vbatch_test::throws_error;
using vbatch_test::to_dir3;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

void expect_near_dir(dir3 got, dir3 want, double tol, const std::string& what) {
  EXPECT_NEAR(got.x, want.x, tol) << what;
  EXPECT_NEAR(got.y, want.y, tol) << what;
  EXPECT_NEAR(got.z, want.z, tol) << what;
}

TEST(PinholeFromFov, PixelEdgeSpanPutsTheFovOnTheOuterPixelEdges) {
  const vb::sample::pinhole p = vb::sample::pinhole_from_fov(640, 480, 90);
  EXPECT_EQ(p.width, 640);
  EXPECT_EQ(p.height, 480);
  EXPECT_NEAR(p.fx, 320.0, 1e-9);  // tan(45°) = 1
  EXPECT_DOUBLE_EQ(p.fy, p.fx);    // vfov 0: square pixels
  EXPECT_DOUBLE_EQ(p.cx, 319.5);
  EXPECT_DOUBLE_EQ(p.cy, 239.5);
  // The left edge of pixel 0 (x = -0.5) is at angle -hfov/2.
  EXPECT_NEAR(vbatch_test::deg(std::atan((-0.5 - p.cx) / p.fx)), -45.0, 1e-9);
  const vb::sample::pinhole q = vb::sample::pinhole_from_fov(200, 100, 60, 40);
  EXPECT_NEAR(q.fx, 100 / std::tan(vbatch_test::rad(30)), 1e-9);
  EXPECT_NEAR(q.fy, 50 / std::tan(vbatch_test::rad(20)), 1e-9);
}

TEST(PinholeFromFov, PixelCentreSpanPutsTheFovOnTheOuterPixelCentres) {
  const vb::sample::pinhole p = vb::sample::pinhole_from_fov(129, 65, 90, 60, vb::sample::fov_span::pixel_centres);
  EXPECT_NEAR(p.fx, 64.0, 1e-9);
  EXPECT_NEAR(p.fy, 32 / std::tan(vbatch_test::rad(30)), 1e-9);
  EXPECT_NEAR(vbatch_test::deg(std::atan((0 - p.cx) / p.fx)), -45.0, 1e-9);
  EXPECT_NEAR(vbatch_test::deg(std::atan((64 - p.cy) / p.fy)), 30.0, 1e-9);
}

TEST(PinholeFromFov, RejectsFovOutsideTheOpenInterval0To180NamingTheValue) {
  for (double fov : {0.0, 180.0, 200.0, -5.0}) {
    const std::string v = vb::detail::format("{}", fov);
    EXPECT_TRUE(
        throws_error([&] { (void)vb::sample::pinhole_from_fov(64, 64, fov); }, vb::errc::invalid_argument, {"horizontal FOV", v}));
    EXPECT_TRUE(throws_error([&] { (void)vb::sample::make_camera({}, 64, 64, 90, fov == 0 ? -1 : fov); }, vb::errc::invalid_argument,
                             {"vertical FOV"}));
  }
  EXPECT_TRUE(
      throws_error([] { (void)vb::sample::pinhole_from_fov(64, 64, nan); }, vb::errc::invalid_argument, {"horizontal FOV", "nan"}));
  EXPECT_TRUE(
      throws_error([] { (void)vb::sample::pinhole_from_fov(64, 64, 90, nan); }, vb::errc::invalid_argument, {"vertical FOV", "nan"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_fov(64, 64, inf); }, vb::errc::invalid_argument, {"inf"}));
  EXPECT_TRUE(vb::sample::can_make_pinhole(64, 64, 179.9, 0.1));
}

TEST(PinholeFromFov, RejectsZeroAndNegativeSizesNamingThem) {
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_fov(0, 64, 90); }, vb::errc::invalid_argument, {"0x64"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_fov(64, -3, 90); }, vb::errc::invalid_argument, {"64x-3"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::make_camera({}, -1, -1, 90); }, vb::errc::invalid_argument, {"-1x-1"}));
  // A single pixel has no extent between pixel centres.
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_fov(1, 64, 90, 0, vb::sample::fov_span::pixel_centres); },
                           vb::errc::invalid_argument, {"1x64"}));
  EXPECT_NO_THROW((void)vb::sample::pinhole_from_fov(1, 1, 90));
  const vb::status s = vb::sample::can_make_pinhole(0, 10, 90, 0);
  EXPECT_TRUE(vbatch_test::failed_with(s, vb::errc::invalid_argument, {"0x10"}));
}

TEST(PinholeFromIntrinsics, KeepsTheValuesAndRejectsInvalidOnes) {
  const vb::sample::pinhole p = vb::sample::pinhole_from_intrinsics(100, 50, 80, 90, 49.5, 24.5);
  EXPECT_EQ(p.width, 100);
  EXPECT_EQ(p.fy, 90);
  EXPECT_EQ(p.cx, 49.5);
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_intrinsics(0, 50, 80, 80, 0, 0); }, vb::errc::invalid_argument, {"0x50"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_intrinsics(10, 10, 0, 80, 0, 0); }, vb::errc::invalid_argument, {"fx=0"}));
  EXPECT_TRUE(
      throws_error([] { (void)vb::sample::pinhole_from_intrinsics(10, 10, 8, -8, 0, 0); }, vb::errc::invalid_argument, {"fy=-8"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_intrinsics(10, 10, inf, 8, 0, 0); }, vb::errc::invalid_argument, {"inf"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::pinhole_from_intrinsics(10, 10, 8, 8, nan, 0); }, vb::errc::invalid_argument, {"nan"}));
}

// The rotation's columns are the camera's right, up and forward axes in the world; compare them
// with the basis built directly from the documented meaning of yaw, pitch and roll.
TEST(RotationFrom, ColumnsAreTheRightUpAndForwardAxesOfTheConvention) {
  const double angles[][3] = {{0, 0, 0},       {90, 0, 0},     {-90, 0, 0},  {180, 0, 0},      {0, 45, 0},
                              {0, -60, 0},     {0, 0, 30},     {0, 0, -75},  {30, 20, 10},     {-135, -40, 65},
                              {170, 89, -120}, {-180, -90, 0}, {720, 10, 5}, {12.5, 33.3, 200}};
  for (const auto& a : angles) {
    const std::string what = vb::detail::format("yaw {} pitch {} roll {}", a[0], a[1], a[2]);
    const vb::sample::mat3<double> r = vb::sample::rotation_from({a[0], a[1], a[2]});
    const vbatch_test::ref_camera ref = make_ref_camera(a[0], a[1], a[2], 3, 3, 90);
    expect_near_dir(to_dir3(r.column(0)), ref.right, 1e-12, what + ": right");
    expect_near_dir(to_dir3(r.column(1)), ref.up, 1e-12, what + ": up");
    expect_near_dir(to_dir3(r.column(2)), ref.forward, 1e-12, what + ": forward");
  }
}

TEST(RotationFrom, TheForwardAxisPointsAtLongitudeYawAndLatitudePitch) {
  for (double yaw : {-170.0, -90.0, -10.0, 0.0, 45.0, 135.0}) {
    for (double pitch : {-80.0, -30.0, 0.0, 25.0, 85.0}) {
      const dir3 f = to_dir3(vb::sample::rotation_from({yaw, pitch, 33}).column(2));
      EXPECT_NEAR(vbatch_test::longitude_deg(f), yaw, 1e-9);
      EXPECT_NEAR(vbatch_test::latitude_deg(f), pitch, 1e-9);
    }
  }
}

TEST(RotationFrom, RejectsNanAndInfiniteAnglesNamingThem) {
  EXPECT_TRUE(throws_error([] { (void)vb::sample::rotation_from({nan, 0, 0}); }, vb::errc::invalid_argument, {"yaw=nan"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::rotation_from({0, inf, 0}); }, vb::errc::invalid_argument, {"pitch=inf"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::rotation_from({0, 0, -inf}); }, vb::errc::invalid_argument, {"roll=-inf"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::make_camera({1, nan, 2}, 8, 8, 90); }, vb::errc::invalid_argument, {"pitch=nan"}));
  vb::status s = vb::status::success();
  EXPECT_NO_THROW(s = vb::sample::can_rotate({nan, 1, 2}));
  EXPECT_TRUE(vbatch_test::failed_with(s, vb::errc::invalid_argument, {"nan"}));
}

TEST(Conventions, Toolkit360IsVbatchWithPitchAndRollNegatedOnAPixelCentreGrid) {
  for (const auto& a : {vb::sample::view_angles{10, 20, 30}, vb::sample::view_angles{-120, -45, 170}, vb::sample::view_angles{0, 89, -5}}) {
    const vb::sample::mat3<double> t = vb::sample::rotation_from(a, vb::sample::conventions::toolkit360);
    const vb::sample::mat3<double> v = vb::sample::rotation_from({a.yaw_deg, -a.pitch_deg, -a.roll_deg});
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(t.m[r][c], v.m[r][c], 1e-15);
    const vb::sample::camera cam = vb::sample::make_camera(a, 101, 51, 90, 60, vb::sample::conventions::toolkit360);
    const vb::sample::pinhole p = vb::sample::pinhole_from_fov(101, 51, 90, 60, vb::sample::fov_span::pixel_centres);
    EXPECT_DOUBLE_EQ(cam.lens.fx, p.fx);
    EXPECT_DOUBLE_EQ(cam.lens.fy, p.fy);
  }
  // pitch > 0 looks down in the 360toolkit convention.
  EXPECT_LT(vb::sample::rotation_from({0, 30, 0}, vb::sample::conventions::toolkit360).column(2).y, -0.49);
}

TEST(Conventions, Py360convertUsesVbatchAnglesOnAPixelCentreGrid) {
  const vb::sample::camera a = vb::sample::make_camera({30, -20, 15}, 128, 96, 100, 70, vb::sample::conventions::py360convert);
  const vb::sample::mat3<double> r = vb::sample::rotation_from({30, -20, 15});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_DOUBLE_EQ(a.rotation.m[i][j], r.m[i][j]);
  EXPECT_NEAR(a.lens.fx, 63.5 / std::tan(vbatch_test::rad(50)), 1e-9);
  EXPECT_NEAR(a.lens.fy, 47.5 / std::tan(vbatch_test::rad(35)), 1e-9);
}

TEST(Conventions, FindConventionKnowsThePresetsByName) {
  ASSERT_TRUE(vb::sample::find_convention("vbatch"));
  EXPECT_EQ(vb::sample::find_convention("py360convert")->span, vb::sample::fov_span::pixel_centres);
  EXPECT_EQ(vb::sample::find_convention("360toolkit")->pitch_sign, -1);
  EXPECT_EQ(vb::sample::find_convention("360toolkit")->roll_sign, -1);
  EXPECT_EQ(vb::sample::find_convention("360toolkit")->yaw_sign, 1);
  EXPECT_FALSE(vb::sample::find_convention("opencv"));
  EXPECT_FALSE(vb::sample::find_convention(""));
}

TEST(RingRig, CamerasAreEvenlySpacedInYawFromTheFirst) {
  const vb::sample::rig r = vb::sample::ring_rig(8, -15, 64, 48, 90, 0, vb::sample::conventions::vbatch, 10);
  ASSERT_EQ(r.size(), 8u);
  for (int k = 0; k < 8; ++k) {
    const dir3 f = to_dir3(r[k].rotation.column(2));
    EXPECT_NEAR(vbatch_test::wrapped_dx(vbatch_test::longitude_deg(f), 10 + 45.0 * k, 360), 0, 1e-9) << k;
    EXPECT_NEAR(vbatch_test::latitude_deg(f), -15, 1e-9) << k;
    EXPECT_EQ(r[k].lens.width, 64);
    EXPECT_EQ(r[k].lens.height, 48);
  }
  EXPECT_TRUE(throws_error([] { (void)vb::sample::ring_rig(0, 0, 64, 48, 90); }, vb::errc::invalid_argument, {"count 0"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::ring_rig(-2, 0, 64, 48, 90); }, vb::errc::invalid_argument, {"-2"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::ring_rig(4, 0, 64, 48, 190); }, vb::errc::invalid_argument, {"190"}));
}

TEST(ThreeRingRig, IsOrderedByRingFromMinus30ToPlus30ThenByYaw) {
  const vb::sample::rig r = vb::sample::three_ring_rig(4, 32, 32, 90);
  ASSERT_EQ(r.size(), 12u);
  for (int ring = 0; ring < 3; ++ring)
    for (int k = 0; k < 4; ++k) {
      const dir3 f = to_dir3(r[ring * 4 + k].rotation.column(2));
      EXPECT_NEAR(vbatch_test::latitude_deg(f), -30 + 30 * ring, 1e-9);
      EXPECT_NEAR(vbatch_test::wrapped_dx(vbatch_test::longitude_deg(f), 90.0 * k, 360), 0, 1e-9);
    }
}

TEST(CubeRig, FacesLookAlongTheAxesInTheOrderFRBLUDWithTheDocumentedUpVectors) {
  const vb::sample::rig r = vb::sample::cube_rig(33);
  ASSERT_EQ(r.size(), 6u);
  // forward, right, up per face (README of the py360convert data, and cube.hpp).
  const dir3 expected[6][3] = {{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}},    // F
                               {{1, 0, 0}, {0, 0, -1}, {0, 1, 0}},   // R
                               {{0, 0, -1}, {-1, 0, 0}, {0, 1, 0}},  // B
                               {{-1, 0, 0}, {0, 0, 1}, {0, 1, 0}},   // L
                               {{0, 1, 0}, {1, 0, 0}, {0, 0, -1}},   // U: top row borders B
                               {{0, -1, 0}, {1, 0, 0}, {0, 0, 1}}};  // D: top row borders F
  for (int f = 0; f < 6; ++f) {
    const std::string name = vb::sample::cube_face_names[f];
    expect_near_dir(to_dir3(r[f].rotation.column(2)), expected[f][0], 1e-12, name + " forward");
    expect_near_dir(to_dir3(r[f].rotation.column(0)), expected[f][1], 1e-12, name + " right");
    expect_near_dir(to_dir3(r[f].rotation.column(1)), expected[f][2], 1e-12, name + " up");
    EXPECT_EQ(r[f].lens.width, 33);
    EXPECT_EQ(r[f].lens.height, 33);
    EXPECT_NEAR(r[f].lens.fx, 16.5, 1e-9);  // 90°, pixel edges
  }
  EXPECT_NEAR(vb::sample::cube_rig(33, vb::sample::conventions::py360convert)[0].lens.fx, 16.0, 1e-9);
  // The preset's angle signs do not change the face orientations.
  EXPECT_NEAR(vb::sample::cube_rig(8, vb::sample::conventions::toolkit360)[4].rotation.column(2).y, 1.0, 1e-12);
  EXPECT_TRUE(throws_error([] { (void)vb::sample::cube_rig(0); }, vb::errc::invalid_argument, {"face width 0"}));
}

}  // namespace
