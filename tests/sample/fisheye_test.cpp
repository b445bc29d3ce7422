// Fisheye sources (fisheye.hpp): each model against its textbook formula and Kannala–Brandt against
// OpenCV's cv::fisheye; round trips through fisheye images rendered here, per pixel in double,
// from the inverse of each model (so the library's forward projection is checked against an
// independent inverse); the border outside the field; dual fisheye to a panorama; map policies,
// executors and batches; the JSON file and bad parameters.

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "test_util.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#endif

namespace {

namespace vb = vbatch;
namespace vs = vbatch::sample;
using vbatch_test::dir3;
using vbatch_test::rad;
using vbatch_test::record;
using vbatch_test::throws_error;

constexpr vs::fisheye_model all_models[] = {vs::fisheye_model::equidistant, vs::fisheye_model::equisolid,
                                            vs::fisheye_model::stereographic, vs::fisheye_model::kannala_brandt};
constexpr std::array<double, 4> test_k = {0.03, -0.006, 0.0011, -0.0001};  // radius grows up to 180° and beyond

// ---------------------------------------------------------------------------------------------
// The reference: textbook formulas, in double

// The radius of a ray θ from the axis for f = 1.
double ref_radius(vs::fisheye_model m, double theta, std::array<double, 4> k = test_k) {
  switch (m) {
    case vs::fisheye_model::equidistant:
      return theta;
    case vs::fisheye_model::equisolid:
      return 2 * std::sin(theta / 2);
    case vs::fisheye_model::stereographic:
      return 2 * std::tan(theta / 2);
    default:
      return theta *
             (1 + k[0] * std::pow(theta, 2) + k[1] * std::pow(theta, 4) + k[2] * std::pow(theta, 6) + k[3] * std::pow(theta, 8));
  }
}

// The angle of a radius (f = 1); negative when no ray has it.
double ref_angle(vs::fisheye_model m, double rho, std::array<double, 4> k = test_k) {
  switch (m) {
    case vs::fisheye_model::equidistant:
      return rho;
    case vs::fisheye_model::equisolid:
      return rho <= 2 ? 2 * std::asin(rho / 2) : -1;
    case vs::fisheye_model::stereographic:
      return 2 * std::atan(rho / 2);
    default: {  // Newton from θ = ρ; the test coefficients keep the radius increasing up to 200°
      double t = rho;
      for (int i = 0; i < 20; ++i) {
        const double d = 1 + 3 * k[0] * t * t + 5 * k[1] * std::pow(t, 4) + 7 * k[2] * std::pow(t, 6) + 9 * k[3] * std::pow(t, 8);
        t -= (ref_radius(m, t, k) - rho) / d;
      }
      return t <= rad(200) ? t : -1;
    }
  }
}

// A lens oriented by test_util's reference camera basis (right, up, forward from yaw, pitch, roll).
struct ref_lens {
  vs::fisheye_model model;
  double fx, fy, cx, cy, fov_deg;
  double yaw = 0, pitch = 0, roll = 0;

  vbatch_test::ref_camera basis() const { return vbatch_test::make_ref_camera(yaw, pitch, roll, 2, 2, 90); }
  vs::fisheye_lens lens() const { return vs::fisheye_from_intrinsics(model, fx, fy, cx, cy, fov_deg, test_k); }
  vs::fisheye_source source(int w, int h) const { return vs::fisheye_source::from(w, h, lens(), {yaw, pitch, roll}); }

  // The world ray at field angle θ and polar angle φ (counter-clockwise from the lens's right).
  dir3 ray(double theta, double phi) const {
    const auto b = basis();
    return std::sin(theta) * std::cos(phi) * b.right + std::sin(theta) * std::sin(phi) * b.up + std::cos(theta) * b.forward;
  }
  // Where that ray lands: radius ρ(θ) along φ, y down.
  vbatch_test::point2 pixel(double theta, double phi) const {
    const double r = ref_radius(model, theta);
    return {cx + fx * r * std::cos(phi), cy - fy * r * std::sin(phi)};
  }
  // The world ray of a pixel, false where no ray lands (or none within the field, when `field`).
  bool unproject(double u, double v, dir3& out, bool field) const {
    const double a = (u - cx) / fx, b = -(v - cy) / fy;
    const double theta = ref_angle(model, std::hypot(a, b));
    if (theta < 0 || theta > (field ? rad(fov_deg / 2) : vs::pi)) return false;
    out = ray(theta, std::atan2(b, a));
    return true;
  }
  double field_angle_deg(dir3 d) const { return vbatch_test::angle_between_deg(d, basis().forward); }
};

// A smooth scene with a few levels of change per pixel in every channel, so a shift of a tenth
// of a degree shows.
vs::rgb wavy(vs::vec3<double> v) {
  const dir3 d = vbatch_test::normalised(vbatch_test::to_dir3(v));
  return {float(127.5 + 100 * std::sin(4 * d.x + 1)), float(127.5 + 100 * std::sin(3 * d.y - 2 * d.z)),
          float(127.5 + 100 * std::cos(3 * d.z + 2 * d.x))};
}

void put(vb::batch_view<vb::u8> img, int i, int y, int x, vs::rgb c) {
  img(i, y, x, 0) = vb::to_element<vb::u8>(c.r), img(i, y, x, 1) = vb::to_element<vb::u8>(c.g),
               img(i, y, x, 2) = vb::to_element<vb::u8>(c.b);
}

// A fisheye picture of `wavy`, through the reference inverse: every pixel some ray lands on (the
// lens's field only, as a real lens, when `field`); 0 elsewhere. Pixels [x0, x0 + w) of a wider
// image when given.
void render_fisheye(vb::batch_view<vb::u8> img, const ref_lens& lens, bool field = false, int x0 = 0, int w = -1) {
  if (w < 0) w = img.w;
  for (int y = 0; y < img.h; ++y)
    for (int x = x0; x < x0 + w; ++x) {
      dir3 d{};
      put(img, 0, y, x, lens.unproject(x, y, d, field) ? wavy(vbatch_test::to_vec3(d)) : vs::rgb{0, 0, 0});
    }
}

vb::batch_buffer<vb::u8> render_pinhole(const vs::rig& cams, const std::vector<vs::view_angles>& angles, double hfov) {
  const vs::pinhole& p = cams.front().lens;
  vb::batch_buffer<vb::u8> out({int(cams.size()), p.height, p.width, 3});  // (K,h,w,3)
  for (int k = 0; k < int(cams.size()); ++k) {
    const auto ref =
        vbatch_test::make_ref_camera(angles[k].yaw_deg, angles[k].pitch_deg, angles[k].roll_deg, p.width, p.height, hfov);
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x) put(out.view(), k, y, x, wavy(vbatch_test::to_vec3(ref.ray(x, y))));
  }
  return out;
}

