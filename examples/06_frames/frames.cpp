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
// Exit status: 0 done, 1 an input or output problem (including out-of-range frames), 2 a bad
// command line.

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

// A progress line on stderr for runs longer than a second: updated in place on a terminal, a line
// every 10 s in a log.
class progress {
 public:
  progress(bool quiet, std::int64_t total) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0), total_(total) {}

  void update(std::int64_t position, std::size_t extracted) {
    if (quiet_) return;
    const double t = seconds_since(start_);
    if (t < 1 || t - last_ < (tty_ ? 0.25 : 10)) return;
    last_ = t;
    shown_ = true;
    const std::string of = total_ > 0 ? fmt::format("/{} ({:.0f}%)", total_, 100.0 * position / total_) : "";
    fmt::print(stderr, "{}frame {}{}: {} frames extracted, {:.1f} frames/s{}", tty_ ? "\r" : "", position, of, extracted,
               position / t, tty_ ? "\x1b[K" : "\n");
    std::fflush(stderr);
  }
  // Ends the updating line, also when the pass stops on an error (the message goes below it).
  ~progress() {
    if (shown_ && tty_) fmt::print(stderr, "\n");
  }
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

 private:
  bool quiet_, tty_, shown_ = false;
  std::int64_t total_;
  clock_type::time_point start_ = clock_type::now();
  double last_ = 0;
};

// A frame source as the planner sees it, reporting progress: skip() goes in steps so that a long
// gap between requested frames (all decoded by ffmpeg) still moves the progress line.
template <class Source>
class watched {
 public:
  watched(Source& s, progress& p, const std::size_t& extracted) : source_(s), progress_(p), extracted_(extracted) {}
  std::optional<std::int64_t> size() const { return source_.size(); }
  std::int64_t position() const { return source_.position(); }
  std::optional<vbatch::io::frame_view> next() {
    progress_.update(source_.position(), extracted_);
    return source_.next();
  }
  std::int64_t skip(std::int64_t n) {
    std::int64_t moved = 0;
    while (moved < n) {
      const std::int64_t step = std::min<std::int64_t>(n - moved, 32);
      const std::int64_t got = source_.skip(step);
      moved += got;
      progress_.update(source_.position(), extracted_);
      if (got < step) break;  // the source ended
    }
    return moved;
  }

 private:
  Source& source_;
  progress& progress_;
  const std::size_t& extracted_;
};

struct outcome {
  vbatch::io::plan_report plan;
  std::vector<std::int64_t> capped;  // requested frames at or past --max-frames, never read
  vbatch::pipeline::writer_report written;
};

// One copy of the frame (its view is valid only until the next read), shared by every name it is
// written under: the writer's workers encode from it while the pass reads on.
void submit_all(vbatch::pipeline::image_writer<>& writer, const fs::path& dir, const vbatch::io::frame_view& f,
                std::span<const std::string> names) {
  const vbatch::batch_view<const vbatch::u8> src = f.pixels;  // (1,H,W,C)
  auto copy = std::make_shared<vbatch::batch_buffer<vbatch::u8>>(vbatch::batch_shape{1, src.h, src.w, src.c});
  for (int y = 0; y < src.h; ++y) std::memcpy(copy->view().pixel(0, y, 0), src.pixel(0, y, 0), std::size_t(src.w) * src.c);
  for (const std::string& name : names) writer.submit(dir / name, copy->view(), copy);
}

template <class Source>
outcome extract(Source& source, const vbatch::io::frame_plan<std::string>& plan, std::vector<std::int64_t> capped,
                const options& o) {
  vbatch::pipeline::image_writer<> writer({.workers = o.encode_workers, .save = {.jpeg_quality = o.quality, .fsync = o.fsync}});
  progress bar(o.quiet, plan.last() + 1);
  std::size_t extracted = 0;
  watched<Source> src(source, bar, extracted);
  outcome r;
  r.capped = std::move(capped);
  r.plan = plan.run(src, [&](const vbatch::io::frame_view& f, std::span<const std::string> names) {
    submit_all(writer, o.out, f, names);
    ++extracted;
  });
  r.written = writer.close();
  return r;
}

