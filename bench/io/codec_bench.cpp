// The image codecs on this machine, one thread: decoding an 8K equirectangular JPEG (7680x3840,
// q92) and encoding a 1920x1080 view as JPEG (q92) and PNG, with each engine built in, and
// OpenCV's imdecode/imencode (libjpeg-turbo and libpng at OpenCV's defaults) as the baseline.
//
//   codec_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// The images are the demo scene (vbatch/sample/synthetic.hpp), rendered once: smooth regions,
// edges and text-like detail, like a real panorama. Counters: MPix/s and the encoded size.

#include <benchmark/benchmark.h>

#include <vector>

#include "vbatch/io/image_io.hpp"
#include "vbatch/vbatch.hpp"

#if VBATCH_HAVE_OPENCV && __has_include(<opencv2/imgcodecs.hpp>)
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#define VBATCH_BENCH_OPENCV 1
#endif

namespace {

namespace vb = vbatch;

const vb::batch_buffer<vb::u8>& panorama() {  // (1,3840,7680,3)
  static const auto pano = vb::sample::render_equirect(7680, 3840, 3, vb::sample::demo_scene);
  return pano;
}
const vb::batch_buffer<vb::u8>& view() {  // (1,1080,1920,3): one camera of the panorama
  static const auto v =
      vb::sample::e2p(vb::cpu_par{}, vb::batch_view<const vb::u8>(panorama().view()), vb::sample::ring_rig(1, 0, 1920, 1080, 90));
  return v;
}
const std::vector<unsigned char>& panorama_jpeg() {
  static const auto bytes = vb::io::encode_image<vb::io::codec::stb>(vb::io::image_format::jpeg, panorama().view(), {92});
  return bytes;
}

template <class Codec>
void decode_8k_jpeg(benchmark::State& state) {
  const auto& bytes = panorama_jpeg();
  vb::batch_buffer<vb::u8> out({1, 3840, 7680, 3});
  for (auto _ : state) vb::io::decode_image<Codec>(bytes, "pano.jpg", 3, {}, [&](const vb::io::image_info&) { return out.view(); });
  state.counters["MPix/s"] = benchmark::Counter(7680.0 * 3840 * double(state.iterations()) / 1e6, benchmark::Counter::kIsRate);
}

template <class Codec>
void encode_1080p(benchmark::State& state, vb::io::image_format format) {
  std::size_t size = 0;
  for (auto _ : state) size = vb::io::encode_image<Codec>(format, view().view(), {92}).size();
  state.counters["MPix/s"] = benchmark::Counter(1920.0 * 1080 * double(state.iterations()) / 1e6, benchmark::Counter::kIsRate);
  state.counters["KB"] = double(size) / 1e3;
}

#if VBATCH_BENCH_OPENCV
void opencv_decode_8k_jpeg(benchmark::State& state) {
  cv::setNumThreads(1);
  const cv::Mat bytes(1, int(panorama_jpeg().size()), CV_8UC1, const_cast<unsigned char*>(panorama_jpeg().data()));
  for (auto _ : state) benchmark::DoNotOptimize(cv::imdecode(bytes, cv::IMREAD_COLOR));
  state.counters["MPix/s"] = benchmark::Counter(7680.0 * 3840 * double(state.iterations()) / 1e6, benchmark::Counter::kIsRate);
}
void opencv_encode_1080p(benchmark::State& state, const char* ext, std::vector<int> params) {
  cv::setNumThreads(1);
  const cv::Mat image(1080, 1920, CV_8UC3, const_cast<vb::u8*>(view().data()));
  std::vector<unsigned char> out;
  for (auto _ : state) cv::imencode(ext, image, out, params);
  state.counters["MPix/s"] = benchmark::Counter(1920.0 * 1080 * double(state.iterations()) / 1e6, benchmark::Counter::kIsRate);
  state.counters["KB"] = double(out.size()) / 1e3;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  using vb::io::image_format;
  const auto ms = [](benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMillisecond); };
  ms(benchmark::RegisterBenchmark("decode_8k_jpeg/stb", decode_8k_jpeg<vb::io::codec::stb>));
  ms(benchmark::RegisterBenchmark("encode_1080p_jpeg/stb", encode_1080p<vb::io::codec::stb>, image_format::jpeg));
  ms(benchmark::RegisterBenchmark("encode_1080p_png/stb", encode_1080p<vb::io::codec::stb>, image_format::png));
#if defined(VBATCH_HAVE_TURBOJPEG)
  ms(benchmark::RegisterBenchmark("decode_8k_jpeg/libjpeg-turbo", decode_8k_jpeg<vb::io::codec::turbojpeg>));
  ms(benchmark::RegisterBenchmark("encode_1080p_jpeg/libjpeg-turbo", encode_1080p<vb::io::codec::turbojpeg>, image_format::jpeg));
#endif
#if defined(VBATCH_HAVE_LIBPNG)
  ms(benchmark::RegisterBenchmark("encode_1080p_png/libpng-level1", encode_1080p<vb::io::codec::libpng>, image_format::png));
#endif
#if VBATCH_BENCH_OPENCV
  ms(benchmark::RegisterBenchmark("decode_8k_jpeg/opencv", opencv_decode_8k_jpeg));
  ms(benchmark::RegisterBenchmark("encode_1080p_jpeg/opencv", opencv_encode_1080p, ".jpg",
                                  std::vector<int>{cv::IMWRITE_JPEG_QUALITY, 92}));
  ms(benchmark::RegisterBenchmark("encode_1080p_png/opencv-default", opencv_encode_1080p, ".png", std::vector<int>{}));
  ms(benchmark::RegisterBenchmark("encode_1080p_png/opencv-level1", opencv_encode_1080p, ".png",
                                  std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, 1}));
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
