// batch_view: dense strides, indexing, sub-batches, crops, const conversion and can_access.

#include <climits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::failed_with;

// Element e of a dense (N,H,W,C) batch holds e, so every lookup can be checked by arithmetic.
std::vector<int> iota_storage(vb::batch_shape s) {
  std::vector<int> v(static_cast<std::size_t>(s.elements()));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// f32 storage so the view's element type satisfies vb::element in can_access-style code paths.
std::vector<float> iota_floats(vb::batch_shape s) {
  std::vector<float> v(static_cast<std::size_t>(s.elements()));
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

TEST(BatchView, DenseViewHasPackedStridesChannelsFastest) {
  std::vector<int> storage = iota_storage({2, 3, 4, 3});
  const auto v = vb::batch_view<int>::dense(storage.data(), {2, 3, 4, 3});  // (N,H,W,C) = (2,3,4,3)
  EXPECT_EQ(v.stride_w, 3);
  EXPECT_EQ(v.stride_h, 12);
  EXPECT_EQ(v.stride_n, 36);
  EXPECT_EQ(v.shape(), (vb::batch_shape{2, 3, 4, 3}));
  EXPECT_EQ(v.pixels(), 24);
  EXPECT_EQ(v.shape().elements(), 72);
  EXPECT_TRUE(v.is_dense());
  EXPECT_FALSE(v.empty());
}

TEST(BatchView, IndexingReadsTheElementAtTheDenseOffset) {
  const vb::batch_shape s{3, 5, 7, 4};
  std::vector<int> storage = iota_storage(s);
  const auto v = vb::batch_view<int>::dense(storage.data(), s);  // (N,H,W,C) = (3,5,7,4)
  for (int i = 0; i < s.n; ++i)
    for (int y = 0; y < s.h; ++y)
      for (int x = 0; x < s.w; ++x) {
        EXPECT_EQ(v.pixel(i, y, x), storage.data() + ((i * s.h + y) * s.w + x) * s.c);
        for (int c = 0; c < s.c; ++c) ASSERT_EQ(v(i, y, x, c), ((i * s.h + y) * s.w + x) * s.c + c);
      }
}

TEST(BatchView, WritesThroughTheViewReachTheStorage) {
  std::vector<int> storage(2 * 2 * 2 * 1, 0);
  const auto v = vb::batch_view<int>::dense(storage.data(), {2, 2, 2, 1});  // (N,H,W,C) = (2,2,2,1)
  v(1, 0, 1, 0) = 42;
  EXPECT_EQ(storage[5], 42);
}

TEST(BatchView, ImagesSelectsAContiguousRangeOfTheBatch) {
  const vb::batch_shape s{5, 2, 3, 2};
  std::vector<int> storage = iota_storage(s);
  const auto v = vb::batch_view<int>::dense(storage.data(), s);  // (N,H,W,C) = (5,2,3,2)
  const auto sub = v.images(2, 3);                               // (3,2,3,2)
  EXPECT_EQ(sub.n, 3);
  EXPECT_EQ(sub.h, 2);
  EXPECT_EQ(sub.w, 3);
  EXPECT_EQ(sub.c, 2);
  EXPECT_EQ(sub.stride_n, v.stride_n);
  for (int i = 0; i < sub.n; ++i)
    for (int y = 0; y < s.h; ++y)
      for (int x = 0; x < s.w; ++x)
        for (int c = 0; c < s.c; ++c) ASSERT_EQ(sub(i, y, x, c), v(i + 2, y, x, c));
  const auto one = v.image(4);  // (1,2,3,2)
  EXPECT_EQ(one.n, 1);
  EXPECT_EQ(one(0, 1, 2, 1), v(4, 1, 2, 1));
  EXPECT_TRUE(one.is_dense());
}

TEST(BatchView, CropKeepsTheParentStridesAndOffsetsTheOrigin) {
  const vb::batch_shape s{2, 6, 8, 3};
  std::vector<int> storage = iota_storage(s);
  const auto v = vb::batch_view<int>::dense(storage.data(), s);  // (N,H,W,C) = (2,6,8,3)
  const auto c = v.crop(1, 2, 4, 5);                             // (2,4,5,3)
  EXPECT_EQ(c.shape(), (vb::batch_shape{2, 4, 5, 3}));
  EXPECT_EQ(c.stride_h, v.stride_h);
  EXPECT_EQ(c.stride_w, v.stride_w);
  EXPECT_EQ(c.stride_n, v.stride_n);
  EXPECT_FALSE(c.is_dense());
  for (int i = 0; i < c.n; ++i)
    for (int y = 0; y < c.h; ++y)
      for (int x = 0; x < c.w; ++x)
        for (int ch = 0; ch < c.c; ++ch) ASSERT_EQ(c(i, y, x, ch), v(i, y + 1, x + 2, ch));
  // A crop of a crop composes the offsets.
  const auto cc = c.crop(2, 1, 2, 3);  // (2,2,3,3)
  EXPECT_EQ(cc(1, 1, 2, 2), v(1, 1 + 2 + 1, 2 + 1 + 2, 2));
  // A full-width crop of rows is still dense per image but not across images.
  const auto rows = v.crop(0, 0, 3, 8);  // (2,3,8,3)
  EXPECT_FALSE(rows.is_dense());
  EXPECT_TRUE(rows.image(0).crop(0, 0, 3, 8).stride_h == rows.w * rows.c);
}

TEST(BatchView, ImagesOfACropIsTheCropOfImages) {
  const vb::batch_shape s{4, 5, 6, 1};
  std::vector<int> storage = iota_storage(s);
  const auto v = vb::batch_view<int>::dense(storage.data(), s);  // (N,H,W,C) = (4,5,6,1)
  const auto a = v.crop(1, 1, 3, 4).images(1, 2);                // (2,3,4,1)
  const auto b = v.images(1, 2).crop(1, 1, 3, 4);                // (2,3,4,1)
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.shape(), b.shape());
}

TEST(BatchView, EmptyMeansAnyZeroExtent) {
  EXPECT_TRUE((vb::batch_view<int>{}).empty());
  int dummy = 0;
  EXPECT_TRUE((vb::batch_view<int>::dense(&dummy, {0, 3, 3, 3})).empty());
  EXPECT_TRUE((vb::batch_view<int>::dense(&dummy, {1, 0, 3, 3})).empty());
  EXPECT_TRUE((vb::batch_view<int>::dense(&dummy, {1, 3, 0, 3})).empty());
  EXPECT_TRUE((vb::batch_view<int>::dense(&dummy, {1, 3, 3, 0})).empty());
  EXPECT_FALSE((vb::batch_view<int>::dense(&dummy, {1, 1, 1, 1})).empty());
}

TEST(BatchView, MutableViewConvertsToConstButNotBack) {
  static_assert(std::is_convertible_v<vb::batch_view<float>, vb::batch_view<const float>>);
  static_assert(!std::is_convertible_v<vb::batch_view<const float>, vb::batch_view<float>>);
  std::vector<float> storage = iota_floats({1, 4, 5, 3});
  const auto v = vb::batch_view<float>::dense(storage.data(), {1, 4, 5, 3}).crop(1, 1, 2, 3);  // (1,2,3,3)
  const vb::batch_view<const float> cv = v;
  EXPECT_EQ(cv.data, v.data);
  EXPECT_EQ(cv.shape(), v.shape());
  EXPECT_EQ(cv.stride_n, v.stride_n);
  EXPECT_EQ(cv.stride_h, v.stride_h);
  EXPECT_EQ(cv.stride_w, v.stride_w);
  EXPECT_EQ(cv(0, 1, 2, 2), v(0, 1, 2, 2));
}

TEST(BatchView, AStridedViewCanSelectOneChannelOfAnInterleavedImage) {
  std::vector<float> storage = iota_floats({1, 2, 3, 3});
  const auto rgb = vb::batch_view<float>::dense(storage.data(), {1, 2, 3, 3});                            // (1,2,3,3)
  const vb::batch_view<float> green{rgb.data + 1, 1, 2, 3, 1, rgb.stride_n, rgb.stride_h, rgb.stride_w};  // (1,2,3,1)
  EXPECT_TRUE(vb::can_access(green, "green"));
  EXPECT_FALSE(green.is_dense());
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) EXPECT_EQ(green(0, y, x, 0), rgb(0, y, x, 1));
}

