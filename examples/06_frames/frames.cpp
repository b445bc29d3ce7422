// frames: extract the frames named in a request list from a video (or an image sequence) in one pass.
//
//   frames clip.mp4 --requests list.txt -o out/          # list.txt: "FRAME [NAME]" per line
//   frames clip.mp4 --frame 900 --frame 12 -o out/       # out/frame_000012.jpg, out/frame_000900.jpg
//   frames frames_dir/ --requests picks.csv -o out/      # a directory of .jpg/.png: frame i = i-th file
//   frames clip.mp4 --every 25 -o out/ --format png      # frames 0, 25, 50, ... to the end
//   frames --demo -o demo_frames/                        # a generated clip, a few scattered frames
//
// Requests come in any order and may repeat; the access planner (vbatch::io::frame_plan) sorts them,
// reads each distinct frame once in a single sequential pass (ffmpeg piping raw frames, or the
// files of a directory in natural order) and skips the frames nobody asked for (for a video,
// ffmpeg's select filter drops them before they are converted and piped). A frame asked for
// under several names is decoded once and written under each. Files are written by the
// asynchronous writer (vbatch::pipeline::image_writer), atomically: never a partial file under a final name.
//
// Everything that can be checked before decoding is: the request lists (a malformed line names
// its file and line), the output names (no two frames under one name), the output directory, the
// input. Out-of-range frames cannot be checked first for a video (its length is known once it has
// been read), so for every source alike the frames that exist are written and then all the
// missing ones are reported together, with the source's frame count, and the exit status is 1.
//
// A frame that fails (a corrupt image in a sequence, a video whose decoder fails mid-way: that
// frame and every later one, a write that fails) is skipped and listed in DIR/failures.json under
// --on-error skip (the default; exit status 3), or ends the pass under --on-error stop. --shard
// i/n takes a contiguous part of the distinct requested frames (an image sequence's balanced by
// pixels), each frame with all its names, so that jobs sharing one output directory never write
// one file twice. --report FILE.json gives the run's counts, failures and stage times.
//
// Exit status: 0 done, 1 an input or output problem (including out-of-range frames, or more
// failures than --max-failures), 2 a bad command line, 3 done but with failed frames
// (failures.json).

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/planner.hpp"
#include "vbatch/pipeline/writer.hpp"

#include "../common/tool.hpp"

namespace {

namespace fs = std::filesystem;
using vbatch_tools::clock_type;
using vbatch_tools::fail;
using vbatch_tools::seconds_since;
using vbatch_tools::usage;

struct options {
  std::string input;
  fs::path out;
  std::vector<std::string> request_files;
  std::vector<std::int64_t> frames;
  std::int64_t every = 0, max_frames = 0;
  std::string format = "jpg";
  int quality = 92, encode_workers = 0;
  bool demo = false, quiet = false, fsync = false;
  vbatch_tools::failure_options failures;
  std::string shard;  // "i/n" or "auto": this job's part of the requested frames
  fs::path report;
};

// ---- requests -----------------------------------------------------------------------------------

struct request {
  std::int64_t frame = 0;
  std::string name;   // output file name, inside the output directory
  std::string where;  // "list.txt:7" or "--frame 12": for messages
};

std::string default_name(std::int64_t frame, std::string_view ext) { return fmt::format("frame_{:06d}.{}", frame, ext); }

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string l(s);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l;
}

// A frame number: a whole number from 0, nothing else in the field.
std::optional<std::int64_t> parse_frame(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// The output name a request asks for: a plain file name (it cannot leave the output directory,
// nor look like the writer's hidden temporaries), .jpg/.jpeg/.png, or no extension (then
// --format's is added). Returns the error, or "" with `name` completed.
std::string check_name(std::string& name, std::string_view ext) {
  if (name == "." || name == ".." || name.find('/') != std::string::npos) return "must be a file name, without '/'";
  if (name.front() == '.') return "must not start with '.' (hidden files)";
  if (name.find('\0') != std::string::npos) return "contains a NUL byte";
  const std::string e = lower(fs::path(name).extension().string());
  if (e.empty())
    name += fmt::format(".{}", ext);
  else if (e != ".jpg" && e != ".jpeg" && e != ".png")
    return fmt::format("has extension '{}' (use .jpg, .jpeg or .png)", e);
  if (name.size() > 255) return "is longer than 255 bytes";
  return "";
}

// Splits a line into fields: at commas if it has any (CSV), else at runs of blanks.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  if (line.find(',') != std::string_view::npos) {
    for (std::size_t first = 0;;) {
      const std::size_t comma = std::min(line.find(',', first), line.size());
      fields.push_back(trim(line.substr(first, comma - first)));
      if (comma == line.size()) break;
      first = comma + 1;
    }
    return fields;
  }
  for (std::size_t i = 0; i < line.size();) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    std::size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) fields.push_back(line.substr(i, j - i));
    i = j;
  }
  return fields;
}

