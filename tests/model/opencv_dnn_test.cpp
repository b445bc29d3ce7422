// The OpenCV DNN adapter against a plain C++ evaluation of the same networks: the three ONNX models
// of tests/data/models (written by make_models.py with python3-onnx; committed, so no Python here)
// run through model::opencv_dnn on random batches of 1, 3 and 8 items (into tensors and into
// matrix rows; the upsampler's decoder layers in batches of changing size) equal the reference
// within 1e-4, and so does the embedder under run_model with
// batches of 4; the same items give the same outputs in any batch; calls from two threads are
// serialised; missing and corrupt files and wrong shapes give errors naming the file or
// parameter. The reference recomputes the weights from the formula make_models.py uses, never
// reading ONNX.
// A real pretrained model too, where scripts/setup.sh put it in place (VBATCH_TEXT_MODEL):
// PaddleOCR's PP-OCRv4 text detector, as rewritten for OpenCV 4.6 by scripts/onnx_for_opencv.py,
// on two crops of tests/data/images/text_panorama.jpg equals ONNX Runtime's probability maps of
// the unchanged model (tests/data/models/make_ppocr_reference.py), alone and in batches.
// Without OpenCV these tests are not built.

#include <gtest/gtest.h>

#include "test_util.hpp"

#if VBATCH_HAVE_OPENCV

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "vbatch/io/image_io.hpp"
#include "vbatch/model/adapters/opencv_dnn.hpp"

namespace {

namespace vb = vbatch;
namespace model = vbatch::model;
using vbatch_test::throws_error;
using tensors = model::tensor_view<float>;
using rows = model::matrix_view<float>;

static_assert(model::batch_model<model::opencv_dnn<tensors>>);
static_assert(model::batch_model<model::opencv_dnn<rows>>);

constexpr int size = 16;  // both models take (N, 3, 16, 16)
constexpr double tolerance = 1e-4;

std::filesystem::path model_file(const char* name) { return vbatch_test::data_dir() / "models" / name; }

template <class Output = tensors>
model::opencv_dnn<Output> load(const std::filesystem::path& file, std::string output = {}) {
  return model::opencv_dnn<Output>(file, {.input = {3, size, size}, .output = std::move(output)});
}

// make_models.py's weights(): w[i] = sin(0.7 i + offset) * scale, stored as float32.
std::vector<float> reference_weights(int count, double offset, double scale) {
  std::vector<float> w(count);
  for (int i = 0; i < count; ++i) w[i] = static_cast<float>(std::sin(0.7 * i + offset) * scale);
  return w;
}

// A batch of random items (N, 3, size, size) in [-1, 1), so that the Relu clips some channels.
struct batch {
  int n;
  std::vector<float> values;
  explicit batch(int items, unsigned seed) : n(items), values(static_cast<std::size_t>(items) * 3 * size * size) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float& v : values) v = uniform(rng);
  }
  model::tensor_view<const float> view() const { return {values.data(), n, 3, size, size}; }
};

// The embedder up to GlobalAveragePool: Conv 3->4 3x3 pad 1, Relu, mean over the image.
std::array<double, 4> reference_pooled(model::tensor_view<const float> in, int item) {
  const std::vector<float> conv_w = reference_weights(4 * 3 * 3 * 3, 0.0, 0.4);
  const std::vector<float> conv_b = reference_weights(4, 1.0, 0.1);
  std::array<double, 4> pooled{};
  for (int o = 0; o < 4; ++o) {
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        double v = conv_b[o];
        for (int c = 0; c < 3; ++c)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int sy = y + ky - 1, sx = x + kx - 1;
              if (sy >= 0 && sy < size && sx >= 0 && sx < size)
                v += double{conv_w[((o * 3 + c) * 3 + ky) * 3 + kx]} * in(item, c, sy, sx);
            }
        pooled[o] += std::max(v, 0.0);
      }
    pooled[o] /= size * size;
  }
  return pooled;
}

