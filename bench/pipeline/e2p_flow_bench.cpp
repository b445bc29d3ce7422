// The 360° split end to end, files to files: N 8K equirectangular JPEG frames (7680x3840, q92)
// into 8 views of 1920x1080 each (JPEG q92), timed in one run for
//   e2p      the e2p tool (started as a process): loader, pipeline and writer overlapping decode,
//            remap and encode
//   loop     a straightforward loop built from the same parts: load_image, then for each camera
//            an e2p call with that camera's cached map and save_image, one at a time; once with
//            the serial executor (everything on one thread) and once with cpu_par (the remap
//            split over the threads, as e2p(cpu_par{}, ...) does by default)
//   opencv   cv::imread -> cv::remap per view (fixed-point maps, BORDER_WRAP) -> cv::imwrite,
//            cv::setNumThreads(threads)
// Every variant builds its maps in the timed run (once), reads the same files and writes its own
// directory, emptied before each repetition. Repetitions take turns; medians are reported.
//
//   e2p_flow_bench --e2p build/release/examples/e2p --frames 12 --repeats 3 --threads 2
//
// Frames are generated once into --dir (default /tmp/vbatch-e2p-bench/frames): the demo scene
// turned by 7° per frame, so every frame differs. This is a timing program, not a test.

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "vbatch/io/image_io.hpp"
#include "vbatch/vbatch.hpp"

#if VBATCH_HAVE_OPENCV && __has_include(<opencv2/imgcodecs.hpp>)
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#define VBATCH_BENCH_OPENCV 1
#endif

extern char** environ;

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
constexpr int source_w = 7680, source_h = 3840, view_w = 1920, view_h = 1080, cameras = 8, quality = 92;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

std::vector<fs::path> make_frames(const fs::path& dir, int n) {
  fs::create_directories(dir);
  std::vector<fs::path> files;
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "pano_%04d.jpg", i);
    files.push_back(dir / name);
    if (fs::exists(files.back())) continue;
    const double yaw = vbatch::sample::deg_to_rad(7.0 * i), c = std::cos(yaw), s = std::sin(yaw);
    const auto scene = [&](vbatch::sample::vec3<double> d) { return vbatch::sample::demo_scene({c * d.x + s * d.z, d.y, -s * d.x + c * d.z}); };
    const auto pano = vbatch::sample::render_equirect(source_w, source_h, 3, scene);
    vbatch::io::save_image(files.back(), pano.view(), {quality});
    std::printf("generated %s\n", files.back().c_str());
  }
  return files;
}

void empty_dir(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
}

std::string view_name(int frame, int cam) {
  char name[48];
  std::snprintf(name, sizeof name, "frame_%05d_cam_%02d.jpg", frame, cam);
  return name;
}

