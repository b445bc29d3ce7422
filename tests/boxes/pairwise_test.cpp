// Pairwise IoU/GIoU matrices: the CPU schedule (planes + SIMD rows, with and without non-temporal
// stores) must write exactly the bits of the per-element body every other executor (and the GPU)
// runs; results must not depend on the executor, thread count or batch split; strided outputs,
// one-to-many, and the checks' messages.

#include <cstring>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vb::boxes::box_xyxy;
using vbatch_test::throws_error;

// Boxes of mixed sizes, some empty or inverted, in a region where many overlap.
std::vector<box_xyxy> random_boxes(int n, unsigned seed, float extent = 300) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(0, extent), size(0, 120), unit(0, 1);
  std::vector<box_xyxy> boxes;
  for (int i = 0; i < n; ++i) {
    const float x = pos(rng), y = pos(rng);
    box_xyxy b{x, y, x + size(rng), y + size(rng)};
    if (unit(rng) < 0.03f) b.x2 = b.x1;                // zero width
    if (unit(rng) < 0.03f) std::swap(b.y1, b.y2);      // inverted
    if (unit(rng) < 0.03f && i > 0) b = boxes[i / 2];  // duplicates
    boxes.push_back(b);
  }
  return boxes;
}

// Hides pairwise_kernel::row(), so for_each_index calls the per-element body.
template <class Kernel>
struct per_element_only {
  Kernel kernel;
  void operator()(int i, int y, int x) const { kernel(i, y, x); }
};

template <class Metric>
std::vector<float> per_element(vb::boxes::box_batch_view<const box_xyxy> a, vb::boxes::box_batch_view<const box_xyxy> b) {
  std::vector<float> out(std::size_t(a.n) * a.count * b.count);
  const auto view = vb::batch_view<float>::dense(out.data(), {a.n, a.count, b.count, 1});
  const vb::boxes::pairwise_kernel<Metric> kernel{a, b, view};
  vb::for_each_index(vb::cpu_serial{}, {a.n, a.count, b.count}, per_element_only<decltype(kernel)>{kernel});
  return out;
}

std::int64_t differing(const std::vector<float>& x, const std::vector<float>& y) {
  if (x.size() != y.size()) return -1;
  std::int64_t n = 0;
  for (std::size_t k = 0; k < x.size(); ++k) n += std::memcmp(&x[k], &y[k], sizeof(float)) != 0;
  return n;
}

TEST(PairwiseIou, EqualsTheIouOfEveryPair) {
  const std::vector<box_xyxy> a = random_boxes(37, 1), b = random_boxes(53, 2);
  const std::vector<float> m = vb::boxes::pairwise_iou(a, b), g = vb::boxes::pairwise_giou(a, b);
  ASSERT_EQ(m.size(), a.size() * b.size());
  for (std::size_t r = 0; r < a.size(); ++r)
    for (std::size_t c = 0; c < b.size(); ++c) {
      ASSERT_EQ(m[r * b.size() + c], vb::boxes::iou(a[r], b[c])) << r << "," << c;
      ASSERT_EQ(g[r * b.size() + c], vb::boxes::giou(a[r], b[c])) << r << "," << c;
    }
}

TEST(PairwiseIou, CpuScheduleIsBitIdenticalToThePerElementBody) {
  // 3 lists; M = 133 leaves SIMD tails of every length class.
  const int lists = 3, n = 41, m = 133;
  const std::vector<box_xyxy> a = random_boxes(lists * n, 3), b = random_boxes(lists * m, 4);
  const auto va = vb::boxes::box_batch_view<const box_xyxy>::dense(a.data(), lists, n);
  const auto vbv = vb::boxes::box_batch_view<const box_xyxy>::dense(b.data(), lists, m);
  const std::vector<float> expected = per_element<vb::boxes::metric::iou>(va, vbv);
  int nonzero = 0;
  for (float v : expected) nonzero += v > 0;
  EXPECT_GT(nonzero, 1000);
  for (int threads : {1, 2, 3, 8}) {
    std::vector<float> out(expected.size(), -1.0f);
    vb::boxes::pairwise_iou(vb::cpu_par{threads}, va, vbv, vb::batch_view<float>::dense(out.data(), {lists, n, m, 1}));
    EXPECT_EQ(differing(out, expected), 0) << threads << " threads";
  }
  std::vector<float> serial(expected.size());
  vb::boxes::pairwise_iou(vb::cpu_serial{}, va, vbv, vb::batch_view<float>::dense(serial.data(), {lists, n, m, 1}));
  EXPECT_EQ(differing(serial, expected), 0);
  // GIoU runs the per-element body in rows.
  std::vector<float> giou(expected.size());
  vb::boxes::pairwise_giou(vb::cpu_par{2}, va, vbv, vb::batch_view<float>::dense(giou.data(), {lists, n, m, 1}));
  EXPECT_EQ(differing(giou, per_element<vb::boxes::metric::giou>(va, vbv)), 0);
}