// (N, 4, 1, 1): the output named "pooled".
std::vector<double> reference_pooled(model::tensor_view<const float> in) {
  std::vector<double> out;
  for (int i = 0; i < in.n; ++i)
    for (double v : reference_pooled(in, i)) out.push_back(v);
  return out;
}

// (N, 8): Gemm 4->8 on the pooled features.
std::vector<double> reference_embedder(model::tensor_view<const float> in) {
  const std::vector<float> fc_w = reference_weights(8 * 4, 2.0, 0.8);
  const std::vector<float> fc_b = reference_weights(8, 3.0, 0.2);
  std::vector<double> out;
  for (int i = 0; i < in.n; ++i) {
    const std::array<double, 4> pooled = reference_pooled(in, i);
    for (int j = 0; j < 8; ++j) {
      double v = fc_b[j];
      for (int k = 0; k < 4; ++k) v += double{fc_w[j * 4 + k]} * pooled[k];
      out.push_back(v);
    }
  }
  return out;
}

// (N, 1, size, size): Conv 3->1 1x1, Sigmoid.
std::vector<double> reference_segmenter(model::tensor_view<const float> in) {
  const std::vector<float> w = reference_weights(3, 4.0, 2.0);
  const double b = reference_weights(1, 5.0, 0.5)[0];
  std::vector<double> out;
  for (int i = 0; i < in.n; ++i)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        double logit = b;
        for (int c = 0; c < 3; ++c) logit += double{w[c]} * in(i, c, y, x);
        out.push_back(1 / (1 + std::exp(-logit)));
      }
  return out;
}

// (N, 1, size, size): upsampler.onnx, a segmentation decoder's layers: Conv 3->4 3x3 stride 2
// pad 1, BatchNormalization, Relu, ConvTranspose 4->2 2x2 stride 2, BatchNormalization, Relu,
// Conv 2->1 1x1, Sigmoid.
std::vector<double> reference_upsampler(model::tensor_view<const float> in) {
  const auto batch_norm = [](std::vector<double>& planes, int channels, int side, double offset) {
    const std::vector<float> scale = reference_weights(channels, offset, 0.5),
                             bias = reference_weights(channels, offset + 0.3, 0.2),
                             mean = reference_weights(channels, offset + 0.6, 0.1);
    for (int c = 0; c < channels; ++c) {
      const double var = float(1.0 + 0.25 * c);
      for (int p = 0; p < side * side; ++p) {
        double& v = planes[c * side * side + p];
        v = std::max(0.0, (v - mean[c]) / std::sqrt(var + double{1e-5f}) * scale[c] + bias[c]);  // and the Relu
      }
    }
  };
  const std::vector<float> down_w = reference_weights(4 * 3 * 3 * 3, 6.0, 0.5), down_b = reference_weights(4, 7.0, 0.1);
  const std::vector<float> up_w = reference_weights(4 * 2 * 2 * 2, 9.0, 0.6), up_b = reference_weights(2, 10.0, 0.1);
  const std::vector<float> head_w = reference_weights(2, 12.0, 1.5), head_b = reference_weights(1, 13.0, 0.2);
  constexpr int half = size / 2;
  std::vector<double> out;
  for (int i = 0; i < in.n; ++i) {
    std::vector<double> down(4 * half * half), up(2 * size * size);
    for (int o = 0; o < 4; ++o)
      for (int y = 0; y < half; ++y)
        for (int x = 0; x < half; ++x) {
          double v = down_b[o];
          for (int c = 0; c < 3; ++c)
            for (int ky = 0; ky < 3; ++ky)
              for (int kx = 0; kx < 3; ++kx) {
                const int sy = 2 * y + ky - 1, sx = 2 * x + kx - 1;
                if (sy >= 0 && sy < size && sx >= 0 && sx < size)
                  v += double{down_w[((o * 3 + c) * 3 + ky) * 3 + kx]} * in(i, c, sy, sx);
              }
          down[(o * half + y) * half + x] = v;
        }
    batch_norm(down, 4, half, 8.0);
    // ConvTranspose, kernel 2 = stride 2: each input pixel paints its own 2x2 block; weights (in, out, ky, kx).
    for (int o = 0; o < 2; ++o)
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          double v = up_b[o];
          for (int c = 0; c < 4; ++c)
            v += double{up_w[((c * 2 + o) * 2 + y % 2) * 2 + x % 2]} * down[(c * half + y / 2) * half + x / 2];
          up[(o * size + y) * size + x] = v;
        }
    batch_norm(up, 2, size, 11.0);
    for (int p = 0; p < size * size; ++p) {
      const double logit = head_b[0] + head_w[0] * up[p] + head_w[1] * up[size * size + p];
      out.push_back(1 / (1 + std::exp(-logit)));
    }
  }
  return out;
}

