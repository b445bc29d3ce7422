// dlib's pretrained face models through the vbatch adapters, on real photos (PyPI packages, put in
// place by scripts/setup.sh; cmake/vbatchFindFaceData.cmake says where):
// - the embedder on u8 chips equals dlib's own network call on the same chips within 1e-4, for a
//   batch of all faces and for batches of one, and a batch split over 3 threads equals 1 thread
//   byte for byte;
// - the batched path (our chips from model::preprocess, run_model with batches of 2) agrees with
//   dlib's one-face-at-a-time path (extract_image_chip + the network) to well within dlib's
//   same-person threshold, and the chip we sample equals dlib's chip to within a few levels;
// - the same person is within 0.6 in three different photos, other people are not;
// - the detector finds one face in each portrait and every face of a group photo, each with its
//   5 landmarks inside its box; bad files give errors naming them.
// Without dlib or the data these tests are not built.

#include <gtest/gtest.h>

#include "test_util.hpp"

#if VBATCH_HAVE_DLIB_FACE_DATA

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "vbatch/batch/policy.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/model/adapters/dlib_face.hpp"
#include "vbatch/model/batch_model.hpp"

namespace {

namespace vb = vbatch;
namespace model = vbatch::model;
namespace fs = std::filesystem;
using vbatch_test::throws_error;

const fs::path models_dir = VBATCH_FACE_MODELS_DIR;
const fs::path photos_dir = VBATCH_FACE_PHOTOS_DIR;

model::dlib_face_detector& detector() {
  static model::dlib_face_detector d(models_dir / "shape_predictor_5_face_landmarks.dat");
  return d;
}
model::dlib_face_embedder& embedder() {
  static model::dlib_face_embedder e(models_dir / "dlib_face_recognition_resnet_model_v1.dat");
  return e;
}

struct photo {
  vb::batch_buffer<vb::u8> pixels;
  std::vector<model::dlib_face> faces;
};

photo load(const std::string& name) {
  photo p{vb::io::load_image(photos_dir / name, 3), {}};
  p.faces = detector()(p.pixels.view(), 0);
  return p;
}

// dlib's own chip of a face: dlib's image from our pixels, then extract_image_chip.
dlib::matrix<dlib::rgb_pixel> dlib_chip(const photo& p, const model::dlib_face& f) {
  const auto v = p.pixels.view();
  dlib::matrix<dlib::rgb_pixel> image(v.h, v.w);
  for (int y = 0; y < v.h; ++y)
    for (int x = 0; x < v.w; ++x) image(y, x) = dlib::rgb_pixel(v.pixel(0, y, x)[0], v.pixel(0, y, x)[1], v.pixel(0, y, x)[2]);
  dlib::full_object_detection shape(dlib::rectangle(long(f.box.x1), long(f.box.y1), long(f.box.x2) - 1, long(f.box.y2) - 1));
  std::vector<dlib::point> parts;
  for (const model::point2& q : f.points) parts.emplace_back(long(q.x), long(q.y));
  shape = dlib::full_object_detection(shape.get_rect(), parts);
  dlib::matrix<dlib::rgb_pixel> chip;
  dlib::extract_image_chip(image, dlib::get_face_chip_details(shape, 150, 0.25), chip);
  return chip;
}

double distance(const float* a, const float* b) {
  double s = 0;
  for (int k = 0; k < 128; ++k) s += (double(a[k]) - b[k]) * (double(a[k]) - b[k]);
  return std::sqrt(s);
}

TEST(DlibFace, DetectorFindsOneFacePerPortraitAndEveryFaceOfAGroup) {
  for (const char* name : {"obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"}) {
    const photo p = load(name);
    ASSERT_EQ(p.faces.size(), 1u) << name;
    const model::dlib_face& f = p.faces[0];
    EXPECT_GT(f.box.x2 - f.box.x1, 60) << name;
    for (const model::point2& q : f.points) {  // landmarks lie in (or just around) the face box
      const float margin = 0.2f * (f.box.x2 - f.box.x1);
      EXPECT_TRUE(q.x > f.box.x1 - margin && q.x < f.box.x2 + margin && q.y > f.box.y1 - margin && q.y < f.box.y2 + margin)
          << name;
    }
  }
  // align() on a detector's box gives that detection's landmarks and crop.
  const photo p = load("obama.jpg");
  const model::dlib_face again = detector().align(p.pixels.view(), 0, p.faces[0].box, p.faces[0].score);
  EXPECT_EQ(again.points, p.faces[0].points);
  EXPECT_EQ(*again.crop.landmarks, *p.faces[0].crop.landmarks);

  const photo group = load("t1.jpg");
  EXPECT_GE(group.faces.size(), 5u);
  for (std::size_t i = 1; i < group.faces.size(); ++i) EXPECT_GE(group.faces[i - 1].score, group.faces[i].score);
}

TEST(DlibFace, EmbedderOnU8ChipsEqualsDlibsOwnNetworkCall) {
  std::vector<dlib::matrix<dlib::rgb_pixel>> chips;
  for (const char* name : {"obama.jpg", "obama2.jpg", "biden.jpg", "t1.jpg"})
    for (const photo p = load(name); const model::dlib_face& f : p.faces) chips.push_back(dlib_chip(p, f));
  const int n = int(chips.size());
  ASSERT_GE(n, 6);
  const auto expected = embedder().reference(chips);

  // The chips as the network's input tensor, by the adapter's own preprocessing description.
  const model::preprocess_options o = embedder().preprocessing();
  std::vector<float> input(std::size_t(n) * 3 * 150 * 150);
  const model::tensor_view<float> t{input.data(), n, 3, 150, 150};
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < 150; ++y)
      for (int x = 0; x < 150; ++x) {
        const dlib::rgb_pixel px = chips[i](y, x);
        const float v[3] = {float(px.red), float(px.green), float(px.blue)};
        for (int c = 0; c < 3; ++c) t(i, c, y, x) = (v[c] * o.scale - o.mean[c]) / o.std[c];
      }
  std::vector<float> all(std::size_t(n) * 128), one(std::size_t(n) * 128);
  embedder()(t, model::matrix_view<float>{all.data(), n, 128});
  for (int i = 0; i < n; ++i) embedder()(t.items(i, 1), model::matrix_view<float>{one.data() + i * 128, 1, 128});
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < 128; ++k) {
      EXPECT_NEAR(all[i * 128 + k], expected[i](k), 1e-4) << "face " << i << " value " << k;
      EXPECT_NEAR(one[i * 128 + k], expected[i](k), 1e-4) << "face " << i << " value " << k;
    }

  // A batch split over 3 network copies on 3 threads gives the same bytes as one thread.
  for (const int threads : {1, 3}) {
    model::dlib_face_embedder split(models_dir / "dlib_face_recognition_resnet_model_v1.dat", vb::cpu_par{.threads = threads});
    std::vector<float> got(std::size_t(n) * 128);
    split(t, model::matrix_view<float>{got.data(), n, 128});
    EXPECT_EQ(got, all) << threads << " threads";
  }
}