dir3 equirect_ray(int x, int y, int w, int h) {
  return vbatch_test::from_lon_lat(((x + 0.5) / w - 0.5) * 360, (0.5 - (y + 0.5) / h) * 180);
}

vb::batch_buffer<vb::u8> render_equirect(int w, int h) {
  vb::batch_buffer<vb::u8> out({1, h, w, 3});  // (1,h,w,3)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) put(out.view(), 0, y, x, wavy(vbatch_test::to_vec3(equirect_ray(x, y, w, h))));
  return out;
}

// PSNR of image i of a against image i of b over the pixels keep(x, y) selects.
template <class Keep>
double psnr_if(vb::batch_view<const vb::u8> a, vb::batch_view<const vb::u8> b, int i, Keep keep) {
  double se = 0;
  long n = 0;
  for (int y = 0; y < a.h; ++y)
    for (int x = 0; x < a.w; ++x)
      if (keep(x, y))
        for (int c = 0; c < a.c; ++c, ++n) se += std::pow(double(a(i, y, x, c)) - b(i, y, x, c), 2);
  return se == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / (se / double(n)));
}

template <class Map, class Border = vs::border::constant>
vb::batch_buffer<vb::u8> run(const Map& map, vb::batch_view<const vb::u8> src, Border border = {}) {
  const vs::map_shape& m = map.shape();
  vb::batch_buffer<vb::u8> out({src.n / m.source_images * m.views, m.height, m.width, src.c});  // (F*K,h,w,C)
  vs::remap(vb::cpu_par{2}, src, map, out.view(), vs::interp::bilinear{}, border);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Each model's projection

// Non-square pixels and an off-centre principal point, so swapped axes or signs show.
ref_lens formula_lens(vs::fisheye_model m) { return {m, 120, 118, 200.3, 190.7, 200, 25, -15, 8}; }

TEST(FisheyeModels, EachModelProjectsAsItsFormulaAtManyAngles) {
  for (vs::fisheye_model m : all_models) {
    SCOPED_TRACE(vs::fisheye_model_names[int(m)]);
    const ref_lens ref = formula_lens(m);
    const vs::fisheye_source src = ref.source(400, 400);
    double worst = 0, worst_f = 0;
    for (int i = 0; i <= 100; ++i)
      for (int j = 0; j < 72; ++j) {
        const double theta = rad(100) * i / 100, phi = rad(5 * j + 1.3);
        const vbatch_test::point2 want = ref.pixel(theta, phi);
        const dir3 d = ref.ray(theta, phi);
        const vs::sample_point<double> p = src(vbatch_test::to_vec3(d));
        const vs::sample_point<float> pf = src(vs::vec3<float>{float(d.x), float(d.y), float(d.z)});
        ASSERT_EQ(p.image, 0);
        worst = std::max({worst, std::fabs(p.x - want.x), std::fabs(p.y - want.y)});
        if (i == 100) continue;  // the edge of the field: float may put it just outside
        worst_f = std::max({worst_f, std::fabs(pf.x - want.x), std::fabs(pf.y - want.y)});
      }
    record(std::string("fisheye_formula_double_px_") + vs::fisheye_model_names[int(m)], worst);
    record(std::string("fisheye_formula_float_px_") + vs::fisheye_model_names[int(m)], worst_f);
    EXPECT_LT(worst, 1e-9);
    EXPECT_LT(worst_f, 5e-4);  // float rays and atan2: 1.5e-7 rad, coordinates near 400 (ulp 3e-5)
  }
}

TEST(FisheyeModels, TheAxisLandsOnTheCentreAndRaysBeyondTheFieldOutsideTheImage) {
  for (vs::fisheye_model m : all_models) {
    SCOPED_TRACE(vs::fisheye_model_names[int(m)]);
    const ref_lens ref = formula_lens(m);
    const vs::fisheye_source src = ref.source(400, 400);
    const auto centre = src(vbatch_test::to_vec3(ref.basis().forward));
    EXPECT_NEAR(centre.x, ref.cx, 1e-12);
    EXPECT_NEAR(centre.y, ref.cy, 1e-12);
    for (double theta : {100.001, 120.0, 179.9, 180.0})
      for (double phi : {0.0, 2.0, 4.0}) {
        const auto p = src(vbatch_test::to_vec3(ref.ray(rad(theta), phi)));
        EXPECT_EQ(p.x, vs::outside_point);
        EXPECT_EQ(p.y, vs::outside_point);
      }
    EXPECT_NE(src(vbatch_test::to_vec3(ref.ray(rad(99.999), 1))).x, vs::outside_point);
  }
}

TEST(FisheyeModels, FromFovPutsTheEdgeOfTheFieldOnTheImageCircle) {
  for (vs::fisheye_model m : all_models) {
    SCOPED_TRACE(vs::fisheye_model_names[int(m)]);
    const vs::fisheye_lens lens = vs::fisheye_from_fov(m, 300.5, 250.25, 240, 190, test_k);
    EXPECT_NEAR(lens.fx, 240 / ref_radius(m, rad(95)), 1e-9);
    EXPECT_EQ(lens.fx, lens.fy);
    const auto p = lens.project(vs::vec3<double>{std::sin(rad(95)), 0, std::cos(rad(95))});
    EXPECT_NEAR(p.x, 300.5 + 240, 1e-9);
    EXPECT_NEAR(p.y, 250.25, 1e-12);
  }
}

// ---------------------------------------------------------------------------------------------
// Against OpenCV

TEST(FisheyeOpenCv, KannalaBrandtMatchesProjectPointsWithinAHundredthOfAPixel) {
#if VBATCH_HAVE_OPENCV
  const double fx = 310.5, fy = 305.25, cx = 322.7, cy = 238.9;
  const std::array<double, 4> k = {-0.042, 0.011, -0.0035, 0.0004};
  const ref_lens ref{vs::fisheye_model::kannala_brandt, fx, fy, cx, cy, 190, 30, -20, 10};
  const vs::fisheye_source src = vs::fisheye_source::from(
      640, 480, vs::fisheye_from_intrinsics(ref.model, fx, fy, cx, cy, 190, k), {ref.yaw, ref.pitch, ref.roll});
  // OpenCV's frames have y down: world point P is (x, -y, z), and rvec turns that world into the
  // camera's frame: rows right, up, forward of the lens, with y negated on both sides.
  const auto b = ref.basis();
  const cv::Matx33d r(b.right.x, -b.right.y, b.right.z, -b.up.x, b.up.y, -b.up.z, b.forward.x, -b.forward.y, b.forward.z);
  cv::Vec3d rvec;
  cv::Rodrigues(r, rvec);
  std::vector<cv::Point3d> points;
  std::vector<dir3> rays;
  for (int i = 0; i <= 40; ++i)
    for (int j = 0; j < 36; ++j) {  // cv::fisheye projects points in front of the camera: θ < 90°
      rays.push_back(ref.ray(rad(88.0 * i / 40), rad(10 * j + 3)));
      points.emplace_back(3 * rays.back().x, -3 * rays.back().y, 3 * rays.back().z);
    }
  std::vector<cv::Point2d> projected;
  cv::fisheye::projectPoints(points, projected, rvec, cv::Vec3d(0, 0, 0), cv::Matx33d(fx, 0, cx, 0, fy, cy, 0, 0, 1),
                             cv::Vec4d(k[0], k[1], k[2], k[3]));
  double worst = 0, worst_f = 0;
  for (std::size_t i = 0; i < rays.size(); ++i) {
    const auto p = src(vbatch_test::to_vec3(rays[i]));
    const auto pf = src(vs::vec3<float>{float(rays[i].x), float(rays[i].y), float(rays[i].z)});
    worst = std::max({worst, std::fabs(p.x - projected[i].x), std::fabs(p.y - projected[i].y)});
    worst_f = std::max({worst_f, std::fabs(pf.x - projected[i].x), std::fabs(pf.y - projected[i].y)});
  }
  record("fisheye_vs_opencv_double_px", worst);
  record("fisheye_vs_opencv_float_px", worst_f);
  EXPECT_LT(worst, 0.01);
  EXPECT_LT(worst_f, 0.01);
  // Sensitivity: dropping k4 moves the edge of the field by more than the bound.
  const vs::fisheye_source no_k4 =
      vs::fisheye_source::from(640, 480, vs::fisheye_from_intrinsics(ref.model, fx, fy, cx, cy, 190, {k[0], k[1], k[2], 0}),
                               {ref.yaw, ref.pitch, ref.roll});
  const auto edge = no_k4(vbatch_test::to_vec3(rays.back()));
  EXPECT_GT(std::hypot(edge.x - projected.back().x, edge.y - projected.back().y), 0.1);
#else
  GTEST_SKIP() << "OpenCV not found: Kannala-Brandt is checked against the formula only (install libopencv-dev for cv::fisheye)";
#endif
}

// ---------------------------------------------------------------------------------------------
// Round trips through rendered fisheye images

// A 190° lens in a 384×384 image, the circle (radius 180) clear of the edges, turned away from
// the world axes.
ref_lens round_trip_lens(vs::fisheye_model m) {
  const double f = 180 / ref_radius(m, rad(95));
  return {m, f, f, 191.5, 192.5, 190, 20, 10, 5};
}

// Views 80° wide whose axes are within 35° of the lens axis: all inside the field.
const std::vector<vs::view_angles> inside_views = {{20, 10, 0}, {50, 0, 15}, {-5, 30, -10}, {25, -20, 0}};

vs::rig make_rig(const std::vector<vs::view_angles>& angles, int size, double hfov) {
  vs::rig r;
  for (const auto& a : angles) r.push_back(vs::make_camera(a, size, size, hfov));
  return r;
}

TEST(FisheyeRoundTrip, EveryModelToPinholeViewsMatchesViewsRenderedDirectly) {
  const vs::rig cams = make_rig(inside_views, 96, 80);
  const auto direct = render_pinhole(cams, inside_views, 80);
  for (vs::fisheye_model m : all_models) {
    SCOPED_TRACE(vs::fisheye_model_names[int(m)]);
    const ref_lens ref = round_trip_lens(m);
    vb::batch_buffer<vb::u8> fish({1, 384, 384, 3});
    render_fisheye(fish.view(), ref);
    const auto views = run(vs::make_f2p_map<vs::maps::cached_float>(cams, ref.source(384, 384)), fish.view());
    for (int k = 0; k < int(cams.size()); ++k) {
      const double p = psnr_if(views.view(), direct.view(), k, [](int, int) { return true; });
      record(std::string("fisheye_to_pinhole_psnr_db_") + vs::fisheye_model_names[int(m)] + "_view" + std::to_string(k), p);
      EXPECT_GT(p, 50) << "view " << k;
    }
    const auto d = vbatch_test::compare(vb::batch_view<const vb::u8>(views.view()), vb::batch_view<const vb::u8>(direct.view()));
    record(std::string("fisheye_to_pinhole_max_abs_") + vs::fisheye_model_names[int(m)], d.max_abs);
    EXPECT_LE(d.max_abs, 2) << d;
  }
}

TEST(FisheyeRoundTrip, EveryModelToEquirectMatchesThePanoramaWithinTheFieldAndIsTheBorderOutside) {
  const int w = 256, h = 128;
  const auto pano = render_equirect(w, h);
  for (vs::fisheye_model m : all_models) {
    SCOPED_TRACE(vs::fisheye_model_names[int(m)]);
    const ref_lens ref = round_trip_lens(m);
    vb::batch_buffer<vb::u8> fish({1, 384, 384, 3});
    render_fisheye(fish.view(), ref);
    const auto out =
        run(vs::make_f2e_map<vs::maps::cached_float>(w, h, ref.source(384, 384)), fish.view(), vs::border::constant{7});
    const auto inside = [&](int x, int y) { return ref.field_angle_deg(equirect_ray(x, y, w, h)) < 95 - 1e-3; };
    const auto outside = [&](int x, int y) { return ref.field_angle_deg(equirect_ray(x, y, w, h)) > 95 + 1e-3; };
    const double p = psnr_if(out.view(), pano.view(), 0, inside);
    record(std::string("fisheye_to_equirect_psnr_db_") + vs::fisheye_model_names[int(m)], p);
    EXPECT_GT(p, 50);
    int border = 0, other = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        if (outside(x, y))
          for (int c = 0; c < 3; ++c) (out.view()(0, y, x, c) == 7 ? border : other)++;
    EXPECT_EQ(other, 0) << "outside the field: every value is the border constant";
    EXPECT_GT(border, 3 * w * h / 4);  // 170° of the sphere are not seen: 41% of the pixels, 3 values each
  }
}

// Outside the image circle the output is exactly the constant, for every policy and interpolation,
// while views inside the field never are.
TEST(FisheyeBorder, OutsideTheImageCircleEveryPolicyAndInterpolationReadsTheBorderConstantExactly) {
  const ref_lens ref = round_trip_lens(vs::fisheye_model::equisolid);
  vb::batch_buffer<vb::u8> fish({1, 384, 384, 3});
  render_fisheye(fish.view(), ref);
  for (int y = 0; y < 384; ++y)  // a bright frame around the circle: any tap outside the field would show
    for (int x = 0; x < 384; ++x)
      if (std::hypot(x - ref.cx, y - ref.cy) > 180)
        for (int c = 0; c < 3; ++c) fish.view()(0, y, x, c) = 255;
  // A view straddling the edge of the field: its right half looks beyond 95°.
  const std::vector<vs::view_angles> edge = {{20 + 95, 10, 0}};
  const vs::rig cams = make_rig(edge, 64, 60);
  const auto ref_cam = vbatch_test::make_ref_camera(115, 10, 0, 64, 64, 60);
  const auto check = [&](const auto& map, const char* what) {
    SCOPED_TRACE(what);
    const auto bilinear = run(map, fish.view(), vs::border::constant{3});
    vb::batch_buffer<vb::u8> cubic(bilinear.shape()), nearest(bilinear.shape());
    vs::remap(vb::cpu_par{2}, vb::batch_view<const vb::u8>(fish.view()), map, cubic.view(), vs::interp::bicubic{},
              vs::border::constant{3});
    vs::remap(vb::cpu_serial{}, vb::batch_view<const vb::u8>(fish.view()), map, nearest.view(), vs::interp::nearest{},
              vs::border::constant{3});
    const vb::batch_buffer<vb::u8>* images[] = {&bilinear, &cubic, &nearest};
    int outside = 0, inside = 0;
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) {
        const double a = ref.field_angle_deg(ref_cam.ray(x, y));
        for (const vb::batch_buffer<vb::u8>* img : images)
          for (int c = 0; c < 3; ++c) {
            const int v = img->view()(0, y, x, c);
            if (a > 95 + 1e-3) {
              ++outside;
              EXPECT_EQ(v, 3) << "(" << x << ", " << y << ") at " << a << " deg";
            } else if (a < 95 - 2) {
              ++inside;
              EXPECT_NE(v, 3) << "(" << x << ", " << y << ")";  // wavy stays in [27, 228]
            }
          }
      }
    EXPECT_GT(outside, 3 * 3 * 64 * 20);
    EXPECT_GT(inside, 3 * 3 * 64 * 20);
  };
  const vs::fisheye_source src = ref.source(384, 384);
  check(vs::make_f2p_map<vs::maps::on_the_fly>(cams, src), "on_the_fly");
  check(vs::make_f2p_map<vs::maps::cached_float>(cams, src), "cached_float");
  check(vs::make_f2p_map<vs::maps::cached_fixed>(cams, src), "cached_fixed");
}

