// Sample maps: shapes and memory, agreement of the three policies' coordinates, fixed-point
// encoding, and invalid rigs and sources.

#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::throws_error;

// Worst coordinate difference between two kernel maps over every view and pixel, with x compared
// across the seam. Views must stay away from the poles (longitude is ill-conditioned there).
template <class A, class B, class Decode>
double worst_coordinate_gap(const A& a, const B& b, Decode decode_b) {
  const vb::sample::map_shape& m = a.shape;
  double worst = 0;
  for (int k = 0; k < m.views; ++k)
    for (int y = 0; y < m.height; ++y)
      for (int x = 0; x < m.width; ++x) {
        const auto pa = a.at(k, y, x);
        const vb::sample::sample_point<float> pb = decode_b(b.at(k, y, x));
        worst = std::max({worst, std::fabs(vbatch_test::wrapped_dx(pa.x, pb.x, m.source_w)), std::fabs(double(pa.y) - pb.y)});
      }
  return worst;
}

const auto as_is = [](vb::sample::sample_point<float> p) { return p; };
const auto decode_fixed = [](vb::sample::fixed_sample_point p) { return vb::sample::to_float(p); };

// Eight yaws at pitch -30, 0 and +30 with a 90° FOV: corners reach latitude ±84.7°.
vb::sample::rig test_rig(int size) { return vb::sample::three_ring_rig(8, size, size, 90); }

TEST(SampleMap, ShapeAndMemoryFollowThePolicy) {
  const vb::sample::rig r = vb::sample::ring_rig(3, 0, 40, 30, 90);
  const auto f = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 1024, 512);
  const auto x = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 1024, 512);
  const auto o = vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(r, 1024, 512);
  for (const vb::sample::map_shape& s : {f.shape(), x.shape(), o.shape()}) {
    EXPECT_EQ(s.views, 3);
    EXPECT_EQ(s.width, 40);
    EXPECT_EQ(s.height, 30);
    EXPECT_EQ(s.source_images, 1);
    EXPECT_EQ(s.source_w, 1024);
    EXPECT_EQ(s.source_h, 512);
  }
  EXPECT_EQ(f.bytes(), 3u * 40 * 30 * 8);  // two floats per pixel
  EXPECT_EQ(x.bytes(), 3u * 40 * 30 * 6);  // 16-bit integer parts and 8-bit fractions
  EXPECT_EQ(o.bytes(), 3 * sizeof(vb::sample::pinhole_rays<float>));
  EXPECT_EQ(o.view().shape.views, 3);
  const vb::sample::c2e_map<vb::sample::maps::cached_float> c(64, 32, vb::sample::cube_source::from(16));
  EXPECT_EQ(c.shape().source_images, 6);
  EXPECT_EQ(c.shape().source_w, 16);
  EXPECT_EQ(c.shape().views, 1);
  EXPECT_EQ(c.bytes(), 64u * 32 * (8 + 1));  // points plus a face index per pixel
}

TEST(SampleMap, CachedFloatHoldsTheExactPointRoundedToFloat) {
  const int sw = 2048, sh = 1024;
  const vb::sample::rig r = vb::sample::ring_rig(2, 20, 24, 16, 80, 50, vb::sample::conventions::vbatch, 30);
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, sw, sh);
  const auto km = map.view();
  for (int k = 0; k < 2; ++k) {
    const vbatch_test::ref_camera ref = vbatch_test::make_ref_camera(30 + 180.0 * k, 20, 0, 24, 16, 80, 50);
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 24; ++x) {
        const vbatch_test::point2 want = vbatch_test::equirect_point(ref.ray(x, y), sw, sh);
        const auto got = km.at(k, y, x);
        ASSERT_NEAR(vbatch_test::wrapped_dx(got.x, want.x, sw), 0, 2e-4);  // float spacing at 2048 is 2.4e-4
        ASSERT_NEAR(got.y, want.y, 1e-4);
      }
  }
}

// The float ray path (float rays, polynomial atan2) against the double path stored in float.
// Bound 0.005 px on a 4096×2048 source (measured 2.4e-4, one float ulp at 4096 is 4.9e-4).
TEST(SampleMap, OnTheFlyAgreesWithCachedFloatWithinAFewThousandthsOfAPixelAt4K) {
  const vb::sample::rig r = test_rig(128);
  const auto fl = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 4096, 2048);
  const auto fly = vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(r, 4096, 2048);
  const double gap = worst_coordinate_gap(fl.view(), fly.view(), as_is);
  vbatch_test::record("on_the_fly_vs_cached_float_px", gap);
  EXPECT_LT(gap, 0.005) << "worst |on_the_fly - cached_float| = " << gap << " px";
}

