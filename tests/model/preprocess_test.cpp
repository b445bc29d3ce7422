// Batched preprocessing against a plain per-image reference written here in double precision
// (crop, resize or warp, normalise, one pixel at a time), against OpenCV (cv::resize on the
// cut-out crop, cv::copyMakeBorder for letterboxes, cv::warpAffine with the similarity from
// cv::estimateAffinePartial2D for faces) where installed, and across executors byte for byte.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "test_util.hpp"
#include "vbatch/model/preprocess.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace {

namespace vb = vbatch;
namespace model = vbatch::model;
using vbatch_test::throws_error;

// ---- the reference: one image, one pixel at a time, in double ---------------------------------

struct affine {
  double m[6];  // output pixel index -> source pixel index
};

// The least-squares similarity from `from` to `to` by the normal equations of its 4 unknowns
// (a, b, tx, ty) of [a -b tx; b a ty], solved by Gaussian elimination: not Umeyama's closed form.
affine similarity_reference(const model::landmarks5& from, const model::landmarks5& to) {
  double n[4][5] = {};
  for (int k = 0; k < 5; ++k) {
    const double x = from[k].x, y = from[k].y;
    const double rows[2][5] = {{x, -y, 1, 0, to[k].x}, {y, x, 0, 1, to[k].y}};
    for (const auto& r : rows)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 5; ++j) n[i][j] += r[i] * r[j];
  }
  for (int i = 0; i < 4; ++i)
    for (int r = i + 1; r < 4; ++r) {
      const double f = n[r][i] / n[i][i];
      for (int j = i; j < 5; ++j) n[r][j] -= f * n[i][j];
    }
  double s[4];
  for (int i = 3; i >= 0; --i) {
    s[i] = n[i][4];
    for (int j = i + 1; j < 4; ++j) s[i] -= n[i][j] * s[j];
    s[i] /= n[i][i];
  }
  const double a = s[0], b = s[1], det = a * a + b * b;
  // invert source -> output: x = ([a b; -b a] (q - t)) / det
  return {{a / det, b / det, -(a * s[2] + b * s[3]) / det, -b / det, a / det, (b * s[2] - a * s[3]) / det}};
}

std::vector<double> reference(vb::batch_view<const vb::u8> src, const model::crop& c, int channels, int width, int height,
                              const model::preprocess_options& o) {
  affine map{};
  int clamp[4] = {-1000000, -1000000, 1000000, 1000000};  // x0, y0, x1, y1
  int left = 0, top = 0, content_w = width, content_h = height;
  if (c.landmarks) {
    model::landmarks5 to = o.face_template;
    for (auto& p : to) p = {float(p.x * width / o.template_width), float(p.y * height / o.template_height)};
    map = similarity_reference(*c.landmarks, to);
  } else {
    const bool whole = c.box.x2 <= c.box.x1;
    const double x1 = whole ? 0 : c.box.x1, y1 = whole ? 0 : c.box.y1, x2 = whole ? src.w : c.box.x2,
                 y2 = whole ? src.h : c.box.y2;
    if (o.resize == model::resize_mode::letterbox) {  // Ultralytics' LetterBox
      const double r = std::min(width / (x2 - x1), height / (y2 - y1));
      content_w = int(std::lround((x2 - x1) * r)), content_h = int(std::lround((y2 - y1) * r));
      left = (width - content_w) / 2, top = (height - content_h) / 2;
    }
    const double sx = (x2 - x1) / content_w, sy = (y2 - y1) / content_h;
    map = {{sx, 0, x1 + (0.5 - left) * sx - 0.5, 0, sy, y1 + (0.5 - top) * sy - 0.5}};
    clamp[0] = int(std::floor(x1)), clamp[1] = int(std::floor(y1)), clamp[2] = int(std::ceil(x2)) - 1,
    clamp[3] = int(std::ceil(y2)) - 1;
  }
  const bool swap = channels == 3 && o.source_order != o.order;
  const auto tap = [&](int x, int y, int ch) -> double {
    x = std::clamp(x, clamp[0], clamp[2]), y = std::clamp(y, clamp[1], clamp[3]);
    if (x < 0 || y < 0 || x >= src.w || y >= src.h) return o.pad_value;
    return src(c.source, y, x, ch);
  };
  std::vector<double> out(std::size_t(channels) * height * width);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const double sx = map.m[0] * x + map.m[1] * y + map.m[2], sy = map.m[3] * x + map.m[4] * y + map.m[5];
      const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
      const double ax = sx - x0, ay = sy - y0;
      const bool content = x >= left && x < left + content_w && y >= top && y < top + content_h;
      for (int k = 0; k < channels; ++k) {
        const int ch = swap ? 2 - k : k;
        const double v = !content ? o.pad_value
                                  : (1 - ay) * ((1 - ax) * tap(x0, y0, ch) + ax * tap(x0 + 1, y0, ch)) +
                                        ay * ((1 - ax) * tap(x0, y0 + 1, ch) + ax * tap(x0 + 1, y0 + 1, ch));
        out[(std::size_t(k) * height + y) * width + x] = (v * o.scale - o.mean[k]) / o.std[k];
      }
    }
  return out;
}

