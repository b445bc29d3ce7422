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
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
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

}  // namespace

int main(int argc, char** argv) {
  std::string tool;
  fs::path dir = "/tmp/vbatch-e2p-bench";
  int frames = 12, repeats = 3, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--e2p")
      tool = value;
    else if (key == "--dir")
      dir = value;
    else if (key == "--frames")
      frames = std::atoi(value.c_str());
    else if (key == "--repeats")
      repeats = std::atoi(value.c_str());
    else if (key == "--threads")
      threads = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "usage: e2p_flow_bench [--e2p PATH] [--dir DIR] [--frames N] [--repeats R] [--threads T]\n");
      return 2;
    }
  }
  const std::vector<fs::path> files = make_frames(dir / "frames", frames);
  std::printf("%d frames of %dx%d (JPEG q%d) -> %d views of %dx%d each, %d threads, codecs: %s\n", frames, source_w, source_h,
              quality, cameras, view_w, view_h, threads, vbatch::io::codec::fastest::describe().c_str());

  std::map<std::string, std::function<double(const fs::path&)>> variants;
  if (!tool.empty()) variants["1 e2p tool"] = [&](const fs::path& out) { return run_tool(tool, dir / "frames", out, threads); };
  variants["2 loop, cpu_par remap"] = [&](const fs::path& out) { return run_loop(files, out, vbatch::cpu_par{threads}); };
  variants["3 loop, serial"] = [&](const fs::path& out) { return run_loop(files, out, vbatch::cpu_serial{}); };
#if VBATCH_BENCH_OPENCV
  variants["4 opencv loop"] = [&](const fs::path& out) { return run_opencv(files, out, threads); };
#endif
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
