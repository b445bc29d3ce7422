// Projections: pinhole rays, the equirectangular mapping and its inverse, the float atan2, and
// the cube source, against the formulas of the conventions.

#include <cmath>
#include <random>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::dir3;
using vbatch_test::to_dir3;

TEST(PinholeRays, MatchTheRayOfEachPixelOfTheReferenceCamera) {
  const double angles[][3] = {{0, 0, 0}, {35, -20, 15}, {-150, 70, -40}, {180, 0, 90}};
  for (const auto& a : angles) {
    const vb::sample::camera cam = vb::sample::make_camera({a[0], a[1], a[2]}, 40, 30, 75, 50);
    const vbatch_test::ref_camera ref = vbatch_test::make_ref_camera(a[0], a[1], a[2], 40, 30, 75, 50);
    const auto rd = vb::sample::pinhole_rays<double>::from(cam);
    const auto rf = vb::sample::pinhole_rays<float>::from(cam);
    for (int y = 0; y < 30; y += 3)
      for (int x = 0; x < 40; x += 3) {
        const dir3 want = ref.ray(x, y);
        const dir3 got = to_dir3(rd(double(x), double(y)));
        EXPECT_NEAR(got.x, want.x, 1e-12);
        EXPECT_NEAR(got.y, want.y, 1e-12);
        EXPECT_NEAR(got.z, want.z, 1e-12);
        const auto g = rf(float(x), float(y));
        EXPECT_NEAR(g.x, want.x, 1e-5);
        EXPECT_NEAR(g.y, want.y, 1e-5);
        EXPECT_NEAR(g.z, want.z, 1e-5);
      }
  }
}

TEST(PinholeRays, TheCentreOfAnOddImageIsTheForwardAxisAndPixelsRightOfItLookRight) {
  const vb::sample::camera cam = vb::sample::make_camera({0, 0, 0}, 33, 33, 90);
  const auto r = vb::sample::pinhole_rays<double>::from(cam);
  const auto c = r(16.0, 16.0);
  EXPECT_NEAR(c.x, 0, 1e-15);
  EXPECT_NEAR(c.y, 0, 1e-15);
  EXPECT_NEAR(c.z, 1, 1e-15);
  EXPECT_GT(r(20.0, 16.0).x, 0);  // right of centre looks right (+x)
  EXPECT_GT(r(16.0, 10.0).y, 0);  // rows above the centre look up (+y)
  // The outer pixel edge is at 45° for a 90° FOV.
  EXPECT_NEAR(r(-0.5, 16.0).x / r(-0.5, 16.0).z, -1.0, 1e-12);
}

TEST(EquirectSource, MapsLongitudeAndLatitudeToTheDocumentedPixelCoordinates) {
  const vb::sample::equirect_source src{512, 256};
  const double cases[][2] = {{0, 0}, {90, 0}, {-90, 0}, {45, 30}, {-179, -60}, {179.9, 89}, {-30, -89.5}, {120, 10}};
  for (const auto& c : cases) {
    const dir3 d = vbatch_test::from_lon_lat(c[0], c[1]);
    const auto p = src(vbatch_test::to_vec3(d));
    EXPECT_EQ(p.image, 0);
    EXPECT_NEAR(p.x, (c[0] / 360 + 0.5) * 512 - 0.5, 1e-9) << c[0] << "," << c[1];
    EXPECT_NEAR(p.y, (0.5 - c[1] / 180) * 256 - 0.5, 1e-9) << c[0] << "," << c[1];
    // Directions need not be normalised.
    const auto q = src(vb::sample::vec3<double>{3 * d.x, 3 * d.y, 3 * d.z});
    EXPECT_NEAR(q.x, p.x, 1e-9);
    EXPECT_NEAR(q.y, p.y, 1e-9);
  }
  // Forward (lon 0, lat 0) sits between the two middle pixels; the poles on the outer row edges.
  EXPECT_NEAR(src(vb::sample::vec3<double>{0, 0, 1}).x, 255.5, 1e-12);
  EXPECT_NEAR(src(vb::sample::vec3<double>{0, 1, 0}).y, -0.5, 1e-12);
  EXPECT_NEAR(src(vb::sample::vec3<double>{0, -1, 0}).y, 255.5, 1e-12);
}