// The largest difference of item i of `got` (N,C,H,W) from `expected` (C,H,W), in pixel levels
// (0..255): the normalised difference times std / scale.
double level_error(const std::vector<float>& got, int i, const std::vector<double>& expected, int channels,
                   const model::preprocess_options& o) {
  const std::size_t plane = expected.size() / channels;
  double worst = 0;
  for (std::size_t j = 0; j < expected.size(); ++j) {
    const double diff = std::abs(double(got[i * expected.size() + j]) - expected[j]);
    worst = std::max(worst, diff * o.std[j / plane] / o.scale);
  }
  return worst;
}

template <class Exec>
std::vector<float> run(const Exec& exec, vb::batch_view<const vb::u8> src, std::span<const model::crop> crops, int channels,
                       int width, int height, const model::preprocess_options& o) {
  std::vector<float> out(crops.size() * channels * width * height);
  model::preprocess(exec, src, crops, model::tensor_view<float>{out.data(), int(crops.size()), channels, height, width}, o);
  return out;
}

model::landmarks5 face_at(float cx, float cy, float size, float angle_deg, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> jitter(-1.0f, 1.0f);
  const float c = std::cos(angle_deg * 3.14159265f / 180), s = std::sin(angle_deg * 3.14159265f / 180);
  model::landmarks5 points;
  for (int k = 0; k < 5; ++k) {
    const float u = (model::arcface_template[k].x - 56) / 112 * size, v = (model::arcface_template[k].y - 56) / 112 * size;
    points[k] = {cx + c * u - s * v + jitter(rng), cy + s * u + c * v + jitter(rng)};
  }
  return points;
}

// Crops of every kind: whole image, whole-pixel and fractional boxes, boxes past the image edge,
// tiny and large boxes (up- and downscaling), aligned faces rotated both ways and near the edge.
std::vector<model::crop> mixed_crops() {
  return {{.source = 0},
          {.source = 1, .box = {10, 5, 40, 35}},
          {.source = 2, .box = {3.25f, 7.5f, 57.75f, 30.2f}},
          {.source = 1, .box = {-6, -4, 20, 18}},
          {.source = 0, .box = {50, 30, 75, 52}},
          {.source = 2, .box = {20, 20, 23, 22}},
          {.source = 0, .landmarks = face_at(32, 24, 30, 15, 1)},
          {.source = 1, .landmarks = face_at(20, 30, 40, -30, 2)},
          {.source = 2, .landmarks = face_at(60, 40, 25, 170, 3)}};
}

struct setting {
  const char* name;
  model::preprocess_options options;
  int channels;
};

