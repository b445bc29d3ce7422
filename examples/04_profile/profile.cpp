// profile: find the batch size and thread count for a vbatch operation on this machine.
//
//   profile --demo -o report/                        # e2p on a synthetic 8K frame, 1, 2, 4, ... threads up to the cores
//   profile frames/ -o report/ --threads 1,2,4 --max-batch 16 --rig ring:8 --size 1920x1080
//
// For each thread count (default: 1, 2, 4, ... and the number of cores this process may use) it
// sweeps batch sizes 1, 2, 4, ... (until out of memory, a plateau of the rate, or --max-batch),
// running the operation on batches of frames held in memory, and records per size the time,
// frames/s, output MPix/s and the peak memory the batch's buffers took. It prints a table per
// thread count and the recommended configuration (the smallest batch, then the fewest threads,
// within 5 % of the highest rate) with that configuration's own rate and the highest one, and
// writes DIR/profile_e2p.json and DIR/profile_e2p.svg. On a terminal a progress line shows the
// thread count and batch size being timed (-q: nothing but errors).
//
// Exit status: 0 done, 1 an input or output problem, 2 a bad command line.

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vbatch/core/memory.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/profile/sweep.hpp"
#include "vbatch/sample/rig_spec.hpp"
#include "vbatch/vbatch.hpp"

#include "../common/tool.hpp"

namespace {

namespace fs = std::filesystem;

struct options {
  std::vector<std::string> inputs;
  fs::path out = "profile-report";
  bool demo = false, quiet = false;
  std::string op = "e2p", size = "1920x1080", rig = "ring:8", threads = "auto", demo_size = "7680x3840";
  std::size_t max_batch = 32;
  int repeats = 3;
};

using vbatch_tools::usage_error;

// Sizes and rigs are parsed by the library (vbatch/sample/rig_spec.hpp), whose messages name the
// option and its text; a bad one is a usage error.
vbatch::sample::view_size parse_size(const std::string& text, const char* flag) {
  if (const vbatch::status s = vbatch::sample::can_parse_size(text, flag); !s) throw usage_error(s.message);
  return vbatch::sample::parse_size(text, flag);
}

// The cores this process may run on (its CPU affinity: a container's or taskset's limit), at least 1.
int usable_cores() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return vbatch::hardware_threads();
}

// "auto": 1, 2, 4, ... below the core count, then the core count itself (1,2,4,6 on 6 cores).
std::vector<int> parse_threads(const std::string& text) {
  std::vector<int> threads;
  if (text == "auto") {
    const int cores = usable_cores();
    for (int t = 1; t < cores; t *= 2) threads.push_back(t);
    threads.push_back(cores);
    return threads;
  }
  for (std::size_t first = 0; first <= text.size();) {
    const std::size_t comma = std::min(text.find(',', first), text.size());
    const std::string part = text.substr(first, comma - first);
    char* end = nullptr;
    const long t = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || t < 1 || t > 256)
      throw usage_error(fmt::format("--threads '{}': expected auto or a list of counts from 1 to 256, e.g. 1,2", text));
    threads.push_back(int(t));
    first = comma + 1;
  }
  return threads;
}

// The cameras of --rig: 90° views of w x h.
vbatch::sample::rig make_rig(const std::string& text, int w, int h) {
  if (const vbatch::status s = vbatch::sample::can_parse_rig(text, "--rig"); !s) throw usage_error(s.message);
  const vbatch::sample::rig_preset preset = vbatch::sample::parse_rig(text, "--rig");
  if (preset.kind == vbatch::sample::rig_kind::cube && w != h)
    throw usage_error(fmt::format("--rig cube: faces are square, but --size is {}x{}", w, h));
  return vbatch::sample::make_rig(preset, {w, h}, 90);
}

