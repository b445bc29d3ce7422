// e2p: split equirectangular frames into perspective views.
//
//   e2p --demo -o out/                                  # a synthetic panorama -> 8 views
//   e2p frames/ -o views/ --rig rings3:8 --size 1600x1200 --fov 100
//   e2p pano_0042.jpg --cube --layout dice -o cubes/    # frame_00042_cube.jpg
//   e2p frames/ -o views/ --resume                      # after a crash: only what is missing
//   e2p clip.mp4 --every 30 -o views/                   # a video: frames 0, 30, 60, ... (also --frame, --time)
//
// A pipeline of three stages on their own threads, joined by bounded queues, so that decoding,
// remapping and encoding overlap: decode workers fill batches of frames a few batches ahead
// (vbatch::pipeline::image_loader) -> one remap of every camera of a batch, with a map built once per source
// size (while the first frames decode) -> encode workers save every view atomically
// (vbatch::pipeline::image_writer). Everything that can be checked (arguments, cameras, input headers, frame
// ids, the output directory) is checked before the first frame is loaded, so a mistake costs no
// work and leaves no files. A frame that cannot be read or decoded (a truncated JPEG) or a view
// that cannot be written is skipped and listed in DIR/failures.json (--on-error skip, the
// default), or stops the run (--on-error stop) with the views of the frames before it written,
// complete; --max-failures stops a run that fails wholesale (a full disk).
//
// A video (any input file not named .jpg/.jpeg/.png) is read by ffmpeg in one pass, only the
// frames selected (--frame, --every, --time; all by default) piped as raw pixels into the same
// batches (vbatch::pipeline::video_loader): no intermediate image files, and a frame's views are
// the ones its lossless PNG would give. Its frame number is the frame's id in the views' names.
// A decoder that fails mid-way fails that frame and every later one.
//
// --device cuda (builds with VBATCH_TOOL_CUDA: e2p_cuda by nvcc, e2p_emulated by g++ over the
// tests' CPU emulation of CUDA): the same decoding and writing around a staged GPU run
// (vbatch::pipeline::run_staged): each decoded batch is copied into a pinned slot of a ring,
// uploaded, remapped on the device with a device map of the same tables, downloaded into pinned
// memory and handed to the same writer, so that upload, compute and download overlap with the
// decoding and encoding of other batches. The kernel bodies are the CPU's, so u8 views are the
// CPU path's byte for byte. What has run where: docs/gpu-status.md.
//
// Exit status: 0 done, 1 an input, camera file or output problem (or more failures than
// --max-failures, or --device cuda without a device), 2 a bad command line, 3 done but with
// failed frames or views (failures.json).

#include <unistd.h>

#include <algorithm>
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
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vbatch/batch/for_each_batch.hpp"
#include "vbatch/batch/partition.hpp"
#include "vbatch/core/buffer_pool.hpp"
#include "vbatch/io/camera_file.hpp"
#include "vbatch/io/exif.hpp"
#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/pipeline/loader.hpp"
#include "vbatch/pipeline/pipeline.hpp"
#include "vbatch/pipeline/video_loader.hpp"
#include "vbatch/pipeline/writer.hpp"
#include "vbatch/sample/colmap.hpp"
#include "vbatch/sample/e2p.hpp"
#include "vbatch/sample/fisheye.hpp"
#include "vbatch/sample/rig_spec.hpp"
#include "vbatch/vbatch.hpp"

#include "../common/tool.hpp"

// VBATCH_TOOL_CUDA=1: the build with the CUDA layer, which can remap on a GPU (--device).
#if !defined(VBATCH_TOOL_CUDA)
#define VBATCH_TOOL_CUDA 0
#endif
#if VBATCH_TOOL_CUDA
#include "vbatch/pipeline/cuda/staging.hpp"
#define VBATCH_TOOL_DEVICES "cpu and cuda"
#else
#define VBATCH_TOOL_DEVICES "cpu only"
#endif
#if defined(VBATCH_CUDA_EMULATION)
#define VBATCH_CUDA_EMULATION_NOTE " (the CPU emulation of CUDA: a test build, no GPU)"
#else
#define VBATCH_CUDA_EMULATION_NOTE ""
#endif

namespace {

namespace fs = std::filesystem;
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
  std::string rig = "ring:8", size = "1920x1080", convention = "vbatch", interp = "bilinear", precision = "fast", format = "jpg",
              map = "fixed", layout = "list", cameras_file;
  std::vector<std::string> camera_specs;
  double pitch = 0, fov = 90, vfov = 0;
  int quality = 92, threads = 0, decode_workers = 0, encode_workers = 0, prefetch = 0;
  bool resume = false;
  std::string batch = "auto";  // frames per remap call, or "auto"
  std::string shard;           // "i/n" or "auto": this job's part of the frames
  fs::path report;             // --report FILE.json
  std::int64_t max_pixels = vbatch::io::image_limits{}.max_pixels;
  vbatch_tools::failure_options failures;
  bool fsync = false;
  bool colmap = false;                                     // --colmap: the views' intrinsics and poses for structure from motion
  bool by_camera = false;                                  // --by-camera: view k of every frame in DIR/cam_{k:02d}/
  fs::path dual_fisheye;                                   // --dual-fisheye FILE.json: the frames' two lenses
  bool no_exif = false;                                    // --no-exif: views without the frame's EXIF
  std::string device = VBATCH_TOOL_CUDA ? "auto" : "cpu";  // cpu, cuda, or auto: cuda when a device is found
  vbatch_tools::video_selection video;                     // --frame, --every, --time: a video's frames
  // Which options the user gave (defaults of some depend on others).
  bool size_given = false, convention_given = false, pitch_given = false, preset_given = false;
};

// ---- parsing small values ---------------------------------------------------------------------

// Command-line values are parsed by the library (vbatch/sample/rig_spec.hpp), whose messages
// name the option and its text; a bad one is a usage error.
vbatch::sample::view_size parse_size(const std::string& text) {
  if (const vbatch::status s = vbatch::sample::can_parse_size(text, "--size"); !s) usage("{}", s.message);
  return vbatch::sample::parse_size(text, "--size");
}

vbatch::sample::camera_spec parse_camera(const std::string& text) {
  if (const vbatch::status s = vbatch::sample::can_parse_camera(text, "--camera"); !s) usage("{}", s.message);
  return vbatch::sample::parse_camera(text, "--camera");
}

vbatch::sample::rig_preset parse_rig(const std::string& text) {
  if (const vbatch::status s = vbatch::sample::can_parse_rig(text, "--rig"); !s) usage("{}", s.message);
  return vbatch::sample::parse_rig(text, "--rig");
}

// ---- cameras ----------------------------------------------------------------------------------

struct camera_setup {
  vbatch::sample::rig cameras;
  bool cube = false;
  vbatch::sample::cube_layout layout = vbatch::sample::cube_layout::list;
};

// One camera, checked with the library's non-throwing check so that the message can say where
// the bad value came from: the command line (a usage error) or a camera file.
vbatch::sample::camera checked_camera(vbatch::sample::view_angles a, int w, int h, double hfov, double vfov,
                                      const vbatch::sample::angle_convention& conv, const std::string& where,
                                      bool from_command_line) {
  const vbatch::status s = vbatch::sample::can_make_camera(a, w, h, hfov, vfov, conv);
  if (!s && from_command_line) usage("{}: {}", where, s.message);
  if (!s) fail("{}: {}", where, s.message);
  return vbatch::sample::make_camera(a, w, h, hfov, vfov, conv);
}

