// The boxes kernels through vbatch's CUDA layer, executed by the tests' CPU emulation of the CUDA
// execution model (tests/cuda/emulation.hpp): pairwise IoU/GIoU on device views,
// and NMS with its suppression-bitmask kernel and its scan on the device (boxes/cuda/nms.hpp:
// upload, mask, scan, download of the kept ranks) from a workspace reused between calls, with launch geometries that leave
// partial blocks. Results must equal the CPU's bit for bit (IoU) and index for index (NMS). This runs the device path's launch
// geometry, bounds checks and transfers; it says nothing about a real GPU's arithmetic or speed.

#include "cuda/emulation.hpp"  // first: it replaces the CUDA runtime

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "test_util.hpp"
#include "vbatch/boxes/cuda/nms.hpp"
#include "vbatch/core/cuda/memory.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;

// Geometries: 8×4 blocks (partial blocks on most extents), 5×3 (odd), the default 32×8.
const vb::cuda geometries[] = {{nullptr, 8, 4}, {nullptr, 5, 3}, {nullptr, 32, 8}};

std::vector<box_xyxy> random_boxes(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pos(0, 200), size(0, 70);
  std::vector<box_xyxy> boxes;
  for (int i = 0; i < n; ++i) {
    const float x = float(pos(rng)), y = float(pos(rng));
    boxes.push_back({x, y, x + float(size(rng)), y + float(size(rng))});
  }
  return boxes;
}

template <class Metric>
void expect_pairwise_on_device_equals_cpu() {
  const int lists = 3, n = 19, m = 37;
  const std::vector<box_xyxy> a = random_boxes(lists * n, 1), b = random_boxes(lists * m, 2);
  std::vector<float> expected(std::size_t(lists) * n * m);
  vb::boxes::pairwise<Metric>(vb::cpu_serial{}, vb::boxes::box_batch_view<const box_xyxy>::dense(a.data(), lists, n),
                              vb::boxes::box_batch_view<const box_xyxy>::dense(b.data(), lists, m),
                              vb::batch_view<float>::dense(expected.data(), {lists, n, m, 1}));
  const auto da = vb::buffer<box_xyxy, vb::device_memory>::from_host(a);
  const auto db = vb::buffer<box_xyxy, vb::device_memory>::from_host(b);
  for (const vb::cuda& exec : geometries) {
    vb::batch_buffer<float, vb::device_memory> out({lists, n, m, 1});  // (B,N,M,1)
    vb::boxes::pairwise<Metric>(exec, vb::boxes::box_batch_view<const box_xyxy>::dense(da.data(), lists, n),
                                vb::boxes::box_batch_view<const box_xyxy>::dense(db.data(), lists, m), out.view());
    vb::check_cuda(cudaStreamSynchronize(exec.stream), "sync");
    std::vector<float> got(expected.size());
    vb::check_cuda(cudaMemcpy(got.data(), out.data(), out.bytes(), cudaMemcpyDeviceToHost), "download");
    EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)), 0)
        << Metric::name << ", block " << exec.block_x << "x" << exec.block_y;
  }
}

TEST(BoxesCudaEmulation, PairwiseIouAndGiouOnTheDeviceEqualTheCpu) {
  expect_pairwise_on_device_equals_cpu<vb::boxes::metric::iou>();
  expect_pairwise_on_device_equals_cpu<vb::boxes::metric::giou>();
}

TEST(BoxesCudaEmulation, NmsWithTheDeviceMaskEqualsTheCpuSchedules) {
  // Five images of 0 to 150 boxes (more than two 64-rank words), tied scores, 3 classes.
  std::vector<box_xyxy> boxes;
  std::vector<float> scores;
  std::vector<int> classes, offsets{0};
  std::mt19937 rng(9);
  for (int i = 0; i < 5; ++i) {
    const int count = i == 2 ? 0 : 30 * (i + 1);
    const std::vector<box_xyxy> b = random_boxes(count, 20 + i);
    boxes.insert(boxes.end(), b.begin(), b.end());
    for (int k = 0; k < count; ++k) scores.push_back(0.25f * float(1 + rng() % 4)), classes.push_back(int(rng() % 3));
    offsets.push_back(static_cast<int>(boxes.size()));
  }
  for (const bool use_classes : {false, true}) {
    const std::span<const int> c = use_classes ? std::span<const int>(classes) : std::span<const int>();
    for (const vb::boxes::nms_options o :
         {vb::boxes::nms_options{.iou_threshold = 0.3f}, vb::boxes::nms_options{.iou_threshold = 0.5f, .max_detections = 12}}) {
      const vb::boxes::nms_batch_result cpu = vb::boxes::nms_batched(vb::cpu_serial{}, boxes, scores, c, offsets, o);
      ASSERT_GT(cpu.indices.size(), 20u);
      for (const vb::cuda& exec : geometries) {
        const vb::boxes::nms_batch_result device = vb::boxes::nms_batched(exec, boxes, scores, c, offsets, o);
        EXPECT_EQ(device.indices, cpu.indices) << "classes " << use_classes << ", block " << exec.block_x << "x" << exec.block_y;
        EXPECT_EQ(device.offsets, cpu.offsets);
      }
    }
  }
  // Nothing to suppress: no device work, an empty result per image.
  const std::vector<int> empty_offsets{0, 0, 0};
  EXPECT_EQ(vb::boxes::nms_batched(vb::cuda{}, std::vector<box_xyxy>{}, std::vector<float>{}, {}, empty_offsets).offsets,
            (std::vector<int>{0, 0, 0}));
}

