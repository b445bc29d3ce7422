// COLMAP's view of a rig: quaternions against an independent matrix formula, and the written
// cameras.txt and images.txt read back and followed ray by ray to the panorama pixel e2p's map
// samples, for ring, three-ring, cube and rolled rigs and a turned frame.

#include <cmath>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "vbatch/sample/colmap.hpp"

namespace {

namespace vb = vbatch;
namespace sample = vbatch::sample;
namespace colmap = vbatch::sample::colmap;
using vbatch_test::throws_error;

// The rotation of a unit quaternion (w, x, y, z), written out from the textbook formula.
sample::mat3<double> rotation_of(double w, double x, double y, double z) {
  return {{{1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
           {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
           {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)}}};
}

void expect_same_rotation(const sample::mat3<double>& a, const sample::mat3<double>& b, const std::string& what) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(a.m[i][j], b.m[i][j], 1e-12) << what << " [" << i << "][" << j << "]";
}

TEST(Colmap, QuaternionsReproduceTheirRotationsWithWNotNegative) {
  // Angles that reach every branch of the conversion, the half turns (trace -1) among them.
  const double angles[] = {0, 30, 90, 135, 179.9, 180, -90, -170, 45.5};
  int count = 0;
  for (const double yaw : angles)
    for (const double pitch : {0.0, 30.0, 89.0, 90.0, -60.0})
      for (const double roll : {0.0, 180.0, -45.0}) {
        const sample::mat3<double> r = sample::rotation_from({yaw, pitch, roll});
        const colmap::quaternion q = colmap::quaternion_from(r);
        const std::string what =
            "yaw " + std::to_string(yaw) + " pitch " + std::to_string(pitch) + " roll " + std::to_string(roll);
        EXPECT_NEAR(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z, 1.0, 1e-14) << what;
        EXPECT_GE(q.w, 0) << what;
        expect_same_rotation(rotation_of(q.w, q.x, q.y, q.z), r, what);
        ++count;
      }
  EXPECT_EQ(count, 135);
}

TEST(Colmap, TheFrontCameraHasTheIdentityPoseAndAYawTurnsAboutTheVerticalAxis) {
  const sample::camera front = sample::make_camera({0, 0, 0}, 64, 48, 90);
  const colmap::quaternion q = colmap::quaternion_from(colmap::cam_from_world(front));
  EXPECT_DOUBLE_EQ(q.w, 1);
  EXPECT_DOUBLE_EQ(q.x, 0);
  EXPECT_DOUBLE_EQ(q.y, 0);
  EXPECT_DOUBLE_EQ(q.z, 0);
  // Looking right (yaw 90): the world's +x (right) is the camera's forward +z, so cam_from_world
  // takes (1, 0, 0) to (0, 0, 1); COLMAP's y axis (down) is the rotation axis.
  const sample::camera right = sample::make_camera({90, 0, 0}, 64, 48, 90);
  const sample::vec3<double> forward = colmap::cam_from_world(right) * sample::vec3<double>{1, 0, 0};
  EXPECT_NEAR(forward.x, 0, 1e-15);
  EXPECT_NEAR(forward.y, 0, 1e-15);
  EXPECT_NEAR(forward.z, 1, 1e-15);
  const colmap::quaternion qr = colmap::quaternion_from(colmap::cam_from_world(right));
  EXPECT_NEAR(qr.x, 0, 1e-15);
  EXPECT_NEAR(qr.z, 0, 1e-15);
  EXPECT_NEAR(std::abs(qr.y), std::sqrt(0.5), 1e-15);
}

TEST(Colmap, PinholeParametersMoveThePrincipalPointToColmapsPixelCentres) {
  const sample::pinhole p = sample::pinhole_from_fov(640, 480, 90);
  const auto params = colmap::pinhole_params(p);
  EXPECT_DOUBLE_EQ(params[0], 320);  // f = W/2 / tan(45°)
  EXPECT_DOUBLE_EQ(params[1], 320);
  EXPECT_DOUBLE_EQ(params[2], 320);  // the image centre: 319.5 in vbatch's pixels, 320 in COLMAP's
  EXPECT_DOUBLE_EQ(params[3], 240);
}

struct camera_line {
  int id, width, height;
  double fx, fy, cx, cy;
};
struct image_line {
  int id;
  double qw, qx, qy, qz, tx, ty, tz;
  int camera_id;
  std::string name;
};

// The data lines of a COLMAP text file (comments and, for images.txt, the points lines dropped).
std::vector<std::string> data_lines(const std::string& text, bool with_points_lines) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  bool points_next = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') continue;
    if (points_next) {
      EXPECT_EQ(line, "") << "an image's POINTS2D line";
      points_next = false;
      continue;
    }
    lines.push_back(line);
    points_next = with_points_lines;
  }
  return lines;
}

