// p2e against e2p and an independent model: a smooth panorama cut into views and put back
// (PSNR over the covered pixels), the coverage mask against each camera's frustum in double, the
// feathering weights (one view gives its own sample, equal colours blend exactly, the blend of two
// colours follows the documented weight), batching, executors and bad inputs.

#include <cmath>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
namespace vs = vbatch::sample;
using vbatch_test::dir3;
using vbatch_test::make_ref_camera;
using vbatch_test::record;
using vbatch_test::ref_camera;

// A colour smooth on the sphere (continuous over the seam and the poles), periods of 30-60°:
// up to about 8 levels per view pixel, so half a pixel off costs 20 dB.
vs::rgb smooth_scene(vs::vec3<double> d) {
  return {float(128 + 90 * std::sin(12 * d.x + 1) * std::cos(9 * d.y)), float(128 + 90 * std::sin(9 * d.z - 6 * d.y)),
          float(128 + 90 * std::cos(6 * d.x * d.z + d.y))};
}

// The cameras of a test rig, as the angles that built them (the model below reads only these).
struct cam_spec {
  double yaw, pitch, roll, hfov, vfov;
};
struct rig_case {
  const char* name;
  std::vector<cam_spec> cams;
  int w, h;

  vs::rig rig() const {
    vs::rig r;
    for (const cam_spec& c : cams) r.push_back(vs::make_camera({c.yaw, c.pitch, c.roll}, w, h, c.hfov, c.vfov));
    return r;
  }
};

// Six 90° faces of 160 px: no overlap, the whole sphere.
rig_case cube_case() {
  return {
      "cube",
      {{0, 0, 0, 90, 90}, {90, 0, 0, 90, 90}, {180, 0, 0, 90, 90}, {-90, 0, 0, 90, 90}, {0, 90, 0, 90, 90}, {0, -90, 0, 90, 90}},
      160,
      160};
}
// Eight 60° views 45° apart (15° overlaps), about 82° tall: the poles are not covered.
rig_case ring_case() {
  rig_case r{"ring8", {}, 160, 240};
  for (int k = 0; k < 8; ++k) r.cams.push_back({45.0 * k, 0, 0, 60, 0});
  return r;
}
// Pitched, rolled, non-square pixels, across the seam and over a pole.
rig_case tilted_case() { return {"tilted", {{170, 20, 30, 70, 50}, {-150, -35, -15, 80, 60}, {40, 75, 60, 90, 70}}, 96, 64}; }

ref_camera ref_of(const rig_case& r, const cam_spec& c) {
  return make_ref_camera(c.yaw, c.pitch, c.roll, r.w, r.h, c.hfov, c.vfov);
}

// The ray of panorama pixel (x, y), from the documented longitude and latitude of its centre.
dir3 pano_ray(int x, int y, int width, int height) {
  return vbatch_test::from_lon_lat(((x + 0.5) / width - 0.5) * 360, (0.5 - (y + 0.5) / height) * 180);
}

// Where direction d lands on the camera, in pixels, in double; false behind it.
bool project(const ref_camera& c, dir3 d, double& x, double& y) {
  const auto dotp = [](dir3 a, dir3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; };
  const double z = dotp(d, c.forward);
  if (z <= 0) return false;
  x = c.cx + c.fx * dotp(d, c.right) / z;
  y = c.cy - c.fy * dotp(d, c.up) / z;
  return true;
}

// A camera's frustum from its angles and FOV alone: its axes and tan(fov / 2) both ways.
struct frustum {
  ref_camera rc;
  double th, tv;
};
std::vector<frustum> frusta_of(const rig_case& r) {
  std::vector<frustum> f;
  for (const cam_spec& c : r.cams) {
    const double th = std::tan(vbatch_test::rad(c.hfov / 2));
    f.push_back({ref_of(r, c), th, c.vfov == 0 ? th * r.h / r.w : std::tan(vbatch_test::rad(c.vfov / 2))});
  }
  return f;
}

// Inside the frustum: |tan| of the ray's angles below tan(fov / 2). Returns the margin (in
// tangent units): > 0 inside, < 0 outside; -1 behind the camera.
double frustum_margin(const frustum& f, dir3 d) {
  const ref_camera& rc = f.rc;
  const double z = d.x * rc.forward.x + d.y * rc.forward.y + d.z * rc.forward.z;
  if (z <= 0) return -1;
  const double a = (d.x * rc.right.x + d.y * rc.right.y + d.z * rc.right.z) / z;
  const double b = (d.x * rc.up.x + d.y * rc.up.y + d.z * rc.up.z) / z;
  return std::min(f.th - std::fabs(a), f.tv - std::fabs(b));
}