TEST(PairwiseIou, EverySimdVariantMatchesThePerElementBody) {
  const int m = 203;
  const std::vector<box_xyxy> a = random_boxes(64, 5), b = random_boxes(m, 6);
  std::vector<float> planes(5 * m);
  for (int j = 0; j < m; ++j) {
    planes[j] = b[j].x1, planes[m + j] = b[j].y1, planes[2 * m + j] = b[j].x2, planes[3 * m + j] = b[j].y2;
    planes[4 * m + j] = vb::boxes::area(b[j]);
  }
  const vb::boxes::cpu::box_planes p{planes.data(), planes.data() + m, planes.data() + 2 * m, planes.data() + 3 * m,
                              planes.data() + 4 * m};
  std::vector<float> out(m + 16);
  const auto check_rows = [&](const char* name, auto row) {
    for (const box_xyxy& q : a)
      for (int offset : {0, 1, 3}) {  // unaligned starts: the streaming variants do a scalar head
        std::fill(out.begin(), out.end(), -1.0f);
        row(q, out.data() + offset);
        for (int j = 0; j < m; ++j) {
          const float want = vb::boxes::iou(q, b[j]);
          ASSERT_EQ(std::memcmp(&out[offset + j], &want, sizeof want), 0) << name << " j=" << j << " offset " << offset;
        }
        ASSERT_EQ(out[offset + m], -1.0f) << name << " wrote past the row";
      }
  };
  check_rows("scalar", [&](const box_xyxy& q, float* o) { vb::boxes::cpu::iou_row_scalar(q, p, 0, m, o); });
#if VBATCH_BOXES_X86_SIMD
  if (__builtin_cpu_supports("avx2")) {
    check_rows("avx2", [&](const box_xyxy& q, float* o) { vb::boxes::cpu::iou_row_avx2<false>(q, p, m, o); });
    check_rows("avx2 streaming", [&](const box_xyxy& q, float* o) { vb::boxes::cpu::iou_row_avx2<true>(q, p, m, o); });
  }
  if (__builtin_cpu_supports("avx512f")) {
    check_rows("avx512", [&](const box_xyxy& q, float* o) { vb::boxes::cpu::iou_row_avx512<false>(q, p, m, o); });
    check_rows("avx512 streaming", [&](const box_xyxy& q, float* o) { vb::boxes::cpu::iou_row_avx512<true>(q, p, m, o); });
  }
#endif
}

TEST(PairwiseIou, ALargeOutputTakesTheStreamingPathAndStaysExact) {
  // 2100 x 2100 floats = 17.6 MB > stream_threshold_bytes.
  const int n = 2100;
  ASSERT_GT(std::int64_t{n} * n * 4, vb::boxes::stream_threshold_bytes);
  const std::vector<box_xyxy> a = random_boxes(n, 7, 2000), b = random_boxes(n, 8, 2000);
  const auto va = vb::boxes::box_batch_view<const box_xyxy>::of(a), vbv = vb::boxes::box_batch_view<const box_xyxy>::of(b);
  std::vector<float> out(std::size_t(n) * n);
  vb::boxes::pairwise_iou(vb::cpu_par{2}, va, vbv, vb::batch_view<float>::dense(out.data(), {1, n, n, 1}));
  EXPECT_EQ(differing(out, per_element<vb::boxes::metric::iou>(va, vbv)), 0);
}

TEST(PairwiseIou, BatchSplitsGiveTheSameMatrices) {
  const int lists = 5, n = 20, m = 30;
  const std::vector<box_xyxy> a = random_boxes(lists * n, 9), b = random_boxes(lists * m, 10);
  const auto va = vb::boxes::box_batch_view<const box_xyxy>::dense(a.data(), lists, n);
  const auto vbv = vb::boxes::box_batch_view<const box_xyxy>::dense(b.data(), lists, m);
  std::vector<float> whole(std::size_t(lists) * n * m), parts(whole.size());
  vb::boxes::pairwise_iou(vb::cpu_par{2}, va, vbv, vb::batch_view<float>::dense(whole.data(), {lists, n, m, 1}));
  const auto out = vb::batch_view<float>::dense(parts.data(), {lists, n, m, 1});
  vb::boxes::pairwise_iou(vb::cpu_serial{}, va.lists(0, 2), vbv.lists(0, 2), out.images(0, 2));
  vb::boxes::pairwise_iou(vb::cpu_par{3}, va.lists(2, 3), vbv.lists(2, 3), out.images(2, 3));
  EXPECT_EQ(differing(whole, parts), 0);
  // List i of the batch is the single-list result for list i.
  for (int i = 0; i < lists; ++i) {
    const std::vector<float> single = vb::boxes::pairwise_iou(std::span(a).subspan(i * n, n), std::span(b).subspan(i * m, m));
    EXPECT_EQ(differing(single, std::vector<float>(whole.begin() + i * n * m, whole.begin() + (i + 1) * n * m)), 0) << i;
  }
}

