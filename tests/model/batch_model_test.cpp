// run_model: a small model built here (mean pool per channel, then a fixed linear layer) over 37
// crops with fixed batches of 1, 4 and 16 and with a back-off policy under a tracked memory limit
// that makes large batches run out of memory: the same outputs every time, each equal to the model
// run on its crop alone, no item lost or run twice. A half-precision model (input_element = f16)
// gets the f32 preprocessing rounded to half.

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test_util.hpp"
#include "vbatch/core/memory.hpp"
#include "vbatch/model/batch_model.hpp"

namespace {

namespace vb = vbatch;
namespace batch = vbatch::batch;
namespace model = vbatch::model;

struct activations {};
using device_like_memory = vb::tracked_memory<vb::host_memory, activations>;

constexpr int embedding_size = 8;

// Mean pool of each channel, then embedding[d] = Σ_c weight[d][c] · pool[c] + d. Its activations
// (one float per input value) live in the tracked memory, which refuses them above its limit.
// Not copyable: run_model must use the one loaded model.
struct pool_linear {
  using output_view = model::matrix_view<float>;
  std::vector<std::size_t> batch_sizes = {};

  pool_linear() = default;
  pool_linear(const pool_linear&) = delete;

  model::item_shape input_shape() const { return {3, 16, 12}; }
  model::item_shape output_shape() const { return {embedding_size, 1, 1}; }

  static float weight(int d, int c) { return 0.25f * float((d + 1) * (c + 2) % 7) - 0.5f; }

  void operator()(model::tensor_view<const float> in, output_view out) {
    batch_sizes.push_back(std::size_t(in.n));
    vb::buffer<float, device_like_memory> workspace(std::size_t(in.elements()));  // may throw std::bad_alloc
    std::memcpy(workspace.data(), in.data, workspace.bytes());
    for (int i = 0; i < in.n; ++i) {
      float pool[3];
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (int j = 0; j < in.h * in.w; ++j) sum += workspace.data()[(i * 3 + c) * in.h * in.w + j];
        pool[c] = float(sum / (in.h * in.w));
      }
      for (int d = 0; d < embedding_size; ++d)
        out(i, d) = weight(d, 0) * pool[0] + weight(d, 1) * pool[1] + weight(d, 2) * pool[2] + d;
    }
  }
};
static_assert(model::batch_model<pool_linear>);

std::vector<model::crop> crops_37() {
  std::vector<model::crop> crops;
  for (int i = 0; i < 37; ++i) {
    const float x = float(i % 7) * 5, y = float(i % 5) * 4;
    if (i % 6 == 5) {
      model::landmarks5 face = model::arcface_template;
      for (model::point2& p : face) p = {p.x * 0.3f + x, p.y * 0.3f + y};
      crops.push_back({.source = i % 4, .landmarks = face});
    } else {
      crops.push_back({.source = i % 4, .box = {x, y, x + 8 + float(i % 9), y + 10 + float(i % 4)}});
    }
  }
  return crops;
}

template <class Policy>
std::vector<float> run(pool_linear& net, Policy& policy, const vb::batch_buffer<vb::u8>& frames,
                       const std::vector<model::crop>& crops, const model::preprocess_options& options) {
  std::vector<float> embeddings(crops.size() * embedding_size, -1.0f);
  model::run_model(vb::cpu_par{2}, net, frames.view(), crops, policy, {embeddings.data(), int(crops.size()), embedding_size},
                   options);
  return embeddings;
}

const model::preprocess_options options{
    .resize = model::resize_mode::letterbox, .pad_value = 114, .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};

TEST(RunModel, OutputsAreTheSameForEveryBatchSizeAndEqualEachItemAlone) {
  const auto frames = vbatch_test::random_images<vb::u8>({4, 40, 56, 3}, 3);
  const std::vector<model::crop> crops = crops_37();
  pool_linear net;
  std::vector<float> alone(crops.size() * embedding_size);  // each crop run on its own
  for (std::size_t i = 0; i < crops.size(); ++i) {
    std::vector<float> input(3 * 16 * 12);
    model::preprocess(vb::cpu_serial{}, frames.view(), std::span(&crops[i], 1), {input.data(), 1, 3, 16, 12}, options);
    net({input.data(), 1, 3, 16, 12}, {alone.data() + i * embedding_size, 1, embedding_size});
  }
  for (std::size_t size : {1u, 4u, 16u}) {
    batch::fixed policy(size);
    net.batch_sizes.clear();
    EXPECT_EQ(run(net, policy, frames, crops, options), alone) << "batches of " << size;
    EXPECT_EQ(net.batch_sizes.size(), (37 + size - 1) / size);
  }
}

