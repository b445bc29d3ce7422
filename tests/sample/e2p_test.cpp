// e2p against analytic cases: where the centre pixel looks, a panorama of a colour linear in the
// direction reproduced at every output ray (also across the ±180° seam and over the poles), the
// signs of yaw, pitch and roll, the 360toolkit preset, and seam/pole continuity that clamp
// borders would break.

#include <cmath>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::dir3;
using vbatch_test::make_ref_camera;
using vbatch_test::record;
using vbatch_test::ref_camera;

// Renders one view of `pano` with camera `cam` through a map of policy P.
template <class P, class T = vb::u8, class Interp = vb::sample::interp::bilinear, class Border = vb::sample::border::wrap_equirect>
vb::batch_buffer<T> render_view(vb::batch_view<const T> pano, const vb::sample::camera& cam, Interp interp = {}, Border border = {}) {
  const auto map = vb::sample::make_e2p_map<P>(vb::sample::rig{cam}, pano.w, pano.h);
  vb::batch_buffer<T> out({pano.n, cam.lens.height, cam.lens.width, pano.c});  // (N,h,w,C)
  vb::sample::remap(vb::cpu_par{2}, pano, map, out.view(), interp, border);
  return out;
}

struct scene_error {
  double max = 0;
  int worst_x = 0, worst_y = 0;
};

// Largest |out - direction_colour(ray)| over the pixels of image 0 for which keep(x, y) holds.
template <class T, class Keep>
scene_error error_vs_direction_colour(vb::batch_view<const T> out, const ref_camera& ref, Keep keep) {
  scene_error e;
  for (int y = 0; y < out.h; ++y)
    for (int x = 0; x < out.w; ++x) {
      if (!keep(x, y)) continue;
      const vb::sample::rgb want = vb::sample::direction_colour(vbatch_test::to_vec3(ref.ray(x, y)));
      const float w[3] = {want.r, want.g, want.b};
      for (int c = 0; c < 3; ++c) {
        const double d = std::fabs(double(out(0, y, x, c)) - w[c]);
        if (d > e.max) e = {d, x, y};
      }
    }
  return e;
}
template <class T>
scene_error error_vs_direction_colour(vb::batch_view<const T> out, const ref_camera& ref) {
  return error_vs_direction_colour(out, ref, [](int, int) { return true; });
}

// ---------------------------------------------------------------------------------------------
// Where the centre pixel looks

TEST(E2p, TheCentrePixelOfAnOddViewSamplesLongitudeYawAndLatitudePitch) {
  const int sw = 2048, sh = 1024;
  const double yaws[] = {0, 37, -60, 135.5, 180, -180, -179.9};
  const double pitches[] = {0, 25, -40, 89.9, -89.5, 90, -90};
  for (double yaw : yaws)
    for (double pitch : pitches) {
      SCOPED_TRACE(testing::Message() << "yaw " << yaw << " pitch " << pitch);
      const vb::sample::rig r{vb::sample::make_camera({yaw, pitch, 17}, 33, 33, 60)};
      const auto fl = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, sw, sh).view().at(0, 16, 16);
      const auto fly = vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(r, sw, sh).view().at(0, 16, 16);
      const double want_x = (yaw / 360 + 0.5) * sw - 0.5, want_y = (0.5 - pitch / 180) * sh - 0.5;
      EXPECT_NEAR(fl.y, want_y, 1e-3);
      EXPECT_NEAR(fly.y, want_y, 1e-2);
      if (std::fabs(pitch) < 90) {  // at a pole every longitude is right
        EXPECT_NEAR(vbatch_test::wrapped_dx(fl.x, want_x, sw), 0, 1e-3);
        EXPECT_NEAR(vbatch_test::wrapped_dx(fly.x, want_x, sw), 0, 2e-2);
      }
    }
}

