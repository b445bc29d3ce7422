// Running a model in batches: model::run_model with batch::fixed(64) against the same model called
// one crop at a time (preprocess 1 + forward 1, the seed's approach), through the OpenCV DNN
// adapter (issue 12's goal: the batched run ≥ 2× the crops per second of the one-at-a-time loop).
//
//   run_model_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   VBATCH_EMBEDDER_ONNX=/path/to/embedder.onnx run_model_bench      (default: tests/data/models/)
//
// The model is tests/data/models/embedder.onnx (input (N,3,16,16), output (N,8), about 55,000
// FLOPs per item): tiny, so per-call costs (OpenCV's blob setup and layer dispatch, our preprocess
// launch) weigh far more than with a real network; the figures are about those costs, not about
// inference speed. 256 crops of varying boxes from 4 synthetic 1920x1080 frames, stretched to
// 16x16. Argument: threads (cpu_par for preprocessing, cv::setNumThreads for OpenCV's layers).
// Counter: crops/s. The `opencv_blob` rows replace vbatch's preprocess by cv::dnn::blobFromImage
// per crop, the loop as written without vbatch at all.

#include <benchmark/benchmark.h>

#if VBATCH_HAVE_OPENCV

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "vbatch/model/adapters/opencv_dnn.hpp"
#include "vbatch/model/batch_model.hpp"

