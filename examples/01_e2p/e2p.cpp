// e2p: split equirectangular frames into perspective views.
//
//   e2p --demo -o out/                                  # a synthetic panorama -> 8 views
//   e2p frames/ -o views/ --rig rings3:8 --size 1600x1200 --fov 100
//   e2p pano_0042.jpg --cube --layout dice -o cubes/    # frame_00042_cube.jpg
//   e2p frames/ -o views/ --resume                      # after a crash: only what is missing
//
// A pipeline of three stages on their own threads, joined by bounded queues, so that decoding,
// remapping and encoding overlap: decode workers fill batches of frames a few batches ahead
// (vbatch::image_loader) -> one remap of every camera of a batch, with a map built once per source
// size (while the first frames decode) -> encode workers save every view atomically
// (vbatch::image_writer). Everything that can be checked (arguments, cameras, input headers, frame
// ids, the output directory) is checked before the first frame is loaded, so a mistake costs no
// work and leaves no files. Only a frame that fails to decode (a truncated JPEG) or a write that
// fails (a full disk) stops a run midway; the views of the frames before it are written, complete.
//
// Exit status: 0 done, 1 an input, camera file or output problem, 2 a bad command line.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "vbatch/batch/estimate.hpp"
#include "vbatch/batch/for_each_batch.hpp"
#include "vbatch/batch/partition.hpp"
#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/io/loader.hpp"
#include "vbatch/io/writer.hpp"
#include "vbatch/pipeline/buffer_pool.hpp"
#include "vbatch/pipeline/pipeline.hpp"
#include "vbatch/vbatch.hpp"

#include "../common/tool.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using vbatch_tools::clock_type;
using vbatch_tools::collect_images;
using vbatch_tools::fail;
using vbatch_tools::frame_ids;
using vbatch_tools::seconds_since;
using vbatch_tools::usage;

struct options {
  std::vector<std::string> inputs;
  fs::path out;
  bool demo = false, cube = false, quiet = false;
  std::string rig = "ring:8", size = "1920x1080", convention = "vbatch", interp = "bilinear", format = "jpg", map = "fixed",
              layout = "list", cameras_file;
  std::vector<std::string> camera_specs;
  double pitch = 0, fov = 90, vfov = 0;
  int quality = 92, threads = 0, decode_workers = 0, encode_workers = 0, prefetch = 2;
  bool resume = false;
  std::string batch = "2";  // frames per remap call, or "auto"
  std::string shard;        // "i/n": this job's part of the frames
  std::int64_t max_pixels = vbatch::image_limits{}.max_pixels;
  // Which options the user gave (defaults of some depend on others).
  bool size_given = false, convention_given = false, pitch_given = false, preset_given = false;
};

// ---- parsing small values ---------------------------------------------------------------------

int parse_int(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size() && !s.empty() ? v : -1;
}

// "WxH", or "N" for N×N. Views obey the same side limit as inputs, so an absurd size fails here
// rather than as an allocation failure later.
std::pair<int, int> parse_size(const std::string& text) {
  const std::size_t x = text.find_first_of("xX");
  const int w = parse_int(std::string_view(text).substr(0, x));
  const int h = x == std::string::npos ? w : parse_int(std::string_view(text).substr(x + 1));
  if (w < 0 || h < 0) usage("--size '{}': expected WxH (e.g. 1920x1080) or N for NxN", text);
  if (w == 0 || h == 0) usage("--size '{}': width and height must be positive", text);
  if (w > vbatch::image_limits{}.max_side || h > vbatch::image_limits{}.max_side)
    usage("--size '{}': at most {} pixels per side", text, vbatch::image_limits{}.max_side);
  return {w, h};
}

// ---- cameras ----------------------------------------------------------------------------------

struct camera_setup {
  vbatch::rig cameras;
  bool cube = false;
  vbatch::cube_layout layout = vbatch::cube_layout::list;
};

// One camera, checked with the library's non-throwing checks so that the message can say where
// the bad value came from: the command line (a usage error) or a camera file.
vbatch::camera checked_camera(vbatch::view_angles a, int w, int h, double hfov, double vfov, const vbatch::angle_convention& conv,
                              const std::string& where, bool from_command_line) {
  vbatch::status s = vbatch::can_rotate(a);
  if (s) s = vbatch::can_make_pinhole(w, h, hfov, vfov, conv.span);
  if (!s && from_command_line) usage("{}: {}", where, s.message);
  if (!s) fail("{}: {}", where, s.message);
  return vbatch::make_camera(a, w, h, hfov, vfov, conv);
}

