// Score maps to masks (against OpenCV's resize + threshold where installed, and a hand-computed
// case), connected components (against cv::connectedComponentsWithStats), mask boxes, COCO RLE
// (hand-derived counts and strings, round trips) and the COCO JSON writer.

#include "vbatch/model/masks.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/model/coco.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace {

namespace vb = vbatch;
namespace model = vbatch::model;
namespace boxes = vbatch::boxes;
using vbatch_test::throws_error;

// (N,h,w) scores in [0, 1) as a (N,1,h,w) tensor's storage.
std::vector<float> random_scores(int n, int h, int w, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> s(static_cast<std::size_t>(n) * h * w);
  for (float& v : s) v = unit(rng);
  return s;
}

// A 0/255 mask with foreground density `density`.
vb::batch_buffer<vb::u8> random_mask(vb::batch_shape shape, double density, unsigned seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution on(density);
  vb::batch_buffer<vb::u8> m(shape);
  for (int i = 0; i < shape.n; ++i)
    for (int y = 0; y < shape.h; ++y)
      for (int x = 0; x < shape.w; ++x) m.view()(i, y, x, 0) = on(rng) ? 255 : 0;
  return m;
}

vb::batch_buffer<vb::u8> mask_from_rows(const std::vector<std::string>& rows) {
  vb::batch_buffer<vb::u8> m({1, static_cast<int>(rows.size()), static_cast<int>(rows[0].size()), 1});
  for (int y = 0; y < m.shape().h; ++y)
    for (int x = 0; x < m.shape().w; ++x) m.view()(0, y, x, 0) = rows[y][x] == '#' ? 255 : 0;
  return m;
}

::testing::AssertionResult same_masks(const vb::batch_buffer<vb::u8>& a, const vb::batch_buffer<vb::u8>& b) {
  if (a.shape() != b.shape()) return ::testing::AssertionFailure() << "shapes differ";
  const auto va = a.view(), vb_ = b.view();
  for (int i = 0; i < a.shape().n; ++i)
    for (int y = 0; y < a.shape().h; ++y)
      for (int x = 0; x < a.shape().w; ++x)
        if (va(i, y, x, 0) != vb_(i, y, x, 0))
          return ::testing::AssertionFailure() << "differ at image " << i << " (" << x << ", " << y << ")";
  return ::testing::AssertionSuccess();
}

// ---- score map -> mask ----------------------------------------------------------------------

TEST(ModelMasks, UpsamplingBeforeThresholdByHand) {
  // A 1x2 map {0, 1} to 1x4: half-pixel centres put the mask pixels at source x = -0.25 (clamped
  // to 0), 0.25, 0.75 and 1.25 (clamped to 1): scores 0, 0.25, 0.75, 1.
  const float scores[] = {0.0f, 1.0f};
  vb::batch_buffer<vb::u8> mask({1, 1, 4, 1});
  model::score_map_to_mask(vb::cpu_serial{}, model::tensor_view<const float>{scores, 1, 1, 1, 2}, mask.view());
  EXPECT_TRUE(same_masks(mask, mask_from_rows({"..##"})));
  model::score_map_to_mask(vb::cpu_serial{}, model::tensor_view<const float>{scores, 1, 1, 1, 2}, mask.view(),
                           {.threshold = 0.2f});
  EXPECT_TRUE(same_masks(mask, mask_from_rows({".###"})));
  model::score_map_to_mask(vb::cpu_serial{}, model::tensor_view<const float>{scores, 1, 1, 1, 2}, mask.view(),
                           {.threshold = 0.75f});
  EXPECT_TRUE(same_masks(mask, mask_from_rows({"...#"}))) << "0.75 is not above 0.75";
}