namespace {

namespace model = vbatch::model;
using vbatch::u8;

constexpr int frames = 4, width = 1920, height = 1080, item_count = 256, size = 16, batch_size = 64;

// Benches get no test-data definition from CMake: the environment, else this file's checkout.
std::filesystem::path model_file() {
  if (const char* path = std::getenv("VBATCH_EMBEDDER_ONNX")) return path;
  return std::filesystem::path(__FILE__).parent_path() / "../../tests/data/models/embedder.onnx";
}

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

// 256 whole-pixel boxes (24..623 wide, 0.6..1.8 times as tall up to 1080), spread over the frames.
const std::vector<model::crop>& box_crops() {
  static const std::vector<model::crop> crops = [] {
    std::vector<model::crop> c;
    std::uint32_t state = 54321;
    const auto next = [&](int range) {
      state = state * 1664525u + 1013904223u;
      return int((state >> 8) % std::uint32_t(range));
    };
    for (int i = 0; i < item_count; ++i) {
      const int w = 24 + next(600), h = std::clamp(int(w * (0.6 + next(120) / 100.0)), 24, height);
      const int x = next(width - w + 1), y = next(height - h + 1);
      c.push_back({.source = i % frames, .box = {float(x), float(y), float(x + w), float(y + h)}});
    }
    return c;
  }();
  return crops;
}

constexpr model::preprocess_options options{.source_order = model::channel_order::bgr,
                                            .order = model::channel_order::rgb,
                                            .mean = {0.5f, 0.5f, 0.5f},
                                            .std = {0.5f, 0.5f, 0.5f}};

using embedder = model::opencv_dnn<model::matrix_view<float>>;

void report(benchmark::State& state) {
  state.counters["crops_per_s"] = benchmark::Counter(double(state.iterations()) * item_count, benchmark::Counter::kIsRate);
}

// Runs `body` with OpenCV at the argument's thread count, the model loaded once outside the timing.
template <class Body>
void with_model(benchmark::State& state, Body body) {
  const int old_threads = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  try {
    embedder net(model_file(), {.input = {3, size, size}});
    std::vector<float> out(std::size_t(item_count) * net.output_shape().elements());
    const model::matrix_view<float> rows{out.data(), item_count, int(net.output_shape().elements())};
    source_frames();
    body(net, rows);
  } catch (const vbatch::error& e) {
    state.SkipWithError(e.what());
  }
  cv::setNumThreads(old_threads);
  report(state);
}

void BM_run_model_batched(benchmark::State& state) {
  with_model(state, [&](embedder& net, model::matrix_view<float> rows) {
    const vbatch::cpu_par exec{static_cast<int>(state.range(0))};
    for (auto _ : state) {
      vbatch::batch::fixed policy(batch_size);
      model::run_model(exec, net, source_frames().view(), box_crops(), policy, rows, options);
      benchmark::DoNotOptimize(rows.data);
      benchmark::ClobberMemory();
    }
  });
}

// The seed's loop: one crop preprocessed, one forward, 256 times.
void BM_one_at_a_time(benchmark::State& state) {
  with_model(state, [&](embedder& net, model::matrix_view<float> rows) {
    const vbatch::cpu_par exec{static_cast<int>(state.range(0))};
    std::vector<float> input(3 * size * size);
    const model::tensor_view<float> one{input.data(), 1, 3, size, size};
    const std::span<const model::crop> crops = box_crops();
    for (auto _ : state) {
      for (int i = 0; i < item_count; ++i) {
        model::preprocess(exec, source_frames().view(), crops.subspan(i, 1), one, options);
        net(one, rows.rows_of(i, 1));
      }
      benchmark::DoNotOptimize(rows.data);
      benchmark::ClobberMemory();
    }
  });
}

// Without vbatch: blobFromImage per crop (resize, swapRB, (v/255 - 0.5) / 0.5 as scale 2/255 and
// mean 127.5), then the adapter's forward on that one-item blob.
void BM_one_at_a_time_opencv_blob(benchmark::State& state) {
  with_model(state, [&](embedder& net, model::matrix_view<float> rows) {
    const std::vector<model::crop>& crops = box_crops();
    cv::Mat blob;
    for (auto _ : state) {
      for (int i = 0; i < item_count; ++i) {
        const model::crop& c = crops[i];
        const cv::Mat frame(height, width, CV_8UC3,
                            const_cast<u8*>(source_frames().data() + std::size_t(c.source) * height * width * 3));
        const cv::Rect box(int(c.box.x1), int(c.box.y1), int(c.box.x2 - c.box.x1), int(c.box.y2 - c.box.y1));
        cv::dnn::blobFromImage(frame(box), blob, 2.0 / 255, cv::Size(size, size), cv::Scalar::all(127.5), true, false, CV_32F);
        net(model::tensor_view<const float>{blob.ptr<float>(), 1, 3, size, size}, rows.rows_of(i, 1));
      }
      benchmark::DoNotOptimize(rows.data);
      benchmark::ClobberMemory();
    }
  });
}

// The parts, to see where the time goes: preprocessing the 256 crops (in batches of 64), and the
// forward alone on 4 batches of 64 or 256 single items (inputs preprocessed once, outside the timing).
void BM_part_preprocess(benchmark::State& state) {
  with_model(state, [&](embedder&, model::matrix_view<float>) {
    const vbatch::cpu_par exec{static_cast<int>(state.range(0))};
    std::vector<float> input(std::size_t(batch_size) * 3 * size * size);
    const model::tensor_view<float> blob{input.data(), batch_size, 3, size, size};
    const std::span<const model::crop> crops = box_crops();
    for (auto _ : state)
      for (int first = 0; first < item_count; first += batch_size)
        benchmark::DoNotOptimize(
            model::preprocess(exec, source_frames().view(), crops.subspan(first, batch_size), blob, options));
  });
}

void forward_only(benchmark::State& state, int per_call) {
  with_model(state, [&](embedder& net, model::matrix_view<float> rows) {
    std::vector<float> input(std::size_t(item_count) * 3 * size * size);
    const model::tensor_view<float> all{input.data(), item_count, 3, size, size};
    model::preprocess(vbatch::cpu_serial{}, source_frames().view(), box_crops(), all, options);
    for (auto _ : state) {
      for (int first = 0; first < item_count; first += per_call)
        net(model::tensor_view<const float>(all.items(first, per_call)), rows.rows_of(first, per_call));
      benchmark::DoNotOptimize(rows.data);
      benchmark::ClobberMemory();
    }
  });
}
void BM_part_forward_batched(benchmark::State& state) { forward_only(state, batch_size); }
void BM_part_forward_single(benchmark::State& state) { forward_only(state, 1); }

BENCHMARK(BM_run_model_batched)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_one_at_a_time)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_one_at_a_time_opencv_blob)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_part_preprocess)->ArgName("threads")->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_part_forward_batched)->ArgName("threads")->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_part_forward_single)->ArgName("threads")->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

#endif  // VBATCH_HAVE_OPENCV: the adapter needs OpenCV's dnn; without it this program runs nothing

BENCHMARK_MAIN();