// "yaw,pitch,roll,hfov[,vfov]" in degrees.
std::vector<double> parse_camera(const std::string& text) {
  std::optional<std::vector<double>> values = vbatch_tools::parse_numbers(text);
  if (!values || (values->size() != 4 && values->size() != 5))
    usage("--camera '{}': expected yaw,pitch,roll,hfov[,vfov] in degrees", text);
  return std::move(*values);
}

// {"cameras":[{"yaw":..,"pitch":..,"roll":..,"hfov":..,"vfov":..}], "width":..,"height":..,"convention":..}
// Missing angles are 0; a missing hfov/vfov takes --fov/--vfov. Unknown keys are errors, so a typo
// ("fov") does not silently become the default.
vbatch::rig read_camera_file(const options& o, int width, int height, vbatch::angle_convention conv) {
  const std::string file = o.cameras_file;
  std::ifstream in(file);
  if (!in) fail("{}: cannot open the camera file: {}", file, std::strerror(errno));
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", file, e.what());
  }
  if (!doc.is_object() || !doc.contains("cameras") || !doc["cameras"].is_array() || doc["cameras"].empty())
    fail("{}: expected an object with a non-empty \"cameras\" array", file);
  for (const auto& [key, value] : doc.items())
    if (key != "cameras" && key != "width" && key != "height" && key != "convention")
      fail("{}: unknown key \"{}\" (expected cameras, width, height, convention)", file, key);
  const auto size_value = [&](const char* key, int fallback) {
    if (!doc.contains(key) || o.size_given) return fallback;  // --size on the command line wins
    if (!doc[key].is_number_integer() || doc[key].get<std::int64_t>() <= 0 ||
        doc[key].get<std::int64_t>() > vbatch::image_limits{}.max_side)
      fail("{}: \"{}\" must be a positive integer up to {}, got {}", file, key, vbatch::image_limits{}.max_side, doc[key].dump());
    return doc[key].get<int>();
  };
  width = size_value("width", width), height = size_value("height", height);
  if (doc.contains("convention")) {
    // The file's angles are written in the file's convention; a different --convention is a conflict.
    const json& c = doc["convention"];
    const auto found = c.is_string() ? vbatch::find_convention(c.get<std::string>()) : std::nullopt;
    if (!found) fail("{}: unknown \"convention\" {} (expected vbatch, py360convert or 360toolkit)", file, c.dump());
    if (o.convention_given && found->name != conv.name)
      fail("{}: the file says convention {} but --convention is {}", file, found->name, conv.name);
    conv = *found;
  }
  vbatch::rig rig;
  for (std::size_t k = 0; k < doc["cameras"].size(); ++k) {
    const json& cam = doc["cameras"][k];
    const std::string where = fmt::format("{}: cameras[{}]", file, k);
    if (!cam.is_object()) fail("{} must be an object, got {}", where, cam.dump());
    for (const auto& [key, value] : cam.items())
      if (key != "yaw" && key != "pitch" && key != "roll" && key != "hfov" && key != "vfov")
        fail("{}: unknown key \"{}\" (expected yaw, pitch, roll, hfov, vfov)", where, key);
    const auto number = [&](const char* key, double fallback) {
      if (!cam.contains(key)) return fallback;
      if (!cam[key].is_number()) fail("{}.{} must be a number, got {}", where, key, cam[key].dump());
      return cam[key].get<double>();
    };
    const vbatch::view_angles a{number("yaw", 0), number("pitch", 0), number("roll", 0)};
    rig.push_back(checked_camera(a, width, height, number("hfov", o.fov), number("vfov", o.vfov), conv, where, false));
  }
  return rig;
}