// The cameras of a --cameras file (vbatch/io/camera_file.hpp): its width and height unless --size
// is given, its convention (a different --convention is a conflict: the file's angles are written
// in its own), --fov/--vfov for the FOVs it leaves out.
vbatch::sample::rig read_camera_file(const options& o, int width, int height, vbatch::sample::angle_convention conv) {
  const std::string& name = o.cameras_file;
  const vbatch::io::camera_file file = vbatch::io::read_camera_file(name);  // throws naming the file
  if (!o.size_given) width = file.width.value_or(width), height = file.height.value_or(height);
  if (file.convention) {
    const auto found = vbatch::sample::find_convention(*file.convention);
    if (!found) fail("{}: unknown \"convention\" \"{}\" (expected vbatch, py360convert or 360toolkit)", name, *file.convention);
    if (o.convention_given && found->name != conv.name)
      fail("{}: the file says convention {} but --convention is {}", name, found->name, conv.name);
    conv = *found;
  }
  vbatch::sample::rig rig;
  for (std::size_t k = 0; k < file.cameras.size(); ++k) {
    const vbatch::io::camera_entry& c = file.cameras[k];
    rig.push_back(checked_camera({c.yaw_deg, c.pitch_deg, c.roll_deg}, width, height, c.hfov_deg.value_or(o.fov),
                                 c.vfov_deg.value_or(o.vfov), conv, fmt::format("{}: cameras[{}]", name, k), false));
  }
  return rig;
}

