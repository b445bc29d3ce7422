// The staged GPU pipeline (vbatch/pipeline/cuda/staging.hpp) run under the CPU emulation of CUDA:
// batches of frames go through pinned staging slots, device copies and an e2p kernel launch on
// three streams, and every view must equal the CPU backend's, every batch must arrive exactly
// once and in order, and the ring must bound the slots in use and give all of them back, on
// success and after a failure. The emulation executes streams at once, so this checks the ring,
// the copies and the hand-over between stages, not their overlap in time.

#include "cuda/emulation.hpp"  // first: it replaces the CUDA runtime

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "test_util.hpp"
#include "vbatch/pipeline/cuda/staging.hpp"
#include "vbatch/sample/e2p.hpp"

namespace {

namespace vb = vbatch;
namespace pl = vbatch::pipeline;

constexpr int frames_per_slot = 2, views_per_frame = 3;
const vb::batch_shape frame_slot{frames_per_slot, 24, 48, 3};                   // (2,24,48,3)
const vb::batch_shape view_slot{frames_per_slot * views_per_frame, 11, 13, 3};  // (6,11,13,3): partial blocks

// Frame f of the input: random pixels seeded by f, so every frame differs.
vb::batch_buffer<vb::u8> frame(int f) { return vbatch_test::random_images<vb::u8>({1, 24, 48, 3}, 100u + unsigned(f)); }

// The CPU backend's views of frame f.
vb::batch_buffer<vb::u8> expected_views(int f, const vb::sample::rig& rig) {
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_fixed>(rig, 48, 24);
  vb::batch_buffer<vb::u8> views({views_per_frame, 11, 13, 3});
  vb::sample::e2p(vb::cpu_serial{}, frame(f).view(), map, views.view(), vb::sample::interp::bilinear{});
  return views;
}

// Batches of up to 2 frames out of `frames` frames; batch b holds frames 2b and 2b+1.
int frames_in_batch(std::size_t b, int frames) { return std::min(frames_per_slot, frames - int(b) * frames_per_slot); }

struct staged_run {
  const vb::sample::rig rig = vb::sample::ring_rig(views_per_frame, 30, 13, 11, 100);
  const vb::sample::e2p_map<vb::sample::maps::cached_fixed, vb::device_memory> map =
      vb::sample::make_e2p_map<vb::sample::maps::cached_fixed, vb::device_memory>(rig, 48, 24);
  std::vector<std::size_t> consumed;  // batch indices, in the order consume() saw them
  std::vector<std::vector<vb::u8>> outputs;
  std::atomic<int> most_slots_in_use{0};