// ---------------------------------------------------------------------------------------------
// Dual fisheye: two back-to-back 190° lenses side by side in one 512×256 image, slightly
// misaligned as real cameras are, read from a JSON file.

struct dual_rig {
  ref_lens lenses[2];
  static dual_rig make() {
    const double f = 124 / rad(95);
    return {{{vs::fisheye_model::equidistant, f, f, 127.5, 127.5, 190, 0, 0, 0.2},
             {vs::fisheye_model::equidistant, f, f, 383.5, 127.5, 190, 180.4, 0.3, -0.5}}};
  }
  std::string json() const {
    std::string s = R"({"width": 512, "height": 256, "lenses": [)";
    for (int i = 0; i < 2; ++i) {
      const ref_lens& l = lenses[i];
      s += (i ? ", " : "") + std::string(R"({"model": "equidistant", "centre": [)") + std::to_string(l.cx) + ", " +
           std::to_string(l.cy) + R"(], "radius": 124, "fov": 190, "yaw": )" + std::to_string(l.yaw) + R"(, "pitch": )" +
           std::to_string(l.pitch) + R"(, "roll": )" + std::to_string(l.roll) + "}";
    }
    return s + "]}";
  }
  vb::batch_buffer<vb::u8> image() const {
    vb::batch_buffer<vb::u8> img({1, 256, 512, 3});                 // (1,256,512,3): two 256×256 halves
    render_fisheye(img.view(), lenses[0], /*field*/ true, 0, 256);  // black beyond 95°, as a camera's
    render_fisheye(img.view(), lenses[1], true, 256, 256);
    return img;
  }
};