camera_setup make_cameras(const options& o) {
  const vbatch::angle_convention conv = *vbatch::find_convention(o.convention);  // CLI11 checked the name
  camera_setup setup;
  setup.cube = o.cube || o.rig == "cube";
  if (o.layout != "list" && !setup.cube) usage("--layout {} needs --cube", o.layout);
  if (setup.cube && o.preset_given) usage("--pitch, --fov and --vfov do not apply to cube faces (90° squares)");
  if (!(o.fov > 0 && o.fov < 180)) usage("--fov {}: the horizontal FOV must be in (0, 180) degrees", o.fov);
  if (o.vfov != 0 && !(o.vfov > 0 && o.vfov < 180))
    usage("--vfov {}: the vertical FOV must be in (0, 180) degrees, or 0", o.vfov);
  if (!std::isfinite(o.pitch)) usage("--pitch {}: must be a finite angle in degrees", o.pitch);
  if (setup.cube) {
    // Faces are square 90° views; --size is the face width (N or NxN), 1024 by default.
    const auto [w, h] = o.size_given ? parse_size(o.size) : std::pair{1024, 1024};
    if (w != h) usage("--size '{}': cube faces are square; give the face width, e.g. --size {}", o.size, w);
    if (o.layout == "dice" && 4 * w > vbatch::image_limits{}.max_side)
      usage("--size '{}': a dice layout 4 faces wide is too large", o.size);
    setup.cameras = vbatch::cube_rig(w, conv);
    setup.layout = *vbatch::find_cube_layout(o.layout);
    return setup;
  }
  const auto [w, h] = parse_size(o.size);
  if (!o.cameras_file.empty()) {
    setup.cameras = read_camera_file(o, w, h, conv);
  } else if (!o.camera_specs.empty()) {
    for (const std::string& spec : o.camera_specs) {
      const std::vector<double> v = parse_camera(spec);
      setup.cameras.push_back(checked_camera({v[0], v[1], v[2]}, w, h, v[3], v.size() > 4 ? v[4] : o.vfov, conv,
                                             fmt::format("--camera '{}'", spec), true));
    }
  } else {
    // ring:N (N yaws at equal steps at --pitch) or rings3:N (N yaws at each of pitch -30, 0, +30).
    const std::size_t colon = o.rig.find(':');
    const std::string kind = o.rig.substr(0, colon);
    const int count = colon == std::string::npos ? -1 : parse_int(std::string_view(o.rig).substr(colon + 1));
    if ((kind != "ring" && kind != "rings3") || count <= 0 || count > 360)
      usage("--rig '{}': expected ring:N, rings3:N (N from 1 to 360) or cube", o.rig);
    if (kind != "ring" && o.pitch_given) usage("--pitch applies to --rig ring:N only, not {}", o.rig);
    if (kind == "ring")
      setup.cameras = vbatch::ring_rig(count, o.pitch, w, h, o.fov, o.vfov, conv);
    else
      setup.cameras = vbatch::three_ring_rig(count, w, h, o.fov, o.vfov, conv);
  }
  return setup;
}

// ---- inputs -----------------------------------------------------------------------------------

struct frame {
  fs::path path;  // empty for the --demo panorama
  long long id = 0;
  int width = 0, height = 0;
};

// The frames of the input files, with their ids (vbatch_tools::frame_ids); sizes come later.
std::vector<frame> assign_ids(const std::vector<fs::path>& files) {
  const std::vector<long long> ids = frame_ids(files);
  std::vector<frame> frames;
  for (std::size_t i = 0; i < files.size(); ++i) frames.push_back({files[i], ids[i]});
  return frames;
}

// Size from the header only (the pixels are decoded batch by batch later).
void read_header(frame& f, const vbatch::image_limits& limits) {
  const vbatch::image_info info = vbatch::read_image_info(f.path);
  vbatch::check(vbatch::check_limits(f.path, info, limits));
  f.width = info.width, f.height = info.height;
}

// ---- the work loop ----------------------------------------------------------------------------

struct timings {
  double load = 0, map = 0, remap = 0, save = 0;  // busy seconds, summed over threads
  long long frames = 0, views = 0, output_pixels = 0, retries = 0;
  int largest_batch = 0;
};

// One updating line on a terminal; otherwise a line per ~10% of the frames, so logs stay short.
class progress {
 public:
  progress(bool quiet, std::size_t frames) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0), frames_(frames) {}

  void update(const timings& t, double elapsed) {
    if (quiet_ || frames_ == 0) return;
    const int tenth = static_cast<int>(t.frames * 10 / static_cast<long long>(frames_));
    if (!tty_ && tenth == last_tenth_) return;
    last_tenth_ = tenth;
    const int digits = static_cast<int>(fmt::formatted_size("{}", frames_));
    fmt::print(stderr, "{}[{:>{}}/{} frames] {} views  {:.1f} views/s{}", tty_ ? "\r" : "", t.frames, digits, frames_, t.views,
               t.views / std::max(elapsed, 1e-9), tty_ ? "\x1b[K" : "\n");
    std::fflush(stderr);
  }
  void finish() {
    if (!quiet_ && tty_ && frames_ > 0) fmt::print(stderr, "\n");
  }

 private:
  bool quiet_, tty_;
  std::size_t frames_;
  int last_tenth_ = -1;
};

