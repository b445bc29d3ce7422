// A CUDA program outside the vbatch tree, built by nvcc against vbatch::cuda alone: a disk
// dilation on the device compared with the CPU. Where no device is present it says so and exits 0
// (compiling and linking were the test).
#include <cstdio>
#include <vector>

#include <vbatch/morph/cuda/morphology.hpp>
#include <vbatch/vbatch.hpp>

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("vbatch %s: built with vbatch::cuda; no CUDA device here, nothing run\n", vbatch::version_string);
    return 0;
  }
  vbatch::batch_buffer<vbatch::u8> mask({2, 48, 64, 1}), want({2, 48, 64, 1}), got({2, 48, 64, 1});  // (N,H,W,C)
  for (std::int64_t k = 0; k < mask.shape().elements(); ++k) mask.data()[k] = k % 37 == 0 ? 255 : 0;
  namespace morph = vbatch::morph;
  morph::dilate(vbatch::cpu_serial{}, mask.view(), want.view(), morph::disk(5));
  vbatch::batch_buffer<vbatch::u8, vbatch::device_memory> d_mask(mask.shape()), d_out(mask.shape());
  vbatch::copy(vbatch::cuda{}, vbatch::batch_view<const vbatch::u8>(mask.view()), d_mask.view());
  morph::dilate(vbatch::cuda{}, d_mask.view(), d_out.view(), morph::disk(5));
  vbatch::copy(vbatch::cuda{}, vbatch::batch_view<const vbatch::u8>(d_out.view()), got.view());
  vbatch::executor_traits<vbatch::cuda>::synchronize(vbatch::cuda{});
  for (std::int64_t k = 0; k < want.shape().elements(); ++k)
    if (got.data()[k] != want.data()[k]) {
      std::printf("disk dilation on the device differs from the CPU at %lld\n", static_cast<long long>(k));
      return 1;
    }
  std::printf("vbatch %s: disk dilation on the device equals the CPU\n", vbatch::version_string);
  return 0;
}
