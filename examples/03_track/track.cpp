// track: link per-frame detections into tracks (IoU tracker, SORT's Kalman filter, ByteTrack's
// two-stage association), score them against ground truth, export the best frames of each track.
//
//   track MOT15/ETH-Bahnhof/det.txt -o ETH-Bahnhof.txt                 # MOT detections -> MOT tracks
//   track det.txt -o tracks.txt --iou 0.3 --min-hits 3 --max-age 1 --motion velocity
//   track det.txt -o tracks.txt --preset sort --eval gt.txt --report report.json   # SORT, scored
//   track det.txt -o tracks.txt --preset sort --byte --high 0.6 --low 0.1          # + ByteTrack
//   track det.txt -o tracks.txt --top 5 --top-by area --top-out best.csv --summary tracks.json
//   track MOT15/*/det.txt -o out/ --preset sort --threads 2           # many sequences: out/<SEQ>.txt
//   track --demo -o demo_tracks.txt                                    # synthetic moving boxes
//
// Reads detections in the MOT Challenge text format (frame,id,x,y,w,h,score,...; id is ignored),
// tracks them frame by frame, and writes one line per tracked box in the same format: frame, track
// id, x,y,w,h and score, -1,-1,-1 — the detection's own box, or with SORT's lifecycle (--preset
// sort/byte) the Kalman filter's box, as SORT writes. Every input line is checked before any
// tracking, so a malformed file fails with its line number and costs no work; outputs are written
// at the end through a temporary file and a rename, so a failed run leaves no file behind.
// Several inputs (files, or directories holding det.txt or det/det.txt) are independent
// sequences, tracked in parallel with --threads; -o is then a directory, and the results do not
// depend on the thread count. Of several sequences, one that cannot be read (a malformed line), scored
// or written is skipped and listed in DIR/failures.json (--on-error skip, the default; exit status
// 3), or ends the run before anything is written (--on-error stop). With one input the run is that
// sequence, and its failure the run's (exit status 1): there is nothing to skip to, and a
// failures.json beside the output file would be shared by every run writing into that directory.
// --shard i/n takes a contiguous part of the sequences, balanced by their detection lines.
//
// Exit status: 0 done, 1 an input or output problem (or more failures than --max-failures), 2 a
// bad command line, 3 done but with failed sequences (DIR/failures.json).

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "vbatch/boxes/mot.hpp"
#include "vbatch/boxes/mot_metrics.hpp"
#include "vbatch/boxes/synthetic.hpp"
#include "vbatch/boxes/tracker.hpp"
#include "vbatch/io/image_io.hpp"

#include "../common/tool.hpp"

namespace {

namespace fs = std::filesystem;
namespace boxes = vbatch::boxes;
using vbatch_tools::clock_type;
using vbatch_tools::fail;
using vbatch_tools::seconds_since;
using vbatch_tools::usage;
using vbatch_tools::usage_error;

struct options {
  std::vector<std::string> inputs;
  fs::path out;
  bool demo = false, quiet = false, byte = false;
  float iou = 0.3f, min_score = -std::numeric_limits<float>::infinity();
  int min_hits = 3, max_age = 1;
  std::string motion = "none", assign = "optimal", preset, association = "single";
  float high = 0.5f, low = 0.1f, low_iou = 0.5f;
  std::string eval;
  fs::path report, summary, top_out;
  int top = 0, threads = 1;
  std::string top_by = "score";
  vbatch_tools::failure_options failures;
  std::string shard;  // "i/n" or "auto": this job's part of the sequences
  // Which options the command line gave (they override a preset).
  bool given_iou = false, given_min_hits = false, given_max_age = false, given_motion = false, given_high = false,
       given_low = false, given_low_iou = false;
};

boxes::tracker_options tracker_options_of(const options& o) {
  boxes::tracker_options t;
  if (!o.preset.empty()) {
    if (auto s = boxes::tracker_preset(o.preset, t); !s) usage("--preset: {}", s.message);
  } else {
    t.iou_threshold = o.iou, t.min_hits = o.min_hits, t.max_age = o.max_age;
  }
  if (o.given_iou) t.iou_threshold = o.iou;
  if (o.given_min_hits) t.min_hits = o.min_hits;
  if (o.given_max_age) t.max_age = o.max_age;
  if (o.given_motion || o.preset.empty())
    t.motion = o.motion == "velocity" ? boxes::motion_model::constant_velocity
               : o.motion == "kalman" ? boxes::motion_model::kalman
                                      : boxes::motion_model::none;
  t.greedy = o.assign == "greedy";
  if (o.byte || o.association == "byte") t.association = boxes::association_policy::two_stage;
  if (o.given_high) t.high_score = o.high;
  if (o.given_low) t.low_score = o.low;
  if (o.given_low_iou) t.low_iou_threshold = o.low_iou;
  t.keep_history = o.top > 0 || !o.summary.empty();
  if (auto s = boxes::can_make_tracker(t); !s) usage("{}", s.message);
  return t;
}

// The output must be a file in an existing, writable directory; checked before any work.
void check_output(const fs::path& out) {
  std::error_code ec;
  if (fs::is_directory(out, ec)) fail("{}: is a directory; give the output file's name", out.string());
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) fail("{}: the directory {} does not exist", out.string(), dir.string());
  if (::access(dir.c_str(), W_OK) != 0) fail("{}: the directory {} is not writable", out.string(), dir.string());
}