TEST(BatchShape, ElementCountDoesNotOverflowInt) {
  const vb::batch_shape s{1 << 20, 1 << 20, 1, 4};
  EXPECT_EQ(s.elements(), std::int64_t{1} << 42);
  EXPECT_EQ((vb::batch_shape{2, 3, 4, 5}), (vb::batch_shape{2, 3, 4, 5}));
  EXPECT_NE((vb::batch_shape{2, 3, 4, 5}), (vb::batch_shape{2, 3, 5, 4}));
}

TEST(CheckView, AcceptsValidAndEmptyViews) {
  std::vector<float> storage(2 * 3 * 4 * 4);
  EXPECT_TRUE(vb::can_access(vb::batch_view<float>::dense(storage.data(), {2, 3, 4, 4}), "v"));
  EXPECT_TRUE(vb::can_access(vb::batch_view<float>{}, "v"));
  EXPECT_TRUE(vb::can_access(vb::batch_view<float>::dense(nullptr, {0, 3, 4, 3}), "v"));
}

TEST(CheckView, RejectsNegativeSizesNamingTheViewAndTheShape) {
  float dummy = 0;
  const vb::batch_view<float> v{&dummy, 1, -2, 3, 1, 0, 0, 1};
  EXPECT_TRUE(failed_with(vb::can_access(v, "my input"), vb::errc::invalid_argument, {"my input", "-2", "negative"}));
}

TEST(CheckView, RejectsNullDataForANonEmptyView) {
  const auto v = vb::batch_view<float>::dense(nullptr, {1, 2, 2, 3});  // (1,2,2,3)
  EXPECT_TRUE(failed_with(vb::can_access(v, "frames"), vb::errc::invalid_argument, {"frames", "null", "1x2x2x3"}));
}

TEST(CheckView, RejectsMoreThanFourChannels) {
  std::vector<float> storage(2 * 2 * 5);
  const auto v = vb::batch_view<float>::dense(storage.data(), {1, 2, 2, 5});  // (1,2,2,5)
  EXPECT_TRUE(failed_with(vb::can_access(v, "frames"), vb::errc::invalid_argument, {"frames", "5 channels"}));
}

TEST(CheckView, RejectsAPixelStrideSmallerThanTheChannelCount) {
  std::vector<float> storage(64);
  const vb::batch_view<float> v{storage.data(), 1, 2, 2, 3, 12, 6, 2};  // (1,2,2,3) with overlapping pixels
  EXPECT_TRUE(failed_with(vb::can_access(v, "frames"), vb::errc::invalid_argument, {"frames", "stride 2", "channels 3"}));
}

}  // namespace