TEST(E2p, TheCentreOfAnEvenViewLiesBetweenTheFourMiddlePixels) {
  const vb::sample::rig r{vb::sample::make_camera({90, 30, 0}, 32, 32, 90)};
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 3600, 1800);
  const auto km = map.view();
  // Pixels 15 and 16 straddle the centre symmetrically in longitude.
  const auto a = km.at(0, 15, 15), b = km.at(0, 15, 16);
  EXPECT_NEAR(0.5 * (a.x + b.x), (90.0 / 360 + 0.5) * 3600 - 0.5, 1e-2);
  EXPECT_LT(a.x, b.x);
}

// ---------------------------------------------------------------------------------------------
// A colour linear in the direction, reproduced at every output ray

struct direction_colour_case {
  const char* what;
  double yaw, pitch, roll, hfov, vfov;
};

// Bilinear interpolation of the u8 panorama: |error| <= 0.5 (source quantisation, a convex
// combination of rounded values) + 0.5 (output rounding) + curvature of direction_colour in
// pixel coordinates (127.5 * (2π/512)² / 8 ≈ 0.0024 at 512×256). f32 outputs drop the 0.5 of
// rounding. The measured worst values are printed.
constexpr double u8_bound = 1.01, f32_bound = 0.51;

const direction_colour_case colour_cases[] = {
    {"general", 30, -20, 10, 90, 0},
    {"seam", 180, 0, 0, 90, 0},
    {"seam, pitched and rolled", -170, 35, -25, 100, 70},
    {"north pole", 0, 90, 0, 90, 0},
    {"south pole, rolled", 60, -90, 30, 90, 0},
    {"north pole off centre", -100, 75, 0, 80, 80},
    {"seam and south pole", 180, -70, 15, 120, 90},
};

template <class P>
void check_direction_colour(vb::batch_view<const vb::u8> pano) {
  const auto pano_f = vbatch_test::to_f32(pano);
  for (const auto& c : colour_cases) {
    SCOPED_TRACE(testing::Message() << P::name << ": " << c.what);
    const vb::sample::camera cam = vb::sample::make_camera({c.yaw, c.pitch, c.roll}, 65, 49, c.hfov, c.vfov);
    const ref_camera ref = make_ref_camera(c.yaw, c.pitch, c.roll, 65, 49, c.hfov, c.vfov);
    const auto out = render_view<P>(pano, cam);
    const scene_error e = error_vs_direction_colour(vb::batch_view<const vb::u8>(out.view()), ref);
    record(std::string("direction_colour_u8_") + P::name + " " + c.what, e.max);
    EXPECT_LE(e.max, u8_bound) << "at (" << e.worst_x << ", " << e.worst_y << ")";
    const auto out_f = render_view<P, float>(pano_f.view(), cam);
    const scene_error ef = error_vs_direction_colour(vb::batch_view<const float>(out_f.view()), ref);
    // cached_fixed rounds positions to 1/(2 fixed_one) px: up to 127.5 * 2π/512 * 1/256 ≈ 0.006 more.
    EXPECT_LE(ef.max, f32_bound + 0.01) << "f32 at (" << ef.worst_x << ", " << ef.worst_y << ")";
  }
}

class DirectionColour : public testing::Test {
 protected:
  static void SetUpTestSuite() { pano_ = new vb::batch_buffer<vb::u8>(vb::sample::render_equirect(512, 256, 3, vb::sample::direction_colour)); }
  static void TearDownTestSuite() { delete pano_; }
  static vb::batch_view<const vb::u8> pano() { return pano_->view(); }
  static inline vb::batch_buffer<vb::u8>* pano_ = nullptr;
};

TEST_F(DirectionColour, CachedFloatViewsMatchTheColourOfEveryRayIncludingSeamAndPoles) {
  check_direction_colour<vb::sample::maps::cached_float>(pano());
}
TEST_F(DirectionColour, CachedFixedViewsMatchTheColourOfEveryRayIncludingSeamAndPoles) {
  check_direction_colour<vb::sample::maps::cached_fixed>(pano());
}
TEST_F(DirectionColour, OnTheFlyViewsMatchTheColourOfEveryRayIncludingSeamAndPoles) {
  check_direction_colour<vb::sample::maps::on_the_fly>(pano());
}

