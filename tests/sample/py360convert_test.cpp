// Peer reference: py360convert 1.0.4's e2p and e2c outputs (tests/data/py360convert, see its
// README.md) reproduced with conventions::py360convert, for every map policy.
//
// Tolerances (README, "Precision"): py360convert builds its grid in float32 and interpolates in
// double, so bilinear may differ by 1 level per channel; nearest must pick the same source pixel
// except at exact ties (a coordinate exactly on a pixel boundary, where float32 and double can
// round to different neighbours), on at most 1e-4 of the pixels.

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/image_io.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using vbatch_test::json_object;
using vbatch_test::record;

fs::path peer_dir() { return vbatch_test::data_dir() / "py360convert"; }

double number(const json_object& o, const char* key) {
  const auto it = o.find(key);
  if (it == o.end()) throw std::runtime_error(std::string("cases.json: missing ") + key);
  return std::stod(it->second);
}
std::string text(const json_object& o, const char* key) {
  const auto it = o.find(key);
  if (it == o.end()) throw std::runtime_error(std::string("cases.json: missing ") + key);
  return it->second;
}

class Py360convert : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string json = vbatch_test::read_text(peer_dir() / "cases.json");
    cases_ = new std::vector<json_object>(vbatch_test::read_flat_json_array(json, "cases"));
    equirect_ = new vb::batch_buffer<vb::u8>(vb::io::load_image(peer_dir() / "equirect.png", 3));
  }
  static void TearDownTestSuite() {
    delete cases_;
    delete equirect_;
  }
  static const std::vector<json_object>& cases() { return *cases_; }
  static vb::batch_view<const vb::u8> equirect() { return equirect_->view(); }

  static inline std::vector<json_object>* cases_ = nullptr;
  static inline vb::batch_buffer<vb::u8>* equirect_ = nullptr;
};

// The exact source point of output pixel (x, y), from the independent camera model.
using exact_point = std::function<vbatch_test::point2(int x, int y)>;

// How far from a rounding boundary (fraction 0.5) a coordinate may be and still round either way:
// float maps and py360convert's float32 grid agree to ~1e-4 px at 512 px; cached_fixed rounds
// positions to the nearest 1/fixed_one.
template <class Policy>
double tie_tolerance() {
  return std::is_same_v<Policy, vb::sample::maps::cached_fixed> ? 0.5 / vb::sample::fixed_one + 1e-3 : 1e-3;
}

// Equirect pixel (xi, yi) with the longitude wrap and the fold over the poles.
const vb::u8* equirect_pixel(vb::batch_view<const vb::u8> e, int xi, int yi) {
  if (yi < 0) yi = -1 - yi, xi += e.w / 2;
  if (yi >= e.h) yi = 2 * e.h - 1 - yi, xi += e.w / 2;
  xi %= e.w;
  if (xi < 0) xi += e.w;
  return e.pixel(0, yi, xi);
}

// Compares one output with the reference image and checks the README's tolerance. For nearest,
// a differing pixel counts as a tie when its exact point is within `tie_tol` of a rounding
// boundary and our value is one of the candidate pixels around it; other differences must stay
// under 1e-4 of the pixels.
void check_against_reference(vb::batch_view<const vb::u8> ours, const fs::path& reference, bool nearest, const std::string& what,
                             vb::batch_view<const vb::u8> equirect, const exact_point& exact, double tie_tol) {
  const auto ref = vb::io::load_image(reference, 3);
  ASSERT_EQ(ours.shape(), ref.shape()) << what;
  const vbatch_test::diff_stats d = vbatch_test::compare(ours, ref.view());
  if (!nearest) {
    record("peer_bilinear_max " + what, d.max_abs);
    EXPECT_LE(d.max_abs, 1) << what << ": " << d;
    EXPECT_LT(d.mean_abs, 0.05) << what << ": " << d;
    return;
  }
  int ties = 0, unexplained = 0;
  for (int y = 0; y < ours.h; ++y)
    for (int x = 0; x < ours.w; ++x) {
      if (std::memcmp(ours.pixel(0, y, x), ref.view().pixel(0, y, x), 3) == 0) continue;
      const vbatch_test::point2 p = exact(x, y);
      const double fx = p.x - std::floor(p.x), fy = p.y - std::floor(p.y);
      bool candidate = false;
      for (int j = 0; j < 2; ++j)
        for (int i = 0; i < 2; ++i)
          candidate |= std::memcmp(ours.pixel(0, y, x),
                                   equirect_pixel(equirect, int(std::floor(p.x)) + i, int(std::floor(p.y)) + j), 3) == 0;
      if (candidate && (std::fabs(fx - 0.5) <= tie_tol || std::fabs(fy - 0.5) <= tie_tol))
        ++ties;
      else
        ++unexplained;
    }
  record("peer_nearest_differing_pixels " + what, double(d.differing_pixels));
  record("peer_nearest_tie_pixels " + what, ties);
  EXPECT_LE(double(unexplained), 1e-4 * double(d.pixels))
      << what << ": " << unexplained << " differing pixels are not ties; " << d;
  EXPECT_LE(double(ties), 0.02 * double(d.pixels)) << what << ": " << ties << " ties";
}

