// u8 sampling precision (docs/sample.md, "Precision"): interp::bilinear_exact against
// py360convert 1.0.4 on the peer data set and on a hard one (tests/data/py360convert_hard:
// views magnifying a sharp checkerboard, where every fraction of a source pixel shows), nearest
// without tie allowance, the fast mode's measured loss, and analytic edges.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/image_io.hpp"

namespace {

namespace vb = vbatch;
namespace vs = vbatch::sample;
namespace fs = std::filesystem;
using vbatch_test::json_object;
using vbatch_test::record;

struct data_set {
  std::string name;
  fs::path dir;
  std::vector<json_object> cases;
  vb::batch_buffer<vb::u8> pano;
};

data_set load(const std::string& name, const char* input) {
  const fs::path dir = vbatch_test::data_dir() / name;
  return {name, dir, vbatch_test::read_flat_json_array(vbatch_test::read_text(dir / "cases.json"), "cases"),
          vb::io::load_image(dir / input, 3)};
}
const data_set& peer() {
  static const data_set d = load("py360convert", "equirect.png");
  return d;
}
const data_set& hard() {
  static const data_set d = load("py360convert_hard", "checker.png");
  return d;
}

double number(const json_object& c, const char* key) { return std::stod(c.at(key)); }

// Our output for one case of a data set: an e2p view, or e2c faces in the horizon layout.
template <class Policy, class Interp>
vb::batch_buffer<vb::u8> run(const json_object& c, vb::batch_view<const vb::u8> pano) {
  if (c.at("kind") == "e2c") {
    const int fw = int(number(c, "face_w"));
    const auto map = vs::make_e2p_map<Policy>(vs::cube_rig(fw, vs::conventions::py360convert), pano.w, pano.h);
    vb::batch_buffer<vb::u8> faces({6, fw, fw, 3});  // (6,fw,fw,3)
    vs::e2p(vb::cpu_par{2}, pano, map, faces.view(), Interp{});
    return vs::to_layout(faces.view(), vs::cube_layout::horizon);
  }
  const int w = int(number(c, "out_w")), h = int(number(c, "out_h"));
  const vs::rig r{vs::make_camera({number(c, "yaw_deg"), number(c, "pitch_deg"), number(c, "roll_deg")}, w, h,
                                  number(c, "hfov_deg"), number(c, "vfov_deg"), vs::conventions::py360convert)};
  const auto map = vs::make_e2p_map<Policy>(r, pano.w, pano.h);
  vb::batch_buffer<vb::u8> out({1, h, w, 3});  // (1,h,w,3)
  vs::e2p(vb::cpu_par{2}, pano, map, out.view(), Interp{});
  return out;
}

// Runs every case of `set` in `mode` and returns the differences from the reference, per case.
template <class Policy, class Interp>
std::vector<std::pair<std::string, vbatch_test::diff_stats>> against_reference(const data_set& set, const std::string& mode) {
  std::vector<std::pair<std::string, vbatch_test::diff_stats>> result;
  for (const json_object& c : set.cases) {
    if (c.at("mode") != mode) continue;
    const auto ours = run<Policy, Interp>(c, set.pano.view());
    const auto ref = vb::io::load_image(set.dir / c.at("file"), 3);
    const std::string what = set.name + " " + c.at("file") + " " + Policy::name + " " + Interp::name;
    result.emplace_back(what, vbatch_test::compare(ours.view(), ref.view()));
  }
  return result;
}

// Float maps: within a level everywhere. cached_fixed keeps its points to 1/256 px (1/128 just
// below .5), up to 2 levels on a magnified 0/255 edge whichever mode sums the taps.
template <class Policy>
void exact_bilinear_matches(double bound) {
  for (const data_set* set : {&peer(), &hard()})
    for (const auto& [what, d] : against_reference<Policy, vs::interp::bilinear_exact>(*set, "bilinear")) {
      record("exact_max " + what, d.max_abs);
      record("exact_mean " + what, d.mean_abs);
      EXPECT_LE(d.max_abs, bound) << what << ": " << d;
    }
}

TEST(Precision, ExactBilinearIsWithinOneLevelOfPy360convertOnTheFly) { exact_bilinear_matches<vs::maps::on_the_fly>(1); }
TEST(Precision, ExactBilinearIsWithinOneLevelOfPy360convertCachedFloat) { exact_bilinear_matches<vs::maps::cached_float>(1); }
TEST(Precision, ExactBilinearIsWithinTwoLevelsOfPy360convertCachedFixed) { exact_bilinear_matches<vs::maps::cached_fixed>(2); }

// On a cached_fixed map both modes read the same 1/128-pixel point and sum it exactly: same bytes.
TEST(Precision, OnCachedFixedMapsExactAndFastBilinearAgree) {
  for (const json_object& c : hard().cases) {
    if (c.at("mode") != "bilinear") continue;
    const auto exact = run<vs::maps::cached_fixed, vs::interp::bilinear_exact>(c, hard().pano.view());
    const auto fast = run<vs::maps::cached_fixed, vs::interp::bilinear>(c, hard().pano.view());
    EXPECT_TRUE(vbatch_test::same_bytes(exact.view(), fast.view())) << c.at("file");
  }
}

// The exact source point of output pixel (x, y) of a case, from the independent camera model.
vbatch_test::point2 exact_point(const json_object& c, int x, int y, vb::batch_view<const vb::u8> pano) {
  if (c.at("kind") == "e2c") {  // horizon layout: faces F R B L U D
    const int fw = int(number(c, "face_w")), f = x / fw;
    const double angles[6][2] = {{0, 0}, {90, 0}, {180, 0}, {-90, 0}, {0, 90}, {0, -90}};
    const auto cam = vbatch_test::make_ref_camera(angles[f][0], angles[f][1], 0, fw, fw, 90, 90, true);
    return vbatch_test::equirect_point(cam.ray(x % fw, y), pano.w, pano.h);
  }
  const auto cam =
      vbatch_test::make_ref_camera(number(c, "yaw_deg"), number(c, "pitch_deg"), number(c, "roll_deg"), int(number(c, "out_w")),
                                   int(number(c, "out_h")), number(c, "hfov_deg"), number(c, "vfov_deg"), true);
  return vbatch_test::equirect_point(cam.ray(x, y), pano.w, pano.h);
}

// No allowance for near-ties: a cached_fixed point keeps its side of every .5 boundary. Only
// on_the_fly, whose rays are float (~1e-5 px), may send an exact geometric tie (a point within
// 1e-4 px of .5, as e2c's face-edge pixels on lon ±45° are) to the other neighbour.
template <class Policy>
void nearest_matches() {
  const double tie = std::is_same_v<Policy, vs::maps::on_the_fly> ? 1e-4 : 0;
  const auto near_half = [&](double v) { return std::fabs(v - std::floor(v) - 0.5) < tie; };
  for (const data_set* set : {&peer(), &hard()})
    for (const json_object& c : set->cases) {
      if (c.at("mode") != "nearest") continue;
      const auto ours = run<Policy, vs::interp::nearest>(c, set->pano.view());
      const auto ref = vb::io::load_image(set->dir / c.at("file"), 3);
      ASSERT_EQ(ours.shape(), ref.shape());
      int differing = 0, ties = 0;
      for (int y = 0; y < ref.shape().h; ++y)
        for (int x = 0; x < ref.shape().w; ++x) {
          if (std::memcmp(ours.view().pixel(0, y, x), ref.view().pixel(0, y, x), 3) == 0) continue;
          ++differing;
          const vbatch_test::point2 p = exact_point(c, x, y, set->pano.view());
          ties += near_half(p.x) || near_half(p.y);
        }
      const double pixels = double(ref.shape().h) * ref.shape().w;
      const std::string what = set->name + " " + c.at("file") + " " + Policy::name;
      record("nearest_differing_fraction " + what, differing / pixels);
      if (ties > 0) record("nearest_geometric_ties " + what, ties);
      EXPECT_LE(differing - ties, 1e-4 * pixels) << what << ": " << differing << " differing pixels, " << ties << " ties";
    }
}

TEST(Precision, NearestPicksPy360convertsPixelOnTheFly) { nearest_matches<vs::maps::on_the_fly>(); }
TEST(Precision, NearestPicksPy360convertsPixelCachedFloat) { nearest_matches<vs::maps::cached_float>(); }
TEST(Precision, NearestPicksPy360convertsPixelCachedFixed) { nearest_matches<vs::maps::cached_fixed>(); }

// The fast mode's 1/128-pixel points cost more than a level on magnified sharp edges: the hard
// set is hard enough to tell the modes apart.
TEST(Precision, FastBilinearIsMeasurablyWorseOnTheHardSet) {
  for (const auto& [what, d] : against_reference<vs::maps::cached_float, vs::interp::bilinear>(peer(), "bilinear"))
    record("fast_max " + what, d.max_abs);
  double worst = 0;
  for (const auto& [what, d] : against_reference<vs::maps::cached_float, vs::interp::bilinear>(hard(), "bilinear")) {
    record("fast_max " + what, d.max_abs);
    record("fast_mean " + what, d.mean_abs);
    worst = std::max(worst, d.max_abs);
  }
  EXPECT_GT(worst, 1);
}

// A float map of `points` (x, y) for a one-row output, over one source image of sw × sh.
struct point_map {
  vs::map_shape shape;
  std::vector<vs::float_entry> points;
  vs::float_table_map view() const { return {shape, points.data(), nullptr}; }
};

// A vertical edge between two levels, columns < 8 at 40 and the rest at 200 (three channels,
// cpu_par: the CPU's row schedule), sampled at fractions that are not multiples of 1/128.
TEST(Precision, ExactBilinearRoundsTheTrueValueOfAVerticalEdgeOnce) {
  const int sw = 16, sh = 6, n = 997;
  const double low = 40, high = 200;
  vb::batch_buffer<vb::u8> src({1, sh, sw, 3});  // (1,sh,sw,3)
  for (int y = 0; y < sh; ++y)
    for (int x = 0; x < sw; ++x)
      for (int c = 0; c < 3; ++c) src.view()(0, y, x, c) = vb::u8(x < 8 ? low : high);
  point_map map{{1, n, 1, 1, sw, sh}, {}};
  for (int k = 0; k < n; ++k) map.points.push_back({7.0f + float(k + 0.5) / n, 2.0f + float(k) / n});
  vb::batch_buffer<vb::u8> exact({1, 1, n, 3}), fast({1, 1, n, 3});  // (1,1,n,3)
  vs::remap(vb::cpu_par{2}, src.view(), map.view(), exact.view(), vs::interp::bilinear_exact{}, vs::border::clamp{});
  vs::remap(vb::cpu_par{2}, src.view(), map.view(), fast.view(), vs::interp::bilinear{}, vs::border::clamp{});
  int fast_differs = 0;
  for (int k = 0; k < n; ++k) {
    const double t = double(map.points[k].x) - 7, v = low + (high - low) * t;
    ASSERT_GT(std::fabs(v - std::floor(v) - 0.5), 1e-4) << "a tie: choose other points";
    for (int c = 0; c < 3; ++c) ASSERT_EQ(exact.view()(0, 0, k, c), std::floor(v + 0.5)) << "t = " << t;
    fast_differs += fast.view()(0, 0, k, 0) != std::floor(v + 0.5);
  }
  record("edge_fast_differing_pixels", fast_differs);
  EXPECT_GT(fast_differs, 0) << "the edge does not tell 1/128 pixel from the exact point";
}

// Nearest on a fixed point picks floor(v + 0.5) of the unrounded point, however close v is to
// a .5 boundary, from double (map building) and float (the CPU's row conversion) points.
TEST(Precision, FixedPointsKeepTheirSideOfEveryHalfPixel) {
  std::vector<double> offsets{0, 0.5, 1e-9, -1e-9, 1e-6, -1e-6};
  for (int k = 1; k < 64; ++k) offsets.push_back(0.5 - k / 1024.0), offsets.push_back(0.5 + k / 1024.0);
  for (double o : {0.1, 0.49, 0.5, 0.51, 0.9})
    offsets.push_back(0.5 - o / vs::fixed_one), offsets.push_back(1 - o / vs::fixed_one);
  for (int tap : {-1, 0, 7, 1000, 31998})
    for (double o : offsets) {
      const double v = tap + o;
      const vs::fixed_sample_point d = vs::to_fixed(vs::sample_point<double>{0, v, v});
      ASSERT_EQ(d.x + (d.fx >= vs::fixed_one / 2), std::floor(v + 0.5)) << std::hexfloat << v;
      ASSERT_EQ(d.y + (d.fy >= vs::fixed_one / 2), std::floor(v + 0.5)) << std::hexfloat << v;
      ASSERT_LE(std::fabs(d.x + double(d.fx) / vs::fixed_one - v), 1.0 / vs::fixed_one) << std::hexfloat << v;
      const float f = float(v);
      const vs::fixed_sample_point s = vs::to_fixed(vs::sample_point<float>{0, f, f});
      ASSERT_EQ(s.x + (s.fx >= vs::fixed_one / 2), std::floor(double(f) + 0.5)) << std::hexfloat << f;
    }
  // Within 1e-9 px below .5 is a tie (double maps' noise), rounded up as floor(v + 0.5) rounds .5.
  EXPECT_EQ(vs::to_fixed(vs::sample_point<double>{0, 9.5 - 1e-12, 0}).fx, vs::fixed_one / 2);
  // ... and the sampler reads that pixel: a ramp whose every column differs.
  vb::batch_buffer<vb::u8> ramp({1, 1, 16, 1});
  for (int x = 0; x < 16; ++x) ramp.view()(0, 0, x, 0) = vb::u8(10 * x);
  const vs::source_images<vb::u8> images{ramp.data(), 16, 1, 16, 16, 1};
  for (double o : offsets) {
    vb::u8 out = 0;
    vs::sample<1>(vs::interp::nearest{}, images, vs::border::clamp{}, vs::to_fixed(vs::sample_point<double>{0, 5 + o, 0}), &out);
    EXPECT_EQ(out, 10 * std::floor(5 + o + 0.5)) << std::hexfloat << 5 + o;
  }
}

}  // namespace