TEST_F(DirectionColour, BicubicAndNearestStayWithinTheirInterpolationError) {
  const vb::sample::camera cam = vb::sample::make_camera({-170, 35, -25}, 65, 49, 100, 70);
  const ref_camera ref = make_ref_camera(-170, 35, -25, 65, 49, 100, 70);
  const auto cubic = render_view<vb::sample::maps::cached_float>(pano(), cam, vb::sample::interp::bicubic{});
  const scene_error ec = error_vs_direction_colour(vb::batch_view<const vb::u8>(cubic.view()), ref);
  record("direction_colour_bicubic", ec.max);
  // Keys' kernel has negative lobes: source rounding errors can add up to 0.5 * sum|w| ≈ 0.5 * 1.27.
  EXPECT_LE(ec.max, 1.2);
  // Nearest: half a source pixel diagonally of a gradient of at most 127.5 * 2π/512 per pixel.
  const auto near = render_view<vb::sample::maps::cached_float>(pano(), cam, vb::sample::interp::nearest{});
  const scene_error en = error_vs_direction_colour(vb::batch_view<const vb::u8>(near.view()), ref);
  record("direction_colour_nearest", en.max);
  EXPECT_LE(en.max, 0.5 + 127.5 * 2 * vb::sample::pi / 512 * 0.5 * std::sqrt(2.0) + 0.5);
}

// ---------------------------------------------------------------------------------------------
// Signs of the angles, with a small bright spot

struct spot_fixture {
  vb::batch_buffer<vb::u8> pano;

  spot_fixture(double lon, double lat)
      : pano(vb::sample::render_equirect(1440, 720, 1, vbatch_test::spot_scene{vbatch_test::from_lon_lat(lon, lat), 1.5})) {}

  // Centroid of the spot in a 65x65 view with a 60° FOV.
  vbatch_test::centroid seen_by(vb::sample::view_angles a, const vb::sample::angle_convention& conv = vb::sample::conventions::vbatch) const {
    const auto out =
        render_view<vb::sample::maps::cached_float>(vb::batch_view<const vb::u8>(pano.view()), vb::sample::make_camera(a, 65, 65, 60, 0, conv));
    const auto c = vbatch_test::centroid_of(out.view());
    EXPECT_GT(c.mass, 0) << "the spot is not in the view";
    return c;
  }
};

// Where the spot's centre projects in the reference camera, in pixels.
vbatch_test::point2 predicted(double lon, double lat, double yaw, double pitch, double roll, bool centres = false) {
  const ref_camera c = make_ref_camera(yaw, pitch, roll, 65, 65, 60, 0, centres);
  const dir3 d = vbatch_test::from_lon_lat(lon, lat);
  const double f = d.x * c.forward.x + d.y * c.forward.y + d.z * c.forward.z;
  const double r = (d.x * c.right.x + d.y * c.right.y + d.z * c.right.z) / f;
  const double u = (d.x * c.up.x + d.y * c.up.y + d.z * c.up.z) / f;
  return {c.cx + c.fx * r, c.cy - c.fy * u};
}

TEST(E2pSigns, PositiveYawLooksRight) {
  const spot_fixture s(10, 0);
  const auto straight = s.seen_by({0, 0, 0});
  EXPECT_GT(straight.x, 32 + 5) << "a spot at longitude +10 must appear right of centre";
  EXPECT_NEAR(straight.y, 32, 0.3);
  const auto turned = s.seen_by({10, 0, 0});
  EXPECT_NEAR(turned.x, 32, 0.3) << "yaw +10 must centre it";
  EXPECT_NEAR(turned.y, 32, 0.3);
  EXPECT_NEAR(straight.x, predicted(10, 0, 0, 0, 0).x, 0.3);
}