camera_setup make_cameras(const options& o) {
  const vbatch::sample::angle_convention conv = *vbatch::sample::find_convention(o.convention);  // CLI11 checked the name
  vbatch::sample::rig_preset preset = parse_rig(o.rig);
  camera_setup setup;
  setup.cube = o.cube || preset.kind == vbatch::sample::rig_kind::cube;
  if (o.layout != "list" && !setup.cube) usage("--layout {} needs --cube", o.layout);
  if (o.colmap && o.layout != "list")
    usage("--colmap: poses are per view, but --layout {} puts a frame's six faces into one image (use --layout list)", o.layout);
  if (o.demo && !o.dual_fisheye.empty())
    usage("--dual-fisheye: --demo renders an equirectangular panorama, not a dual-fisheye frame");
  if (o.by_camera && o.layout != "list")
    usage("--by-camera: views go to one directory per camera, but --layout {} puts a frame's six faces into one image", o.layout);
  if (setup.cube && o.preset_given) usage("--pitch, --fov and --vfov do not apply to cube faces (90° squares)");
  if (!(o.fov > 0 && o.fov < 180)) usage("--fov {}: the horizontal FOV must be in (0, 180) degrees", o.fov);
  if (o.vfov != 0 && !(o.vfov > 0 && o.vfov < 180))
    usage("--vfov {}: the vertical FOV must be in (0, 180) degrees, or 0", o.vfov);
  if (!std::isfinite(o.pitch)) usage("--pitch {}: must be a finite angle in degrees", o.pitch);
  if (setup.cube) {
    // Faces are square 90° views; --size is the face width (N or NxN), 1024 by default.
    const auto [w, h] = o.size_given ? parse_size(o.size) : vbatch::sample::view_size{1024, 1024};
    if (w != h) usage("--size '{}': cube faces are square; give the face width, e.g. --size {}", o.size, w);
    if (o.layout == "dice" && 4 * w > vbatch::io::image_limits{}.max_side)
      usage("--size '{}': a dice layout 4 faces wide is too large", o.size);
    setup.cameras = vbatch::sample::cube_rig(w, conv);
    setup.layout = *vbatch::sample::find_cube_layout(o.layout);
    return setup;
  }
  const vbatch::sample::view_size size = parse_size(o.size);
  if (!o.cameras_file.empty()) {
    setup.cameras = read_camera_file(o, size.width, size.height, conv);
  } else if (!o.camera_specs.empty()) {
    for (const std::string& text : o.camera_specs) {
      const vbatch::sample::camera_spec spec = parse_camera(text);
      setup.cameras.push_back(checked_camera(spec.angles, size.width, size.height, spec.hfov_deg, spec.vfov_deg.value_or(o.vfov),
                                             conv, fmt::format("--camera '{}'", text), true));
    }
  } else {
    if (preset.kind != vbatch::sample::rig_kind::ring && o.pitch_given)
      usage("--pitch applies to --rig ring:N only, not {}", o.rig);
    preset.pitch_deg = o.pitch;
    setup.cameras = vbatch::sample::make_rig(preset, size, o.fov, o.vfov, conv);
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
void read_header(frame& f, const vbatch::io::image_limits& limits) {
  const vbatch::io::image_info info = vbatch::io::read_image_info(f.path);
  vbatch::check(vbatch::io::can_load(f.path, info, limits));
  f.width = info.width, f.height = info.height;
}

// ---- video input ------------------------------------------------------------------------------

// A video is any input file not named as an image (.jpg, .jpeg, .png).
bool is_video(const options& o) { return !o.demo && vbatch_tools::is_video_input(o.inputs); }

// The frames of the video that --frame, --every and --time select (every frame by default), its
// frame numbers as ids, all checked against the video's length before any work.
std::vector<frame> video_frames(const options& o) {
  const vbatch_tools::selected_video v = vbatch_tools::select_video_frames("e2p", o.inputs, o.video, o.max_pixels);
  std::vector<frame> frames;
  for (const long long n : v.frames) frames.push_back({v.file, n, v.info.width, v.info.height});
  return frames;
}

// ---- EXIF ------------------------------------------------------------------------------------

// The first 256 KB of a JPEG frame: its APP1 segments (EXIF, XMP) come before the image data,
// so the rest of the file is not read again.
std::vector<unsigned char> file_head(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<unsigned char> head(std::size_t{256} << 10);
  in.read(reinterpret_cast<char*>(head.data()), std::streamsize(head.size()));
  head.resize(std::size_t(in.gcount()));
  return head;
}

// The EXIF of a JPEG frame. A corrupt block is a warning: the frame's views are still right,
// they carry no EXIF.
std::optional<vbatch::io::exif_tags> frame_exif(const fs::path& file, bool quiet) {
  const std::vector<unsigned char> head = file_head(file);
  const std::optional<std::vector<unsigned char>> tiff = vbatch::io::find_exif(head);
  if (!tiff) return std::nullopt;
  try {
    return vbatch::io::parse_exif(*tiff, file.string());
  } catch (const vbatch::error& e) {
    if (!quiet) fmt::print(stderr, "e2p: warning: {}; its views carry no EXIF\n", e.what());
    return std::nullopt;
  }
}

// A JPEG frame's orientation from its Photo Sphere XMP (GPano PoseHeadingDegrees, PosePitchDegrees,
// PoseRollDegrees; a missing one is 0): the heading of the panorama's centre clockwise from north,
// its pitch above the horizon, and its roll (the horizon turning counterclockwise in the image as
// it grows), which are vbatch's yaw, pitch and roll. nullopt without a pose; a malformed one is
// reported and left out.
std::optional<vbatch::sample::view_angles> frame_pose(const fs::path& file, bool quiet) {
  try {
    const std::optional<vbatch::io::gpano> g = vbatch::io::find_gpano(file_head(file), file.string());
    if (!g || (!g->heading_deg && !g->pitch_deg && !g->roll_deg)) return std::nullopt;
    return vbatch::sample::view_angles{g->heading_deg.value_or(0), g->pitch_deg.value_or(0), g->roll_deg.value_or(0)};
  } catch (const vbatch::error& e) {
    if (!quiet) fmt::print(stderr, "e2p: warning: {}; its views' poses ignore it\n", e.what());
    return std::nullopt;
  }
}

// What the writer keeps alive for a view with EXIF: its pixels and its EXIF block.
struct exif_and_pixels {
  std::shared_ptr<const void> pixels;
  std::shared_ptr<const std::vector<unsigned char>> exif;
};

// A view's EXIF: the frame's camera, time and place, the view's size and focal length (its
// horizontal field of view from the camera's fx: f_px = w / 2 / tan(hfov / 2)).
std::shared_ptr<const std::vector<unsigned char>> view_exif(const vbatch::io::exif_tags& frame, const vbatch::sample::camera& c) {
  const double hfov_deg = 2 * std::atan(c.lens.width / (2 * c.lens.fx)) * 180 / vbatch::sample::pi;
  return std::make_shared<const std::vector<unsigned char>>(
      vbatch::io::make_view_exif(frame, vbatch::io::view_exif(c.lens.width, c.lens.height, hfov_deg, 3, "vbatch e2p")));
}

// ---- the device ------------------------------------------------------------------------------

// Why no CUDA device can be used, or nothing when one can.
std::optional<std::string> cuda_device_problem() {
#if VBATCH_TOOL_CUDA
  int count = 0;
  if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess)
    return fmt::format("cudaGetDeviceCount: {}", cudaGetErrorString(e));
  if (count < 1) return std::string("cudaGetDeviceCount: 0 devices");
  return std::nullopt;
#else
  return std::string("this e2p was built without CUDA");
#endif
}

// --device: whether the remap runs on the GPU. cuda without a device fails (a build without CUDA:
// a usage error); auto takes the CPU then, saying why.
bool choose_gpu(const options& o) {
  if (o.device == "cpu") return false;
  if (!VBATCH_TOOL_CUDA && o.device == "cuda")
    usage("--device cuda: this e2p was built without CUDA; use vbatch-e2p-cuda (e2p_cuda, built with -DVBATCH_ENABLE_CUDA=ON)");
  if (!VBATCH_TOOL_CUDA) return false;
  const std::optional<std::string> problem = cuda_device_problem();
  if (!problem) return true;
  if (o.device == "cuda") fail("--device cuda: no CUDA device ({})", *problem);
  if (!o.quiet) fmt::print("--device auto: no CUDA device ({}); running on the CPU\n", *problem);
  return false;
}

// The staged GPU run has slots of one frame size: frames of another size are a problem, named.
std::optional<std::string> mixed_frame_sizes(const std::vector<frame>& frames) {
  for (const frame& f : frames)
    if (f.width != frames.front().width || f.height != frames.front().height)
      return fmt::format("frames of different sizes ({}x{} {}, {}x{} {}): the GPU path takes one size per run",
                         frames.front().width, frames.front().height, frames.front().path.string(), f.width, f.height,
                         f.path.string());
  return std::nullopt;
}

#if VBATCH_TOOL_CUDA
// Copies images of the same shape between host views (pinned or not; rows may be strided).
void copy_images(vbatch::batch_view<const vbatch::u8> from, vbatch::batch_view<vbatch::u8> to) {
  for (int i = 0; i < from.n; ++i)
    for (int y = 0; y < from.h; ++y) std::memcpy(to.pixel(i, y, 0), from.pixel(i, y, 0), std::size_t(from.w) * from.c);
}
#endif

// ---- the work loop ----------------------------------------------------------------------------

struct timings {
  double load = 0, map = 0, remap = 0, save = 0;  // busy seconds: decode and save summed over threads
  long long frames = 0, views = 0, output_pixels = 0, retries = 0;
  std::size_t failed_frames = 0;                                  // frames with a failure: not decoded, or some views not written
  std::size_t failed_writes = 0;                                  // views that could not be written
  std::map<std::string, double> stage_seconds;                    // busy seconds per stage of the pipeline run
  int largest_batch = 0, threads = 0, busiest = 0, prefetch = 0;  // busiest: most budget slots busy at once
  double run = 0, slot_seconds = 0;                  // the pipeline run's wall time; the budget's busy slot-seconds in it
  std::vector<vbatch_tools::item_failure> failures;  // --on-error skip: frames and views skipped
  bool too_many_failures = false;
  bool gpu = false;  // remapped on the GPU through the staged ring
};

// --batch auto: on the CPU a larger batch saves only the per-call overhead of the remap and the
// hand-offs (microseconds), while every frame in a batch delays the first views and the overlap
// of decoding and encoding at both ends of the run. So a batch takes just enough frames for
// auto_batch_pixels of views (one 8K frame's 8 full-HD views are already twice that), at most
// auto_batch_limit, and what fits the memory budget.
constexpr std::uint64_t auto_batch_pixels = 8'000'000;
constexpr std::size_t auto_batch_limit = 8;

std::size_t auto_batch_size(const vbatch::sample::rig& cameras) {
  std::uint64_t pixels = 0;
  for (const vbatch::sample::camera& c : cameras) pixels += std::uint64_t(c.lens.width) * c.lens.height;
  return std::clamp<std::size_t>(std::size_t(auto_batch_pixels / std::max<std::uint64_t>(pixels, 1)), 1, auto_batch_limit);
}

// --by-camera: the directory of camera `cam`'s views, relative to the output directory.
std::string camera_dir(std::size_t cam) { return fmt::format("cam_{:02d}", cam); }

// View `cam` of frame `id`, relative to the output directory.
std::string view_name(const options& o, long long id, int cam) {
  return o.by_camera ? fmt::format("{}/frame_{:05d}.{}", camera_dir(std::size_t(cam)), id, o.format)
                     : fmt::format("frame_{:05d}_cam_{:02d}.{}", id, cam, o.format);
}

// The files a frame produces, with the size each must have.
struct output_file {
  std::string name;
  int width, height;
};
std::vector<output_file> outputs_of(const options& o, const camera_setup& setup, long long id) {
  const int w = setup.cameras.front().lens.width, h = setup.cameras.front().lens.height;
  if (setup.layout != vbatch::sample::cube_layout::list)
    return {{fmt::format("frame_{:05d}_cube.{}", id, o.format),
             setup.layout == vbatch::sample::cube_layout::horizon ? 6 * w : 4 * w,
             setup.layout == vbatch::sample::cube_layout::horizon ? w : 3 * w}};
  std::vector<output_file> out;
  for (int k = 0; k < static_cast<int>(setup.cameras.size()); ++k) out.push_back({view_name(o, id, k), w, h});
  return out;
}

// The views of a batch of frames, ready to be written.
// The remap of one --map policy and --interp choice behind one interface: split() (the pipeline
// around it) is compiled once, and only what depends on the choice (maps and kernels) once per
// choice, which keeps the tool's compile (three of them: e2p, e2p_emulated, e2p_cuda) short.
class remapper {
 public:
  virtual ~remapper() = default;
  virtual vbatch::status can_map(int source_w, int source_h) const = 0;
  // What one frame of this size costs in memory (its views and map share), for --batch auto.
  virtual vbatch::item_cost cost(int source_w, int source_h) const = 0;
  // The maps: one per source size on the host, or (gpu) the one size's in device memory.
  virtual void build(const std::vector<std::pair<int, int>>& sizes, bool gpu, const vbatch::cpu_par& exec) = 0;
  // Every view of every frame: (B,Hs,Ws,3) -> (B*K,H,W,3).
  virtual void remap(const vbatch::cpu_par& exec, vbatch::batch_view<const vbatch::u8> frames,
                     vbatch::batch_view<vbatch::u8> views) const = 0;
#if VBATCH_TOOL_CUDA
  virtual void remap(const vbatch::cuda& device, vbatch::batch_view<const vbatch::u8> frames,
                     vbatch::batch_view<vbatch::u8> views) const = 0;
#endif
};

template <class Policy, class Interp>
class remapper_of final : public remapper {
 public:
  explicit remapper_of(const vbatch::sample::rig& cameras) : cameras_(cameras) {}
  vbatch::status can_map(int w, int h) const override { return vbatch::sample::can_make_e2p_map<Policy>(cameras_, w, h); }
  vbatch::item_cost cost(int w, int h) const override { return vbatch::sample::e2p_cost<vbatch::u8, Policy>(w, h, 3, cameras_); }
  void build(const std::vector<std::pair<int, int>>& sizes, bool gpu, const vbatch::cpu_par& exec) override {
#if VBATCH_TOOL_CUDA
    if (gpu) {
      device_map_.emplace(
          vbatch::sample::make_e2p_map<Policy, vbatch::device_memory>(cameras_, sizes.front().first, sizes.front().second, exec));
      return;
    }
#endif
    (void)gpu;
    for (const auto& [w, h] : sizes)
      if (!maps_.count({w, h})) maps_.try_emplace({w, h}, vbatch::sample::make_e2p_map<Policy>(cameras_, w, h, exec));
  }
  void remap(const vbatch::cpu_par& exec, vbatch::batch_view<const vbatch::u8> frames,
             vbatch::batch_view<vbatch::u8> views) const override {
    vbatch::sample::e2p(exec, frames, maps_.at({frames.w, frames.h}), views, Interp{});
  }
#if VBATCH_TOOL_CUDA
  void remap(const vbatch::cuda& device, vbatch::batch_view<const vbatch::u8> frames,
             vbatch::batch_view<vbatch::u8> views) const override {
    vbatch::sample::e2p(device, frames, *device_map_, views, Interp{});
  }
#endif

 private:
  const vbatch::sample::rig& cameras_;
  std::map<std::pair<int, int>, vbatch::sample::e2p_map<Policy>> maps_;
#if VBATCH_TOOL_CUDA
  std::optional<vbatch::sample::e2p_map<Policy, vbatch::device_memory>> device_map_;
#endif
};

// --dual-fisheye: the views of frames from a 360° camera's two lenses, all of the one size the
// lens file gives. Outside both image circles is black (border::constant).
template <class Policy, class Interp>
class fisheye_remapper_of final : public remapper {
 public:
  fisheye_remapper_of(const vbatch::sample::rig& cameras, const vbatch::sample::dual_fisheye_source& lenses, std::string file)
      : cameras_(cameras), lenses_(lenses), file_(std::move(file)) {}
  vbatch::status can_map(int w, int h) const override {
    if (w != lenses_.width || h != lenses_.height)
      return vbatch::fail(vbatch::errc::invalid_argument, "the frame is {}x{}, but --dual-fisheye {} describes {}x{} frames", w,
                          h, file_, lenses_.width, lenses_.height);
    return vbatch::sample::can_make_f2p_map<Policy>(cameras_, lenses_);
  }
  vbatch::item_cost cost(int w, int h) const override { return vbatch::sample::e2p_cost<vbatch::u8, Policy>(w, h, 3, cameras_); }
  void build(const std::vector<std::pair<int, int>>&, bool gpu, const vbatch::cpu_par& exec) override {
#if VBATCH_TOOL_CUDA
    if (gpu) {
      if (!device_map_) device_map_.emplace(vbatch::sample::make_f2p_map<Policy, vbatch::device_memory>(cameras_, lenses_, exec));
      return;
    }
#endif
    (void)gpu;
    if (!map_) map_.emplace(vbatch::sample::make_f2p_map<Policy>(cameras_, lenses_, exec));
  }
  void remap(const vbatch::cpu_par& exec, vbatch::batch_view<const vbatch::u8> frames,
             vbatch::batch_view<vbatch::u8> views) const override {
    vbatch::sample::remap(exec, frames, *map_, views, Interp{}, vbatch::sample::border::constant{0});
  }
#if VBATCH_TOOL_CUDA
  void remap(const vbatch::cuda& device, vbatch::batch_view<const vbatch::u8> frames,
             vbatch::batch_view<vbatch::u8> views) const override {
    vbatch::sample::remap(device, frames, *device_map_, views, Interp{}, vbatch::sample::border::constant{0});
  }
#endif

 private:
  using source = vbatch::sample::dual_fisheye_source;
  const vbatch::sample::rig& cameras_;
  source lenses_;
  std::string file_;
  std::optional<vbatch::sample::f2p_map<Policy, source>> map_;
#if VBATCH_TOOL_CUDA
  std::optional<vbatch::sample::f2p_map<Policy, source, vbatch::device_memory>> device_map_;
#endif
};

// --precision exact changes bilinear only: nearest already picks floor(v + 0.5) and bicubic
// weights in float on every policy (docs/sample.md, "Precision").
template <class Policy, class... Lenses>
std::unique_ptr<remapper> make_remapper(const options& o, const vbatch::sample::rig& cameras, const Lenses&... lenses) {
  namespace in = vbatch::sample::interp;
  const auto make = [&]<class Interp>(Interp) -> std::unique_ptr<remapper> {
    if constexpr (sizeof...(Lenses) == 0)
      return std::make_unique<remapper_of<Policy, Interp>>(cameras);
    else
      return std::make_unique<fisheye_remapper_of<Policy, Interp>>(cameras, lenses..., o.dual_fisheye.string());
  };
  if (o.interp == "nearest") return make(in::nearest{});
  if (o.interp == "bicubic") return make(in::bicubic{});
  if (o.precision == "exact") return make(in::bilinear_exact{});
  return make(in::bilinear{});
}

template <class... Lenses>
std::unique_ptr<remapper> make_remapper(const options& o, const vbatch::sample::rig& cameras, const Lenses&... lenses) {
  namespace maps = vbatch::sample::maps;
  if (o.map == "fixed") return make_remapper<maps::cached_fixed>(o, cameras, lenses...);
  if (o.map == "float") return make_remapper<maps::cached_float>(o, cameras, lenses...);
  return make_remapper<maps::on_the_fly>(o, cameras, lenses...);
}

// The remap of the frames: equirectangular, or with --dual-fisheye from the lens file's lenses.
std::unique_ptr<remapper> make_remapper(const options& o, const vbatch::sample::rig& cameras) {
  if (o.dual_fisheye.empty()) return make_remapper<>(o, cameras);
  try {
    return make_remapper(o, cameras, vbatch::sample::read_dual_fisheye(o.dual_fisheye));
  } catch (const vbatch::error& e) {
    fail("--dual-fisheye: {}", e.what());
  }
}

// --batch N, or --batch auto (a memory budget).
using batch_choice = std::variant<vbatch::batch::fixed, vbatch::batch::memory_budget>;

struct view_batch {
  std::size_t first = 0;  // index of its first frame in `frames`
  int frames = 0;
  vbatch::batch_view<const vbatch::u8> images;  // (B*K,H,W,3), or (B,rows*w,cols*w,3) for a cube layout
  std::shared_ptr<const void> keep;
};

// One pipeline run (vbatch::pipeline::run) on one budget of --threads busy threads:
//   decode  the loader's workers fill batches of frames ahead of the remap (the run's source)
//   remap   one remap call for every camera of a batch, into a recycled views buffer
//   save    hands every view to the writer, whose workers encode and write atomically (a part)
// so that decoding frame i+1, remapping frame i and encoding the views of frame i-1 overlap, and
// whichever of them has work takes the cores. Maps are built while the first frames decode.
// On the GPU (`gpu`; frames of one size) the remap is a staged run instead: upload, compute and
// download on three streams, between the same loader and writer.
timings split(const options& o, const std::vector<frame>& frames, bool video, const camera_setup& setup,
              const vbatch::batch_buffer<vbatch::u8>* demo, remapper& sampler, batch_choice batches,
              const std::vector<std::vector<bool>>& done_views, vbatch::pipeline::failure_limit& limit, bool gpu) {
  namespace pl = vbatch::pipeline;
  vbatch::thread_budget budget(o.threads);
  const vbatch::cpu_par exec{.threads = budget.size(), .budget = &budget};
  const int views_per_frame = static_cast<int>(setup.cameras.size());
  const int view_w = setup.cameras.front().lens.width, view_h = setup.cameras.front().lens.height;
  const bool layout = setup.layout != vbatch::sample::cube_layout::list;
  timings t;
  t.gpu = gpu;
  vbatch_tools::progress_line bar(o.quiet, "frames", frames.size());
  if (frames.empty()) return t;

  // Maps, one per source size (on the GPU, the one size's, in device memory), built on a thread of
  // their own while the loader starts decoding.
  auto maps_ready = std::async(std::launch::async, [&] {
    const auto t0 = clock_type::now();
    std::vector<std::pair<int, int>> sizes;
    for (const frame& f : frames) sizes.emplace_back(f.width, f.height);
    sampler.build(sizes, gpu, exec);
    return seconds_since(t0);
  });
  struct wait_for_maps {  // never leave the map thread running on an early exit
    std::future<double>& f;
    ~wait_for_maps() {
      if (f.valid()) f.wait();
    }
  } guard{maps_ready};

  std::vector<pl::load_item> items;
  for (const frame& f : frames) items.push_back({f.path, f.width, f.height, 3});
  const pl::on_error policy = o.failures.skip() ? pl::on_error::skip : pl::on_error::stop;
  const pl::loader_options load{.workers = o.decode_workers,
                                .prefetch = o.prefetch,
                                .channels = 3,
                                .limits = vbatch::io::image_limits{o.max_pixels},
                                .budget = &budget,
                                .policy = policy,
                                .limit = &limit};
  std::optional<pl::image_loader<>> loader;
  std::optional<pl::video_loader> video_loader;
  if (video) {
    std::vector<std::int64_t> numbers;
    for (const frame& f : frames) numbers.push_back(f.id);
    const pl::video_loader_options load_video{.prefetch = std::max(o.prefetch, 2),
                                              .limits = vbatch::io::image_limits{o.max_pixels}};
    std::visit([&](auto policy) { video_loader.emplace(frames.front().path, std::move(numbers), policy, load_video); }, batches);
  } else if (!demo) {
    std::visit([&](auto policy) { loader.emplace(std::move(items), policy, load); }, batches);
  }
  pl::image_writer<> writer({.workers = o.encode_workers,
                             .queue = std::size_t(4 * budget.size()),
                             .save = {.jpeg_quality = o.quality, .fsync = o.fsync},
                             .policy = policy,
                             .limit = &limit,
                             .budget = &budget});
  // Views buffers in flight: the remap holds one per group of its batch (after an out-of-memory
  // back-off a batch runs as up to batch-size groups) while two more batches' views are encoded.
  const int largest_batch = demo ? 1 : static_cast<int>(video_loader ? video_loader->largest_batch() : loader->largest_batch());
  vbatch::buffer_pool<vbatch::u8> views_pool(std::size_t(largest_batch) + 2);
  auto groups = vbatch::batch::backoff(vbatch::batch::fixed(std::size_t(largest_batch)));

  // One batch of frames: every view of every frame in one remap call. Running out of memory for
  // the views makes for_each_batch redo the same frames in smaller groups.
  // Frames that failed to decode (--on-error skip: the loader zeroed them): no views are saved.
  std::vector<char> frame_failed(frames.size(), 0);
  std::vector<std::pair<std::size_t, int>> batch_frames(  // first frame, count
      demo           ? 1
      : video_loader ? video_loader->batch_count()
                     : loader->batch_count());
  std::map<fs::path, std::size_t> frame_of_output;  // the frame each submitted view belongs to (failed writes)
  // What the remap (CPU or GPU) notes of a decoded batch: its frames, and the ones that failed.
  const auto note_batch = [&](const pl::loaded_batch& in) {
    batch_frames[in.index] = {in.first, in.images.n};
    for (const pl::decode_failure& f : in.failures) {
      frame_failed[f.index] = 1;
      t.failures.push_back({f.path.string(), "decode", f.message});
    }
    t.largest_batch = std::max(t.largest_batch, in.images.n);
    if (maps_ready.valid()) t.map = maps_ready.get();
  };
  // The views (B*K,H,W,3) of `count` frames from frame `first`, for save(): as they are, or in a
  // cube layout, which puts a frame's six faces into one new image.
  const auto views_to_save = [&](std::size_t first, int count, vbatch::batch_view<const vbatch::u8> views,
                                 std::shared_ptr<const void> keep) -> view_batch {
    if (!layout) return {first, count, views, std::move(keep)};
    auto layouts = std::make_shared<vbatch::batch_buffer<vbatch::u8>>(vbatch::sample::to_layout(views, setup.layout));
    const vbatch::batch_view<const vbatch::u8> images = layouts->view();  // (B,rows*w,cols*w,3)
    return {first, count, images, std::move(layouts)};
  };
  const auto remap = [&](pl::loaded_batch in) -> std::vector<view_batch> {
    note_batch(in);
    const auto working = clock_type::now();
    std::vector<view_batch> out;
    const auto group = [&](std::span<const int> slots, std::size_t) {
      const int count = static_cast<int>(slots.size()), first = slots.front();    // a group of the batch's frames
      const vbatch::batch_view<vbatch::u8> src = in.images.images(first, count);  // (B,Hs,Ws,3)
      auto views = views_pool.acquire({count * views_per_frame, view_h, view_w, 3});
      const vbatch::batch_view<vbatch::u8> dst = views->view();  // (B*K,H,W,3)
      sampler.remap(exec, src, dst);
      out.push_back(views_to_save(in.first + std::size_t(first), count, dst, std::move(views)));
    };
    std::vector<int> slots(static_cast<std::size_t>(in.images.n));
    std::iota(slots.begin(), slots.end(), 0);
    t.retries += static_cast<long long>(vbatch::batch::for_each_batch(std::span<const int>(slots), groups, group).retries);
    t.remap += seconds_since(working);
    return out;  // `in` goes out of scope: the frames' buffer returns to the loader
  };

  // Hands the views to the writer (which blocks while its queue is full), skipping the ones a
  // --resume found complete. Views of a JPEG frame with EXIF carry it (--no-exif: not), with their
  // own size and focal length; the frame's EXIF is read once, at its first view.
  const bool keep_exif = !o.no_exif && !demo && !video && !layout && o.format == "jpg";
  std::size_t exif_frame = frames.size();
  std::optional<vbatch::io::exif_tags> exif;
  const auto save = [&](std::vector<view_batch> groups_done, std::size_t item) {
    for (view_batch& g : groups_done) {
      const int per_frame = layout ? 1 : views_per_frame;
      for (int i = 0; i < g.images.n; ++i) {
        const std::size_t f = g.first + std::size_t(i / per_frame);
        const int k = i % per_frame;
        if (frame_failed[f] || (!done_views.empty() && done_views[f][std::size_t(k)])) continue;
        const std::string name =
            layout ? fmt::format("frame_{:05d}_cube.{}", frames[f].id, o.format) : view_name(o, frames[f].id, k);
        frame_of_output.emplace(o.out / name, f);
        if (keep_exif && f != exif_frame) exif = frame_exif(frames[f].path, o.quiet), exif_frame = f;
        if (keep_exif && exif) {  // the EXIF block lives as long as the view's pixels: `keep` owns both
          auto block = view_exif(*exif, setup.cameras[std::size_t(k)]);
          const vbatch::io::save_options with_exif{o.quality, o.fsync, *block};
          writer.submit(o.out / name, g.images.image(i),
                        std::make_shared<exif_and_pixels>(exif_and_pixels{g.keep, std::move(block)}), with_exif, item);
        } else {
          writer.submit(o.out / name, g.images.image(i), g.keep, std::nullopt, item);
        }
        ++t.views;
        t.output_pixels += g.images.image(i).pixels();
      }
      for (std::size_t f = g.first; f < g.first + std::size_t(g.frames); ++f) t.frames += !frame_failed[f];
    }
    bar.update(std::uint64_t(t.frames), fmt::format("{} views", t.views));
  };

  pl::options po;
  po.source_name = "decode";
  po.parts = {pl::attach(writer)};
  // The remap takes a batch only when it is ready for it (hand-off): no decoded batch waits
  // beyond the loader's window.
  const auto flow = [&](auto&& source) {
    return pl::run(po, source, pl::stage("remap", remap, {.workers = 1, .queue = 0}),
                   pl::stage("save", save, {.workers = 1, .queue = 1, .kind = vbatch::profile::stage_kind::io}));
  };
#if VBATCH_TOOL_CUDA
  // On the GPU: each decoded batch is copied into a pinned slot (fill), uploaded, remapped with
  // the device map (compute), downloaded into pinned memory and saved (consume). The slot is
  // reused once consume returns, so the views go to the writer in a buffer of their own.
  const auto staged_flow = [&](auto&& source) {
    const vbatch::batch_shape frames_slot{largest_batch, frames.front().height, frames.front().width, 3};
    const vbatch::batch_shape views_slot{largest_batch * views_per_frame, view_h, view_w, 3};
    pl::report r = pl::run_staged<vbatch::u8, vbatch::u8>(
        source, frames_slot, views_slot,
        [&](const pl::loaded_batch& in, vbatch::batch_view<vbatch::u8> pinned_frames) {
          note_batch(in);
          copy_images(in.images, pinned_frames.images(0, in.images.n));
          return in.images.n;
        },
        [&](const vbatch::cuda& device, vbatch::batch_view<const vbatch::u8> device_frames,
            vbatch::batch_view<vbatch::u8> device_views, std::size_t) { sampler.remap(device, device_frames, device_views); },
        [&](std::size_t item, vbatch::batch_view<const vbatch::u8> pinned_views) {
          const auto [first, count] = batch_frames[item];
          if (layout) return save({views_to_save(first, count, pinned_views, nullptr)}, item);  // the layout is a copy
          auto views = views_pool.acquire(pinned_views.shape());
          const vbatch::batch_view<vbatch::u8> copied = views->view();  // before `views` moves into the call
          copy_images(pinned_views, copied);
          save({views_to_save(first, count, copied, std::move(views))}, item);
        },
        {.slots = 3, .policy = policy});
    // The writer is not a part of the staged run: its encode and write rows are added here.
    for (pl::stage_report& s : writer.finish().stages) r.stages.push_back(std::move(s));
    return r;
  };
#endif
  const auto run_flow = [&](auto& source) {
#if VBATCH_TOOL_CUDA
    if (gpu) return staged_flow(source);
#endif
    return flow(source);
  };
  std::vector<pl::loaded_batch> demo_batch;
  if (demo) demo_batch.push_back({0, 0, const_cast<vbatch::batch_buffer<vbatch::u8>*>(demo)->view(), {}, nullptr, {}});
  const pl::report r = demo ? run_flow(demo_batch) : video_loader ? run_flow(*video_loader) : run_flow(*loader);
  bar.finish();
  // --on-error stop: everything queued before a failure is written (complete files only), then
  // the first error is reported: a frame that failed to decode, or a write that failed (on the
  // GPU the writer is no part of the run: a last write that failed is the writer's to report).
  if (policy == pl::on_error::stop && !r.failures.empty()) r.rethrow();
  if (policy == pl::on_error::stop) writer.throw_if_failed();
  // --on-error skip: the frames that failed to decode are listed (above); a failed write by its
  // file; anything else for each frame of its batch.
  const auto input_name = [&](std::size_t i) {
    return video ? fmt::format("{} frame {}", frames[i].path.string(), frames[i].id) : frames[i].path.string();
  };
  std::set<std::size_t> failed = vbatch_tools::add_run_failures(t.failures, r, batch_frames, input_name);
  if (video)
    failed.merge(vbatch_tools::add_undelivered_failures(t.failures, r, "decode", batch_frames, frames.size(), input_name));
  for (std::size_t f = 0; f < frames.size(); ++f)
    if (frame_failed[f]) failed.insert(f);
  for (const pl::write_failure& f : writer.report().failures) {
    t.failures.push_back({f.path.string(), "write", f.message});
    if (const auto it = frame_of_output.find(f.path); it != frame_of_output.end()) failed.insert(it->second);
  }
  t.failed_frames = failed.size();
  t.failed_writes = writer.report().failures.size();
  t.stage_seconds = vbatch_tools::stage_seconds_of(r);
  t.too_many_failures = r.too_many_failures;
  for (const pl::stage_report& s : r.stages) {
    if (s.name == "decode") t.load = s.busy;
    if (s.name == "encode" || s.name == "write") t.save += s.busy;
    if (gpu && s.name == "compute") t.remap = s.busy;
  }
  t.threads = budget.size();
  t.busiest = budget.peak();
  t.run = r.wall;
  t.slot_seconds = budget.busy_seconds();
  t.prefetch = loader ? loader->prefetch() : video_loader ? video_loader->prefetch() : 0;
  return t;
}

// --colmap: the geometry every view is sampled with, for structure from motion: a COLMAP text
// model in DIR/colmap (a PINHOLE camera per rig camera, every view's pose, no points) and the
// same as plain JSON in DIR/views.json. It lists every view of every input frame, whichever shard
// writes it and whether or not it fails (failures.json says which did), so that every shard of a
// run writes the same files. Poses are rotations about the panorama's centre (translation 0) in
// COLMAP's frames: world x right, y down, z forward; camera x right, y down, z along the view.
// A JPEG frame with a GPano pose turns its views with it (frame_pose), so that the world is level
// and z points north. With --by-camera also DIR/colmap/rig_config.json, for `colmap rig_configurator`: the cameras
// as one rig whose reference is camera 0.
void write_colmap_model(const options& o, const camera_setup& setup, const std::vector<frame>& frames) {
  namespace colmap = vbatch::sample::colmap;
  std::vector<colmap::posed_image> views;
  nlohmann::json images = nlohmann::json::array();
  const bool posed = !is_video(o);
  for (const frame& f : frames) {
    const std::optional<vbatch::sample::view_angles> pose = posed ? frame_pose(f.path, o.quiet) : std::nullopt;
    const auto world_from_rig = pose ? vbatch::sample::rotation_from(*pose) : vbatch::sample::mat3<double>::identity();
    for (std::size_t k = 0; k < setup.cameras.size(); ++k) {
      views.push_back({view_name(o, f.id, int(k)), k, world_from_rig});
      const colmap::quaternion q = colmap::quaternion_from(colmap::cam_from_world(setup.cameras[k], world_from_rig));
      images.push_back(
          {{"name", views.back().name},
           {"frame", f.id},
           {"camera", k},
           {"cam_from_world_wxyz", {q.w, q.x, q.y, q.z}},
           {"frame_pose_deg", pose ? nlohmann::json{pose->yaw_deg, pose->pitch_deg, pose->roll_deg} : nlohmann::json(nullptr)}});
    }
  }
  nlohmann::json cameras = nlohmann::json::array();
  for (std::size_t k = 0; k < setup.cameras.size(); ++k) {
    const vbatch::sample::pinhole& p = setup.cameras[k].lens;
    const auto r = colmap::cam_from_world(setup.cameras[k]);
    const colmap::quaternion q = colmap::quaternion_from(r);
    cameras.push_back({{"camera", k},
                       {"width", p.width},
                       {"height", p.height},
                       {"fx", p.fx},
                       {"fy", p.fy},
                       {"cx", p.cx},
                       {"cy", p.cy},
                       {"cam_from_world", {r.m[0], r.m[1], r.m[2]}},
                       {"quaternion_wxyz", {q.w, q.x, q.y, q.z}}});
  }
  const nlohmann::json j = {
      {"convention",
       "pinhole K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], pixel (0, 0) the centre of the top-left pixel; a camera's "
       "cam_from_world rotates the panorama's frame (x right, y down, z forward of the panorama) into camera (x right, y "
       "down, z along the view) coordinates; a view's cam_from_world_wxyz rotates the world into its camera: the "
       "panorama's frame, or where the frame has a GPano pose (frame_pose_deg: heading, pitch, roll) a level world with "
       "z north; every view sits at the panorama's centre (translation 0)"},
      {"cameras", cameras},
      {"views", images}};
  const fs::path dir = o.out / "colmap";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the COLMAP model directory: {}", dir.string(), ec.message());
  const auto write = [&](const fs::path& file, const std::string& text) {
    vbatch::io::write_file_atomically(file, text.data(), text.size(), o.fsync);
  };
  write(dir / "cameras.txt", colmap::cameras_txt(setup.cameras));
  write(dir / "images.txt", colmap::images_txt(setup.cameras, views));
  write(dir / "points3D.txt", "# 3D point list: none (the views' poses only; triangulate with COLMAP)\n");
  if (o.by_camera) {
    std::vector<std::string> prefixes;
    for (std::size_t k = 0; k < setup.cameras.size(); ++k) prefixes.push_back(camera_dir(k) + "/");
    write(dir / "rig_config.json", colmap::rig_config_json(setup.cameras, prefixes));
  }
  write(o.out / "views.json", j.dump(1) + "\n");
}

int run(const options& o) {
  const auto start = clock_type::now();
  // 1. Arguments and cameras.
  // Inputs first, then -o (not CLI11's ->required(), which would name -o first when both are missing).
  if (o.inputs.empty() && !o.demo)
    usage("no inputs: give frames, directories of frames or a video, or --demo to try a synthetic one{}",
          o.out.empty() ? "; and -o DIR for the views" : "");
  if (o.out.empty()) usage("--output is required: the directory for the views (-o DIR)");
  const camera_setup setup = make_cameras(o);
  const std::unique_ptr<remapper> sampler = make_remapper(o, setup.cameras);
  bool gpu = choose_gpu(o);

  // 2. Inputs: they exist, give distinct frame ids, and their headers show images within the limits.
  const bool video = is_video(o);
  vbatch_tools::check_video_selection(video, o.video);
  std::vector<frame> frames = o.demo  ? std::vector<frame>{{{}, 0, 4096, 2048}}
                              : video ? video_frames(o)
                                      : assign_ids(collect_images(o.inputs));
  // Job i of n takes its contiguous part of the frames in input order, balanced by pixels (ids
  // were assigned over all).
  const std::optional<vbatch::batch::shard> shard = vbatch_tools::parse_shard_option(o.shard);
  const std::vector<frame> all_frames = o.colmap ? frames : std::vector<frame>{};  // --colmap lists every shard's views
  if (!o.demo)
    frames = vbatch_tools::take_shard(std::move(frames), shard, [&](const frame& f) {
      return video ? std::uint64_t{1} : vbatch_tools::image_cost(f.path);  // a video's frames cost alike
    });
  vbatch_tools::run_summary summary;
  summary.tool = "e2p", summary.unit = "frames", summary.shard = shard, summary.items = frames.size();
  const auto finish = [&](std::vector<vbatch_tools::item_failure> failures, bool too_many, std::size_t max_failures) {
    return vbatch_tools::finish_run("e2p", o.out, std::move(failures), too_many, max_failures, o.quiet, o.report, summary, start);
  };
  if (frames.empty()) {
    if (shard) vbatch_tools::say_empty_shard(o.quiet, "e2p", *shard, "frames");
    vbatch_tools::check_output_dir(o.out, "e2p");
    return finish({}, false, 0);
  }
  // With --on-error skip, a frame whose header is unreadable or out of limits is listed and left out.
  vbatch::pipeline::failure_limit limit(o.failures.limit(frames.size()));
  std::vector<vbatch_tools::item_failure> failures;
  // Fixed-point maps reach panoramas up to 32000 pixels wide: float maps go further.
  const char* map_hint = o.map == "fixed" && o.dual_fisheye.empty() ? " (--map float)" : "";
  std::erase_if(frames, [&](frame& f) {
    return !f.path.empty() && !video && !vbatch_tools::check_input(o.failures, f.path.string(), failures, limit, [&] {
      read_header(f, vbatch::io::image_limits{o.max_pixels});
      const vbatch::status s = sampler->can_map(f.width, f.height);
      if (!s) fail("{}: {}{}", f.path.string(), s.message, map_hint);
    });
  });
  summary.failed = failures.size();
  if (video && !frames.empty())
    if (const vbatch::status s = sampler->can_map(frames.front().width, frames.front().height); !s)
      fail("{}: {}{}", frames.front().path.string(), s.message, map_hint);
  if (const std::optional<std::string> mixed = gpu ? mixed_frame_sizes(frames) : std::nullopt) {
    if (o.device == "cuda") fail("--device cuda: {}", *mixed);
    if (!o.quiet) fmt::print("--device auto: {}; running on the CPU\n", *mixed);
    gpu = false;
  }

  // 3. The output directory (and with --by-camera one directory per camera in it).
  vbatch_tools::check_output_dir(o.out, "e2p");
  for (std::size_t k = 0; o.by_camera && k < setup.cameras.size(); ++k)
    vbatch_tools::check_output_dir(o.out / camera_dir(k), "e2p");
  if (limit.exceeded()) return finish(std::move(failures), true, limit.max());
  if (o.colmap) write_colmap_model(o, setup, all_frames);

  // 4. --resume: the outputs that exist and decode cleanly at their size are done; frames with
  // every output done are not even decoded.
  std::vector<std::vector<bool>> done_views;
  long long skipped_views = 0, skipped_frames = 0;
  if (o.resume && !o.demo) {
    // Temporaries of a killed run first (a live run's are locked and left alone).
    std::size_t temporaries = vbatch::io::remove_temporaries(o.out);
    for (std::size_t k = 0; o.by_camera && k < setup.cameras.size(); ++k)
      temporaries += vbatch::io::remove_temporaries(o.out / camera_dir(k));
    if (!o.quiet) fmt::print("resume: removed {} temporary files of an interrupted run\n", temporaries);
    std::vector<std::vector<output_file>> outputs;
    for (const frame& f : frames) outputs.push_back(outputs_of(o, setup, f.id));
    done_views.resize(frames.size());
    vbatch::for_each_item(vbatch::cpu_par{o.threads}, static_cast<int>(frames.size()), [&](int i) {
      for (const output_file& out : outputs[std::size_t(i)])
        done_views[std::size_t(i)].push_back(vbatch::pipeline::is_complete_image(o.out / out.name, out.width, out.height));
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
    demo = vbatch::sample::render_equirect(4096, 2048, 3, vbatch::sample::demo_scene, vbatch::cpu_par{o.threads});
    vbatch::io::save_image(o.out / "demo_equirect.jpg", demo->view(), {.jpeg_quality = o.quality, .fsync = o.fsync});
    demo_seconds = seconds_since(t0);
  }
  // --batch N, or --batch auto: half the free memory over what the frames in flight need (each
  // batch of frames and its views, times the batches the pipeline holds at once; the map is
  // shared), at most 32 frames; a batch whose views do not fit is split in halves.
  const auto largest = std::max_element(frames.begin(), frames.end(), [](const frame& a, const frame& b) {
    return std::int64_t{a.width} * a.height < std::int64_t{b.width} * b.height;
  });
  const auto* pano = demo ? &*demo : nullptr;
  // The loader asks the budget for each batch: half the free memory over what a frame in flight
  // needs (the frame and its views, about `in_flight` times over: decoded ahead, remapped,
  // encoded; the map is shared), at most auto_batch_size frames.
  constexpr std::uint64_t in_flight = 4;
  const vbatch::item_cost cost =
      largest == frames.end() ? vbatch::item_cost{1, 0} : sampler->cost(largest->width, largest->height);
  const batch_choice batches = o.batch != "auto"
                                   ? batch_choice{vbatch::batch::fixed(std::stoul(o.batch))}  // CLI11 checked the text
                                   : batch_choice{vbatch::batch::memory_budget(0.5, cost.per_item * in_flight, 1,
                                                                               auto_batch_size(setup.cameras), cost.shared)};
  timings t = split(o, frames, video, setup, pano, *sampler, batches, done_views, limit, gpu);
  t.load += demo_seconds;

  if (!o.quiet) {
    const double wall = seconds_since(start);
    // Busy time in thread-seconds: decoding and encoding summed over their workers; the map and
    // remap calls counted as if they had every thread of the budget (at most that).
    const int threads = t.threads;
    const double map_busy = t.map * threads, remap_busy = t.remap * threads;
    const double busy = std::max(t.load + map_busy + remap_busy + t.save, 1e-9);
    const auto share = [&](double s) { return fmt::format("{:.2f} s ({:.0f}%)", s, 100 * s / busy); };
    fmt::print("{} frames -> {} views in {:.2f} s: {:.4f} s/view, {:.1f} MPix/s out ({})\n", t.frames, t.views, wall,
               wall / std::max<long long>(t.views, 1), t.output_pixels / 1e6 / wall, fs::path(o.out).string());
    if (t.gpu) {  // each stage's busy seconds (summed over its workers), in the order a batch takes them
      std::vector<std::string> stages;
      for (const char* name : {"decode", "upload", "compute", "download", "encode", "write"})
        if (const auto it = t.stage_seconds.find(name); it != t.stage_seconds.end())
          stages.push_back(fmt::format("{} {:.2f} s", name, it->second));
      fmt::print("device: CUDA{}, 3 staging slots; time: {} (busy seconds; stages overlap)\n", VBATCH_CUDA_EMULATION_NOTE,
                 fmt::join(stages, ", "));
    } else {
      fmt::print("time: load {}, map {}, remap {}, save {} (thread-seconds; stages overlap)\n", share(t.load), share(map_busy),
                 share(remap_busy), share(t.save));
    }
    fmt::print("batches: up to {} frames{}, {} decoded ahead; {} decode and {} encode workers; {}\n", t.largest_batch,
               t.retries ? fmt::format(", {} rerun smaller after running out of memory", t.retries) : "", t.prefetch,
               o.decode_workers > 0 ? o.decode_workers : threads, o.encode_workers > 0 ? o.encode_workers : threads,
               vbatch::io::codec::fastest::describe());
    // How well the run used its budget: the average of busy threads over the run (decoding,
    // kernels, encoding), at most `threads`; on a machine with fewer cores, at most the cores.
    const double average = t.slot_seconds / std::max(t.run, 1e-9);
    if (threads > 0)  // no budget when every frame was already done (--resume) or failed
      fmt::print("threads: {} in the budget, {} busy at most, {:.2f} on average over the run ({:.0f}% of {})\n", threads,
                 t.busiest, average, 100 * average / std::min(threads, vbatch::hardware_threads()),
                 threads > vbatch::hardware_threads() ? fmt::format("the {} cores", vbatch::hardware_threads()) : "the budget");
    if (o.resume)
      fmt::print("resume: {} views already complete, {} frames skipped{}\n", skipped_views, skipped_frames,
                 o.demo ? " (--demo always runs)" : "");
  }
  failures.insert(failures.end(), t.failures.begin(), t.failures.end());
  summary.resumed = std::uint64_t(skipped_frames);
  summary.failed += t.failed_frames;
  summary.outputs = std::uint64_t(t.views) - t.failed_writes;
  summary.stage_seconds = t.stage_seconds;
  return finish(std::move(failures), t.too_many_failures || limit.exceeded(), limit.max());
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
      "position when the name has none); with --layout: DIR/frame_{id:05d}_cube.{ext}. With --colmap also the\n"
      "views' intrinsics and poses: a COLMAP text model in DIR/colmap/ and DIR/views.json. With --by-camera:\n"
      "DIR/cam_{k:02d}/frame_{id:05d}.{ext}, COLMAP's layout for rigs (--colmap adds DIR/colmap/rig_config.json).\n"
      "Failures: with --on-error skip (the default) a frame that cannot be read or decoded, or a view that cannot\n"
      "be written, is skipped and listed in DIR/failures.json; the other frames' views are all written.\n"
      "Exit status: 0 done; 1 an input, camera file or output problem, or more failures than --max-failures;\n"
      "2 a bad command line; 3 done, but some frames or views failed (DIR/failures.json).\n"
      "Device: --device cuda remaps on a GPU (decode, upload, compute, download and encode overlap; the same files as\n"
      "on the CPU) in vbatch-e2p-cuda, built with -DVBATCH_ENABLE_CUDA=ON; its default, auto, uses the CPU when no\n"
      "device is found. This build: " VBATCH_TOOL_DEVICES ".");
  vbatch_tools::add_version_flag(app);

  app.add_option("inputs", o.inputs,
                 "Equirectangular frames, directories of .jpg/.jpeg/.png frames (natural order), or one video");
  app.add_option("-o,--output", o.out, "Output directory (created if missing); required");
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

  vbatch_tools::add_video_selection_options(app, o.video);
  auto* size = app.add_option("--size", o.size, "Output view size WxH (or N for NxN)")->capture_default_str();
  app.add_option("--interp", o.interp, "Interpolation")
      ->check(CLI::IsMember({"nearest", "bilinear", "bicubic"}))
      ->capture_default_str();
  app.add_option("--precision", o.precision,
                 "Bilinear weights: fast (1/128-pixel fixed point, integer sums; within 2 levels of float) or exact "
                 "(float weights, rounded once: within 1 level of py360convert)")
      ->check(CLI::IsMember({"fast", "exact"}))
      ->capture_default_str();
  app.add_option("--format", o.format, "Output format")->check(CLI::IsMember({"jpg", "png"}))->capture_default_str();
  app.add_option("--quality", o.quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--batch", o.batch,
                 "Frames per remap call (1..1024), or auto: enough frames for 8 MPix of views (at most 8) that fit in half "
                 "the free memory; halved and retried on out-of-memory")
      ->check(CLI::IsMember({"auto"}) | CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--threads", o.threads,
                 "Threads busy at once, shared by decoding, remapping and encoding as they need them (0: all cores)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--map", o.map,
                 "Sample map: fixed (cached, 1/128-pixel fixed point; fastest), float (cached) or rays (computed per pixel)")
      ->check(CLI::IsMember({"fixed", "float", "rays"}))
      ->capture_default_str();
  vbatch_tools::add_shard_option(app, o.shard, "frames");
  vbatch_tools::add_report_option(app, o.report);
  app.add_option("--max-pixels", o.max_pixels, "Refuse input images with more pixels (decompression bombs)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
      ->capture_default_str();
  app.add_flag("--colmap", o.colmap,
               "Also write every view's intrinsics and pose (rotation about the panorama's centre): a COLMAP text model "
               "in DIR/colmap (cameras.txt, images.txt, points3D.txt) and DIR/views.json");
  app.add_option("--dual-fisheye", o.dual_fisheye,
                 "The frames are a 360° camera's two fisheye images side by side (or stacked), described by FILE.json "
                 "(lens models, centres, radii, fields of view, orientations: docs/sample.md); views are sampled from "
                 "the lenses, black outside their image circles")
      ->type_name("FILE.json");
  app.add_flag("--by-camera", o.by_camera,
               "Write view k of every frame as DIR/cam_{k:02d}/frame_{id:05d}.{ext} (COLMAP's layout for rigs: with "
               "--colmap also DIR/colmap/rig_config.json for colmap rig_configurator)");
  app.add_flag("--no-exif", o.no_exif,
               "Views without their JPEG frame's EXIF (by default a view keeps the frame's camera, time and GPS tags, "
               "with its own size and focal length)");
  app.add_flag("--resume", o.resume,
               "Skip the outputs that exist and decode cleanly at their size (frames whose views are all there are not "
               "decoded); redo the rest");
  app.add_option("--decode-workers", o.decode_workers,
                 "Threads decoding frames (0: --threads); they count against --threads while they decode")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--encode-workers", o.encode_workers,
                 "Threads encoding and writing views (0: --threads); they count against --threads while they encode")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--prefetch", o.prefetch, "Batches of frames decoded ahead of the remap (0: enough for every decode worker)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  app.add_option("--device", o.device, "Where to remap: cpu, cuda (a GPU), or auto (cuda when a device is found)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  vbatch_tools::add_failure_options(app, o.failures);
  vbatch_tools::add_fsync_flag(app, o.fsync);
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  o.size_given = size->count() > 0;
  o.convention_given = convention->count() > 0;
  o.pitch_given = pitch->count() > 0;
  o.preset_given = o.pitch_given || fov->count() > 0 || vfov->count() > 0;

  return vbatch_tools::run_reporting("e2p", "out of memory; try a smaller --batch or --size", [&] { return run(o); });
}