TEST(SampleMap, CachedFixedIsWithinHalfAFractionStepOfCachedFloat) {
  const vb::sample::rig r = test_rig(96);
  const auto fl = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 4096, 2048);
  const auto fx = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 4096, 2048);
  const auto fly = vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(r, 4096, 2048);
  const double gap = worst_coordinate_gap(fl.view(), fx.view(), decode_fixed);
  vbatch_test::record("cached_fixed_vs_cached_float_px", gap);
  // Rounding to 1/fixed_one (1/128 in this version) moves a point by at most half a step, or a
  // whole step just below a half pixel (to_fixed never rounds a fraction up across 0.5, so that
  // nearest picks the pixel of the exact point); both tables hold the same double point,
  // cached_float rounded to float (spacing 4.9e-4 px at 4096).
  const double step = 1.0 / vb::sample::fixed_one;
  EXPECT_LE(gap, step + 2.5e-4) << gap;
  EXPECT_GT(gap, 0.25 * step) << "fixed point is suspiciously finer than documented";
  const double fly_gap = worst_coordinate_gap(fly.view(), fx.view(), decode_fixed);
  vbatch_test::record("cached_fixed_vs_on_the_fly_px", fly_gap);
  EXPECT_LE(fly_gap, step + 0.005);
}

TEST(SampleMap, FixedPointCoordinatesSplitIntoAFloorAndARoundedFraction) {
  const auto fixed_x = [](double v) { return vb::sample::to_fixed(vb::sample::sample_point<double>{0, v, 0}); };
  vb::sample::fixed_sample_point f = fixed_x(12.25);
  EXPECT_EQ(f.x, 12);
  EXPECT_EQ(f.fx, vb::sample::fixed_one / 4);
  f = fixed_x(-0.5);
  EXPECT_EQ(f.x, -1);
  EXPECT_EQ(f.fx, vb::sample::fixed_one / 2);
  f = fixed_x(6.9999);  // rounds up into the next integer
  EXPECT_EQ(f.x, 7);
  EXPECT_EQ(f.fx, 0);
  f = fixed_x(31999.0 + 0.5 - 0.1 / vb::sample::fixed_one);  // just below a half: never rounded up to it
  EXPECT_EQ(f.x, 31999);
  EXPECT_EQ(f.fx, vb::sample::fixed_one / 2 - 1);
  f = fixed_x(31999.5);
  EXPECT_EQ(f.fx, vb::sample::fixed_one / 2);
  for (double v : {-0.49, 0.1, 3.3333, 100.77, 4095.499}) {
    f = fixed_x(v);
    EXPECT_LE(std::fabs(f.x + double(f.fx) / vb::sample::fixed_one - v), 1.0 / vb::sample::fixed_one) << v;
    EXPECT_EQ(f.x + (f.fx >= vb::sample::fixed_one / 2), std::floor(v + 0.5)) << v << ": the nearest pixel";
    EXPECT_LT(f.fx, vb::sample::fixed_one);
  }
}

TEST(SampleMap, CubeTargetsRecordTheFaceOfEveryPoint) {
  // A c2e map: the equirect pixel at lon 0 lat 0 lands on F, lon 90 on R, the top rows on U.
  const int w = 64, h = 32;
  const vb::sample::c2e_map<vb::sample::maps::cached_float> map(w, h, vb::sample::cube_source::from(16));
  const vb::sample::c2e_map<vb::sample::maps::on_the_fly> fly(w, h, vb::sample::cube_source::from(16));
  const auto km = map.view();
  EXPECT_EQ(km.at(0, h / 2, w / 2).image, int(vb::sample::cube_face::front));
  EXPECT_EQ(km.at(0, h / 2, w * 3 / 4).image, int(vb::sample::cube_face::right));
  EXPECT_EQ(km.at(0, h / 2, 0).image, int(vb::sample::cube_face::back));
  EXPECT_EQ(km.at(0, h / 2, w / 4).image, int(vb::sample::cube_face::left));
  EXPECT_EQ(km.at(0, 0, 5).image, int(vb::sample::cube_face::up));
  EXPECT_EQ(km.at(0, h - 1, 5).image, int(vb::sample::cube_face::down));
  // on_the_fly agrees on the face away from cube edges and on the point within float error.
  int same_face = 0;
  double worst = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const auto a = km.at(0, y, x);
      const auto b = fly.view().at(0, y, x);
      if (a.image == b.image) {
        ++same_face;
        worst = std::max({worst, std::fabs(double(a.x) - b.x), std::fabs(double(a.y) - b.y)});
      }
    }
  EXPECT_GE(same_face, w * h - 4);
  EXPECT_LT(worst, 1e-3);
}