TEST(E2pSigns, PositivePitchLooksUp) {
  const spot_fixture s(0, 10);
  const auto level = s.seen_by({0, 0, 0});
  EXPECT_LT(level.y, 32 - 5) << "a spot at latitude +10 must appear above centre";
  EXPECT_NEAR(level.x, 32, 0.3);
  const auto raised = s.seen_by({0, 10, 0});
  EXPECT_NEAR(raised.y, 32, 0.3) << "pitch +10 must centre it";
  EXPECT_NEAR(level.y, predicted(0, 10, 0, 0, 0).y, 0.3);
}

TEST(E2pSigns, PositiveRollTurnsContentCounterClockwise) {
  const spot_fixture s(10, 0);
  const auto plain = s.seen_by({0, 0, 0});
  const auto rolled = s.seen_by({0, 0, 30});
  EXPECT_LT(rolled.y, plain.y - 3) << "a feature right of centre must move up for roll > 0";
  EXPECT_LT(rolled.x, plain.x) << "and towards the centre column";
  // Counter-clockwise by 30° about the image centre.
  const double r = plain.x - 32;
  EXPECT_NEAR(rolled.x, 32 + r * std::cos(vbatch_test::rad(30)), 0.4);
  EXPECT_NEAR(rolled.y, 32 - r * std::sin(vbatch_test::rad(30)), 0.4);
  const auto p = predicted(10, 0, 0, 0, 30);
  EXPECT_NEAR(rolled.x, p.x, 0.4);
  EXPECT_NEAR(rolled.y, p.y, 0.4);
  const auto back = s.seen_by({0, 0, -30});
  EXPECT_GT(back.y, plain.y + 3) << "roll < 0 turns it the other way";
}

TEST(E2pSigns, RollTurnsAboutTheViewingDirectionNotAWorldAxis) {
  const spot_fixture s(-40 + 8, 20);
  const auto plain = s.seen_by({-40, 20, 0});
  const auto rolled = s.seen_by({-40, 20, 45});
  const double dx = plain.x - 32, dy = plain.y - 32;
  const double c = std::cos(vbatch_test::rad(45)), sn = std::sin(vbatch_test::rad(45));
  // Image rows grow downwards, so counter-clockwise on screen is (dx, dy) -> (c dx + s dy, -s dx + c dy).
  EXPECT_NEAR(rolled.x - 32, c * dx + sn * dy, 0.4);
  EXPECT_NEAR(rolled.y - 32, -sn * dx + c * dy, 0.4);
}

TEST(E2pSigns, Toolkit360PitchLooksDownAndRollTurnsContentClockwise) {
  const spot_fixture below(0, -10);
  EXPECT_NEAR(below.seen_by({0, 10, 0}, vb::sample::conventions::toolkit360).y, 32, 0.3);
  const spot_fixture right(10, 0);
  const auto plain = right.seen_by({0, 0, 0}, vb::sample::conventions::toolkit360);
  const auto rolled = right.seen_by({0, 0, 30}, vb::sample::conventions::toolkit360);
  EXPECT_GT(rolled.y, plain.y + 3) << "360toolkit roll > 0 turns content clockwise";
}