// The same model on f16 inputs: it records what it was given, as floats.
struct half_pool_linear {
  using input_element = vb::f16;
  using output_view = model::matrix_view<float>;
  std::vector<float> seen;

  model::item_shape input_shape() const { return {3, 16, 12}; }
  model::item_shape output_shape() const { return {embedding_size, 1, 1}; }
  void operator()(model::tensor_view<const vb::f16> in, output_view out) {
    for (std::int64_t k = 0; k < in.elements(); ++k) seen.push_back(vb::to_float(in.data[k]));
    for (int i = 0; i < in.n; ++i)
      for (int d = 0; d < embedding_size; ++d) out(i, d) = vb::to_float(in(i, d % 3, d, d));
  }
};
static_assert(model::batch_model<half_pool_linear>);

TEST(RunModel, HalfPrecisionModelGetsTheFloatInputsRoundedToHalf) {
  const auto frames = vbatch_test::random_images<vb::u8>({4, 40, 56, 3}, 5);
  const std::vector<model::crop> crops = crops_37();
  std::vector<float> f32(crops.size() * 3 * 16 * 12);
  model::preprocess(vb::cpu_serial{}, frames.view(), crops, {f32.data(), int(crops.size()), 3, 16, 12}, options);
  half_pool_linear net;
  batch::fixed policy(8);
  std::vector<float> out(crops.size() * embedding_size);
  model::run_model(vb::cpu_par{2}, net, frames.view(), crops, policy, {out.data(), int(crops.size()), embedding_size}, options);
  ASSERT_EQ(net.seen.size(), f32.size());
  for (std::size_t k = 0; k < f32.size(); ++k) ASSERT_EQ(net.seen[k], vb::to_float(vb::to_f16(f32[k]))) << k;
}

TEST(RunModel, BacksOffUnderAMemoryLimitWithNoItemLost) {
  const auto frames = vbatch_test::random_images<vb::u8>({4, 40, 56, 3}, 3);
  const std::vector<model::crop> crops = crops_37();
  pool_linear net;
  batch::fixed unlimited_policy(37);
  const std::vector<float> expected = run(net, unlimited_policy, frames, crops, options);

  const std::int64_t per_item = 3 * 16 * 12 * sizeof(float);
  device_like_memory::set_limit(5 * per_item);  // batches of 16 and 8 run out, 4 fit
  const auto refusals = device_like_memory::stats().refusals;
  batch::backoff<batch::fixed> policy(batch::fixed(16), 3);
  net.batch_sizes.clear();
  const std::vector<float> got = run(net, policy, frames, crops, options);
  device_like_memory::set_limit(device_like_memory::unlimited);

  EXPECT_EQ(got, expected);
  EXPECT_GE(policy.backoffs(), 2u);
  EXPECT_GT(device_like_memory::stats().refusals, refusals);
  std::size_t completed = 0;
  for (std::size_t size : net.batch_sizes) completed += size <= 5 ? size : 0;
  EXPECT_EQ(completed, crops.size()) << "every item in exactly one completed batch";

  batch::fixed no_backoff(16);
  device_like_memory::set_limit(5 * per_item);
  EXPECT_TRUE(vbatch_test::throws_error([&] { run(net, no_backoff, frames, crops, options); }, vb::errc::out_of_memory,
                                        {"batch of 16", "items 0 to 36"}));
  device_like_memory::set_limit(device_like_memory::unlimited);
}

TEST(RunModel, RejectsOutputsOfTheWrongShape) {
  const auto frames = vbatch_test::random_images<vb::u8>({1, 8, 8, 3}, 1);
  const std::vector<model::crop> crops(3);
  pool_linear net;
  batch::fixed policy(2);
  std::vector<float> out(3 * 7);
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] {
        model::run_model(vb::cpu_serial{}, net, frames.view(), crops, policy, {out.data(), 3, 7});
      },
      vb::errc::invalid_argument, {"3x7", "3x8"}));
}

}  // namespace
