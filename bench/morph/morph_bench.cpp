// Morphology on 1920x1080 u8 images: vbatch against cv::dilate in the same binary.
//
//   morph_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Cases: binary masks (0/255, person-like blobs) and gray images (smooth noise), squares 3, 15,
// 31, 61 and disks r = 7, 15, 30 (OpenCV's MORPH_ELLIPSE of 2r+1), at 1 and 2 threads
// (cv::setNumThreads matches vbatch's cpu_par). Counters: ms per image and MPix/s. vbatch runs its
// automatic algorithm (packed bits for masks, van Herk for squares, row segments for disks); the
// `_direct` and `_segment_levels` rows run the per-pixel kernels the GPU runs (the same
// VBATCH_HOST_DEVICE bodies) on the CPU: their ratio is the work the GPU saves on disks, since
// no GPU is available here to time them.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "vbatch/morph/morphology.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace {

namespace morph = vbatch::morph;
using vbatch::u8;

constexpr int width = 1920, height = 1080;

// Filled ellipses of person size (a head and a body each) on an empty mask: 0/255.
const vbatch::batch_buffer<u8>& mask_image() {
  static const vbatch::batch_buffer<u8> mask = [] {
    vbatch::batch_buffer<u8> m({1, height, width, 1});  // (1,H,W,1)
    std::fill_n(m.data(), m.shape().elements(), u8(0));
    std::mt19937 rng(7);
    const auto blob = [&](double cx, double cy, double rx, double ry) {
      for (int y = std::max(0, int(cy - ry)); y < std::min(height, int(cy + ry) + 1); ++y)
        for (int x = std::max(0, int(cx - rx)); x < std::min(width, int(cx + rx) + 1); ++x)
          if ((x - cx) * (x - cx) / (rx * rx) + (y - cy) * (y - cy) / (ry * ry) <= 1) m.data()[y * width + x] = 255;
    };
    for (int person = 0; person < 6; ++person) {
      const double cx = 150 + rng() % (width - 300), cy = 300 + rng() % (height - 500), s = 0.6 + (rng() % 100) / 100.0;
      blob(cx, cy - 210 * s, 45 * s, 55 * s);  // head
      blob(cx, cy, 110 * s, 170 * s);          // body
      blob(cx - 40 * s, cy + 230 * s, 30 * s, 110 * s);
      blob(cx + 40 * s, cy + 230 * s, 30 * s, 110 * s);
    }
    return m;
  }();
  return mask;
}

// A smooth gray image (a sum of waves plus noise): every byte value occurs.
const vbatch::batch_buffer<u8>& gray_image() {
  static const vbatch::batch_buffer<u8> gray = [] {
    vbatch::batch_buffer<u8> g({1, height, width, 1});  // (1,H,W,1)
    std::mt19937 rng(8);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const double v =
            128 + 60 * std::sin(x * 0.013) * std::cos(y * 0.021) + 40 * std::sin((x + y) * 0.005) + int(rng() % 41) - 20;
        g.data()[y * width + x] = static_cast<u8>(std::clamp(v, 0.0, 255.0));
      }
    return g;
  }();
  return gray;
}

// Arguments: image (0 mask, 1 gray), shape (0 square of side `size`, 1 disk of radius `size`), size, threads.
morph::structuring_element element_of(const benchmark::State& state) {
  const int size = static_cast<int>(state.range(2));
  return state.range(1) == 0 ? morph::square(size) : morph::disk(size);
}
const vbatch::batch_buffer<u8>& image_of(const benchmark::State& state) {
  return state.range(0) == 0 ? mask_image() : gray_image();
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * std::int64_t{width} * height);
  state.counters["ms_per_image"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1e-3,
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void vbatch_dilate(benchmark::State& state, morph::algorithm algorithm) {
  const auto& src = image_of(state);
  const morph::structuring_element e = element_of(state);
  vbatch::batch_buffer<u8> dst(src.shape());
  const vbatch::cpu_par exec{static_cast<int>(state.range(3))};
  for (auto _ : state) {
    morph::dilate(exec, src.view(), dst.view(), e, {1, algorithm});
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  report(state);
}

void BM_vbatch_dilate(benchmark::State& state) { vbatch_dilate(state, morph::algorithm::automatic); }
void BM_vbatch_dilate_direct(benchmark::State& state) { vbatch_dilate(state, morph::algorithm::direct); }
void BM_vbatch_dilate_segments(benchmark::State& state) { vbatch_dilate(state, morph::algorithm::segments); }
void BM_vbatch_dilate_van_herk(benchmark::State& state) { vbatch_dilate(state, morph::algorithm::van_herk); }
void BM_vbatch_dilate_segment_levels(benchmark::State& state) { vbatch_dilate(state, morph::algorithm::segment_levels); }

#if VBATCH_HAVE_OPENCV
void BM_opencv_dilate(benchmark::State& state) {
  const auto& src = image_of(state);
  const int size = static_cast<int>(state.range(2));
  const cv::Mat kernel = state.range(1) == 0 ? cv::getStructuringElement(cv::MORPH_RECT, cv::Size(size, size))
                                             : cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * size + 1, 2 * size + 1));
  const cv::Mat in(height, width, CV_8U, const_cast<u8*>(src.data()));
  cv::Mat out(height, width, CV_8U);
  const int old_threads = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(3)));
  for (auto _ : state) {
    cv::dilate(in, out, kernel);
    benchmark::DoNotOptimize(out.data);
    benchmark::ClobberMemory();
  }
  cv::setNumThreads(old_threads);
  report(state);
}
#endif

// image x shape x size x threads, as the issue asks: squares 3/15/31/61, disks 7/15/30, 1 and 2 threads.
void cases(benchmark::internal::Benchmark* b) {
  b->ArgNames({"gray", "disk", "size", "threads"});
  for (int image : {0, 1})
    for (int threads : {1, 2}) {
      for (int size : {3, 15, 31, 61}) b->Args({image, 0, size, threads});
      for (int r : {7, 15, 30}) b->Args({image, 1, r, threads});
    }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
void squares(benchmark::internal::Benchmark* b) {
  b->ArgNames({"gray", "disk", "size", "threads"});
  for (int image : {0, 1})
    for (int size : {3, 15, 61}) b->Args({image, 0, size, 1});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_vbatch_dilate)->Apply(cases);
#if VBATCH_HAVE_OPENCV
BENCHMARK(BM_opencv_dilate)->Apply(cases);
#endif
BENCHMARK(BM_vbatch_dilate_van_herk)->Apply(squares);
BENCHMARK(BM_vbatch_dilate_segments)
    ->Args({0, 1, 7, 1})
    ->Args({1, 1, 7, 1})
    ->Args({1, 1, 30, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_vbatch_dilate_direct)
    ->Args({0, 0, 15, 1})
    ->Args({0, 1, 7, 1})
    ->Args({0, 1, 15, 1})
    ->Args({1, 1, 15, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// The GPU's algorithm for disks against direct, on one CPU thread (the same kernel bodies).
BENCHMARK(BM_vbatch_dilate_segment_levels)
    ->Args({0, 1, 7, 1})
    ->Args({0, 1, 15, 1})
    ->Args({1, 1, 15, 1})
    ->Args({0, 1, 30, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