TEST(FisheyeDual, BackToBackLensesGiveTheWholeSphereWithoutAGapAtTheSeam) {
  const dual_rig rig = dual_rig::make();
  const vbatch_test::temp_dir dir;
  const std::string json = rig.json();
  vbatch_test::write_bytes(dir / "camera.json", std::vector<unsigned char>(json.begin(), json.end()));
  const vs::dual_fisheye_source src = vs::read_dual_fisheye(dir / "camera.json");
  const int w = 512, h = 256;
  const auto pano = render_equirect(w, h);
  const auto out = run(vs::make_f2e_map<vs::maps::cached_fixed>(w, h, src), rig.image().view());
  const double whole = psnr_if(out.view(), pano.view(), 0, [](int, int) { return true; });
  record("dual_fisheye_to_equirect_psnr_db", whole);
  EXPECT_GT(whole, 50);
  // The seam: where both lenses see (within 95° of both axes).
  const auto seam = [&](int x, int y) {
    const dir3 d = equirect_ray(x, y, w, h);
    return rig.lenses[0].field_angle_deg(d) < 95 && rig.lenses[1].field_angle_deg(d) < 95;
  };
  const double seam_psnr = psnr_if(out.view(), pano.view(), 0, seam);
  record("dual_fisheye_seam_psnr_db", seam_psnr);
  EXPECT_GT(seam_psnr, 50);
  const auto d = vbatch_test::compare_if(vb::batch_view<const vb::u8>(out.view()), vb::batch_view<const vb::u8>(pano.view()),
                                         [&](int, int y, int x) { return seam(x, y); });
  record("dual_fisheye_seam_max_abs", d.max_abs);
  EXPECT_GT(d.pixels, w * h / 40);  // a band about 10° wide around the sphere
  EXPECT_LE(d.max_abs, 2) << "a gap reads 0 where the scene is above 27: " << d;
}