// A batch of `images` images of random boxes with random scores and classes.
struct nms_input {
  std::vector<box_xyxy> boxes;
  std::vector<float> scores;
  std::vector<int> classes, offsets{0};
  nms_input(const std::vector<int>& counts, unsigned seed, int field = 200) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> pos(0, field), size(1, 70);
    for (int count : counts) {
      for (int k = 0; k < count; ++k) {
        const float x = float(pos(rng)), y = float(pos(rng));
        boxes.push_back({x, y, x + float(size(rng)), y + float(size(rng))});
        scores.push_back(float(rng() % 1000) / 1000.0f);
        classes.push_back(int(rng() % 3));
      }
      offsets.push_back(static_cast<int>(boxes.size()));
    }
  }
};

TEST(BoxesCudaEmulation, NmsReusesItsWorkspaceAndAllocatesNothingOnceItHasGrown) {
  const nms_input big({150, 90, 0, 40}, 31), small({60, 7}, 32);
  vb::boxes::nms_workspace ws;
  const auto run = [&](const nms_input& in, const vb::boxes::nms_options& o) {
    const vb::boxes::nms_batch_result cpu =
        vb::boxes::nms_batched(vb::cpu_serial{}, in.boxes, in.scores, in.classes, in.offsets, o);
    const vb::boxes::nms_batch_result device =
        vb::boxes::nms_batched(vb::cuda{nullptr, 8, 4}, ws, in.boxes, in.scores, in.classes, in.offsets, o);
    EXPECT_EQ(device.indices, cpu.indices);
    EXPECT_EQ(device.offsets, cpu.offsets);
  };
  run(big, {.iou_threshold = 0.4f});
  const std::size_t held = ws.bytes();
  const std::size_t allocations = vbatch_emulation::global().allocations;
  for (int repeat = 0; repeat < 3; ++repeat) {
    run(big, {.iou_threshold = 0.5f, .max_detections = 5});
    run(small, {.iou_threshold = 0.3f});
  }
  EXPECT_EQ(vbatch_emulation::global().allocations, allocations) << "calls within the workspace's size must not allocate";
  EXPECT_EQ(ws.bytes(), held);
  // The overload without a workspace keeps one per thread: its second call allocates nothing either.
  (void)vb::boxes::nms_batched(vb::cuda{nullptr, 8, 4}, big.boxes, big.scores, big.classes, big.offsets);
  const std::size_t after_first = vbatch_emulation::global().allocations;
  (void)vb::boxes::nms_batched(vb::cuda{nullptr, 8, 4}, small.boxes, small.scores, small.classes, small.offsets);
  EXPECT_EQ(vbatch_emulation::global().allocations, after_first);
  vb::boxes::release_nms_workspace();
  ws.release();
  EXPECT_EQ(ws.bytes(), 0u);
}

TEST(BoxesCudaEmulation, NmsScanOnTheDeviceCoversMaskRowsWiderThanItsBlock) {
  // 700 boxes in one image: 11 mask words per row, more than the scan block's 4 threads (block_x).
  const nms_input in({700, 300}, 33, 1000);
  for (const vb::boxes::nms_options o :
       {vb::boxes::nms_options{.iou_threshold = 0.2f}, vb::boxes::nms_options{.iou_threshold = 0.5f, .max_detections = 700}}) {
    const vb::boxes::nms_batch_result cpu = vb::boxes::nms_batched(vb::cpu_serial{}, in.boxes, in.scores, {}, in.offsets, o);
    const vb::boxes::nms_batch_result device =
        vb::boxes::nms_batched(vb::cuda{nullptr, 4, 8}, in.boxes, in.scores, {}, in.offsets, o);
    EXPECT_EQ(device.indices, cpu.indices);
    EXPECT_EQ(device.offsets, cpu.offsets);
    EXPECT_GT(cpu.offsets[1], 100);
  }
}

}  // namespace