// The frames the sweep cycles through, decoded once.
std::vector<vbatch::batch_buffer<vbatch::u8>> load_frames(const options& o) {
  std::vector<vbatch::batch_buffer<vbatch::u8>> frames;
  if (o.demo) {
    const auto [w, h] = parse_size(o.demo_size, "--demo-size");
    frames.push_back(vbatch::sample::render_equirect(w, h, 3, vbatch::sample::demo_scene));
    return frames;
  }
  std::vector<fs::path> files;
  for (const fs::path input : o.inputs) {
    if (fs::is_directory(input)) {
      for (const auto& e : fs::directory_iterator(input)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") files.push_back(e.path());
      }
    } else if (fs::is_regular_file(input)) {
      files.push_back(input);
    } else {
      throw std::runtime_error(fmt::format("{}: no such file or directory", input.string()));
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no .jpg, .jpeg or .png frames in the inputs");
  files.resize(std::min<std::size_t>(files.size(), 8));  // enough variety; the sweep reuses them
  for (const fs::path& f : files) {
    frames.push_back(vbatch::io::load_image(f, 3));
    if (frames.back().shape() != frames.front().shape())
      throw std::runtime_error(fmt::format("{}: {}x{}, but the first frame is {}x{}; profile one size at a time", f.string(),
                                           frames.back().shape().w, frames.back().shape().h, frames.front().shape().w,
                                           frames.front().shape().h));
  }
  return frames;
}

struct tracked_tag {};
using tracked = vbatch::tracked_memory<vbatch::host_memory, tracked_tag>;

int run(const options& o) {
  if (o.inputs.empty() && !o.demo) throw usage_error("no inputs: give frames or directories of frames, or --demo");
  if (o.op != "e2p") throw usage_error(fmt::format("--op '{}': only e2p can be profiled so far", o.op));
  const auto [view_w, view_h] = parse_size(o.size, "--size");
  const vbatch::sample::rig rig = make_rig(o.rig, view_w, view_h);
  const std::vector<int> thread_counts = parse_threads(o.threads);
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec || !fs::is_directory(o.out))
    throw std::runtime_error(fmt::format("{}: cannot create the report directory", o.out.string()));

  const auto frames = load_frames(o);
  const vbatch::batch_shape frame = frames.front().shape();
  const auto map = vbatch::sample::make_e2p_map<vbatch::sample::maps::cached_fixed>(rig, frame.w, frame.h);
  const int views = int(rig.size());
  if (!o.quiet)
    fmt::print("e2p: {}x{} frames -> {} views of {}x{}, cached_fixed map ({:.0f} MB), bilinear\n", frame.w, frame.h, views,
               view_w, view_h, map.bytes() / 1e6);

  // One trial: remap a batch of `size` frames into views. The batch's buffers live in tracked
  // memory, so the peak is what that batch size needs; they are filled on the first repeat and
  // reused after it, so the fastest repeat times the operation, not page faults and copies.
  // The progress counts thread counts (a sweep's length depends on where its rate levels off).
  std::map<int, std::vector<vbatch::profile::sweep_point>> sweeps;
  vbatch_tools::progress_line bar(o.quiet, "thread counts", thread_counts.size());
  std::size_t swept = 0;
  for (const int threads : thread_counts) {
    const vbatch::cpu_par exec{threads};
    vbatch::batch_buffer<vbatch::u8, tracked> src, dst;
    sweeps[threads] = vbatch::profile::sweep(
        [&](std::size_t size) {
          const int n = int(size);
          bar.update(swept, fmt::format("{} thread{}, batch {}", threads, threads == 1 ? "" : "s", size));
          if (src.shape().n != n) {
            src = {}, dst = {};
            tracked::reset_peak();
            src = vbatch::batch_buffer<vbatch::u8, tracked>({n, frame.h, frame.w, 3});        // (B,Hs,Ws,3)
            dst = vbatch::batch_buffer<vbatch::u8, tracked>({n * views, view_h, view_w, 3});  // (B*K,H,W,3)
            for (int i = 0; i < n; ++i)
              std::copy_n(frames[i % frames.size()].data(), frame.elements(), src.view().pixel(i, 0, 0));
          }
          vbatch::sample::e2p(exec, src.view(), map, dst.view());
          return vbatch::profile::trial{size, tracked::stats().peak};
        },
        {1, o.max_batch, 1.05, 2, o.repeats});
    bar.update(++swept);
    bar.finish();  // the table goes below the line
    if (!o.quiet)
      fmt::print("\n{} thread{}:\n{}", threads, threads == 1 ? "" : "s", vbatch::profile::sweep_table(sweeps[threads], "frames"));
  }

  // The recommendation: the smallest batch (then the fewest threads) within 5 % of the best rate
  // over all thread counts, reported with its own rate; the best point is reported beside it.
  const vbatch::profile::sweep_point* best = nullptr;
  int best_threads = 0;
  for (const auto& [threads, points] : sweeps)
    for (const auto& p : points)
      if (!p.out_of_memory && (!best || p.items_per_second > best->items_per_second)) best = &p, best_threads = threads;
  if (!best) throw std::runtime_error("every batch size ran out of memory, even 1");
  const vbatch::profile::sweep_point* pick = nullptr;
  int pick_threads = 0;
  for (const auto& [threads, points] : sweeps)  // thread counts increase
    for (const auto& p : points)
      if (!p.out_of_memory && p.items_per_second >= 0.95 * best->items_per_second && (!pick || p.size < pick->size))
        pick = &p, pick_threads = threads;
  const auto mpix = [&](const vbatch::profile::sweep_point& p) {
    return p.items_per_second * views * double(view_w) * view_h / 1e6;
  };
  if (!o.quiet) {
    fmt::print("\nrecommended: --threads {} --batch {} ({:.2f} frames/s, {:.0f} MPix/s out; kernel only, no file I/O)\n",
               pick_threads, pick->size, pick->items_per_second, mpix(*pick));
    fmt::print("fastest:     --threads {} --batch {} ({:.2f} frames/s; the recommendation is within 5 % of it)\n", best_threads,
               best->size, best->items_per_second);
  }

  vbatch::profile::json_writer j;
  j.begin_object().key("operation").value("e2p").key("frame_w").value(frame.w).key("frame_h").value(frame.h);
  j.key("views").value(views).key("view_w").value(view_w).key("view_h").value(view_h);
  j.key("recommended").begin_object().key("threads").value(pick_threads).key("batch").value(pick->size);
  j.key("frames_per_second").value(pick->items_per_second).key("output_mpix_per_second").value(mpix(*pick)).end_object();
  j.key("fastest").begin_object().key("threads").value(best_threads).key("batch").value(best->size);
  j.key("frames_per_second").value(best->items_per_second).key("output_mpix_per_second").value(mpix(*best)).end_object();
  j.key("sweeps").begin_array();
  for (const auto& [threads, points] : sweeps) {
    j.begin_object().key("threads").value(threads).key("points").begin_array();
    for (const auto& p : points)
      j.begin_object()
          .key("batch")
          .value(p.size)
          .key("out_of_memory")
          .value(p.out_of_memory)
          .key("seconds")
          .value(p.seconds)
          .key("frames_per_second")
          .value(p.items_per_second)
          .key("peak_bytes")
          .value(p.peak_bytes)
          .end_object();
    j.end_array().end_object();
  }
  j.end_array().end_object();
  std::vector<vbatch::profile::series> lines;
  for (const auto& [threads, points] : sweeps)
    lines.push_back(vbatch::profile::sweep_series(fmt::format("{} thread{}", threads, threads == 1 ? "" : "s"), points));
  const std::string title =
      fmt::format("e2p {}x{} -> {} x {}x{}: frames/s by batch size", frame.w, frame.h, views, view_w, view_h);
  const std::string json = j.str(), svg = vbatch::profile::line_chart_svg(title, "batch size (frames)", "frames per second",
                                                                          lines, double(pick->size));
  vbatch::io::write_file_atomically(o.out / "profile_e2p.json", json.data(), json.size());
  vbatch::io::write_file_atomically(o.out / "profile_e2p.svg", svg.data(), svg.size());
  if (!o.quiet) fmt::print("wrote {} and {}\n", (o.out / "profile_e2p.json").string(), (o.out / "profile_e2p.svg").string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"profile: sweep batch sizes and thread counts of a vbatch operation and recommend a configuration.", "profile"};
  app.footer(
      "Examples:\n"
      "  profile --demo -o report/                          a synthetic 8K panorama, 1, 2, 4, ... threads up to the cores\n"
      "  profile frames/ -o report/ --threads 1,2,4 --max-batch 16\n"
      "  profile pano.jpg -o report/ --rig cube --size 1024 --repeats 5\n"
      "Per thread count, batch sizes 1, 2, 4, ... are timed (frames held in memory: the kernel alone, no file\n"
      "I/O) until out of memory, a plateau of the rate or --max-batch. Recommended: the smallest batch (then\n"
      "the fewest threads) within 5 % of the fastest point, printed with its own rate; the fastest beside it.\n"
      "Outputs: DIR/profile_e2p.json (every point, the recommended and the fastest one) and DIR/profile_e2p.svg.\n"
      "On a terminal, a progress line shows the thread count and batch size being timed.\n"
      "Exit status: 0 done; 1 an input or output problem; 2 a bad command line.");
  vbatch_tools::add_version_flag(app);
  auto* inputs = app.add_option("inputs", o.inputs, "Frames or directories of frames (up to 8 are used)");
  app.add_flag("--demo", o.demo, "Profile on a synthetic panorama (--demo-size)")->excludes(inputs);
  app.add_option("--demo-size", o.demo_size, "Size of the synthetic panorama")->capture_default_str();
  app.add_option("-o,--output", o.out, "Directory for profile_e2p.json and profile_e2p.svg")->capture_default_str();
  app.add_option("--op", o.op, "Operation to profile (e2p)")->capture_default_str();
  app.add_option("--rig", o.rig, "Cameras: ring:N, rings3:N (pitch -30/0/+30) or cube")->capture_default_str();
  app.add_option("--size", o.size, "View size WxH (or N for NxN)")->capture_default_str();
  app.add_option("--threads", o.threads,
                 "Thread counts to try, comma separated, or auto: 1, 2, 4, ... and the cores this process may use")
      ->capture_default_str();
  app.add_option("--max-batch", o.max_batch, "Largest batch to try")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--repeats", o.repeats, "Timed runs per size (the fastest counts)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors (and no progress line)");
  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  return vbatch_tools::run_reporting("profile", nullptr, [&] { return run(o); });
}
