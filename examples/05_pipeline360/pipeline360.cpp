// pipeline360: the full flow, from 360° frames to views, masks and a report of where the time went.
//
//   pipeline360 --demo -o out/                       # 4 synthetic frames -> 32 views, 32 masks, report
//   pipeline360 frames/ -o out/ --rig ring:6 --size 1280x960 --segmenter colour:230,40,40,50
//   pipeline360 frames/ -o out/ --model onnx:seg.onnx --model-input 3x320x320 --model-mask argmax:15
//   pipeline360 clip.mp4 -o out/ --every 30              # a video: frames 0, 30, 60, ... (also --frame, --time)
//
// Equirectangular frames -> perspective views -> a mask per view from a pluggable segmenter ->
// dilation -> views and masks saved -> a report (per-stage time, I/O against compute, views/s,
// peak memory) as a table, DIR/report.json and DIR/report.svg. Built from the library's parts:
//
//   load     vbatch::pipeline::image_loader: decode workers fill batches of frames ahead of the consumer (io);
//            for a video, vbatch::pipeline::video_loader: one ffmpeg pass, only the selected frames
//   remap    vbatch::sample::e2p with a cached map built once per source size: every camera of a batch in one call
//   segment  a pluggable segmenter (concept `segmenter` below) on --model-batch views at a time
//            (vbatch::batch::for_each_batch): an ONNX model (--model onnx:PATH, through
//            vbatch::model's preprocess, opencv_dnn and score_map_to_mask), or without one a
//            colour-threshold stand-in (--segmenter)
//   dilate   vbatch::morph::dilate by a square (--dilate N, 0: off), every mask of the batch in one call
//   save     views and masks handed to vbatch::pipeline::image_writer, whose workers encode and write
//            atomically ("write")
//
// The stages run on their own threads (vbatch::pipeline::run, bounded queues), so decoding,
// computing and encoding of consecutive batches overlap. Everything that can be checked
// (arguments, input headers, the output directory) is checked before any work, so a mistake costs
// nothing and leaves no files. Results do not depend on --threads or --batch. A frame that cannot
// be read or decoded, or a file that cannot be written, is skipped and listed in
// DIR/failures.json (--on-error skip, the default), or stops the run (--on-error stop).
//
// A video (any input file not named .jpg/.jpeg/.png; the only input) is decoded once, the frames
// --frame, --every and --time select (vbatch_tools::select_video_frames; all by default) piped as
// raw pixels into the same batches: no intermediate image files, and a frame's views and masks
// are those its lossless PNG would give. Its frame number is the frame's id in the output names.
// A decoder that fails mid-way fails that frame and every later one.
//
// Exit status: 0 done, 1 an input or output problem (or more failures than --max-failures), 2 a
// bad command line, 3 done but with failed frames or files (failures.json).

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "vbatch/batch/for_each_batch.hpp"
#include "vbatch/batch/policy.hpp"
#include "vbatch/core/buffer_pool.hpp"
#include "vbatch/core/memory.hpp"
#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/model/masks.hpp"
#include "vbatch/model/preprocess.hpp"
#include "vbatch/pipeline/loader.hpp"
#include "vbatch/pipeline/pipeline.hpp"
#include "vbatch/pipeline/video_loader.hpp"
#include "vbatch/pipeline/writer.hpp"
#include "vbatch/profile/profiler.hpp"
#include "vbatch/profile/report.hpp"
#include "vbatch/sample/rig_spec.hpp"
#include "vbatch/vbatch.hpp"

#if VBATCH_HAVE_OPENCV_DNN
#include "vbatch/model/adapters/opencv_dnn.hpp"
#endif

#include "../common/tool.hpp"
#if VBATCH_TOOL_MPI
#include "../common/mpi.hpp"
#endif

namespace {

namespace fs = std::filesystem;
namespace pl = vbatch::pipeline;
namespace prof = vbatch::profile;
using vbatch::batch_view;
using vbatch::u8;
using json = nlohmann::ordered_json;  // keys in the order written

using vbatch_tools::collect_images;
using vbatch_tools::fail;
using vbatch_tools::frame_ids;
using vbatch_tools::parse_numbers;
using vbatch_tools::usage;

struct options {
  std::vector<std::string> inputs;
  fs::path out, json_path, chart_path;
  int demo = 0;  // --demo N: N synthetic frames
  std::string demo_size = "4096x2048", rig = "ring:8", size = "1920x1080", segmenter = "saturation:0.6", format = "jpg";
  // --model onnx:PATH and how to feed it and read it; torchvision's ImageNet normalisation by default.
  std::string model, model_input, model_mean = "0.485,0.456,0.406", model_std = "0.229,0.224,0.225", model_mask = "prob:0,0.5";
  double model_scale = 1.0 / 255.0;
  bool model_bgr = false;
  double fov = 90, pitch = 0;
  int dilate = 15, quality = 92, threads = 0, batch = 2, model_batch = 8, decode_workers = 0, encode_workers = 0;
  bool quiet = false;
  vbatch_tools::failure_options failures;
  bool fsync = false;
  std::string shard;                    // "i/n" or "auto": this job's part of the frames
  vbatch_tools::video_selection video;  // a video's frames: --frame, --every, --time
#if VBATCH_TOOL_MPI
  // pipeline360_mpi: this process's rank r of n (it takes shard r/n), and where run() leaves its
  // report for rank 0 to merge (vbatch_tools::mpi::finish_ranks) instead of writing it.
  vbatch::batch::shard rank{0, 1};
  struct rank_handover {
    std::string report;    // this rank's report, JSON
    fs::path report_file;  // the merged report's file
  };
  rank_handover* handover = nullptr;
#endif
};

// ---- parsing small values ---------------------------------------------------------------------

// Sizes and rigs are parsed by the library (vbatch/sample/rig_spec.hpp), whose messages name the
// option and its text; a bad one is a usage error.
vbatch::sample::view_size parse_size(const std::string& text, const char* flag) {
  if (const vbatch::status s = vbatch::sample::can_parse_size(text, flag); !s) usage("{}", s.message);
  return vbatch::sample::parse_size(text, flag);
}

// ring:N (N yaws at equal steps at --pitch), rings3:N (N at each of pitch -30, 0, +30) or cube.
vbatch::sample::rig make_rig(const options& o) {
  const vbatch::sample::view_size size = parse_size(o.size, "--size");
  if (!(o.fov > 0 && o.fov < 180)) usage("--fov {}: the horizontal FOV must be in (0, 180) degrees", o.fov);
  if (!std::isfinite(o.pitch) || std::fabs(o.pitch) > 90) usage("--pitch {}: must be in [-90, 90] degrees", o.pitch);
  if (const vbatch::status s = vbatch::sample::can_parse_rig(o.rig, "--rig"); !s) usage("{}", s.message);
  vbatch::sample::rig_preset preset = vbatch::sample::parse_rig(o.rig, "--rig");
  if (o.pitch != 0 && preset.kind != vbatch::sample::rig_kind::ring) usage("--pitch applies to --rig ring:N only, not {}", o.rig);
  if (preset.kind == vbatch::sample::rig_kind::cube && size.width != size.height)
    usage("--size '{}': cube faces are square, e.g. --size {}x{}", o.size, size.width, size.width);
  const vbatch::status s = vbatch::sample::can_make_pinhole(size.width, size.height, o.fov);
  if (!s) usage("--size/--fov: {}", s.message);
  preset.pitch_deg = o.pitch;
  return vbatch::sample::make_rig(preset, size, o.fov);
}

// ---- the segmenter ----------------------------------------------------------------------------

// A segmenter turns a batch of views into masks, one call per batch:
//   views (N,H,W,3) u8 RGB  ->  masks (N,H,W,1) u8, 0 (background) or 255 (object)
// It runs the N views (at most --model-batch) as one batch, e.g. one inference call, as
// onnx_segmenter below does for --model onnx:PATH. A model that runs out of memory should throw
// std::bad_alloc (or a vbatch::error with errc::out_of_memory): for_each_batch then retries the
// same views in halves. It is called from one thread at a time, and must give the same masks for
// the same views.
template <class S>
concept segmenter = std::invocable<S&, batch_view<const u8>, batch_view<u8>>;

// The built-in segmenter is a colour-threshold stand-in, not a model: it marks pixels whose colour
// is within a tolerance of a target colour ("colour:R,G,B[,TOL]", TOL the largest difference per
// channel, 40 by default), or vivid pixels ("saturation:S[,V]": HSV saturation >= S and value
// >= V, 64 by default; the demo scene's eight coloured posts have saturation above 0.6, its sky
// and floor below). Each pixel is decided on its own, so the masks do not depend on threads.
struct threshold_segmenter {
  bool by_colour = false;
  int r = 0, g = 0, b = 0, tolerance = 40;  // colour:
  double min_saturation = 0.6;              // saturation:
  int min_value = 64;
  vbatch::cpu_par exec;

