// Cosine similarity of 10,000 × 512-d embeddings against themselves (a 10,000 × 10,000 matrix),
// beside a plain matrix multiply of the same size as the machine's matrix-multiply rate: the BLAS's
// sgemm where one is installed (Debian's libblas.so.3; OpenBLAS's when libopenblas0 is installed,
// as scripts/setup.sh does for dlib), cv::gemm (CV_32F) where OpenCV is installed, else a naive
// triple loop.
//
//   similarity_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Argument: threads (cpu_par for vbatch, cv::setNumThreads for OpenCV). Counter: FLOP per second at
// 2·N·N·D floating-point operations per call (the normalisation is not counted).

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "vbatch/model/embedding.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/core.hpp>
#endif
#if VBATCH_HAVE_CBLAS
#include <cblas.h>
// OpenBLAS's thread control; absent (null) when libblas.so.3 is another BLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace {

namespace model = vbatch::model;

constexpr int items = 10000, dimension = 512;

const std::vector<float>& embeddings() {
  static const std::vector<float> values = [] {
    std::vector<float> v(std::size_t(items) * dimension);
    std::mt19937 rng(3);
    std::normal_distribution<float> gauss;
    for (float& x : v) x = gauss(rng);
    return v;
  }();
  return values;
}

void report(benchmark::State& state) {
  state.counters["FLOP"] =
      benchmark::Counter(2.0 * items * items * dimension * double(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_vbatch_cosine_similarity(benchmark::State& state) {
  const model::matrix_view<const float> e{embeddings().data(), items, dimension};
  std::vector<float> out(std::size_t(items) * items);
  const vbatch::cpu_par exec{static_cast<int>(state.range(0))};
  for (auto _ : state) {
    model::cosine_similarity(exec, e, e, model::matrix_view<float>{out.data(), items, items});
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report(state);
}
BENCHMARK(BM_vbatch_cosine_similarity)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

#if VBATCH_HAVE_CBLAS
void BM_blas_sgemm(benchmark::State& state) {
  const std::vector<float>& e = embeddings();
  std::vector<float> out(std::size_t(items) * items);
  if (openblas_set_num_threads) openblas_set_num_threads(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, items, items, dimension, 1.0f, e.data(), dimension, e.data(), dimension,
                0.0f, out.data(), items);  // E·Eᵀ
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  if (!openblas_set_num_threads) state.SetLabel("not OpenBLAS: thread count not set");
  report(state);
}
BENCHMARK(BM_blas_sgemm)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

#if VBATCH_HAVE_OPENCV
void BM_opencv_gemm(benchmark::State& state) {
  const cv::Mat e(items, dimension, CV_32F, const_cast<float*>(embeddings().data()));
  cv::Mat out(items, items, CV_32F);
  const int old_threads = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    cv::gemm(e, e, 1.0, cv::noArray(), 0.0, out, cv::GEMM_2_T);  // E·Eᵀ
    benchmark::DoNotOptimize(out.data);
    benchmark::ClobberMemory();
  }
  cv::setNumThreads(old_threads);
  report(state);
}
BENCHMARK(BM_opencv_gemm)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
#else
// Without OpenCV: E·Eᵀ as the plain loop a compiler sees in ordinary code (dot products of rows).
void BM_naive_gemm(benchmark::State& state) {
  const std::vector<float>& e = embeddings();
  std::vector<float> out(std::size_t(items) * items);
  for (auto _ : state) {
    for (int i = 0; i < items; ++i)
      for (int j = 0; j < items; ++j) {
        float sum = 0;
        for (int k = 0; k < dimension; ++k) sum += e[std::size_t(i) * dimension + k] * e[std::size_t(j) * dimension + k];
        out[std::size_t(i) * items + j] = sum;
      }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report(state);
}
BENCHMARK(BM_naive_gemm)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

}  // namespace

BENCHMARK_MAIN();
