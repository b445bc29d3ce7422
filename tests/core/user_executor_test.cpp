// An executor written outside vbatch, as a user would: its own executor_traits specialisation and
// its own for_each_index (found by argument-dependent lookup), visiting indices in reverse order
// on the calling thread and counting its calls. Sample's remap (e2p, map building included),
// morph's dilate (the host schedules and the per-pixel kernels) and boxes' NMS (both schedules)
// and pairwise IoU must run through it, that is call it, and give cpu_serial's results.
//
// Not through the executor, by design: nms() for one image (it runs cpu_serial on the calling
// thread), the ranking (sort by score) of nms_batched's bitmask schedule and its host-side
// gathering. Both schedules' per-image work and kernels are.

#include <memory>
#include <random>
#include <span>
#include <vector>

#include "test_util.hpp"

namespace user_exec {

// Visits rows last to first and columns right to left: a result that depended on the order of
// the visit (or on cpu_serial's row_kernel hook being called) would differ.
struct reverse_rows {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
};

template <class F>
void for_each_index(const reverse_rows& exec, vbatch::extent3 e, F&& f) {
  ++*exec.calls;
  for (int i = e.n - 1; i >= 0; --i)
    for (int y = e.h - 1; y >= 0; --y)
      for (int x = e.w - 1; x >= 0; --x) f(i, y, x);
}

}  // namespace user_exec

template <>
struct vbatch::executor_traits<user_exec::reverse_rows> {
  using memory = vbatch::host_memory;
  static constexpr bool host = true;
  static int concurrency(const user_exec::reverse_rows&) { return 1; }
  static void synchronize(const user_exec::reverse_rows&) {}
};