  bool marks(const u8* p) const {
    if (by_colour) return std::abs(p[0] - r) <= tolerance && std::abs(p[1] - g) <= tolerance && std::abs(p[2] - b) <= tolerance;
    const int hi = std::max({p[0], p[1], p[2]}), lo = std::min({p[0], p[1], p[2]});
    return hi >= min_value && hi - lo >= min_saturation * hi;
  }
  void operator()(batch_view<const u8> views, batch_view<u8> masks) const {
    vbatch::for_each_index(exec, {views.n, views.h, views.w},
                           [&](int i, int y, int x) { masks.pixel(i, y, x)[0] = marks(views.pixel(i, y, x)) ? 255 : 0; });
  }
  std::string describe() const {
    return by_colour ? fmt::format("colour {},{},{} ± {}", r, g, b, tolerance)
                     : fmt::format("saturation >= {:g}, value >= {}", min_saturation, min_value);
  }
};
static_assert(segmenter<threshold_segmenter>);

threshold_segmenter parse_segmenter(const std::string& spec, int threads) {
  threshold_segmenter s;
  s.exec = vbatch::cpu_par{threads};
  const std::size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const auto values = colon == std::string::npos ? std::nullopt : parse_numbers(std::string_view(spec).substr(colon + 1));
  const auto in = [](double v, double lo, double hi) { return v >= lo && v <= hi; };
  const auto whole = [&](double v) { return in(v, 0, 255) && v == std::floor(v); };
  if (kind == "colour" || kind == "color") {
    if (!values || values->size() < 3 || values->size() > 4 || !std::all_of(values->begin(), values->end(), whole))
      usage("--segmenter '{}': expected colour:R,G,B[,TOL] with whole numbers from 0 to 255", spec);
    const std::vector<double>& v = *values;
    s.by_colour = true;
    s.r = int(v[0]), s.g = int(v[1]), s.b = int(v[2]), s.tolerance = v.size() > 3 ? int(v[3]) : 40;
  } else if (kind == "saturation") {
    if (!values || values->size() > 2 || !in((*values)[0], 0, 1) || (values->size() == 2 && !whole((*values)[1])))
      usage("--segmenter '{}': expected saturation:S[,V] with S from 0 to 1 and V from 0 to 255", spec);
    s.min_saturation = (*values)[0];
    if (values->size() == 2) s.min_value = int((*values)[1]);
  } else {
    usage("--segmenter '{}': expected colour:R,G,B[,TOL] or saturation:S[,V] (a colour-threshold stand-in for a model)", spec);
  }
  return s;
}

// ---- the model segmenter ----------------------------------------------------------------------

// --model onnx:PATH runs a segmentation network on every view instead of the stand-in. Each call
// of the segmenter is one batch (at most --model-batch views; the segment stage's for_each_batch
// halves it on out-of-memory, so the segmenter itself does not batch again): the views are
// stretched to the network's input and normalised (model::preprocess), run through the network
// (model::opencv_dnn), and one score map per view is resized to the view and thresholded
// (model::score_map_to_mask: interpolating scores, not blocky masks). --model-mask says which map:
//   prob:C[,T]   channel C is a probability (sigmoid or softmax); foreground where it is > T (0.5)
//   logit:C[,T]  channel C is a logit; foreground where it is > T (0)
//   argmax:K     class K of a multi-class model: the map is K's score minus the best other class's,
//                foreground where > 0 (ties go to the background). Resizing that margin is exact for
//                two classes; with more, it can differ from a per-pixel argmax of resized scores
//                only where three classes meet.
enum class mask_kind { probability, logit, argmax };

struct mask_rule {
  mask_kind kind = mask_kind::probability;
  int channel = 0;  // the foreground channel, or class for argmax
  float threshold = 0.5f;