TEST(ModelMasks, TensorAndStridedViewInputsAgree) {
  const int n = 2, h = 11, w = 9;
  const std::vector<float> scores = random_scores(n, h, w, 3);
  // The same scores inside a wider (N,h,w+4,1) buffer, read through a crop.
  vb::batch_buffer<float> wide({n, h, w + 4, 1});
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) wide.view()(i, y, x + 2, 0) = scores[(static_cast<std::size_t>(i) * h + y) * w + x];
  vb::batch_buffer<vb::u8> from_tensor({n, 37, 29, 1}), from_view({n, 37, 29, 1});
  model::score_map_to_mask(vb::cpu_serial{}, model::tensor_view<const float>{scores.data(), n, 1, h, w}, from_tensor.view());
  model::score_map_to_mask(vb::cpu_serial{}, vb::batch_view<const float>(wide.view().crop(0, 2, h, w)), from_view.view());
  EXPECT_TRUE(same_masks(from_tensor, from_view));
}

TEST(ModelMasks, SerialAndParallelAgree) {
  const int n = 3, h = 40, w = 30;
  const std::vector<float> scores = random_scores(n, h, w, 5);
  const model::tensor_view<const float> t{scores.data(), n, 1, h, w};
  vb::batch_buffer<vb::u8> serial({n, 157, 211, 1}), parallel({n, 157, 211, 1});
  model::score_map_to_mask(vb::cpu_serial{}, t, serial.view(), {.threshold = 0.4f, .on_value = 1});
  model::score_map_to_mask(vb::cpu_par{2}, t, parallel.view(), {.threshold = 0.4f, .on_value = 1});
  EXPECT_TRUE(same_masks(serial, parallel));
}

TEST(ModelMasks, ScoreMapBadInputsNameTheParameter) {
  const std::vector<float> scores = random_scores(2, 4, 4, 1);
  vb::batch_buffer<vb::u8> mask({2, 8, 8, 1}), two_channels({2, 8, 8, 2}), one({1, 8, 8, 1});
  const auto to_mask = [](model::tensor_view<const float> t, vb::batch_view<vb::u8> m, model::mask_options o = {}) {
    return [=] { model::score_map_to_mask(vb::cpu_serial{}, t, m, o); };
  };
  const model::tensor_view<const float> t{scores.data(), 2, 1, 4, 4};
  EXPECT_TRUE(
      throws_error(to_mask({scores.data(), 1, 2, 4, 4}, mask.view()), vb::errc::invalid_argument, {"scores", "C must be 1"}));
  EXPECT_TRUE(throws_error(to_mask(t, two_channels.view()), vb::errc::invalid_argument, {"mask", "channels"}));
  EXPECT_TRUE(throws_error(to_mask(t, one.view()), vb::errc::invalid_argument, {"2 score maps for 1 masks"}));
  EXPECT_TRUE(throws_error(to_mask(t, mask.view(), {.threshold = 1.5f}), vb::errc::invalid_argument, {"threshold", "[0, 1]"}));
  EXPECT_TRUE(throws_error(to_mask(t, mask.view(), {.threshold = -0.1f}), vb::errc::invalid_argument, {"threshold"}));
  EXPECT_NO_THROW(to_mask(t, mask.view(), {.threshold = -2.0f, .scores = model::score_kind::logit})());
  EXPECT_TRUE(throws_error(to_mask(t, mask.view(), {.threshold = INFINITY, .scores = model::score_kind::logit}),
                           vb::errc::invalid_argument, {"threshold", "logit"}));
  EXPECT_TRUE(throws_error(to_mask({scores.data(), 2, 1, 0, 4}, mask.view()), vb::errc::invalid_argument, {"scores are empty"}));
  EXPECT_TRUE(throws_error(to_mask(t, vb::batch_view<vb::u8>{mask.view().data, 2, 0, 8, 1, 64, 8, 1}), vb::errc::invalid_argument,
                           {"mask is empty"}));
  EXPECT_NO_THROW(to_mask({nullptr, 0, 1, 4, 4}, vb::batch_view<vb::u8>{nullptr, 0, 8, 8, 1, 64, 8, 1})());  // an empty batch
}

#if VBATCH_HAVE_OPENCV