std::vector<camera_line> read_cameras(const std::string& text) {
  std::vector<camera_line> cams;
  for (const std::string& line : data_lines(text, false)) {
    std::istringstream in(line);
    camera_line c{};
    std::string model;
    in >> c.id >> model >> c.width >> c.height >> c.fx >> c.fy >> c.cx >> c.cy;
    EXPECT_TRUE(in && model == "PINHOLE") << line;
    std::string rest;
    EXPECT_FALSE(in >> rest) << "more than four parameters: " << line;
    cams.push_back(c);
  }
  return cams;
}

std::vector<image_line> read_images(const std::string& text) {
  std::vector<image_line> images;
  for (const std::string& line : data_lines(text, true)) {
    std::istringstream in(line);
    image_line im{};
    in >> im.id >> im.qw >> im.qx >> im.qy >> im.qz >> im.tx >> im.ty >> im.tz >> im.camera_id;
    in >> std::ws;
    std::getline(in, im.name);
    EXPECT_TRUE(bool(in) || in.eof()) << line;
    images.push_back(im);
  }
  return images;
}

// Where in a source_w x source_h panorama the ray through pixel (x, y) of an image points, from
// the files alone: COLMAP's pinhole and pose, COLMAP's world (y down) back to y up, then the
// equirectangular pixel of that direction (longitude atan2(x, z) from -180° at the left edge).
std::pair<double, double> panorama_pixel(const camera_line& c, const image_line& im, int x, int y, int source_w, int source_h) {
  const sample::mat3<double> cam_from_world = rotation_of(im.qw, im.qx, im.qy, im.qz);
  const sample::vec3<double> ray{(x + 0.5 - c.cx) / c.fx, (y + 0.5 - c.cy) / c.fy, 1};
  const sample::vec3<double> d = cam_from_world.transposed() * ray;  // COLMAP's world
  const double lon = std::atan2(d.x, d.z), lat = std::atan2(-d.y, std::hypot(d.x, d.z));
  return {(lon / (2 * std::numbers::pi) + 0.5) * source_w - 0.5, (0.5 - lat / std::numbers::pi) * source_h - 0.5};
}

