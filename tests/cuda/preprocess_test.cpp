// Model preprocessing executed under the CPU emulation of CUDA: sources and output in device
// memory, launch geometries with partial blocks, and every crop kind (boxes past the image edge,
// letterboxes, aligned faces) must equal the CPU backend byte for byte, in f32 and in f16.

#include "cuda/emulation.hpp"  // first: it replaces the CUDA runtime

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test_util.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/model/preprocess.hpp"

namespace {

namespace vb = vbatch;
namespace model = vbatch::model;

const vb::cuda geometries[] = {{nullptr, 8, 4}, {nullptr, 5, 3}, {nullptr, 32, 8}};

model::landmarks5 face(float cx, float cy, float size, float tilt) {
  model::landmarks5 points = model::arcface_template;
  for (model::point2& p : points) {
    const float u = (p.x - 56) / 112 * size, v = (p.y - 56) / 112 * size;
    p = {cx + u - tilt * v, cy + tilt * u + v};
  }
  return points;
}

TEST(CudaEmulation, PreprocessOnTheDeviceEqualsTheCpuForEveryCropKind) {
  const auto frames = vbatch_test::random_images<vb::u8>({2, 30, 41, 3}, 9);  // (2,30,41,3)
  const std::vector<model::crop> crops = {{.source = 0},
                                          {.source = 1, .box = {2.5f, 3, 30, 17.75f}},
                                          {.source = 0, .box = {-5, 20, 12, 40}},
                                          {.source = 1, .landmarks = face(20, 15, 20, 0.3f)},
                                          {.source = 0, .landmarks = face(38, 4, 25, -0.2f)}};
  vb::batch_buffer<vb::u8, vb::device_memory> device_frames(frames.shape());
  vb::copy(vb::cuda{}, vb::batch_view<const vb::u8>(frames.view()), device_frames.view());
  const int n = int(crops.size()), h = 19, w = 23;
  for (const model::preprocess_options& o :
       {model::preprocess_options{.mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}},
        model::preprocess_options{
            .resize = model::resize_mode::letterbox, .pad_value = 114, .order = model::channel_order::bgr}}) {
    std::vector<float> expected(std::size_t(n) * 3 * h * w);
    model::preprocess(vb::cpu_serial{}, frames.view(), crops, model::tensor_view<float>{expected.data(), n, 3, h, w}, o);
    for (const vb::cuda& exec : geometries) {
      vb::buffer<float, vb::device_memory> out(expected.size());
      model::preprocess(exec, vb::batch_view<const vb::u8>(device_frames.view()), crops,
                        model::tensor_view<float>{out.data(), n, 3, h, w}, o);
      std::vector<float> got(expected.size());
      vb::check_cuda(cudaMemcpy(got.data(), out.data(), out.bytes(), cudaMemcpyDeviceToHost), "download");
      EXPECT_EQ(std::memcmp(got.data(), expected.data(), out.bytes()), 0) << "block " << exec.block_x << "x" << exec.block_y;
    }
  }
}

// Boxes only (the CPU's row schedule) from 1, 3 and 4 channels: the device's per-pixel body equals
// the CPU's row schedule (SIMD where the CPU has it) and its per-pixel body, byte for byte.
TEST(CudaEmulation, PreprocessOfBoxesEqualsTheCpuRowScheduleAndPerPixelBody) {
  const std::vector<model::crop> crops = {{.source = 1},
                                          {.source = 0, .box = {2.5f, 3, 60, 17.75f}},
                                          {.source = 1, .box = {-9.25f, -3, 20, 44}},
                                          {.source = 0, .box = {55, 30, 80, 41}},
                                          {.source = 1, .box = {7, 8, 9, 10}}};
  const int n = int(crops.size()), h = 27, w = 45;
  for (int channels : {1, 3, 4}) {
    const auto frames = vbatch_test::random_images<vb::u8>({2, 36, 61, channels}, 11);  // (2,36,61,C)
    vb::batch_buffer<vb::u8, vb::device_memory> device_frames(frames.shape());
    vb::copy(vb::cuda{}, vb::batch_view<const vb::u8>(frames.view()), device_frames.view());
    const int out_channels = channels == 1 ? 1 : 3;
    for (model::resize_mode resize : {model::resize_mode::stretch, model::resize_mode::letterbox}) {
      const model::preprocess_options o{.resize = resize,
                                        .pad_value = 3.5f,
                                        .source_order = model::channel_order::bgr,
                                        .mean = {0.4f, 0.5f, 0.6f},
                                        .std = {0.2f, 0.3f, 0.7f}};
      const std::size_t size = std::size_t(n) * out_channels * h * w;
      std::vector<float> rows(size), per_pixel(size), got(size);
      model::preprocess(vb::cpu_par{2}, frames.view(), crops, model::tensor_view<float>{rows.data(), n, out_channels, h, w}, o);
      model::detail::preprocess_with(vb::cpu_serial{}, frames.view(), crops,
                                     model::tensor_view<float>{per_pixel.data(), n, out_channels, h, w}, o,
                                     model::detail::cpu_path::per_pixel);
      ASSERT_EQ(std::memcmp(rows.data(), per_pixel.data(), size * sizeof(float)), 0) << channels << " channels";
      vb::buffer<float, vb::device_memory> out(size);
      model::preprocess(vb::cuda{nullptr, 16, 4}, vb::batch_view<const vb::u8>(device_frames.view()), crops,
                        model::tensor_view<float>{out.data(), n, out_channels, h, w}, o);
      vb::check_cuda(cudaMemcpy(got.data(), out.data(), out.bytes(), cudaMemcpyDeviceToHost), "download");
      EXPECT_EQ(std::memcmp(got.data(), rows.data(), out.bytes()), 0) << channels << " channels, resize " << int(resize);
    }
  }
}

// f16 outputs on the device: the CPU's f16 bytes (the f32 values rounded to nearest even).
TEST(CudaEmulation, HalfPreprocessOnTheDeviceEqualsTheCpu) {
  const auto frames = vbatch_test::random_images<vb::u8>({2, 30, 41, 3}, 12);
  const std::vector<model::crop> crops = {{.source = 1, .box = {2.5f, 3, 30, 17.75f}},
                                          {.source = 0, .landmarks = face(20, 15, 20, 0.3f)}};
  vb::batch_buffer<vb::u8, vb::device_memory> device_frames(frames.shape());
  vb::copy(vb::cuda{}, vb::batch_view<const vb::u8>(frames.view()), device_frames.view());
  const int n = int(crops.size()), h = 17, w = 21;
  const model::preprocess_options o{.mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
  std::vector<vb::f16> expected(std::size_t(n) * 3 * h * w), got(expected.size());
  model::preprocess(vb::cpu_serial{}, frames.view(), crops, model::tensor_view<vb::f16>{expected.data(), n, 3, h, w}, o);
  for (const vb::cuda& exec : geometries) {
    vb::buffer<vb::f16, vb::device_memory> out(expected.size());
    model::preprocess(exec, vb::batch_view<const vb::u8>(device_frames.view()), crops,
                      model::tensor_view<vb::f16>{out.data(), n, 3, h, w}, o);
    vb::check_cuda(cudaMemcpy(got.data(), out.data(), out.bytes(), cudaMemcpyDeviceToHost), "download");
    EXPECT_EQ(got, expected) << "block " << exec.block_x << "x" << exec.block_y;
  }
}

}  // namespace