// PSNR of frame 0 of a against b over the pixels where mask is 255 (values on the 0..255 scale).
template <class A, class B>
double psnr_covered(vb::batch_view<const A> a, vb::batch_view<const B> b, vb::batch_view<const vb::u8> mask) {
  double se = 0;
  std::int64_t n = 0;
  for (int y = 0; y < a.h; ++y)
    for (int x = 0; x < a.w; ++x) {
      if (mask(0, y, x, 0) != 255) continue;
      for (int c = 0; c < a.c; ++c, ++n) {
        const double d = double(a(0, y, x, c)) - double(b(0, y, x, c));
        se += d * d;
      }
    }
  return se == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / (se / double(n)));
}

// e2p of `pano` into the rig's views, then p2e back; returns the PSNR over covered pixels and the
// covered fraction.
template <class T, class Interp = vs::interp::bilinear>
double round_trip(vb::batch_view<const T> pano, const vs::rig& rig, double& covered, Interp interp = {}) {
  const auto e2p_map = vs::make_e2p_map<vs::maps::cached_float>(rig, pano.w, pano.h);
  vb::batch_buffer<T> views({int(rig.size()), rig[0].lens.height, rig[0].lens.width, pano.c});  // (K,h,w,C)
  vs::e2p(vb::cpu_par{2}, pano, e2p_map, views.view(), interp);
  const auto map = vs::make_p2e_map(rig, pano.w, pano.h);
  vb::batch_buffer<T> back(pano.shape());                 // (1,H,W,C)
  vb::batch_buffer<vb::u8> mask({1, pano.h, pano.w, 1});  // (1,H,W,1)
  vs::p2e(vb::cpu_par{2}, views.view(), map, back.view(), mask.view(), interp);
  std::int64_t n = 0;
  for (int y = 0; y < pano.h; ++y)
    for (int x = 0; x < pano.w; ++x) n += mask.view()(0, y, x, 0) == 255;
  covered = double(n) / (double(pano.h) * pano.w);
  return psnr_covered(vb::batch_view<const T>(back.view()), pano, vb::batch_view<const vb::u8>(mask.view()));
}

class P2eRoundTrip : public testing::Test {
 protected:
  static void SetUpTestSuite() { pano_ = new vb::batch_buffer<vb::u8>(vs::render_equirect(512, 256, 3, smooth_scene)); }
  static void TearDownTestSuite() { delete pano_; }
  static vb::batch_view<const vb::u8> pano(int channels = 3) {
    if (channels == 3) return pano_->view();
    gray_ = vs::render_equirect(512, 256, 1, smooth_scene);
    return gray_.view();
  }
  static inline vb::batch_buffer<vb::u8>* pano_ = nullptr;
  static inline vb::batch_buffer<vb::u8> gray_;
};

// The PSNR each case reaches, measured at 512×256 (docs/sample.md quotes them), and the floor the
// test holds it to.
TEST_F(P2eRoundTrip, CubeAndRingViewsGoBackToTheSmoothPanoramaU8AndF32OneAndThreeChannels) {
  struct psnr_case {
    const char* name;
    rig_case rig;
    int channels;
    bool f32;
    double floor_db;
  };
  const psnr_case cases[] = {
      {"cube u8 rgb", cube_case(), 3, false, 55},   {"ring8 u8 rgb", ring_case(), 3, false, 60},
      {"cube f32 gray", cube_case(), 1, true, 57},  {"ring8 f32 rgb", ring_case(), 3, true, 60},
      {"ring8 u8 gray", ring_case(), 1, false, 60},
  };
  for (const psnr_case& c : cases) {
    SCOPED_TRACE(c.name);
    double covered = 0, db = 0;
    const vb::batch_view<const vb::u8> p = pano(c.channels);
    if (c.f32) {
      const auto pf = vbatch_test::to_f32(p);
      db = round_trip(vb::batch_view<const float>(pf.view()), c.rig.rig(), covered);
    } else {
      db = round_trip(p, c.rig.rig(), covered);
    }
    record(std::string("p2e_round_trip_psnr ") + c.name, db);
    record(std::string("p2e_round_trip_covered ") + c.name, covered);
    EXPECT_GE(db, c.floor_db);
    EXPECT_GT(covered, c.rig.name == std::string("cube") ? 0.999 : 0.4);  // the ring: latitudes within about ±41°
  }
}

