// Morphology's GPU path executed under the tests' CPU emulation of the CUDA execution model
// (tests/cuda/): every operation through vbatch::cuda with device buffers, device run
// tables and device temporaries, at launch geometries that leave partial blocks, must equal the
// CPU schedules byte for byte. The emulation replaces the CUDA runtime for this file only (only
// the CUDA layer's headers depend on it).

#include "cuda/emulation.hpp"  // first: it replaces the CUDA runtime

// The emulation's blockIdx/threadIdx macros would break OpenCV's headers; this file compares with
// the CPU, not OpenCV.
#undef VBATCH_HAVE_OPENCV

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "morph/morph_test_util.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/morph/cuda/morphology.hpp"

namespace {

using namespace morph_test;

template <class T>
vb::batch_buffer<T> to_host(const vb::batch_buffer<T, vb::device_memory>& d) {
  vb::batch_buffer<T> h(d.shape());
  vb::check_cuda(cudaMemcpy(h.data(), d.data(), d.bytes(), cudaMemcpyDeviceToHost), "to_host");
  return h;
}

template <class T>
vb::batch_buffer<T, vb::device_memory> to_device(const vb::batch_buffer<T>& h) {
  vb::batch_buffer<T, vb::device_memory> d(h.shape());
  vb::copy(vb::cuda{}, vb::batch_view<const T>(h.view()), d.view());
  return d;
}

// 8x4 and 5x3 blocks: partial blocks in x and y on 21x13 images, several blocks per image.
const vb::cuda geometries[] = {{nullptr, 8, 4}, {nullptr, 5, 3}};

template <class T>
void expect_device_equals_cpu(const vb::batch_buffer<T>& src, const morph::structuring_element& e, morph::operation op,
                              morph::options o, int geometry_count = 1) {
  vb::batch_buffer<T> want(src.shape());
  morph::morphology(vb::cpu_serial{}, op, src.view(), want.view(), e, {o.iterations});
  for (int g = 0; g < geometry_count; ++g) {
    const vb::cuda& exec = geometries[g];
    auto d_src = to_device(src);
    vb::batch_buffer<T, vb::device_memory> d_out(src.shape());
    morph::morphology(exec, op, d_src.view(), d_out.view(), e, o);
    EXPECT_TRUE(same_images(to_host(d_out), want))
        << morph::to_string(op) << " " << describe(e) << " " << morph::to_string(o.algorithm) << " " << o.iterations
        << " iterations, " << exec.block_x << "x" << exec.block_y << " blocks";
  }
}

TEST(MorphCudaEmulation, EveryOperationOnTheDeviceEqualsTheCpu) {
  std::mt19937 rng(3);
  const auto mask = random_mask({2, 13, 21, 1}, 1);
  const auto gray = random_gray<u8>({1, 13, 21, 3}, 2);
  const auto gray_f = random_gray<float>({1, 13, 21, 2}, 3);
  const morph::structuring_element shapes[] = {morph::square(5), morph::rect(4, 3, {0, 2}), morph::disk(3), morph::cross(5, 3),
                                               random_element(rng, 6)};
  for (const auto& e : shapes)
    for (auto op : all_operations)
      for (auto a : {morph::algorithm::automatic, morph::algorithm::direct, morph::algorithm::separable}) {
        if (a == morph::algorithm::separable && !e.is_rect()) continue;
        const morph::options o{op == morph::operation::dilate ? 2 : 1, a};
        expect_device_equals_cpu(mask, e, op, o, op == morph::operation::dilate ? 2 : 1);
        if (a != morph::algorithm::automatic && (op == morph::operation::erode || op == morph::operation::gradient)) {
          expect_device_equals_cpu(gray, e, op, o);
          expect_device_equals_cpu(gray_f, e, op, o);
        }
      }
}

// segment_levels (and automatic, which picks it for most non-rectangles) on the device against the
// CPU's own schedules: disks of radius 0 to 20 (up to 41x41, larger than the 19x27 images, so runs
// leave the image on both sides), ellipses, crosses and random custom elements with random anchors
// (anchor cell set or not), u8 masks, u8 and f32 images with 1 and 3 channels, batches of 2 and 3,
// every operation, 1 or 2 iterations, in 8x4 and 5x3 blocks.
TEST(MorphCudaEmulation, SegmentLevelsOnTheDeviceEqualTheCpuOnRandomCases) {
  std::mt19937 rng(11);
  std::vector<morph::structuring_element> shapes;
  for (int r = 0; r <= 20; ++r) shapes.push_back(morph::disk(r));
  shapes.insert(shapes.end(), {morph::ellipse(9, 5), morph::ellipse(4, 7), morph::ellipse(17, 17, {3, 12}), morph::cross(5, 3),
                               morph::cross(9, 9, {1, 7}), morph::cross(1, 6)});
  for (int k = 0; k < 12; ++k) shapes.push_back(random_element(rng, 2 + k * 3, k % 2 == 0));
  const auto mask = random_mask({3, 19, 27, 1}, 21);
  const auto gray = random_gray<u8>({2, 19, 27, 3}, 22);
  auto gray_f = random_gray<float>({2, 19, 27, 1}, 23);
  // Infinities: where a run leaves the image next to them, the border value (+-FLT_MAX) shows.
  for (std::int64_t k = 0; k < gray_f.shape().elements(); k += 7) gray_f.data()[k] = k % 2 ? INFINITY : -INFINITY;
  const auto gray_f3 = random_gray<float>({2, 11, 13, 3}, 24);  // finite: every operation
  int case_index = 0;
  for (const auto& e : shapes) {
    const morph::operation op = all_operations[case_index % std::size(all_operations)];
    const morph::operation basic = case_index % 2 ? morph::operation::dilate : morph::operation::erode;
    const morph::options levels{1 + case_index % 2, morph::algorithm::segment_levels};
    const int geometry_count = 1 + case_index % 2;
    expect_device_equals_cpu(mask, e, op, levels, geometry_count);
    expect_device_equals_cpu(mask, e, basic, {1, morph::algorithm::automatic});
    expect_device_equals_cpu(gray, e, basic, levels, geometry_count);
    const bool subtracts = op == morph::operation::gradient || op == morph::operation::tophat || op == morph::operation::blackhat;
    expect_device_equals_cpu(gray_f, e, subtracts ? basic : op, levels);  // inf - inf would be NaN
    expect_device_equals_cpu(gray_f3, e, op, {1, morph::algorithm::segment_levels});
    ++case_index;
  }
}

TEST(MorphCudaEmulation, InPlaceAndMaskHelpersOnTheDevice) {
  const auto mask = random_mask({2, 13, 21, 1}, 4);
  auto d = to_device(mask);
  morph::dilate(vb::cuda{nullptr, 8, 4}, d.view(), d.view(), morph::disk(2));
  EXPECT_TRUE(same_images(to_host(d), reference<u8>(morph::operation::dilate, mask.view(), grid::of(morph::disk(2)))));

  const auto instances = random_mask({4, 13, 21, 1}, 5, 255, 3);
  const auto d_instances = to_device(instances);
  vb::batch_buffer<u8, vb::device_memory> d_union({2, 13, 21, 1}), d_inverted({2, 13, 21, 1});
  morph::mask_union(vb::cuda{nullptr, 8, 4}, d_instances.view(), d_union.view());
  morph::invert_mask(vb::cuda{nullptr, 8, 4}, d_union.view(), d_inverted.view());
  vb::batch_buffer<u8> want_union({2, 13, 21, 1});
  morph::mask_union(vb::cpu_serial{}, instances.view(), want_union.view());
  EXPECT_TRUE(same_images(to_host(d_union), want_union));
  const auto inverted = to_host(d_inverted);
  for (std::int64_t k = 0; k < want_union.shape().elements(); ++k) ASSERT_EQ(inverted.data()[k], 255 - want_union.data()[k]);

  const auto scores = random_gray<float>({1, 13, 21, 1}, 6);
  vb::batch_buffer<u8, vb::device_memory> d_mask({1, 13, 21, 1});
  morph::threshold(vb::cuda{nullptr, 5, 3}, to_device(scores).view(), d_mask.view(), 100.0f);
  const auto m = to_host(d_mask);
  for (std::int64_t k = 0; k < m.shape().elements(); ++k) ASSERT_EQ(m.data()[k], scores.data()[k] > 100.0f ? 255 : 0);
}

TEST(MorphCudaEmulation, CpuOnlyAlgorithmsAreRefusedOnTheDevice) {
  auto d = to_device(random_mask({1, 8, 8, 1}, 7));
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] {
        morph::dilate(vb::cuda{}, d.view(), d.view(), morph::square(3), {1, morph::algorithm::packed});
      },
      vbatch::errc::unsupported, {"packed", "CPU executors only", "segment_levels"}));
}

}  // namespace