// Every 7th pixel of every view: the files' ray lands where e2p's map samples, within float
// precision; columns compared modulo the panorama's width (the seam).
void expect_files_reproduce_the_map(const sample::rig& cams, const sample::mat3<double>& world_from_rig,
                                    const std::string& what) {
  constexpr int source_w = 2048, source_h = 1024;
  sample::rig turned = cams;  // the rig as it stood in the world: what e2p sampled
  for (sample::camera& c : turned) c.rotation = world_from_rig * c.rotation;
  const auto map = sample::make_e2p_map<sample::maps::cached_float>(turned, source_w, source_h);
  const auto table = map.view();

  std::vector<colmap::posed_image> posed;
  for (std::size_t k = 0; k < cams.size(); ++k) posed.push_back({"frame_7_cam_" + std::to_string(k) + ".jpg", k, world_from_rig});
  const std::vector<camera_line> cam_lines = read_cameras(colmap::cameras_txt(cams));
  const std::vector<image_line> image_lines = read_images(colmap::images_txt(cams, posed));
  ASSERT_EQ(cam_lines.size(), cams.size()) << what;
  ASSERT_EQ(image_lines.size(), cams.size()) << what;

  double worst = 0;
  for (std::size_t k = 0; k < cams.size(); ++k) {
    const image_line& im = image_lines[k];
    EXPECT_EQ(im.id, int(k) + 1);
    EXPECT_EQ(im.name, posed[k].name);
    EXPECT_EQ(im.tx, 0);
    EXPECT_EQ(im.ty, 0);
    EXPECT_EQ(im.tz, 0);
    ASSERT_EQ(im.camera_id, int(k) + 1);
    const camera_line& c = cam_lines[std::size_t(im.camera_id - 1)];
    EXPECT_EQ(c.width, cams[k].lens.width);
    EXPECT_EQ(c.height, cams[k].lens.height);
    for (int y = 0; y < c.height; y += 7)
      for (int x = 0; x < c.width; x += 7) {
        const auto [px, py] = panorama_pixel(c, im, x, y, source_w, source_h);
        const auto want = table.at(int(k), y, x);
        const double dx = std::remainder(px - want.x, double(source_w));
        worst = std::max({worst, std::abs(dx), std::abs(py - want.y)});
      }
  }
  EXPECT_LT(worst, 2e-3) << what << ": the files' rays are off e2p's by up to " << worst << " px";
}

TEST(Colmap, WrittenCamerasAndPosesReproduceTheRaysE2pSampled) {
  const sample::rig ring = sample::ring_rig(8, 0, 96, 64, 90);
  const sample::rig rings3 = sample::three_ring_rig(6, 80, 80, 75, 60);
  const sample::rig cube = sample::cube_rig(64);
  sample::rig rolled;
  const std::vector<sample::view_angles> angles{{-120, 35, 20}, {170, -80, -60}, {10, 5, 90}};
  for (const sample::view_angles& a : angles)
    rolled.push_back(sample::make_camera(a, 100, 70, 100, 0, sample::conventions::py360convert));
  const auto level = sample::mat3<double>::identity();
  expect_files_reproduce_the_map(ring, level, "ring:8");
  expect_files_reproduce_the_map(rings3, level, "rings3:6, 75 x 60 degrees");
  expect_files_reproduce_the_map(cube, level, "cube");
  expect_files_reproduce_the_map(rolled, level, "rolled cameras, linspace grids");
  // A frame turned in the world (a heading, a tilted camera): its views' poses turn with it.
  expect_files_reproduce_the_map(ring, sample::rotation_from({37, -12, 8}), "ring:8 in a turned frame");
}

TEST(Colmap, ARigPoseComposedWithTheReferenceCameraGivesTheCameraPose) {
  const sample::rig cams = sample::three_ring_rig(4, 64, 48, 90);
  const sample::mat3<double> frame = sample::rotation_from({-25, 10, 3});
  for (std::size_t k = 0; k < cams.size(); ++k)
    expect_same_rotation(colmap::cam_from_rig(cams[k], cams[0]) * colmap::cam_from_world(cams[0], frame),
                         colmap::cam_from_world(cams[k], frame), "camera " + std::to_string(k));
  expect_same_rotation(colmap::cam_from_rig(cams[0], cams[0]), sample::mat3<double>::identity(), "the reference camera");
}