// A request list: one request per line, "FRAME [NAME]" (blank-separated) or "FRAME,NAME" (CSV);
// blank lines and lines starting with '#' are ignored. A first line naming its columns (one of
// them "frame"; "name" optional; others ignored, as in a spreadsheet's export) is a header. Every
// line is checked here, before any decoding; a bad one is an error naming the file and line.
std::vector<request> read_request_file(const std::string& file, std::string_view ext) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) fail("{}: is a directory, not a request list", file);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open the request list: {}", file, std::strerror(errno));
  std::vector<request> requests;
  std::optional<std::size_t> frame_column, name_column;  // set by a header
  bool content_seen = false;
  std::string text;
  for (long line_no = 1; std::getline(in, text); ++line_no) {
    const std::string where = fmt::format("{}:{}", file, line_no);
    if (line_no == 1 && text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // a UTF-8 byte-order mark
    if (text.find('\0') != std::string::npos) fail("{}: a NUL byte: not a text file", where);
    const std::string_view line = trim(text);  // also drops the '\r' of CRLF files
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string_view> fields = split_fields(line);
    if (!content_seen) {
      content_seen = true;
      if (!parse_frame(fields.front())) {  // not a frame number: a header, or a mistake
        for (std::size_t k = 0; k < fields.size(); ++k) {
          const std::string column = lower(fields[k]);
          if (column == "frame" && !frame_column) frame_column = k;
          if (column == "name" && !name_column) name_column = k;
        }
        if (frame_column) continue;
      }
    }
    request r;
    r.where = where;
    std::string_view frame_field, name_field;
    if (frame_column) {
      const std::size_t needed = std::max(*frame_column, name_column.value_or(0)) + 1;
      if (fields.size() < needed) fail("{}: {} fields, the header names {}", where, fields.size(), needed);
      frame_field = fields[*frame_column];
      if (name_column) name_field = fields[*name_column];
    } else {
      if (fields.size() > 2) fail("{}: {} fields; expected FRAME [NAME]", where, fields.size());
      frame_field = fields[0];
      if (fields.size() == 2) name_field = fields[1];
    }
    const std::optional<std::int64_t> frame = parse_frame(frame_field);
    if (!frame) fail("{}: frame '{}' is not a frame number (a whole number from 0)", where, frame_field);
    r.frame = *frame;
    r.name = name_field.empty() ? default_name(r.frame, ext) : std::string(name_field);
    if (const std::string why = check_name(r.name, ext); !why.empty()) fail("{}: name '{}' {}", where, name_field, why);
    requests.push_back(std::move(r));
  }
  if (in.bad()) fail("{}: cannot read the request list: {}", file, std::strerror(errno));
  if (requests.empty()) fail("{}: no requests (expected lines 'FRAME [NAME]')", file);
  return requests;
}

// Requests into a plan. One name for two frames would make one overwrite the other: an error
// naming both requests. The same frame under the same name twice is one file. Frames at or past
// `cap` (--max-frames, 0: none) are left out of the plan and listed in `capped`.
vbatch::io::frame_plan<std::string> make_plan(const std::vector<request>& requests, std::int64_t cap,
                                              std::vector<std::int64_t>& capped) {
  vbatch::io::frame_plan<std::string> plan;
  std::map<std::string, const request*> by_name;
  for (const request& r : requests) {
    const auto [it, fresh] = by_name.try_emplace(r.name, &r);
    if (!fresh && it->second->frame != r.frame)
      fail("{}: {} is already the name of frame {} ({}); each frame needs its own name", r.where, r.name, it->second->frame,
           it->second->where);
    if (!fresh) continue;
    if (cap > 0 && r.frame >= cap)
      capped.push_back(r.frame);
    else
      plan.add(r.frame, r.name);
  }
  std::sort(capped.begin(), capped.end());
  capped.erase(std::unique(capped.begin(), capped.end()), capped.end());
  return plan;
}

