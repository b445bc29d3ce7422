// buffer and batch_buffer: sizes, alignment, host copies, move semantics, zero-size and invalid
// shapes.

#include <climits>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::failed_with;
using vbatch_test::throws_error;

// Hides a constant from the optimiser, so it does not warn about allocations on paths the shape
// check makes unreachable.
int opaque(int v) {
  volatile int copy = v;
  return copy;
}

TEST(Buffer, AllocatesTheRequestedElementsCacheLineAligned) {
  vb::buffer<float> b(1000);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.bytes(), 4000u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % vb::host_memory::alignment, 0u);
  for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = float(i);  // the whole range is writable
  EXPECT_EQ(b.data()[999], 999.0f);
}

TEST(Buffer, ZeroSizeHoldsNoMemory) {
  vb::buffer<vb::u8> b(0);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.bytes(), 0u);
  const vb::buffer<vb::u8> d;
  EXPECT_EQ(d.data(), nullptr);
}

TEST(Buffer, FromHostCopiesTheValues) {
  const std::vector<int> values{3, 1, 4, 1, 5, 9, 2, 6};
  const auto b = vb::buffer<int>::from_host(values);
  ASSERT_EQ(b.size(), values.size());
  EXPECT_NE(b.data(), values.data());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(b.data()[i], values[i]);
  EXPECT_EQ(vb::buffer<int>::from_host(std::vector<int>{}).data(), nullptr);
}

TEST(Buffer, MoveConstructionTransfersOwnershipAndEmptiesTheSource) {
  static_assert(!std::is_copy_constructible_v<vb::buffer<int>>);
  static_assert(std::is_nothrow_move_constructible_v<vb::buffer<int>>);
  vb::buffer<int> a(16);
  int* p = a.data();
  vb::buffer<int> b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.size(), 0u);
}

TEST(Buffer, MoveAssignmentReleasesTheOldMemoryAndSurvivesSelfAssignment) {
  vb::buffer<int> a(8), b(4);
  int* pa = a.data();
  b = std::move(a);
  EXPECT_EQ(b.data(), pa);
  EXPECT_EQ(b.size(), 8u);
  EXPECT_EQ(a.data(), nullptr);
  auto& alias = b;
  b = std::move(alias);
  EXPECT_EQ(b.data(), pa);
  EXPECT_EQ(b.size(), 8u);
}

TEST(BatchBuffer, MakesADenseViewOfItsShape) {
  vb::batch_buffer<vb::u8> b({2, 3, 5, 4});  // (N,H,W,C)
  EXPECT_EQ(b.shape(), (vb::batch_shape{2, 3, 5, 4}));
  EXPECT_EQ(b.bytes(), 2u * 3 * 5 * 4);
  const vb::batch_view<vb::u8> v = b.view();  // (2,3,5,4)
  EXPECT_EQ(v.data, b.data());
  EXPECT_EQ(v.shape(), b.shape());
  EXPECT_TRUE(v.is_dense());
  v(1, 2, 4, 3) = 77;
  EXPECT_EQ(b.data()[b.bytes() - 1], 77);
  const auto& cb = b;
  const vb::batch_view<const vb::u8> cv = cb.view();  // (2,3,5,4)
  EXPECT_EQ(cv.data, b.data());
  EXPECT_EQ(cv(1, 2, 4, 3), 77);
}

TEST(BatchBuffer, F32ElementsCountBytesBySize) {
  vb::batch_buffer<float> b({1, 2, 3, 3});  // (N,H,W,C)
  EXPECT_EQ(b.bytes(), 1u * 2 * 3 * 3 * sizeof(float));
}

TEST(BatchBuffer, ZeroSizedShapesGiveEmptyViews) {
  for (const vb::batch_shape s : {vb::batch_shape{0, 4, 4, 3}, vb::batch_shape{1, 0, 4, 3}, vb::batch_shape{1, 4, 0, 3},
                                  vb::batch_shape{1, 4, 4, 0}, vb::batch_shape{}}) {
    vb::batch_buffer<vb::u8> b(s);
    EXPECT_EQ(b.shape(), s);
    EXPECT_EQ(b.bytes(), 0u);
    EXPECT_TRUE(b.view().empty());
    EXPECT_TRUE(vb::can_access(b.view(), "zero-size"));
  }
}

