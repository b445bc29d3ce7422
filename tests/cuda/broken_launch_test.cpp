// The emulation must catch the mistakes it exists for: a grid one block short, a kernel without
// its bounds check, a missing __syncthreads, and misuse of the memory API. Each broken case has a
// correct twin that passes, so the tests show the difference is what is caught.

#include "cuda/emulation.hpp"  // first: it replaces the CUDA runtime

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "test_util.hpp"
#include "vbatch/core/cuda/launch.hpp"
#include "vbatch/core/cuda/memory.hpp"

namespace {

namespace vb = vbatch;

__global__ void double_checked(const int* in, int* out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = 2 * in[i];
}

__global__ void double_unchecked(const int* in, int* out, int) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  out[i] = 2 * in[i];  // no bounds check: the last block writes past the end
}

// Sums each block's 32 values through shared memory.
template <bool with_sync>
__global__ void block_sum(const int* in, int* out) {
  __shared__ int partial[32];
  const unsigned t = threadIdx.x;
  partial[t] = in[blockIdx.x * 32 + t];
  if (with_sync) __syncthreads();
  for (unsigned stride = 16; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    if (with_sync) __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
}

struct device_ints {
  vb::buffer<int, vb::device_memory> data;
  explicit device_ints(const std::vector<int>& values) : data(values.size()) {
    vb::check_cuda(cudaMemcpy(data.data(), values.data(), data.bytes(), cudaMemcpyHostToDevice), "upload");
  }
  std::vector<int> download() const {
    std::vector<int> v(data.size());
    vb::check_cuda(cudaMemcpy(v.data(), data.data(), data.bytes(), cudaMemcpyDeviceToHost), "download");
    return v;
  }
};

std::vector<int> iota_ints(int n) {
  std::vector<int> v(std::size_t(n), 0);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

TEST(BrokenLaunch, AGridOneBlockShortLeavesTheTailUnwrittenAndTheCorrectGridDoesNot) {
  const int n = 100, block = 32;
  const device_ints in(iota_ints(n));
  std::vector<int> want(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) want[std::size_t(i)] = 2 * (i + 1);
  for (bool broken : {true, false}) {
    device_ints out(std::vector<int>(std::size_t(n), -1));
    const unsigned blocks = broken ? unsigned(n / block) : unsigned((n + block - 1) / block);  // floor vs ceil
    vb::detail::launch(double_checked, dim3(blocks), dim3(block), 0, nullptr, in.data.data(), out.data.data(), n);
    const std::vector<int> got = out.download();
    if (broken)
      EXPECT_NE(got, want) << "a grid one block short must be caught";
    else
      EXPECT_EQ(got, want);
  }
}

TEST(BrokenLaunch, AMissingBoundsCheckWritesPastTheBufferAndIsReportedAsAnIllegalAddress) {
  // 128 threads for 120 outputs: 32 bytes written past the end, into the emulator's guard bytes.
  const int n = 120;
  const device_ints in(iota_ints(128));  // reads stay inside: only the write overruns
  device_ints out(std::vector<int>(std::size_t(n), 0));
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] { vb::detail::launch(double_unchecked, dim3(4), dim3(32), 0, nullptr, in.data.data(), out.data.data(), n); },
      vb::errc::cuda, {"kernel launch", "illegal memory access"}));
  // Restore the guard so that freeing the buffer and the rest of the suite start clean.
  std::memset(reinterpret_cast<char*>(out.data.data()) + n * sizeof(int), vbatch_emulation::guard_value,
              vbatch_emulation::guard_bytes);
  const device_ints fine(iota_ints(128));
  device_ints out2(std::vector<int>(128, 0));
  EXPECT_NO_THROW(vb::detail::launch(double_unchecked, dim3(4), dim3(32), 0, nullptr, fine.data.data(), out2.data.data(), 128));
}

// A race shows up in whichever order runs the reader before the writer: the tree reduction reads
// partial[t + stride], so running threads in index order exposes it and reverse order happens to
// be a valid serialisation. Kernels with barriers are therefore tested in both orders.
TEST(BrokenLaunch, AMissingSyncthreadsGivesWrongSumsInOneOfTheThreadOrders) {
  const int blocks = 3;
  std::vector<int> values = iota_ints(32 * blocks);
  std::vector<int> want(blocks, 0);
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < 32; ++t) want[std::size_t(b)] += values[std::size_t(b * 32 + t)];
  const device_ints in(values);
  bool caught = false;
  for (bool reverse : {true, false}) {
    vbatch_emulation::reverse_order = reverse;
    device_ints good(std::vector<int>(blocks, 0)), bad(std::vector<int>(blocks, 0));
    vb::detail::launch(block_sum<true>, dim3(blocks), dim3(32), 0, nullptr, in.data.data(), good.data.data());
    vb::detail::launch(block_sum<false>, dim3(blocks), dim3(32), 0, nullptr, in.data.data(), bad.data.data());
    EXPECT_EQ(good.download(), want) << (reverse ? "reverse" : "forward") << " order";
    caught |= bad.download() != want;
  }
  vbatch_emulation::reverse_order = true;
  EXPECT_TRUE(caught) << "a missing __syncthreads must be caught";
}