// ---- the pass -----------------------------------------------------------------------------------

// What a pass produced: the planner's counts, the writes, and under --on-error skip the frames
// that failed (not decoded, or a write failed), each listed once per cause.
struct outcome {
  vbatch::io::plan_report plan;
  std::vector<std::int64_t> capped;  // requested frames at or past --max-frames, never read
  vbatch::pipeline::writer_report written;
  std::vector<vbatch_tools::item_failure> failures;
  std::set<std::int64_t> failed_frames;
  bool too_many = false;  // stopped: more failures than --max-failures
  std::size_t max_failures = 0;
  double read_seconds = 0;
};

// Thrown by the pass once more frames failed than --max-failures allows: it ends the pass.
struct too_many_failures {};

// The file a frame comes from, for failures.json: an image sequence's file, or the video.
std::string file_of(const vbatch::io::image_sequence<>& s, std::int64_t frame, const std::string&) {
  return s.file(frame).string();
}
std::string file_of(const vbatch::io::raw_video&, std::int64_t, const std::string& video) { return video; }

// A frame source as the planner sees it. It moves the progress line (skip() goes in steps, so
// that a long gap between requested frames still moves it), and under --on-error skip it turns
// a frame that does not decode into a frame without pixels, the error in failure(), so that the
// pass goes on. A video whose decoder failed cannot go on: every later frame comes out so.
template <class Source>
class guarded {
 public:
  guarded(Source& s, bool skip, vbatch_tools::progress_line& bar, const std::size_t& extracted)
      : source_(s), skip_(skip), bar_(bar), extracted_(extracted) {}
  std::optional<std::int64_t> size() const { return source_.size(); }
  std::int64_t position() const { return broken_at_ ? *broken_at_ : source_.position(); }
  const std::string& failure() const { return failure_; }
  bool broken() const { return broken_at_.has_value(); }

  std::optional<vbatch::io::frame_view> next() {
    show();
    if (broken_at_) return vbatch::io::frame_view{(*broken_at_)++, {}};
    const std::int64_t at = source_.position();
    try {
      return source_.next();
    } catch (const std::exception& e) {
      if (!skip_) throw;
      failure_ = e.what();
      if (source_.skip(1) != 1) broken_at_ = at + 1;
      return vbatch::io::frame_view{at, {}};
    }
  }
  std::int64_t skip(std::int64_t n) {
    const std::int64_t target = position() + n;
    std::int64_t moved = 0;
    while (moved < n && !broken_at_) {
      const std::int64_t step = std::min<std::int64_t>(n - moved, 32);
      try {
        const std::int64_t got = source_.skip(step);
        moved += got;
        show();
        if (got < step) return moved;      // the source ended
      } catch (const std::exception& e) {  // a video's decoder failed while passing frames by
        if (!skip_) throw;
        failure_ = e.what();
        broken_at_ = target;
      }
    }
    if (broken_at_) broken_at_ = target;  // a broken video's frames go by as failed ones
    return n;
  }

 private:
  void show() { bar_.update(std::uint64_t(position()), fmt::format("{} extracted", extracted_)); }

  Source& source_;
  bool skip_;
  vbatch_tools::progress_line& bar_;
  const std::size_t& extracted_;
  std::string failure_;
  std::optional<std::int64_t> broken_at_;  // set when a video's decoder failed: the next frame's index
};

// One pass: its writer, its failures and its progress line; serve() takes each frame the source gives.
template <class Source>
struct pass {
  // `items`: the frames to extract (--max-failures' default is a share of them); `frames_to_pass`:
  // how far into the source the pass goes, for the progress line (0: not known, no line).
  pass(Source& source, const options& o, const std::string& source_name, std::size_t items, std::uint64_t frames_to_pass)
      : source(source),
        o(o),
        source_name(source_name),
        limit(o.failures.limit(items)),
        writer({.workers = o.encode_workers,
                .save = {.jpeg_quality = o.quality, .fsync = o.fsync},
                .policy = o.failures.skip() ? vbatch::pipeline::on_error::skip : vbatch::pipeline::on_error::stop,
                .limit = &limit}),
        bar(o.quiet || frames_to_pass == 0, "frames", frames_to_pass),
        src(source, o.failures.skip(), bar, extracted) {
    r.max_failures = limit.max();
  }

