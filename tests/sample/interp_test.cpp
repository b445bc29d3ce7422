// The per-pixel sampler: nearest, bilinear and bicubic against textbook formulas; the borders
// (clamp, constant, wrap_equirect across the seam and over the poles, cube_seams) against their
// geometric meaning; fixed-point sample points; u8 rounding.

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;

template <class T>
vb::sample::source_images<T> images_of(vb::batch_view<const T> v) {
  return {v.data, v.w, v.h, v.stride_n, v.stride_h, v.stride_w};
}

// The value a tap (x, y) of channel c reads, written from the geometric meaning of each border.
enum class ref_border { clamp, constant, wrap };
constexpr float constant_value = 37.25f;

template <class T>
double ref_tap(vb::batch_view<const T> img, ref_border b, int x, int y, int c) {
  const int w = img.w, h = img.h;
  switch (b) {
    case ref_border::clamp:
      return img(0, std::clamp(y, 0, h - 1), std::clamp(x, 0, w - 1), c);
    case ref_border::constant:
      return (x < 0 || y < 0 || x >= w || y >= h) ? double(constant_value) : double(img(0, y, x, c));
    case ref_border::wrap: {
      // Centre of the tap on the sphere, folded back over a pole (lat 90 + d is lat 90 - d on the
      // opposite meridian), then back to pixel indices.
      double lon = (x + 0.5) / w * 360 - 180, lat = 90 - (y + 0.5) / h * 180;
      if (lat > 90) lat = 180 - lat, lon += 180;
      if (lat < -90) lat = -180 - lat, lon += 180;
      const int xi = static_cast<int>(std::lround((lon + 180) / 360 * w - 0.5)) % w;
      const int yi = static_cast<int>(std::lround((90 - lat) / 180 * h - 0.5));
      return img(0, yi, (xi + w) % w, c);
    }
  }
  return 0;
}

double keys(double t, double a) {
  t = std::fabs(t);
  if (t <= 1) return (a + 2) * t * t * t - (a + 3) * t * t + 1;
  if (t < 2) return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a;
  return 0;
}

template <class T>
double ref_nearest(vb::batch_view<const T> img, ref_border b, double x, double y, int c) {
  return ref_tap(img, b, static_cast<int>(std::floor(x + 0.5)), static_cast<int>(std::floor(y + 0.5)), c);
}
template <class T>
double ref_bilinear(vb::batch_view<const T> img, ref_border b, double x, double y, int c) {
  const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  const double ax = x - x0, ay = y - y0;
  return (1 - ay) * ((1 - ax) * ref_tap(img, b, x0, y0, c) + ax * ref_tap(img, b, x0 + 1, y0, c)) +
         ay * ((1 - ax) * ref_tap(img, b, x0, y0 + 1, c) + ax * ref_tap(img, b, x0 + 1, y0 + 1, c));
}
template <class T>
double ref_bicubic(vb::batch_view<const T> img, ref_border b, double x, double y, int c, double a) {
  const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  double s = 0;
  for (int j = -1; j <= 2; ++j)
    for (int i = -1; i <= 2; ++i) s += keys(x - (x0 + i), a) * keys(y - (y0 + j), a) * ref_tap(img, b, x0 + i, y0 + j, c);
  return s;
}

template <int C, class T, class Interp, class Border>
std::vector<double> run_sample(Interp in, vb::batch_view<const T> img, Border border, double x, double y) {
  T out[C];
  vb::sample::sample<C>(in, images_of(img), border, vb::sample::sample_point<float>{0, float(x), float(y)}, out);
  return std::vector<double>(out, out + C);
}

// Points that are exactly representable in float, inside, near and beyond every edge.
std::vector<std::pair<double, double>> probe_points(int w, int h, unsigned seed) {
  std::vector<std::pair<double, double>> pts;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> ux(-2.5, w + 1.5), uy(-2.5, h + 1.5);
  for (int i = 0; i < 400; ++i)
    pts.emplace_back(std::ldexp(std::round(std::ldexp(ux(rng), 10)), -10), std::ldexp(std::round(std::ldexp(uy(rng), 10)), -10));
  for (double x : {-0.5, -0.25, 0.0, 0.5, w - 1.0, w - 0.75, w - 0.5})
    for (double y : {-0.5, -0.25, 0.0, 3.25, h - 1.0, h - 0.5}) pts.emplace_back(x, y);
  return pts;
}