const setting settings[] = {
    {"stretch, torchvision normalisation", {.mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}}, 3},
    {"letterbox, pad 114, rgb from bgr",
     {.resize = model::resize_mode::letterbox, .pad_value = 114, .source_order = model::channel_order::bgr},
     3},
    {"stretch, blobFromImage-style mean in levels",
     {.order = model::channel_order::bgr,
      .scale = 1,
      .mean = {104, 117, 123},
      .std = {1 / 0.0078125f, 1 / 0.0078125f, 1 / 0.0078125f}},
     3},
    {"letterbox gray", {.resize = model::resize_mode::letterbox, .pad_value = 7, .mean = {0.5f, 0, 0}, .std = {0.5f, 1, 1}}, 1},
};

TEST(Preprocess, EqualsThePerImageReferenceForEveryCropKindAndSetting) {
  for (const setting& s : settings) {
    SCOPED_TRACE(s.name);
    const int source_channels = s.channels == 1 ? 1 : 3;
    const auto src = vbatch_test::random_images<vb::u8>({3, 48, 64, source_channels}, 42);  // (3,48,64,C)
    const std::vector<model::crop> crops = mixed_crops();
    for (const auto& [w, h] : {std::pair{24, 24}, std::pair{40, 17}, std::pair{112, 96}}) {
      const std::vector<float> got = run(vb::cpu_serial{}, src.view(), crops, s.channels, w, h, s.options);
      for (int i = 0; i < int(crops.size()); ++i) {
        const std::vector<double> want = reference(src.view(), crops[i], s.channels, w, h, s.options);
        // float positions and weights on random pixels: a few thousandths of a level
        EXPECT_LT(level_error(got, i, want, s.channels, s.options), 0.02) << "crop " << i << " to " << w << "x" << h;
      }
    }
  }
}

TEST(Preprocess, LetterboxPadsAroundTheCentredContentAndMapsBack) {
  vb::batch_buffer<vb::u8> frame({1, 60, 120, 3});  // a 2:1 frame into a square: pad above and below
  std::fill_n(frame.data(), frame.view().pixels() * 3, vb::u8(200));
  const model::crop whole{.source = 0};
  const model::preprocess_options o{.resize = model::resize_mode::letterbox, .pad_value = 114};
  const std::vector<float> got = run(vb::cpu_serial{}, frame.view(), std::span(&whole, 1), 3, 64, 64, o);
  for (int y = 0; y < 64; ++y) {
    const float expected = y < 16 || y >= 48 ? 114 / 255.0f : 200 / 255.0f;  // content 64x32 at rows 16..47
    for (int k = 0; k < 3; ++k) ASSERT_FLOAT_EQ(got[(k * 64 + y) * 64 + 5], expected) << "row " << y;
  }
  const model::crop_transform t = model::crop_transforms(120, 60, std::span(&whole, 1), 64, 64, o)[0];
  const model::point2 corner = t({0, 16}), far = t({64, 48});
  EXPECT_FLOAT_EQ(corner.x, 0);
  EXPECT_FLOAT_EQ(corner.y, 0);
  EXPECT_FLOAT_EQ(far.x, 120);
  EXPECT_FLOAT_EQ(far.y, 60);
}

TEST(Preprocess, ChannelOrderSwapsRedAndBlue) {
  vb::batch_buffer<vb::u8> pixel({1, 1, 1, 3});
  pixel.data()[0] = 10, pixel.data()[1] = 20, pixel.data()[2] = 30;
  const model::crop c{.source = 0};
  const model::preprocess_options same{.scale = 1}, swapped{.order = model::channel_order::bgr, .scale = 1};
  EXPECT_EQ(run(vb::cpu_serial{}, pixel.view(), std::span(&c, 1), 3, 2, 2, same)[0], 10);
  EXPECT_EQ(run(vb::cpu_serial{}, pixel.view(), std::span(&c, 1), 3, 2, 2, swapped)[0], 30);
  EXPECT_EQ(run(vb::cpu_serial{}, pixel.view(), std::span(&c, 1), 3, 2, 2, swapped)[8], 10);
}