// Runs `m` on `in` into dense outputs of output_shape() per item.
std::vector<float> run(const model::opencv_dnn<tensors>& m, model::tensor_view<const float> in) {
  const model::item_shape item = m.output_shape();
  std::vector<float> out(in.n * item.elements());
  m(in, {out.data(), in.n, item.c, item.h, item.w});
  return out;
}

::testing::AssertionResult near(const std::vector<float>& ours, const std::vector<double>& reference) {
  if (ours.size() != reference.size())
    return ::testing::AssertionFailure() << ours.size() << " values, the reference has " << reference.size();
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    if (const double d = std::abs(ours[i] - reference[i]); !(d <= worst)) worst = d, at = i;
  if (worst > tolerance)
    return ::testing::AssertionFailure() << "value " << at << " is " << ours[at] << ", the reference " << reference[at]
                                         << " (difference " << worst << " > " << tolerance << ")";
  return ::testing::AssertionSuccess() << "largest difference " << worst;
}

TEST(ModelOpenCVDnn, EmbedderEqualsTheReferenceForBatchesOf1And3And8) {
  const model::opencv_dnn<tensors> embedder = load(model_file("embedder.onnx"));
  EXPECT_EQ(embedder.input_shape(), (model::item_shape{3, size, size}));
  EXPECT_EQ(embedder.output_shape(), (model::item_shape{8, 1, 1}));
  for (int n : {1, 3, 8}) {
    SCOPED_TRACE(::testing::Message() << "batch of " << n);
    const batch in(n, 10 + n);
    EXPECT_TRUE(near(run(embedder, in.view()), reference_embedder(in.view())));
  }
}

TEST(ModelOpenCVDnn, EmbedderWritesMatrixRowsWithTheirStride) {
  const model::opencv_dnn<rows> embedder = load<rows>(model_file("embedder.onnx"));
  EXPECT_EQ(embedder.output_shape(), (model::item_shape{8, 1, 1}));
  constexpr int stride = 11;  // 3 floats between rows that the adapter must leave alone
  constexpr float untouched = -7;
  for (int n : {1, 3, 8}) {
    SCOPED_TRACE(::testing::Message() << "batch of " << n);
    const batch in(n, 10 + n);
    std::vector<float> storage(n * stride, untouched);
    embedder(in.view(), {storage.data(), n, 8, stride});
    std::vector<float> embeddings;
    for (int r = 0; r < n; ++r) {
      embeddings.insert(embeddings.end(), storage.begin() + r * stride, storage.begin() + r * stride + 8);
      for (int gap = 8; gap < stride; ++gap) EXPECT_EQ(storage[r * stride + gap], untouched) << "row " << r;
    }
    EXPECT_TRUE(near(embeddings, reference_embedder(in.view())));
  }
}

TEST(ModelOpenCVDnn, SegmenterEqualsTheReferenceForBatchesOf1And3And8) {
  const model::opencv_dnn segmenter = load(model_file("segmenter.onnx"));
  EXPECT_EQ(segmenter.output_shape(), (model::item_shape{1, size, size}));
  for (int n : {1, 3, 8}) {
    SCOPED_TRACE(::testing::Message() << "batch of " << n);
    const batch in(n, 20 + n);
    EXPECT_TRUE(near(run(segmenter, in.view()), reference_segmenter(in.view())));
  }
}