  // Writes frame f under every name, or lists it as failed when it did not decode.
  void serve(const vbatch::io::frame_view& f, std::span<const std::string> names) {
    if (f.pixels.empty()) {
      r.failures.push_back(
          {file_of(source, f.index, source_name), "decode", fmt::format("frame {}: {}", f.index, src.failure())});
      r.failed_frames.insert(f.index);
      ++undecoded;
      if (!limit.add()) throw too_many_failures{};
      return;
    }
    // One copy of the frame (its view is valid only until the next read), shared by every name
    // it is written under: the writer's workers encode from it while the pass reads on.
    const vbatch::batch_view<const vbatch::u8> pixels = f.pixels;  // (1,H,W,C)
    auto copy = std::make_shared<vbatch::batch_buffer<vbatch::u8>>(vbatch::batch_shape{1, pixels.h, pixels.w, pixels.c});
    for (int y = 0; y < pixels.h; ++y)
      std::memcpy(copy->view().pixel(0, y, 0), pixels.pixel(0, y, 0), std::size_t(pixels.w) * pixels.c);
    for (const std::string& name : names) writer.submit(o.out / name, copy->view(), copy, std::nullopt, std::size_t(f.index));
    ++extracted;
  }

  // Runs the pass's body; a pass stopped by too many failures ends here, what was written kept.
  template <class Body>
  outcome run(Body&& body) {
    const auto t0 = clock_type::now();
    try {
      body();
    } catch (const too_many_failures&) {
      r.too_many = true;
    } catch (const std::exception&) {
      if (!limit.exceeded()) throw;  // --on-error stop, or not an item's failure
      r.too_many = true;             // the writer stopped on the limit
    }
    if (r.too_many) r.plan.frames_read = std::int64_t(extracted), r.plan.served = extracted;  // the pass's own counts
    r.read_seconds = seconds_since(t0);
    bar.finish();
    r.written = writer.close();
    r.read_seconds -= r.written.producer_wait_seconds;
    if (o.failures.skip())  // under stop, failed writes are reported as before (exit status 1)
      for (const vbatch::pipeline::write_failure& w : r.written.failures) {
        r.failures.push_back({w.path.string(), "write", w.message});
        r.failed_frames.insert(std::int64_t(w.item));
      }
    r.too_many = r.too_many || limit.exceeded();
    return std::move(r);
  }

  Source& source;
  const options& o;
  const std::string& source_name;
  vbatch::pipeline::failure_limit limit;
  vbatch::pipeline::image_writer<> writer;
  vbatch_tools::progress_line bar;
  std::size_t extracted = 0, undecoded = 0;
  guarded<Source> src;
  outcome r;
};

template <class Source>
outcome extract(Source& source, const vbatch::io::frame_plan<std::string>& plan, std::vector<std::int64_t> capped,
                const options& o, const std::string& source_name) {
  pass<Source> p(source, o, source_name, plan.frames().size(), std::uint64_t(plan.last() + 1));
  p.r.capped = std::move(capped);
  p.r.plan.distinct = plan.frames().size();  // kept if the pass stops early
  return p.run([&] {
    p.r.plan = plan.run(p.src, [&](const vbatch::io::frame_view& f, std::span<const std::string> names) { p.serve(f, names); });
    p.r.plan.frames_read -= std::int64_t(p.undecoded), p.r.plan.served -= p.undecoded;  // served, but without pixels
  });
}

// A video's frame count as its container gives it (duration times frame rate, read by ffprobe),
// for the progress line of --every; 0 when ffprobe cannot say.
std::uint64_t estimated_frames(const std::string& video) {
  vbatch::io::detail::child_process probe({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                           "stream=avg_frame_rate:format=duration", "-of", "default=noprint_wrappers=1",
                                           vbatch::io::detail::ffmpeg_input(video)});
  std::string text(4096, '\0');
  text.resize(probe.read_exactly(text.data(), text.size()));
  if (probe.wait() != 0) return 0;
  double frames = 0, per = 0, seconds = 0;
  const std::size_t rate = text.find("avg_frame_rate="), duration = text.find("duration=");
  if (rate == std::string::npos || duration == std::string::npos ||
      std::sscanf(text.c_str() + rate, "avg_frame_rate=%lf/%lf", &frames, &per) != 2 ||
      std::sscanf(text.c_str() + duration, "duration=%lf", &seconds) != 1 || !(per > 0) || !(frames * seconds > 0))
    return 0;
  return std::uint64_t(std::llround(frames / per * seconds));
}