template <int C, class Border>
void check_all_interpolations(ref_border rb, Border border) {
  const int w = 16, h = 8;
  const auto img = vbatch_test::random_images<float>({1, h, w, C}, 11 + C);  // (1,H,W,C)
  const vb::batch_view<const float> v = img.view();
  for (const auto& [x, y] : probe_points(w, h, 3 + C)) {
    SCOPED_TRACE(testing::Message() << "point (" << x << ", " << y << ")");
    const auto n = run_sample<C>(vb::sample::interp::nearest{}, v, border, x, y);
    const auto l = run_sample<C>(vb::sample::interp::bilinear{}, v, border, x, y);
    const auto k = run_sample<C>(vb::sample::interp::bicubic{}, v, border, x, y);
    const auto k5 = run_sample<C>(vb::sample::interp::bicubic{-0.5f}, v, border, x, y);
    for (int c = 0; c < C; ++c) {
      ASSERT_EQ(n[c], ref_nearest(v, rb, x, y, c)) << "nearest c=" << c;
      ASSERT_NEAR(l[c], ref_bilinear(v, rb, x, y, c), 2e-4) << "bilinear c=" << c;
      ASSERT_NEAR(k[c], ref_bicubic(v, rb, x, y, c, -0.75), 5e-4) << "bicubic c=" << c;
      ASSERT_NEAR(k5[c], ref_bicubic(v, rb, x, y, c, -0.5), 5e-4) << "bicubic(-0.5) c=" << c;
    }
  }
}

TEST(Sample, AllInterpolationsMatchTheTextbookFormulasWithClampBorders) {
  check_all_interpolations<1>(ref_border::clamp, vb::sample::border::clamp{});
  check_all_interpolations<3>(ref_border::clamp, vb::sample::border::clamp{});
  check_all_interpolations<4>(ref_border::clamp, vb::sample::border::clamp{});
}

TEST(Sample, AllInterpolationsMatchTheTextbookFormulasWithConstantBorders) {
  check_all_interpolations<1>(ref_border::constant, vb::sample::border::constant{constant_value});
  check_all_interpolations<3>(ref_border::constant, vb::sample::border::constant{constant_value});
  check_all_interpolations<4>(ref_border::constant, vb::sample::border::constant{constant_value});
}

TEST(Sample, AllInterpolationsMatchTheSphereFoldedOverThePolesWithWrapEquirect) {
  check_all_interpolations<1>(ref_border::wrap, vb::sample::border::wrap_equirect{});
  check_all_interpolations<3>(ref_border::wrap, vb::sample::border::wrap_equirect{});
  check_all_interpolations<4>(ref_border::wrap, vb::sample::border::wrap_equirect{});
}

TEST(Sample, WrapEquirectReadsAcrossTheSeamAndOverThePoleAsDocumented) {
  const int w = 8, h = 4;
  vb::batch_buffer<float> img({1, h, w, 1});  // (1,H,W,C)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.view()(0, y, x, 0) = float(10 * y + x);
  const vb::batch_view<const float> v = img.view();
  const vb::sample::border::wrap_equirect wrap;
  // Halfway between the last and the first column: the ±180° seam.
  EXPECT_FLOAT_EQ(run_sample<1>(vb::sample::interp::bilinear{}, v, wrap, 7.5, 1)[0], 0.5f * (17 + 10));
  EXPECT_FLOAT_EQ(run_sample<1>(vb::sample::interp::bilinear{}, v, wrap, -0.5, 2)[0], 0.5f * (27 + 20));
  EXPECT_EQ(run_sample<1>(vb::sample::interp::nearest{}, v, wrap, 7.5, 1)[0], 10);  // ties go up: column 8 = column 0
  // Row -1 is row 0 shifted by W/2 (the other side of the north pole); row H is row H-1 shifted.
  EXPECT_FLOAT_EQ(run_sample<1>(vb::sample::interp::bilinear{}, v, wrap, 1, -0.5)[0], 0.5f * (1 + 5));
  EXPECT_FLOAT_EQ(run_sample<1>(vb::sample::interp::bilinear{}, v, wrap, 6, 3.5)[0], 0.5f * (36 + 32));
  EXPECT_EQ(run_sample<1>(vb::sample::interp::nearest{}, v, wrap, 2, -0.6)[0], 6);
  EXPECT_EQ(run_sample<1>(vb::sample::interp::nearest{}, v, wrap, 2, -2)[0], 16);  // two rows over: row 1
}