// OpenCV 4.6 with layer fusion gets a batch of another size than the first wrong after a
// ConvTranspose; the adapter runs one item first (to learn the output shape), so every later
// batch of 2 or more was affected.
TEST(ModelOpenCVDnn, UpsamplerEqualsTheReferenceWhateverTheOrderOfBatchSizes) {
  const model::opencv_dnn upsampler = load(model_file("upsampler.onnx"));
  EXPECT_EQ(upsampler.output_shape(), (model::item_shape{1, size, size}));
  for (int n : {3, 1, 8, 2, 8}) {
    SCOPED_TRACE(::testing::Message() << "batch of " << n);
    const batch in(n, 30 + n);
    EXPECT_TRUE(near(run(upsampler, in.view()), reference_upsampler(in.view())));
  }
}

TEST(ModelOpenCVDnn, EmbedderUnderRunModelEqualsTheReferenceOnEachCrop) {
  const auto frames = vbatch_test::random_images<vb::u8>({3, 30, 40, 3}, 5);
  std::vector<model::crop> crops;
  for (int i = 0; i < 11; ++i) {
    const float x = float(i % 5) * 4, y = float(i % 3) * 3;
    crops.push_back({.source = i % 3, .box = {x, y, x + 12 + float(i % 4), y + 14 + float(i % 6)}});
  }
  const model::preprocess_options options{.mean = {0.5f, 0.5f, 0.5f}, .std = {0.25f, 0.25f, 0.25f}};
  std::vector<double> expected;
  for (const model::crop& c : crops) {
    std::vector<float> input(3 * size * size);
    const model::tensor_view<float> item{input.data(), 1, 3, size, size};
    model::preprocess(vb::cpu_serial{}, frames.view(), std::span(&c, 1), item, options);
    for (double v : reference_embedder(item)) expected.push_back(v);
  }
  model::opencv_dnn<rows> embedder = load<rows>(model_file("embedder.onnx"));
  vb::batch::fixed policy(4);
  std::vector<float> embeddings(crops.size() * 8);
  const vb::batch::run_summary summary = model::run_model(vb::cpu_par{2}, embedder, frames.view(), crops, policy,
                                                          rows{embeddings.data(), int(crops.size()), 8}, options);
  EXPECT_EQ(summary.batches, 3u);
  EXPECT_TRUE(near(embeddings, expected));
}

TEST(ModelOpenCVDnn, NamedOutputGivesThatLayer) {
  // OpenCV's name for the layer of the node "pooled" depends on its version ("onnx_node!pooled" in 4.6).
  const std::vector<std::string> layers = cv::dnn::readNetFromONNX(model_file("embedder.onnx").string()).getLayerNames();
  const auto layer = std::ranges::find_if(layers, [](const std::string& name) { return name.ends_with("pooled"); });
  ASSERT_NE(layer, layers.end());
  const model::opencv_dnn pooled = load(model_file("embedder.onnx"), *layer);
  EXPECT_EQ(pooled.output_shape(), (model::item_shape{4, 1, 1}));
  const batch in(3, 30);
  EXPECT_TRUE(near(run(pooled, in.view()), reference_pooled(in.view())));
}

TEST(ModelOpenCVDnn, UnknownOutputIsAnErrorListingTheLayers) {
  EXPECT_TRUE(throws_error([] { load(model_file("embedder.onnx"), "no_such_layer"); }, vb::errc::invalid_argument,
                           {"embedder.onnx", "options.output \"no_such_layer\"", "pooled"}));
}

TEST(ModelOpenCVDnn, SameItemsGiveTheSameOutputsInAnyBatch) {
  for (const char* name : {"embedder.onnx", "segmenter.onnx"}) {
    SCOPED_TRACE(name);
    const model::opencv_dnn<tensors> m = load(model_file(name));
    const batch in(8, 40);
    const std::vector<float> whole = run(m, in.view());
    const std::size_t per_item = whole.size() / 8;
    // The same network, alternating between shapes: batches of 3, 3, 2, then one item at a time.
    for (int batch_size : {3, 1}) {
      std::vector<float> pieces;
      for (int first = 0; first < 8; first += batch_size) {
        const std::vector<float> part = run(m, in.view().items(first, std::min(batch_size, 8 - first)));
        pieces.insert(pieces.end(), part.begin(), part.end());
      }
      ASSERT_EQ(pieces.size(), whole.size());
      for (std::size_t i = 0; i < whole.size(); ++i)
        ASSERT_EQ(pieces[i], whole[i]) << "item " << i / per_item << " in batches of " << batch_size;
    }
  }
}