TEST_F(P2eRoundTrip, NearestAndBicubicStayAboveTheirFloors) {
  double covered = 0;
  const double nearest = round_trip(pano(), ring_case().rig(), covered, vs::interp::nearest{});
  const double bicubic = round_trip(pano(), ring_case().rig(), covered, vs::interp::bicubic{});
  record("p2e_round_trip_psnr ring8 u8 nearest", nearest);
  record("p2e_round_trip_psnr ring8 u8 bicubic", bicubic);
  EXPECT_GE(nearest, 60);  // views denser than the panorama: nearest finds the very pixel again
  EXPECT_GE(bicubic, 60);
}

TEST_F(P2eRoundTrip, TheDemoSceneWithSharpEdgesStaysAboveItsFloor) {
  const auto demo = vs::render_equirect(512, 256, 3, vs::demo_scene);  // (1,256,512,3)
  double covered = 0;
  const double db = round_trip(vb::batch_view<const vb::u8>(demo.view()), ring_case().rig(), covered);
  record("p2e_round_trip_psnr ring8 u8 demo_scene", db);
  EXPECT_GE(db, 25);  // aliased checkerboard tiles near the horizon: resampled twice
}

// ---------------------------------------------------------------------------------------------
// Coverage, pixel by pixel against the frusta in double