std::string view_name(long long id, int cam, std::string_view ext) {
  return fmt::format("frame_{:05d}_cam_{:02d}.{}", id, cam, ext);
}

// The files a frame produces, with the size each must have.
struct output_file {
  std::string name;
  int width, height;
};
std::vector<output_file> outputs_of(const options& o, const camera_setup& setup, long long id) {
  const int w = setup.cameras.front().lens.width, h = setup.cameras.front().lens.height;
  if (setup.layout != vbatch::cube_layout::list)
    return {{fmt::format("frame_{:05d}_cube.{}", id, o.format), setup.layout == vbatch::cube_layout::horizon ? 6 * w : 4 * w,
             setup.layout == vbatch::cube_layout::horizon ? w : 3 * w}};
  std::vector<output_file> out;
  for (int k = 0; k < static_cast<int>(setup.cameras.size()); ++k) out.push_back({view_name(id, k, o.format), w, h});
  return out;
}

// Frames decoded into one batch buffer (from the loader, or the --demo panorama).
struct frame_batch {
  std::size_t first = 0;                  // index of its first frame in `frames`
  vbatch::batch_view<vbatch::u8> images;  // (B,Hs,Ws,3)
  std::shared_ptr<const void> keep;
};
// Its views, ready to be written.
struct view_batch {
  std::size_t first = 0;
  int frames = 0;
  vbatch::batch_view<const vbatch::u8> images;  // (B*K,H,W,3), or (B,rows*w,cols*w,3) for a cube layout
  std::shared_ptr<const void> keep;
};