  std::string describe() const {
    if (kind == mask_kind::argmax) return fmt::format("foreground where class {} is the argmax", channel);
    return fmt::format("foreground where channel {} {} > {:g}", channel, kind == mask_kind::logit ? "logit" : "probability",
                       threshold);
  }
};

mask_rule parse_mask_rule(const std::string& spec) {
  const std::size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const auto values = colon == std::string::npos ? std::nullopt : parse_numbers(std::string_view(spec).substr(colon + 1));
  const auto channel_ok = [](double v) { return v >= 0 && v < 4096 && v == std::floor(v); };
  mask_rule r;
  bool ok = values && !values->empty() && channel_ok((*values)[0]) &&
            std::all_of(values->begin(), values->end(), [](double v) { return std::isfinite(v); });
  if (ok && kind == "prob") {
    ok = values->size() <= 2 && (values->size() == 1 || ((*values)[1] >= 0 && (*values)[1] <= 1));
    r.threshold = values->size() == 2 ? float((*values)[1]) : 0.5f;
  } else if (ok && kind == "logit") {
    ok = values->size() <= 2;
    r.kind = mask_kind::logit;
    r.threshold = values->size() == 2 ? float((*values)[1]) : 0.0f;
  } else if (ok && kind == "argmax") {
    ok = values->size() == 1;
    r.kind = mask_kind::argmax;
  } else {
    ok = false;
  }
  if (!ok)
    usage(
        "--model-mask '{}': expected prob:C[,T] (T from 0 to 1), logit:C[,T] or argmax:K, with C and K output channels "
        "counted from 0",
        spec);
  r.channel = int((*values)[0]);
  return r;
}

// What --model and its options ask for, checked before anything is loaded.
struct model_settings {
  fs::path file;
  vbatch::model::item_shape input;
  vbatch::model::preprocess_options preprocessing;  // stretch of the whole view (the mask is resized back)
  mask_rule mask;
};

// Three comma-separated numbers (--model-mean, --model-std), or a usage error naming the option.
std::array<float, 3> parse_triple(const std::string& text, const char* flag, bool nonzero) {
  const auto v = parse_numbers(text);
  if (!v || v->size() != 3 ||
      !std::all_of(v->begin(), v->end(), [&](double x) { return std::isfinite(x) && (!nonzero || x != 0); }))
    usage("{} '{}': expected three {}numbers R,G,B (in the network's channel order)", flag, text, nonzero ? "non-zero " : "");
  return {float((*v)[0]), float((*v)[1]), float((*v)[2])};
}

model_settings parse_model(const options& o) {
  model_settings m;
  if (o.model.rfind("onnx:", 0) != 0 || o.model.size() == 5)
    usage("--model '{}': expected onnx:PATH (an ONNX segmentation model)", o.model);
  m.file = o.model.substr(5);
  const auto chw = vbatch_tools::parse_chw(o.model_input);
  if (!chw || (*chw)[0] != 3 || (*chw)[1] > 4096 || (*chw)[2] > 4096)
    usage(
        "--model-input '{}': expected 3xHxW, the network's input per view (3 colour channels, sides 1 to 4096), e.g. "
        "3x320x320; required with --model",
        o.model_input);
  m.input = {(*chw)[0], (*chw)[1], (*chw)[2]};
  if (!(std::isfinite(o.model_scale) && o.model_scale != 0))
    usage("--model-scale {}: must be finite and non-zero", o.model_scale);
  m.preprocessing.scale = float(o.model_scale);
  m.preprocessing.mean = parse_triple(o.model_mean, "--model-mean", false);
  m.preprocessing.std = parse_triple(o.model_std, "--model-std", true);
  m.preprocessing.order = o.model_bgr ? vbatch::model::channel_order::bgr : vbatch::model::channel_order::rgb;
  m.mask = parse_mask_rule(o.model_mask);
  return m;
}

// The segmenter that runs, behind one callable type: the stand-in or a model.
struct chosen_segmenter {
  std::function<void(batch_view<const u8>, batch_view<u8>)> run;
  std::string description;  // for the report
  bool stand_in = false;

  void operator()(batch_view<const u8> views, batch_view<u8> masks) { run(views, masks); }
};
static_assert(segmenter<chosen_segmenter>);

#if VBATCH_HAVE_OPENCV_DNN
class onnx_segmenter {
 public:
  // Loads the network (errors name the file) and checks that --model-mask fits its output.
  onnx_segmenter(model_settings settings, int threads)
      : settings_(std::move(settings)), net_(settings_.file, {.input = settings_.input}), exec_{threads} {
    const vbatch::model::item_shape out = net_.output_shape();
    const mask_rule& r = settings_.mask;
    if (r.kind == mask_kind::argmax && out.c < 2)
      usage("--model-mask argmax:{}: {} gives {} output channel ({}x{}x{} per view); argmax needs two classes or more", r.channel,
            settings_.file.string(), out.c, out.c, out.h, out.w);
    if (r.channel >= out.c)
      usage("--model-mask: channel {} of {}, which gives {} output channel{} ({}x{}x{} per view)", r.channel,
            settings_.file.string(), out.c, out.c == 1 ? "" : "s", out.c, out.h, out.w);
  }

  std::string describe() const {
    const vbatch::model::item_shape in = net_.input_shape(), out = net_.output_shape();
    const vbatch::model::preprocess_options& p = settings_.preprocessing;
    return fmt::format(
        "onnx model {} (OpenCV DNN): input {}x{}x{} {} (value × {:g} - mean {:g},{:g},{:g}) / std {:g},{:g},{:g}, "
        "output {}x{}x{}, {}",
        settings_.file.string(), in.c, in.h, in.w, p.order == vbatch::model::channel_order::bgr ? "BGR" : "RGB", p.scale,
        p.mean[0], p.mean[1], p.mean[2], p.std[0], p.std[1], p.std[2], out.c, out.h, out.w, settings_.mask.describe());
  }

  void operator()(batch_view<const u8> views, batch_view<u8> masks) {
    namespace model = vbatch::model;
    const model::item_shape in = net_.input_shape(), out = net_.output_shape();
    const int n = views.n;
    const model::tensor_view<float> input{fit(input_, n * in.elements()), n, in.c, in.h, in.w};
    const model::tensor_view<float> scores{fit(scores_, n * out.elements()), n, out.c, out.h, out.w};
    std::vector<model::crop> crops(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) crops[std::size_t(i)].source = i;  // empty box: the whole view
    model::preprocess(exec_, views, crops, input, settings_.preprocessing);
    net_(input, scores);

    const mask_rule& r = settings_.mask;
    const std::ptrdiff_t plane = std::ptrdiff_t{out.h} * out.w;
    batch_view<const float> map{scores.data + r.channel * plane, n, out.h, out.w, 1, out.c * plane, out.w, 1};
    model::mask_options threshold{
        .threshold = r.threshold,
        .scores = r.kind == mask_kind::probability ? model::score_kind::probability : model::score_kind::logit};
    if (r.kind == mask_kind::argmax) {
      float* margin = fit(margins_, n * plane);
      for (int i = 0; i < n; ++i)
        for (std::ptrdiff_t p = 0; p < plane; ++p) {
          const float* s = scores.data + i * out.c * plane + p;
          float best_other = -std::numeric_limits<float>::infinity();
          for (int k = 0; k < out.c; ++k)
            if (k != r.channel) best_other = std::max(best_other, s[k * plane]);
          margin[i * plane + p] = s[r.channel * plane] - best_other;
        }
      map = batch_view<const float>{margin, n, out.h, out.w, 1, plane, out.w, 1};
      threshold.threshold = 0;
    }
    model::score_map_to_mask(exec_, map, masks, threshold);
  }