// Maps on equirectangular sources are built from one camera of each group of cameras turned
// about the vertical (half of it where the camera is mirror-symmetric), the others shifted. Every
// point must be the one projected directly, cell for cell: fixed taps and fractions equal, float
// points within 1 ulp. The rigs cover whole and fractional shifts, pitch, roll (no mirror), a
// camera off-centre, and cameras that share nothing.
TEST(SampleMap, SymmetricBuildsGiveTheDirectlyProjectedPoints) {
  namespace vs = vb::sample;
  const int sw = 1000, sh = 500;
  vs::rig mixed = vs::ring_rig(3, 10, 33, 20, 70);  // three yaws at pitch 10, then a rolled and an off-centre camera
  mixed.push_back(vs::make_camera({15, -20, 12}, 33, 20, 70));
  mixed.push_back(vs::make_camera({200, -20, 12}, 33, 20, 70));
  mixed.push_back(vs::make_camera({40, 5, 0}, 33, 20, 70));
  mixed.back().lens.cx += 0.25;
  struct rig_case {
    const char* name;
    vs::rig cameras;
    std::vector<bool> mirrored;  // per group of cameras turned about the vertical
  };
  const rig_case cases[] = {{"ring:8 at pitch 20 (whole shifts)", vs::ring_rig(8, 20, 32, 24, 90), {true}},
                            {"ring:7 (fractional shifts), odd width", vs::ring_rig(7, 0, 31, 17, 75), {true}},
                            {"rings3:5", vs::three_ring_rig(5, 24, 24, 90), {true, true, true}},
                            {"mixed: the ring, the rolled pair, the off-centre one", mixed, {true, false, false}}};
  for (const rig_case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<vs::pinhole_rays<double>> rays;
    for (const vs::camera& cam : c.cameras) rays.push_back(vs::pinhole_rays<double>::from(cam));
    const vs::rig_rays<double> target{rays.data(), c.cameras.front().lens.width, c.cameras.front().lens.height};
    const vs::equirect_source source{sw, sh};
    const std::vector<vs::detail::yaw_group> groups = vs::detail::equirect_symmetries(c.cameras, target, source);
    std::vector<bool> mirrored;
    for (const vs::detail::yaw_group& g : groups) mirrored.push_back(g.mirrored);
    EXPECT_EQ(mirrored, c.mirrored);  // the symmetric path is taken where it applies, and only there
    const auto fixed = vs::make_e2p_map<vs::maps::cached_fixed>(c.cameras, sw, sh);
    const auto floats = vs::make_e2p_map<vs::maps::cached_float>(c.cameras, sw, sh);
    const auto fm = fixed.view();
    const auto pm = floats.view();
    for (int k = 0; k < int(c.cameras.size()); ++k)
      for (int y = 0; y < target.height; ++y)
        for (int x = 0; x < target.width; ++x) {
          const vs::sample_point<double> want = source(target(k, double(x), double(y)));
          const vs::fixed_sample_point wf = vs::to_fixed(want), got = fm.at(k, y, x);
          // A point on the seam may come out at either end (-0.5 or W - 0.5): the same samples.
          const bool same_x = got.fx == wf.fx && (got.x == wf.x || std::abs(got.x - wf.x) == sw);
          ASSERT_TRUE(same_x && got.y == wf.y && got.fy == wf.fy)
              << "camera " << k << " pixel " << x << "," << y << ": got " << got.x << "+" << got.fx << "/128, want " << wf.x
              << "+" << wf.fx << "/128";
          const vs::sample_point<float> gp = pm.at(k, y, x);
          ASSERT_LE(std::abs(vbatch_test::wrapped_dx(gp.x, want.x, sw)), 6.2e-5);  // 1 float ulp below 1024
          ASSERT_LE(std::abs(gp.y - want.y), 3.1e-5);
        }
  }
}