struct sequence {
  std::string name, source;  // name: the output's stem (a det.txt's sequence folder); source: the input
  fs::path out;
  std::vector<boxes::mot_record> records;  // sorted by frame (stable)
  std::vector<int> truth;                  // the demo's object of each record
  std::vector<boxes::mot_record> gt;       // ground truth (--eval)
  std::string gt_source;
};

struct result {
  int frames = 0, detections = 0, tracks = 0, boxes = 0, switches = -1;
  double track_seconds = 0;
  std::string text;
  std::vector<boxes::mot_record> output;  // what `text` holds (for --eval)
  std::vector<boxes::track> finished;     // with their history (--top, --summary)
  std::map<int, int> reported;            // id -> boxes reported
  std::optional<boxes::mot_metrics> metrics;
};

// Tracks records already sorted by frame (stable: file order within a frame); counts each frame
// in `frames_done` (the progress line's).
result track_records(const sequence& q, const options& o, std::atomic<std::uint64_t>& frames_done) {
  const boxes::tracker_options options = tracker_options_of(o);
  boxes::iou_tracker tracker(options);
  const bool filter_boxes = options.lifecycle == boxes::track_lifecycle::sort;
  const std::vector<boxes::mot_record>& records = q.records;
  result r;
  boxes::identity_switch_counter switches;
  std::vector<boxes::box_xyxy> frame_boxes;
  std::vector<float> scores;
  std::vector<std::size_t> source;  // record of each box of the frame
  const auto t0 = clock_type::now();
  // SORT counts frames from 1 (its warm-up shows every track in the first min_hits frames).
  if (filter_boxes && !records.empty() && records.front().frame > 1) tracker.update(1, {}, {});
  for (std::size_t first = 0; first < records.size();) {
    const int frame = records[first].frame;
    frame_boxes.clear(), scores.clear(), source.clear();
    std::size_t last = first;
    for (; last < records.size() && records[last].frame == frame; ++last) {
      if (!(records[last].score >= o.min_score)) continue;
      frame_boxes.push_back(boxes::to_xyxy(records[last].box));
      scores.push_back(records[last].score);
      source.push_back(last);
    }
    for (const boxes::tracked_box& t : tracker.update(frame, frame_boxes, scores)) {
      const boxes::mot_record& d = records[source[t.detection]];
      boxes::mot_record line{frame, t.id, filter_boxes ? boxes::to_xywh(t.box) : d.box, d.score, 0};
      line.exact = {line.box.x, line.box.y, line.box.w, line.box.h};
      boxes::append_mot_line(r.text, frame, t.id, line.box, line.score);  // the detection's own numbers, or SORT's box
      r.output.push_back(line);
      if (!q.truth.empty()) switches.add(q.truth[source[t.detection]], t.id);
      ++r.reported[t.id];
      ++r.boxes;
    }
    r.detections += static_cast<int>(frame_boxes.size());
    first = last;
    frames_done.fetch_add(1, std::memory_order_relaxed);
  }
  tracker.finish();
  r.track_seconds = seconds_since(t0);
  r.finished = tracker.take_finished();
  if (!records.empty()) r.frames = records.back().frame - records.front().frame + 1;
  r.tracks = static_cast<int>(r.reported.size());
  if (!q.truth.empty()) r.switches = switches.switches();
  if (!q.gt_source.empty()) r.metrics = boxes::evaluate_mot(q.gt, r.output);
  return r;
}

