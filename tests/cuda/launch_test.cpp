// Launches of any size through vbatch::cuda's for_each_index, under the tests' CPU emulation of
// CUDA, which refuses grids beyond a device's limits (x <= 2^31 - 1, y and z <= 65,535 blocks) as a
// device does. Each case is the smallest that crosses a limit: before rows were sliced, a launch
// taller than 65,535 blocks (pairwise IoU of more than 524,280 boxes in one list) failed with
// "invalid configuration".

#include "cuda/emulation.hpp"  // first: it replaces the CUDA runtime

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <random>
#include <vector>

#include "test_util.hpp"
#include "vbatch/boxes/pairwise.hpp"
#include "vbatch/core/cuda/memory.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;

// Counts visits of every (i, y, x) in device memory.
struct visit_counter {
  vb::extent3 e;
  vb::buffer<int, vb::device_memory> hits;

  explicit visit_counter(vb::extent3 extent) : e(extent), hits(std::size_t(extent.n) * extent.h * extent.w) {
    vb::check_cuda(cudaMemset(hits.data(), 0, hits.bytes()), "memset");
  }
  struct kernel {
    int* hits;
    vb::extent3 e;
    void operator()(int i, int y, int x) const { atomicAdd(&hits[(std::size_t(i) * e.h + y) * e.w + x], 1); }
  };
  kernel functor() { return {hits.data(), e}; }
  // How many indices were not visited exactly once.
  std::size_t wrong() const {
    std::vector<int> back(hits.size());
    vb::check_cuda(cudaMemcpy(back.data(), hits.data(), hits.bytes(), cudaMemcpyDeviceToHost), "download");
    return std::size_t(std::count_if(back.begin(), back.end(), [](int v) { return v != 1; }));
  }
};

TEST(CudaLaunch, TheEmulationRefusesGridsBeyondTheDeviceLimits) {
  for (const dim3 grid : {dim3(1, 65536, 1), dim3(1, 1, 65536), dim3(2147483648u, 1, 1)})
    EXPECT_TRUE(vbatch_test::throws_error(
        [&] {
          vb::detail::launch(
              +[] {}, grid, dim3(1), 0, nullptr);
        },
        vb::errc::cuda, {"invalid configuration"}))
        << grid.x << "x" << grid.y << "x" << grid.z;
}

TEST(CudaLaunch, RowsTallerThanGridYAreSlicedAndVisitedOnce) {
  // 1x1 blocks: 65,537 rows need 65,537 blocks in y, two more than one launch may have.
  for (const vb::extent3 e : {vb::extent3{1, 65537, 2}, vb::extent3{2, 65535 + 3, 1}}) {
    visit_counter c(e);
    vb::for_each_index(vb::cuda{nullptr, 1, 1}, e, c.functor());
    vb::check_cuda(cudaDeviceSynchronize(), "sync");
    EXPECT_EQ(c.wrong(), 0u) << e.n << "x" << e.h << "x" << e.w;
  }
  // 3x5 blocks: slices of 65,535 x 5 rows, the last one partial (and a partial last block).
  const vb::extent3 tall{1, 65535 * 5 + 7, 4};
  visit_counter c(tall);
  vb::for_each_index(vb::cuda{nullptr, 3, 5}, tall, c.functor());
  EXPECT_EQ(c.wrong(), 0u);
}

TEST(CudaLaunch, ImagesBeyondGridZAreSlicedToo) {
  const vb::extent3 e{65537, 2, 1};
  visit_counter c(e);
  vb::for_each_index(vb::cuda{nullptr, 1, 1}, e, c.functor());
  EXPECT_EQ(c.wrong(), 0u);
}

TEST(CudaLaunch, TheLastBlockOfTheWidestRowStopsAtTheRowsEnd) {
  // A row of INT_MAX pixels in blocks of 5: the last block reaches x = 2^31 + 1, past INT_MAX.
  // Computed in int, those x wrap to negative values that pass `x < w`. The launch itself (429
  // million blocks) is too long to emulate, so this runs the kernel's last block by hand.
  const vb::extent3 e{1, 1, INT_MAX};
  std::vector<long long> seen;
  struct record {
    std::vector<long long>* seen;
    void operator()(int, int, int x) const { seen->push_back(x); }
  };
  const unsigned blocks = unsigned((static_cast<long long>(INT_MAX) + 4) / 5);
  vbatch_emulation::block_dim = dim3(5, 1, 1);
  vbatch_emulation::grid_dim = dim3(blocks, 1, 1);
  vbatch_emulation::block_index = {blocks - 1, 0, 0};
  for (unsigned t = 0; t < 5; ++t) {
    vbatch_emulation::thread_index = {t, 0, 0};
    vb::detail::for_each_index_kernel<record>(e, 0, 0, record{&seen});
  }
  EXPECT_EQ(seen, (std::vector<long long>{INT_MAX - 2, INT_MAX - 1}));
}

TEST(CudaLaunch, BlocksOfMoreThan1024ThreadsAreRefusedByName) {
  visit_counter c({1, 2, 2});
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] {
        vb::for_each_index(vb::cuda{nullptr, 64, 32}, c.e, c.functor());
      },
      vb::errc::invalid_argument, {"64x32", "block_x"}));
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] {
        vb::for_each_index(vb::cuda{nullptr, 0, 8}, c.e, c.functor());
      },
      vb::errc::invalid_argument, {"0x8"}));
}

TEST(CudaLaunch, PairwiseIouOfMoreThan524280BoxesInOneListEqualsTheCpu) {
  // 524,281 x 1 IoU with 32x8 blocks: 65,536 blocks down grid y, one more than a launch takes.
  const int n = 65535 * 8 + 1, m = 2;
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> pos(0, 500), size(1, 60);
  std::vector<box_xyxy> a(n), b(m);
  for (auto* list : {&a, &b})
    for (box_xyxy& box : *list) {
      const float x = pos(rng), y = pos(rng);
      box = {x, y, x + size(rng), y + size(rng)};
    }
  std::vector<float> want(std::size_t(n) * m);
  vb::boxes::pairwise<vb::boxes::metric::iou>(vb::cpu_serial{}, vb::boxes::box_batch_view<const box_xyxy>::dense(a.data(), 1, n),
                                              vb::boxes::box_batch_view<const box_xyxy>::dense(b.data(), 1, m),
                                              vb::batch_view<float>::dense(want.data(), {1, n, m, 1}));
  const auto da = vb::buffer<box_xyxy, vb::device_memory>::from_host(a);
  const auto db = vb::buffer<box_xyxy, vb::device_memory>::from_host(b);
  vb::batch_buffer<float, vb::device_memory> out({1, n, m, 1});  // (B,N,M,1)
  const vb::cuda exec{nullptr, 32, 8};
  vb::boxes::pairwise<vb::boxes::metric::iou>(exec, vb::boxes::box_batch_view<const box_xyxy>::dense(da.data(), 1, n),
                                              vb::boxes::box_batch_view<const box_xyxy>::dense(db.data(), 1, m), out.view());
  vb::executor_traits<vb::cuda>::synchronize(exec);
  std::vector<float> got(want.size());
  vb::check_cuda(cudaMemcpy(got.data(), out.data(), out.bytes(), cudaMemcpyDeviceToHost), "download");
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
  EXPECT_GT(std::count_if(want.begin(), want.end(), [](float v) { return v > 0; }), 100);
}

}  // namespace