TEST(DlibFace, BatchedPathAgreesWithDlibsOneFaceAtATimePath) {
  for (const char* name : {"obama.jpg", "biden.jpg", "t1.jpg"}) {
    const photo p = load(name);
    const int n = int(p.faces.size());
    std::vector<model::crop> crops;
    std::vector<dlib::matrix<dlib::rgb_pixel>> chips;
    for (const model::dlib_face& f : p.faces) crops.push_back(f.crop), chips.push_back(dlib_chip(p, f));

    // Our chip against dlib's: the same geometry, so only rounding (and smoothing) apart.
    std::vector<float> blob(std::size_t(n) * 3 * 150 * 150);
    model::preprocess_options raw;  // plain 0..255 values, RGB
    raw.scale = 1;
    model::preprocess(vb::cpu_serial{}, p.pixels.view(), crops, model::tensor_view<float>{blob.data(), n, 3, 150, 150}, raw);
    double total = 0;
    for (int i = 0; i < n; ++i)
      for (int y = 0; y < 150; ++y)
        for (int x = 0; x < 150; ++x) total += std::abs(blob[((std::size_t(i) * 3) * 150 + y) * 150 + x] - chips[i](y, x).red);
    EXPECT_LT(total / (double(n) * 150 * 150), 4.0) << name << ": mean absolute difference of the red channel";

    std::vector<float> batched(std::size_t(n) * 128);
    vb::batch::backoff policy{vb::batch::fixed{2}};
    model::run_model(vb::cpu_par{2}, embedder(), p.pixels.view(), crops, policy,
                     model::matrix_view<float>{batched.data(), n, 128}, embedder().preprocessing());
    const auto reference = embedder().reference(chips);
    // Measured: 0.003-0.009, and 0.078 for biden.jpg, a face over 3x the chip that dlib smooths
    // through its image pyramid first; 0.6 separates people.
    for (int i = 0; i < n; ++i) EXPECT_LT(distance(&batched[i * 128], &reference[i](0)), 0.1) << name << " face " << i;
  }
}