std::vector<boxes::mot_record> sorted_by_frame(std::vector<boxes::mot_record> records, std::vector<int>* truth = nullptr) {
  std::vector<std::size_t> order(records.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return records[a].frame < records[b].frame; });
  std::vector<boxes::mot_record> sorted;
  std::vector<int> sorted_truth;
  sorted.reserve(records.size());
  for (const std::size_t k : order) {
    sorted.push_back(records[k]);
    if (truth) sorted_truth.push_back((*truth)[k]);
  }
  if (truth) *truth = std::move(sorted_truth);
  return sorted;
}

// An input: a detections file, or a directory holding det.txt or det/det.txt (MOT layout); the
// sequence's name is the folder of a det.txt, else the file's stem.
std::pair<fs::path, std::string> locate_input(const fs::path& input) {
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    for (const fs::path& candidate : {input / "det.txt", input / "det" / "det.txt"})
      if (fs::is_regular_file(candidate, ec))
        return {candidate, input.filename().empty() ? input.parent_path().filename().string() : input.filename().string()};
    fail("{}: is a directory without det.txt or det/det.txt", input.string());
  }
  if (input.filename() == "det.txt") {
    fs::path folder = input.parent_path();
    if (folder.filename() == "det") folder = folder.parent_path();
    if (!folder.filename().empty()) return {input, folder.filename().string()};
  }
  return {input, input.stem().string()};
}

// Ground truth of a sequence: the --eval file itself (one input), or in the --eval directory
// <NAME>/gt/gt.txt, <NAME>/gt.txt, <NAME>.gt.txt or <NAME>.txt.
fs::path locate_truth(const fs::path& eval, const std::string& name, bool many) {
  std::error_code ec;
  if (!many && !fs::is_directory(eval, ec)) return eval;
  if (!fs::is_directory(eval, ec)) fail("--eval {}: with several inputs, give a directory of ground truth", eval.string());
  for (const fs::path& candidate :
       {eval / name / "gt" / "gt.txt", eval / name / "gt.txt", eval / (name + ".gt.txt"), eval / (name + ".txt")})
    if (fs::is_regular_file(candidate, ec)) return candidate;
  fail("--eval {}: no ground truth for {} ({}/gt/gt.txt, {}/gt.txt, {}.gt.txt or {}.txt)", eval.string(), name, name, name, name,
       name);
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    else
      out += c;
  }
  return out + '"';
}
std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

bool is_json(const fs::path& p) { return p.extension() == ".json"; }

// Per-track summaries: id, frames, detections taken, boxes reported, mean and best score.
std::string summaries(const std::vector<std::pair<const sequence*, const result*>>& runs, bool json) {
  std::string out = json ? "[\n" : "sequence,id,first_frame,last_frame,detections,reported,mean_score,best_score,best_frame\n";
  bool first = true;
  for (const auto& [q, r] : runs)
    for (const boxes::track& t : r->finished) {
      double sum = 0;
      const boxes::track_observation* best = nullptr;
      for (const boxes::track_observation& h : t.history) {
        sum += h.score;
        if (!best || h.score > best->score) best = &h;
      }
      const double mean = t.history.empty() ? 0.0 : sum / double(t.history.size());
      const int reported = r->reported.count(t.id) ? r->reported.at(t.id) : 0;
      if (json) {
        out += fmt::format(
            "{}  {{\"sequence\": {}, \"id\": {}, \"first_frame\": {}, \"last_frame\": {}, \"detections\": {}, "
            "\"reported\": {}, \"mean_score\": {}, \"best_score\": {}, \"best_frame\": {}}}",
            first ? "" : ",\n", json_string(q->name), t.id, t.first_frame, t.last_frame, t.hits, reported, json_number(mean),
            best ? json_number(best->score) : "null", best ? best->frame : 0);
      } else {
        out += fmt::format("{},{},{},{},{},{},{},{},{}\n", q->name, t.id, t.first_frame, t.last_frame, t.hits, reported, mean,
                           best ? best->score : 0.0f, best ? best->frame : 0);
      }
      first = false;
    }
  return json ? out + "\n]\n" : out;
}