// Masks equal OpenCV's resize (INTER_LINEAR) + threshold, except where the resized score lies
// within rounding of the threshold (OpenCV may use SIMD or IPP arithmetic there).
TEST(ModelMasksOpenCV, ScoreMapToMaskEqualsResizeAndThreshold) {
  struct size_pair {
    int h, w, out_h, out_w;
  };
  const size_pair sizes[] = {{13, 17, 40, 50}, {40, 40, 160, 160}, {25, 33, 7, 9},
                             {8, 8, 8, 8},     {1, 5, 3, 12},      {160, 160, 480, 640}};
  unsigned seed = 10;
  for (const size_pair& s : sizes)
    for (model::score_kind kind : {model::score_kind::probability, model::score_kind::logit}) {
      const int n = 2;
      std::vector<float> scores = random_scores(n, s.h, s.w, ++seed);
      if (kind == model::score_kind::logit)
        for (float& v : scores) v = 8.0f * v - 4.0f;
      const float threshold = kind == model::score_kind::logit ? -0.5f : 0.45f;
      vb::batch_buffer<vb::u8> mask({n, s.out_h, s.out_w, 1});
      model::score_map_to_mask(vb::cpu_par{2}, model::tensor_view<const float>{scores.data(), n, 1, s.h, s.w}, mask.view(),
                               {.threshold = threshold, .scores = kind});
      int compared = 0, near = 0;
      for (int i = 0; i < n; ++i) {
        const cv::Mat src(s.h, s.w, CV_32F, scores.data() + static_cast<std::size_t>(i) * s.h * s.w);
        cv::Mat resized;
        cv::resize(src, resized, cv::Size(s.out_w, s.out_h), 0, 0, cv::INTER_LINEAR);
        for (int y = 0; y < s.out_h; ++y)
          for (int x = 0; x < s.out_w; ++x) {
            const float v = resized.at<float>(y, x);
            if (std::fabs(v - threshold) < 1e-5f) {
              ++near;
              continue;
            }
            ++compared;
            ASSERT_EQ(mask.view()(i, y, x, 0), v > threshold ? 255 : 0)
                << s.h << "x" << s.w << " -> " << s.out_h << "x" << s.out_w << ", image " << i << " at (" << x << ", " << y
                << "), OpenCV " << v;
          }
      }
      EXPECT_LT(near, compared / 1000 + 2);
    }
}

// Stats of `mask` image 0 from OpenCV, checked against ours: the same partition of the pixels
// (labels matched by each component's first pixel), areas and boxes.
::testing::AssertionResult matches_opencv(const vb::batch_buffer<vb::u8>& mask, model::connectivity neighbours) {
  const auto v = mask.view();
  const cv::Mat src(v.h, v.w, CV_8U, const_cast<vb::u8*>(v.data));  // read only
  cv::Mat labels, stats, centroids;
  const int cv_count = cv::connectedComponentsWithStats(src, labels, stats, centroids, static_cast<int>(neighbours), CV_32S) - 1;
  const model::component_labels ours = model::connected_components(vb::batch_view<const vb::u8>(v), neighbours);
  if (ours.count() != cv_count) return ::testing::AssertionFailure() << ours.count() << " components, OpenCV " << cv_count;
  std::vector<int> to_cv(static_cast<std::size_t>(cv_count) + 1, 0);
  for (int k = 1; k <= ours.count(); ++k) {
    const model::component& c = ours.components[k - 1];
    const int l = labels.at<int>(c.first_y, c.first_x);
    to_cv[k] = l;
    if (l == 0 || c.area != stats.at<int>(l, cv::CC_STAT_AREA) || c.x != stats.at<int>(l, cv::CC_STAT_LEFT) ||
        c.y != stats.at<int>(l, cv::CC_STAT_TOP) || c.width != stats.at<int>(l, cv::CC_STAT_WIDTH) ||
        c.height != stats.at<int>(l, cv::CC_STAT_HEIGHT))
      return ::testing::AssertionFailure() << "component " << k << " (first pixel " << c.first_x << ", " << c.first_y
                                           << ") differs from OpenCV's label " << l;
  }
  for (int y = 0; y < v.h; ++y)
    for (int x = 0; x < v.w; ++x)
      if (to_cv[ours.at(y, x)] != labels.at<int>(y, x))
        return ::testing::AssertionFailure()
               << "pixel (" << x << ", " << y << ") is ours " << ours.at(y, x) << ", OpenCV's " << labels.at<int>(y, x);
  return ::testing::AssertionSuccess();
}