// The pipeline (each stage on its own threads, joined by bounded queues):
//   load    N decode workers fill batches of frames 2 batches ahead (vbatch::image_loader)
//   remap   one remap call for every camera of a batch, into a recycled views buffer
//   save    hands every view to the writer: N encode workers, atomic writes, back-pressure
// so that decoding frame i+1, remapping frame i and encoding the views of frame i-1 overlap.
// Maps are built before the first remap, while the first frames decode.
template <class Policy, class Interp, class BatchPolicy>
timings split(const options& o, const std::vector<frame>& frames, const camera_setup& setup,
              const vbatch::batch_buffer<vbatch::u8>* demo, clock_type::time_point start, int batch_size, BatchPolicy batches,
              const std::vector<std::vector<bool>>& done_views) {
  const vbatch::cpu_par exec{o.threads};
  const int threads = exec.thread_count();
  const int views_per_frame = static_cast<int>(setup.cameras.size());
  const int view_w = setup.cameras.front().lens.width, view_h = setup.cameras.front().lens.height;
  const bool layout = setup.layout != vbatch::cube_layout::list;
  timings t;
  progress bar(o.quiet, frames.size());
  if (frames.empty()) return t;

  // Maps, one per source size, built on a thread of their own while the loader starts decoding.
  std::map<std::pair<int, int>, vbatch::e2p_map<Policy>> maps;
  auto maps_ready = std::async(std::launch::async, [&] {
    const auto t0 = clock_type::now();
    for (const frame& f : frames)
      if (!maps.count({f.width, f.height}))
        maps.try_emplace({f.width, f.height}, vbatch::make_e2p_map<Policy>(setup.cameras, f.width, f.height, exec));
    return seconds_since(t0);
  });
  struct wait_for_maps {  // never leave the map thread running on an early exit
    std::future<double>& f;
    ~wait_for_maps() {
      if (f.valid()) f.wait();
    }
  } guard{maps_ready};

  std::vector<vbatch::load_item> items;
  for (const frame& f : frames) items.push_back({f.path, f.width, f.height, 3});
  std::optional<vbatch::image_loader<>> loader;
  if (!demo)
    loader.emplace(std::move(items), vbatch::loader_options{.workers = o.decode_workers > 0 ? o.decode_workers : threads,
                                                            .prefetch = o.prefetch,
                                                            .batch = batch_size,
                                                            .channels = 3,
                                                            .limits = vbatch::image_limits{o.max_pixels}});
  vbatch::image_writer<> writer(
      {.workers = o.encode_workers > 0 ? o.encode_workers : threads, .queue = std::size_t(4 * threads), .save = {o.quality}});
  // Views buffers in flight: the remap holds one per group of its batch (after an out-of-memory
  // back-off a batch runs as up to batch_size groups) while two more batches' views are encoded.
  vbatch::pipeline::buffer_pool<vbatch::u8> views_pool(std::size_t(batch_size) + 2);

  // Batch `index` of frames, decoded. The remap stage takes it from the loader itself, so that no
  // decoded batch waits in a queue beyond the loader's prefetch window (memory).
  const auto next_frames = [&](std::size_t index) -> frame_batch {
    if (demo) return frame_batch{0, const_cast<vbatch::batch_buffer<vbatch::u8>*>(demo)->view(), nullptr};
    std::optional<vbatch::loaded_batch> b = loader->next();  // throws a frame's decode error, naming it
    if (!b || b->index != index) fail("internal error: the loader gave no batch {}", index);
    return frame_batch{b->first, b->images, std::move(b->keep)};
  };

  // One batch of frames: every view of every frame in one remap call. Running out of memory for
  // the views makes for_each_batch redo the same frames in smaller groups.
  const auto remap = [&](std::size_t index) -> std::vector<view_batch> {
    frame_batch in = next_frames(index);
    if (maps_ready.valid()) t.map = maps_ready.get();
    const auto working = clock_type::now();
    std::vector<view_batch> out;
    const auto group = [&](std::span<const int> slots, std::size_t) {
      const int count = static_cast<int>(slots.size()), first = slots.front();    // a group of the batch's frames
      const vbatch::batch_view<vbatch::u8> src = in.images.images(first, count);  // (B,Hs,Ws,3)
      const auto& map = maps.at({src.w, src.h});
      auto views = views_pool.acquire({count * views_per_frame, view_h, view_w, 3});
      const vbatch::batch_view<vbatch::u8> dst = views->view();  // (B*K,H,W,3)
      vbatch::e2p(exec, src, map, dst, Interp{});
      if (!layout) return out.push_back({in.first + std::size_t(first), count, dst, std::move(views)});
      // A cube layout puts a frame's six faces into one image.
      auto layouts = std::make_shared<vbatch::batch_buffer<vbatch::u8>>(vbatch::to_layout(dst, setup.layout));
      const vbatch::batch_view<const vbatch::u8> images = layouts->view();  // (B,rows*w,cols*w,3)
      out.push_back({in.first + std::size_t(first), count, images, std::move(layouts)});
    };
    std::vector<int> slots(static_cast<std::size_t>(in.images.n));
    std::iota(slots.begin(), slots.end(), 0);
    t.retries += static_cast<long long>(vbatch::batch::for_each_batch(std::span<const int>(slots), batches, group).retries);
    t.largest_batch = std::max(t.largest_batch, in.images.n);
    t.remap += seconds_since(working);
    return out;
  };

  // Hands the views to the writer (which blocks while its queue is full), skipping the ones a
  // --resume found complete.
  const auto save = [&](std::vector<view_batch> groups) {
    for (view_batch& g : groups) {
      const int per_frame = layout ? 1 : views_per_frame;
      for (int i = 0; i < g.images.n; ++i) {
        const std::size_t f = g.first + std::size_t(i / per_frame);
        const int k = i % per_frame;
        if (!done_views.empty() && done_views[f][std::size_t(k)]) continue;
        const std::string name =
            layout ? fmt::format("frame_{:05d}_cube.{}", frames[f].id, o.format) : view_name(frames[f].id, k, o.format);
        writer.submit(o.out / name, g.images.image(i), g.keep);
        ++t.views;
        t.output_pixels += g.images.image(i).pixels();
      }
      t.frames += g.frames;
    }
    bar.update(t, seconds_since(start));
  };

  vbatch::pipeline::options po;
  po.source_name = "";  // the loader reports its own time
  const vbatch::pipeline::report r = vbatch::pipeline::run(
      po, vbatch::pipeline::iota(demo ? 1 : loader->batch_count()),
      vbatch::pipeline::stage("remap", remap, {.workers = 1, .queue = 1}),
      vbatch::pipeline::stage("save", save, {.workers = 1, .queue = 1, .kind = vbatch::profile::stage_kind::io}));
  // Everything queued before a failure is written (complete files only), then the first error
  // is reported: a frame that failed to decode, or a write that failed.
  const vbatch::writer_report w = writer.close();
  if (loader) loader->close();
  bar.finish();
  if (!r.failures.empty()) r.rethrow();
  writer.throw_if_failed();
  t.load = loader ? loader->stats().decode_seconds : 0;
  t.save = w.encode_seconds + w.write_seconds;
  return t;
}