// The best `top` observations of every track, by score or by box area.
std::string top_observations(const std::vector<std::pair<const sequence*, const result*>>& runs, const options& o, bool json) {
  std::string out = json ? "[\n" : "sequence,id,rank,frame,x,y,w,h,score,area\n";
  bool first = true;
  const auto by_area = [](const boxes::track_observation& h) { return boxes::area(h.box); };
  for (const auto& [q, r] : runs)
    for (const boxes::track& t : r->finished) {
      const std::vector<boxes::track_observation> best =
          o.top_by == "area" ? boxes::best_observations(t, o.top, by_area) : boxes::best_observations(t, o.top);
      for (std::size_t k = 0; k < best.size(); ++k) {
        const boxes::box_xywh b = boxes::to_xywh(best[k].box);
        const float a = boxes::area(best[k].box);
        if (json)
          out += fmt::format(
              "{}  {{\"sequence\": {}, \"id\": {}, \"rank\": {}, \"frame\": {}, \"x\": {}, \"y\": {}, \"w\": {}, "
              "\"h\": {}, \"score\": {}, \"area\": {}}}",
              first ? "" : ",\n", json_string(q->name), t.id, k + 1, best[k].frame, b.x, b.y, b.w, b.h,
              json_number(best[k].score), a);
        else
          out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", q->name, t.id, k + 1, best[k].frame, b.x, b.y, b.w, b.h,
                             best[k].score, a);
        first = false;
      }
    }
  return json ? out + "\n]\n" : out;
}

nlohmann::json metrics_json(const boxes::mot_metrics& m, const std::string& gt) {
  return {{"gt", gt},
          {"mota", m.mota},
          {"motp", m.motp},
          {"idf1", m.idf1},
          {"idp", m.idp},
          {"idr", m.idr},
          {"switches", m.switches},
          {"misses", m.misses},
          {"false_positives", m.false_positives},
          {"fragmentations", m.fragmentations},
          {"matches", m.matches},
          {"objects", m.objects},
          {"predictions", m.predictions},
          {"frames", m.frames},
          {"mostly_tracked", m.mostly_tracked},
          {"partially_tracked", m.partially_tracked},
          {"mostly_lost", m.mostly_lost}};
}

void check_side_output(const fs::path& p, const char* flag) {
  if (p.empty()) return;
  check_output(p);
  const std::string ext = p.extension().string();
  if (ext != ".csv" && ext != ".json") usage("{} {}: the file must end in .csv or .json", flag, p.string());
}

// The --report: the run and its failures (as every tool's report has them), the preset, and per
// sequence its counts, speed and --eval scores.
nlohmann::json track_report(const vbatch_tools::run_summary& summary, const std::vector<vbatch_tools::item_failure>& failures,
                            const std::string& preset, const std::vector<std::pair<const sequence*, const result*>>& runs) {
  nlohmann::json report = vbatch_tools::report_json(summary, failures);
  report["tool"] = "track";
  report["preset"] = preset;
  report["sequences"] = nlohmann::json::array();
  for (const auto& [q, r] : runs) {
    nlohmann::json s = {{"input", q->source},
                        {"output", q->out.string()},
                        {"frames", r->frames},
                        {"detections", r->detections},
                        {"tracks", r->tracks},
                        {"boxes", r->boxes},
                        {"track_seconds", r->track_seconds},
                        {"frames_per_second", r->frames / std::max(r->track_seconds, 1e-9)}};
    if (r->metrics) s["eval"] = metrics_json(*r->metrics, q->gt_source);
    report["sequences"].push_back(std::move(s));
  }
  report["total_seconds"] = summary.seconds;
  return report;
}

