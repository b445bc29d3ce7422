// cuda::std::mdspan interop: to_mdspan sees the same elements as the batch_view it came from.

#if VBATCH_HAVE_CCCL

#include "vbatch/core/mdspan.hpp"

#include <numeric>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;

template <class T, class M>
void expect_same_elements(const vb::batch_view<T>& v, const M& m) {
  ASSERT_EQ(m.rank(), 4u);
  ASSERT_EQ(m.extent(0), v.n);
  ASSERT_EQ(m.extent(1), v.h);
  ASSERT_EQ(m.extent(2), v.w);
  ASSERT_EQ(m.extent(3), v.c);
  for (int i = 0; i < v.n; ++i)
    for (int y = 0; y < v.h; ++y)
      for (int x = 0; x < v.w; ++x)
        for (int c = 0; c < v.c; ++c) {
          ASSERT_EQ(&m(i, y, x, c), &v(i, y, x, c)) << i << "," << y << "," << x << "," << c;
        }
}

TEST(ToMdspan, ADenseViewGivesTheSameElementsAndStrides) {
  vb::batch_buffer<float> b({3, 4, 5, 3});  // (N,H,W,C)
  std::iota(b.data(), b.data() + b.view().shape().elements(), 0.0f);
  const auto v = b.view();
  const auto m = vb::to_mdspan(v);
  expect_same_elements(v, m);
  EXPECT_EQ(m.stride(0), v.stride_n);
  EXPECT_EQ(m.stride(1), v.stride_h);
  EXPECT_EQ(m.stride(2), v.stride_w);
  EXPECT_EQ(m.stride(3), 1);
  EXPECT_EQ(m(2, 3, 4, 2), 3 * 4 * 5 * 3 - 1);
  EXPECT_EQ(m.mapping().required_span_size(), v.shape().elements());
  EXPECT_TRUE(m.is_strided());
}

TEST(ToMdspan, ACropOfOneImageKeepsTheParentStrides) {
  vb::batch_buffer<vb::u8> b({2, 6, 7, 4});  // (N,H,W,C)
  vbatch_test::fill_random(b.view(), 7);
  const auto v = b.view().image(1).crop(1, 2, 4, 3);  // (1,4,3,4)
  const auto m = vb::to_mdspan(v);
  expect_same_elements(v, m);
  EXPECT_EQ(m.stride(1), 7 * 4);
  EXPECT_FALSE(m.is_exhaustive());
}

TEST(ToMdspan, ConstViewsGiveReadOnlyMdspans) {
  vb::batch_buffer<float> b({1, 2, 2, 1});  // (N,H,W,C)
  b.view()(0, 1, 1, 0) = 5.0f;
  const vb::batch_view<const float> v = b.view();
  const auto m = vb::to_mdspan(v);
  static_assert(std::is_same_v<typename decltype(m)::element_type, const float>);
  EXPECT_EQ(m(0, 1, 1, 0), 5.0f);
  expect_same_elements(v, m);
}

TEST(ToMdspan, WritesThroughTheMdspanReachTheView) {
  vb::batch_buffer<float> b({2, 3, 3, 2});  // (N,H,W,C)
  vbatch_test::fill_random(b.view(), 3);
  const auto m = vb::to_mdspan(b.view().crop(1, 1, 2, 2));
  m(1, 1, 0, 1) = -1.0f;
  EXPECT_EQ(b.view()(1, 2, 1, 1), -1.0f);
}

}  // namespace

#endif  // VBATCH_HAVE_CCCL
