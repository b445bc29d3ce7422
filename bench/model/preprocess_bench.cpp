// Model preprocessing: model::preprocess against the OpenCV loop it replaces, in the same binary
// (issue 12's goal: ≥ 3× the crops per second of the OpenCV per-crop loop).
//
//   preprocess_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Source: 4 synthetic 1920x1080 BGR u8 frames. Stretch: 64 boxes of varying size and aspect (16
// per frame, 24..623 wide, 0.6..1.8 times as tall up to 1080; whole pixels, so both sides read the
// same pixels) to 3x112x112 (faces) and 3x224x224. Letterbox: the 4 whole frames to 3x640x640
// (YOLO, pad 114). Both sides swap B and R and normalise with ImageNet's mean and one std
// (blobFromImage has a single scalefactor, so std is 1/scalefactor on every channel); a check
// before the timing requires equal outputs (max_diff: OpenCV's u8 resize rounds to a level).
// vbatch runs cpu_par{threads}; OpenCV runs cv::setNumThreads(threads) with, per crop, roi ->
// cv::resize (INTER_LINEAR, u8) -> convertTo(CV_32F), then cv::dnn::blobFromImages over the batch
// (HWC -> CHW, swapRB, mean, scale). BM_vbatch_per_pixel_stretch runs the per-pixel kernel body
// (the CUDA path) on the CPU: the schedule boxes had before the row schedule. Arguments: output
// size, threads. Counter: crops/s.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vbatch/model/preprocess.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace {

namespace model = vbatch::model;
using vbatch::u8;

constexpr int frames = 4, width = 1920, height = 1080, crops_per_batch = 64;
constexpr float mean_rgb[3] = {123.675f, 116.28f, 103.53f};  // ImageNet's, in 0..255
constexpr float scale_factor = 1.0f / 58.395f;               // blobFromImage: (v - mean) * scale_factor

// Smooth waves plus a cheap hash as noise: every byte value occurs, and no two frames are equal.
const vbatch::batch_buffer<u8>& source_frames() {
  static const vbatch::batch_buffer<u8> images = [] {
    vbatch::batch_buffer<u8> f({frames, height, width, 3});  // (N,H,W,C), BGR
    u8* p = f.data();
    for (int i = 0; i < frames; ++i)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
          for (int c = 0; c < 3; ++c) {
            const std::uint32_t h =
                (std::uint32_t(x) * 73856093u) ^ (std::uint32_t(y) * 19349663u) ^ (std::uint32_t(i * 3 + c) * 83492791u);
            const double v = 128 + 70 * std::sin(x * 0.011 + c + i) * std::cos(y * 0.017 - c) + int(h % 31) - 15;
            *p++ = static_cast<u8>(std::clamp(v, 0.0, 255.0));
          }
    return f;
  }();
  return images;
}

// 64 boxes, 16 per frame: sizes from faces (24 px) to people (~700 px), varied aspect, whole pixels.
const std::vector<model::crop>& box_crops() {
  static const std::vector<model::crop> crops = [] {
    std::vector<model::crop> c;
    std::uint32_t state = 12345;
    const auto next = [&](int range) {
      state = state * 1664525u + 1013904223u;
      return int((state >> 8) % std::uint32_t(range));
    };
    for (int i = 0; i < crops_per_batch; ++i) {
      const int w = 24 + next(600), h = std::clamp(int(w * (0.6 + next(120) / 100.0)), 24, height);
      const int x = next(width - w + 1), y = next(height - h + 1);
      c.push_back({.source = i % frames, .box = {float(x), float(y), float(x + w), float(y + h)}});
    }
    return c;
  }();
  return crops;
}

const std::vector<model::crop>& whole_frames() {
  static const std::vector<model::crop> crops = [] {
    std::vector<model::crop> c;
    for (int i = 0; i < frames; ++i) c.push_back({.source = i});
    return c;
  }();
  return crops;
}

// blobFromImage(scalefactor s, mean m, swapRB) as preprocess options: scale 1, mean m, std 1/s.
model::preprocess_options options(model::resize_mode resize) {
  model::preprocess_options o{.resize = resize,
                              .pad_value = resize == model::resize_mode::letterbox ? 114.0f : 0.0f,
                              .source_order = model::channel_order::bgr,
                              .order = model::channel_order::rgb,
                              .scale = 1.0f};
  for (int k = 0; k < 3; ++k) o.mean[k] = mean_rgb[k], o.std[k] = 1.0f / scale_factor;
  return o;
}