TEST(E2pConventions, Toolkit360ViewsEqualVbatchViewsWithPitchAndRollNegated) {
  const auto pano = vb::sample::render_equirect(256, 128, 3, vb::sample::demo_scene);  // (1,128,256,3)
  for (const vb::sample::view_angles a : {vb::sample::view_angles{25, 30, 15}, vb::sample::view_angles{-150, -60, -80}, vb::sample::view_angles{180, 85, 5}}) {
    const vb::sample::camera t = vb::sample::make_camera(a, 48, 32, 80, 60, vb::sample::conventions::toolkit360);
    const vb::sample::camera v = vb::sample::make_camera({a.yaw_deg, -a.pitch_deg, -a.roll_deg}, 48, 32, 80, 60, vb::sample::conventions::py360convert);
    const auto ot = render_view<vb::sample::maps::cached_float>(vb::batch_view<const vb::u8>(pano.view()), t);
    const auto ov = render_view<vb::sample::maps::cached_float>(vb::batch_view<const vb::u8>(pano.view()), v);
    EXPECT_TRUE(vbatch_test::same_bytes(ot.view(), ov.view()));
    // And the preset is not a no-op.
    const vb::sample::camera same_signs = vb::sample::make_camera(a, 48, 32, 80, 60, vb::sample::conventions::py360convert);
    const auto os = render_view<vb::sample::maps::cached_float>(vb::batch_view<const vb::u8>(pano.view()), same_signs);
    EXPECT_FALSE(vbatch_test::same_bytes(ot.view(), os.view()));
  }
}

// ---------------------------------------------------------------------------------------------
// Seam and pole continuity: wrap_equirect against clamp and constant borders

// Max over rows and columns of |out(x+1) - out(x)| - |want(x+1) - want(x)|: how much steeper the
// output is between adjacent columns than the scene itself.
template <class T>
double excess_column_jump(vb::batch_view<const T> out, const ref_camera& ref) {
  double worst = 0;
  for (int y = 0; y < out.h; ++y)
    for (int x = 0; x + 1 < out.w; ++x) {
      const vb::sample::rgb a = vb::sample::direction_colour(vbatch_test::to_vec3(ref.ray(x, y)));
      const vb::sample::rgb b = vb::sample::direction_colour(vbatch_test::to_vec3(ref.ray(x + 1, y)));
      const float wa[3] = {a.r, a.g, a.b}, wb[3] = {b.r, b.g, b.b};
      for (int c = 0; c < 3; ++c)
        worst = std::max(worst, std::fabs(double(out(0, y, x + 1, c)) - out(0, y, x, c)) - std::fabs(double(wb[c]) - wa[c]));
    }
  return worst;
}

// Largest |mean of a column - mean of the scene over that column|: a dark or bright column shows.
template <class T>
double worst_column_mean_error(vb::batch_view<const T> out, const ref_camera& ref) {
  double worst = 0;
  for (int x = 0; x < out.w; ++x)
    for (int c = 0; c < 3; ++c) {
      double got = 0, want = 0;
      for (int y = 0; y < out.h; ++y) {
        const vb::sample::rgb w = vb::sample::direction_colour(vbatch_test::to_vec3(ref.ray(x, y)));
        got += out(0, y, x, c);
        want += c == 0 ? w.r : (c == 1 ? w.g : w.b);
      }
      worst = std::max(worst, std::fabs(got - want) / out.h);
    }
  return worst;
}