// The e2p tool, as a process.
double run_tool(const std::string& tool, const fs::path& frames, const fs::path& out, int threads) {
  std::vector<std::string> args = {tool, frames.string(), "-o", out.string(), "-q", "--threads", std::to_string(threads)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto t0 = clock_type::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot run %s\n", tool.c_str());
    std::exit(1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const double s = seconds_since(t0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s failed\n", tool.c_str());
    std::exit(1);
  }
  return s;
}

// Decode, remap each camera, encode each view: one at a time.
template <class Exec>
double run_loop(const std::vector<fs::path>& files, const fs::path& out, const Exec& exec) {
  const auto t0 = clock_type::now();
  const vbatch::sample::rig rig = vbatch::sample::ring_rig(cameras, 0, view_w, view_h, 90);
  std::vector<vbatch::sample::e2p_map<vbatch::sample::maps::cached_fixed>> maps;
  for (const auto& cam : rig)
    maps.push_back(vbatch::sample::make_e2p_map<vbatch::sample::maps::cached_fixed>(vbatch::sample::rig{cam}, source_w, source_h, exec));
  vbatch::batch_buffer<vbatch::u8> view({1, view_h, view_w, 3});
  for (std::size_t f = 0; f < files.size(); ++f) {
    const auto frame = vbatch::io::load_image(files[f], 3);
    for (int k = 0; k < cameras; ++k) {
      vbatch::sample::e2p(exec, frame.view(), maps[std::size_t(k)], view.view());
      vbatch::io::save_image(out / view_name(int(f), k), view.view(), {quality});
    }
  }
  return seconds_since(t0);
}

#if VBATCH_BENCH_OPENCV
double run_opencv(const std::vector<fs::path>& files, const fs::path& out, int threads) {
  cv::setNumThreads(threads);
  const auto t0 = clock_type::now();
  const auto map = vbatch::sample::make_e2p_map<vbatch::sample::maps::cached_float>(vbatch::sample::ring_rig(cameras, 0, view_w, view_h, 90), source_w,
                                                                    source_h, vbatch::cpu_par{threads});
  std::vector<std::pair<cv::Mat, cv::Mat>> maps;
  for (int k = 0; k < cameras; ++k) {
    cv::Mat mx(view_h, view_w, CV_32FC1), my(view_h, view_w, CV_32FC1);
    for (int y = 0; y < view_h; ++y)
      for (int x = 0; x < view_w; ++x) {
        const auto p = map.view().at(k, y, x);
        mx.at<float>(y, x) = p.x;
        my.at<float>(y, x) = p.y;
      }
    cv::Mat m1, m2;
    cv::convertMaps(mx, my, m1, m2, CV_16SC2);
    maps.emplace_back(m1, m2);
  }
  const std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, quality};
  cv::Mat view;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const cv::Mat frame = cv::imread(files[f].string(), cv::IMREAD_COLOR);
    for (int k = 0; k < cameras; ++k) {
      cv::remap(frame, view, maps[std::size_t(k)].first, maps[std::size_t(k)].second, cv::INTER_LINEAR, cv::BORDER_WRAP);
      cv::imwrite((out / view_name(int(f), k)).string(), view, params);
    }
  }
  return seconds_since(t0);
}
#endif

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

constexpr const char* usage_text =
    "usage: e2p_flow_bench [--e2p PATH] [--dir DIR] [--frames N] [--repeats R] [--threads T]\n"
    "                      [--benchmark_filter=REGEX] [--benchmark_list_tests] [--benchmark_repetitions=R]\n"
    "Times the 360-degree split end to end, files to files: the e2p tool (--e2p), a loop of the same parts\n"
    "(cpu_par and serial) and an OpenCV loop, on --frames generated 8K JPEG frames in --dir (default\n"
    "/tmp/vbatch-e2p-bench); repetitions take turns, medians are reported. Of Google Benchmark's flags,\n"
    "--benchmark_filter (a regex on the variant names), --benchmark_list_tests and --benchmark_repetitions\n"
    "(= --repeats) apply; the others do not (this is not a Google Benchmark program). Exit status: 0 done,\n"
    "2 a bad command line.\n";

// A bad command line: the message, then a pointer to --help; exit status 2.
int bad_usage(const std::string& message) {
  std::fprintf(stderr, "e2p_flow_bench: %s\nRun with --help for the usage.\n", message.c_str());
  return 2;
}

