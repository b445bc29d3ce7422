// Sizes, camera specs and rig presets from text: what each accepts, and errors that start with the
// parameter and the text.

#include <string>
#include <string_view>

#include "test_util.hpp"
#include "vbatch/sample/rig_spec.hpp"

namespace {

namespace vb = vbatch;
namespace sample = vbatch::sample;
using vbatch_test::failed_with;
using vbatch_test::throws_error;

TEST(RigSpecSize, WxHOrOneSide) {
  EXPECT_EQ(sample::parse_size("1920x1080"), (sample::view_size{1920, 1080}));
  EXPECT_EQ(sample::parse_size("64X48"), (sample::view_size{64, 48}));
  EXPECT_EQ(sample::parse_size("1024"), (sample::view_size{1024, 1024}));
  EXPECT_EQ(sample::parse_size("65536x1"), (sample::view_size{sample::max_view_side, 1}));
  EXPECT_TRUE(sample::can_parse_size("8x8"));
}

TEST(RigSpecSize, ErrorsNameTheParameterAndTheText) {
  for (const std::string_view bad : {"64by48", "-64x48", "64x", "x48", "", "+64x48", "64x48x2", "99999999999x1", " 64x48"})
    EXPECT_TRUE(failed_with(sample::can_parse_size(bad, "--size"), vb::errc::invalid_argument,
                            {"--size '" + std::string(bad) + "'", "expected WxH"}))
        << bad;
  EXPECT_TRUE(failed_with(sample::can_parse_size("0x48", "--size"), vb::errc::invalid_argument, {"--size '0x48'", "positive"}));
  EXPECT_TRUE(failed_with(sample::can_parse_size("0"), vb::errc::invalid_argument, {"size '0'", "positive"}));
  EXPECT_TRUE(failed_with(sample::can_parse_size("65537x8", "--demo-size"), vb::errc::invalid_argument,
                          {"--demo-size '65537x8'", "65536 pixels per side"}));
  EXPECT_TRUE(
      throws_error([] { (void)sample::parse_size("big", "--demo-size"); }, vb::errc::invalid_argument, {"--demo-size 'big'"}));
}

TEST(RigSpecCamera, FourOrFiveNumbers) {
  const sample::camera_spec c = sample::parse_camera("-90,10.5,5,60");
  EXPECT_EQ(c.angles.yaw_deg, -90);
  EXPECT_EQ(c.angles.pitch_deg, 10.5);
  EXPECT_EQ(c.angles.roll_deg, 5);
  EXPECT_EQ(c.hfov_deg, 60);
  EXPECT_FALSE(c.vfov_deg.has_value());
  const sample::camera_spec d = sample::parse_camera("90,0,0,100,80");
  ASSERT_TRUE(d.vfov_deg.has_value());
  EXPECT_EQ(*d.vfov_deg, 80);
}

TEST(RigSpecCamera, SyntaxErrorsNameTheParameterAndTheText) {
  for (const std::string_view bad : {"1,2,3", "1,2,3,4,5,6", "1,2,x,4", "1,,3,4", "1,2,3,4,", "", "1 ,2,3,4"})
    EXPECT_TRUE(failed_with(sample::can_parse_camera(bad, "--camera"), vb::errc::invalid_argument,
                            {"--camera '" + std::string(bad) + "'", "yaw,pitch,roll,hfov[,vfov]"}))
        << bad;
  EXPECT_TRUE(throws_error([] { (void)sample::parse_camera("1,2,3"); }, vb::errc::invalid_argument, {"camera '1,2,3'"}));
}

// Parsing takes any number; whether it makes a camera is can_make_camera's question.
TEST(RigSpecCamera, ValuesAreCheckedByCanMakeCamera) {
  const sample::camera_spec nan = sample::parse_camera("0,nan,0,90");
  EXPECT_TRUE(failed_with(sample::can_make_camera(nan.angles, 64, 48, nan.hfov_deg), vb::errc::invalid_argument, {"pitch=nan"}));
  const sample::camera_spec wide = sample::parse_camera("0,0,0,190");
  EXPECT_TRUE(failed_with(sample::can_make_camera(wide.angles, 64, 48, wide.hfov_deg), vb::errc::invalid_argument, {"190"}));
  // A 1-pixel-wide view has no FOV span between pixel centres (py360convert's convention).
  EXPECT_TRUE(sample::can_make_camera({}, 1, 8, 90));
  EXPECT_FALSE(sample::can_make_camera({}, 1, 8, 90, 0, sample::conventions::py360convert));
}

TEST(RigSpecRig, Presets) {
  const sample::rig_preset ring = sample::parse_rig("ring:8");
  EXPECT_EQ(ring.kind, sample::rig_kind::ring);
  EXPECT_EQ(ring.count, 8);
  const sample::rig_preset rings = sample::parse_rig("rings3:360");
  EXPECT_EQ(rings.kind, sample::rig_kind::rings3);
  EXPECT_EQ(rings.count, 360);
  EXPECT_EQ(sample::parse_rig("cube").kind, sample::rig_kind::cube);
}

TEST(RigSpecRig, ErrorsNameTheParameterAndTheText) {
  for (const std::string_view bad :
       {"star:8", "ring", "ring:", "ring:0", "ring:361", "ring:-1", "ring:8x", "rings3:", "cube:6", "Ring:8", ""})
    EXPECT_TRUE(failed_with(sample::can_parse_rig(bad, "--rig"), vb::errc::invalid_argument,
                            {"--rig '" + std::string(bad) + "'", "expected ring:N, rings3:N (N from 1 to 360) or cube"}))
        << bad;
  EXPECT_TRUE(throws_error([] { (void)sample::parse_rig("star:3"); }, vb::errc::invalid_argument, {"rig 'star:3'"}));
}

TEST(RigSpecRig, MakeRigBuildsThePreset) {
  sample::rig_preset ring = sample::parse_rig("ring:4");
  ring.pitch_deg = 10;
  const sample::rig r = sample::make_rig(ring, {64, 48}, 90);
  ASSERT_EQ(r.size(), 4u);
  const sample::rig expected = sample::ring_rig(4, 10, 64, 48, 90);
  for (std::size_t k = 0; k < r.size(); ++k)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(r[k].rotation.m[i][j], expected[k].rotation.m[i][j]) << k;
  EXPECT_EQ(r[0].lens.width, 64);
  EXPECT_EQ(r[0].lens.height, 48);

  const sample::rig three = sample::make_rig(sample::parse_rig("rings3:2"), {32, 32}, 100, 80);
  ASSERT_EQ(three.size(), 6u);
  EXPECT_EQ(three[0].lens.fy, sample::pinhole_from_fov(32, 32, 100, 80).fy);

  const sample::rig cube = sample::make_rig(sample::parse_rig("cube"), {16, 16}, 90);
  ASSERT_EQ(cube.size(), 6u);
  EXPECT_EQ(cube[0].lens.width, 16);
}

TEST(RigSpecRig, MakeRigRejectsWhatThePresetCannotBe) {
  EXPECT_TRUE(throws_error(
      [] {
        (void)sample::make_rig(sample::parse_rig("cube"), {64, 48}, 90);
      },
      vb::errc::invalid_argument, {"cube faces are square", "64x48"}));
  sample::rig_preset rings = sample::parse_rig("rings3:2");
  rings.pitch_deg = 5;
  EXPECT_TRUE(throws_error([&] { (void)sample::make_rig(rings, {32, 32}, 90); }, vb::errc::invalid_argument, {"pitch 5"}));
  EXPECT_TRUE(throws_error(
      [] {
        (void)sample::make_rig(sample::parse_rig("ring:2"), {32, 32}, 180);
      },
      vb::errc::invalid_argument, {"180"}));
}

}  // namespace