TEST(Colmap, TheRigConfigTurnsTheReferenceCameraIntoEveryOther) {
  const sample::rig cams = sample::three_ring_rig(4, 64, 48, 90);
  std::vector<std::string> prefixes;
  for (std::size_t k = 0; k < cams.size(); ++k) prefixes.push_back("cam_" + std::to_string(k) + "/");
  const std::size_t ref = 5;
  const nlohmann::json config = nlohmann::json::parse(colmap::rig_config_json(cams, prefixes, ref));
  ASSERT_TRUE(config.is_array());
  ASSERT_EQ(config.size(), 1u);
  const nlohmann::json& cameras = config[0].at("cameras");
  ASSERT_EQ(cameras.size(), cams.size());
  const sample::mat3<double> frame = sample::rotation_from({-25, 10, 3});
  for (std::size_t k = 0; k < cams.size(); ++k) {
    const nlohmann::json& c = cameras[k];
    const std::string what = "camera " + std::to_string(k);
    EXPECT_EQ(c.at("image_prefix"), prefixes[k]) << what;
    EXPECT_EQ(c.at("camera_model_name"), "PINHOLE") << what;
    const std::array<double, 4> params = colmap::pinhole_params(cams[k].lens);
    EXPECT_EQ(c.at("camera_params").get<std::vector<double>>(), std::vector<double>(params.begin(), params.end())) << what;
    if (k == ref) {
      EXPECT_EQ(c.at("ref_sensor"), true);
      EXPECT_FALSE(c.contains("cam_from_rig_rotation"));
      continue;
    }
    EXPECT_FALSE(c.contains("ref_sensor")) << what;
    EXPECT_EQ(c.at("cam_from_rig_translation").get<std::vector<double>>(), std::vector<double>(3, 0.0)) << what;
    const std::vector<double> q = c.at("cam_from_rig_rotation").get<std::vector<double>>();
    ASSERT_EQ(q.size(), 4u) << what;
    // The rig's frame is the reference camera's: cam_from_rig * ref_from_world = cam_from_world.
    expect_same_rotation(rotation_of(q[0], q[1], q[2], q[3]) * colmap::cam_from_world(cams[ref], frame),
                         colmap::cam_from_world(cams[k], frame), what);
  }
}

TEST(Colmap, TheRigConfigRefusesPrefixesItCannotWrite) {
  const sample::rig cams = sample::ring_rig(2, 0, 32, 32, 90);
  const std::vector<std::string> one{"a/"}, quoted{"a/", "b\"/"}, fine{"a/", "b/"};
  EXPECT_TRUE(
      throws_error([&] { colmap::rig_config_json(cams, one); }, vb::errc::invalid_argument, {"1 image prefixes", "2 cameras"}));
  EXPECT_TRUE(throws_error([&] { colmap::rig_config_json(cams, quoted); }, vb::errc::invalid_argument, {"'b\"/'"}));
  EXPECT_TRUE(throws_error([&] { colmap::rig_config_json(cams, fine, 2); }, vb::errc::invalid_argument, {"reference camera 2"}));
}

TEST(Colmap, NumbersAreWrittenSoThatTheyReadBackExactly) {
  const sample::rig cams{sample::make_camera({0, 0, 0}, 33, 17, 61.7, 40.3)};
  const std::vector<camera_line> lines = read_cameras(colmap::cameras_txt(cams));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].fx, cams[0].lens.fx);
  EXPECT_EQ(lines[0].fy, cams[0].lens.fy);
  EXPECT_EQ(lines[0].cx, cams[0].lens.cx + 0.5);
}

TEST(Colmap, UnknownCamerasAndUnwritableNamesAreRefusedNamingThem) {
  const sample::rig cams = sample::ring_rig(2, 0, 32, 32, 90);
  const std::vector<colmap::posed_image> unknown{{"a.jpg", 0}, {"b.jpg", 2}};
  EXPECT_TRUE(
      throws_error([&] { colmap::images_txt(cams, unknown); }, vb::errc::invalid_argument, {"'b.jpg'", "camera 2", "has 2"}));
  for (const std::string name : {"two\nlines.jpg", "", " leading.jpg", "trailing.jpg "}) {
    const std::vector<colmap::posed_image> bad{{name, 0}};
    EXPECT_TRUE(throws_error([&] { colmap::images_txt(cams, bad); }, vb::errc::invalid_argument, {"image name"})) << name;
  }
  const std::vector<colmap::posed_image> spaced{{"dir with spaces/frame 1.jpg", 1}};
  EXPECT_EQ(read_images(colmap::images_txt(cams, spaced)).at(0).name, "dir with spaces/frame 1.jpg");
}

}  // namespace