TEST(EquirectSource, FloatPathAgreesWithDoubleWithinAThousandthOfAPixelAt8K) {
  const vb::sample::equirect_source src{8192, 4096};
  std::mt19937 rng(5);
  std::normal_distribution<double> g;
  double worst = 0;
  for (int i = 0; i < 20000; ++i) {
    const vb::sample::vec3<double> d{g(rng), g(rng), g(rng)};
    const auto pd = src(d);
    const auto pf = src(vb::sample::vec3<float>{float(d.x), float(d.y), float(d.z)});
    // Far from the poles only: there longitude is ill-conditioned in any precision.
    if (std::fabs(d.y) > 0.99 * std::sqrt(d.x * d.x + d.y * d.y + d.z * d.z)) continue;
    worst = std::max({worst, std::fabs(vbatch_test::wrapped_dx(pf.x, pd.x, 8192)), std::fabs(pf.y - pd.y)});
  }
  // float resolution at 8192 is 2^-10 px; the direction's own float rounding adds a few ulps.
  EXPECT_LT(worst, 4e-3) << worst;
}

TEST(EquirectRays, AreTheInverseOfTheEquirectSource) {
  const vb::sample::equirect_rays rays{360, 180};
  const vb::sample::equirect_source src{360, 180};
  for (int y = 0; y < 180; y += 7)
    for (int x = 0; x < 360; x += 11) {
      const auto d = rays(0, double(x), double(y));
      EXPECT_NEAR(std::sqrt(vb::sample::dot(d, d)), 1.0, 1e-12);
      EXPECT_NEAR(vbatch_test::longitude_deg(to_dir3(d)), -180 + (x + 0.5), 1e-9);
      EXPECT_NEAR(vbatch_test::latitude_deg(to_dir3(d)), 90 - (y + 0.5), 1e-9);
      const auto p = src(d);
      EXPECT_NEAR(p.x, x, 1e-9);
      EXPECT_NEAR(p.y, y, 1e-9);
    }
}

TEST(RenderEquirect, DrawsTheSceneAtEveryPixelCentreInOneThreeOrFourChannels) {
  // The other tests build their references on this: pixel (x, y) shows the scene at
  // lon = ((x + 0.5) / W - 0.5) 360°, lat = (0.5 - (y + 0.5) / H) 180°, rounded to nearest.
  const int w = 72, h = 36;
  const auto rgb = vb::sample::render_equirect(w, h, 3, vb::sample::direction_colour, vb::cpu_serial{});  // (1,h,w,3)
  const auto gray = vb::sample::render_equirect(w, h, 1, vb::sample::direction_colour);                   // (1,h,w,1)
  const auto rgba = vb::sample::render_equirect(w, h, 4, vb::sample::direction_colour, vb::cpu_par{3});   // (1,h,w,4)
  ASSERT_EQ(rgb.shape(), (vb::batch_shape{1, h, w, 3}));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const dir3 d = vbatch_test::from_lon_lat(((x + 0.5) / w - 0.5) * 360, (0.5 - (y + 0.5) / h) * 180);
      const double want[3] = {(d.x + 1) * 127.5, (d.y + 1) * 127.5, (d.z + 1) * 127.5};
      for (int c = 0; c < 3; ++c) {
        ASSERT_LE(std::fabs(rgb.view()(0, y, x, c) - want[c]), 0.5 + 1e-4) << x << "," << y;
        ASSERT_EQ(rgba.view()(0, y, x, c), rgb.view()(0, y, x, c));
      }
      ASSERT_EQ(rgba.view()(0, y, x, 3), 255);
      ASSERT_LE(std::fabs(gray.view()(0, y, x, 0) - (want[0] + want[1] + want[2]) / 3), 0.5 + 1e-4);
    }
  EXPECT_TRUE(
      vbatch_test::throws_error([] { (void)vb::sample::render_equirect(0, 8, 3, vb::sample::demo_scene); }, vb::errc::invalid_argument, {"0x8"}));
  EXPECT_TRUE(vbatch_test::throws_error([] { (void)vb::sample::render_equirect(8, 4, 2, vb::sample::demo_scene); }, vb::errc::invalid_argument,
                                        {"2 channels"}));
}