TEST(E2pSeam, AViewCentredOnTheSeamHasNoColumnJumpAndNoDarkColumn) {
  // A coarse panorama makes the seam columns wide: 128 px means 2.8° per source pixel.
  const auto pano = vb::sample::render_equirect(128, 64, 3, vb::sample::direction_colour);  // (1,64,128,3)
  const vb::batch_view<const vb::u8> p = pano.view();
  const vb::sample::camera cam = vb::sample::make_camera({180, 0, 0}, 65, 65, 90);
  const ref_camera ref = make_ref_camera(180, 0, 0, 65, 65, 90);
  const auto wrap = render_view<vb::sample::maps::cached_float>(p, cam, vb::sample::interp::bilinear{}, vb::sample::border::wrap_equirect{});
  const auto clamp = render_view<vb::sample::maps::cached_float>(p, cam, vb::sample::interp::bilinear{}, vb::sample::border::clamp{});
  const auto zero = render_view<vb::sample::maps::cached_float>(p, cam, vb::sample::interp::bilinear{}, vb::sample::border::constant{});
  const vb::batch_view<const vb::u8> w = wrap.view(), c = clamp.view(), z = zero.view();

  // wrap_equirect: adjacent columns differ no more than the scene does, plus rounding (2 levels).
  const double jump = excess_column_jump(w, ref), mean = worst_column_mean_error(w, ref);
  record("seam_wrap_excess_column_jump", jump);
  record("seam_wrap_column_mean_error", mean);
  EXPECT_LE(jump, 2.0);
  EXPECT_LE(mean, 1.0);
  EXPECT_LE(error_vs_direction_colour(w, ref).max, u8_bound);

  // The same checks catch the artefacts of the other borders: the test can fail.
  const auto centre_columns = [](int x, int) { return x >= 30 && x <= 34; };
  const double wrap_seam = error_vs_direction_colour(w, ref, centre_columns).max;
  const double clamp_seam = error_vs_direction_colour(c, ref, centre_columns).max;
  record("seam_clamp_error", clamp_seam);
  EXPECT_GT(clamp_seam, wrap_seam + 1.5) << "clamp at the seam should be visibly wrong (this test's sensitivity)";
  EXPECT_GT(excess_column_jump(z, ref), 20.0) << "a zero border makes a dark column the checks must see";
  EXPECT_GT(worst_column_mean_error(z, ref), 10.0);
}

TEST(E2pPole, AViewOfThePoleIsContinuousAndClampWouldNotBe) {
  // Rows past the pole continue on the opposite meridian. A 64×32 panorama and a narrow view
  // put many output pixels in the half-row around the pole.
  const auto pano = vb::sample::render_equirect(64, 32, 3, vb::sample::direction_colour);  // (1,32,64,3)
  const vb::batch_view<const vb::u8> p = pano.view();
  for (double pitch : {90.0, -90.0}) {
    SCOPED_TRACE(pitch);
    const vb::sample::camera cam = vb::sample::make_camera({20, pitch, 0}, 65, 65, 30);
    const ref_camera ref = make_ref_camera(20, pitch, 0, 65, 65, 30);
    const auto wrap = render_view<vb::sample::maps::cached_float>(p, cam, vb::sample::interp::bilinear{}, vb::sample::border::wrap_equirect{});
    const auto clamp = render_view<vb::sample::maps::cached_float>(p, cam, vb::sample::interp::bilinear{}, vb::sample::border::clamp{});
    const auto zero = render_view<vb::sample::maps::cached_float>(p, cam, vb::sample::interp::bilinear{}, vb::sample::border::constant{});
    const vb::batch_view<const vb::u8> w = wrap.view(), c = clamp.view(), z = zero.view();
    const double wrap_error = error_vs_direction_colour(w, ref).max;
    record("pole_wrap_error", wrap_error);
    EXPECT_LE(wrap_error, u8_bound);
    EXPECT_LE(excess_column_jump(w, ref), 2.0);
    EXPECT_LE(worst_column_mean_error(w, ref), 1.0);
    const double clamp_error = error_vs_direction_colour(c, ref).max;
    record("pole_clamp_error", clamp_error);
    EXPECT_GT(clamp_error, wrap_error + 2.0) << "clamp at the pole should be visibly wrong (this test's sensitivity)";
    EXPECT_GT(error_vs_direction_colour(z, ref).max, 50.0);
  }
}

TEST(E2pSeam, SplittingARingAcrossTheSeamGivesContinuousNeighbours) {
  // Two adjacent views meeting at the seam: the last column of the left view and the first of
  // the right view look 1 pixel apart and must be as close as neighbouring columns elsewhere.
  const auto pano = vb::sample::render_equirect(256, 128, 3, vb::sample::direction_colour);  // (1,128,256,3)
  const double half = 45.0;
  const vb::sample::rig r{vb::sample::make_camera({180 - half, 0, 0}, 64, 64, 90), vb::sample::make_camera({-180 + half, 0, 0}, 64, 64, 90)};
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 256, 128);
  vb::batch_buffer<vb::u8> out({2, 64, 64, 3});  // (2,64,64,3)
  vb::sample::e2p(vb::cpu_par{2}, pano.view(), map, out.view());
  for (int y = 0; y < 64; ++y)
    for (int c = 0; c < 3; ++c) EXPECT_LE(std::abs(out.view()(0, y, 63, c) - out.view()(1, y, 0, c)), 4) << y;
}

