// The 360° split: one 8K equirectangular frame (7680×3840, 3 channels) into 8 perspective views
// of 1920×1080 (ring of 8 yaws, 90° horizontal FOV), per map policy, interpolation, element type
// and thread count; baselines in the same binary: cv::remap with the same interpolation from
// precomputed float maps (CV_32FC1 x2), and for u8 bilinear also from fixed-point maps (CV_16SC2 +
// CV_16UC1), BORDER_WRAP, one call per camera; and memcpy, for the memory-bandwidth bound.
// items_per_second counts output pixels.
//
//   build/release/bench/remap_bench --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>

#include <cstring>
#include <type_traits>
#include <vector>

#include "vbatch/sample/e2p.hpp"
#include "vbatch/sample/synthetic.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace {

using namespace vbatch;
using namespace vbatch::sample;

constexpr int source_w = 7680, source_h = 3840, view_w = 1920, view_h = 1080, cameras = 8;

const batch_buffer<u8>& frame() {
  static const batch_buffer<u8> f = render_equirect(source_w, source_h, 3, demo_scene);  // (1,3840,7680,3)
  return f;
}

// The same frame as floats in [0, 255].
const batch_buffer<f32>& frame_f32() {
  static const batch_buffer<f32> f = [] {
    batch_buffer<f32> out({1, source_h, source_w, 3});  // (1,3840,7680,3)
    const u8* in = frame().data();
    for (std::int64_t i = 0; i < out.view().shape().elements(); ++i) out.data()[i] = in[i];
    return out;
  }();
  return f;
}

template <class T>
batch_view<const T> frame_as() {
  if constexpr (std::is_same_v<T, f32>)
    return frame_f32().view();
  else
    return frame().view();
}

const rig& ring() {
  static const rig r = ring_rig(cameras, 0, view_w, view_h, 90);
  return r;
}

void set_output_counters(benchmark::State& state, std::int64_t element_bytes) {
  const std::int64_t pixels = cameras * std::int64_t{view_w} * view_h;
  state.SetItemsProcessed(state.iterations() * pixels);
  state.SetBytesProcessed(state.iterations() * pixels * 3 * element_bytes);
  state.counters["out_MPix/s"] =
      benchmark::Counter(double(state.iterations()) * double(pixels) / 1e6, benchmark::Counter::kIsRate);
}

template <class Policy, class Interp, class T = u8>
void vbatch_e2p(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const auto map = make_e2p_map<Policy>(ring(), source_w, source_h);
  batch_buffer<T> views({cameras, view_h, view_w, 3});  // (8,1080,1920,3)
  const cpu_par exec{threads};
  const batch_view<const T> pano = frame_as<T>();  // (1,3840,7680,3), made before timing
  for (auto _ : state) {
    e2p(exec, pano, map, views.view(), Interp{});
    benchmark::DoNotOptimize(views.data());
    benchmark::ClobberMemory();
  }
  set_output_counters(state, sizeof(T));
  state.counters["map_MB"] = double(map.bytes()) / 1e6;
}

template <class Policy>
void vbatch_build_map(benchmark::State& state) {
  const cpu_par exec{static_cast<int>(state.range(0))};
  for (auto _ : state) benchmark::DoNotOptimize(make_e2p_map<Policy>(ring(), source_w, source_h, exec).bytes());
}

void memcpy_bandwidth(benchmark::State& state) {
  const std::size_t bytes = std::size_t{256} << 20;
  std::vector<char> a(bytes, 1), b(bytes, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * std::int64_t(bytes) * 2);  // read + write
}

#if VBATCH_HAVE_OPENCV
// The float maps cv::remap takes, from vbatch's double-precision map (same geometry).
std::vector<std::pair<cv::Mat, cv::Mat>> opencv_maps(bool fixed_point) {
  const auto map = make_e2p_map<maps::cached_float>(ring(), source_w, source_h);
  std::vector<std::pair<cv::Mat, cv::Mat>> maps;
  for (int k = 0; k < cameras; ++k) {
    cv::Mat mx(view_h, view_w, CV_32FC1), my(view_h, view_w, CV_32FC1);
    for (int y = 0; y < view_h; ++y)
      for (int x = 0; x < view_w; ++x) {
        const auto p = map.view().at(k, y, x);
        mx.at<float>(y, x) = p.x;
        my.at<float>(y, x) = p.y;
      }
    if (fixed_point) {
      cv::Mat m1, m2;
      cv::convertMaps(mx, my, m1, m2, CV_16SC2);
      maps.emplace_back(m1, m2);
    } else {
      maps.emplace_back(mx, my);
    }
  }
  return maps;
}

// cv::remap of every camera at `threads` threads, like vbatch_e2p<..., Interp, T>.
template <class T>
void opencv_remap(benchmark::State& state, int interpolation, bool fixed_point) {
  const int saved_threads = cv::getNumThreads();
  cv::setNumThreads(static_cast<int>(state.range(0)));
  const auto maps = opencv_maps(fixed_point);
  const int type = std::is_same_v<T, f32> ? CV_32FC3 : CV_8UC3;
  const cv::Mat src(source_h, source_w, type, const_cast<T*>(frame_as<T>().data));
  std::vector<cv::Mat> views(cameras);
  for (auto& v : views) v = cv::Mat(view_h, view_w, type);
  for (auto _ : state) {
    for (int k = 0; k < cameras; ++k) cv::remap(src, views[k], maps[k].first, maps[k].second, interpolation, cv::BORDER_WRAP);
    benchmark::ClobberMemory();
  }
  set_output_counters(state, sizeof(T));
  cv::setNumThreads(saved_threads);
}
void opencv_remap_float(benchmark::State& state) { opencv_remap<u8>(state, cv::INTER_LINEAR, false); }
void opencv_remap_fixed(benchmark::State& state) { opencv_remap<u8>(state, cv::INTER_LINEAR, true); }
void opencv_remap_nearest(benchmark::State& state) { opencv_remap<u8>(state, cv::INTER_NEAREST, false); }
void opencv_remap_bicubic(benchmark::State& state) { opencv_remap<u8>(state, cv::INTER_CUBIC, false); }
void opencv_remap_f32(benchmark::State& state) { opencv_remap<f32>(state, cv::INTER_LINEAR, false); }
BENCHMARK(opencv_remap_float)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(opencv_remap_fixed)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(opencv_remap_nearest)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(opencv_remap_bicubic)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(opencv_remap_f32)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

BENCHMARK(vbatch_e2p<maps::cached_fixed, interp::bilinear>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_e2p<maps::cached_float, interp::bilinear>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_e2p<maps::on_the_fly, interp::bilinear>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_e2p<maps::cached_fixed, interp::nearest>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_e2p<maps::cached_float, interp::nearest>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_e2p<maps::cached_float, interp::bicubic>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_e2p<maps::cached_float, interp::bilinear, f32>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_build_map<maps::cached_fixed>)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(memcpy_bandwidth)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