TEST(ModelOpenCVDnn, CallsFromTwoThreadsAreSerialised) {
  const model::opencv_dnn segmenter = load(model_file("segmenter.onnx"));
  // Each thread's outcome: empty when all its batches matched the reference.
  const auto work = [&](unsigned seed, std::string& failure) {
    try {
      for (int round = 0; round < 20 && failure.empty(); ++round) {
        const batch in(1 + round % 4, seed + round);
        if (const auto result = near(run(segmenter, in.view()), reference_segmenter(in.view())); !result)
          failure = result.message();
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  };
  std::string failure_a, failure_b;
  std::thread a(work, 100u, std::ref(failure_a));
  work(200u, failure_b);
  a.join();
  EXPECT_EQ(failure_a, "");
  EXPECT_EQ(failure_b, "");
}

TEST(ModelOpenCVDnn, MissingFileIsAnIoErrorNamingTheFile) {
  const vbatch_test::temp_dir dir;
  const std::filesystem::path missing = dir / "absent.onnx";
  EXPECT_TRUE(throws_error([&] { load(missing); }, vb::errc::io, {missing.string()}));
}

TEST(ModelOpenCVDnn, CorruptFileIsCorruptDataNamingTheFile) {
  const vbatch_test::temp_dir dir;
  const std::filesystem::path garbage = dir / "garbage.onnx";
  vbatch_test::write_bytes(garbage, std::vector<unsigned char>(64, 0xAB));
  EXPECT_TRUE(throws_error([&] { load(garbage); }, vb::errc::corrupt_data, {garbage.string()}));

  const std::filesystem::path truncated = dir / "truncated.onnx";
  std::vector<unsigned char> bytes = vbatch_test::read_bytes(model_file("embedder.onnx"));
  ASSERT_GT(bytes.size(), 100u);
  bytes.resize(bytes.size() / 2);
  vbatch_test::write_bytes(truncated, bytes);
  EXPECT_TRUE(throws_error([&] { load(truncated); }, vb::errc::corrupt_data, {truncated.string()}));
}

TEST(ModelOpenCVDnn, WrongShapesAreErrorsNamingTheParameter) {
  EXPECT_TRUE(throws_error([] { model::opencv_dnn(model_file("embedder.onnx"), {}); }, vb::errc::invalid_argument,
                           {"embedder.onnx", "options.input"}));

  const model::opencv_dnn<tensors> embedder = load(model_file("embedder.onnx"));
  std::vector<float> out(3 * 8);  // room for the wrong shapes too
  const tensors good_out{out.data(), 2, 8, 1, 1};
  const batch two(2, 50);
  const model::tensor_view<const float> wrong_size{two.values.data(), 2, 3, 8, 8};
  EXPECT_TRUE(throws_error([&] { embedder(wrong_size, good_out); }, vb::errc::invalid_argument,
                           {"embedder.onnx", "input is (2,3,8,8)", "(N,3,16,16) (options.input)"}));
  const model::tensor_view<const float> wrong_channels{two.values.data(), 2, 1, size, size};
  EXPECT_TRUE(throws_error([&] { embedder(wrong_channels, good_out); }, vb::errc::invalid_argument, {"input is (2,1,16,16)"}));

  EXPECT_TRUE(throws_error(
      [&] {
        embedder(two.view(), tensors{out.data(), 3, 8, 1, 1});
      },
      vb::errc::invalid_argument, {"embedder.onnx", "output is (3,8,1,1)", "the model gives (2,8,1,1) for 2 items"}));
  EXPECT_TRUE(throws_error(
      [&] {
        embedder(two.view(), tensors{out.data(), 2, 1, 1, 8});
      },
      vb::errc::invalid_argument, {"output is (2,1,1,8)"}));
  EXPECT_TRUE(throws_error(
      [&] {
        embedder(two.view(), tensors{nullptr, 2, 8, 1, 1});
      },
      vb::errc::invalid_argument, {"output has no data"}));

  const model::opencv_dnn<rows> row_embedder = load<rows>(model_file("embedder.onnx"));
  EXPECT_TRUE(throws_error(
      [&] {
        row_embedder(two.view(), rows{out.data(), 2, 7});
      },
      vb::errc::invalid_argument, {"embedder.onnx", "output is 2x7", "2x8 for 2 items"}));
  EXPECT_TRUE(throws_error(
      [&] {
        row_embedder(two.view(), rows{out.data(), 2, 8, 4});
      },
      vb::errc::invalid_argument, {"stride 4"}));
}

TEST(ModelOpenCVDnn, EmptyBatchIsAccepted) {
  const model::opencv_dnn<tensors> embedder = load(model_file("embedder.onnx"));
  EXPECT_NO_THROW(embedder({nullptr, 0, 3, size, size}, {nullptr, 0, 8, 1, 1}));
}

#ifdef VBATCH_TEXT_MODEL
// A crop of the text panorama as the detector's input (rapidocr's: BGR, (v / 255 - 0.5) / 0.5,
// planar), `copies` times, and ONNX Runtime's probability map of it.
struct text_case {
  int w = 0, h = 0;
  std::vector<float> input, expected;

  text_case(const char* name, int copies) {
    const vb::batch_buffer<vb::u8> image = vb::io::load_image(model_file((std::string(name) + ".png").c_str()), 3);
    const auto v = image.view();
    w = v.w, h = v.h;
    input.resize(std::size_t(copies) * 3 * h * w);
    const model::tensor_view<float> t{input.data(), copies, 3, h, w};
    for (int i = 0; i < copies; ++i)
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x) t(i, c, y, x) = (float(v.pixel(0, y, x)[2 - c]) * (1.0f / 255) - 0.5f) / 0.5f;
    expected.resize(std::size_t(h) * w);
    std::ifstream f(model_file((std::string(name) + ".f32").c_str()), std::ios::binary);
    f.read(reinterpret_cast<char*>(expected.data()), std::streamsize(expected.size() * sizeof(float)));
    EXPECT_TRUE(f) << name << ".f32 holds fewer than " << expected.size() << " values";
  }
};

TEST(ModelOpenCVDnn, RealTextDetectorEqualsOnnxRuntimeAloneAndInBatches) {
  for (const char* name : {"ppocr_text", "ppocr_shapes"}) {
    const text_case one(name, 1), three(name, 3);
    const model::opencv_dnn<tensors> detector(VBATCH_TEXT_MODEL, {.input = {3, one.h, one.w}});
    ASSERT_EQ(detector.output_shape(), (model::item_shape{1, one.h, one.w}));
    // Batches of 1, 3, 1: the fusion bug of OpenCV 4.6 showed after a change of batch size.
    for (const text_case* c : {&one, &three, &one}) {
      const int n = int(c->input.size() / (3 * std::size_t(c->h) * c->w));
      std::vector<float> out(std::size_t(n) * c->h * c->w);
      detector({c->input.data(), n, 3, c->h, c->w}, {out.data(), n, 1, c->h, c->w});
      double worst = 0;
      int set = 0;
      for (int i = 0; i < n; ++i)
        for (std::size_t k = 0; k < c->expected.size(); ++k) {
          worst = std::max(worst, double(std::abs(out[i * c->expected.size() + k] - c->expected[k])));
          set += out[i * c->expected.size() + k] > 0.3f;
        }
      EXPECT_LT(worst, tolerance) << name << ", batch of " << n;
      // What the maps say: the sign's text covers a tenth of its crop; the shapes have none.
      if (std::string(name) == "ppocr_text")
        EXPECT_GT(set, n * int(c->expected.size()) / 20) << name;
      else
        EXPECT_EQ(set, 0) << name;
    }
  }
}
#endif

}  // namespace

#endif  // VBATCH_HAVE_OPENCV