namespace {

namespace vb = vbatch;
using user_exec::reverse_rows;

static_assert(vb::executor<reverse_rows> && vb::host_executor<const reverse_rows&>);

TEST(UserExecutor, RunsE2pMapBuildingAndRemap) {
  const vb::batch_buffer<vb::u8> pano = vb::sample::render_equirect(96, 48, 3, vb::sample::demo_scene, vb::cpu_serial{});
  const vb::sample::rig rig = vb::sample::ring_rig(3, 20, 24, 16, 90);
  const vb::batch_view<const vb::u8> frames = pano.view();

  const reverse_rows user;
  const auto user_map = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(rig, 96, 48, user);
  EXPECT_GT(*user.calls, 0) << "the map was not computed through the user's executor";
  const auto map = vb::sample::make_e2p_map<vb::sample::maps::cached_float>(rig, 96, 48, vb::cpu_serial{});

  vb::batch_buffer<vb::u8> expected({3, 16, 24, 3}), got({3, 16, 24, 3});
  vb::sample::e2p(vb::cpu_serial{}, frames, map, expected.view());
  *user.calls = 0;
  vb::sample::e2p(user, frames, user_map, got.view());
  EXPECT_EQ(*user.calls, 1);
  EXPECT_TRUE(vbatch_test::same_bytes(got.view(), expected.view()));

  // The allocating form (rays on the fly) on a user's host executor.
  *user.calls = 0;
  const vb::batch_buffer<vb::u8> on_the_fly = vb::sample::e2p(user, frames, rig);
  EXPECT_GT(*user.calls, 0);
  EXPECT_TRUE(vbatch_test::same_bytes(on_the_fly.view(), vb::sample::e2p(vb::cpu_serial{}, frames, rig).view()));
}

TEST(UserExecutor, RunsDilateOnEveryAlgorithm) {
  const vb::batch_buffer<vb::u8> masks = vbatch_test::random_images<vb::u8>({2, 37, 41, 1}, 7);
  const vb::batch_buffer<float> gray = vbatch_test::random_images<float>({2, 23, 29, 3}, 8);
  const vb::morph::structuring_element elements[] = {vb::morph::square(5), vb::morph::disk(3), vb::morph::cross(3, 5)};
  using vb::morph::algorithm;
  for (const auto& e : elements)
    for (const algorithm a : {algorithm::automatic, algorithm::direct, algorithm::segments, algorithm::packed}) {
      SCOPED_TRACE(testing::Message() << vb::morph::describe(e) << ", " << vb::morph::to_string(a));
      const vb::morph::options o{.iterations = 2, .algorithm = a};
      const reverse_rows user;
      const auto got = vb::morph::dilate(user, masks.view(), e, o);
      EXPECT_GT(*user.calls, 0);
      EXPECT_TRUE(vbatch_test::same_bytes(got.view(), vb::morph::dilate(vb::cpu_serial{}, masks.view(), e, o).view()));
      if (a == algorithm::packed) continue;  // u8 masks only
      *user.calls = 0;
      vb::batch_buffer<float> out(gray.shape());
      vb::morph::dilate(user, gray.view(), out.view(), e, o);
      EXPECT_GT(*user.calls, 0);
      EXPECT_TRUE(vbatch_test::same_bytes(out.view(), vb::morph::dilate(vb::cpu_serial{}, gray.view(), e, o).view()));
    }
}

struct detections {
  std::vector<vb::boxes::box_xyxy> boxes;
  std::vector<float> scores;
  std::vector<int> classes, offsets;
};

// Clustered boxes, so that many overlap: images of 0, 1 and up to 150 boxes.
detections random_detections(unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(0, 200), size(5, 40), jitter(-6, 6), score(0, 1);
  detections d;
  d.offsets.push_back(0);
  for (const int count : {150, 0, 1, 97}) {
    for (int j = 0; j < count; ++j) {
      const float x = j % 3 == 0 ? pos(rng) : 100 + jitter(rng), y = j % 3 == 0 ? pos(rng) : 80 + jitter(rng);
      const float w = size(rng), h = size(rng);
      d.boxes.push_back({x, y, x + w, y + h});
      d.scores.push_back(j % 11 == 0 ? 0.5f : score(rng));  // ties, broken by index
      d.classes.push_back(j % 2);
    }
    d.offsets.push_back(static_cast<int>(d.boxes.size()));
  }
  return d;
}

TEST(UserExecutor, RunsNmsBothSchedulesAndPairwise) {
  const detections d = random_detections(3);
  const vb::boxes::nms_options o{.iou_threshold = 0.4f, .max_detections = 60};
  for (const bool class_aware : {false, true}) {
    SCOPED_TRACE(class_aware ? "class-aware" : "class-agnostic");
    const std::span<const int> classes = class_aware ? std::span<const int>(d.classes) : std::span<const int>();
    const auto expected = vb::boxes::nms_batched(vb::cpu_serial{}, d.boxes, d.scores, classes, d.offsets, o);
    ASSERT_LT(expected.indices.size(), d.boxes.size()) << "nothing suppressed: the scene is too sparse to test NMS";

    const reverse_rows user;
    const auto sweep = vb::boxes::nms_batched(user, d.boxes, d.scores, classes, d.offsets, o);
    EXPECT_GT(*user.calls, 0);
    EXPECT_EQ(sweep.indices, expected.indices);
    EXPECT_EQ(sweep.offsets, expected.offsets);

    *user.calls = 0;
    const auto bitmask =
        vb::boxes::nms_batched(user, d.boxes, d.scores, classes, d.offsets, o, vb::boxes::nms_schedule::bitmask{});
    EXPECT_EQ(*user.calls, 2) << "the mask kernel and the per-image scans";
    EXPECT_EQ(bitmask.indices, expected.indices);
    EXPECT_EQ(bitmask.offsets, expected.offsets);
  }

  // Pairwise IoU of the first image against itself.
  const auto a = vb::boxes::box_batch_view<const vb::boxes::box_xyxy>::dense(d.boxes.data(), 1, d.offsets[1]);
  std::vector<float> got(std::size_t(d.offsets[1]) * d.offsets[1]);
  const reverse_rows user;
  vb::boxes::pairwise_iou(user, a, a, vb::batch_view<float>::dense(got.data(), {1, d.offsets[1], d.offsets[1], 1}));
  EXPECT_EQ(*user.calls, 1);
  const std::span<const vb::boxes::box_xyxy> first(d.boxes.data(), std::size_t(d.offsets[1]));
  EXPECT_EQ(got, vb::boxes::pairwise_iou(first, first));
}

}  // namespace
