// Compile-and-link check of the model kernels for the CUDA executor (built by nvcc for every
// architecture in VBATCH_CUDA_ARCHITECTURES): batched preprocessing of crops (f32 and f16), L2 normalisation and
// the cosine-similarity matrix of embeddings in device memory, and score maps to masks. Nothing runs: this machine has no GPU,
// and without one the program exits at once.

#include <vector>

#include <cuda_fp16.h>

#include "vbatch/core/cuda/executor.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/model/embedding.hpp"
#include "vbatch/model/masks.hpp"
#include "vbatch/model/preprocess.hpp"

namespace {

using namespace vbatch;

void embeddings_on_device(cudaStream_t stream) {
  buffer<float, device_memory> a(64 * 128), b(32 * 128), sim(64 * 32);
  const model::matrix_view<float> va{a.data(), 64, 128}, vb{b.data(), 32, 128};
  model::l2_normalize(vbatch::cuda{stream}, va);
  model::cosine_similarity(vbatch::cuda{stream}, va, vb, model::matrix_view<float>{sim.data(), 64, 32});
}

void preprocess_on_device(cudaStream_t stream) {
  batch_buffer<u8, device_memory> frames({2, 480, 640, 3});  // (N,H,W,3)
  buffer<float, device_memory> blob(4 * 3 * 112 * 112);
  const std::vector<model::crop> crops{{0, {10, 20, 200, 220}}, {1, {}}, {1, {0, 0, 64, 48}}, {0, {100, 100, 300, 400}}};
  const model::tensor_view<float> out{blob.data(), 4, 3, 112, 112};
  model::preprocess(vbatch::cuda{stream}, batch_view<const u8>(frames.view()), crops, out, {});
  // f16 for half-precision models: the layout of CUDA's __half.
  static_assert(sizeof(f16) == sizeof(__half) && alignof(f16) == alignof(__half));
  buffer<f16, device_memory> half_blob(4 * 3 * 112 * 112);
  model::preprocess(vbatch::cuda{stream}, batch_view<const u8>(frames.view()), crops,
                    model::tensor_view<f16>{half_blob.data(), 4, 3, 112, 112}, {});
}

void masks_on_device(cudaStream_t stream) {
  batch_buffer<float, device_memory> scores({2, 60, 80, 1});  // (N,h,w,1) probabilities
  batch_buffer<u8, device_memory> masks({2, 240, 320, 1});    // (N,H,W,1)
  model::score_map_to_mask(vbatch::cuda{stream}, batch_view<const float>(scores.view()), masks.view());
}

}  // namespace

int main() {
  cudaStream_t stream = nullptr;
  if (cudaStreamCreate(&stream) != cudaSuccess) return 0;  // no GPU here: linking was the test
  preprocess_on_device(stream);
  embeddings_on_device(stream);
  masks_on_device(stream);
  return cudaStreamSynchronize(stream) == cudaSuccess ? 0 : 1;
}
