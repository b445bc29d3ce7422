// Camera files: what a good file gives, and errors that name the file and the camera.

#include <string>
#include <string_view>

#include "test_util.hpp"
#include "vbatch/io/camera_file.hpp"

namespace {

namespace vb = vbatch;
namespace io = vbatch::io;
using vbatch_test::throws_error;

void write_text(const std::filesystem::path& p, std::string_view text) {
  vbatch_test::write_bytes(p, std::vector<unsigned char>(text.begin(), text.end()));
}

TEST(CameraFile, ReadsCamerasSizeAndConvention) {
  vbatch_test::temp_dir dir;
  write_text(dir / "rig.json", R"({"cameras": [{"yaw": 0, "pitch": 10, "hfov": 90},
                                               {"yaw": 120, "pitch": -10, "roll": 5, "hfov": 100, "vfov": 80}, {}],
                                   "width": 24, "height": 20, "convention": "py360convert"})");
  const io::camera_file f = io::read_camera_file(dir / "rig.json");
  ASSERT_EQ(f.cameras.size(), 3u);
  EXPECT_EQ(f.cameras[0].pitch_deg, 10);
  EXPECT_EQ(f.cameras[0].hfov_deg, 90);
  EXPECT_FALSE(f.cameras[0].vfov_deg.has_value());
  EXPECT_EQ(f.cameras[1].yaw_deg, 120);
  EXPECT_EQ(f.cameras[1].roll_deg, 5);
  EXPECT_EQ(f.cameras[1].vfov_deg, 80);
  // Missing angles are 0, missing FOVs are left to the caller.
  EXPECT_EQ(f.cameras[2].yaw_deg, 0);
  EXPECT_FALSE(f.cameras[2].hfov_deg.has_value());
  EXPECT_EQ(f.width, 24);
  EXPECT_EQ(f.height, 20);
  EXPECT_EQ(f.convention, "py360convert");
}

TEST(CameraFile, OptionalPartsMayBeLeftOut) {
  const io::camera_file f = io::parse_camera_file(R"({"cameras": [{"yaw": -90}]})", "min.json");
  ASSERT_EQ(f.cameras.size(), 1u);
  EXPECT_EQ(f.cameras[0].yaw_deg, -90);
  EXPECT_FALSE(f.width.has_value());
  EXPECT_FALSE(f.height.has_value());
  EXPECT_FALSE(f.convention.has_value());
}

TEST(CameraFile, MissingFileNamesIt) {
  vbatch_test::temp_dir dir;
  EXPECT_TRUE(
      throws_error([&] { (void)io::read_camera_file(dir / "nofile.json"); }, vb::errc::io, {"nofile.json", "cannot open"}));
}

TEST(CameraFile, ContentErrorsNameTheFileAndTheCamera) {
  struct bad_case {
    std::string_view json;
    vb::errc code;
    std::string_view expected;
  };
  const bad_case cases[] = {
      {R"({"cameras": [{"yaw": 0, "hfov": 90},]})", vb::errc::corrupt_data, "f.json: not valid JSON"},
      {"", vb::errc::corrupt_data, "f.json: not valid JSON"},
      {R"([{"yaw": 0}])", vb::errc::corrupt_data, "f.json: expected an object with a non-empty \"cameras\" array"},
      {R"({"cameras": []})", vb::errc::corrupt_data, "f.json: expected an object with a non-empty \"cameras\" array"},
      {R"({"cameras": {"yaw": 0}})", vb::errc::corrupt_data, "f.json: expected an object with a non-empty \"cameras\" array"},
      {R"({"cameras": [{}], "size": 8})", vb::errc::corrupt_data, "f.json: unknown key \"size\""},
      {R"({"cameras": [{"yaw": 0, "fov": 90}]})", vb::errc::corrupt_data, "f.json: cameras[0]: unknown key \"fov\""},
      {R"({"cameras": [{}, 7]})", vb::errc::corrupt_data, "f.json: cameras[1] must be an object, got 7"},
      {R"({"cameras": [{}, {"pitch": "up"}]})", vb::errc::corrupt_data, "f.json: cameras[1].pitch must be a number, got \"up\""},
      {R"({"cameras": [{}], "width": 0})", vb::errc::invalid_argument,
       "f.json: \"width\" must be a positive integer up to 65536, got 0"},
      {R"({"cameras": [{}], "height": 1.5})", vb::errc::invalid_argument, "f.json: \"height\" must be a positive integer"},
      {R"({"cameras": [{}], "width": 65537})", vb::errc::invalid_argument, "got 65537"},
      {R"({"cameras": [{}], "width": 18446744073709551615})", vb::errc::invalid_argument, "\"width\" must be a positive integer"},
      {R"({"cameras": [{}], "convention": 3})", vb::errc::corrupt_data, "f.json: \"convention\" must be a name, got 3"},
  };
  for (const bad_case& c : cases)
    EXPECT_TRUE(throws_error([&] { (void)io::parse_camera_file(c.json, "f.json"); }, c.code, {c.expected})) << c.json;
}

TEST(CameraFile, SizeLimitIsTheCallers) {
  EXPECT_EQ(io::parse_camera_file(R"({"cameras": [{}], "width": 100})", "f.json").width, 100);
  EXPECT_TRUE(throws_error([] { (void)io::parse_camera_file(R"({"cameras": [{}], "width": 100})", "f.json", 64); },
                           vb::errc::invalid_argument, {"up to 64, got 100"}));
}

}  // namespace