// --every N on a video (its length unknown until read): frames 0, N, 2N, ... to the end (or
// --max-frames), named by index. A video whose decoder fails ends the pass there.
outcome extract_every(vbatch::io::raw_video& video, const options& o, const std::string& source_name) {
  std::uint64_t length = estimated_frames(o.input);
  if (o.max_frames > 0) length = length > 0 ? std::min(length, std::uint64_t(o.max_frames)) : std::uint64_t(o.max_frames);
  pass<vbatch::io::raw_video> p(video, o, source_name, std::size_t(length / std::uint64_t(o.every)) + 1, length);
  return p.run([&] {
    while (o.max_frames == 0 || p.src.position() < o.max_frames) {
      const std::optional<vbatch::io::frame_view> f = p.src.next();
      if (!f) break;
      const std::string name = default_name(f->index, o.format);
      p.serve(*f, std::span<const std::string>(&name, 1));
      if (p.src.broken()) break;
      ++p.r.plan.frames_read, ++p.r.plan.served;
      const std::int64_t moved = p.src.skip(o.every - 1);
      p.r.plan.frames_skipped += moved;
      if (moved < o.every - 1) break;
    }
    p.r.plan.requests = p.r.plan.distinct = p.r.plan.served + p.r.failed_frames.size();
  });
}

// ---- the demo -----------------------------------------------------------------------------------

// A temporary directory, removed with everything in it when the run ends.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string t = (fs::temp_directory_path() / "frames-demo-XXXXXX").string();
    if (!::mkdtemp(t.data())) fail("cannot create a temporary directory: {}", std::strerror(errno));
    path = t;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// 50 frames of ffmpeg's test pattern (its clock shows the time of each frame), lossless FFV1, so