using map_choice = std::variant<vbatch::maps::cached_fixed, vbatch::maps::cached_float, vbatch::maps::on_the_fly>;
using interp_choice = std::variant<vbatch::interp::nearest, vbatch::interp::bilinear, vbatch::interp::bicubic>;

int run(const options& o) {
  const auto start = clock_type::now();
  // 1. Arguments and cameras.
  if (o.inputs.empty() && !o.demo) usage("no inputs: give frames or directories of frames, or --demo to try a synthetic one");
  const camera_setup setup = make_cameras(o);
  const map_choice map = o.map == "fixed"   ? map_choice{vbatch::maps::cached_fixed{}}
                         : o.map == "float" ? map_choice{vbatch::maps::cached_float{}}
                                            : map_choice{vbatch::maps::on_the_fly{}};
  const interp_choice interp = o.interp == "nearest"   ? interp_choice{vbatch::interp::nearest{}}
                               : o.interp == "bicubic" ? interp_choice{vbatch::interp::bicubic{}}
                                                       : interp_choice{vbatch::interp::bilinear{}};

  // 2. Inputs: they exist, give distinct frame ids, and their headers show images within the limits.
  std::vector<frame> frames = o.demo ? std::vector<frame>{{{}, 0, 4096, 2048}} : assign_ids(collect_images(o.inputs));
  if (!o.shard.empty()) {
    // Job i of n takes its contiguous part of the frames in input order (ids were assigned over all).
    vbatch::batch::shard s;
    try {
      s = vbatch::batch::parse_shard(o.shard);
    } catch (const vbatch::error& e) {
      usage("--{}", e.what());
    }
    const vbatch::batch::index_range part = vbatch::batch::shard_of(frames.size(), s);
    frames = std::vector<frame>(frames.begin() + std::ptrdiff_t(part.first), frames.begin() + std::ptrdiff_t(part.last));
    if (frames.empty()) {
      if (!o.quiet) fmt::print("shard {}: no frames for this job\n", o.shard);
      return 0;
    }
  }
  for (frame& f : frames) {
    if (f.path.empty()) continue;
    read_header(f, vbatch::image_limits{o.max_pixels});
    const vbatch::status s = std::visit(
        [&](auto policy) { return vbatch::can_make_e2p_map<decltype(policy)>(setup.cameras, f.width, f.height); }, map);
    if (!s) fail("{}: {}{}", f.path.string(), s.message, o.map == "fixed" ? " (--map float)" : "");
  }

  // 3. The output directory.
  vbatch_tools::check_output_dir(o.out, "e2p");

  // 4. --resume: the outputs that exist and decode cleanly at their size are done; frames with
  // every output done are not even decoded.
  std::vector<std::vector<bool>> done_views;
  long long skipped_views = 0, skipped_frames = 0;
  if (o.resume && !o.demo) {
    std::vector<std::vector<output_file>> outputs;
    for (const frame& f : frames) outputs.push_back(outputs_of(o, setup, f.id));
    done_views.resize(frames.size());
    vbatch::for_each_item(vbatch::cpu_par{o.threads}, static_cast<int>(frames.size()), [&](int i) {
      for (const output_file& out : outputs[std::size_t(i)])
        done_views[std::size_t(i)].push_back(vbatch::is_complete_image(o.out / out.name, out.width, out.height));
    });
    std::vector<frame> todo;
    std::vector<std::vector<bool>> todo_done;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto complete = std::count(done_views[i].begin(), done_views[i].end(), true);
      skipped_views += complete;
      if (complete == static_cast<long long>(done_views[i].size())) {
        ++skipped_frames;
        continue;
      }
      todo.push_back(frames[i]);
      todo_done.push_back(done_views[i]);
    }
    frames = std::move(todo);
    done_views = std::move(todo_done);
  }

  // 5. Work.
  std::optional<vbatch::batch_buffer<vbatch::u8>> demo;
  double demo_seconds = 0;
  if (o.demo) {
    const auto t0 = clock_type::now();
    demo = vbatch::render_equirect(4096, 2048, 3, vbatch::demo_scene, vbatch::cpu_par{o.threads});
    vbatch::save_image(o.out / "demo_equirect.jpg", demo->view(), {o.quality});
    demo_seconds = seconds_since(t0);
  }
  // --batch N, or --batch auto: half the free memory over what the frames in flight need (each
  // batch of frames and its views, times the batches the pipeline holds at once; the map is
  // shared), at most 32 frames; a batch whose views do not fit is split in halves.
  const auto largest = std::max_element(frames.begin(), frames.end(), [](const frame& a, const frame& b) {
    return std::int64_t{a.width} * a.height < std::int64_t{b.width} * b.height;
  });
  timings t = std::visit(
      [&](auto policy, auto sampler) {
        using map_policy = decltype(policy);
        const auto* pano = demo ? &*demo : nullptr;
        int batch = o.batch == "auto" ? 0 : std::stoi(o.batch);  // CLI11 checked the text
        if (batch > 0)
          return split<map_policy, decltype(sampler)>(o, frames, setup, pano, start, batch, vbatch::batch::fixed(batch),
                                                      done_views);
        if (largest != frames.end()) {
          const auto cost = vbatch::batch::e2p_cost<vbatch::u8, map_policy>(largest->width, largest->height, 3, setup.cameras);
          vbatch::batch::memory_budget budget(0.5, cost.per_item * std::uint64_t(o.prefetch + 3), 1, 32, cost.shared);
          batch = static_cast<int>(budget.next(32));
        }
        return split<map_policy, decltype(sampler)>(o, frames, setup, pano, start, std::max(batch, 1),
                                                    vbatch::batch::backoff(vbatch::batch::fixed(std::max(batch, 1))), done_views);
      },
      map, interp);
  t.load += demo_seconds;

  if (!o.quiet) {
    const double wall = seconds_since(start);
    // Busy time in thread-seconds: decoding and encoding summed over their workers; the map and
    // remap calls use every thread of --threads.
    const int threads = vbatch::cpu_par{o.threads}.thread_count();
    const double map_busy = t.map * threads, remap_busy = t.remap * threads;
    const double busy = std::max(t.load + map_busy + remap_busy + t.save, 1e-9);
    const auto share = [&](double s) { return fmt::format("{:.2f} s ({:.0f}%)", s, 100 * s / busy); };
    fmt::print("{} frames -> {} views in {:.2f} s: {:.4f} s/view, {:.1f} MPix/s out ({})\n", t.frames, t.views, wall,
               wall / std::max<long long>(t.views, 1), t.output_pixels / 1e6 / wall, fs::path(o.out).string());
    fmt::print("time: load {}, map {}, remap {}, save {} (thread-seconds; stages overlap)\n", share(t.load), share(map_busy),
               share(remap_busy), share(t.save));
    fmt::print("batches: up to {} frames{}; {} threads, {} decode and {} encode workers; {}\n", t.largest_batch,
               t.retries ? fmt::format(", {} rerun smaller after running out of memory", t.retries) : "", threads,
               o.decode_workers > 0 ? o.decode_workers : threads, o.encode_workers > 0 ? o.encode_workers : threads,
               vbatch::codec::fastest::describe());
    if (o.resume)
      fmt::print("resume: {} views already complete, {} frames skipped{}\n", skipped_views, skipped_frames,
                 o.demo ? " (--demo always runs)" : "");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"e2p: split equirectangular (360°) frames into perspective views.", "e2p"};
  app.footer(
      "Examples:\n"
      "  e2p --demo -o out/                              synthetic panorama -> 8 views\n"
      "  e2p frames/ -o views/ --rig rings3:8 --fov 100  3 rings of 8 views at pitch -30/0/+30\n"
      "  e2p pano_0042.jpg -o v/ --camera=-90,0,0,90 --camera 90,10,0,90,60\n"
      "  e2p frames/ -o cubes/ --cube --layout dice --size 1024\n"
      "  e2p frames/ -o views/ --resume                  redo only missing or broken outputs\n"
      "Outputs: DIR/frame_{id:05d}_cam_{k:02d}.{ext}, id = the last number in the input's name (its\n"
      "position when the name has none); with --layout: DIR/frame_{id:05d}_cube.{ext}.\n"
      "Exit status: 0 done; 1 an input, camera file or output problem; 2 a bad command line.");
  vbatch_tools::add_version_flag(app);

  app.add_option("inputs", o.inputs, "Equirectangular frames, or directories of .jpg/.jpeg/.png frames (natural order)");
  app.add_option("-o,--output", o.out, "Output directory (created if missing)")->required();
  auto* demo = app.add_flag("--demo", o.demo, "Split a synthetic 4096x2048 panorama (also saved as DIR/demo_equirect.jpg)");
  demo->excludes(app.get_option("inputs"));

  auto* rig = app.add_option("--rig", o.rig, "Camera preset: ring:N, rings3:N (pitch -30/0/+30) or cube")->capture_default_str();
  auto* camera =
      app.add_option("--camera", o.camera_specs,
                     "A camera yaw,pitch,roll,hfov[,vfov] in degrees (repeatable; negative first value: --camera=-90,...)")
          ->allow_extra_args(false);
  auto* cameras =
      app.add_option("--cameras", o.cameras_file,
                     "Cameras from a JSON file: {\"cameras\":[{\"yaw\":..,\"pitch\":..,\"roll\":..,\"hfov\":..,\"vfov\":..}], "
                     "\"width\",\"height\",\"convention\"}");
  auto* cube = app.add_flag("--cube", o.cube,
                            "Write the six cube faces F R B L U D (cam 00..05); --size is the face width (default 1024)");
  app.add_option("--layout", o.layout, "With --cube: list (six files), or horizon/dice (one image per frame)")
      ->check(CLI::IsMember({"list", "horizon", "dice"}))
      ->capture_default_str();
  auto* pitch = app.add_option("--pitch", o.pitch, "Pitch of a ring:N rig, degrees")->capture_default_str();
  auto* fov = app.add_option("--fov", o.fov, "Horizontal field of view of presets, degrees in (0, 180)")->capture_default_str();
  auto* vfov =
      app.add_option("--vfov", o.vfov, "Vertical field of view of presets, degrees (0: square pixels)")->capture_default_str();
  rig->excludes(camera)->excludes(cameras);
  camera->excludes(cameras);
  pitch->excludes(camera)->excludes(cameras);
  fov->excludes(camera);  // each --camera gives its own hfov
  cube->excludes(rig)->excludes(camera)->excludes(cameras)->excludes(pitch)->excludes(fov)->excludes(vfov);
  auto* convention = app.add_option("--convention", o.convention, "How the given angles read: vbatch, py360convert or 360toolkit")
                         ->check(CLI::IsMember({"vbatch", "py360convert", "360toolkit"}))
                         ->capture_default_str();

  auto* size = app.add_option("--size", o.size, "Output view size WxH (or N for NxN)")->capture_default_str();
  app.add_option("--interp", o.interp, "Interpolation")
      ->check(CLI::IsMember({"nearest", "bilinear", "bicubic"}))
      ->capture_default_str();
  app.add_option("--format", o.format, "Output format")->check(CLI::IsMember({"jpg", "png"}))->capture_default_str();
  app.add_option("--quality", o.quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--batch", o.batch,
                 "Frames per remap call (1..1024), or auto: as many as fit in half the free memory (at most 32), halved "
                 "and retried on out-of-memory")
      ->check(CLI::IsMember({"auto"}) | CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: all cores)")->check(CLI::Range(0, 4096))->capture_default_str();
  app.add_option("--map", o.map,
                 "Sample map: fixed (cached, 1/128-pixel fixed point; fastest), float (cached) or rays (computed per pixel)")
      ->check(CLI::IsMember({"fixed", "float", "rays"}))
      ->capture_default_str();
  app.add_option("--shard", o.shard, "i/n: process only job i's part of the frames (0 <= i < n), for job arrays");
  app.add_option("--max-pixels", o.max_pixels, "Refuse input images with more pixels (decompression bombs)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
      ->capture_default_str();
  app.add_flag("--resume", o.resume,
               "Skip the outputs that exist and decode cleanly at their size (frames whose views are all there are not "
               "decoded); redo the rest");
  app.add_option("--decode-workers", o.decode_workers, "Threads decoding frames (0: --threads)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--encode-workers", o.encode_workers, "Threads encoding and writing views (0: --threads)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--prefetch", o.prefetch, "Batches of frames decoded ahead of the remap")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  o.size_given = size->count() > 0;
  o.convention_given = convention->count() > 0;
  o.pitch_given = pitch->count() > 0;
  o.preset_given = o.pitch_given || fov->count() > 0 || vfov->count() > 0;

  return vbatch_tools::run_reporting("e2p", "out of memory; try a smaller --batch or --size", [&] { return run(o); });
}