TEST(MathAtan2, FloatPolynomialIsWithinItsDocumentedErrorInEveryQuadrant) {
  double worst = 0;
  for (int i = 0; i < 3600; ++i) {
    const double a = vbatch_test::rad(-180 + 0.1 * i + 0.01);
    for (float r : {1e-3f, 0.7f, 1.0f, 3e4f}) {
      const float x = r * float(std::cos(a)), y = r * float(std::sin(a));
      const double want = std::atan2(double(y), double(x));
      worst = std::max(worst, std::fabs(double(vb::sample::math::atan2(y, x)) - want));
    }
  }
  EXPECT_LT(worst, 1.5e-7 + 2.4e-7) << worst;  // documented 1.5e-7 plus rounding of the result near pi
  EXPECT_EQ(vb::sample::math::atan2(0.0f, 0.0f), 0.0f);
  EXPECT_NEAR(vb::sample::math::atan2(0.0f, -1.0f), float(vb::sample::pi), 3e-7);
  EXPECT_NEAR(vb::sample::math::atan2(1.0f, 0.0f), float(vb::sample::pi / 2), 2e-7);
  EXPECT_NEAR(vb::sample::math::atan2(-1.0f, 0.0f), -float(vb::sample::pi / 2), 2e-7);
  EXPECT_NEAR(vb::sample::math::atan2(-1e-30f, -1.0f), -float(vb::sample::pi), 3e-7);  // just below the seam
  EXPECT_EQ(vb::sample::math::atan2(2.0, 3.0), std::atan2(2.0, 3.0));
}

TEST(CubeSource, SendsEachAxisToTheCentreOfItsFace) {
  const vb::sample::cube_source cube = vb::sample::cube_source::from(9);
  EXPECT_DOUBLE_EQ(cube.centre, 4.0);
  EXPECT_DOUBLE_EQ(cube.focal, 4.5);
  const vb::sample::vec3<double> axes[6] = {{0, 0, 1}, {1, 0, 0}, {0, 0, -1}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}};
  for (int f = 0; f < 6; ++f) {
    const auto p = cube(axes[f]);
    EXPECT_EQ(p.image, f) << vb::sample::cube_face_names[f];
    EXPECT_NEAR(p.x, 4.0, 1e-12);
    EXPECT_NEAR(p.y, 4.0, 1e-12);
  }
}

TEST(CubeSource, AgreesWithTheCubeRigCamerasOnEveryFace) {
  // A point of face f seen by cube_rig camera f is projected back onto the same face pixel.
  const int w = 16;
  const vb::sample::rig faces = vb::sample::cube_rig(w);
  const vb::sample::cube_source cube = vb::sample::cube_source::from(w);
  for (int f = 0; f < 6; ++f) {
    const auto rays = vb::sample::pinhole_rays<double>::from(faces[f]);
    for (int y = 0; y < w; y += 3)
      for (int x = 0; x < w; x += 3) {
        const auto d = rays(x + 0.25, y - 0.25);
        const auto p = cube(d);
        EXPECT_EQ(p.image, f);
        EXPECT_NEAR(p.x, x + 0.25, 1e-9);
        EXPECT_NEAR(p.y, y - 0.25, 1e-9);
        const auto back = cube.direction(f, x + 0.25, y - 0.25);
        EXPECT_NEAR(vbatch_test::angle_between_deg(to_dir3(back), to_dir3(d)), 0, 1e-6);
      }
  }
}

TEST(CubeSource, PixelCentreSpanPutsTheOuterPixelCentresOnTheCubeEdges) {
  const vb::sample::cube_source cube = vb::sample::cube_source::from(64, vb::sample::fov_span::pixel_centres);
  EXPECT_DOUBLE_EQ(cube.centre, 31.5);
  EXPECT_DOUBLE_EQ(cube.focal, 31.5);
  // The direction of the last column of F is 45° to the right: the same ray as column 0 of R.
  const auto d = cube.direction(0, 63.0, 31.5);
  EXPECT_NEAR(d.x / d.z, 1.0, 1e-12);
  const auto r = cube.direction(1, 0.0, 31.5);
  EXPECT_NEAR(vbatch_test::angle_between_deg(to_dir3(d), to_dir3(r)), 0, 1e-9);
}

}  // namespace
