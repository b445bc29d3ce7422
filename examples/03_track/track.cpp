// track: link per-frame detections into tracks with the IoU tracker (SORT-style).
//
//   track MOT15/ETH-Bahnhof/det.txt -o ETH-Bahnhof.txt                 # MOT detections -> MOT tracks
//   track det.txt -o tracks.txt --iou 0.3 --min-hits 3 --max-age 1 --motion velocity
//   track --demo -o demo_tracks.txt                                    # synthetic moving boxes
//
// Reads detections in the MOT Challenge text format (frame,id,x,y,w,h,score,...; id is ignored),
// tracks them frame by frame, and writes one line per tracked box in the same format: frame, track
// id, the detection's own x,y,w,h and score, -1,-1,-1. Every input line is checked before any
// tracking, so a malformed file fails with its line number and costs no work; the output is
// written at the end through a temporary file and a rename, so a failed run leaves no file behind.
//
// Exit status: 0 done, 1 an input or output problem, 2 a bad command line.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vbatch/boxes/mot.hpp"
#include "vbatch/boxes/synthetic.hpp"
#include "vbatch/boxes/tracker.hpp"
#include "vbatch/io/image_io.hpp"

#include "../common/tool.hpp"

namespace {

namespace fs = std::filesystem;
using vbatch_tools::clock_type;
using vbatch_tools::fail;
using vbatch_tools::seconds_since;
using vbatch_tools::usage;
using vbatch_tools::usage_error;

struct options {
  std::string input;
  fs::path out;
  bool demo = false, quiet = false;
  float iou = 0.3f, min_score = -std::numeric_limits<float>::infinity();
  int min_hits = 3, max_age = 1;
  std::string motion = "none", assign = "optimal";
};

// The output must be a file in an existing, writable directory; checked before any work.
void check_output(const fs::path& out) {
  std::error_code ec;
  if (fs::is_directory(out, ec)) fail("{}: is a directory; give the output file's name", out.string());
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) fail("{}: the directory {} does not exist", out.string(), dir.string());
  if (::access(dir.c_str(), W_OK) != 0) fail("{}: the directory {} is not writable", out.string(), dir.string());
}

struct result {
  int frames = 0, detections = 0, tracks = 0, boxes = 0, switches = -1;
  double track_seconds = 0;
  std::string text;
};

// Tracks records already sorted by frame (stable: file order within a frame).
result track_records(const std::vector<vbatch::boxes::mot_record>& records, const options& o, const std::vector<int>* truth = nullptr) {
  vbatch::boxes::iou_tracker tracker(
      {.iou_threshold = o.iou,
       .min_hits = o.min_hits,
       .max_age = o.max_age,
       .motion = o.motion == "velocity" ? vbatch::boxes::motion_model::constant_velocity : vbatch::boxes::motion_model::none,
       .greedy = o.assign == "greedy",
       .keep_history = false});
  result r;
  vbatch::boxes::identity_switch_counter switches;
  std::vector<vbatch::boxes::box_xyxy> boxes;
  std::vector<float> scores;
  std::vector<std::size_t> source;  // record of each box of the frame
  const auto t0 = clock_type::now();
  for (std::size_t first = 0; first < records.size();) {
    const int frame = records[first].frame;
    boxes.clear(), scores.clear(), source.clear();
    std::size_t last = first;
    for (; last < records.size() && records[last].frame == frame; ++last) {
      if (!(records[last].score >= o.min_score)) continue;
      boxes.push_back(vbatch::boxes::to_xyxy(records[last].box));
      scores.push_back(records[last].score);
      source.push_back(last);
    }
    for (const vbatch::boxes::tracked_box& t : tracker.update(frame, boxes, scores)) {
      const vbatch::boxes::mot_record& d = records[source[t.detection]];
      vbatch::boxes::append_mot_line(r.text, frame, t.id, d.box, d.score);  // the detection's own numbers
      if (truth) switches.add((*truth)[source[t.detection]], t.id);
      ++r.boxes;
    }
    r.detections += static_cast<int>(boxes.size());
    first = last;
  }
  if (!records.empty()) r.frames = records.back().frame - records.front().frame + 1;
  r.track_seconds = seconds_since(t0);
  r.tracks = tracker.confirmed_tracks();
  if (truth) r.switches = switches.switches();
  return r;
}