TEST_F(Py360convert, TheDataSetHasTheDocumentedCasesAndInput) {
  ASSERT_EQ(cases().size(), 14u);
  int e2p = 0, e2c = 0;
  for (const json_object& c : cases()) {
    EXPECT_TRUE(fs::exists(peer_dir() / text(c, "file"))) << text(c, "file");
    e2p += text(c, "kind") == "e2p";
    e2c += text(c, "kind") == "e2c";
  }
  EXPECT_EQ(e2p, 12);
  EXPECT_EQ(e2c, 2);
  EXPECT_EQ(equirect().shape(), (vb::batch_shape{1, 256, 512, 3}));
}

template <class Policy>
void check_e2p_cases(const std::vector<json_object>& cases, vb::batch_view<const vb::u8> equirect) {
  for (const json_object& c : cases) {
    if (text(c, "kind") != "e2p") continue;
    const std::string what = std::string(Policy::name) + " e2p_" + text(c, "case") + "_" + text(c, "mode");
    SCOPED_TRACE(what);
    const int w = int(number(c, "out_w")), h = int(number(c, "out_h"));
    const vb::sample::rig r{vb::sample::make_camera({number(c, "yaw_deg"), number(c, "pitch_deg"), number(c, "roll_deg")}, w, h,
                                    number(c, "hfov_deg"), number(c, "vfov_deg"), vb::sample::conventions::py360convert)};
    const auto map = vb::sample::make_e2p_map<Policy>(r, equirect.w, equirect.h);
    vb::batch_buffer<vb::u8> out({1, h, w, 3});  // (1,h,w,3)
    const bool nearest = text(c, "mode") == "nearest";
    if (nearest)
      vb::sample::e2p(vb::cpu_par{2}, equirect, map, out.view(), vb::sample::interp::nearest{});
    else
      vb::sample::e2p(vb::cpu_par{2}, equirect, map, out.view(), vb::sample::interp::bilinear{});
    const vbatch_test::ref_camera cam =
        vbatch_test::make_ref_camera(number(c, "yaw_deg"), number(c, "pitch_deg"), number(c, "roll_deg"), w, h,
                                     number(c, "hfov_deg"), number(c, "vfov_deg"), true);
    check_against_reference(
        out.view(), peer_dir() / text(c, "file"), nearest, what, equirect,
        [&](int x, int y) { return vbatch_test::equirect_point(cam.ray(x, y), equirect.w, equirect.h); },
        tie_tolerance<Policy>());
  }
}

TEST_F(Py360convert, E2pCasesMatchWithCachedFloatMaps) { check_e2p_cases<vb::sample::maps::cached_float>(cases(), equirect()); }
TEST_F(Py360convert, E2pCasesMatchWithCachedFixedMaps) { check_e2p_cases<vb::sample::maps::cached_fixed>(cases(), equirect()); }
TEST_F(Py360convert, E2pCasesMatchWithOnTheFlyMaps) { check_e2p_cases<vb::sample::maps::on_the_fly>(cases(), equirect()); }

// The exact source point of pixel (x, y) of a horizon layout: face x / face_w, F R B L U D.
exact_point face_point(int face_w, int sw, int sh) {
  return [=](int x, int y) {
    const double angles[6][2] = {{0, 0}, {90, 0}, {180, 0}, {-90, 0}, {0, 90}, {0, -90}};
    const int f = x / face_w;
    const vbatch_test::ref_camera cam = vbatch_test::make_ref_camera(angles[f][0], angles[f][1], 0, face_w, face_w, 90, 90, true);
    return vbatch_test::equirect_point(cam.ray(x % face_w, y), sw, sh);
  };
}