TEST(Preprocess, EveryExecutorAndThreadCountGivesTheSameBytes) {
  const auto src = vbatch_test::random_images<vb::u8>({3, 48, 64, 4}, 7);  // 4 channels: alpha ignored
  const std::vector<model::crop> crops = mixed_crops();
  for (const setting& s : settings) {
    if (s.channels != 3) continue;
    const std::vector<float> serial = run(vb::cpu_serial{}, src.view(), crops, 3, 37, 29, s.options);
    const std::vector<float> parallel = run(vb::cpu_par{2}, src.view(), crops, 3, 37, 29, s.options);
    EXPECT_EQ(std::memcmp(serial.data(), parallel.data(), serial.size() * sizeof(float)), 0) << s.name;
  }
}

TEST(Preprocess, RejectsBadRequestsNamingTheItem) {
  const auto src = vbatch_test::random_images<vb::u8>({2, 8, 8, 3}, 1);
  std::vector<float> out(3 * 3 * 4 * 4);
  const model::tensor_view<float> three{out.data(), 3, 3, 4, 4};
  const auto call = [&](std::vector<model::crop> crops, model::tensor_view<float> t, model::preprocess_options o = {}) {
    return [&src, crops, t, o] { model::preprocess(vb::cpu_serial{}, src.view(), crops, t, o); };
  };
  EXPECT_TRUE(throws_error(call({{}, {}}, three), vb::errc::invalid_argument, {"2 crops", "3 items"}));
  EXPECT_TRUE(throws_error(call({{}, {.source = 2}, {}}, three), vb::errc::invalid_argument, {"crop 1", "source 2 of 2"}));
  EXPECT_TRUE(throws_error(call({{}, {}, {.box = {5, 1, 5, 4}}}, three), vb::errc::invalid_argument, {"crop 2", "empty"}));
  EXPECT_TRUE(throws_error(call({{}, {}, {.box = {0, 0, 1e30f, 4}}}, three), vb::errc::invalid_argument, {"crop 2", "2^24"}));
  model::landmarks5 collapsed{};
  EXPECT_TRUE(throws_error(call({{}, {.landmarks = collapsed}, {}}, three), vb::errc::invalid_argument, {"crop 1", "one point"}));
  EXPECT_TRUE(throws_error(call({{}, {}, {}}, three, {.std = {1, 0, 1}}), vb::errc::invalid_argument, {"channel 1"}));
  EXPECT_TRUE(throws_error(call({{}, {}, {}}, {out.data(), 3, 1, 4, 4}), vb::errc::invalid_argument, {"1-channel output"}));
}

// ---- the CPU row schedule of boxes against the per-pixel body, byte for byte ------------------

// A random request: 1, 3 or 4 source channels, boxes of any size (up- and downscaling, fractional,
// partly or wholly outside the image, the whole image), a few aligned faces, random settings.
struct random_request {
  vb::batch_buffer<vb::u8> sources;
  std::vector<model::crop> crops;
  model::preprocess_options options;
  int channels, width, height;
};