TEST(Sample, NearestRoundsHalfwayCoordinatesUp) {
  const auto img = vbatch_test::random_images<vb::u8>({1, 6, 6, 1}, 2);  // (1,H,W,C)
  const vb::batch_view<const vb::u8> v = img.view();
  EXPECT_EQ(run_sample<1>(vb::sample::interp::nearest{}, v, vb::sample::border::clamp{}, 2.5, 3.5)[0], v(0, 4, 3, 0));
  EXPECT_EQ(run_sample<1>(vb::sample::interp::nearest{}, v, vb::sample::border::clamp{}, 2.4999, 3.4999)[0], v(0, 3, 2, 0));
  EXPECT_EQ(run_sample<1>(vb::sample::interp::nearest{}, v, vb::sample::border::clamp{}, -0.5, 0)[0], v(0, 0, 0, 0));
}

TEST(Sample, ConstantBorderFillsEveryChannelWithItsValue) {
  const auto img = vbatch_test::random_images<vb::u8>({1, 4, 4, 4}, 9);  // (1,H,W,C)
  const vb::batch_view<const vb::u8> v = img.view();
  for (auto out : {run_sample<4>(vb::sample::interp::nearest{}, v, vb::sample::border::constant{200}, -3, 1),
                   run_sample<4>(vb::sample::interp::bilinear{}, v, vb::sample::border::constant{200}, 1, 9),
                   run_sample<4>(vb::sample::interp::bicubic{}, v, vb::sample::border::constant{200}, 20, 20)})
    for (double o : out) EXPECT_EQ(o, 200);
}

TEST(Sample, U8ResultsAreTheRoundedFloatResults) {
  const auto img = vbatch_test::random_images<vb::u8>({1, 12, 12, 3}, 4);  // (1,H,W,C)
  const vb::batch_view<const vb::u8> v = img.view();
  for (const auto& [x, y] : probe_points(12, 12, 17)) {
    const auto l = run_sample<3>(vb::sample::interp::bilinear{}, v, vb::sample::border::wrap_equirect{}, x, y);
    const auto k = run_sample<3>(vb::sample::interp::bicubic{}, v, vb::sample::border::clamp{}, x, y);
    // u8 bilinear samples the point rounded to 1/128 pixel (the fixed-point path on every map).
    const vb::sample::fixed_sample_point q = vb::sample::to_fixed(vb::sample::sample_point<double>{0, x, y});
    const double xq = q.x + double(q.fx) / vb::sample::fixed_one, yq = q.y + double(q.fy) / vb::sample::fixed_one;
    ASSERT_LE(std::fabs(xq - x), 1.0 / vb::sample::fixed_one);  // a whole step just below a half pixel
    ASSERT_LE(std::fabs(yq - y), 1.0 / vb::sample::fixed_one);
    for (int c = 0; c < 3; ++c) {
      ASSERT_LE(std::fabs(l[c] - ref_bilinear(v, ref_border::wrap, xq, yq, c)), 0.5 + 1e-3) << x << "," << y;
      const double kb = std::clamp(ref_bicubic(v, ref_border::clamp, x, y, c, -0.75), 0.0, 255.0);  // saturates
      ASSERT_LE(std::fabs(k[c] - kb), 0.5 + 1e-3) << x << "," << y;
    }
  }
}