// A positive count of a flag, or nothing.
std::optional<int> parse_count(const std::string& text) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 1) return std::nullopt;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tool, filter;
  fs::path dir = "/tmp/vbatch-e2p-bench";
  int frames = 12, repeats = 3, threads = 2;
  bool list_only = false;
  // --flag VALUE or --flag=VALUE; Google Benchmark's boolean flags take no value (or =true/=false).
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i], value;
    const std::size_t eq = key.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) value = key.substr(eq + 1), key.resize(eq);
    if (key == "--help" || key == "-h") {
      std::fputs(usage_text, stdout);
      return 0;
    }
    if (key == "--benchmark_list_tests") {
      if (inline_value && value != "true" && value != "false") return bad_usage(key + "=" + value + ": expected true or false");
      list_only = value != "false";
      continue;
    }
    const bool known = key == "--e2p" || key == "--dir" || key == "--frames" || key == "--repeats" || key == "--threads" ||
                       key == "--benchmark_filter" || key == "--benchmark_repetitions";
    if (!known && key.rfind("--benchmark_", 0) == 0)
      return bad_usage(key + ": a Google Benchmark flag this timing program does not support (see --help)");
    if (!known) return bad_usage(key + ": unknown option");
    if (!inline_value) {
      if (i + 1 >= argc) return bad_usage(key + ": a value is missing");
      value = argv[++i];
    }
    if (key == "--e2p") {
      tool = value;
    } else if (key == "--dir") {
      dir = value;
    } else if (key == "--benchmark_filter") {
      filter = value;
    } else {
      const std::optional<int> n = parse_count(value);
      if (!n) return bad_usage(key + " '" + value + "': expected a positive integer");
      (key == "--frames" ? frames : key == "--threads" ? threads : repeats) = *n;
    }
  }
  std::regex pattern;
  try {
    pattern = std::regex(filter.empty() ? "." : filter);
  } catch (const std::regex_error& e) {
    return bad_usage("--benchmark_filter '" + filter + "': not a regular expression: " + e.what());
  }

  // The variants, by name (the number orders them and names their output folder); the frames
  // are generated after --benchmark_list_tests has had its say.
  std::vector<fs::path> files;
  std::map<std::string, std::function<double(const fs::path&)>> variants;
  if (!tool.empty()) variants["1 e2p tool"] = [&](const fs::path& out) { return run_tool(tool, dir / "frames", out, threads); };
  variants["2 loop, cpu_par remap"] = [&](const fs::path& out) { return run_loop(files, out, vbatch::cpu_par{threads}); };
  variants["3 loop, serial"] = [&](const fs::path& out) { return run_loop(files, out, vbatch::cpu_serial{}); };
#if VBATCH_BENCH_OPENCV
  variants["4 opencv loop"] = [&](const fs::path& out) { return run_opencv(files, out, threads); };
#endif
  std::erase_if(variants, [&](const auto& v) { return !std::regex_search(v.first.substr(2), pattern); });
  if (list_only) {
    for (const auto& [name, run] : variants) std::printf("%s\n", name.substr(2).c_str());
    return 0;
  }
  if (variants.empty()) return bad_usage("--benchmark_filter '" + filter + "' matches no variant (see --benchmark_list_tests)");

  files = make_frames(dir / "frames", frames);
  std::printf("%d frames of %dx%d (JPEG q%d) -> %d views of %dx%d each, %d threads, codecs: %s\n", frames, source_w, source_h,
              quality, cameras, view_w, view_h, threads, vbatch::io::codec::fastest::describe().c_str());
  std::map<std::string, std::vector<double>> times;
  for (int r = 0; r < repeats; ++r)
    for (auto& [name, run] : variants) {
      std::string folder = "out_";
      folder += name[0];  // the variant's number
      const fs::path out = dir / folder;
      empty_dir(out);
      times[name].push_back(run(out));
      std::printf("  %-24s run %d: %.2f s\n", name.substr(2).c_str(), r + 1, times[name].back());
      std::fflush(stdout);
    }
  const double views = double(frames) * cameras;
  const double reference = tool.empty() ? 0 : median(times["1 e2p tool"]);
  std::printf("\n| variant | s (median of %d) | s per view | e2p is |\n|---|---|---|---|\n", repeats);
  for (auto& [name, t] : times) {
    const double m = median(t);
    char ratio[32] = "";
    if (reference > 0) std::snprintf(ratio, sizeof ratio, "%.2fx faster", m / reference);
    std::printf("| %s | %.2f | %.4f | %s |\n", name.substr(2).c_str(), m, m / views, ratio);
  }
  return 0;
}
