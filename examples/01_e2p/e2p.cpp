// e2p: split equirectangular frames into perspective views.
//
//   e2p --demo -o out/                                  # a synthetic panorama -> 8 views
//   e2p frames/ -o views/ --rig rings3:8 --size 1600x1200 --fov 100
//   e2p pano_0042.jpg --cube --layout dice -o cubes/    # frame_00042_cube.jpg
//
// Per batch of frames: load them in parallel -> remap every camera of every frame in one call,
// with a map built once per source size -> save every view in parallel. Everything that can be
// checked (arguments, cameras, input headers, frame ids, the output directory) is checked before
// the first frame is loaded, so a mistake costs no work and leaves no files. Only a frame that
// fails to decode (a truncated JPEG) stops a run midway; the views saved before it are complete.
//
// Exit status: 0 done, 1 an input, camera file or output problem, 2 a bad command line.

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
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
#include "vbatch/io/image_io.hpp"
#include "vbatch/vbatch.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// A bad command line: exit status 2, like CLI11's own parse errors. Everything else is 1.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void usage(fmt::format_string<Args...> f, Args&&... args) {
  throw usage_error(fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw std::runtime_error(fmt::format(f, std::forward<Args>(args)...));
}

struct options {
  std::vector<std::string> inputs;
  fs::path out;
  bool demo = false, cube = false, quiet = false;
  std::string rig = "ring:8", size = "1920x1080", convention = "vbatch", interp = "bilinear", format = "jpg", map = "fixed",
              layout = "list", cameras_file;
  std::vector<std::string> camera_specs;
  double pitch = 0, fov = 90, vfov = 0;
  int quality = 92, threads = 0;
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

// "2" < "10" in file names: runs of digits compare by value, the rest byte by byte.
bool natural_less(const std::string& a, const std::string& b) {
  const auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::string_view da(a.data() + i, ie - i), db(b.data() + j, je - j);
      da.remove_prefix(std::min(da.find_first_not_of('0'), da.size()));
      db.remove_prefix(std::min(db.find_first_not_of('0'), db.size()));
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      i = ie, j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // "01" vs "1": any fixed order
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
std::vector<double> parse_numbers(const std::string& text) {
  std::vector<double> values;
  for (std::size_t first = 0;;) {
    const std::size_t comma = std::min(text.find(',', first), text.size());
    double v = 0;
    const char* begin = text.data() + first;
    const auto [end, ec] = std::from_chars(begin, text.data() + comma, v);
    if (ec != std::errc{} || end != text.data() + comma)
      usage("--camera '{}': expected yaw,pitch,roll,hfov[,vfov] in degrees", text);
    values.push_back(v);
    if (comma == text.size()) break;
    first = comma + 1;
  }
  if (values.size() != 4 && values.size() != 5) usage("--camera '{}': expected yaw,pitch,roll,hfov[,vfov] in degrees", text);
  return values;
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
      const std::vector<double> v = parse_numbers(spec);
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

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// Files in command-line order; a directory contributes its .jpg/.jpeg/.png files in natural order.
std::vector<fs::path> collect_inputs(const std::vector<std::string>& inputs) {
  std::vector<fs::path> files;
  for (const fs::path input : inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(input, ec);
    if (!fs::exists(st)) fail("{}: no such file or directory", input.string());
    if (fs::is_directory(st)) {
      std::vector<fs::path> found;
      for (const fs::directory_entry& e : fs::directory_iterator(input))
        if (e.is_regular_file() && is_image_name(e.path())) found.push_back(e.path());
      if (found.empty()) fail("{}: no .jpg, .jpeg or .png files in this directory", input.string());
      std::sort(found.begin(), found.end(),
                [](const fs::path& a, const fs::path& b) { return natural_less(a.filename(), b.filename()); });
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(st)) {
      files.push_back(input);
    } else {
      fail("{}: not a regular file or directory", input.string());
    }
  }
  return files;
}

// The frame id is the last number in the file's stem (pano_0042.jpg -> 42). A stem without digits
// takes the input's position (0, 1, ...) so a single "pano.jpg" just works; two inputs that end up
// with one id would overwrite each other's views, which is an error naming both.
std::vector<frame> assign_ids(const std::vector<fs::path>& files) {
  std::vector<frame> frames;
  std::vector<bool> numbered;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string stem = files[i].stem().string();
    const std::size_t last = stem.find_last_of("0123456789");
    long long id = static_cast<long long>(i);
    if (last != std::string::npos) {
      const std::size_t first = stem.find_last_not_of("0123456789", last) + 1;  // npos + 1 == 0
      const auto [end, ec] = std::from_chars(stem.data() + first, stem.data() + last + 1, id);
      if (ec != std::errc{}) fail("{}: frame number {} is too large", files[i].string(), stem.substr(first, last + 1 - first));
    }
    frames.push_back({files[i], id});
    numbered.push_back(last != std::string::npos);
  }
  std::map<long long, std::size_t> owner;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto [it, fresh] = owner.try_emplace(frames[i].id, i);
    if (fresh) continue;
    const std::size_t j = it->second;
    const std::size_t unnumbered = !numbered[i] ? i : j;
    if (!numbered[i] || !numbered[j])
      fail("cannot derive a frame id from {}: no digits in its name, and its position ({}) is also the id of {}",
           files[unnumbered].string(), frames[i].id, files[unnumbered == i ? j : i].string());
    fail("{} and {} both have frame id {}: their views would overwrite each other", files[j].string(), files[i].string(),
         frames[i].id);
  }
  return frames;
}

// Size from the header only (the pixels are decoded batch by batch later).
void read_header(frame& f, const vbatch::image_limits& limits) {
  const vbatch::image_info info = vbatch::read_image_info(f.path);
  vbatch::check(vbatch::check_limits(f.path, info, limits));
  f.width = info.width, f.height = info.height;
}

// Creates the output directory and proves it writable with a probe file, before any work.
void check_output_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the output directory: {}", dir.string(), ec.message());
  if (!fs::is_directory(dir)) fail("{}: the output path is not a directory", dir.string());
  std::string probe = (dir / ".e2p-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) fail("{}: cannot write in the output directory: {}", dir.string(), std::strerror(errno));
  const bool written = ::write(fd, "e2p", 3) == 3;
  const int write_errno = errno;
  ::close(fd);
  fs::remove(probe, ec);
  if (!written) fail("{}: cannot write in the output directory: {}", dir.string(), std::strerror(write_errno));
}

// ---- the work loop ----------------------------------------------------------------------------

struct timings {
  double load = 0, map = 0, remap = 0, save = 0;
  long long frames = 0, views = 0, output_pixels = 0, retries = 0;
  int largest_batch = 0;
};

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// One updating line on a terminal; otherwise a line per ~10% of the frames, so logs stay short.
class progress {
 public:
  progress(bool quiet, std::size_t frames) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0), frames_(frames) {}