int run(const options& o) {
  const auto start = clock_type::now();
  if (o.input.empty() && !o.demo) usage("no input: give a MOT detections file (frame,id,x,y,w,h,score,...), or --demo");
  check_output(o.out);

  constexpr int demo_frames = 300;
  std::vector<vbatch::boxes::mot_record> records;
  std::vector<int> truth;
  std::string source;
  if (o.demo) {
    // 300 frames of 20 objects crossing, appearing and disappearing, with misses and false positives.
    const vbatch::boxes::synthetic_scene scene = vbatch::boxes::make_synthetic_scene({.frames = demo_frames});
    for (std::size_t f = 0; f < scene.frames.size(); ++f)
      for (const vbatch::boxes::synthetic_detection& d : scene.frames[f]) {
        records.push_back({static_cast<int>(f) + 1, -1, vbatch::boxes::to_xywh(d.box), d.score, 0});
        truth.push_back(d.truth);
      }
    source = "demo";
  } else {
    records = vbatch::boxes::read_mot_file(o.input);  // throws naming the file and line
    source = o.input;
  }
  // Frames in order; a frame's detections keep their order in the file.
  std::vector<std::size_t> order(records.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return records[a].frame < records[b].frame; });
  std::vector<vbatch::boxes::mot_record> sorted;
  std::vector<int> sorted_truth;
  sorted.reserve(records.size());
  for (const std::size_t k : order) {
    sorted.push_back(records[k]);
    if (o.demo) sorted_truth.push_back(truth[k]);
  }

  result r = track_records(sorted, o, o.demo ? &sorted_truth : nullptr);
  if (o.demo) r.frames = demo_frames;
  vbatch::io::write_file_atomically(o.out, r.text.data(), r.text.size());

  if (!o.quiet) {
    fmt::print("{}: {} frames, {} detections -> {} tracks, {} track boxes -> {}\n", source, r.frames, r.detections, r.tracks,
               r.boxes, o.out.string());
    fmt::print("tracking {:.4f} s ({:.0f} frames/s); total {:.3f} s with reading and writing\n", r.track_seconds,
               r.frames / std::max(r.track_seconds, 1e-9), seconds_since(start));
    if (r.switches >= 0) fmt::print("identity switches against the demo's truth: {}\n", r.switches);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"track: link per-frame detections (MOT Challenge format) into tracks with an IoU tracker.", "track"};
  app.footer(
      "Examples:\n"
      "  track MOT15/ETH-Bahnhof/det.txt -o ETH-Bahnhof.txt\n"
      "  track det.txt -o tracks.txt --iou 0.3 --min-hits 3 --max-age 1 --motion velocity\n"
      "  track --demo -o demo_tracks.txt       synthetic moving boxes, scored against their truth\n"
      "Input lines: frame,id,x,y,w,h,score[,...] (id ignored). Output lines: frame,track_id,x,y,w,h,score,-1,-1,-1,\n"
      "the tracked detection's own box and score, for confirmed tracks in the frames they were detected.\n"
      "Exit status: 0 done; 1 an input or output problem; 2 a bad command line.");
  app.set_version_flag("--version", std::string("track (vbatch) ") + vbatch::version_string);

  auto* input = app.add_option("input", o.input, "Detections in MOT Challenge text format");
  app.add_option("-o,--output", o.out, "Output file (tracks, MOT format); written atomically")->required();
  app.add_flag("--demo", o.demo, "Track 300 frames of synthetic moving boxes instead of a file")->excludes(input);
  app.add_option("--iou", o.iou, "Least IoU between a track and a detection to link them, in (0, 1]")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  app.add_option("--min-hits", o.min_hits, "Consecutive detections that confirm a track")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--max-age", o.max_age, "Frames a track may miss in a row and still continue")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--motion", o.motion, "Motion model: none (last box) or velocity (constant centre velocity)")
      ->check(CLI::IsMember({"none", "velocity"}))
      ->capture_default_str();
  app.add_option("--assign", o.assign, "Association: optimal (Hungarian-style) or greedy (by IoU)")
      ->check(CLI::IsMember({"optimal", "greedy"}))
      ->capture_default_str();
  app.add_option("--min-score", o.min_score, "Ignore detections scoring less");
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  return vbatch_tools::run_reporting("track", "out of memory", [&] {
    if (!(o.iou > 0.0f)) usage("--iou {}: must be in (0, 1]", o.iou);
    if (std::isnan(o.min_score)) usage("--min-score: not a number");
    return run(o);
  });
}