void report(benchmark::State& state, std::size_t crops) {
  state.counters["crops_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * double(crops), benchmark::Counter::kIsRate);
}

void vbatch_preprocess(benchmark::State& state, const std::vector<model::crop>& crops, model::resize_mode resize,
                       model::detail::cpu_path path = model::detail::best_cpu_path()) {
  const int size = static_cast<int>(state.range(0));
  const int n = static_cast<int>(crops.size());
  std::vector<float> out(std::size_t(n) * 3 * size * size);
  const model::tensor_view<float> blob{out.data(), n, 3, size, size};
  const model::preprocess_options o = options(resize);
  const vbatch::cpu_par exec{static_cast<int>(state.range(1))};
  const vbatch::batch_view<const u8> sources = source_frames().view();  // built before the timing
  for (auto _ : state) {
    benchmark::DoNotOptimize(model::detail::preprocess_with(exec, sources, crops, blob, o, path));
    benchmark::ClobberMemory();
  }
  report(state, crops.size());
}

void BM_vbatch_stretch(benchmark::State& state) { vbatch_preprocess(state, box_crops(), model::resize_mode::stretch); }
void BM_vbatch_letterbox(benchmark::State& state) { vbatch_preprocess(state, whole_frames(), model::resize_mode::letterbox); }
void BM_vbatch_per_pixel_stretch(benchmark::State& state) {
  vbatch_preprocess(state, box_crops(), model::resize_mode::stretch, model::detail::cpu_path::per_pixel);
}

#if VBATCH_HAVE_OPENCV
cv::Mat frame_mat(int i) {
  const auto& f = source_frames();
  return cv::Mat(height, width, CV_8UC3, const_cast<u8*>(f.data() + std::size_t(i) * height * width * 3));
}

// The per-crop loop a pipeline writes without vbatch. The Mats are kept across iterations (as a
// loop over frames would), so the timing is the work, not the allocator.
struct opencv_loop {
  std::vector<cv::Mat> resized, floats;
  cv::Mat blob;

  // (v - mean) * scale_factor with swapRB; blobFromImages takes the mean in the network's (RGB) order.
  void to_blob(int size) {
    cv::dnn::blobFromImages(floats, blob, scale_factor, cv::Size(size, size), cv::Scalar(mean_rgb[0], mean_rgb[1], mean_rgb[2]),
                            true, false, CV_32F);
  }
  void stretch(const std::vector<model::crop>& crops, int size) {
    resized.resize(crops.size()), floats.resize(crops.size());
    for (std::size_t i = 0; i < crops.size(); ++i) {
      const model::crop& c = crops[i];
      const cv::Rect box(int(c.box.x1), int(c.box.y1), int(c.box.x2 - c.box.x1), int(c.box.y2 - c.box.y1));
      cv::resize(frame_mat(c.source)(box), resized[i], cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
      resized[i].convertTo(floats[i], CV_32F);
    }
    to_blob(size);
  }
  // Ultralytics' LetterBox: resize to round(frame × r), centred, padded with 114.
  void letterbox(int frames_in, int size) {
    resized.resize(frames_in), floats.resize(frames_in);
    const double r = std::min(double(size) / width, double(size) / height);
    const int w = int(std::lround(width * r)), h = int(std::lround(height * r)), left = (size - w) / 2, top = (size - h) / 2;
    cv::Mat content;
    for (int i = 0; i < frames_in; ++i) {
      cv::resize(frame_mat(i), content, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
      cv::copyMakeBorder(content, resized[i], top, size - h - top, left, size - w - left, cv::BORDER_CONSTANT,
                         cv::Scalar::all(114));
      resized[i].convertTo(floats[i], CV_32F);
    }
    to_blob(size);
  }
};

// Both sides must do the same job: the OpenCV blob must equal vbatch's within OpenCV's u8 rounding
// (about a level, 1/58 after normalisation), else the comparison is void.
bool same_output(benchmark::State& state, const opencv_loop& cv_side, const std::vector<model::crop>& crops,
                 model::resize_mode resize, int size) {
  std::vector<float> out(std::size_t(crops.size()) * 3 * size * size);
  model::preprocess(vbatch::cpu_serial{}, source_frames().view(), crops,
                    model::tensor_view<float>{out.data(), int(crops.size()), 3, size, size}, options(resize));
  const float* theirs = cv_side.blob.ptr<float>();
  double worst = 0;
  for (std::size_t k = 0; k < out.size(); ++k) worst = std::max(worst, double(std::abs(out[k] - theirs[k])));
  state.counters["max_diff"] = worst;
  if (cv_side.blob.total() != out.size() || worst > 0.05) {
    state.SkipWithError("the OpenCV loop and model::preprocess disagree");
    return false;
  }
  return true;
}

void opencv_preprocess(benchmark::State& state, const std::vector<model::crop>& crops, model::resize_mode resize) {
  const int size = static_cast<int>(state.range(0));
  const auto run = [&](opencv_loop& loop) {
    if (resize == model::resize_mode::stretch)
      loop.stretch(crops, size);
    else
      loop.letterbox(int(crops.size()), size);
  };
  opencv_loop loop;
  const int old_threads = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(1)));
  run(loop);
  if (same_output(state, loop, crops, resize, size))
    for (auto _ : state) {
      run(loop);
      benchmark::DoNotOptimize(loop.blob.data);
      benchmark::ClobberMemory();
    }
  cv::setNumThreads(old_threads);
  report(state, crops.size());
}

void BM_opencv_stretch(benchmark::State& state) { opencv_preprocess(state, box_crops(), model::resize_mode::stretch); }
void BM_opencv_letterbox(benchmark::State& state) { opencv_preprocess(state, whole_frames(), model::resize_mode::letterbox); }
#endif

void stretch_cases(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "threads"});
  for (int size : {112, 224})
    for (int threads : {1, 2}) b->Args({size, threads});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}
void letterbox_cases(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "threads"})->Args({640, 1})->Args({640, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_vbatch_stretch)->Apply(stretch_cases);
BENCHMARK(BM_vbatch_letterbox)->Apply(letterbox_cases);
BENCHMARK(BM_vbatch_per_pixel_stretch)->Apply(stretch_cases);
#if VBATCH_HAVE_OPENCV
BENCHMARK(BM_opencv_stretch)->Apply(stretch_cases);
BENCHMARK(BM_opencv_letterbox)->Apply(letterbox_cases);
#endif

}  // namespace

BENCHMARK_MAIN();