  void update(const timings& t, double elapsed) {
    if (quiet_) return;
    const int tenth = static_cast<int>(t.frames * 10 / static_cast<long long>(frames_));
    if (!tty_ && tenth == last_tenth_) return;
    last_tenth_ = tenth;
    const int digits = static_cast<int>(fmt::formatted_size("{}", frames_));
    fmt::print(stderr, "{}[{:>{}}/{} frames] {} views  {:.1f} views/s{}", tty_ ? "\r" : "", t.frames, digits, frames_, t.views,
               t.views / std::max(elapsed, 1e-9), tty_ ? "\x1b[K" : "\n");
    std::fflush(stderr);
  }
  void finish() {
    if (!quiet_ && tty_) fmt::print(stderr, "\n");
  }

 private:
  bool quiet_, tty_;
  std::size_t frames_;
  int last_tenth_ = -1;
};

std::string view_name(long long id, int cam, std::string_view ext) {
  return fmt::format("frame_{:05d}_cam_{:02d}.{}", id, cam, ext);
}

template <class Policy, class Interp, class BatchPolicy>
timings split(const options& o, const std::vector<frame>& frames, const camera_setup& setup,
              const vbatch::batch_buffer<vbatch::u8>* demo, clock_type::time_point start, BatchPolicy batches) {
  const vbatch::cpu_par exec{o.threads};
  const vbatch::image_limits limits{o.max_pixels};
  const vbatch::save_options save{o.quality};
  const int views_per_frame = static_cast<int>(setup.cameras.size());
  const int view_w = setup.cameras.front().lens.width, view_h = setup.cameras.front().lens.height;

  std::map<std::pair<int, int>, vbatch::e2p_map<Policy>> maps;  // one per source size, built on first use
  vbatch::batch_buffer<vbatch::u8> sources, views;              // reused while they are large enough
  // Reallocates `b` unless it already holds `n` images of h×w; the old buffer goes first, so two
  // batches of 8K frames never coexist.
  const auto ensure = [](vbatch::batch_buffer<vbatch::u8>& b, int n, int h, int w) {
    if (b.shape().n >= n && b.shape().h == h && b.shape().w == w) return;
    b = {};
    b = vbatch::batch_buffer<vbatch::u8>({n, h, w, 3});
  };
  timings t;
  progress bar(o.quiet, frames.size());
  // One batch: load its frames in parallel, remap every view in one call, save in parallel. Running
  // out of memory before the saves makes for_each_batch retry the same frames in a smaller batch.
  const auto process = [&](std::span<const frame> batch, std::size_t) {
    const int count = static_cast<int>(batch.size()), w = batch.front().width, h = batch.front().height;

    auto t0 = clock_type::now();
    ensure(sources, count, h, w);
    const vbatch::batch_view<vbatch::u8> src = sources.view().images(0, count);  // (B,Hs,Ws,3)
    vbatch::for_each_item(exec, count, [&](int i) {
      const frame& f = batch[i];
      if (f.path.empty()) return void(std::copy_n(demo->data(), demo->shape().elements(), src.pixel(i, 0, 0)));
      vbatch::load_image_into(f.path, src.image(i), limits);  // checks the decoded size against the slot
    });
    t.load += seconds_since(t0);

    t0 = clock_type::now();
    auto map = maps.find({w, h});
    if (map == maps.end()) map = maps.try_emplace({w, h}, vbatch::make_e2p_map<Policy>(setup.cameras, w, h, exec)).first;
    t.map += seconds_since(t0);

    t0 = clock_type::now();
    ensure(views, count * views_per_frame, view_h, view_w);
    const vbatch::batch_view<vbatch::u8> dst = views.view().images(0, count * views_per_frame);  // (B*K,H,W,3)
    vbatch::e2p(exec, src, map->second, dst, Interp{});
    // A cube layout puts a frame's six faces into one image.
    const bool layout = setup.layout != vbatch::cube_layout::list;
    const vbatch::batch_buffer<vbatch::u8> layouts =
        layout ? vbatch::to_layout(dst, setup.layout) : vbatch::batch_buffer<vbatch::u8>();
    const vbatch::batch_view<const vbatch::u8> out =
        layout ? layouts.view() : vbatch::batch_view<const vbatch::u8>(dst);  // (B*K,H,W,3) or (B,rows*w,cols*w,3)
    t.remap += seconds_since(t0);

    t0 = clock_type::now();
    vbatch::for_each_item(exec, out.n, [&](int i) {
      const int per_frame = layout ? 1 : views_per_frame;
      const long long id = batch[i / per_frame].id;
      const std::string name =
          layout ? fmt::format("frame_{:05d}_cube.{}", id, o.format) : view_name(id, i % per_frame, o.format);
      vbatch::save_image(o.out / name, out.image(i), save);
    });
    t.save += seconds_since(t0);

    t.frames += count;
    t.views += out.n;
    t.output_pixels += out.pixels();
    t.largest_batch = std::max(t.largest_batch, count);
    bar.update(t, seconds_since(start));
  };
  // Runs of consecutive frames of one size: one remap call needs one source size.
  for (std::size_t first = 0, last; first < frames.size(); first = last) {
    for (last = first + 1;
         last < frames.size() && frames[last].width == frames[first].width && frames[last].height == frames[first].height;
         ++last) {
    }
    const auto run = vbatch::batch::for_each_batch(std::span(frames).subspan(first, last - first), batches, process);
    t.retries += static_cast<long long>(run.retries);
  }
  bar.finish();
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
  std::vector<frame> frames = o.demo ? std::vector<frame>{{{}, 0, 4096, 2048}} : assign_ids(collect_inputs(o.inputs));
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
  check_output_dir(o.out);

  // 4. Work.
  std::optional<vbatch::batch_buffer<vbatch::u8>> demo;
  double demo_seconds = 0;
  if (o.demo) {
    const auto t0 = clock_type::now();
    demo = vbatch::render_equirect(4096, 2048, 3, vbatch::demo_scene, vbatch::cpu_par{o.threads});
    vbatch::save_image(o.out / "demo_equirect.jpg", demo->view(), {o.quality});
    demo_seconds = seconds_since(t0);
  }
  // --batch N, or --batch auto: half the free memory over what a frame needs (frame + its views;
  // the map is shared), at most 32 frames, halving on out-of-memory.
  const int batch = o.batch == "auto" ? 0 : std::stoi(o.batch);  // CLI11 checked the text
  const auto largest = std::max_element(frames.begin(), frames.end(), [](const frame& a, const frame& b) {
    return std::int64_t{a.width} * a.height < std::int64_t{b.width} * b.height;
  });
  timings t = std::visit(
      [&](auto policy, auto sampler) {
        using map_policy = decltype(policy);
        const auto* pano = demo ? &*demo : nullptr;
        if (batch > 0) return split<map_policy, decltype(sampler)>(o, frames, setup, pano, start, vbatch::batch::fixed(batch));
        const auto cost = vbatch::batch::e2p_cost<vbatch::u8, map_policy>(largest->width, largest->height, 3, setup.cameras);
        return split<map_policy, decltype(sampler)>(
            o, frames, setup, pano, start,
            vbatch::batch::backoff(vbatch::batch::memory_budget(0.5, cost.per_item, 1, 32, cost.shared)));
      },
      map, interp);
  t.load += demo_seconds;

  if (!o.quiet) {
    const double wall = seconds_since(start);
    const double busy = std::max(t.load + t.map + t.remap + t.save, 1e-9);
    const auto share = [&](double s) { return fmt::format("{:.2f} s ({:.0f}%)", s, 100 * s / busy); };
    fmt::print("{} frames -> {} views in {:.2f} s: {:.4f} s/view, {:.1f} MPix/s out ({})\n", t.frames, t.views, wall,
               wall / std::max<long long>(t.views, 1), t.output_pixels / 1e6 / wall, fs::path(o.out).string());
    fmt::print("time: load {}, map {}, remap {}, save {}\n", share(t.load), share(t.map), share(t.remap), share(t.save));
    fmt::print("batches: up to {} frames{}\n", t.largest_batch,
               t.retries ? fmt::format(", {} rerun smaller after running out of memory", t.retries) : "");
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
      "Outputs: DIR/frame_{id:05d}_cam_{k:02d}.{ext}, id = the last number in the input's name (its\n"
      "position when the name has none); with --layout: DIR/frame_{id:05d}_cube.{ext}.\n"
      "Exit status: 0 done; 1 an input, camera file or output problem; 2 a bad command line.");
  app.set_version_flag("--version", std::string("e2p (vbatch) ") + vbatch::version_string);

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
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // help and version exit 0; every parse error is a usage error
  }
  o.size_given = size->count() > 0;
  o.convention_given = convention->count() > 0;
  o.pitch_given = pitch->count() > 0;
  o.preset_given = o.pitch_given || fov->count() > 0 || vfov->count() > 0;

  try {
    return run(o);
  } catch (const usage_error& e) {
    fmt::print(stderr, "e2p: {}\nRun with --help for more information.\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "e2p: out of memory; try a smaller --batch or --size\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "e2p: {}\n", e.what());
    return 1;
  }
}