TEST(FisheyeDual, EachDirectionIsSampledFromTheLensWithTheSmallerFieldAngle) {
  const dual_rig rig = dual_rig::make();
  const vs::dual_fisheye_source src = vs::parse_dual_fisheye(rig.json(), "camera.json");
  for (double lon = -180; lon < 180; lon += 7.5)
    for (double lat = -85; lat <= 85; lat += 8.5) {
      const dir3 d = vbatch_test::from_lon_lat(lon, lat);
      const int lens = rig.lenses[0].field_angle_deg(d) <= rig.lenses[1].field_angle_deg(d) ? 0 : 1;
      const auto p = src(vbatch_test::to_vec3(d));
      const auto want = rig.lenses[lens].source(512, 256)(vbatch_test::to_vec3(d));
      EXPECT_NEAR(p.x, want.x, 1e-9) << lon << ", " << lat;
      EXPECT_NEAR(p.y, want.y, 1e-9);
      EXPECT_EQ(p.x < 256, lens == 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Policies, executors, batches

template <class A, class B>
double worst_gap(const A& a, const B& b) {
  const vs::map_shape& m = a.shape;
  double worst = 0;
  for (int k = 0; k < m.views; ++k)
    for (int y = 0; y < m.height; ++y)
      for (int x = 0; x < m.width; ++x) {
        const vs::sample_point<float> pa = a.at(k, y, x);
        const auto raw = b.at(k, y, x);
        vs::sample_point<float> pb;
        if constexpr (std::is_same_v<decltype(raw), const vs::fixed_sample_point>)
          pb = vs::to_float(raw);
        else
          pb = raw;
        if ((pa.x == vs::outside_point) != (pb.x == vs::outside_point)) continue;  // at the edge of the field only
        worst = std::max({worst, std::fabs(double(pa.x) - pb.x), std::fabs(double(pa.y) - pb.y)});
      }
  return worst;
}

TEST(FisheyePolicies, TheThreePoliciesAgreeWithinTheirDocumentedTolerances) {
  const dual_rig rig = dual_rig::make();
  const vs::dual_fisheye_source dual = vs::parse_dual_fisheye(rig.json());
  const vs::fisheye_source single = round_trip_lens(vs::fisheye_model::kannala_brandt).source(384, 384);
  const vs::rig cams = make_rig({{20, 10, 0}, {115, 10, 0}, {-60, -30, 20}}, 64, 90);
  const auto check = [&](const auto& fly, const auto& flt, const auto& fix, const char* what) {
    SCOPED_TRACE(what);
    const double a = worst_gap(flt.view(), fly.view()), b = worst_gap(flt.view(), fix.view());
    record(std::string("fisheye_on_the_fly_vs_cached_float_px_") + what, a);
    record(std::string("fisheye_cached_fixed_vs_cached_float_px_") + what, b);
    EXPECT_LT(a, 5e-4);
    EXPECT_LE(b, 1.0 / vs::fixed_one + 1e-4);  // a point of the 1/fixed_one grid next to it
  };
  check(vs::make_f2p_map<vs::maps::on_the_fly>(cams, single), vs::make_f2p_map<vs::maps::cached_float>(cams, single),
        vs::make_f2p_map<vs::maps::cached_fixed>(cams, single), "single_f2p");
  check(vs::make_f2e_map<vs::maps::on_the_fly>(256, 128, dual), vs::make_f2e_map<vs::maps::cached_float>(256, 128, dual),
        vs::make_f2e_map<vs::maps::cached_fixed>(256, 128, dual), "dual_f2e");
  // The images: u8 bilinear rounds every point to 1/128 px, so they differ by a level at most.
  const auto img = rig.image();
  const auto fly = run(vs::make_f2e_map<vs::maps::on_the_fly>(256, 128, dual), img.view());
  const auto fix = run(vs::make_f2e_map<vs::maps::cached_fixed>(256, 128, dual), img.view());
  const auto d = vbatch_test::compare(vb::batch_view<const vb::u8>(fly.view()), vb::batch_view<const vb::u8>(fix.view()));
  record("fisheye_on_the_fly_vs_cached_fixed_levels", d.max_abs);
  EXPECT_LE(d.max_abs, 1) << d;
}

TEST(FisheyeExecutors, SerialEqualsParallelAndABatchEqualsOneCallPerFrame) {
  const vs::fisheye_source src = round_trip_lens(vs::fisheye_model::stereographic).source(160, 120);
  const vs::dual_fisheye_source dual =
      vs::dual_fisheye_source::from(src, round_trip_lens(vs::fisheye_model::stereographic).source(160, 120));
  const auto frames = vbatch_test::random_images<vb::u8>({3, 120, 160, 3}, 14);  // (3,120,160,3)
  const vs::rig cams = make_rig({{20, 10, 0}, {-40, 0, 30}}, 48, 100);
  const auto check = [&](const auto& map, const char* what) {
    SCOPED_TRACE(what);
    const vs::map_shape& m = map.shape();
    vb::batch_buffer<vb::u8> par({3 * m.views, m.height, m.width, 3}), seq(par.shape()), one(par.shape());
    const vb::batch_view<const vb::u8> in = frames.view();
    vs::remap(vb::cpu_par{2}, in, map, par.view(), vs::interp::bilinear{}, vs::border::constant{0});
    vs::remap(vb::cpu_serial{}, in, map, seq.view(), vs::interp::bilinear{}, vs::border::constant{0});
    for (int f = 0; f < 3; ++f)
      vs::remap(vb::cpu_serial{}, in.images(f, 1), map, one.view().images(f * m.views, m.views), vs::interp::bilinear{},
                vs::border::constant{0});
    EXPECT_TRUE(vbatch_test::same_bytes(par.view(), seq.view()));
    EXPECT_TRUE(vbatch_test::same_bytes(par.view(), one.view()));
    EXPECT_FALSE(vbatch_test::same_bytes(par.view().images(0, m.views), par.view().images(m.views, m.views))) << "frames differ";
  };
  check(vs::make_f2p_map<vs::maps::cached_fixed>(cams, src), "f2p cached_fixed");
  check(vs::make_f2p_map<vs::maps::on_the_fly>(cams, src), "f2p on_the_fly");
  check(vs::make_f2e_map<vs::maps::cached_float>(96, 48, dual), "f2e dual cached_float");
}

// ---------------------------------------------------------------------------------------------
// Shapes, bad parameters, bad files

TEST(FisheyeMaps, ShapesComeFromTheSource) {
  const vs::fisheye_source src = round_trip_lens(vs::fisheye_model::equidistant).source(384, 300);
  const auto map = vs::make_f2p_map<vs::maps::cached_fixed>(make_rig(inside_views, 32, 90), src);
  EXPECT_EQ(map.shape().views, 4);
  EXPECT_EQ(map.shape().source_images, 1);
  EXPECT_EQ(map.shape().source_w, 384);
  EXPECT_EQ(map.shape().source_h, 300);
  EXPECT_EQ(map.bytes(), 4u * 32 * 32 * 6);
  const auto e = vs::make_f2e_map<vs::maps::on_the_fly>(64, 32, vs::parse_dual_fisheye(dual_rig::make().json()));
  EXPECT_EQ(e.shape().source_w, 512);
  EXPECT_EQ(e.shape().source_h, 256);
  EXPECT_TRUE(vs::can_make_f2p_map<vs::maps::cached_float>(make_rig(inside_views, 32, 90), src));
  EXPECT_TRUE(vbatch_test::failed_with(vs::can_make_f2p_map<vs::maps::cached_float>(vs::rig{}, src), vb::errc::invalid_argument,
                                       {"no cameras"}));
  // A fisheye map checks the frames it is given like any other.
  vb::batch_buffer<vb::u8> wrong({1, 384, 384, 3}), out({4, 32, 32, 3});
  EXPECT_TRUE(throws_error(
      [&] {
        vs::remap(vb::cpu_serial{}, vb::batch_view<const vb::u8>(wrong.view()), map, out.view(), vs::interp::bilinear{},
                  vs::border::constant{});
      },
      vb::errc::invalid_argument, {"384x384", "384x300"}));
}

TEST(FisheyeParameters, BadLensesAreRejectedNamingTheParameter) {
  using M = vs::fisheye_model;
  EXPECT_TRUE(throws_error([] { (void)vs::fisheye_from_intrinsics(M::equidistant, 0, 100, 50, 50, 180); },
                           vb::errc::invalid_argument, {"fx=0"}));
  EXPECT_TRUE(throws_error([] { (void)vs::fisheye_from_intrinsics(M::equisolid, 100, NAN, 50, 50, 180); },
                           vb::errc::invalid_argument, {"fy=nan"}));
  EXPECT_TRUE(throws_error([] { (void)vs::fisheye_from_intrinsics(M::equidistant, 100, 100, INFINITY, 50, 180); },
                           vb::errc::invalid_argument, {"centre"}));
  EXPECT_TRUE(throws_error([] { (void)vs::fisheye_from_fov(M::equidistant, 50, 50, 40, 0); }, vb::errc::invalid_argument,
                           {"field of view 0"}));
  EXPECT_TRUE(throws_error([] { (void)vs::fisheye_from_fov(M::equisolid, 50, 50, 40, 361); }, vb::errc::invalid_argument,
                           {"field of view 361"}));
  EXPECT_TRUE(throws_error([] { (void)vs::fisheye_from_fov(M::stereographic, 50, 50, 40, 360); }, vb::errc::invalid_argument,
                           {"360", "stereographic"}));
  EXPECT_NO_THROW((void)vs::fisheye_from_fov(M::equidistant, 50, 50, 40, 360));
  EXPECT_TRUE(throws_error([] { (void)vs::fisheye_from_fov(M::equidistant, 50, 50, -1, 180); }, vb::errc::invalid_argument,
                           {"radius -1"}));
  // k1 = -0.3: the radius peaks at 62° (θ + k1 θ³ stops growing at θ² = 1 / 0.9).
  EXPECT_TRUE(throws_error(
      [] {
        (void)vs::fisheye_from_fov(M::kannala_brandt, 50, 50, 40, 180, {-0.3, 0, 0, 0});
      },
      vb::errc::invalid_argument, {"k = (-0.3", "stop growing at 60"}));
  EXPECT_NO_THROW((void)vs::fisheye_from_fov(M::kannala_brandt, 50, 50, 40, 120, {-0.3, 0, 0, 0}));
  EXPECT_TRUE(throws_error(
      [] {
        (void)vs::fisheye_from_intrinsics(M::kannala_brandt, 9, 9, 5, 5, 90, {0, NAN, 0, 0});
      },
      vb::errc::invalid_argument, {"k = (0, nan"}));
  const vs::fisheye_lens lens = vs::fisheye_from_fov(M::equidistant, 50, 50, 40, 180);
  EXPECT_TRUE(throws_error([&] { (void)vs::fisheye_source::from(0, 100, lens); }, vb::errc::invalid_argument, {"0x100"}));
  EXPECT_TRUE(throws_error(
      [&] {
        (void)vs::fisheye_source::from(100, 100, lens, vs::view_angles{NAN, 0, 0});
      },
      vb::errc::invalid_argument, {"yaw=nan"}));
  EXPECT_TRUE(throws_error(
      [&] {
        (void)vs::dual_fisheye_source::from(vs::fisheye_source::from(200, 100, lens), vs::fisheye_source::from(100, 100, lens));
      },
      vb::errc::invalid_argument, {"200x100", "100x100"}));
  EXPECT_FALSE(vs::find_fisheye_model("fisheye"));
  EXPECT_EQ(vs::find_fisheye_model("kannala_brandt"), M::kannala_brandt);
}

// A valid file with one substitution.
std::string dual_json(std::string_view from, std::string_view to) {
  std::string s = R"({"width": 512, "height": 256, "lenses": [
    {"model": "equidistant", "centre": [127.5, 127.5], "radius": 124, "fov": 190},
    {"model": "kannala_brandt", "centre": [383.5, 127.5], "radius": 124, "fov": 190, "yaw": 180, "k": [0.01, 0, 0, 0]}]})";
  const std::size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? s : s.replace(at, from.size(), to);
}