// the demo needs nothing but ffmpeg itself.
void make_demo_clip(const fs::path& clip) {
  // The library's child process runs ffmpeg from an argument vector (no shell); a missing ffmpeg
  // is an error that says how to install it.
  vbatch::io::detail::child_process ffmpeg({"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                                            "testsrc=size=320x240:rate=25", "-frames:v", "50", "-c:v", "ffv1", clip.string()});
  char buf[4096];
  while (ffmpeg.read_exactly(buf, sizeof buf) > 0) {
  }
  if (ffmpeg.wait() != 0) fail("--demo: ffmpeg could not make the demo clip: {}", ffmpeg.error_text());
}

constexpr std::string_view demo_requests =
    "# frames --demo: scattered, unordered, frame 3 under two names\n"
    "40 late.jpg\n"
    "3\n"
    "17 middle.png\n"
    "3 start.jpg\n"
    "49 last.jpg\n";

// ---- the run ------------------------------------------------------------------------------------

// The requests of shard s: a contiguous part of the distinct requested frames, balanced by
// cost(frame), each frame with all its names (so that no file is written by two shards).
template <class Cost>
std::vector<request> requests_of_shard(const std::vector<request>& requests, vbatch::batch::shard s, Cost&& cost) {
  std::vector<std::int64_t> frames;
  for (const request& r : requests) frames.push_back(r.frame);
  std::sort(frames.begin(), frames.end());
  frames.erase(std::unique(frames.begin(), frames.end()), frames.end());
  const std::vector<std::int64_t> mine = vbatch_tools::take_shard(frames, s, cost);
  std::vector<request> part;
  for (const request& r : requests)
    if (std::binary_search(mine.begin(), mine.end(), r.frame)) part.push_back(r);
  return part;
}

int run(options o) {
  const auto start = clock_type::now();
  if (o.demo && !o.request_files.empty()) usage("--demo makes its own request list; --requests does not apply");
  // The input first, then -o (not CLI11's ->required(), which would name -o first when both are missing).
  if (!o.demo && o.input.empty())
    usage("no input: give a video file or a directory of images, or --demo{}",
          o.out.empty() ? "; and -o DIR for the frames" : "");
  if (o.out.empty()) usage("--output is required: the directory for the frames (-o DIR)");
  if (o.every > 0 && (!o.frames.empty() || !o.request_files.empty() || o.demo))
    usage("--every extracts frames 0, N, 2N, ...; it does not mix with --frame, --requests or --demo");
  if (!o.demo && o.every == 0 && o.frames.empty() && o.request_files.empty())
    usage("nothing to extract: give --requests FILE, --frame N or --every N");
  for (const std::int64_t f : o.frames)
    if (f < 0) usage("--frame {}: frame numbers start at 0", f);
  const std::optional<vbatch::batch::shard> shard = vbatch_tools::parse_shard_option(o.shard);

  std::optional<temp_dir> demo_dir;
  if (o.demo) {
    demo_dir.emplace();
    o.input = (demo_dir->path / "demo.mkv").string();
    make_demo_clip(o.input);
    const fs::path list = demo_dir->path / "requests.txt";
    vbatch::io::write_file_atomically(list, demo_requests.data(), demo_requests.size());
    o.request_files.push_back(list.string());
    if (!o.quiet) fmt::print("demo: a clip of 50 frames of ffmpeg's testsrc (320x240, 25 fps); the requests:\n{}", demo_requests);
  }

  // Every request and name is checked before anything is decoded.
  std::vector<request> requests;
  for (const std::string& file : o.request_files) {
    std::vector<request> more = read_request_file(file, o.format);
    requests.insert(requests.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  for (const std::int64_t f : o.frames) requests.push_back({f, default_name(f, o.format), fmt::format("--frame {}", f)});
  const std::string source_name = o.demo ? "the demo clip" : o.input;  // not its temporary path

  // The source is opened before the output directory is made, so a missing or unreadable input
  // (or a missing ffmpeg) leaves nothing behind.
  std::error_code ec;
  const fs::file_status st = fs::status(o.input, ec);
  if (!fs::exists(st)) fail("{}: no such file or directory", o.input);
  std::optional<vbatch::io::image_sequence<>> sequence;
  if (fs::is_directory(st)) {
    sequence.emplace(vbatch::io::image_sequence<>::from_directory(o.input));
    if (sequence->size() == 0) fail("{}: no .jpg, .jpeg or .png files in this directory", o.input);
  }
  // --every on an image sequence is a list of frames known before the pass: requests like any
  // other (and so shardable). A video's length is known only once it has been read.
  if (o.every > 0 && sequence) {
    const std::int64_t end = o.max_frames > 0 ? std::min(*sequence->size(), o.max_frames) : *sequence->size();
    for (std::int64_t f = 0; f < end; f += o.every)
      requests.push_back({f, default_name(f, o.format), fmt::format("--every {}", o.every)});
  }
  const bool every_video = o.every > 0 && !sequence;
  if (shard && every_video)
    usage(
        "--shard splits a list of frames, and --every on a video has none before the video is read; list the frames "
        "with --requests");
  std::vector<std::int64_t> capped;
  vbatch::io::frame_plan<std::string> plan = make_plan(requests, o.max_frames, capped);  // checks every request's name
  if (shard) {
    // A video's frames cost alike; an image sequence's by their pixels.
    const auto cost = [&](std::int64_t frame) -> std::uint64_t {
      return sequence && frame < *sequence->size() ? vbatch_tools::image_cost(sequence->file(frame)) : 1;
    };
    requests = requests_of_shard(requests, *shard, cost);
    capped.clear();
    plan = make_plan(requests, o.max_frames, capped);
  }
  vbatch_tools::run_summary summary;
  summary.tool = "frames", summary.unit = "frames", summary.shard = shard;
  if (shard && requests.empty()) {
    vbatch_tools::say_empty_shard(o.quiet, "frames", *shard, "frames to extract");
    summary.seconds = seconds_since(start);
    if (!o.report.empty()) vbatch_tools::write_report(o.report, vbatch_tools::report_json(summary, {}));
    return 0;
  }

  std::optional<vbatch::io::raw_video> video;
  if (every_video) {
    video.emplace(o.input, vbatch::io::video_options{.max_frames = o.max_frames});
  } else if (!sequence) {
    // ffmpeg passes only the requested frames (it drops the others before converting them) and
    // stops after the last one (at least one frame, so that a plan left empty by --max-frames
    // does not mean "all").
    video.emplace(
        o.input, vbatch::io::video_options{.max_frames = std::max<std::int64_t>(plan.last() + 1, 1), .frames = plan.selection()});
  }
  vbatch_tools::check_output_dir(o.out, "frames");

  outcome r = every_video ? extract_every(*video, o, source_name)
              : sequence  ? extract(*sequence, plan, capped, o, source_name)
                          : extract(*video, plan, capped, o, source_name);
  // A video that passed only the requested frames ended before one of them: count its frames
  // (ffprobe decodes it once more) so that the messages can say how many it has. Its reader
  // passed over the unselected frames without seeing them, past its end too: only the frames that
  // exist count as skipped (frame 400 of a 300-frame clip does not make 399 skipped).
  if (!r.plan.out_of_range.empty() && !r.plan.source_frames && video) r.plan.source_frames = video->count_frames();
  if (r.plan.source_frames)
    r.plan.frames_skipped =
        std::min(r.plan.frames_skipped, std::max<std::int64_t>(0, *r.plan.source_frames - r.plan.frames_read));
  const std::size_t missing = r.plan.out_of_range.size() + r.capped.size();

  if (!o.quiet) {
    const std::size_t requested = every_video ? r.plan.distinct : requests.size();
    const std::size_t distinct = r.plan.distinct + r.capped.size();
    const std::int64_t passed = r.plan.frames_read + r.plan.frames_skipped;
    std::string trouble;
    if (!r.failed_frames.empty()) trouble += fmt::format("; {} frames failed", r.failed_frames.size());
    if (missing > 0) trouble += fmt::format("; {} requested frames missing (out of range)", missing);
    fmt::print("{}: {} requests, {} distinct frames -> {}\n", source_name, requested, distinct, o.out.string());
    fmt::print("{} frames decoded and extracted, {} skipped; {} files written{}\n", r.plan.frames_read, r.plan.frames_skipped,
               r.written.written, trouble);
    fmt::print("{:.2f} s for the pass ({:.1f} frames/s through the source), {:.2f} s in all\n", r.read_seconds,
               passed / std::max(r.read_seconds, 1e-9), seconds_since(start));
  }

  if (o.demo && !o.quiet) {
    std::string names;
    for (const request& q : requests) names += fmt::format("{}{} (frame {})", names.empty() ? "" : ", ", q.name, q.frame);
    fmt::print("written in {}: {}\n", o.out.string(), names);
  }

  bool failed = missing > 0;
  if (!o.failures.skip() && !r.written.failures.empty()) {  // --on-error stop: the writes that failed, as ever
    for (std::size_t k = 0; k < r.written.failures.size() && k < 10; ++k)
      fmt::print(stderr, "frames: {}\n", r.written.failures[k].message);
    if (r.written.failures.size() > 10) fmt::print(stderr, "frames: and {} more failed writes\n", r.written.failures.size() - 10);
    failed = true;
  }
  if (!r.plan.out_of_range.empty()) fmt::print(stderr, "frames: {}\n", r.plan.describe_out_of_range(source_name));
  if (!r.capped.empty()) {
    std::string list;
    for (std::size_t k = 0; k < r.capped.size() && k < 20; ++k) list += fmt::format("{}{}", k ? ", " : "", r.capped[k]);
    if (r.capped.size() > 20) list += fmt::format(" and {} more", r.capped.size() - 20);
    fmt::print(stderr, "frames: {} {} not read: past --max-frames {} (frames 0..{} are read)\n",
               r.capped.size() == 1 ? "frame" : "frames", list, o.max_frames, o.max_frames - 1);
  }
  if (missing > 0)
    fmt::print(stderr, "frames: {} of {} requested frames missing (the {} found were written)\n", missing,
               r.plan.distinct + r.capped.size(), r.plan.served);
  const int status = vbatch_tools::finish_run("frames", o.out, r.failures, r.too_many, r.max_failures, o.quiet);

  if (!o.report.empty()) {
    summary.items = r.plan.distinct - r.plan.out_of_range.size();  // the requested frames the source has
    summary.failed = r.failed_frames.size();
    summary.outputs = r.written.written;
    summary.seconds = seconds_since(start);
    summary.stage_seconds = {{"read", r.read_seconds}, {"encode", r.written.encode_seconds}, {"write", r.written.write_seconds}};
    nlohmann::json report = vbatch_tools::report_json(summary, r.failures);
    std::vector<std::int64_t> missing_frames = r.plan.out_of_range;
    missing_frames.insert(missing_frames.end(), r.capped.begin(), r.capped.end());
    report["frames"] = {{"source", source_name},
                        {"requests", every_video ? r.plan.distinct : requests.size()},
                        {"decoded", r.plan.frames_read},
                        {"skipped", r.plan.frames_skipped},
                        {"missing", missing_frames}};
    vbatch_tools::write_report(o.report, report);
  }
  return failed ? 1 : status;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"frames: extract requested frames from a video (or a directory of images) in one pass.", "frames"};
  app.footer(
      "Examples:\n"
      "  frames clip.mp4 --requests list.txt -o out/     list.txt: one 'FRAME [NAME]' per line\n"
      "  frames clip.mp4 --frame 900 --frame 12 -o out/  out/frame_000012.jpg, out/frame_000900.jpg\n"
      "  frames frames_dir/ --requests picks.csv -o out/ frame i = the i-th image file in natural order\n"
      "  frames clip.mp4 --every 25 -o out/ --format png frames 0, 25, 50, ... to the end\n"
      "  frames --demo -o demo_frames/                   a generated clip, a few scattered frames\n"
      "Request lists: 'FRAME [NAME]' or 'FRAME,NAME' per line; frames count from 0 (the first decoded\n"
      "frame); NAME defaults to frame_{frame:06d}.{--format}, a NAME without extension gets --format's;\n"
      "blank lines and lines starting with '#' are ignored; a first line such as 'frame,name' is a header\n"
      "(other columns are ignored). Requests may be unordered and repeat a frame under other names: each\n"
      "frame is decoded once and written under every name. Lists are checked before decoding.\n"
      "Out-of-range frames: the frames that exist are written, then every missing frame is listed with\n"
      "the source's frame count, and the exit status is 1.\n"
      "Failures: with --on-error skip (the default) a frame that does not decode (a corrupt image; a video\n"
      "whose decoder fails: that frame and every later one) or cannot be written is skipped and listed in\n"
      "DIR/failures.json; every other frame is written.\n"
      "--shard i/n: this job's part of the distinct requested frames (a video's by count, an image sequence's\n"
      "by pixels); --every on a video cannot be sharded (its frames are not known before it is read).\n"
      "Videos are decoded by ffmpeg (Debian: apt-get install ffmpeg); files are written atomically.\n"
      "Exit status: 0 done; 1 an input or output problem, missing frames, or more failures than --max-failures;\n"
      "2 a bad command line; 3 done, but some frames failed (DIR/failures.json).");
  vbatch_tools::add_version_flag(app);

  auto* input =
      app.add_option("input", o.input, "A video file (anything ffmpeg reads), or a directory of .jpg/.jpeg/.png frames");
  app.add_option("-o,--output", o.out, "Output directory (created if missing); required");
  app.add_option("--requests", o.request_files, "Request list: 'FRAME [NAME]' per line (repeatable)");
  app.add_option("--frame", o.frames, "A frame to extract, from 0 (repeatable), named frame_{frame:06d}.{ext}")
      ->allow_extra_args(false);
  app.add_option("--every", o.every, "Extract frames 0, N, 2N, ... (instead of requests)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000000}));
  app.add_option("--max-frames", o.max_frames,
                 "Read at most the first N frames (0: no cap); requests past it are reported missing without decoding "
                 "that far")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000000}))
      ->capture_default_str();
  app.add_option("--format", o.format, "Format of default names (and of names without extension)")
      ->check(CLI::IsMember({"jpg", "png"}))
      ->capture_default_str();
  app.add_option("--quality", o.quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--encode-workers", o.encode_workers, "Threads encoding and writing frames (0: one per core)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_flag("--demo", o.demo, "Make a 50-frame clip with ffmpeg and extract 5 scattered frames from it")->excludes(input);
  vbatch_tools::add_fsync_flag(app, o.fsync);
  vbatch_tools::add_failure_options(app, o.failures);
  vbatch_tools::add_shard_option(app, o.shard, "distinct requested frames");
  vbatch_tools::add_report_option(app, o.report);
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors (and no progress line)");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  return vbatch_tools::run_reporting("frames", "out of memory", [&] { return run(std::move(o)); });
}