TEST(SampleMap, AnEmptyRigIsRejected) {
  EXPECT_TRUE(throws_error([] { (void)vb::sample::make_e2p_map<vb::sample::maps::cached_float>(vb::sample::rig{}, 64, 32); },
                           vb::errc::invalid_argument, {"no cameras"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(vb::sample::rig{}, 64, 32); },
                           vb::errc::invalid_argument, {"no cameras"}));
}

TEST(SampleMap, ARigWithMixedOutputSizesIsRejectedNamingBothSizes) {
  vb::sample::rig r = vb::sample::ring_rig(3, 0, 64, 48, 90);
  r[2] = vb::sample::make_camera({10, 0, 0}, 32, 48, 90);
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 256, 128); },
                           vb::errc::invalid_argument, {"camera 2", "32x48", "64x48"}));
}

TEST(SampleMap, NonPositiveSourceOrOutputSizesAreRejected) {
  const vb::sample::rig r = vb::sample::ring_rig(1, 0, 8, 8, 90);
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 0, 128); },
                           vb::errc::invalid_argument, {"0x128"}));
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::make_e2p_map<vb::sample::maps::on_the_fly>(r, 256, -1); },
                           vb::errc::invalid_argument, {"256x-1"}));
  EXPECT_TRUE(
      throws_error([] { (void)vb::sample::c2e_map<vb::sample::maps::cached_float>(0, 16, vb::sample::cube_source::from(8)); },
                   vb::errc::invalid_argument, {"0x16"}));
  EXPECT_TRUE(throws_error([] { (void)vb::sample::cube_source::from(0); }, vb::errc::invalid_argument));
}

TEST(SampleMap, CachedFixedRefusesSourcesWiderThan32000Pixels) {
  const vb::sample::rig r = vb::sample::ring_rig(1, 0, 8, 8, 90);
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 32002, 16001); },
                           vb::errc::unsupported, {"32000", "32002x16001", "cached_float"}));
  EXPECT_TRUE(throws_error([&] { (void)vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 1000, 32001); },
                           vb::errc::unsupported));
  EXPECT_NO_THROW((void)vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(r, 32000, 16000));
  EXPECT_NO_THROW((void)vb::sample::make_e2p_map<vb::sample::maps::cached_float>(r, 32002, 16001));
}

// The same limit must hold when the fixed-point table indexes cube faces: a 40000-pixel face
// cannot be stored in 16-bit integers.
TEST(SampleMap, CachedFixedRefusesCubeFacesWiderThan32000Pixels) {
  EXPECT_TRUE(
      throws_error([] { (void)vb::sample::c2e_map<vb::sample::maps::cached_fixed>(8, 4, vb::sample::cube_source::from(40000)); },
                   vb::errc::unsupported, {"32000"}));
}

TEST(SampleMap, CanMakeE2pMapReportsEveryProblemWithoutThrowing) {
  const vb::sample::rig ok = vb::sample::ring_rig(2, 0, 8, 8, 90);
  vb::sample::rig mixed = ok;
  mixed[1] = vb::sample::make_camera({}, 8, 9, 90);
  vb::status s = vb::status::success();
  EXPECT_TRUE(vb::sample::can_make_e2p_map<vb::sample::maps::cached_fixed>(ok, 1024, 512));
  EXPECT_NO_THROW(s = vb::sample::can_make_e2p_map<vb::sample::maps::cached_float>(vb::sample::rig{}, 64, 32));
  EXPECT_TRUE(vbatch_test::failed_with(s, vb::errc::invalid_argument, {"no cameras"}));
  EXPECT_NO_THROW(s = vb::sample::can_make_e2p_map<vb::sample::maps::on_the_fly>(mixed, 64, 32));
  EXPECT_TRUE(vbatch_test::failed_with(s, vb::errc::invalid_argument, {"camera 1", "8x9"}));
  EXPECT_NO_THROW(s = vb::sample::can_make_e2p_map<vb::sample::maps::cached_float>(ok, 64, 0));
  EXPECT_TRUE(vbatch_test::failed_with(s, vb::errc::invalid_argument, {"64x0"}));
  EXPECT_NO_THROW(s = vb::sample::can_make_e2p_map<vb::sample::maps::cached_fixed>(ok, 40000, 20000));
  EXPECT_TRUE(vbatch_test::failed_with(s, vb::errc::unsupported, {"40000x20000"}));
  EXPECT_TRUE(vb::sample::can_make_e2p_map<vb::sample::maps::cached_float>(ok, 40000, 20000));
}

}  // namespace
