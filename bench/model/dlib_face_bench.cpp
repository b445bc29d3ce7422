// dlib's 128-D face ResNet in batches against dlib's own one-face-at-a-time path, the loop of the
// `face_recognition` package and of the seed pipelines (issue 12's goal: batched ≥ 2× the crops
// per second of the one-at-a-time loop).
//
//   dlib_face_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Faces: the 11 found by the HOG detector in 4 real photos (obama.jpg, obama2.jpg, biden.jpg and
// the group photo t1.jpg; see docs/model.md), each embedded 3 times: 33 crops per iteration.
// - batched/N: model::run_model over the photo's faces, batch::fixed(N), preprocess on cpu_par, the
//   embedder splitting each batch over every core, OpenBLAS on 1 thread (set_openblas_threads);
// - dlib_one_at_a_time/T: per face, dlib::extract_image_chip (u8 chip) and the network on 1 chip,
//   OpenBLAS on T threads (dlib's own path gets its parallelism only from the BLAS).
// Counter: crops/s. dlib's layers run on the BLAS (OpenBLAS when installed); the figure is CPU
// inference, not GPU.

#include <benchmark/benchmark.h>

#if VBATCH_HAVE_DLIB_FACE_DATA

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "vbatch/batch/policy.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/model/adapters/dlib_face.hpp"
#include "vbatch/model/batch_model.hpp"

namespace {

namespace model = vbatch::model;
using vbatch::u8;
constexpr int repeats = 3;

struct photo {
  vbatch::batch_buffer<u8> pixels;
  dlib::matrix<dlib::rgb_pixel> image;  // the same pixels, for dlib's own path
  std::vector<model::crop> crops;
  std::vector<dlib::chip_details> chips;
};

model::dlib_face_embedder& embedder() {
  static model::dlib_face_embedder e(std::filesystem::path(VBATCH_FACE_MODELS_DIR) / "dlib_face_recognition_resnet_model_v1.dat");
  return e;
}

const std::vector<photo>& photos() {
  static const std::vector<photo> all = [] {
    const std::filesystem::path models = VBATCH_FACE_MODELS_DIR, dir = VBATCH_FACE_PHOTOS_DIR;
    model::dlib_face_detector detect(models / "shape_predictor_5_face_landmarks.dat");
    dlib::shape_predictor predictor;
    dlib::deserialize((models / "shape_predictor_5_face_landmarks.dat").string()) >> predictor;
    std::vector<photo> out;
    for (const char* name : {"obama.jpg", "obama2.jpg", "biden.jpg", "t1.jpg"}) {
      photo p{vbatch::io::load_image(dir / name, 3), {}, {}, {}};
      const auto v = p.pixels.view();
      p.image.set_size(v.h, v.w);
      for (int y = 0; y < v.h; ++y)
        for (int x = 0; x < v.w; ++x)
          p.image(y, x) = dlib::rgb_pixel(v.pixel(0, y, x)[0], v.pixel(0, y, x)[1], v.pixel(0, y, x)[2]);
      for (const model::dlib_face& f : detect(p.pixels.view(), 0)) {
        const dlib::rectangle r(long(f.box.x1 + 0.5f), long(f.box.y1 + 0.5f), long(f.box.x2 + 0.5f) - 1,
                                long(f.box.y2 + 0.5f) - 1);
        for (int k = 0; k < repeats; ++k) {
          p.crops.push_back(f.crop);
          p.chips.push_back(dlib::get_face_chip_details(predictor(p.image, r), 150, 0.25));
        }
      }
      out.push_back(std::move(p));
    }
    return out;
  }();
  return all;
}

std::size_t crop_count() {
  std::size_t n = 0;
  for (const photo& p : photos()) n += p.crops.size();
  return n;
}

void batched(benchmark::State& state) {
  const std::size_t batch = std::size_t(state.range(0));
  std::vector<float> rows(crop_count() * 128);
  const int blas_threads = model::set_openblas_threads(1);
  for (auto _ : state) {
    std::size_t first = 0;
    for (const photo& p : photos()) {
      vbatch::batch::fixed policy{batch};
      model::run_model(vbatch::cpu_par{}, embedder(), p.pixels.view(), p.crops, policy,
                       model::matrix_view<float>{rows.data() + first * 128, int(p.crops.size()), 128},
                       embedder().preprocessing());
      first += p.crops.size();
    }
    benchmark::DoNotOptimize(rows.data());
  }
  if (blas_threads > 0) model::set_openblas_threads(blas_threads);
  state.counters["crops/s"] = benchmark::Counter(double(crop_count()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(batched)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

void dlib_one_at_a_time(benchmark::State& state) {
  const int blas_threads = model::set_openblas_threads(int(state.range(0)));
  for (auto _ : state) {
    for (const photo& p : photos())
      for (const dlib::chip_details& c : p.chips) {
        std::vector<dlib::matrix<dlib::rgb_pixel>> chip(1);
        dlib::extract_image_chip(p.image, c, chip[0]);
        benchmark::DoNotOptimize(embedder().reference(chip));
      }
  }
  if (blas_threads > 0) model::set_openblas_threads(blas_threads);
  state.counters["crops/s"] = benchmark::Counter(double(crop_count()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(dlib_one_at_a_time)
    ->Arg(1)
    ->Arg(int(std::thread::hardware_concurrency()))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

#endif  // VBATCH_HAVE_DLIB_FACE_DATA: without dlib or its data this program runs nothing

BENCHMARK_MAIN();