TEST(ModelMasksOpenCV, ConnectedComponentsEqualOpenCV) {
  unsigned seed = 100;
  for (const vb::batch_shape shape : {vb::batch_shape{1, 37, 53, 1}, vb::batch_shape{1, 1, 64, 1}, vb::batch_shape{1, 64, 1, 1},
                                      vb::batch_shape{1, 120, 97, 1}})
    for (double density : {0.2, 0.45, 0.6, 0.9})
      for (model::connectivity c : {model::connectivity::four, model::connectivity::eight}) {
        const auto mask = random_mask(shape, density, ++seed);
        EXPECT_TRUE(matches_opencv(mask, c))
            << shape.h << "x" << shape.w << ", density " << density << ", " << static_cast<int>(c) << "-connectivity";
      }
}

#endif  // VBATCH_HAVE_OPENCV

// ---- connected components and boxes ---------------------------------------------------------

TEST(ModelMasks, ComponentsByHand) {
  // A U whose arms meet only on the bottom row (labels merge late), a diagonal pair, a dot.
  const auto mask = mask_from_rows({
      "#.#...#",
      "#.#..#.",
      "###....",
      "......#",
  });
  const auto eight = model::connected_components(vb::batch_view<const vb::u8>(mask.view()), model::connectivity::eight);
  ASSERT_EQ(eight.count(), 3);
  EXPECT_EQ(eight.components[0].area, 7);
  EXPECT_EQ(eight.components[0].box(), (boxes::box_xyxy{0, 0, 3, 3}));
  EXPECT_EQ(eight.components[1].area, 2);  // (6, 0) and (5, 1)
  EXPECT_EQ(eight.components[1].box(), (boxes::box_xyxy{5, 0, 7, 2}));
  EXPECT_EQ(eight.components[1].first_x, 6);
  EXPECT_EQ(eight.components[2].area, 1);
  EXPECT_EQ(eight.at(0, 2), 1) << "the right arm joins the U found first";
  EXPECT_EQ(eight.at(1, 5), 2);
  EXPECT_EQ(eight.at(3, 6), 3);
  EXPECT_EQ(eight.at(3, 0), 0);

  const auto four = model::connected_components(vb::batch_view<const vb::u8>(mask.view()), model::connectivity::four);
  ASSERT_EQ(four.count(), 4);  // the diagonal pair splits; (5, 1) comes after (6, 0) in raster order
  EXPECT_EQ(four.at(0, 6), 2);
  EXPECT_EQ(four.at(1, 5), 3);
  EXPECT_EQ(four.at(3, 6), 4);
}

TEST(ModelMasks, BatchedComponentsAndBoxesAgreeAcrossExecutors) {
  const auto masks = random_mask({4, 45, 61, 1}, 0.3, 9);
  const vb::batch_view<const vb::u8> v = masks.view();
  const auto serial = model::connected_components(vb::cpu_serial{}, v, model::connectivity::four);
  const auto parallel = model::connected_components(vb::cpu_par{2}, v, model::connectivity::four);
  ASSERT_EQ(serial.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(serial[i].labels, parallel[i].labels);
    EXPECT_EQ(serial[i].labels, model::connected_components(v.image(i), model::connectivity::four).labels);
  }
  const std::vector<boxes::box_xyxy> per_mask = model::mask_boxes(vb::cpu_par{2}, v);
  ASSERT_EQ(per_mask.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    // The mask's box is the union of its components' boxes.
    boxes::box_xyxy around = serial[i].components[0].box();
    for (const model::component& c : serial[i].components) {
      const boxes::box_xyxy b = c.box();
      around = {std::min(around.x1, b.x1), std::min(around.y1, b.y1), std::max(around.x2, b.x2), std::max(around.y2, b.y2)};
    }
    EXPECT_EQ(per_mask[i], around);
  }
}

