// vbatch's CUDA layer executed under the CPU emulation of the CUDA execution model: every remap
// configuration (element type × interpolation × map policy × channels, e2p and c2e) runs through
// vbatch::cuda with device maps and device buffers, with launch geometries that leave partial
// blocks and put several blocks on each image, and must equal the CPU backend byte for byte.

#include "cuda/emulation.hpp"  // first: it replaces the CUDA runtime

#include <gtest/gtest.h>

#include <vector>

#include "test_util.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/sample/cube.hpp"

namespace {

namespace vb = vbatch;

template <class T>
std::vector<T> to_host(const vb::batch_buffer<T, vb::device_memory>& d) {
  std::vector<T> h(d.shape().elements());
  vb::check_cuda(cudaMemcpy(h.data(), d.data(), d.bytes(), cudaMemcpyDeviceToHost), "to_host");
  return h;
}

template <class T>
vb::batch_buffer<T, vb::device_memory> to_device(vb::batch_view<const T> h) {
  vb::batch_buffer<T, vb::device_memory> d(h.shape());
  vb::copy(vb::cuda{}, h, d.view());
  return d;
}

// Geometries: 8×4 blocks (partial blocks in x and y on 21×13 views), 5×3 (odd), the default 32×8.
const vb::cuda geometries[] = {{nullptr, 8, 4}, {nullptr, 5, 3}, {nullptr, 32, 8}};

template <class T, class Policy, class Interp>
void expect_e2p_on_device_equals_cpu(int channels) {
  SCOPED_TRACE(testing::Message() << vb::element_name<T>() << " " << Policy::name << " " << Interp::name << " C=" << channels);
  const vb::sample::rig rig = vb::sample::ring_rig(3, 40, 21, 13, 100);  // includes views near the pole and the seam
  const auto pano = vbatch_test::random_images<T>({2, 48, 96, channels}, 11u + unsigned(channels));  // (2,48,96,C)
  const auto host_map = vb::sample::make_e2p_map<Policy>(rig, 96, 48);
  vb::batch_buffer<T> expected({6, 13, 21, channels});  // (2*3,13,21,C)
  vb::sample::e2p(vb::cpu_serial{}, pano.view(), host_map, expected.view(), Interp{});

  const auto device_map = vb::sample::make_e2p_map<Policy, vb::device_memory>(rig, 96, 48);
  const auto frames = to_device<T>(pano.view());
  for (const vb::cuda& exec : geometries) {
    vb::batch_buffer<T, vb::device_memory> views({6, 13, 21, channels});
    vb::sample::e2p(exec, frames.view(), device_map, views.view(), Interp{});
    vb::check_cuda(cudaStreamSynchronize(exec.stream), "sync");
    const std::vector<T> got = to_host(views);
    ASSERT_TRUE(std::equal(got.begin(), got.end(), expected.data())) << "block " << exec.block_x << "x" << exec.block_y;
  }
}

template <class T, class Policy>
void all_interpolations(int channels) {
  expect_e2p_on_device_equals_cpu<T, Policy, vb::sample::interp::nearest>(channels);
  expect_e2p_on_device_equals_cpu<T, Policy, vb::sample::interp::bilinear>(channels);
  expect_e2p_on_device_equals_cpu<T, Policy, vb::sample::interp::bicubic>(channels);
}

TEST(CudaEmulation, E2pOnTheDeviceEqualsTheCpuForEveryPolicyAndInterpolation) {
  for (int c : {1, 3, 4}) {
    all_interpolations<vb::u8, vb::sample::maps::on_the_fly>(c);
    all_interpolations<vb::u8, vb::sample::maps::cached_float>(c);
    all_interpolations<vb::u8, vb::sample::maps::cached_fixed>(c);
  }
  all_interpolations<float, vb::sample::maps::on_the_fly>(3);
  all_interpolations<float, vb::sample::maps::cached_float>(3);
  all_interpolations<float, vb::sample::maps::cached_fixed>(3);
}

TEST(CudaEmulation, C2eOnTheDeviceEqualsTheCpuAcrossFaceSeams) {
  const auto faces = vbatch_test::random_images<vb::u8>({6, 16, 16, 3}, 5);  // (6,16,16,3)
  const vb::sample::cube_source cube = vb::sample::cube_source::from(16);
  for (bool fixed : {false, true}) {
    vb::batch_buffer<vb::u8> expected({1, 20, 40, 3});
    vb::batch_buffer<vb::u8, vb::device_memory> got({1, 20, 40, 3});
    const auto device_faces = to_device<vb::u8>(faces.view());
    if (fixed) {
      vb::sample::c2e(vb::cpu_serial{}, faces.view(), vb::sample::c2e_map<vb::sample::maps::cached_fixed>(40, 20, cube), expected.view());
      vb::sample::c2e(vb::cuda{nullptr, 8, 4}, device_faces.view(), vb::sample::c2e_map<vb::sample::maps::cached_fixed, vb::device_memory>(40, 20, cube),
              got.view());
    } else {
      vb::sample::c2e(vb::cpu_serial{}, faces.view(), vb::sample::c2e_map<vb::sample::maps::on_the_fly>(40, 20, cube), expected.view());
      vb::sample::c2e(vb::cuda{nullptr, 8, 4}, device_faces.view(), vb::sample::c2e_map<vb::sample::maps::on_the_fly, vb::device_memory>(40, 20, cube),
              got.view());
    }
    const std::vector<vb::u8> h = to_host(got);
    EXPECT_TRUE(std::equal(h.begin(), h.end(), expected.data())) << (fixed ? "cached_fixed" : "on_the_fly");
  }
}

TEST(CudaEmulation, ForEachIndexVisitsEveryIndexOnceWithPartialBlocks) {
  const vb::extent3 e{3, 7, 11};
  vb::buffer<int, vb::device_memory> hits(3 * 7 * 11);
  vb::check_cuda(cudaMemset(hits.data(), 0, hits.bytes()), "memset");
  int* h = hits.data();
  struct count {
    int* hits;
    void operator()(int i, int y, int x) const { atomicAdd(&hits[(i * 7 + y) * 11 + x], 1); }
  };
  vb::for_each_index(vb::cuda{nullptr, 4, 3}, e, count{h});
  std::vector<int> back(hits.size());
  vb::check_cuda(cudaMemcpy(back.data(), h, hits.bytes(), cudaMemcpyDeviceToHost), "back");
  for (int v : back) EXPECT_EQ(v, 1);
}

TEST(CudaEmulation, DeviceBuffersReportOutOfMemoryLikeHostOnes) {
  // The emulated device has 16 GiB: a larger buffer fails as an allocation, not a crash.
  EXPECT_THROW((vb::batch_buffer<float, vb::device_memory>({8, 32768, 32768, 1})), std::bad_alloc);
}

}  // namespace