TEST(FisheyeFile, BadFilesAreRejectedNamingTheFileAndTheKey) {
  const auto parse = [](std::string text) { return [text] { (void)vs::parse_dual_fisheye(text, "cam.json"); }; };
  EXPECT_NO_THROW(parse(dual_json("", ""))());
  const vs::dual_fisheye_source ok = vs::parse_dual_fisheye(dual_json("", ""));
  EXPECT_EQ(ok.lenses[1].lens.model, vs::fisheye_model::kannala_brandt);
  EXPECT_EQ(ok.lenses[1].lens.k[0], 0.01);
  EXPECT_NEAR(ok.lenses[1].lens.fx, 124 / ref_radius(vs::fisheye_model::kannala_brandt, rad(95), {0.01, 0, 0, 0}), 1e-9);
  using E = vb::errc;
  struct bad {
    std::string_view from, to;
    E code;
    std::initializer_list<std::string_view> parts;
  };
  const bad cases[] = {
      {"]}", "]", E::corrupt_data, {"cam.json", "not valid JSON", "expected '}'"}},
      {"512", "0512", E::corrupt_data, {"cam.json", "leading zero"}},
      {"\"width\"", "\"wide\"", E::corrupt_data, {"cam.json", "unknown key \"wide\"", "width, height, lenses"}},
      {"512", "\"512\"", E::corrupt_data, {"cam.json", "width must be a number, got a string"}},
      {"512", "512.5", E::invalid_argument, {"cam.json", "width must be a whole number", "512.5"}},
      {"256,", "0,", E::invalid_argument, {"cam.json", "height", "got 0"}},
      {"\"lenses\": [", "\"lens\": [", E::corrupt_data, {"cam.json", "\"lens\""}},
      {"190},", "190}, {},", E::corrupt_data, {"cam.json", "lenses must hold 2 lenses, got 3"}},
      {"\"fov\": 190}", "\"fov\": 190, \"fov\": 180}", E::corrupt_data, {"cam.json", "lenses[0].fov\" is given twice"}},
      {"\"fov\": 190}", "\"fov_deg\": 190}", E::corrupt_data, {"cam.json", "unknown key \"lenses[0].fov_deg\""}},
      {"\"radius\": 124, \"fov\": 190}", "\"fov\": 190}", E::corrupt_data, {"cam.json", "lenses[0].radius is missing"}},
      {"\"radius\": 124, \"fov\": 190}",
       "\"radius\": -3, \"fov\": 190}",
       E::invalid_argument,
       {"cam.json", "lenses[0].radius", "-3"}},
      {"\"fov\": 190, \"yaw\"", "\"fov\": 400, \"yaw\"", E::invalid_argument, {"cam.json", "lenses[1].fov", "400"}},
      {"\"equidistant\"", "\"fishy\"", E::invalid_argument, {"cam.json", "lenses[0].model \"fishy\" is not a model"}},
      {"\"equidistant\"", "3", E::corrupt_data, {"cam.json", "lenses[0].model must be a string, got a number"}},
      {"[127.5, 127.5]", "[127.5]", E::corrupt_data, {"cam.json", "lenses[0].centre must be an array of 2 numbers"}},
      {"[127.5, 127.5]", "[127.5, \"x\"]", E::corrupt_data, {"cam.json", "lenses[0].centre must be an array of 2 numbers"}},
      {"[0.01, 0, 0, 0]", "[0.01, 0, 0]", E::corrupt_data, {"cam.json", "lenses[1].k must be an array of 4 numbers"}},
      {"\"fov\": 190}",
       "\"fov\": 190, \"k\": [0, 0, 0, 0]}",
       E::invalid_argument,
       {"cam.json", "lenses[0].k applies to kannala_brandt only"}},
      {"[0.01, 0, 0, 0]", "[-0.4, 0, 0, 0]", E::invalid_argument, {"cam.json", "lenses[1]", "k = (-0.4", "stop growing"}},
      {"\"yaw\": 180", "\"yaw\": true", E::corrupt_data, {"cam.json", "lenses[1].yaw must be a number, got a boolean"}},
  };
  for (const bad& c : cases) {
    SCOPED_TRACE(std::string(c.from) + " -> " + std::string(c.to));
    EXPECT_TRUE(throws_error(parse(dual_json(c.from, c.to)), c.code, c.parts));
  }
  // A stereographic lens cannot see 360°: the lens check's message, prefixed with the lens.
  EXPECT_TRUE(throws_error(parse(dual_json("\"equidistant\", \"centre\": [127.5, 127.5], \"radius\": 124, \"fov\": 190",
                                           "\"stereographic\", \"centre\": [127.5, 127.5], \"radius\": 124, \"fov\": 360")),
                           E::invalid_argument, {"cam.json: lenses[0]: ", "360", "stereographic"}));
  EXPECT_TRUE(throws_error(parse("[1, 2]"), E::corrupt_data, {"cam.json", "the document must be an object, got an array"}));
  EXPECT_TRUE(throws_error(parse(""), E::corrupt_data, {"cam.json", "unexpected end"}));
  EXPECT_TRUE(throws_error(parse(std::string(100, '[')), E::corrupt_data, {"nested too deeply"}));
  EXPECT_TRUE(throws_error(parse(dual_json("\"equidistant\"", "\"equi\\u0064istant\"")), E::corrupt_data, {"\\u escapes"}));
  EXPECT_TRUE(throws_error(parse(R"({"width": 1e999})"), E::corrupt_data, {"cam.json", "number out of range"}));
  const vbatch_test::temp_dir dir;
  EXPECT_TRUE(throws_error([&] { (void)vs::read_dual_fisheye(dir / "missing.json"); }, E::io, {"missing.json"}));
}

}  // namespace