// ---------------------------------------------------------------------------------------------
// The allocating overload

TEST(E2p, TheAllocatingOverloadEqualsAnOnTheFlyMapWithWrapBorders) {
  const auto frames = vbatch_test::random_images<vb::u8>({2, 64, 128, 4}, 3);  // (2,64,128,4)
  const vb::sample::rig r = vb::sample::ring_rig(3, 10, 20, 16, 100);
  const auto easy = vb::sample::e2p(vb::cpu_par{2}, frames.view(), r);
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(r, 128, 64);
  vb::batch_buffer<vb::u8> out({6, 16, 20, 4});  // (2*3,16,20,4)
  vb::sample::remap(vb::cpu_serial{}, frames.view(), map, out.view(), vb::sample::interp::bilinear{}, vb::sample::border::wrap_equirect{});
  EXPECT_EQ(easy.shape(), out.shape());
  EXPECT_TRUE(vbatch_test::same_bytes(easy.view(), out.view()));
  const auto nearest = vb::sample::e2p(vb::cpu_serial{}, frames.view(), r, vb::sample::interp::nearest{});
  EXPECT_FALSE(vbatch_test::same_bytes(nearest.view(), out.view()));
}

TEST(E2p, TheAllocatingOverloadRejectsAnEmptyRigOrBatch) {
  const auto frames = vbatch_test::random_images<vb::u8>({1, 16, 32, 3}, 3);  // (1,16,32,3)
  EXPECT_TRUE(vbatch_test::throws_error([&] { (void)vb::sample::e2p(vb::cpu_serial{}, frames.view(), vb::sample::rig{}); },
                                        vb::errc::invalid_argument, {"no cameras"}));
  vb::sample::rig mixed{vb::sample::make_camera({}, 8, 8, 90), vb::sample::make_camera({}, 8, 9, 90)};
  EXPECT_TRUE(vbatch_test::throws_error([&] { (void)vb::sample::e2p(vb::cpu_serial{}, frames.view(), mixed); },
                                        vb::errc::invalid_argument, {"8x9", "8x8"}));
}

TEST(Estimate, AnE2pItemIsItsFrameAndViewsAndTheMapIsShared) {
  const vb::sample::rig rig = vb::sample::ring_rig(8, 0, 1920, 1080, 90);
  const auto fixed = vb::sample::e2p_cost<vb::u8, vb::sample::maps::cached_fixed>(7680, 3840, 3, rig);
  EXPECT_EQ(fixed.per_item, (7680ull * 3840 + 8ull * 1920 * 1080) * 3);
  EXPECT_EQ(fixed.shared, 8ull * 1920 * 1080 * 6);
  // The estimate matches what a built map holds.
  const auto small = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(vb::sample::ring_rig(2, 0, 64, 32, 90), 256, 128);
  EXPECT_EQ((vb::sample::e2p_cost<vb::u8, vb::sample::maps::cached_fixed>(256, 128, 3, vb::sample::ring_rig(2, 0, 64, 32, 90)).shared), small.bytes());
  const auto floats = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(vb::sample::ring_rig(2, 0, 64, 32, 90), 256, 128);
  EXPECT_EQ((vb::sample::e2p_cost<float, vb::sample::maps::cached_float>(256, 128, 3, vb::sample::ring_rig(2, 0, 64, 32, 90)).shared), floats.bytes());
}

}  // namespace