TEST(ToElement, U8RoundsHalfUpAndSaturates) {
  EXPECT_EQ(vb::to_element<vb::u8>(2.5f), 3);
  EXPECT_EQ(vb::to_element<vb::u8>(2.49f), 2);
  EXPECT_EQ(vb::to_element<vb::u8>(254.5f), 255);
  EXPECT_EQ(vb::to_element<vb::u8>(300.0f), 255);
  EXPECT_EQ(vb::to_element<vb::u8>(-0.4f), 0);
  EXPECT_EQ(vb::to_element<vb::u8>(-20.0f), 0);
  EXPECT_EQ(vb::to_element<float>(-20.25f), -20.25f);
  EXPECT_STREQ(vb::element_name<vb::u8>(), "u8");
  EXPECT_STREQ(vb::element_name<const float>(), "f32");
}

TEST(FixedSamplePoint, BilinearU8IsTheExactlyRoundedValueAtTheQuantisedPoint) {
  const auto img = vbatch_test::random_images<vb::u8>({1, 10, 20, 4}, 21);  // (1,H,W,C)
  const vb::batch_view<const vb::u8> v = img.view();
  std::mt19937 rng(8);
  for (int t = 0; t < 2000; ++t) {
    const vb::sample::fixed_sample_point p{0, int(rng() % 23) - 2, int(rng() % 13) - 2, int(rng() % vb::sample::fixed_one),
                                           int(rng() % vb::sample::fixed_one)};
    vb::u8 out[4];
    vb::sample::sample<4>(vb::sample::interp::bilinear{}, images_of(v), vb::sample::border::wrap_equirect{}, p, out);
    const double x = p.x + double(p.fx) / vb::sample::fixed_one, y = p.y + double(p.fy) / vb::sample::fixed_one;
    for (int c = 0; c < 4; ++c)
      ASSERT_LE(std::fabs(out[c] - ref_bilinear(v, ref_border::wrap, x, y, c)), 0.5)
          << p.x << "+" << p.fx << "/" << vb::sample::fixed_one;
    // nearest rounds the fraction half up
    vb::sample::sample<4>(vb::sample::interp::nearest{}, images_of(v), vb::sample::border::wrap_equirect{}, p, out);
    for (int c = 0; c < 4; ++c) ASSERT_EQ(out[c], ref_nearest(v, ref_border::wrap, x, y, c));
  }
}

// A tap outside the image reads the constant border value; u8 outputs round and saturate it
// the same way whichever path (float point or fixed-point integer arithmetic) samples it.
TEST(FixedSamplePoint, ConstantBorderValuesGiveTheSameU8OnTheFixedAndFloatPaths) {
  const auto img = vbatch_test::random_images<vb::u8>({1, 8, 8, 1}, 3);  // (1,H,W,C)
  const vb::batch_view<const vb::u8> v = img.view();
  for (float value : {0.0f, 255.0f, 100.6f, 300.0f, -1.0f}) {
    const vb::sample::border::constant border{value};
    vb::u8 fixed_out = 0, float_out = 0;
    vb::sample::sample<1>(vb::sample::interp::bilinear{}, images_of(v), border, vb::sample::fixed_sample_point{0, -5, -5, 10, 20},
                          &fixed_out);
    vb::sample::sample<1>(
        vb::sample::interp::bilinear{}, images_of(v), border,
        vb::sample::sample_point<float>{0, -5.0f + 10.0f / vb::sample::fixed_one, -5.0f + 20.0f / vb::sample::fixed_one},
        &float_out);
    EXPECT_EQ(int(fixed_out), int(float_out)) << "constant " << value;
    EXPECT_EQ(int(float_out), int(vb::to_element<vb::u8>(value))) << "constant " << value;
  }
}