 private:
  // A buffer of `size` floats, replaced (not grown) when the size changes, so that a batch halved
  // after running out of memory gives the memory back.
  static float* fit(std::vector<float>& buffer, std::int64_t size) {
    if (buffer.size() != std::size_t(size)) buffer = {}, buffer = std::vector<float>(std::size_t(size));
    return buffer.data();
  }

  model_settings settings_;
  vbatch::model::opencv_dnn<> net_;
  vbatch::cpu_par exec_;
  std::vector<float> input_, scores_, margins_;
};
#endif

chosen_segmenter load_model(model_settings settings, int threads) {
#if VBATCH_HAVE_OPENCV_DNN
  // OpenCV runs each layer on its own thread pool, outside the thread budget: no more threads than --threads.
  cv::setNumThreads(vbatch::cpu_par{threads}.thread_count());
  auto model = std::make_shared<onnx_segmenter>(std::move(settings), threads);
  return {[model](batch_view<const u8> views, batch_view<u8> masks) { (*model)(views, masks); }, model->describe(), false};
#else
  (void)threads;
  fail("--model onnx:{}: this pipeline360 was built without OpenCV's dnn module (install libopencv-dev and rebuild)",
       settings.file.string());
#endif
}

// ---- inputs and outputs -----------------------------------------------------------------------

struct frame {
  fs::path path;
  long long id = 0;
  int width = 0, height = 0;
};

// The frames of the input files with their ids (vbatch_tools::frame_ids, over all the files, so
// that every shard names a frame alike); their sizes come from their headers later.
std::vector<frame> assign_ids(const std::vector<fs::path>& files) {
  const std::vector<long long> ids = frame_ids(files);
  std::vector<frame> frames;
  for (std::size_t i = 0; i < files.size(); ++i) frames.push_back({files[i], ids[i]});
  return frames;
}

// A frame's size from its header (pixels are decoded later, batch by batch), within the image
// limits and the map's; throws naming the file.
void read_header(frame& f, const vbatch::sample::rig& cameras) {
  const vbatch::io::image_info info = vbatch::io::read_image_info(f.path);
  vbatch::check(vbatch::io::can_load(f.path, info, vbatch::io::image_limits{}));
  f.width = info.width, f.height = info.height;
  const vbatch::status s = vbatch::sample::can_make_e2p_map<vbatch::sample::maps::cached_fixed>(cameras, f.width, f.height);
  if (!s) fail("{}: {}", f.path.string(), s.message);
}

// Proves `dir` writable with a probe file (creating it first when asked), before any work.
void check_writable_dir(const fs::path& dir, bool create) {
  std::error_code ec;
  if (create) fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the output directory: {}", dir.string(), ec.message());
  if (!fs::is_directory(dir, ec)) fail("{}: not a directory", dir.string());
  std::string probe = (dir / ".pipeline360-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) fail("{}: cannot write in this directory: {}", dir.string(), std::strerror(errno));
  const bool written = ::write(fd, "ok", 2) == 2;
  const int write_errno = errno;
  ::close(fd);
  fs::remove(probe, ec);
  if (!written) fail("{}: cannot write in this directory: {}", dir.string(), std::strerror(write_errno));
}

fs::path parent_or_current(const fs::path& file) { return file.has_parent_path() ? file.parent_path() : fs::path("."); }

// --demo: N frames of the synthetic scene, turned 15° further per frame so that the coloured posts
// move from view to view, saved as DIR/demo_frames/frame_NNNNN.jpg and then read like any input
// (so the demo runs the whole flow, decoding included).
std::vector<fs::path> render_demo(const options& o) {
  const auto [w, h] = parse_size(o.demo_size, "--demo-size");
  const fs::path dir = o.out / "demo_frames";
  check_writable_dir(dir, true);
  std::vector<fs::path> files;
  for (int i = 0; i < o.demo; ++i) {
    const vbatch::sample::mat3<double> turn = vbatch::sample::rotation_y(vbatch::sample::deg_to_rad(15.0 * i));
    const auto scene = [&turn](vbatch::sample::vec3<double> d) { return vbatch::sample::demo_scene(turn * d); };
    const vbatch::batch_buffer<u8> pano = vbatch::sample::render_equirect(w, h, 3, scene, vbatch::cpu_par{o.threads});
    files.push_back(dir / fmt::format("frame_{:05d}.jpg", i));
    vbatch::io::save_image(files.back(), pano.view(), {95});
  }
  return files;
}

std::string output_name(long long id, int cam, std::string_view ext) {
  return fmt::format("frame_{:05d}_cam_{:02d}.{}", id, cam, ext);
}

// ---- the flow ---------------------------------------------------------------------------------

// The views' and the masks' batch buffers are allocated in tracked host memory (a counter per
// kind), so that the report can give each one's peak: report.json's peak_memory_bytes.
struct views_tag {};
struct masks_tag {};
using views_memory = vbatch::tracked_memory<vbatch::host_memory, views_tag>;
using masks_memory = vbatch::tracked_memory<vbatch::host_memory, masks_tag>;

// A batch of frames on its way through the stages: its views, then their masks.
struct work_item {
  std::size_t first = 0;                                          // index of its first frame
  std::shared_ptr<vbatch::batch_buffer<u8, views_memory>> views;  // (B*K,H,W,3), view k of frame f at f*K + k
  std::shared_ptr<vbatch::batch_buffer<u8, masks_memory>> masks;  // (B*K,H,W,1)
};

struct outcome {
  prof::run_report report;
  std::size_t frames = 0, views = 0, batches = 0;
  std::size_t failed_frames = 0, failed_writes = 0;  // frames not decoded or with a file not written; files not written
  double segmented = 0, dilated = 0;                 // share of mask pixels set by the segmenter, after dilation
  std::vector<vbatch_tools::item_failure> failures;  // --on-error skip: frames and files skipped
  bool too_many_failures = false;
};

std::int64_t count_set(const vbatch::batch_buffer<u8, masks_memory>& masks) {
  return std::count(masks.data(), masks.data() + masks.shape().elements(), u8{255});
}

// `video`: the frames are frames of one video (frames[i].id its frame number), not image files.
template <segmenter Segmenter>
outcome process(const options& o, const std::vector<frame>& frames, bool video, const vbatch::sample::rig& cameras,
                Segmenter& segment_views, vbatch::pipeline::failure_limit& limit) {
  using kind = prof::stage_kind;
  vbatch::thread_budget budget(o.threads);  // decoding, computing and encoding share these threads
  const vbatch::cpu_par exec{.threads = budget.size(), .budget = &budget};
  const int per_frame = static_cast<int>(cameras.size());
  const int view_w = cameras.front().lens.width, view_h = cameras.front().lens.height;
  const fs::path views_dir = o.out / "views", masks_dir = o.out / "masks";

  // The profiler lists stages in first-use order: register them in the order of the flow (the
  // remap counts its pixels while the run goes on; the run adds every row's time when it ends).
  prof::profiler profiler;
  for (const auto& [name, k] : {std::pair{"load", kind::io},
                                {"map", kind::compute},
                                {"remap", kind::compute},
                                {"segment", kind::compute},
                                {"dilate", kind::compute},
                                {"save", kind::io},
                                {"encode", kind::io},
                                {"write", kind::io}})
    profiler.add(name, k, 0, 0);

  // One sample map per source size, built once (all the frames of one size share it).
  std::map<std::pair<int, int>, vbatch::sample::e2p_map<vbatch::sample::maps::cached_fixed>> maps;
  {
    auto timer = profiler.busy("map");
    for (const frame& f : frames)
      if (!maps.contains({f.width, f.height}))
        maps.try_emplace({f.width, f.height},
                         vbatch::sample::make_e2p_map<vbatch::sample::maps::cached_fixed>(cameras, f.width, f.height, exec));
  }
  profiler.count("map", maps.size());

  // The source: image files decoded by the loader's workers, or the video's frames in one pass.
  std::optional<pl::image_loader<>> images;
  std::optional<pl::video_loader> clip;
  if (video) {
    std::vector<std::int64_t> numbers;
    for (const frame& f : frames) numbers.push_back(f.id);
    clip.emplace(frames.front().path, std::move(numbers), vbatch::batch::fixed(std::size_t(o.batch)),
                 pl::video_loader_options{.stage_name = "load"});
  } else {
    std::vector<vbatch::pipeline::load_item> items;
    for (const frame& f : frames) items.push_back({f.path, f.width, f.height, 3});
    images.emplace(std::move(items), pl::loader_options{.workers = o.decode_workers,
                                                        .batch = o.batch,
                                                        .channels = 3,
                                                        .budget = &budget,
                                                        .stage_name = "load",
                                                        .policy = o.failures.skip() ? pl::on_error::skip : pl::on_error::stop,
                                                        .limit = &limit});
  }
  const std::size_t batches = clip ? clip->batch_count() : images->batch_count();
  pl::image_writer<> writer({.workers = o.encode_workers,
                             .save = {.jpeg_quality = o.quality, .fsync = o.fsync},
                             .policy = o.failures.skip() ? pl::on_error::skip : pl::on_error::stop,
                             .limit = &limit,
                             .budget = &budget});
  // Buffers are recycled (no page faults per batch); the limits bound the batches in flight.
  vbatch::buffer_pool<u8, views_memory> views_pool(4);
  vbatch::buffer_pool<u8, masks_memory> masks_pool(4);
  std::int64_t segmented = 0, dilated = 0;
  outcome result;
  // Frames that failed to decode (--on-error skip: the loader zeroed them): nothing is saved.
  std::vector<char> frame_failed(frames.size(), 0);
  std::vector<std::pair<std::size_t, int>> batch_frames(batches);  // first frame, count
  std::map<fs::path, std::size_t> frame_of_output;                 // the frame each submitted file belongs to (failed writes)
  vbatch_tools::progress_line bar(o.quiet, "frames", frames.size());

  const auto remap = [&](vbatch::pipeline::loaded_batch in) {
    batch_frames[in.index] = {in.first, in.images.n};
    for (const pl::decode_failure& f : in.failures) {
      frame_failed[f.index] = 1;
      result.failures.push_back({f.path.string(), "decode", f.message});
    }
    const batch_view<const u8> src = in.images;  // (B,Hs,Ws,3)
    work_item w{in.first, nullptr, nullptr};
    w.views = pl::blocked([&] { return views_pool.acquire({src.n * per_frame, view_h, view_w, 3}); });
    vbatch::sample::e2p(exec, src, maps.at({src.w, src.h}), w.views->view());  // every camera of every frame at once
    profiler.count("remap", 0, std::uint64_t(w.views->shape().n) * view_w * view_h);
    return w;  // `in` goes out of scope: the frames' buffer returns to the loader
  };

  // The model's batch: --model-batch views per call, halved and retried on out-of-memory.
  vbatch::batch::backoff model_batches{vbatch::batch::fixed(std::size_t(o.model_batch))};
  const auto segment = [&](work_item w) {
    const int n = w.views->shape().n;
    w.masks = pl::blocked([&] { return masks_pool.acquire({n, view_h, view_w, 1}); });
    const batch_view<const u8> views = w.views->view();
    const batch_view<u8> masks = w.masks->view();
    std::vector<int> slots(static_cast<std::size_t>(n));
    std::iota(slots.begin(), slots.end(), 0);
    vbatch::batch::for_each_batch(std::span<const int>(slots), model_batches, [&](std::span<const int> part, std::size_t first) {
      segment_views(views.images(int(first), int(part.size())), masks.images(int(first), int(part.size())));
    });
    segmented += count_set(*w.masks);
    return w;
  };

  const vbatch::morph::structuring_element grow = vbatch::morph::square(std::max(o.dilate, 1));
  const auto dilate = [&](work_item w) {
    if (o.dilate > 0) vbatch::morph::dilate(exec, w.masks->view(), w.masks->view(), grow);  // in place, every mask at once
    dilated += count_set(*w.masks);
    return w;
  };

  // The writer's workers encode; submit() only queues (and waits while the queue is full).
  const auto save = [&](work_item w, std::size_t item) {
    for (int i = 0; i < w.views->shape().n; ++i) {
      const std::size_t f = w.first + std::size_t(i / per_frame);
      if (frame_failed[f]) continue;
      const fs::path view = views_dir / output_name(frames[f].id, i % per_frame, o.format),
                     mask = masks_dir / output_name(frames[f].id, i % per_frame, "png");
      frame_of_output.emplace(view, f);
      frame_of_output.emplace(mask, f);
      writer.submit(view, w.views->view().image(i), w.views, std::nullopt, item);
      writer.submit(mask, w.masks->view().image(i), w.masks, std::nullopt, item);
    }
    for (int i = 0; i < w.views->shape().n; ++i) result.views += !frame_failed[w.first + std::size_t(i / per_frame)];
    bar.update(w.first + std::size_t(w.views->shape().n / per_frame), fmt::format("{} views", result.views));
  };

  // One run: the loader is the source, the writer a part behind "save". --on-error stop:
  // everything queued before a failure is written (complete files only), then the first error by
  // item; skip: failed frames and files are listed and the run goes on.
  pl::options po;
  po.policy = o.failures.policy();
  po.limit = &limit;
  po.profiler = &profiler;
  po.source_name = "load";
  po.parts = {pl::attach(writer)};
  const auto flow = [&](auto& source) {
    return pl::run(po, source, pl::stage("remap", remap, {.queue = 0}), pl::stage("segment", segment, {.queue = 1}),
                   pl::stage("dilate", dilate, {.queue = 1}), pl::stage("save", save, {.queue = 1, .kind = kind::io}));
  };
  const pl::report r = clip ? flow(*clip) : flow(*images);
  bar.finish();
  if (!o.failures.skip() && !r.failures.empty()) r.rethrow();
  // A failed write by its file; anything else for each frame of its batch.
  const auto input_name = [&](std::size_t i) {
    return video ? fmt::format("{} frame {}", frames[i].path.string(), frames[i].id) : frames[i].path.string();
  };
  std::set<std::size_t> failed = vbatch_tools::add_run_failures(result.failures, r, batch_frames, input_name);
  if (video)
    for (const std::size_t f :
         vbatch_tools::add_undelivered_failures(result.failures, r, "load", batch_frames, frames.size(), input_name))
      frame_failed[f] = 1;
  for (std::size_t f = 0; f < frames.size(); ++f)
    if (frame_failed[f]) failed.insert(f);
  for (const pl::write_failure& f : writer.report().failures) {
    result.failures.push_back({f.path.string(), "write", f.message});
    if (const auto it = frame_of_output.find(f.path); it != frame_of_output.end()) failed.insert(it->second);
  }
  result.failed_frames = failed.size();
  result.failed_writes = writer.report().failures.size();
  result.too_many_failures = r.too_many_failures;

  profiler.record_peak("views", views_memory::stats().peak);
  profiler.record_peak("masks", masks_memory::stats().peak);
  result.report = profiler.report();
  result.frames = frames.size() - std::size_t(std::count(frame_failed.begin(), frame_failed.end(), 1));
  result.batches = batches;
  const double mask_pixels = std::max(1.0, double(result.views) * view_w * view_h);
  result.segmented = double(segmented) / mask_pixels;
  result.dilated = double(dilated) / mask_pixels;
  return result;
}

// ---- the report -------------------------------------------------------------------------------

// What a stage's items are: the pipeline's stages count batches of frames.
std::string unit_of(const std::string& stage, std::uint64_t items) {
  const bool one = items == 1;
  if (stage == "load") return one ? "frame" : "frames";
  if (stage == "map") return one ? "map" : "maps";
  if (stage == "encode" || stage == "write") return one ? "file" : "files";
  return one ? "batch" : "batches";
}

double total_busy(const prof::run_report& r) { return r.busy(prof::stage_kind::io) + r.busy(prof::stage_kind::compute); }

std::string table(const outcome& out) {
  const prof::run_report& r = out.report;
  const double busy = std::max(total_busy(r), 1e-12);
  std::string t = fmt::format("{:<9}{:<9}{:>8}{:>8}{:>14}{:>8}\n", "stage", "kind", "busy s", "wait s", "items", "share");
  for (const prof::stage_stats& s : r.stages)
    t += fmt::format("{:<9}{:<9}{:>8.2f}{:>8.2f}{:>6} {:<7}{:>7.0f}%\n", s.name, prof::to_string(s.kind), s.busy, s.waiting,
                     s.items, unit_of(s.name, s.items), 100 * s.busy / busy);
  return t;
}

std::string summary(const outcome& out) {
  const prof::run_report& r = out.report;
  const double wall = std::max(r.wall, 1e-9);
  std::string peaks;  // the tracked batch buffers
  for (const auto& [name, bytes] : r.peak_memory)
    peaks += fmt::format(", {} buffers {:.0f} MiB", name, double(bytes) / (1 << 20));
  return fmt::format(
      "{} views in {:.2f} s: {:.1f} views/s, {:.4f} s/view; peak RSS {:.0f} MiB{}\n"
      "busy time: I/O {:.0f} %, compute {:.0f} % (thread-seconds, summed over workers; stages overlap)\n"
      "masks: {:.2f} % of pixels set by the segmenter, {:.2f} % after dilation\n",
      out.views, r.wall, double(out.views) / wall, r.wall / double(std::max<std::size_t>(out.views, 1)),
      double(r.peak_rss) / (1 << 20), peaks, 100 * r.io_share(), total_busy(r) > 0 ? 100 - 100 * r.io_share() : 0,
      100 * out.segmented, 100 * out.dilated);
}

// The common report (the "run" block merge-reports adds up, the failures) with the profiler's
// JSON, the run's totals and settings added.
json report_json(const options& o, const outcome& out, const std::string& segmenter_text, const vbatch_tools::run_summary& run,
                 const std::vector<vbatch_tools::item_failure>& failures) {
  const prof::run_report& r = out.report;
  const json profile = json::parse(r.json());
  const double busy = std::max(total_busy(r), 1e-12);
  json j = vbatch_tools::report_json(run, failures);
  j["tool"] = "pipeline360";
  j["settings"] = {{"rig", o.rig},
                   {"size", o.size},
                   {"fov", o.fov},
                   {"segmenter", segmenter_text},
                   {"dilate", o.dilate},
                   {"batch", o.batch},
                   {"model_batch", o.model_batch},
                   {"threads", vbatch::cpu_par{o.threads}.thread_count()},
                   {"format", o.format}};
  j["frames"] = out.frames;
  j["views"] = out.views;
  j["masks"] = out.views;
  j["batches"] = out.batches;
  j["views_per_second"] = r.wall > 0 ? double(out.views) / r.wall : 0.0;
  j["seconds_per_view"] = out.views > 0 ? r.wall / double(out.views) : 0.0;
  j["compute_share"] = total_busy(r) > 0 ? 1 - r.io_share() : 0.0;
  j["mask_coverage"] = {{"segmenter", out.segmented}, {"dilated", out.dilated}};
  for (const auto& [key, value] : profile.items()) j[key] = value;  // wall_seconds, io_share, peak memory, stages
  for (json& s : j["stages"]) {
    s["unit"] = unit_of(s["name"].get<std::string>(), 2);  // plural
    s["share_of_busy"] = s["busy_seconds"].get<double>() / busy;
  }
  return j;
}

std::string report_svg(const outcome& out) {
  const prof::run_report& r = out.report;
  std::vector<prof::bar> bars;
  for (const prof::stage_stats& s : r.stages)
    bars.push_back({fmt::format("{} ({})", s.name, prof::to_string(s.kind)), s.busy, s.waiting});
  const std::string title = fmt::format("pipeline360: {} views in {:.2f} s ({:.1f} views/s), I/O {:.0f} % of busy time",
                                        out.views, r.wall, r.wall > 0 ? double(out.views) / r.wall : 0.0, 100 * r.io_share());
  return prof::bar_chart_svg(title, "seconds per stage: busy (dark), then waiting (light); summed over workers", bars);
}

int run(options o) {
  // 1. Arguments.
  // Inputs first, then -o (not CLI11's ->required(), which would name -o first when both are missing).
  if (o.inputs.empty() && o.demo == 0)
    usage("no inputs: give frames, directories of frames or a video, or --demo to try synthetic ones{}",
          o.out.empty() ? "; and -o DIR for the views, masks and report" : "");
  if (o.out.empty()) usage("--output is required: the directory for the views, masks and report (-o DIR)");
  if (o.demo > 0) parse_size(o.demo_size, "--demo-size");
  const vbatch::sample::rig cameras = make_rig(o);
  const threshold_segmenter stand_in = parse_segmenter(o.segmenter, o.threads);
  std::optional<model_settings> model;
  if (!o.model.empty()) model = parse_model(o);
#if VBATCH_TOOL_MPI  // rank r of n takes shard r/n of the inputs, or of the demo's frames
  if (!o.shard.empty())
    usage("--shard {}: under MPI each rank takes its own shard (rank r of n: r/n); leave --shard out", o.shard);
  if (!o.chart_path.empty()) usage("--chart: under MPI no chart is written (one rank's would pass for the whole run's)");
  if (o.demo > 0 && std::size_t(o.demo) < o.rank.count)
    usage("--demo {}: fewer frames than the {} ranks; give --demo {} or more", o.demo, o.rank.count, o.rank.count);
  o.shard = fmt::format("{}/{}", o.rank.index, o.rank.count);
#endif

  // 2. Inputs: they exist, have distinct frame ids, and their headers show images within limits;
  // or a video, its selected frames checked against its length and its size against the map's.
  // The model is loaded here too (a missing or unreadable file is named), before any output.
  // Job i of n takes its contiguous part of the frames in input order, balanced by pixels (ids
  // were assigned over all; a video's frames cost alike). A frame whose header is unusable is
  // listed (--on-error skip) and left out.
  const std::optional<vbatch::batch::shard> shard = vbatch_tools::parse_shard_option(o.shard);
  const bool video = o.demo == 0 && vbatch_tools::is_video_input(o.inputs);
  vbatch_tools::check_video_selection(video, o.video);
  std::vector<frame> frames;
  if (video) {
    const vbatch_tools::selected_video v = vbatch_tools::select_video_frames(
        "pipeline360", o.inputs, o.video, vbatch::io::image_limits{}.max_pixels, "the pixel limit");
    const vbatch::status s =
        vbatch::sample::can_make_e2p_map<vbatch::sample::maps::cached_fixed>(cameras, v.info.width, v.info.height);
    if (!s) fail("{}: {}", v.file.string(), s.message);
    for (const long long n : v.frames) frames.push_back({v.file, n, v.info.width, v.info.height});
    frames = vbatch_tools::take_shard(std::move(frames), shard, [](const frame&) { return std::uint64_t{1}; });
  } else if (o.demo == 0) {
    frames = vbatch_tools::take_shard(assign_ids(collect_images(o.inputs)), shard,
                                      [](const frame& f) { return vbatch_tools::image_cost(f.path); });
  }
  vbatch_tools::run_summary totals;
  totals.tool = "pipeline360", totals.unit = "frames", totals.shard = shard, totals.items = frames.size();
  vbatch::pipeline::failure_limit limit(o.failures.limit(frames.size()));
  std::vector<vbatch_tools::item_failure> failures;
  std::erase_if(frames, [&](frame& f) {
    return !video && !vbatch_tools::check_input(o.failures, f.path.string(), failures, limit, [&] { read_header(f, cameras); });
  });
  totals.failed = failures.size();
  chosen_segmenter segmenter =
      model ? load_model(std::move(*model), o.threads) : chosen_segmenter{stand_in, stand_in.describe(), true};

  // 3. Outputs: every directory is writable before anything is written; a report path given
  // is checked first, as its directory is not created.
  for (const fs::path& report : {o.json_path, o.chart_path})
    if (!report.empty()) check_writable_dir(parent_or_current(report), false);
  check_writable_dir(o.out, true);
  check_writable_dir(o.out / "views", true);
  check_writable_dir(o.out / "masks", true);
  if (o.json_path.empty()) o.json_path = o.out / "report.json";
  if (o.chart_path.empty()) o.chart_path = o.out / "report.svg";
#if VBATCH_TOOL_MPI
  o.handover->report_file = o.json_path;
#endif
  if (limit.exceeded()) return vbatch_tools::finish_run("pipeline360", o.out, std::move(failures), true, limit.max(), o.quiet);
  if (o.demo == 0 && totals.items == 0) {
    if (shard) vbatch_tools::say_empty_shard(o.quiet, "pipeline360", *shard, "frames");
#if VBATCH_TOOL_MPI
    o.handover->report = vbatch_tools::report_json(totals, {}).dump();
#else
    vbatch_tools::write_report(o.json_path, vbatch_tools::report_json(totals, {}));
#endif
    return vbatch_tools::finish_run("pipeline360", o.out, {}, false, 0, o.quiet);
  }

  // 4. Work.
  if (o.demo > 0) {
    frames = assign_ids(render_demo(o));
#if VBATCH_TOOL_MPI  // every rank renders the demo's frames (the same bytes) and takes its shard of them
    frames = vbatch_tools::take_shard(std::move(frames), shard, [](const frame& f) { return vbatch_tools::image_cost(f.path); });
#endif
    for (frame& f : frames) read_header(f, cameras);
    totals.items = frames.size();
    if (!o.quiet)
      fmt::print("demo: {} synthetic {}x{} frames (turned 15° each) in {}\n", frames.size(), frames.front().width,
                 frames.front().height, (o.out / "demo_frames").string());
  }
  const outcome out = process(o, frames, video, cameras, segmenter, limit);
  failures.insert(failures.end(), out.failures.begin(), out.failures.end());
  totals.failed += out.failed_frames;
  totals.outputs = 2 * out.views - out.failed_writes;
  totals.seconds = out.report.wall;
  for (const prof::stage_stats& s : out.report.stages) totals.stage_seconds[s.name] = s.busy;
  const std::string json_text = report_json(o, out, segmenter.description, totals, failures).dump(2) + "\n",
                    svg = report_svg(out);
#if VBATCH_TOOL_MPI  // rank 0 writes the merged report; no chart (one rank's would pass for the run's)
  o.handover->report = json_text;
#else
  vbatch::io::write_file_atomically(o.json_path, json_text.data(), json_text.size(), o.fsync);
  vbatch::io::write_file_atomically(o.chart_path, svg.data(), svg.size(), o.fsync);
#endif

  if (!o.quiet) {
    fmt::print("{} frames -> {} views {}x{} ({}, fov {:g}) -> masks ({}{}) -> dilate {}\n\n", out.frames, out.views,
               cameras.front().lens.width, cameras.front().lens.height, o.rig, o.fov, segmenter.description,
               segmenter.stand_in ? "; a stand-in, not a model" : "",
               o.dilate > 0 ? fmt::format("square {}", o.dilate) : std::string("off"));
    fmt::print("{}\n{}", table(out), summary(out));
    fmt::print("wrote {}/ and {}/ ({} files each), {}, {}\n", (o.out / "views").string(), (o.out / "masks").string(), out.views,
               o.json_path.string(), o.chart_path.string());
  }
  return vbatch_tools::finish_run("pipeline360", o.out, std::move(failures), out.too_many_failures || limit.exceeded(),
                                  limit.max(), o.quiet);
}

}  // namespace

int main(int argc, char** argv) {
#if VBATCH_TOOL_MPI
  vbatch_tools::mpi::session mpi(argc, argv);  // first: MPI may take its own arguments out of argv
#endif
  options o;
  CLI::App app{"pipeline360: 360° frames -> perspective views -> masks -> dilation -> files, with a timing report.",
               "pipeline360"};
  app.footer(
      "Examples:\n"
      "  pipeline360 --demo -o out/                        4 synthetic frames -> 32 views and masks, report\n"
      "  pipeline360 --demo 8 -o out/ --size 960x540       8 frames, smaller views\n"
      "  pipeline360 frames/ -o out/ --rig ring:6 --fov 100 --segmenter colour:230,40,40,50 --dilate 25\n"
      "  pipeline360 frames/ -o out/ --model onnx:seg.onnx --model-input 3x320x320 --model-mask argmax:15\n"
      "  pipeline360 clip.mp4 -o out/ --every 30           a video's frames 0, 30, 60, ..., decoded once\n"
      "Outputs: DIR/views/frame_{id:05d}_cam_{k:02d}.{jpg|png}, DIR/masks/frame_{id:05d}_cam_{k:02d}.png\n"
      "(0/255), DIR/report.json and DIR/report.svg; id = the last number in the frame's file name, or a video\n"
      "frame's number. A video (any input file not named .jpg/.jpeg/.png) must be the only input; --frame, --every\n"
      "and --time select its frames (every frame by default).\n"
      "Without --model the segmenter is a colour-threshold stand-in (--segmenter). --model onnx:PATH runs an ONNX\n"
      "segmentation model (OpenCV DNN) on --model-batch views at a time: each view is stretched to --model-input,\n"
      "normalised as (value x --model-scale - mean) / std, and the score map --model-mask picks is resized to the view\n"
      "and thresholded.\n"
      "Failures: with --on-error skip (the default) a frame that cannot be read or decoded, or a file that cannot\n"
      "be written, is skipped and listed in DIR/failures.json; every other frame's views and masks are written.\n"
      "Exit status: 0 done; 1 an input or output problem, or more failures than --max-failures; 2 a bad command\n"
      "line; 3 done, but some frames or files failed (DIR/failures.json).");
  vbatch_tools::add_version_flag(app);

  auto* inputs = app.add_option("inputs", o.inputs,
                                "Equirectangular frames, directories of .jpg/.jpeg/.png frames (natural order), or one video");
  app.add_option("-o,--output", o.out, "Output directory (created if missing); required");
  app.add_option("--demo", o.demo, "Run on N synthetic frames (default 4), saved in DIR/demo_frames/")
      ->expected(0, 1)
      ->default_str("4")
      ->check(CLI::Range(1, 1000))
      ->excludes(inputs);
  app.add_option("--demo-size", o.demo_size, "Size of the synthetic frames WxH")->capture_default_str();
  vbatch_tools::add_video_selection_options(app, o.video);
  app.add_option("--rig", o.rig, "Cameras: ring:N, rings3:N (pitch -30/0/+30) or cube")->capture_default_str();
  app.add_option("--size", o.size, "View size WxH (or N for NxN)")->capture_default_str();
  app.add_option("--fov", o.fov, "Horizontal field of view of ring cameras, degrees")->capture_default_str();
  app.add_option("--pitch", o.pitch, "Pitch of a ring:N rig, degrees")->capture_default_str();
  auto* stand_in = app.add_option("--segmenter", o.segmenter,
                                  "colour:R,G,B[,TOL] (pixels within TOL of a colour) or saturation:S[,V] (vivid pixels); "
                                  "a stand-in for a model, used without --model")
                       ->capture_default_str();
  auto* model =
      app.add_option("--model", o.model, "onnx:PATH: an ONNX segmentation model instead of the stand-in")->excludes(stand_in);
  app.add_option("--model-input", o.model_input, "The network's input per view, 3xHxW (e.g. 3x320x320); required with --model")
      ->needs(model);
  app.add_option("--model-mean", o.model_mean, "Per-channel mean after --model-scale, network order")
      ->needs(model)
      ->capture_default_str();
  app.add_option("--model-std", o.model_std, "Per-channel std after --model-scale, network order")
      ->needs(model)
      ->capture_default_str();
  app.add_option("--model-scale", o.model_scale, "Pixel values (0..255) are multiplied by this first")
      ->needs(model)
      ->default_str("1/255");
  app.add_flag("--model-bgr", o.model_bgr, "The network takes BGR (default RGB)")->needs(model);
  app.add_option("--model-mask", o.model_mask, "prob:C[,T] (channel C > T), logit:C[,T] or argmax:K (class K wins)")
      ->needs(model)
      ->capture_default_str();
  app.add_option("--model-batch", o.model_batch, "Views per segmenter call (halved on out of memory)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--dilate", o.dilate, "Grow masks by an NxN square (0: off)")->check(CLI::Range(0, 999))->capture_default_str();
  app.add_option("--format", o.format, "View format (masks are PNG)")
      ->check(CLI::IsMember({"jpg", "png"}))
      ->capture_default_str();
  app.add_option("--quality", o.quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--batch", o.batch, "Frames per batch (per remap call)")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: all cores)")->check(CLI::Range(0, 4096))->capture_default_str();
  app.add_option("--decode-workers", o.decode_workers, "Threads decoding frames (0: --threads)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--encode-workers", o.encode_workers, "Threads encoding and writing files (0: --threads)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--report,--json", o.json_path,
                 "Report as JSON (default DIR/report.json): the \"run\" block every tool writes (merge-reports adds up "
                 "shards' reports), the failures, per-stage times, settings, peak memory");
  vbatch_tools::add_shard_option(app, o.shard, "frames");
  app.add_option("--chart", o.chart_path, "Report as an SVG chart (default DIR/report.svg)");
  vbatch_tools::add_failure_options(app, o.failures);
  vbatch_tools::add_fsync_flag(app, o.fsync);
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
#if VBATCH_TOOL_MPI
  options::rank_handover handover;
  o.rank = {std::size_t(mpi.rank()), std::size_t(mpi.size())};
  o.handover = &handover;
  const bool quiet = o.quiet;
  o.quiet = true;  // one summary for the run: rank 0's, of the merged report
  const int status = vbatch_tools::run_reporting("pipeline360", "out of memory; try a smaller --batch or --size",
                                                 [&] { return run(std::move(o)); });
  return vbatch_tools::mpi::finish_ranks(mpi, "pipeline360", status, handover.report, handover.report_file, quiet);
#else
  return vbatch_tools::run_reporting("pipeline360", "out of memory; try a smaller --batch or --size",
                                     [&] { return run(std::move(o)); });
#endif
}