template <class Policy>
void check_e2c_cases(const std::vector<json_object>& cases, vb::batch_view<const vb::u8> equirect) {
  for (const json_object& c : cases) {
    if (text(c, "kind") != "e2c") continue;
    const std::string what = std::string(Policy::name) + " e2c_" + text(c, "mode");
    SCOPED_TRACE(what);
    ASSERT_EQ(text(c, "face_order"), "FRBLUD");
    ASSERT_EQ(text(c, "cube_format"), "horizon");
    const int face_w = int(number(c, "face_w"));
    const auto map = vb::sample::make_e2p_map<Policy>(vb::sample::cube_rig(face_w, vb::sample::conventions::py360convert), equirect.w, equirect.h);
    vb::batch_buffer<vb::u8> faces({6, face_w, face_w, 3});  // (6,fw,fw,3)
    const bool nearest = text(c, "mode") == "nearest";
    if (nearest)
      vb::sample::e2p(vb::cpu_par{2}, equirect, map, faces.view(), vb::sample::interp::nearest{});
    else
      vb::sample::e2p(vb::cpu_par{2}, equirect, map, faces.view(), vb::sample::interp::bilinear{});
    const auto horizon = vb::sample::to_layout(faces.view(), vb::sample::cube_layout::horizon);  // (1,fw,6fw,3)
    ASSERT_EQ(horizon.shape(), (vb::batch_shape{1, int(number(c, "out_h")), int(number(c, "out_w")), 3}));
    check_against_reference(horizon.view(), peer_dir() / text(c, "file"), nearest, what, equirect,
                            face_point(face_w, equirect.w, equirect.h), tie_tolerance<Policy>());
  }
}

TEST_F(Py360convert, E2cMatchesWithCachedFloatMaps) { check_e2c_cases<vb::sample::maps::cached_float>(cases(), equirect()); }
TEST_F(Py360convert, E2cMatchesWithCachedFixedMaps) { check_e2c_cases<vb::sample::maps::cached_fixed>(cases(), equirect()); }
TEST_F(Py360convert, E2cMatchesWithOnTheFlyMaps) { check_e2c_cases<vb::sample::maps::on_the_fly>(cases(), equirect()); }

TEST_F(Py360convert, TheEasyE2cCallMatchesTheHorizonReference) {
  const auto faces = vb::sample::e2c(vb::cpu_par{2}, equirect(), 64, vb::sample::interp::bilinear{}, vb::sample::conventions::py360convert);
  const auto horizon = vb::sample::to_layout(faces.view(), vb::sample::cube_layout::horizon);
  check_against_reference(horizon.view(), peer_dir() / "e2c_bilinear.png", false, "e2c() bilinear", equirect(),
                          face_point(64, equirect().w, equirect().h), 0);
}

// The comparison is sensitive: the vbatch convention (pixel-edge FOV) or a flipped roll sign
// is far outside the tolerance.
TEST_F(Py360convert, TheComparisonRejectsAWrongConvention) {
  for (const json_object& c : cases()) {
    if (text(c, "kind") != "e2p" || text(c, "case") != "b" || text(c, "mode") != "bilinear") continue;
    const auto ref = vb::io::load_image(peer_dir() / text(c, "file"), 3);
    const int w = int(number(c, "out_w")), h = int(number(c, "out_h"));
    const vb::sample::view_angles a{number(c, "yaw_deg"), number(c, "pitch_deg"), number(c, "roll_deg")};
    for (const auto& [angles, conv] :
         {std::pair{a, vb::sample::conventions::vbatch},
          std::pair{vb::sample::view_angles{a.yaw_deg, a.pitch_deg, -a.roll_deg}, vb::sample::conventions::py360convert}}) {
      const auto out = vb::sample::e2p(vb::cpu_par{2}, equirect(),
                               vb::sample::rig{vb::sample::make_camera(angles, w, h, number(c, "hfov_deg"), number(c, "vfov_deg"), conv)});
      EXPECT_GT(vbatch_test::compare(out.view(), ref.view()).max_abs, 50);
    }
  }
}

}  // namespace