random_request random_case(std::mt19937& rng) {
  const auto uniform = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  const auto integer = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int source_channels = std::array{1, 3, 4}[integer(0, 2)];
  const int sw = integer(1, 90), sh = integer(1, 70), n = integer(1, 3);
  random_request r{vbatch_test::random_images<vb::u8>({n, sh, sw, source_channels}, unsigned(rng())), {}, {}, 0, 0, 0};
  r.channels = source_channels == 1 ? 1 : 3;
  r.width = integer(1, 80), r.height = integer(1, 80);
  const int count = integer(1, 6);
  for (int i = 0; i < count; ++i) {
    model::crop c{.source = integer(0, n - 1)};
    const int kind = integer(0, 9);
    if (kind == 0) {
      c.landmarks = face_at(uniform(0, float(sw)), uniform(0, float(sh)), uniform(5, 60), uniform(-180, 180), unsigned(rng()));
    } else if (kind != 1) {  // kind 1: the whole image
      const float x1 = uniform(-0.4f * sw, 1.1f * sw), y1 = uniform(-0.4f * sh, 1.1f * sh);
      const float bw = uniform(0.05f, 1.6f) * sw + 0.1f, bh = uniform(0.05f, 1.6f) * sh + 0.1f;
      c.box = {x1, y1, x1 + bw, y1 + bh};
      if (kind < 5) c.box = {std::floor(x1), std::floor(y1), std::floor(x1) + std::ceil(bw), std::floor(y1) + std::ceil(bh)};
    }
    r.crops.push_back(c);
  }
  model::preprocess_options& o = r.options;
  o.resize = integer(0, 1) ? model::resize_mode::letterbox : model::resize_mode::stretch;
  o.pad_value = integer(0, 1) ? float(integer(0, 255)) : uniform(0, 255);
  o.source_order = integer(0, 1) ? model::channel_order::bgr : model::channel_order::rgb;
  o.order = integer(0, 1) ? model::channel_order::bgr : model::channel_order::rgb;
  o.scale = integer(0, 1) ? 1.0f / 255.0f : uniform(0.001f, 2.0f);
  for (int k = 0; k < 3; ++k) o.mean[k] = uniform(-100, 150), o.std[k] = uniform(0.01f, 80.0f);
  return r;
}

template <class Exec>
std::vector<float> run_with(const Exec& exec, const random_request& r, model::detail::cpu_path path) {
  std::vector<float> out(r.crops.size() * r.channels * r.width * r.height);
  model::detail::preprocess_with(exec, vb::batch_view<const vb::u8>(r.sources.view()), r.crops,
                                 model::tensor_view<float>{out.data(), int(r.crops.size()), r.channels, r.height, r.width},
                                 r.options, path);
  return out;
}

// The first differing element, or -1 (bytes, so -0 against +0 or two NaNs count).
std::ptrdiff_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (std::size_t k = 0; k < a.size(); ++k)
    if (std::memcmp(&a[k], &b[k], sizeof(float)) != 0) return std::ptrdiff_t(k);
  return a.size() == b.size() ? -1 : std::ptrdiff_t(std::min(a.size(), b.size()));
}

TEST(PreprocessSchedule, RowsEqualThePerPixelBodyForRandomRequests) {
  using model::detail::cpu_path;
  std::vector<cpu_path> paths;  // the portable rows and every SIMD variant this CPU runs
  for (int path = int(cpu_path::rows); path <= int(model::detail::best_cpu_path()); ++path) paths.push_back(cpu_path(path));
  std::mt19937 rng(20261205);
  for (int trial = 0; trial < 400; ++trial) {
    const random_request r = random_case(rng);
    SCOPED_TRACE(::testing::Message() << "trial " << trial << ": " << r.crops.size() << " crops of " << r.sources.view().w << "x"
                                      << r.sources.view().h << "x" << r.sources.view().c << " to " << r.channels << "x"
                                      << r.height << "x" << r.width);
    const std::vector<float> expected = run_with(vb::cpu_serial{}, r, cpu_path::per_pixel);
    for (cpu_path path : paths) {
      EXPECT_EQ(first_difference(run_with(vb::cpu_serial{}, r, path), expected), -1) << "serial, path " << int(path);
      for (int threads : {1, 2})
        EXPECT_EQ(first_difference(run_with(vb::cpu_par{threads}, r, path), expected), -1)
            << threads << " threads, path " << int(path);
    }
    EXPECT_EQ(
        first_difference(run(vb::cpu_par{2}, r.sources.view(), r.crops, r.channels, r.width, r.height, r.options), expected), -1)
        << "model::preprocess";
  }
}