__global__ void read_past_the_end(const int* in, int* out, int n, int overrun) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i + overrun];  // reads `overrun` elements too far
}

#if defined(__SANITIZE_ADDRESS__)
// Out-of-bounds reads do not touch the guard bytes; AddressSanitizer catches them (the sanitizer
// build runs this file; the plain build has no way to see a read).
TEST(BrokenLaunchDeathTest, AnOutOfBoundsReadIsCaughtByAddressSanitizer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        const device_ints in(iota_ints(32));
        device_ints out(std::vector<int>(32, 0));
        vb::detail::launch(read_past_the_end, dim3(1), dim3(32), 0, nullptr, in.data.data(), out.data.data(), 32, 1000);
      },
      "heap-buffer-overflow");
}
#endif

TEST(BrokenLaunch, AReadInsideTheBufferIsFine) {
  const device_ints in(iota_ints(64));
  device_ints out(std::vector<int>(32, 0));
  vb::detail::launch(read_past_the_end, dim3(1), dim3(32), 0, nullptr, in.data.data(), out.data.data(), 32, 32);
  const std::vector<int> got = out.download();
  for (int i = 0; i < 32; ++i) EXPECT_EQ(got[std::size_t(i)], i + 33);
}

TEST(BrokenLaunch, AnInvalidConfigurationIsALaunchError) {
  const device_ints in(iota_ints(8));
  device_ints out(std::vector<int>(8, 0));
  EXPECT_TRUE(vbatch_test::throws_error(
      [&] { vb::detail::launch(double_checked, dim3(1), dim3(2048), 0, nullptr, in.data.data(), out.data.data(), 8); },
      vb::errc::cuda, {"invalid configuration"}));
}

TEST(EmulatedMemory, MisusedCopiesAndFreesReturnCudaErrorCodes) {
  void* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 64), cudaSuccess);
  std::vector<char> host(128, 1);
  EXPECT_EQ(cudaMemcpy(d, host.data(), 64, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d, host.data(), 65, cudaMemcpyHostToDevice), cudaErrorInvalidValue);  // overruns the allocation
  EXPECT_EQ(cudaMemcpy(static_cast<char*>(d) + 60, host.data(), 8, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(host.data(), d, 64, cudaMemcpyHostToDevice), cudaErrorInvalidValue);  // wrong direction
  EXPECT_EQ(cudaMemcpy(d, host.data(), 64, cudaMemcpyDeviceToHost), cudaErrorInvalidValue);  // wrong direction
  EXPECT_EQ(cudaMemcpy(host.data(), d, 64, cudaMemcpyDefault), cudaSuccess);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);  // the last error, then cleared
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaErrorInvalidValue);                                            // freed twice
  EXPECT_EQ(cudaMemcpy(d, host.data(), 8, cudaMemcpyHostToDevice), cudaErrorInvalidValue);  // use after free
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);                                  // never allocated
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(s), cudaErrorInvalidResourceHandle);
  cudaGetLastError();
}

TEST(EmulatedMemory, VbatchCopyChecksShapesAndCopiesStridedViews) {
  const auto host = vbatch_test::random_images<vb::u8>({2, 5, 7, 3}, 9);  // (2,5,7,3)
  vb::batch_buffer<vb::u8, vb::device_memory> device({2, 5, 7, 3});
  vb::copy(vb::cuda{}, host.view(), device.view());
  vb::batch_buffer<vb::u8> back({2, 3, 4, 3});
  vb::copy(vb::cuda{}, vb::batch_view<const vb::u8>(device.view()).crop(1, 2, 3, 4), back.view());  // a crop: strided rows
  for (int i = 0; i < 2; ++i)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x)
        for (int c = 0; c < 3; ++c) ASSERT_EQ(back.view()(i, y, x, c), host.view()(i, y + 1, x + 2, c));
  EXPECT_TRUE(vbatch_test::throws_error([&] { vb::copy(vb::cuda{}, host.view(), back.view()); }, vb::errc::invalid_argument,
                                        {"shapes differ"}));
}

}  // namespace