// --every N: frames 0, N, 2N, ... to the end of the source (or --max-frames), named by index.
template <class Source>
outcome extract_every(Source& source, const options& o) {
  vbatch::pipeline::image_writer<> writer({.workers = o.encode_workers, .save = {.jpeg_quality = o.quality, .fsync = o.fsync}});
  progress bar(o.quiet, o.max_frames);
  std::size_t extracted = 0;
  watched<Source> src(source, bar, extracted);
  outcome r;
  while (o.max_frames == 0 || src.position() < o.max_frames) {
    const std::optional<vbatch::io::frame_view> f = src.next();
    if (!f) break;
    ++r.plan.frames_read;
    const std::string name = default_name(f->index, o.format);
    submit_all(writer, o.out, *f, std::span<const std::string>(&name, 1));
    ++extracted;
    const std::int64_t moved = src.skip(o.every - 1);
    r.plan.frames_skipped += moved;
    if (moved < o.every - 1) break;
  }
  r.plan.requests = r.plan.distinct = r.plan.served = extracted;
  r.written = writer.close();
  return r;
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
  std::vector<std::int64_t> capped;
  const vbatch::io::frame_plan<std::string> plan = make_plan(requests, o.max_frames, capped);

  // The source is opened before the output directory is made, so a missing or unreadable input
  // (or a missing ffmpeg) leaves nothing behind.
  std::error_code ec;
  const fs::file_status st = fs::status(o.input, ec);
  if (!fs::exists(st)) fail("{}: no such file or directory", o.input);
  std::optional<vbatch::io::image_sequence<>> sequence;
  std::optional<vbatch::io::raw_video> video;
  if (fs::is_directory(st)) {
    sequence.emplace(vbatch::io::image_sequence<>::from_directory(o.input));
    if (sequence->size() == 0) fail("{}: no .jpg, .jpeg or .png files in this directory", o.input);
  } else {
    // The decoder stops by itself after the last frame needed (at least one frame, so that a plan
    // left empty by --max-frames does not mean "all").
    // With requests, ffmpeg passes only the requested frames (it drops the others before
    // converting them) and stops after the last one.
    if (o.every > 0)
      video.emplace(o.input, vbatch::io::video_options{.max_frames = o.max_frames});
    else
      video.emplace(o.input, vbatch::io::video_options{.max_frames = std::max<std::int64_t>(plan.last() + 1, 1),
                                                       .frames = plan.selection()});
  }
  vbatch_tools::check_output_dir(o.out, "frames");

  const auto pass_start = clock_type::now();
  outcome r;
  if (o.every > 0)
    r = sequence ? extract_every(*sequence, o) : extract_every(*video, o);
  else
    r = sequence ? extract(*sequence, plan, capped, o) : extract(*video, plan, capped, o);
  const double pass_seconds = seconds_since(pass_start);
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
    const std::size_t requested = o.every > 0 ? r.plan.served : requests.size();
    const std::size_t distinct = o.every > 0 ? r.plan.served : r.plan.distinct + r.capped.size();
    const std::int64_t passed = r.plan.frames_read + r.plan.frames_skipped;
    fmt::print("{}: {} requests, {} distinct frames -> {}\n", source_name, requested, distinct, o.out.string());
    fmt::print("{} frames decoded and extracted, {} skipped; {} files written{}\n", r.plan.frames_read, r.plan.frames_skipped,
               r.written.written, missing > 0 ? fmt::format("; {} requested frames missing (out of range)", missing) : "");
    fmt::print("{:.2f} s for the pass ({:.1f} frames/s through the source), {:.2f} s in all\n", pass_seconds,
               passed / std::max(pass_seconds, 1e-9), seconds_since(start));
  }

  if (o.demo && !o.quiet) {
    std::string names;
    for (const request& q : requests) names += fmt::format("{}{} (frame {})", names.empty() ? "" : ", ", q.name, q.frame);
    fmt::print("written in {}: {}\n", o.out.string(), names);
  }

  int status = 0;
  if (!r.written.failures.empty()) {
    for (std::size_t k = 0; k < r.written.failures.size() && k < 10; ++k)
      fmt::print(stderr, "frames: {}\n", r.written.failures[k].message);
    if (r.written.failures.size() > 10) fmt::print(stderr, "frames: and {} more failed writes\n", r.written.failures.size() - 10);
    status = 1;
  }
  if (!r.plan.out_of_range.empty()) fmt::print(stderr, "frames: {}\n", r.plan.describe_out_of_range(source_name));
  if (!r.capped.empty()) {
    std::string list;
    for (std::size_t k = 0; k < r.capped.size() && k < 20; ++k) list += fmt::format("{}{}", k ? ", " : "", r.capped[k]);
    if (r.capped.size() > 20) list += fmt::format(" and {} more", r.capped.size() - 20);
    fmt::print(stderr, "frames: {} {} not read: past --max-frames {} (frames 0..{} are read)\n",
               r.capped.size() == 1 ? "frame" : "frames", list, o.max_frames, o.max_frames - 1);
  }
  if (missing > 0) {
    fmt::print(stderr, "frames: {} of {} requested frames missing (the {} found were written)\n", missing,
               r.plan.distinct + r.capped.size(), r.plan.served);
    status = 1;
  }
  return status;
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
      "Videos are decoded by ffmpeg (Debian: apt-get install ffmpeg); files are written atomically.\n"
      "Exit status: 0 done; 1 an input or output problem, or missing frames; 2 a bad command line.");
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
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");

  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  return vbatch_tools::run_reporting("frames", "out of memory", [&] { return run(std::move(o)); });
}