// f16 outputs, for half-precision models: the f32 values rounded to nearest even, on every
// executor and thread count.
TEST(Preprocess, HalfOutputIsTheFloatOutputRounded) {
  std::mt19937 rng(1605);
  for (int trial = 0; trial < 60; ++trial) {
    const random_request r = random_case(rng);
    const std::vector<float> f32 = run_with(vb::cpu_serial{}, r, model::detail::best_cpu_path());
    std::vector<vb::f16> expected(f32.size());
    for (std::size_t k = 0; k < f32.size(); ++k) expected[k] = vb::to_f16(f32[k]);
    for (int threads : {1, 2}) {
      std::vector<vb::f16> got(f32.size(), vb::f16{0x7e00});
      model::preprocess(vb::cpu_par{threads}, vb::batch_view<const vb::u8>(r.sources.view()), r.crops,
                        model::tensor_view<vb::f16>{got.data(), int(r.crops.size()), r.channels, r.height, r.width}, r.options);
      EXPECT_EQ(got, expected) << "trial " << trial << ", " << threads << " threads";
    }
  }
}

// Large enough for the SIMD runs (8 columns) and for several row bands of a crop, and sources
// that are views: pixels wider than their channels, rows with a pitch, a crop of a larger image.
TEST(PreprocessSchedule, RowsEqualThePerPixelBodyOnStridedViewsAndLargeOutputs) {
  using model::detail::cpu_path;
  const auto parent = vbatch_test::random_images<vb::u8>({2, 140, 200, 4}, 5);  // (2,140,200,4)
  vb::batch_view<const vb::u8> rgb_of_rgba = parent.view();
  rgb_of_rgba.c = 3;                                                              // pixels 4 bytes apart, 3 read
  const vb::batch_view<const vb::u8> inner = rgb_of_rgba.crop(10, 17, 120, 180);  // rows pitched, right edge inside
  const std::vector<model::crop> crops = {{.source = 0},
                                          {.source = 1, .box = {-30.5f, 5, 150, 119.25f}},
                                          {.source = 0, .box = {170, 100, 180, 120}},
                                          {.source = 1, .box = {3, 7, 160, 9}},
                                          {.source = 0, .landmarks = face_at(90, 60, 70, 20, 4)}};
  for (const auto& source : {rgb_of_rgba, inner})
    for (model::resize_mode resize : {model::resize_mode::stretch, model::resize_mode::letterbox}) {
      const model::preprocess_options o{.resize = resize, .pad_value = 114, .source_order = model::channel_order::bgr};
      const int n = int(crops.size()), h = 150, w = 131;
      const auto with = [&](cpu_path path, int threads) {
        std::vector<float> out(std::size_t(n) * 3 * h * w);
        model::detail::preprocess_with(vb::cpu_par{threads}, source, crops, model::tensor_view<float>{out.data(), n, 3, h, w}, o,
                                       path);
        return out;
      };
      const std::vector<float> expected = with(cpu_path::per_pixel, 1);
      for (int path = int(cpu_path::rows); path <= int(model::detail::best_cpu_path()); ++path)
        for (int threads : {1, 2}) EXPECT_EQ(first_difference(with(cpu_path(path), threads), expected), -1) << "path " << path;
    }
}

// The SIMD taps read 4 bytes at a pixel: never past the last byte of a row's last pixel.
TEST(PreprocessSchedule, GatheredColumnsStayInsideTheRow) {
  for (int channels : {1, 3}) {
    const auto src = vbatch_test::random_images<vb::u8>({1, 10, 50, channels}, 3);
    const model::crop c{.source = 0, .box = {20, 0, 50, 10}};  // ends at the right edge: upscaled, its last taps are column 49
    model::crop_transform unused;
    const model::detail::crop_plan p = model::detail::plan(c, 50, 10, 64, 8, {}, unused);
    model::detail::preprocess_kernel<float> k{src.view(), &p, {}, {0, 1, 2}, 0, 1, {}, {}};
    int off0[64], off1[64];
    float w0[64], w1[64];
    model::detail::column_taps t;
    model::detail::plan_columns(k, p, off0, off1, w0, w1, t);
    EXPECT_EQ(t.gather_begin, 0);
    EXPECT_GT(t.gather_end, 32);
    EXPECT_LT(t.gather_end, 64);  // the last columns tap pixel 49: the scalar taps read them
    for (int j = t.gather_begin; j < t.gather_end; ++j) EXPECT_LE(off1[j] + 4, 50 * channels) << "column " << j;
    EXPECT_EQ(off1[63], 49 * channels);
  }
}