  pl::report run(int frames, int slots, int fail_at = -1) {
    const std::size_t batches = std::size_t((frames + frames_per_slot - 1) / frames_per_slot);
    std::atomic<int> in_use{0};
    const vb::cuda exec_geometry{nullptr, 8, 4};
    return pl::run_staged<vb::u8, vb::u8>(
        pl::iota(batches), frame_slot, view_slot,
        [&](std::size_t b, vb::batch_view<vb::u8> pinned) {  // fill: decode into the slot
          most_slots_in_use = std::max(most_slots_in_use.load(), ++in_use);
          const int count = frames_in_batch(b, frames);
          for (int i = 0; i < count; ++i) {
            const auto f = frame(int(b) * frames_per_slot + i);
            std::memcpy(pinned.pixel(i, 0, 0), f.data(), f.shape().elements());
          }
          return count;
        },
        [&](const vb::cuda& exec, vb::batch_view<const vb::u8> device_in, vb::batch_view<vb::u8> device_out, std::size_t b) {
          if (int(b) == fail_at) vb::raise(vb::errc::invalid_argument, "compute refuses batch {}", b);
          EXPECT_EQ(device_out.n, device_in.n * views_per_frame);
          vb::sample::e2p(vb::cuda{exec.stream, exec_geometry.block_x, exec_geometry.block_y}, device_in, map, device_out,
                  vb::sample::interp::bilinear{});
        },
        [&](std::size_t b, vb::batch_view<const vb::u8> pinned_out) {  // consume: hand the views on
          --in_use;
          consumed.push_back(b);
          outputs.emplace_back(pinned_out.data, pinned_out.data + pinned_out.shape().elements());
        },
        {.slots = slots});
  }
};

TEST(StagedPipeline, EveryBatchArrivesOnceInOrderAndEqualsTheCpuBackend) {
  for (int slots : {1, 2, 3, 4}) {
    SCOPED_TRACE(testing::Message() << slots << " slots");
    staged_run s;
    const int frames = 7;  // 4 batches, the last one short: the slot's partial use is exercised
    const pl::report r = s.run(frames, slots);
    ASSERT_TRUE(r.ok()) << r.summary();
    EXPECT_EQ(r.done, 4u);
    EXPECT_EQ(s.consumed, (std::vector<std::size_t>{0, 1, 2, 3}));
    EXPECT_LE(s.most_slots_in_use.load(), slots);
    for (std::size_t b = 0; b < s.outputs.size(); ++b) {
      const int count = frames_in_batch(b, frames);
      ASSERT_EQ(s.outputs[b].size(), std::size_t(count * views_per_frame * 11 * 13 * 3));
      for (int i = 0; i < count; ++i) {
        const auto want = expected_views(int(b) * frames_per_slot + i, s.rig);
        const std::size_t per_frame = want.shape().elements();
        EXPECT_TRUE(std::equal(want.data(), want.data() + per_frame, s.outputs[b].data() + i * per_frame))
            << "batch " << b << " frame " << i;
      }
    }
  }
}

TEST(StagedPipeline, AFailureReportsItsBatchAndFreesEverySlot) {
  staged_run s;
  std::size_t free_before = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
  const pl::report r = s.run(8, 3, /*fail_at=*/2);
  EXPECT_EQ(r.failed, 1u);
  ASSERT_NE(r.first_failure(), nullptr);
  EXPECT_EQ(r.first_failure()->item, 2u);
  EXPECT_EQ(r.first_failure()->stage, "compute");
  EXPECT_NE(r.first_failure()->message.find("compute refuses batch 2"), std::string::npos);
  EXPECT_EQ(r.done, 2u);  // batches before the failure complete (on_error::finish_earlier)
  EXPECT_EQ(r.done + r.failed + r.cancelled + r.not_started, r.items);
  EXPECT_EQ(s.consumed, (std::vector<std::size_t>{0, 1}));
  // Device memory: every slot's buffers were freed when the ring went away.
  std::size_t free_after = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
  EXPECT_EQ(free_after, free_before);
}

TEST(StagedPipeline, AFillThatOverflowsItsSlotIsAnError) {
  const pl::report r = pl::run_staged<vb::u8, vb::u8>(
      pl::iota(1), frame_slot, view_slot, [](std::size_t, vb::batch_view<vb::u8>) { return frames_per_slot + 1; },
      [](const vb::cuda&, vb::batch_view<const vb::u8>, vb::batch_view<vb::u8>, std::size_t) {},
      [](std::size_t, vb::batch_view<const vb::u8>) {});
  ASSERT_EQ(r.failed, 1u);
  EXPECT_EQ(r.first_failure()->stage, "upload");
  EXPECT_NE(r.first_failure()->message.find("fill wrote 3 images into a slot of 2"), std::string::npos);
}

TEST(StagedPipeline, BadShapesAreRefusedBeforeAnyWork) {
  bool filled = false;
  const auto fill = [&](std::size_t, vb::batch_view<vb::u8>) { filled = true; };
  const auto compute = [](const vb::cuda&, vb::batch_view<const vb::u8>, vb::batch_view<vb::u8>, std::size_t) {};
  const auto consume = [](std::size_t, vb::batch_view<const vb::u8>) {};
  const auto run = [&](vb::batch_shape out, int slots) {
    return pl::run_staged<vb::u8, vb::u8>(pl::iota(1), frame_slot, out, fill, compute, consume, {.slots = slots});
  };
  EXPECT_THROW(run({3, 11, 13, 3}, 3), vb::error);  // 2 frames in, 3 views out: not K per frame
  EXPECT_THROW(run(view_slot, 0), vb::error);
  EXPECT_FALSE(filled);
}

}  // namespace