// An input's detection lines (newlines), its cost for --shard: read without parsing, so that a
// malformed file costs what it weighs and is reported by the one shard that takes it.
std::uint64_t detection_lines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint64_t lines = 1;
  for (std::istreambuf_iterator<char> it(in), end; it != end; ++it) lines += *it == '\n';
  return lines;
}

// The distinct frames of records sorted by frame: the progress line's count.
std::uint64_t distinct_frames(const std::vector<boxes::mot_record>& records) {
  std::uint64_t frames = 0;
  for (std::size_t k = 0; k < records.size(); ++k) frames += k == 0 || records[k].frame != records[k - 1].frame;
  return frames;
}

struct input {
  fs::path path;      // the detections file
  std::string name;   // the sequence
  std::string given;  // as on the command line
};

int run(const options& o) {
  const auto start = clock_type::now();
  if (o.inputs.empty() && !o.demo) usage("no input: give a MOT detections file (frame,id,x,y,w,h,score,...), or --demo");
  if (o.top > 0 && o.top_out.empty()) usage("--top {}: give --top-out FILE.csv or FILE.json", o.top);
  if (o.top == 0 && !o.top_out.empty()) usage("--top-out: give --top N (N > 0)");
  tracker_options_of(o);  // a bad combination is a usage error before any work
  const std::optional<vbatch::batch::shard> shard = vbatch_tools::parse_shard_option(o.shard);
  if (shard && o.demo) usage("--demo is one sequence: --shard does not apply");
  // Several inputs write DIR/<SEQUENCE>.txt, and a sequence that fails is one item of several;
  // with one input the run is that sequence, and its failure the run's (exit status 1).
  const bool many = o.inputs.size() > 1;
  if (many) {
    vbatch_tools::check_output_dir(o.out, "track");
  } else {
    check_output(o.out);
  }
  check_side_output(o.summary, "--summary");
  check_side_output(o.top_out, "--top-out");
  if (!o.report.empty()) {
    check_output(o.report);
    if (!is_json(o.report)) usage("--report {}: the file must end in .json", o.report.string());
  }

  // The inputs, every one located, existing and named apart before any work (in every shard alike).
  std::vector<input> inputs;
  std::map<std::string, std::string> names;  // name -> input, to refuse two sequences writing one file
  for (const std::string& given : o.inputs) {
    auto [path, name] = locate_input(given);
    std::error_code ec;
    if (!fs::exists(path, ec)) fail("{}: cannot open: no such file or directory", path.string());
    if (many && !names.emplace(name, given).second)
      fail("{} and {}: both are sequence {} (one output {})", names[name], given, name, (o.out / (name + ".txt")).string());
    inputs.push_back({path, name, given});
  }
  inputs = vbatch_tools::take_shard(std::move(inputs), shard, [](const input& i) { return detection_lines(i.path); });
  vbatch_tools::run_summary summary;
  summary.tool = "track", summary.unit = "sequences", summary.shard = shard;
  if (shard && inputs.empty()) {
    vbatch_tools::say_empty_shard(o.quiet, "track", *shard, "sequences to track");
    summary.seconds = seconds_since(start);
    if (!o.report.empty()) vbatch_tools::write_report(o.report, track_report(summary, {}, o.preset, {}));
    return 0;
  }

  // --on-error skip (several inputs): a sequence that cannot be read, tracked or written is listed
  // and left out; the others' outputs are as in a run without it.
  vbatch::pipeline::failure_limit limit(o.failures.limit(std::max<std::size_t>(inputs.size(), 1)));
  std::vector<vbatch_tools::item_failure> failures;
  const auto attempt = [&](const std::string& file, const char* stage, auto&& body) {
    try {
      body();
      return true;
    } catch (const std::exception& e) {
      if (!many || !o.failures.skip()) throw;
      failures.push_back({file, stage, e.what()});
      limit.add();
      return false;
    }
  };

  constexpr int demo_frames = 300;
  std::vector<sequence> sequences;
  auto t0 = clock_type::now();
  if (o.demo) {
    // 300 frames of 20 objects crossing, appearing and disappearing, with misses and false positives.
    sequence q;
    const boxes::synthetic_scene scene = boxes::make_synthetic_scene({.frames = demo_frames});
    for (std::size_t f = 0; f < scene.frames.size(); ++f)
      for (const boxes::synthetic_detection& d : scene.frames[f]) {
        q.records.push_back({static_cast<int>(f) + 1, -1, boxes::to_xywh(d.box), d.score, 0});
        q.truth.push_back(d.truth);
      }
    q.records = sorted_by_frame(std::move(q.records), &q.truth);
    q.name = q.source = "demo";
    q.out = o.out;
    sequences.push_back(std::move(q));
  } else {
    for (const input& i : inputs) {
      if (limit.exceeded()) break;  // failing wholesale: no more inputs are read
      sequence q;
      q.name = i.name, q.source = i.path.string();
      q.out = many ? o.out / (i.name + ".txt") : o.out;
      const bool read = attempt(q.source, "read", [&] { q.records = sorted_by_frame(boxes::read_mot_file(i.path)); });
      if (read && !o.eval.empty() && !attempt(q.source, "eval", [&] {
            const fs::path gt = locate_truth(o.eval, i.name, many);
            q.gt = boxes::read_mot_file(gt);
            q.gt_source = gt.string();
          }))
        continue;
      if (read) sequences.push_back(std::move(q));
    }
  }
  summary.stage_seconds["read"] = seconds_since(t0);

  // Sequences are independent: each worker takes the next one; results land in input order. The
  // main thread draws the progress line, per frame over all sequences.
  std::uint64_t total_frames = 0;
  for (const sequence& q : sequences) total_frames += distinct_frames(q.records);
  std::vector<result> results(sequences.size());
  std::vector<std::string> errors(sequences.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> frames_done{0};
  std::size_t finished = 0;
  std::mutex mutex;
  std::condition_variable sequence_done;
  const auto work = [&] {
    for (std::size_t k; (k = next++) < sequences.size();) {
      try {
        results[k] = track_records(sequences[k], o, frames_done);
      } catch (const std::exception& e) {
        errors[k] = e.what();
      }
      const std::lock_guard lock(mutex);
      ++finished;
      sequence_done.notify_one();
    }
  };
  const int workers = std::max(1, std::min<int>(o.threads, static_cast<int>(sequences.size())));
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) pool.emplace_back(work);
  {
    vbatch_tools::progress_line bar(o.quiet || total_frames == 0, "frames", total_frames);
    std::unique_lock lock(mutex);
    while (!sequence_done.wait_for(lock, std::chrono::milliseconds(250), [&] { return finished == sequences.size(); }))
      bar.update(frames_done.load());
    bar.update(frames_done.load(), fmt::format("{} sequences", sequences.size()));
  }
  for (std::thread& t : pool) t.join();

  // Under stop, and with one input, a sequence that failed ends the run before anything is written.
  for (std::size_t k = 0; k < sequences.size(); ++k)
    if (!errors[k].empty()) attempt(sequences[k].source, "track", [&] { fail("{}: {}", sequences[k].source, errors[k]); });
  std::vector<std::pair<const sequence*, const result*>> runs;
  t0 = clock_type::now();
  double track_seconds = 0;
  for (std::size_t k = 0; k < sequences.size(); ++k) {
    if (!errors[k].empty()) continue;
    if (o.demo) results[k].frames = demo_frames;
    if (!attempt(sequences[k].out.string(), "write",
                 [&] { vbatch::io::write_file_atomically(sequences[k].out, results[k].text.data(), results[k].text.size()); }))
      continue;
    runs.push_back({&sequences[k], &results[k]});
    track_seconds += results[k].track_seconds;
    ++summary.outputs;
  }
  if (!o.summary.empty()) {
    const std::string text = summaries(runs, is_json(o.summary));
    vbatch::io::write_file_atomically(o.summary, text.data(), text.size());
    ++summary.outputs;
  }
  if (o.top > 0) {
    const std::string text = top_observations(runs, o, is_json(o.top_out));
    vbatch::io::write_file_atomically(o.top_out, text.data(), text.size());
    ++summary.outputs;
  }
  summary.stage_seconds["track"] = track_seconds;
  summary.stage_seconds["write"] = seconds_since(t0);

  std::uint64_t frames = 0, tracks = 0;
  for (const auto& [q, r] : runs) frames += std::uint64_t(r->frames), tracks += std::uint64_t(r->tracks);
  if (!o.report.empty()) {
    summary.items = o.demo ? 1 : inputs.size();
    summary.failed = failures.size();
    summary.seconds = seconds_since(start);
    vbatch_tools::write_report(o.report, track_report(summary, failures, o.preset, runs));
  }

  if (!o.quiet) {
    for (const auto& [q, r] : runs) {
      fmt::print("{}: {} frames, {} detections -> {} tracks, {} track boxes -> {}\n", q->source, r->frames, r->detections,
                 r->tracks, r->boxes, q->out.string());
      fmt::print("tracking {:.4f} s ({:.0f} frames/s)\n", r->track_seconds, r->frames / std::max(r->track_seconds, 1e-9));
      if (r->switches >= 0) fmt::print("identity switches against the demo's truth: {}\n", r->switches);
      if (r->metrics) {
        const boxes::mot_metrics& m = *r->metrics;
        fmt::print(
            "against {}: MOTA {:.4f}  IDF1 {:.4f}  MOTP {:.4f}  switches {}  misses {}  false positives {}  fragmentations {}\n",
            q->gt_source, m.mota, m.idf1, m.motp, m.switches, m.misses, m.false_positives, m.fragmentations);
      }
    }
    fmt::print("total: {} sequences{}, {} frames, {} tracks in {:.3f} s with reading and writing\n", runs.size(),
               failures.empty() ? "" : fmt::format(" ({} failed)", failures.size()), frames, tracks, seconds_since(start));
  }
  return many ? vbatch_tools::finish_run("track", o.out, std::move(failures), limit.exceeded(), limit.max(), o.quiet) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"track: link per-frame detections (MOT Challenge format) into tracks; score them against ground truth.", "track"};
  app.footer(
      "Examples:\n"
      "  track MOT15/ETH-Bahnhof/det.txt -o ETH-Bahnhof.txt\n"
      "  track det.txt -o tracks.txt --iou 0.3 --min-hits 3 --max-age 1 --motion velocity\n"
      "  track det.txt -o tracks.txt --preset sort --eval gt.txt --report report.json\n"
      "  track det.txt -o tracks.txt --preset sort --byte --high 0.6\n"
      "  track det.txt -o tracks.txt --top 5 --top-by area --top-out best.csv --summary tracks.csv\n"
      "  track MOT15/*/det.txt -o out/ --preset sort --eval gt_dir/ --threads 2\n"
      "  track --demo -o demo_tracks.txt       synthetic moving boxes, scored against their truth\n"
      "Presets: iou (vbatch's lifecycle), velocity, kalman (SORT's filter, vbatch's lifecycle), sort (SORT as\n"
      "published: filter, lifecycle, association), byte (sort + ByteTrack's two-stage association).\n"
      "Explicit --iou/--min-hits/--max-age/--motion/--high/--low override a preset.\n"
      "Input lines: frame,id,x,y,w,h,score[,...] (id ignored). Output lines: frame,track_id,x,y,w,h,score,-1,-1,-1:\n"
      "the tracked detection's own box (SORT's lifecycle: the Kalman filter's box) and its score.\n"
      "Failures: with several inputs and --on-error skip (the default), a sequence that cannot be read (a\n"
      "malformed line, named with its file and line), scored or written is skipped and listed in\n"
      "DIR/failures.json; every other sequence is written. With one input (-o FILE) the run is that sequence:\n"
      "its failure ends the run (exit status 1) and no failures.json is written.\n"
      "--shard i/n: this job's part of the sequences (balanced by detection lines), into the shared -o DIR.\n"
      "Exit status: 0 done; 1 an input or output problem, or more failures than --max-failures; 2 a bad\n"
      "command line; 3 done, but some sequences failed (DIR/failures.json).");
  app.set_version_flag("--version", std::string("track (vbatch) ") + vbatch::version_string);

  auto* input = app.add_option("inputs", o.inputs, "Detections in MOT Challenge text format (files, or folders with det.txt)");
  app.add_option("-o,--output", o.out, "Output file (tracks, MOT format; written atomically), or folder for several inputs")
      ->required();
  app.add_flag("--demo", o.demo, "Track 300 frames of synthetic moving boxes instead of a file")->excludes(input);
  app.add_option("--preset", o.preset, "Tracker preset: iou, velocity, kalman, sort or byte")
      ->check(CLI::IsMember({"iou", "velocity", "kalman", "sort", "byte"}));
  auto* iou = app.add_option("--iou", o.iou, "Least IoU between a track and a detection to link them, in (0, 1]")
                  ->check(CLI::Range(0.0f, 1.0f))
                  ->capture_default_str();
  auto* hits = app.add_option("--min-hits", o.min_hits, "Consecutive detections that confirm a track")
                   ->check(CLI::Range(0, 1000000))
                   ->capture_default_str();
  auto* age = app.add_option("--max-age", o.max_age, "Frames a track may miss in a row and still continue")
                  ->check(CLI::Range(0, 1000000))
                  ->capture_default_str();
  auto* motion = app.add_option("--motion", o.motion,
                                "Motion model: none (last box), velocity (constant centre velocity) or kalman (SORT's filter)")
                     ->check(CLI::IsMember({"none", "velocity", "kalman"}))
                     ->capture_default_str();
  app.add_option("--assign", o.assign, "Association: optimal (Hungarian-style) or greedy (by IoU)")
      ->check(CLI::IsMember({"optimal", "greedy"}))
      ->capture_default_str();
  app.add_option("--association", o.association, "single, or byte (ByteTrack: high-score detections first, then low-score ones)")
      ->check(CLI::IsMember({"single", "byte"}))
      ->capture_default_str();
  app.add_flag("--byte", o.byte, "Same as --association byte");
  auto* high = app.add_option("--high", o.high, "byte: detections scoring at least this go first and may start tracks")
                   ->capture_default_str();
  auto* low = app.add_option("--low", o.low, "byte: detections from this score up to --high only keep tracks alive")
                  ->capture_default_str();
  auto* low_iou = app.add_option("--low-iou", o.low_iou, "byte: IoU gate of the second stage, in (0, 1]")->capture_default_str();
  app.add_option("--min-score", o.min_score, "Ignore detections scoring less");
  app.add_option("--eval", o.eval, "Ground truth (MOT format) to score the tracks against (a folder for several inputs)");
  vbatch_tools::add_report_option(app, o.report);  // + per sequence its counts, speed and --eval scores
  app.add_option("--summary", o.summary, "Write per-track summaries (.csv or .json)");
  app.add_option("--top", o.top, "Export the N best observations of each track (with --top-out)")->check(CLI::Range(0, 1000000));
  app.add_option("--top-by", o.top_by, "Rank observations by detection score or box area")
      ->check(CLI::IsMember({"score", "area"}))
      ->capture_default_str();
  app.add_option("--top-out", o.top_out, "File for --top (.csv or .json)");
  app.add_option("--threads", o.threads, "Sequences tracked at once (results do not depend on it)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  vbatch_tools::add_failure_options(app, o.failures);
  vbatch_tools::add_shard_option(app, o.shard, "sequences");
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors (and no progress line)");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  o.given_iou = iou->count() > 0, o.given_min_hits = hits->count() > 0, o.given_max_age = age->count() > 0;
  o.given_motion = motion->count() > 0, o.given_high = high->count() > 0, o.given_low = low->count() > 0;
  o.given_low_iou = low_iou->count() > 0;
  return vbatch_tools::run_reporting("track", "out of memory", [&] {
    if (!(o.iou > 0.0f)) usage("--iou {}: must be in (0, 1]", o.iou);
    if (std::isnan(o.min_score)) usage("--min-score: not a number");
    return run(o);
  });
}