TEST(PairwiseIou, WritesIntoAStridedOutput) {
  const std::vector<box_xyxy> a = random_boxes(7, 11), b = random_boxes(9, 12);
  // A 7 x 9 matrix inside a 7 x 12 x 2 buffer (pixel stride 2, row stride 24).
  std::vector<float> storage(7 * 12 * 2, -5.0f);
  vb::batch_view<float> out = vb::batch_view<float>::dense(storage.data(), {1, 7, 12, 2}).crop(0, 1, 7, 9);
  out.c = 1;
  vb::boxes::pairwise_iou(vb::cpu_par{2}, vb::boxes::box_batch_view<const box_xyxy>::of(a), vb::boxes::box_batch_view<const box_xyxy>::of(b), out);
  int untouched = 0;
  for (int r = 0; r < 7; ++r)
    for (int c = 0; c < 12; ++c)
      for (int ch = 0; ch < 2; ++ch) {
        const float v = storage[(r * 12 + c) * 2 + ch];
        if (ch == 0 && c >= 1 && c < 10)
          EXPECT_EQ(v, vb::boxes::iou(a[r], b[c - 1]));
        else
          untouched += v == -5.0f;
      }
  EXPECT_EQ(untouched, 7 * 12 * 2 - 7 * 9);
}

TEST(PairwiseIou, OneToMany) {
  const std::vector<box_xyxy> b = random_boxes(25, 13);
  const box_xyxy a{50, 50, 150, 120};
  const std::vector<float> v = vb::boxes::iou_one_to_many(a, b);
  for (std::size_t j = 0; j < b.size(); ++j) EXPECT_EQ(v[j], vb::boxes::iou(a, b[j]));
  std::vector<float> wrong(3);
  EXPECT_TRUE(throws_error([&] { vb::boxes::iou_one_to_many(a, b, wrong); }, vb::errc::invalid_argument, {"3 values for 25 boxes"}));
}

TEST(PairwiseIou, EmptyListsWriteNothing) {
  const std::vector<box_xyxy> a = random_boxes(4, 14), none;
  EXPECT_TRUE(vb::boxes::pairwise_iou(a, none).empty());
  EXPECT_TRUE(vb::boxes::pairwise_iou(none, a).empty());
}

TEST(PairwiseIou, ChecksNameTheMismatch) {
  const std::vector<box_xyxy> a = random_boxes(6, 15), b = random_boxes(8, 16);
  std::vector<float> out(6 * 8);
  const auto va = vb::boxes::box_batch_view<const box_xyxy>::dense(a.data(), 2, 3);
  const auto vbv = vb::boxes::box_batch_view<const box_xyxy>::dense(b.data(), 2, 4);
  EXPECT_TRUE(throws_error(
      [&] {
        vb::boxes::pairwise_iou(vb::cpu_serial{}, va, vbv, vb::batch_view<float>::dense(out.data(), {2, 4, 3, 1}));
      },
      vb::errc::invalid_argument, {"pairwise_iou", "2x4x3x1", "2x3x4x1"}));
  EXPECT_TRUE(throws_error(
      [&] {
        vb::boxes::pairwise_iou(vb::cpu_serial{}, va, vbv.lists(0, 1), vb::batch_view<float>::dense(out.data(), {2, 3, 4, 1}));
      },
      vb::errc::invalid_argument, {"a has 2 lists but b has 1"}));
  EXPECT_TRUE(throws_error(
      [&] {
        vb::boxes::pairwise_giou(vb::cpu_serial{}, vb::boxes::box_batch_view<const box_xyxy>{nullptr, 1, 3, 3}, vbv.lists(0, 1),
                          vb::batch_view<float>::dense(out.data(), {1, 3, 4, 1}));
      },
      vb::errc::invalid_argument, {"pairwise a", "null data"}));
  EXPECT_TRUE(vb::boxes::can_pairwise(va, vbv, vb::batch_view<float>::dense(out.data(), {2, 3, 4, 1})));
}

}  // namespace