TEST(BatchBuffer, NegativeShapesThrowInvalidArgumentNamingTheShape) {
  EXPECT_TRUE(throws_error(
      [] {
        vb::batch_buffer<vb::u8> b({opaque(-1), 4, 4, 3});
      },
      vb::errc::invalid_argument, {"batch_buffer", "-1x4x4x3"}));
  EXPECT_TRUE(throws_error([] { vb::batch_buffer<float> b({1, 4, opaque(-4), 3}); }, vb::errc::invalid_argument, {"1x4x-4x3"}));
  EXPECT_TRUE(throws_error([] { vb::batch_buffer<float> b({1, 4, 4, opaque(INT_MIN)}); }, vb::errc::invalid_argument));
}

TEST(BatchBuffer, AbsurdShapesThrowLimitExceededBeforeAllocating) {
  EXPECT_TRUE(throws_error(
      [] {
        vb::batch_buffer<vb::u8> b({opaque(INT_MAX), INT_MAX, INT_MAX, 4});
      },
      vb::errc::limit_exceeded, {"too large", "2147483647x2147483647x2147483647x4"}));
  // 2^31 * 2^31 elements of 4 bytes: 2^64 bytes, which wraps to 0 in 64-bit arithmetic.
  EXPECT_TRUE(throws_error(
      [] {
        vb::batch_buffer<float> b({opaque(1 << 16), 1 << 16, 1 << 16, 1 << 14});
      },
      vb::errc::limit_exceeded));
}

TEST(BatchBuffer, CanAllocateReportsWithoutThrowing) {
  EXPECT_TRUE(vb::can_allocate({1, 2, 3, 4}, 4));
  EXPECT_TRUE(vb::can_allocate({0, 0, 0, 0}, 1));
  vb::status s = vb::status::success();
  EXPECT_NO_THROW(s = vb::can_allocate({1, -2, 3, 4}, 1));
  EXPECT_TRUE(failed_with(s, vb::errc::invalid_argument, {"1x-2x3x4"}));
  EXPECT_NO_THROW(s = vb::can_allocate({INT_MAX, INT_MAX, 2, 1}, 8));
  EXPECT_TRUE(failed_with(s, vb::errc::limit_exceeded));
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(BatchBuffer, AShapeBeyondMemoryThrowsBadAllocForBackOffPolicies) {
  // 2^50 bytes passes the shape check (< 2^62) but no machine has it: std::bad_alloc, as documented.
  EXPECT_THROW((vb::batch_buffer<vb::u8>({opaque(1 << 20), 1 << 20, 1 << 10, 1})), std::bad_alloc);
}
#endif

TEST(BatchBuffer, MoveTransfersTheStorageAndTheShape) {
  vb::batch_buffer<vb::u8> a({2, 3, 4, 3});  // (N,H,W,C)
  vb::u8* p = a.data();
  vb::batch_buffer<vb::u8> b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.shape(), (vb::batch_shape{2, 3, 4, 3}));
  EXPECT_EQ(b.view().data, p);
  vb::batch_buffer<vb::u8> c({1, 1, 1, 1});
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.shape(), (vb::batch_shape{2, 3, 4, 3}));
}

// A moved-from batch_buffer must not describe memory it no longer owns: its view has to be empty
// (or at least pass can_access), and shape() must agree with bytes().
TEST(BatchBuffer, MovedFromBufferHasAnEmptyConsistentView) {
  vb::batch_buffer<vb::u8> a({2, 3, 4, 3});  // (N,H,W,C)
  vb::batch_buffer<vb::u8> b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.bytes(), 0u);
  EXPECT_EQ(a.shape().elements() * std::int64_t(sizeof(vb::u8)), std::int64_t(a.bytes()))
      << "moved-from shape " << a.shape().n << "x" << a.shape().h << "x" << a.shape().w << "x" << a.shape().c
      << " but no storage";
  EXPECT_TRUE(vb::can_access(a.view(), "moved-from")) << vb::can_access(a.view(), "moved-from").message;

  vb::batch_buffer<vb::u8> c({1, 2, 2, 1});
  vb::batch_buffer<vb::u8> d;
  d = std::move(c);
  EXPECT_TRUE(c.view().empty()) << "move-assigned-from buffer still reports a non-empty view with null data";
}

}  // namespace