TEST(ModelMasks, MaskBoxCoversWholePixelsAndIsEmptyForAnEmptyMask) {
  const auto mask = mask_from_rows({
      ".....",
      "..#..",
      ".#...",
      ".....",
  });
  EXPECT_EQ(model::mask_box(vb::batch_view<const vb::u8>(mask.view())), (boxes::box_xyxy{1, 1, 3, 3}));
  const auto empty = mask_from_rows({"...", "..."});
  EXPECT_TRUE(boxes::is_empty(model::mask_box(vb::batch_view<const vb::u8>(empty.view()))));
  EXPECT_EQ(model::connected_components(vb::batch_view<const vb::u8>(empty.view())).count(), 0);
}

TEST(ModelMasks, ComponentBadInputsNameTheParameter) {
  vb::batch_buffer<vb::u8> rgb({1, 4, 4, 3});
  const vb::batch_view<const vb::u8> v = rgb.view();
  EXPECT_TRUE(throws_error([&] { (void)model::connected_components(v); }, vb::errc::invalid_argument,
                           {"connected_components", "channels"}));
  EXPECT_TRUE(throws_error([&] { (void)model::mask_boxes(vb::cpu_serial{}, v); }, vb::errc::invalid_argument,
                           {"mask_boxes", "channels"}));
}

// ---- COCO RLE ---------------------------------------------------------------------------------

TEST(ModelCoco, RleByHandFromTheCocoDefinition) {
  // Column by column (COCO's column-major order): column 0 is 0 0 0, column 1 is 1 1 0, column 2
  // is 0 1 0, so the pixels run 000 11 00 1 0: counts {3, 2, 2, 1, 1}.
  const auto mask = mask_from_rows({
      ".#.",
      ".##",
      "...",
  });
  const model::rle r = model::rle_encode(vb::batch_view<const vb::u8>(mask.view()));
  EXPECT_EQ(r.height, 3);
  EXPECT_EQ(r.width, 3);
  EXPECT_EQ(r.counts, (std::vector<std::uint32_t>{3, 2, 2, 1, 1}));
  // maskApi.c rleToString: counts 0..2 whole, later ones minus the count two before, each in
  // 5-bit groups + 48 ('0'); 0x20 marks a continuation, bit 0x10 of the last group the sign.
  // 3 -> '3', 2 -> '2', 2 -> '2', 1 - 2 = -1 -> group 31 (sign set, rest all ones: done) -> 48 + 31
  // = 'O', 1 - 2 = -1 -> 'O'.
  EXPECT_EQ(model::rle_to_string(r), "322OO");
  EXPECT_EQ(model::rle_area(r), 3);
  EXPECT_EQ(model::rle_bbox(r), (boxes::box_xywh{1, 0, 2, 2}));

  // A mask whose first pixel is set starts with a run of zero 0s.
  const model::rle first_set = model::rle_encode(vb::batch_view<const vb::u8>(mask_from_rows({"#.", ".."}).view()));
  EXPECT_EQ(first_set.counts, (std::vector<std::uint32_t>{0, 1, 3}));

  // 10x10: 100 = 0b11'00100 -> groups 4 (+0x20: more follows) and 3: 48 + 36 = 'T', 48 + 3 = '3'.
  vb::batch_buffer<vb::u8> block({1, 10, 10, 1});
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 10; ++x) block.view()(0, y, x, 0) = 0;
  EXPECT_EQ(model::rle_to_string(model::rle_encode(vb::batch_view<const vb::u8>(block.view()))), "T3");
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 10; ++x) block.view()(0, y, x, 0) = 1;
  EXPECT_EQ(model::rle_to_string(model::rle_encode(vb::batch_view<const vb::u8>(block.view()))), "0T3");
}