TEST(P2eCoverage, TheMaskIsExactlyTheUnionOfTheFrusta) {
  for (const rig_case& r : {cube_case(), ring_case(), tilted_case()}) {
    SCOPED_TRACE(r.name);
    const int pw = 512, ph = 256, K = int(r.cams.size());
    const vb::batch_buffer<vb::u8> views({K, r.h, r.w, 1});  // content does not matter here
    vb::batch_buffer<vb::u8> pano({1, ph, pw, 1}), mask({1, ph, pw, 1});
    vb::batch_buffer<float> weights({1, ph, pw, 1});
    vs::p2e(vb::cpu_par{2}, views.view(), vs::make_p2e_map(r.rig(), pw, ph), pano.view(), mask.view(), vs::interp::nearest{},
            {.fill = 0, .weight_sum = weights.view()});
    const std::vector<frustum> frusta = frusta_of(r);
    int boundary = 0, wrong = 0, covered = 0;
    for (int y = 0; y < ph; ++y)
      for (int x = 0; x < pw; ++x) {
        const dir3 d = pano_ray(x, y, pw, ph);
        bool inside = false, near_edge = false;
        for (const frustum& f : frusta) {
          const double m = frustum_margin(f, d);
          inside |= m > 0;
          near_edge |= std::fabs(m) < 1e-6;
        }
        covered += inside;
        const vb::u8 got = mask.view()(0, y, x, 0);
        EXPECT_TRUE(got == 0 || got == 255);
        if (near_edge) {
          ++boundary;
          continue;
        }
        if ((got == 255) != inside && ++wrong <= 5) ADD_FAILURE() << "pixel (" << x << ", " << y << "): mask " << int(got);
        EXPECT_EQ(weights.view()(0, y, x, 0) > 0, got == 255);
      }
    record(std::string("p2e_coverage_boundary_pixels ") + r.name, boundary);
    EXPECT_EQ(wrong, 0);
    EXPECT_LE(boundary, 4);
    EXPECT_GT(covered, 0);
    if (std::string(r.name) != "cube") {
      EXPECT_LT(covered, pw * ph) << "the test needs uncovered pixels too";
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Weights

// Views of a ramp, value 2x + 3y + 40k in view k (in bilinear, exact for a linear function).
vb::batch_buffer<float> ramp_views(int K, int w, int h) {
  vb::batch_buffer<float> v({K, h, w, 1});  // (K,h,w,1)
  for (int k = 0; k < K; ++k)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) v.view()(k, y, x, 0) = float(2 * x + 3 * y + 40 * k);
  return v;
}

TEST(P2eWeights, APixelOneViewSeesIsThatViewsSampleAtTheRaysProjection) {
  const rig_case r = tilted_case();
  const int pw = 512, ph = 256, K = int(r.cams.size());
  const auto views = ramp_views(K, r.w, r.h);
  vb::batch_buffer<float> pano({1, ph, pw, 1}), weights({1, ph, pw, 1});
  vb::batch_buffer<vb::u8> mask({1, ph, pw, 1});
  vs::p2e(vb::cpu_serial{}, views.view(), vs::make_p2e_map(r.rig(), pw, ph), pano.view(), mask.view(), vs::interp::bilinear{},
          {.fill = -1, .weight_sum = weights.view()});
  const std::vector<frustum> frusta = frusta_of(r);
  int single = 0;
  double worst = 0, worst_weight = 0;
  for (int y = 0; y < ph; ++y)
    for (int x = 0; x < pw; ++x) {
      const dir3 d = pano_ray(x, y, pw, ph);
      int seen = 0, k_seen = -1;
      double px = 0, py = 0;
      for (int k = 0; k < K; ++k) {
        double cx, cy;
        if (project(frusta[k].rc, d, cx, cy) && cx > -0.5 + 1e-3 && cx < r.w - 0.5 - 1e-3 && cy > -0.5 + 1e-3 &&
            cy < r.h - 0.5 - 1e-3)
          ++seen, k_seen = k, px = cx, py = cy;
      }
      if (seen != 1) continue;
      ++single;
      // border::clamp: between the outer pixel centres and the image edge the edge pixel holds.
      const double want = 2 * std::clamp(px, 0.0, r.w - 1.0) + 3 * std::clamp(py, 0.0, r.h - 1.0) + 40 * k_seen;
      worst = std::max(worst, std::fabs(pano.view()(0, y, x, 0) - want));
      const double u = (px + 0.5) / r.w, v = (py + 0.5) / r.h;
      worst_weight = std::max(worst_weight, std::fabs(weights.view()(0, y, x, 0) - 16 * u * (1 - u) * v * (1 - v)));
    }
  record("p2e_single_view_sample_error", worst);
  record("p2e_single_view_weight_error", worst_weight);
  EXPECT_GT(single, 1000);
  EXPECT_LE(worst, 2e-3);  // float projection: ~1e-4 px of a ramp of slope 3
  EXPECT_LE(worst_weight, 1e-4);
}

TEST(P2eWeights, OverlappingViewsOfOneColourBlendToExactlyThatColourAndOthersFollowTheWeights) {
  const rig_case r = ring_case();
  const int pw = 512, ph = 256, K = 8;
  // `same`: every view one colour. `ramps`: view k holds x + 60 (k % 2), linear across the view, so
  // bilinear samples are exact and fractional, and the blend of two views is known in double.
  vb::batch_buffer<vb::u8> same({K, r.h, r.w, 3}), ramps({K, r.h, r.w, 1});  // (K,h,w,C)
  for (int k = 0; k < K; ++k)
    for (int y = 0; y < r.h; ++y)
      for (int x = 0; x < r.w; ++x) {
        for (int c = 0; c < 3; ++c) same.view()(k, y, x, c) = vb::u8(77 + c);
        ramps.view()(k, y, x, 0) = vb::u8(x + 60 * (k % 2));
      }
  const auto map = vs::make_p2e_map(r.rig(), pw, ph);
  vb::batch_buffer<vb::u8> a({1, ph, pw, 3}), b({1, ph, pw, 1}), mask({1, ph, pw, 1});
  vb::batch_buffer<float> weights({1, ph, pw, 1});
  const vs::p2e_options options{.fill = 5, .weight_sum = weights.view()};
  vs::p2e(vb::cpu_par{2}, same.view(), map, a.view(), mask.view(), vs::interp::bicubic{}, options);
  vs::p2e(vb::cpu_par{2}, ramps.view(), map, b.view(), {}, vs::interp::bilinear{});
  const std::vector<frustum> frusta = frusta_of(r);
  int overlaps = 0, uncovered = 0;
  double worst_blend = 0;
  for (int y = 0; y < ph; ++y)
    for (int x = 0; x < pw; ++x) {
      const dir3 d = pano_ray(x, y, pw, ph);
      double wsum = 0, vsum = 0;
      int seen = 0;
      for (int k = 0; k < K; ++k) {
        double cx, cy;
        if (!project(frusta[k].rc, d, cx, cy)) continue;
        const double u = (cx + 0.5) / r.w, v = (cy + 0.5) / r.h;
        if (u <= 0 || u >= 1 || v <= 0 || v >= 1) continue;
        const double w = 16 * u * (1 - u) * v * (1 - v);  // the documented weight
        wsum += w, vsum += w * (std::clamp(cx, 0.0, r.w - 1.0) + 60 * (k % 2)), ++seen;
      }
      if (mask.view()(0, y, x, 0) == 0) {
        ++uncovered;
        EXPECT_EQ(weights.view()(0, y, x, 0), 0.0f);
        for (int c = 0; c < 3; ++c) ASSERT_EQ(a.view()(0, y, x, c), 5) << "fill at (" << x << ", " << y << ")";
        continue;
      }
      for (int c = 0; c < 3; ++c) ASSERT_EQ(a.view()(0, y, x, c), 77 + c) << "(" << x << ", " << y << ") seen by " << seen;
      if (seen == 2) ++overlaps;
      if (seen > 0) worst_blend = std::max(worst_blend, std::fabs(b.view()(0, y, x, 0) - vsum / wsum));
    }
  record("p2e_blend_error_u8", worst_blend);
  EXPECT_GT(overlaps, 1000);
  EXPECT_GT(uncovered, 1000);
  // Rounded once (0.5), plus the float projection's 1e-4 px; rounding the samples first as well
  // would reach 1.
  EXPECT_LE(worst_blend, 0.5 + 1e-3);
}

// ---------------------------------------------------------------------------------------------
// Batches and executors

TEST(P2eBatch, FramesTimesCamerasInOneCallEqualSeparateCallsAndExecutorsAgree) {
  const rig_case r = ring_case();
  const int F = 3, K = 8, pw = 256, ph = 128;
  const auto views = vbatch_test::random_images<vb::u8>({F * K, r.h, r.w, 4}, 7);  // (F*K,h,w,4)
  const auto map = vs::make_p2e_map(r.rig(), pw, ph);
  vb::batch_buffer<vb::u8> all({F, ph, pw, 4}), mask({F, ph, pw, 1}), par({F, ph, pw, 4}), par_mask({F, ph, pw, 1});
  vb::batch_buffer<float> weights({F, ph, pw, 1}), par_weights({F, ph, pw, 1});
  vs::p2e(vb::cpu_serial{}, views.view(), map, all.view(), mask.view(), vs::interp::bilinear{}, {.weight_sum = weights.view()});
  vs::p2e(vb::cpu_par{2}, views.view(), map, par.view(), par_mask.view(), vs::interp::bilinear{},
          {.weight_sum = par_weights.view()});
  EXPECT_TRUE(vbatch_test::same_bytes(all.view(), par.view()));
  EXPECT_TRUE(vbatch_test::same_bytes(mask.view(), par_mask.view()));
  EXPECT_TRUE(vbatch_test::same_bytes(weights.view(), par_weights.view()));
  for (int f = 0; f < F; ++f) {
    vb::batch_buffer<vb::u8> one({1, ph, pw, 4}), one_mask({1, ph, pw, 1});
    vs::p2e(vb::cpu_serial{}, views.view().images(f * K, K), map, one.view(), one_mask.view());
    EXPECT_TRUE(vbatch_test::same_bytes(one.view(), all.view().image(f))) << f;
    EXPECT_TRUE(vbatch_test::same_bytes(one_mask.view(), mask.view().image(f))) << f;
  }
  // Frames differ, so a kernel reading frame 0's views for every frame would fail above.
  EXPECT_FALSE(vbatch_test::same_bytes(all.view().image(0), all.view().image(1)));
}

TEST(P2eBatch, TheAllocatingOverloadEqualsTheMapCall) {
  const rig_case r = tilted_case();
  const auto views = vbatch_test::random_images<float>({6, r.h, r.w, 3}, 3);  // (2*3,h,w,3)
  const auto easy = vs::p2e(vb::cpu_par{2}, views.view(), r.rig(), 128, 64);
  vb::batch_buffer<float> pano({2, 64, 128, 3});
  vb::batch_buffer<vb::u8> mask({2, 64, 128, 1});
  vs::p2e(vb::cpu_serial{}, views.view(), vs::make_p2e_map(r.rig(), 128, 64), pano.view(), mask.view());
  EXPECT_TRUE(vbatch_test::same_bytes(easy.panoramas.view(), pano.view()));
  EXPECT_TRUE(vbatch_test::same_bytes(easy.coverage.view(), mask.view()));
}

// ---------------------------------------------------------------------------------------------
// Bad inputs

TEST(P2eErrors, BadRigsAndShapesNameTheParameter) {
  using vbatch_test::failed_with;
  using vbatch_test::throws_error;
  const auto inv = vb::errc::invalid_argument;
  const vs::rig rig = vs::ring_rig(4, 0, 32, 16, 100);
  EXPECT_TRUE(throws_error([] { (void)vs::make_p2e_map(vs::rig{}, 64, 32); }, inv, {"no cameras"}));
  const vs::rig mixed{vs::make_camera({}, 8, 8, 90), vs::make_camera({}, 8, 9, 90)};
  EXPECT_TRUE(throws_error([&] { (void)vs::make_p2e_map(mixed, 64, 32); }, inv, {"camera 1", "8x9", "8x8"}));
  EXPECT_TRUE(throws_error([&] { (void)vs::make_p2e_map(rig, 0, 32); }, inv, {"panorama size 0x32"}));
  EXPECT_TRUE(failed_with(vs::can_make_p2e_map(rig, 64, -1), inv, {"panorama size"}));

  const auto map = vs::make_p2e_map(rig, 64, 32);
  const vb::batch_buffer<vb::u8> views({8, 16, 32, 3});  // (2*4,16,32,3)
  vb::batch_buffer<vb::u8> pano({2, 32, 64, 3}), mask({2, 32, 64, 1});
  const vb::batch_view<const vb::u8> v = views.view();
  EXPECT_TRUE(vs::can_p2e(v, map, pano.view(), mask.view()));
  EXPECT_TRUE(failed_with(vs::can_p2e(v.images(0, 6), map, pano.view()), inv, {"views", "6 views", "4 cameras"}));
  EXPECT_TRUE(failed_with(vs::can_p2e(v.images(0, 0), map, pano.view()), inv, {"views", "empty"}));
  EXPECT_TRUE(failed_with(vs::can_p2e(v.crop(0, 0, 16, 31), map, pano.view()), inv, {"views are 31x16", "32x16"}));
  EXPECT_TRUE(failed_with(vs::can_p2e(v, map, pano.view().images(0, 1)), inv, {"panoramas", "1x32x64", "2x32x64"}));
  EXPECT_TRUE(failed_with(vs::can_p2e(v, map, pano.view().crop(0, 0, 32, 63)), inv, {"panoramas", "2x32x63"}));
  vb::batch_buffer<vb::u8> gray({2, 32, 64, 1});
  EXPECT_TRUE(failed_with(vs::can_p2e(v, map, gray.view()), inv, {"views have 3 channels, panoramas 1"}));
  const vb::batch_buffer<vb::u8> two_channel_views({8, 16, 32, 2});
  vb::batch_buffer<vb::u8> two_channel_pano({2, 32, 64, 2});
  EXPECT_TRUE(failed_with(vs::can_p2e(two_channel_views.view(), map, two_channel_pano.view()), inv, {"2 channels"}));
  EXPECT_TRUE(failed_with(vs::can_p2e(v, map, pano.view(), pano.view()), inv, {"coverage", "2x32x64x3", "2x32x64x1"}));
  EXPECT_TRUE(failed_with(vs::can_p2e(v, map, pano.view(), mask.view().images(0, 1)), inv, {"coverage"}));
  vb::batch_buffer<float> weights({1, 32, 64, 1});
  EXPECT_TRUE(failed_with(vs::can_p2e(v, map, pano.view(), mask.view(), {.weight_sum = weights.view()}), inv, {"weight_sum"}));
  // p2e throws what can_p2e reports.
  EXPECT_TRUE(throws_error([&] { vs::p2e(vb::cpu_serial{}, v, map, gray.view()); }, inv, {"views have 3 channels"}));
  EXPECT_TRUE(throws_error([&] { (void)vs::p2e(vb::cpu_serial{}, v.images(0, 6), rig, 64, 32); }, inv, {"6 views"}));
  EXPECT_TRUE(throws_error([&] { (void)vs::p2e(vb::cpu_serial{}, v, vs::rig{}, 64, 32); }, inv, {"no cameras"}));
}

}  // namespace