TEST(FixedSamplePoint, FloatImagesAndBicubicUseTheDecodedPoint) {
  const auto img = vbatch_test::random_images<float>({1, 10, 10, 1}, 22);  // (1,H,W,C)
  const vb::batch_view<const float> v = img.view();
  const vb::sample::fixed_sample_point p{0, 4, 5, vb::sample::fixed_one / 4, vb::sample::fixed_one * 3 / 4};
  EXPECT_EQ(vb::sample::to_float(p).x, 4.25f);
  EXPECT_EQ(vb::sample::to_float(p).y, 5.75f);
  float a, b;
  vb::sample::sample<1>(vb::sample::interp::bilinear{}, images_of(v), vb::sample::border::clamp{}, p, &a);
  EXPECT_NEAR(a, ref_bilinear(v, ref_border::clamp, 4.25, 5.75, 0), 1e-4);
  vb::sample::sample<1>(vb::sample::interp::bicubic{}, images_of(v), vb::sample::border::clamp{}, p, &b);
  EXPECT_NEAR(b, ref_bicubic(v, ref_border::clamp, 4.25, 5.75, 0, -0.75), 1e-3);
}

TEST(Sample, IntegerPointsCopyThePixelWithEveryInterpolation) {
  const auto img = vbatch_test::random_images<float>({1, 7, 9, 3}, 23);  // (1,H,W,C)
  const vb::batch_view<const float> v = img.view();
  for (int y = 0; y < 7; ++y)
    for (int x = 0; x < 9; ++x)
      for (const auto& out : {run_sample<3>(vb::sample::interp::nearest{}, v, vb::sample::border::constant{}, x, y),
                              run_sample<3>(vb::sample::interp::bilinear{}, v, vb::sample::border::constant{}, x, y),
                              run_sample<3>(vb::sample::interp::bicubic{}, v, vb::sample::border::constant{}, x, y)})
        for (int c = 0; c < 3; ++c) ASSERT_EQ(out[c], v(0, y, x, c)) << x << "," << y;
}

// Six faces, each a constant 10 * (face + 1) in channel 0 and the column index in channel 1.
vb::batch_buffer<float> labelled_faces(int w) {
  vb::batch_buffer<float> faces({6, w, w, 2});  // (6,w,w,2)
  for (int f = 0; f < 6; ++f)
    for (int y = 0; y < w; ++y)
      for (int x = 0; x < w; ++x) faces.view()(f, y, x, 0) = float(10 * (f + 1)), faces.view()(f, y, x, 1) = float(x);
  return faces;
}

TEST(CubeSeams, TapsPastAFaceEdgeReadTheNeighbouringFace) {
  const int w = 8;
  const auto faces = labelled_faces(w);
  const vb::batch_view<const float> v = faces.view();
  const vb::sample::border::cube_seams seams{vb::sample::cube_source::from(w)};
  const auto at = [&](int face, double x, double y) {
    float out[2];
    vb::sample::sample<2>(vb::sample::interp::bilinear{}, images_of(v), seams,
                          vb::sample::sample_point<float>{face, float(x), float(y)}, out);
    return std::pair<float, float>{out[0], out[1]};
  };
  using F = vb::sample::cube_face;
  // Right edge of F is the left edge of R (column 0 there).
  EXPECT_FLOAT_EQ(at(int(F::front), w - 0.5, 3).first, 0.5f * (10 + 20));
  EXPECT_FLOAT_EQ(at(int(F::front), w - 0.5, 3).second, 0.5f * ((w - 1) + 0));
  // Left edge of L is the right edge of B.
  EXPECT_FLOAT_EQ(at(int(F::left), -0.5, 4).first, 0.5f * (40 + 30));
  EXPECT_FLOAT_EQ(at(int(F::left), -0.5, 4).second, 0.5f * (0 + (w - 1)));
  // The top edge of U borders B, the top edge of D borders F, the bottom edge of U borders F.
  EXPECT_FLOAT_EQ(at(int(F::up), 3, -0.5).first, 0.5f * (50 + 30));
  EXPECT_FLOAT_EQ(at(int(F::down), 3, -0.5).first, 0.5f * (60 + 10));
  EXPECT_FLOAT_EQ(at(int(F::up), 3, w - 0.5).first, 0.5f * (50 + 10));
  // Inside a face nothing changes.
  EXPECT_FLOAT_EQ(at(int(F::back), 3.5, 3.5).first, 30);
}

}  // namespace