TEST(ModelCoco, RleRoundTripsOnRandomMasks) {
  unsigned seed = 200;
  for (const vb::batch_shape shape :
       {vb::batch_shape{1, 1, 1, 1}, vb::batch_shape{1, 7, 3, 1}, vb::batch_shape{1, 64, 48, 1}, vb::batch_shape{1, 200, 300, 1}})
    for (double density : {0.0, 0.05, 0.5, 0.97, 1.0}) {
      const auto mask = random_mask(shape, density, ++seed);
      const model::rle r = model::rle_encode(vb::batch_view<const vb::u8>(mask.view()));
      const model::rle parsed = model::rle_from_string(model::rle_to_string(r), shape.h, shape.w);
      EXPECT_EQ(parsed, r);
      vb::batch_buffer<vb::u8> decoded(shape);
      model::rle_decode(parsed, decoded.view());
      EXPECT_TRUE(same_masks(decoded, mask)) << shape.h << "x" << shape.w << ", density " << density;
      const boxes::box_xyxy box = model::mask_box(vb::batch_view<const vb::u8>(mask.view()));
      EXPECT_EQ(model::rle_bbox(r), boxes::is_empty(box) ? boxes::box_xywh{} : boxes::to_xywh(box));
      std::int64_t area = 0;
      for (int y = 0; y < shape.h; ++y)
        for (int x = 0; x < shape.w; ++x) area += mask.view()(0, y, x, 0) != 0;
      EXPECT_EQ(model::rle_area(r), area);
    }
}

TEST(ModelCoco, RleFromStringRejectsBadCounts) {
  EXPECT_TRUE(throws_error([] { (void)model::rle_from_string("322OO", 3, 4); }, vb::errc::corrupt_data, {"12"}));
  EXPECT_TRUE(throws_error([] { (void)model::rle_from_string("32 2OO", 3, 3); }, vb::errc::corrupt_data, {"character"}));
  EXPECT_TRUE(throws_error([] { (void)model::rle_from_string("T", 10, 10); }, vb::errc::corrupt_data, {"inside a value"}));
  EXPECT_TRUE(throws_error([] { (void)model::rle_from_string("3O", 3, 3); }, vb::errc::corrupt_data, {"count"}))
      << "-1 is not a run length";
}

TEST(ModelCoco, JsonAnnotationsAreCocoShaped) {
  const auto mask = mask_from_rows({
      ".#.",
      ".##",
      "...",
  });
  // A 44-pixel run: group 12 with the continuation bit is 48 + 44 = '\\', which JSON escapes.
  model::rle long_run{4, 11, {0, 44}};
  const model::coco_annotation annotations[] = {
      {.id = 1, .image_id = 42, .category_id = 3, .segmentation = model::rle_encode(vb::batch_view<const vb::u8>(mask.view()))},
      {.id = 2, .image_id = 42, .category_id = 1, .segmentation = long_run, .score = 0.875f},
  };
  EXPECT_EQ(model::rle_to_string(long_run), "0\\1");
  EXPECT_EQ(model::coco_json(annotations),
            "[{\"id\": 1, \"image_id\": 42, \"category_id\": 3, \"segmentation\": {\"size\": [3, 3], \"counts\": \"322OO\"}, "
            "\"area\": 3, \"bbox\": [1, 0, 2, 2], \"iscrowd\": 0},\n"
            " {\"id\": 2, \"image_id\": 42, \"category_id\": 1, \"segmentation\": {\"size\": [4, 11], \"counts\": \"0\\\\1\"}, "
            "\"area\": 44, \"bbox\": [0, 0, 11, 4], \"iscrowd\": 0, \"score\": 0.875}]\n");
  EXPECT_NE(model::coco_json(std::span(annotations, 1), false).find("\"counts\": [3, 2, 2, 1, 1]}"), std::string::npos);
  EXPECT_EQ(model::coco_json({}), "[]\n");
}

}  // namespace