#if VBATCH_HAVE_OPENCV

cv::Mat as_mat(vb::batch_view<const vb::u8> v, int i) {
  return cv::Mat(v.h, v.w, CV_8UC(v.c), const_cast<vb::u8*>(v.pixel(i, 0, 0)), std::size_t(v.stride_h));
}

// An OpenCV HWC image (float or u8) normalised into (C,H,W) doubles as the options say.
std::vector<double> normalised(const cv::Mat& image, const model::preprocess_options& o) {
  cv::Mat f;
  image.convertTo(f, CV_32F);
  std::vector<double> out(std::size_t(f.channels()) * f.rows * f.cols);
  for (int y = 0; y < f.rows; ++y)
    for (int x = 0; x < f.cols; ++x)
      for (int k = 0; k < f.channels(); ++k)
        out[(std::size_t(k) * f.rows + y) * f.cols + x] =
            (f.ptr<float>(y)[x * f.channels() + k] * o.scale - o.mean[k]) / o.std[k];
  return out;
}

// Whole-pixel boxes inside the image: cv::resize of the cut-out crop. In float the two agree to
// float rounding (0.01 level); on u8 OpenCV's INTER_LINEAR uses 11-bit fixed-point weights and
// rounds to u8, hence up to 1 level.
TEST(PreprocessOpenCV, StretchEqualsResizeOfTheCrop) {
  const auto src = vbatch_test::smooth_picture(96, 64, 3);
  const model::preprocess_options o{.mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
  for (const cv::Rect r : {cv::Rect(0, 0, 96, 64), cv::Rect(10, 7, 50, 31), cv::Rect(60, 40, 9, 13)}) {
    const model::crop c{.source = 0, .box = {float(r.x), float(r.y), float(r.x + r.width), float(r.y + r.height)}};
    for (const auto& [w, h] : {std::pair{32, 32}, std::pair{100, 45}}) {
      SCOPED_TRACE(testing::Message() << r << " -> " << w << "x" << h);
      const std::vector<float> got = run(vb::cpu_par{2}, src.view(), std::span(&c, 1), 3, w, h, o);
      cv::Mat crop_f, resized_f, resized_u8;
      as_mat(src.view(), 0)(r).convertTo(crop_f, CV_32F);
      cv::resize(crop_f, resized_f, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
      cv::resize(as_mat(src.view(), 0)(r), resized_u8, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
      EXPECT_LT(level_error(got, 0, normalised(resized_f, o), 3, o), 0.01);
      EXPECT_LE(level_error(got, 0, normalised(resized_u8, o), 3, o), 1.0);
    }
  }
}

// Ultralytics' LetterBox: cv::resize to round(size × r), then cv::copyMakeBorder with 114.
TEST(PreprocessOpenCV, LetterboxEqualsResizeAndCopyMakeBorder) {
  const auto src = vbatch_test::smooth_picture(90, 50, 3);
  const model::preprocess_options o{.resize = model::resize_mode::letterbox, .pad_value = 114};
  const model::crop c{.source = 0};
  for (const auto& [w, h] : {std::pair{64, 64}, std::pair{32, 64}, std::pair{160, 96}}) {
    SCOPED_TRACE(testing::Message() << w << "x" << h);
    const double r = std::min(double(w) / 90, double(h) / 50);
    const int cw = int(std::lround(90 * r)), ch = int(std::lround(50 * r)), left = (w - cw) / 2, top = (h - ch) / 2;
    cv::Mat f, resized, boxed;
    as_mat(src.view(), 0).convertTo(f, CV_32F);
    cv::resize(f, resized, cv::Size(cw, ch), 0, 0, cv::INTER_LINEAR);
    cv::copyMakeBorder(resized, boxed, top, h - ch - top, left, w - cw - left, cv::BORDER_CONSTANT, cv::Scalar::all(114));
    const std::vector<float> got = run(vb::cpu_par{2}, src.view(), std::span(&c, 1), 3, w, h, o);
    EXPECT_LT(level_error(got, 0, normalised(boxed, o), 3, o), 0.01);
  }
}

// insightface's norm_crop: the similarity from the landmarks to the ArcFace template, then
// cv::warpAffine with a constant border. OpenCV's estimateAffinePartial2D with LMEDS (all points
// inliers, refined by Levenberg-Marquardt) reaches the same least-squares similarity (RANSAC's
// 3-pixel threshold may drop a landmark). warpAffine quantises source positions to 1/32 pixel:
// worth under a level on the picture (its steepest edges rise ~40 levels per pixel), and up to
// 255/64 levels where a tap crosses from the picture to the constant border (pixels whose
// bilinear footprint leaves the image), hence the two tolerances.
TEST(PreprocessOpenCV, AlignmentEqualsWarpAffineWithTheEstimatedSimilarity) {
  const auto src = vbatch_test::smooth_picture(128, 96, 3);
  const model::preprocess_options o{.mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f}};
  for (const auto& [landmarks, size] : {std::pair{face_at(64, 48, 50, 10, 4), 112}, std::pair{face_at(100, 30, 70, -25, 5), 112},
                                        std::pair{face_at(40, 60, 30, 0, 6), 64}}) {
    const model::crop c{.source = 0, .landmarks = landmarks};
    std::vector<cv::Point2f> from, to;
    for (int k = 0; k < 5; ++k) {
      from.emplace_back(landmarks[k].x, landmarks[k].y);
      to.emplace_back(model::arcface_template[k].x * size / 112, model::arcface_template[k].y * size / 112);
    }
    const cv::Mat m = cv::estimateAffinePartial2D(from, to, cv::noArray(), cv::LMEDS);
    ASSERT_FALSE(m.empty());
    cv::Mat f, warped;
    as_mat(src.view(), 0).convertTo(f, CV_32F);
    cv::warpAffine(f, warped, m, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(o.pad_value));
    const std::vector<float> got = run(vb::cpu_par{2}, src.view(), std::span(&c, 1), 3, size, size, o);
    const std::vector<double> want = normalised(warped, o);
    const model::crop_transform t = model::crop_transforms(128, 96, std::span(&c, 1), size, size)[0];
    double inside = 0, border = 0;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const model::point2 p = t({x + 0.5f, y + 0.5f});  // the pixel's centre in the source
        const bool in_image = p.x - 0.5f >= 0 && p.y - 0.5f >= 0 && p.x + 0.5f <= 127 && p.y + 0.5f <= 95;
        for (int k = 0; k < 3; ++k) {
          const std::size_t j = (std::size_t(k) * size + y) * size + x;
          const double levels = std::abs(got[j] - want[j]) * o.std[k] / o.scale;
          (in_image ? inside : border) = std::max(in_image ? inside : border, levels);
        }
      }
    vbatch_test::record("alignment_vs_warpAffine_levels_inside", inside);
    vbatch_test::record("alignment_vs_warpAffine_levels_at_border", border);
    EXPECT_LT(inside, 1.0);
    EXPECT_LT(border, 255.0 / 64 + 0.5);
  }
}

#endif  // VBATCH_HAVE_OPENCV

}  // namespace
