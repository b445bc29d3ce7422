// Boxes: pairwise IoU (1000×1000, 4000×4000) against a plain double loop and against memset of
// the same output (the memory-bandwidth bound for writing it); NMS of 10,000 boxes (clustered
// and spread out, IoU 0.5) against cv::dnn::NMSBoxes; batched class-aware NMS; assignment
// 500×500; the tracker on a synthetic 1,000-frame, 50-object sequence and on the MOT15
// detections (frames per second).
//
//   build/release/bench/boxes_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "vbatch/boxes/assignment.hpp"
#include "vbatch/boxes/mot.hpp"
#include "vbatch/boxes/nms.hpp"
#include "vbatch/boxes/pairwise.hpp"
#include "vbatch/boxes/synthetic.hpp"
#include "vbatch/boxes/tracker.hpp"
#include "vbatch/core/buffer.hpp"

#if VBATCH_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#endif

namespace {

using namespace vbatch;
using namespace vbatch::boxes;

// ---- inputs ---------------------------------------------------------------------------------

// Boxes 10-100 px in a 1000×1000 image: each overlaps about 2% of the others.
std::vector<box_xyxy> image_boxes(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(0, 1000), size(10, 100);
  std::vector<box_xyxy> boxes;
  for (int i = 0; i < n; ++i) {
    const float x = pos(rng), y = pos(rng);
    boxes.push_back({x, y, x + size(rng), y + size(rng)});
  }
  return boxes;
}

struct nms_input {
  std::vector<box_xyxy> boxes;
  std::vector<float> scores;
  std::vector<int> classes;
};

// Spread out: 10,000 boxes of 10-60 px over 8000×8000 px; almost none overlap by IoU > 0.5.
nms_input spread_boxes(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(0, 8000), size(10, 60), score(0, 1);
  std::uniform_int_distribution<int> cls(0, 9);
  nms_input in;
  for (int i = 0; i < n; ++i) {
    const float x = pos(rng), y = pos(rng);
    in.boxes.push_back({x, y, x + size(rng), y + size(rng)});
    in.scores.push_back(score(rng));
    in.classes.push_back(cls(rng));
  }
  return in;
}

// Clustered, as a detector's raw output: 1,000 objects of 20-200 px over 4000×4000 px, 10 boxes
// each, jittered by ±10% of the object's size.
nms_input clustered_boxes(int n, int objects, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pos(0, 4000), size(20, 200), jitter(-0.1f, 0.1f), score(0, 1);
  std::uniform_int_distribution<int> cls(0, 9);
  std::vector<std::pair<box_xyxy, int>> truth;
  for (int k = 0; k < objects; ++k) {
    const float x = pos(rng), y = pos(rng);
    truth.push_back({{x, y, x + size(rng), y + size(rng)}, cls(rng)});
  }
  nms_input in;
  for (int i = 0; i < n; ++i) {
    const auto& [o, c] = truth[i % objects];
    const float w = o.x2 - o.x1, h = o.y2 - o.y1, x = o.x1 + jitter(rng) * w, y = o.y1 + jitter(rng) * h;
    in.boxes.push_back({x, y, x + w * (1 + jitter(rng)), y + h * (1 + jitter(rng))});
    in.scores.push_back(score(rng));
    in.classes.push_back(c);
  }
  return in;
}

const nms_input& nms_case(int kind) {
  static const nms_input spread = spread_boxes(10'000, 1), clustered = clustered_boxes(10'000, 1'000, 2);
  return kind == 0 ? spread : clustered;
}
const char* nms_case_name(int kind) { return kind == 0 ? "spread" : "clustered"; }

// ---- pairwise IoU -----------------------------------------------------------------------------

void set_matrix_counters(benchmark::State& state, std::int64_t n) {
  state.SetItemsProcessed(state.iterations() * n * n);
  state.SetBytesProcessed(state.iterations() * n * n * std::int64_t{sizeof(float)});
}

// The baselines: the textbook loop over two arrays of boxes, as written with a guard against an
// empty union (`guarded`, whose conditional division g++ does not vectorise) and without one
// (torchvision's box_iou formula: 0/0 gives NaN for two empty boxes; g++ vectorises it).
template <bool Guarded>
void plain_loop_iou(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<box_xyxy> a = image_boxes(n, 1), b = image_boxes(n, 2);
  std::vector<float> out(std::size_t(n) * n);
  for (auto _ : state) {
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const box_xyxy &p = a[i], &q = b[j];
        const float w = std::max(0.0f, std::min(p.x2, q.x2) - std::max(p.x1, q.x1));
        const float h = std::max(0.0f, std::min(p.y2, q.y2) - std::max(p.y1, q.y1));
        const float inter = w * h, uni = (p.x2 - p.x1) * (p.y2 - p.y1) + (q.x2 - q.x1) * (q.y2 - q.y1) - inter;
        if constexpr (Guarded)
          out[std::size_t(i) * n + j] = uni > 0 ? inter / uni : 0.0f;
        else
          out[std::size_t(i) * n + j] = inter / uni;
      }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_matrix_counters(state, n);
}

void vbatch_pairwise_iou(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const cpu_par exec{static_cast<int>(state.range(1))};
  const std::vector<box_xyxy> a = image_boxes(n, 1), b = image_boxes(n, 2);
  batch_buffer<float> out({1, n, n, 1});  // (1,N,M,1)
  for (auto _ : state) {
    pairwise_iou(exec, box_batch_view<const box_xyxy>::of(a), box_batch_view<const box_xyxy>::of(b), out.view());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_matrix_counters(state, n);
}

// The bound: writing the same N×M floats with memset (glibc streams large outputs past the
// caches), on 1 or 2 threads (each a contiguous half).
void memset_matrix(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  batch_buffer<float> out({1, n, n, 1});
  std::memset(out.data(), 0, out.bytes());
  const std::size_t part = out.bytes() / threads;
  for (auto _ : state) {
    for_each_item(cpu_par{threads}, threads, [&](int t) {
      std::memset(reinterpret_cast<char*>(out.data()) + t * part, 1, t == threads - 1 ? out.bytes() - t * part : part);
    });
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_matrix_counters(state, n);
}

// Main-memory bandwidth: 256 MiB memcpy (bytes counted read + write).
void memcpy_bandwidth(benchmark::State& state) {
  const std::size_t bytes = std::size_t{256} << 20;
  std::vector<char> a(bytes, 1), b(bytes, 2);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * std::int64_t(bytes) * 2);
}

BENCHMARK(plain_loop_iou<false>)->Arg(1000)->Arg(4000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(plain_loop_iou<true>)->Arg(1000)->Arg(4000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_pairwise_iou)
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Args({4000, 1})
    ->Args({4000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(memset_matrix)
    ->Args({1000, 1})
    ->Args({1000, 2})
    ->Args({4000, 1})
    ->Args({4000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(memcpy_bandwidth)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- NMS ----------------------------------------------------------------------------------------

template <class Schedule>
void vbatch_nms(benchmark::State& state) {
  const nms_input& in = nms_case(static_cast<int>(state.range(0)));
  std::size_t kept = 0;
  for (auto _ : state) {
    const std::vector<int> k = nms(in.boxes, in.scores, {.iou_threshold = 0.5f}, Schedule{});
    kept = k.size();
    benchmark::DoNotOptimize(k.data());
  }
  state.SetLabel(nms_case_name(static_cast<int>(state.range(0))));
  state.counters["kept"] = static_cast<double>(kept);
  state.SetItemsProcessed(state.iterations() * std::int64_t(in.boxes.size()));
}

// The bitmask schedule on 2 threads: the GPU's algorithm, here on the CPU.
void vbatch_nms_bitmask_2_threads(benchmark::State& state) {
  const nms_input& in = nms_case(static_cast<int>(state.range(0)));
  const int offsets[2] = {0, static_cast<int>(in.boxes.size())};
  for (auto _ : state)
    benchmark::DoNotOptimize(
        nms_batched(cpu_par{2}, in.boxes, in.scores, {}, offsets, {.iou_threshold = 0.5f}, nms_schedule::bitmask{})
            .indices.data());
  state.SetLabel(nms_case_name(static_cast<int>(state.range(0))));
  state.SetItemsProcessed(state.iterations() * std::int64_t(in.boxes.size()));
}

// A batch: 8 images of 2,500 clustered boxes in 10 classes, class-aware, images in parallel.
void vbatch_nms_batched_class_aware(benchmark::State& state) {
  static const nms_input in = [] {
    nms_input all;
    for (int i = 0; i < 8; ++i) {
      const nms_input one = clustered_boxes(2'500, 250, 10 + i);
      all.boxes.insert(all.boxes.end(), one.boxes.begin(), one.boxes.end());
      all.scores.insert(all.scores.end(), one.scores.begin(), one.scores.end());
      all.classes.insert(all.classes.end(), one.classes.begin(), one.classes.end());
    }
    return all;
  }();
  const std::vector<int> offsets = uniform_offsets(8, 2'500);
  const cpu_par exec{static_cast<int>(state.range(0))};
  for (auto _ : state)
    benchmark::DoNotOptimize(nms_batched(exec, in.boxes, in.scores, in.classes, offsets, {.iou_threshold = 0.5f}).indices.data());
  state.SetItemsProcessed(state.iterations() * std::int64_t(in.boxes.size()));
}

BENCHMARK(vbatch_nms<nms_schedule::sweep>)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_nms<nms_schedule::bitmask>)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_nms_bitmask_2_threads)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_nms_batched_class_aware)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

#if VBATCH_HAVE_OPENCV
// cv::Rect2d (the same float boxes), or cv::Rect (the boxes rounded to integers).
template <class Rect>
void opencv_nms_boxes(benchmark::State& state) {
  const int saved = cv::getNumThreads();
  cv::setNumThreads(1);  // NMSBoxes is serial anyway
  const nms_input& in = nms_case(static_cast<int>(state.range(0)));
  std::vector<Rect> rects;
  for (const box_xyxy& b : in.boxes) {
    if constexpr (std::is_same_v<Rect, cv::Rect>)
      rects.emplace_back(cvRound(b.x1), cvRound(b.y1), cvRound(b.x2) - cvRound(b.x1), cvRound(b.y2) - cvRound(b.y1));
    else
      rects.emplace_back(b.x1, b.y1, double(b.x2) - b.x1, double(b.y2) - b.y1);
  }
  std::vector<int> kept;
  for (auto _ : state) {
    cv::dnn::NMSBoxes(rects, in.scores, 0.0f, 0.5f, kept);
    benchmark::DoNotOptimize(kept.data());
  }
  state.SetLabel(nms_case_name(static_cast<int>(state.range(0))));
  state.counters["kept"] = static_cast<double>(kept.size());
  state.SetItemsProcessed(state.iterations() * std::int64_t(in.boxes.size()));
  cv::setNumThreads(saved);
}
BENCHMARK(opencv_nms_boxes<cv::Rect2d>)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(opencv_nms_boxes<cv::Rect>)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

// ---- assignment ---------------------------------------------------------------------------------

// 0: uniform random costs, no gate (the textbook LSAP); 1: a tracker's matrix, 1 - IoU of boxes
// that mostly do not overlap, gated at 0.7.
std::vector<float> assignment_costs(int kind, int n) {
  std::mt19937 rng(7);
  if (kind == 0) {
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> c(std::size_t(n) * n);
    for (float& v : c) v = u(rng);
    return c;
  }
  const std::vector<box_xyxy> tracks = image_boxes(n, 3);
  std::vector<box_xyxy> dets;
  std::normal_distribution<float> move(0, 3);
  for (const box_xyxy& t : tracks) {
    const float dx = move(rng), dy = move(rng);
    dets.push_back({t.x1 + dx, t.y1 + dy, t.x2 + dx, t.y2 + dy});
  }
  std::shuffle(dets.begin(), dets.end(), rng);
  std::vector<float> c = pairwise_iou(tracks, dets);
  for (float& v : c) v = 1 - v;
  return c;
}

template <bool Optimal>
void vbatch_assign(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0)), n = 500;
  const std::vector<float> costs = assignment_costs(kind, n);
  const float gate = kind == 0 ? std::numeric_limits<float>::infinity() : 0.7f;
  int pairs = 0;
  for (auto _ : state) {
    const assignment a = Optimal ? assign_optimal(costs, n, n, gate) : assign_greedy(costs, n, n, gate);
    pairs = a.pairs;
    benchmark::DoNotOptimize(a.row_to_col.data());
  }
  state.SetLabel(kind == 0 ? "uniform 500x500" : "tracker-like 500x500, gate 0.7");
  state.counters["pairs"] = pairs;
}
BENCHMARK(vbatch_assign<true>)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vbatch_assign<false>)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- tracker ------------------------------------------------------------------------------------

void vbatch_tracker_synthetic(benchmark::State& state) {
  static const synthetic_scene scene = make_synthetic_scene({.frames = 1000, .objects = 50, .lifetime = 1.0f, .seed = 3});
  const tracker_options o{.max_age = static_cast<int>(state.range(0)) ? 3 : 1,
                          .motion = state.range(0) ? motion_model::constant_velocity : motion_model::none};
  std::vector<std::vector<box_xyxy>> boxes(scene.frames.size());
  std::vector<std::vector<float>> scores(scene.frames.size());
  for (std::size_t f = 0; f < scene.frames.size(); ++f)
    for (const synthetic_detection& d : scene.frames[f]) boxes[f].push_back(d.box), scores[f].push_back(d.score);
  int tracks = 0;
  for (auto _ : state) {
    iou_tracker tracker(o);
    for (std::size_t f = 0; f < boxes.size(); ++f)
      benchmark::DoNotOptimize(tracker.update(static_cast<int>(f) + 1, boxes[f], scores[f]).data());
    tracks = tracker.confirmed_tracks();
  }
  state.SetLabel(state.range(0) ? "1000 frames x 50 objects, velocity, max_age 3" : "1000 frames x 50 objects, SORT defaults");
  state.counters["tracks"] = tracks;
  state.counters["frames/s"] = benchmark::Counter(double(state.iterations()) * 1000, benchmark::Counter::kIsRate);
}
BENCHMARK(vbatch_tracker_synthetic)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// All 11 MOT15 training sequences (5,500 frames, 35,147 detections), one core, by configuration.
void vbatch_tracker_mot15(benchmark::State& state) {
  using frames = std::map<int, std::pair<std::vector<box_xyxy>, std::vector<float>>>;
  static const std::vector<frames> sequences = [] {
    std::vector<frames> all;
    const std::filesystem::path dir = std::filesystem::path(VBATCH_SHARED_DATA_DIR) / "mot15";
    if (!std::filesystem::is_directory(dir)) return all;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (!std::filesystem::exists(e.path() / "det.txt")) continue;
      frames f;
      for (const mot_record& r : read_mot_file(e.path() / "det.txt")) {
        f[r.frame].first.push_back(to_xyxy(r.box));
        f[r.frame].second.push_back(r.score);
      }
      if (!f.empty()) all.push_back(std::move(f));  // a sequence without detections has no frame range
    }
    return all;
  }();
  if (sequences.empty()) return state.SkipWithError("no MOT15 data under VBATCH_SHARED_DATA_DIR");
  std::int64_t frame_count = 0;
  for (const frames& s : sequences) frame_count += s.rbegin()->first - s.begin()->first + 1;
  // 0: vbatch's defaults; 1: SORT's Kalman filter, vbatch's lifecycle; 2: sort_preset(); 3: the
  // best configuration of docs/boxes.md (SORT + two-stage association, max_age 5).
  static const char* const names[] = {"iou", "kalman", "sort", "byte_tuned"};
  const int config = static_cast<int>(state.range(0));
  tracker_options o = tracker_preset(config == 3 ? "sort" : names[config]);
  if (config == 3) {
    o.association = association_policy::two_stage;
    o.high_score = 0.8f, o.low_score = 0.5f, o.low_iou_threshold = 0.5f, o.max_age = 5, o.min_hits = 1, o.iou_threshold = 0.2f;
  }
  o.keep_history = false;
  for (auto _ : state)
    for (const frames& s : sequences) {
      iou_tracker tracker(o);
      for (const auto& [frame, d] : s) benchmark::DoNotOptimize(tracker.update(frame, d.first, d.second).data());
    }
  state.SetLabel(std::to_string(sequences.size()) + " sequences, " + names[config]);
  state.counters["frames/s"] = benchmark::Counter(double(state.iterations()) * double(frame_count), benchmark::Counter::kIsRate);
}
BENCHMARK(vbatch_tracker_mot15)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