TEST(DlibFace, SamePersonIsCloseAcrossPhotosOthersAreNot) {
  std::vector<model::crop> crops;
  std::vector<vb::batch_buffer<vb::u8>> keep;
  std::vector<float> e;
  for (const char* name : {"obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"}) {
    photo p = load(name);
    std::vector<float> row(128);
    vb::batch::fixed policy{1};
    model::run_model(vb::cpu_serial{}, embedder(), p.pixels.view(), std::span(&p.faces[0].crop, 1), policy,
                     model::matrix_view<float>{row.data(), 1, 128}, embedder().preprocessing());
    e.insert(e.end(), row.begin(), row.end());
  }
  for (int i = 0; i < 3; ++i)
    for (int j = i + 1; j < 3; ++j) EXPECT_LT(distance(&e[i * 128], &e[j * 128]), 0.6) << "obama photos " << i << ", " << j;
  for (int i = 0; i < 3; ++i) EXPECT_GT(distance(&e[i * 128], &e[3 * 128]), 0.6) << "obama photo " << i << " and biden";
}

TEST(DlibFace, BadFilesAndShapesGiveErrorsNamingThem) {
  EXPECT_TRUE(throws_error([] { model::dlib_face_embedder e(models_dir / "missing.dat"); }, vb::errc::io, {"missing.dat"}));
  EXPECT_TRUE(throws_error([] { model::dlib_face_embedder e(models_dir / "shape_predictor_5_face_landmarks.dat"); },
                           vb::errc::corrupt_data, {"shape_predictor_5_face_landmarks.dat"}));
  EXPECT_TRUE(throws_error([] { model::dlib_face_detector d(models_dir / "shape_predictor_68_face_landmarks.dat"); },
                           vb::errc::corrupt_data, {"68-point"}));
  std::vector<float> in(3 * 100 * 100), out(128);
  EXPECT_TRUE(throws_error(
      [&] {
        embedder()(model::tensor_view<const float>{in.data(), 1, 3, 100, 100}, {out.data(), 1, 128});
      },
      vb::errc::invalid_argument, {"1x3x100x100"}));
  vb::batch_buffer<vb::u8> gray(vb::batch_shape{1, 8, 8, 1});
  EXPECT_TRUE(throws_error([&] { detector()(gray.view(), 0); }, vb::errc::invalid_argument, {"channels"}));
  EXPECT_TRUE(throws_error([&] { detector().align(gray.view(), 0, {4, 4, 4, 9}); }, vb::errc::invalid_argument, {"box"}));
}

}  // namespace

#endif
