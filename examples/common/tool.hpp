// Pieces shared by the example tools (examples/NN_name/name.cpp): only what has the same meaning in
// every tool that uses it. What differs on purpose from tool to tool (their messages, their progress
// lines, how each parses sizes) stays in the tool.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "vbatch/batch/partition.hpp"
#include "vbatch/core/config.hpp"
#include "vbatch/io/format.hpp"
#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/image_io.hpp"
#include "vbatch/pipeline/pipeline.hpp"

namespace vbatch_tools {

// The clock every tool times its stages and its whole run with.
using clock_type = std::chrono::steady_clock;

// Seconds elapsed since t0, for the timings the tools print.
inline double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

// The --version flag every tool has: prints "NAME (vbatch) VERSION", NAME the app's name.
inline void add_version_flag(CLI::App& app) {
  app.set_version_flag("--version", app.get_name() + " (vbatch) " + vbatch::version_string);
}

// The numbers of "a,b,c", or nothing when one is missing or not a number.
inline std::optional<std::vector<double>> parse_numbers(std::string_view text) {
  std::vector<double> values;
  for (std::size_t first = 0;;) {
    const std::size_t comma = std::min(text.find(',', first), text.size());
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data() + first, text.data() + comma, v);
    if (ec != std::errc{} || end != text.data() + comma) return std::nullopt;
    values.push_back(v);
    if (comma == text.size()) return values;
    first = comma + 1;
  }
}

// The C, H, W of "CxHxW" (a network's input, e.g. 3x224x224), each at least 1, or nothing.
inline std::optional<std::array<int, 3>> parse_chw(const std::string& text) {
  int c = 0, h = 0, w = 0;
  char x1 = 0, x2 = 0, rest = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c%d%c", &c, &x1, &h, &x2, &w, &rest) != 5 || x1 != 'x' || x2 != 'x' || c < 1 || h < 1 ||
      w < 1)
    return std::nullopt;
  return std::array<int, 3>{c, h, w};
}

// A bad command line: exit status 2, like CLI11's own parse errors. Everything else is 1.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws a usage_error (exit status 2) with a fmt-formatted message.
template <class... Args>
[[noreturn]] void usage(fmt::format_string<Args...> f, Args&&... args) {
  throw usage_error(fmt::format(f, std::forward<Args>(args)...));
}

// Throws a runtime_error (exit status 1: an input, output or processing problem) with a fmt-formatted message.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw std::runtime_error(fmt::format(f, std::forward<Args>(args)...));
}

// The edit distance between a and b, an adjacent transposition counting as one edit (so that
// "--outptu" is one edit from "--output").
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The app's option nearest to a misspelt one ("--outptu" -> "--output", "--thread=4" ->
// "--threads"), or nothing when none is close: at most 2 edits, and fewer than a third of the
// name, so that a short typo is not matched to an unrelated short option.
inline std::optional<std::string> nearest_option(const CLI::App& app, std::string_view given) {
  given = given.substr(0, given.find('='));
  const std::size_t letters = given.size() - std::min(given.find_first_not_of('-'), given.size());
  if (letters < 2) return std::nullopt;  // "-x": any one-letter option would be as near
  std::optional<std::string> best;
  std::size_t best_distance = std::min<std::size_t>(2, std::max<std::size_t>(1, letters / 3));
  for (const CLI::Option* opt : app.get_options()) {
    std::vector<std::string> names;
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
    for (const std::string& name : names) {
      const std::size_t d = edit_distance(given, name);
      if (d <= best_distance && (!best || d < best_distance)) best = name, best_distance = d;
    }
  }
  return best;
}

// CLI11's parse with the tools' exit statuses: the status to exit with when parsing ends the run
// (help and version exit 0; every parse error is a usage error, 2), or nothing to go on. An
// unknown option that is close to a known one gets a suggestion ("TOOL: --outptu: unknown
// option; did you mean --output?").
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    const std::vector<std::string> extras = app.remaining();
    std::vector<std::optional<std::string>> near;
    for (const std::string& arg : extras)
      near.push_back(arg.size() > 1 && arg[0] == '-' ? nearest_option(app, arg) : std::nullopt);
    if (std::none_of(near.begin(), near.end(), [](const auto& n) { return n.has_value(); })) return app.exit(e) == 0 ? 0 : 2;
    for (std::size_t i = 0; i < extras.size(); ++i) {
      const std::string arg = extras[i].substr(0, extras[i].find('='));
      if (near[i])
        fmt::print(stderr, "{}: {}: unknown option; did you mean {}?\n", app.get_name(), arg, *near[i]);
      else
        fmt::print(stderr, "{}: {}: unexpected argument\n", app.get_name(), arg);
    }
    fmt::print(stderr, "Run with --help for more information.\n");
    return 2;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

// Runs a tool's work and maps what it throws to the exit status, with the message on stderr as
// "TOOL: message": a usage_error exits 2 (with a pointer to --help), anything else 1. An
// out-of-memory error prints `out_of_memory` (a hint fitting the tool), or, when it is null, like
// any other error.
template <class Body>
int run_reporting(std::string_view tool, const char* out_of_memory, Body&& body) {
  try {
    return std::forward<Body>(body)();
  } catch (const usage_error& e) {
    fmt::print(stderr, "{}: {}\nRun with --help for more information.\n", tool, e.what());
    return 2;
  } catch (const std::bad_alloc& e) {
    if (out_of_memory != nullptr)
      fmt::print(stderr, "{}: {}\n", tool, out_of_memory);
    else
      fmt::print(stderr, "{}: {}\n", tool, e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", tool, e.what());
    return 1;
  }
}

// Creates the output directory and proves it writable with a probe file (.TOOL-probe-XXXXXX,
// removed again), before any work, so that a bad output path costs nothing and leaves nothing.
inline void check_output_dir(const std::filesystem::path& dir, std::string_view tool) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the output directory: {}", dir.string(), ec.message());
  if (!fs::is_directory(dir, ec)) fail("{}: the output path is not a directory", dir.string());
  std::string probe = (dir / fmt::format(".{}-probe-XXXXXX", tool)).string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) fail("{}: cannot write in the output directory: {}", dir.string(), std::strerror(errno));
  const auto size = static_cast<ssize_t>(tool.size());
  const bool written = ::write(fd, tool.data(), tool.size()) == size;
  const int write_errno = errno;
  ::close(fd);
  fs::remove(probe, ec);
  if (!written) fail("{}: cannot write in the output directory: {}", dir.string(), std::strerror(write_errno));
}

// The frames of a tool's inputs: files in command-line order, a directory giving its
// .jpg/.jpeg/.png files in natural order (pano_2 before pano_10). Missing inputs and empty
// directories are errors naming them.
inline std::vector<std::filesystem::path> collect_images(const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const fs::path input : inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(input, ec);
    if (!fs::exists(st)) fail("{}: no such file or directory", input.string());
    if (fs::is_directory(st)) {
      const std::vector<fs::path> found = vbatch::io::list_images(input);
      if (found.empty()) fail("{}: no .jpg, .jpeg or .png files in this directory", input.string());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(st)) {
      files.push_back(input);
    } else {
      fail("{}: not a regular file or directory", input.string());
    }
  }
  return files;
}

// Frame ids for output names: the last number in each file's stem (pano_0042.jpg -> 42); a stem
// without digits takes the file's position (0, 1, ...) so a single "pano.jpg" just works. Two files
// with one id would overwrite each other's outputs: an error naming both, before any work.
inline std::vector<long long> frame_ids(const std::vector<std::filesystem::path>& files) {
  std::vector<long long> ids;
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
    ids.push_back(id);
    numbered.push_back(last != std::string::npos);
  }
  std::map<long long, std::size_t> owner;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto [it, fresh] = owner.try_emplace(ids[i], i);
    if (fresh) continue;
    const std::size_t j = it->second;
    const std::size_t unnumbered = !numbered[i] ? i : j;
    if (!numbered[i] || !numbered[j])
      fail("cannot derive a frame id from {}: no digits in its name, and its position ({}) is also the id of {}",
           files[unnumbered].string(), ids[i], files[unnumbered == i ? j : i].string());
    fail("{} and {} both have frame id {}: their outputs would overwrite each other", files[j].string(), files[i].string(),
         ids[i]);
  }
  return ids;
}

// ---- a video as the input: --frame, --every, --time -------------------------------------------

// Which frames of a video a tool takes: these numbers (--frame, repeatable), or every n-th
// (--every) within a time range (--time START:END, seconds); every frame when none is given.
struct video_selection {
  std::vector<long long> frames;
  long long every = 0;
  std::string time_range;

  bool given() const { return every > 0 || !frames.empty() || !time_range.empty(); }
};

// The three options, with the same help in every tool that takes a video.
inline void add_video_selection_options(CLI::App& app, video_selection& s) {
  auto* frames = app.add_option("--frame", s.frames, "A video's frame to use, from 0 (repeatable; default: every frame)")
                     ->check(CLI::NonNegativeNumber);
  app.add_option("--every", s.every, "A video's frames 0, N, 2N, ... (from the start of --time)")
      ->check(CLI::Range(1LL, 1LL << 40))
      ->excludes(frames);
  app.add_option("--time", s.time_range, "A video's frames shown from START to END seconds (START:END)")->excludes(frames);
}

// Whether the inputs hold a video: any input file not named as an image (.jpg, .jpeg, .png).
inline bool is_video_input(const std::vector<std::string>& inputs) {
  std::error_code ec;
  return std::any_of(inputs.begin(), inputs.end(), [&](const std::string& input) {
    return std::filesystem::is_regular_file(input, ec) && !vbatch::io::has_image_extension(input);
  });
}

// A selection given for inputs that are images is a usage error.
inline void check_video_selection(bool video, const video_selection& s) {
  if (!video && s.given()) usage("--frame, --every and --time select frames of a video; the inputs are images");
}

// A video input and the numbers of its selected frames (increasing, distinct), its frame ids.
struct selected_video {
  std::filesystem::path file;
  vbatch::io::video_info info;
  std::vector<long long> frames;
};

// The frames of the video (the only input: a usage error naming TOOL otherwise) that `s` selects,
// every frame by default, checked against the video's length and `max_pixels` (`limit_name`
// says where that limit comes from) before any work.
inline selected_video select_video_frames(std::string_view tool, const std::vector<std::string>& inputs, const video_selection& s,
                                          std::int64_t max_pixels, std::string_view limit_name = "--max-pixels") {
  if (inputs.size() != 1)
    usage("{}: a video must be {}'s only input (give one video, or images and directories of images)",
          *std::find_if(inputs.begin(), inputs.end(), [](const std::string& i) { return !vbatch::io::has_image_extension(i); }),
          tool);
  selected_video v{inputs.front(), {}, {}};
  const std::string name = v.file.string();
  v.info = vbatch::io::probe_video(v.file);
  if (std::int64_t{v.info.width} * v.info.height > max_pixels)
    fail("{}: {}x{} video frames exceed {} {}", name, v.info.width, v.info.height, limit_name, max_pixels);
  const long long count = v.info.frames ? *v.info.frames : vbatch::io::count_video_frames(v.file);
  long long first = 0, end = count;
  if (!s.time_range.empty()) {
    double from = 0, to = 0;
    char colon = 0, extra = 0;
    if (std::sscanf(s.time_range.c_str(), "%lf%c%lf%c", &from, &colon, &to, &extra) != 3 || colon != ':' || !(from >= 0) ||
        !(to > from))
      usage("--time {}: expected START:END in seconds, 0 <= START < END (e.g. 12.5:20)", s.time_range);
    if (!(v.info.frame_rate > 0)) fail("{}: --time needs the video's frame rate, which its headers do not give", name);
    // Frame i shows at i / rate seconds (a constant rate: a variable-rate video's times are approximate).
    first = static_cast<long long>(std::ceil(from * v.info.frame_rate - 1e-9));
    end = std::min(count, static_cast<long long>(std::ceil(to * v.info.frame_rate - 1e-9)));
  }
  v.frames = s.frames;
  if (v.frames.empty())
    for (long long i = first; i < end; i += std::max(s.every, 1LL)) v.frames.push_back(i);
  std::sort(v.frames.begin(), v.frames.end());
  v.frames.erase(std::unique(v.frames.begin(), v.frames.end()), v.frames.end());
  if (!v.frames.empty() && v.frames.back() >= count)
    fail("{}: frame {} is past the end of the video ({} frames: 0 to {})", name, v.frames.back(), count, count - 1);
  if (v.frames.empty()) fail("{}: no frames selected ({} frames; --time {})", name, count, s.time_range);
  return v;
}

// ---- progress ---------------------------------------------------------------------------------

// "1:02:03" or "2:03": a duration for a progress line.
inline std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, seconds) + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

// The line a long run shows on a terminal: "[ 120/4800 frames] 41.3 frames/s, ETA 1:53", updated
// in place at most 4 times a second, with the tool's own counts after it. Nothing in a log or a
// pipe (stderr not a terminal) or with -q: the one-line summary at the end is what logs keep.
class progress_line {
 public:
  progress_line(bool quiet, std::string unit, std::uint64_t total)
      : shown_(!quiet && ::isatty(STDERR_FILENO) != 0), unit_(std::move(unit)), total_(total) {}
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;
  // Ends the updating line, also when the run stops on an error (the message goes below it).
  ~progress_line() { finish(); }

  // `done` of the total items finished; `extra` is appended ("192 views").
  void update(std::uint64_t done, std::string_view extra = {}) {
    if (!shown_) return;
    const double t = seconds_since(start_);
    if (done < total_ && t - last_ < 0.25) return;
    last_ = t;
    const double rate = done / std::max(t, 1e-9);
    const std::string eta =
        done == 0 || total_ == 0 ? "ETA --:--" : "ETA " + clock_text((total_ - std::min(done, total_)) / rate);
    const int digits = static_cast<int>(fmt::formatted_size("{}", total_));
    fmt::print(stderr, "\r[{:>{}}/{} {}] {:.1f} {}/s, {}{}{}\x1b[K", done, digits, total_, unit_, rate, unit_, eta,
               extra.empty() ? "" : "  ", extra);
    std::fflush(stderr);
    drawn_ = true;
  }
  void finish() {
    if (drawn_) fmt::print(stderr, "\n");
    drawn_ = false;
  }

 private:
  bool shown_, drawn_ = false;
  std::string unit_;
  std::uint64_t total_;
  clock_type::time_point start_ = clock_type::now();
  double last_ = -1;
};

// ---- --shard i/n|auto -------------------------------------------------------------------------

inline void add_shard_option(CLI::App& app, std::string& shard, std::string_view items) {
  app.add_option("--shard", shard,
                 fmt::format("i/n: process only job i's part of the {} (0 <= i < n), parts balanced by size; auto: i and n "
                             "from a Slurm job array (SLURM_ARRAY_TASK_*) or a Kubernetes Indexed Job "
                             "(JOB_COMPLETION_INDEX, with VBATCH_SHARD_COUNT)",
                             items));
}

// The shard a --shard value names, or nothing for an unsharded run; a bad value is a usage error.
inline std::optional<vbatch::batch::shard> parse_shard_option(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    return text == "auto" ? vbatch::batch::shard_from_environment() : vbatch::batch::parse_shard(text);
  } catch (const vbatch::error& e) {
    usage("--{}", e.what());
  }
}

// What a job whose shard took no items says (it writes nothing but its report, and exits 0).
inline void say_empty_shard(bool quiet, std::string_view tool, const vbatch::batch::shard& s, std::string_view what) {
  if (!quiet) fmt::print("{}: shard {}/{} has no {}: the other shards have them all\n", tool, s.index, s.count, what);
}

// The items of `items` that shard s takes: a contiguous part, balanced by cost(item) (pixels,
// frames), the same in every job that sees the same items.
template <class T, class Cost>
std::vector<T> take_shard(std::vector<T> items, std::optional<vbatch::batch::shard> s, Cost&& cost) {
  if (!s) return items;
  std::vector<std::uint64_t> costs;
  for (const T& item : items) costs.push_back(cost(item));
  // (pointer and size: nvcc's front end does not take the vector through span's range constructor)
  const vbatch::batch::index_range part = vbatch::batch::shard_by_cost({costs.data(), costs.size()}, *s);
  return std::vector<T>(std::make_move_iterator(items.begin() + std::ptrdiff_t(part.first)),
                        std::make_move_iterator(items.begin() + std::ptrdiff_t(part.last)));
}

// An image file's cost for sharding: its pixels by its header, or 1 when the header does not read
// (the shard that takes it reports the failure).
inline std::uint64_t image_cost(const std::filesystem::path& file) {
  try {
    const vbatch::io::image_info info = vbatch::io::read_image_info(file);
    return std::uint64_t(info.width) * std::uint64_t(info.height);
  } catch (const vbatch::error&) {
    return 1;
  }
}

// ---- failed items: --on-error, --max-failures, DIR/failures.json, exit status 3 ---------------

// The exit status of a run that finished but skipped items that failed (listed in failures.json).
inline constexpr int exit_completed_with_failures = 3;

// What a tool does when an item fails (a frame that does not decode, a view that cannot be
// written). skip is the default for every input: one bad frame must not cost an overnight run,
// and the exit status 3 still stops a script that checks for success.
struct failure_options {
  std::string on_error = "skip";            // skip or stop
  std::optional<std::size_t> max_failures;  // none: 5% of the items, at least 10

  bool skip() const { return on_error == "skip"; }
  vbatch::pipeline::on_error policy() const {
    return skip() ? vbatch::pipeline::on_error::skip : vbatch::pipeline::on_error::finish_earlier;
  }
  // The most failures a run of `items` items may skip before it stops (a run failing wholesale:
  // a full disk, a wrong setting).
  std::size_t limit(std::size_t items) const { return max_failures.value_or(std::max<std::size_t>(10, items / 20)); }
};

inline void add_failure_options(CLI::App& app, failure_options& f) {
  app.add_option("--on-error", f.on_error,
                 "skip: an item that fails (a corrupt frame, a failed write) is skipped, listed in DIR/failures.json and "
                 "the summary, and the run goes on (exit status 3); stop: the first failure ends the run (exit status 1)")
      ->check(CLI::IsMember({"skip", "stop"}))
      ->capture_default_str();
  app.add_option("--max-failures", f.max_failures,
                 "With --on-error skip: stop (exit status 1) once more than N items have failed; default 5% of the "
                 "items, at least 10")
      ->check(CLI::NonNegativeNumber);
}

// --fsync: every output synced to disk before it counts as written (save_options::fsync).
inline void add_fsync_flag(CLI::App& app, bool& fsync) {
  app.add_flag("--fsync", fsync,
               "Sync every output file (and its directory) to disk before moving on: outputs survive a power cut, "
               "at the cost of a wait for the disk per file");
}

// One failed item, for failures.json and the summary.
struct item_failure {
  std::string file;    // the input or output file it concerns
  std::string stage;   // where it failed: read, decode, remap, write, ...
  std::string reason;  // the error's message, which names the file and the cause
};

// In file order, so that the list is the same whatever the threads.
inline void sort_failures(std::vector<item_failure>& failures) {
  std::sort(failures.begin(), failures.end(), [](const item_failure& a, const item_failure& b) {
    return std::tie(a.file, a.stage, a.reason) < std::tie(b.file, b.stage, b.reason);
  });
}

// failures.json's list, and a report's "failures".
inline nlohmann::json failures_json(const std::vector<item_failure>& failures) {
  nlohmann::json list = nlohmann::json::array();
  for (const item_failure& f : failures) list.push_back({{"file", f.file}, {"stage", f.stage}, {"reason", f.reason}});
  return list;
}

// Runs check() on one input (reading its header, say) and returns true when it passes. When it
// throws: --on-error stop rethrows; skip lists the input (stage "read"), counts it against the
// run's limit and returns false, so that the caller leaves the input out.
template <class Check>
bool check_input(const failure_options& f, const std::string& file, std::vector<item_failure>& failures,
                 vbatch::pipeline::failure_limit& limit, Check&& check) {
  try {
    std::forward<Check>(check)();
    return true;
  } catch (const std::exception& e) {
    if (!f.skip()) throw;
    failures.push_back({file, "read", e.what()});
    limit.add();
    return false;
  }
}

// The failures of a pipeline run over inputs taken in batches, each listed by input file: a
// failure of batch b (a stage that threw) is one for each of its inputs (batch_inputs[b]: its
// first input and count; input_file(i) names input i). A failed write is listed by the writer's
// report, by its output file: the run's own "encode" failures are skipped here. Returns the
// inputs that failed.
template <class InputFile>
std::set<std::size_t> add_run_failures(std::vector<item_failure>& failures, const vbatch::pipeline::report& run,
                                       const std::vector<std::pair<std::size_t, int>>& batch_inputs, InputFile&& input_file) {
  std::set<std::size_t> failed;
  for (const vbatch::pipeline::failure& f : run.failures) {
    if (f.stage == "encode") continue;
    const auto [first, count] = f.item < batch_inputs.size() ? batch_inputs[f.item] : std::pair<std::size_t, int>{0, 0};
    if (count == 0) failures.push_back({"", f.stage, f.message});  // the loader stopped before a stage saw the batch
    for (std::size_t i = first; i < first + std::size_t(count); ++i) {
      failures.push_back({input_file(i), f.stage, f.message});
      failed.insert(i);
    }
  }
  return failed;
}

// A video whose decoder failed mid-way (its source stage `source_stage` failed): every input no
// batch delivered failed with it, each listed by name at stage "decode" in place of the run's
// failure without an input (add_run_failures). Returns those inputs.
template <class InputFile>
std::set<std::size_t> add_undelivered_failures(std::vector<item_failure>& failures, const vbatch::pipeline::report& run,
                                               std::string_view source_stage,
                                               const std::vector<std::pair<std::size_t, int>>& batch_inputs, std::size_t inputs,
                                               InputFile&& input_file) {
  std::set<std::size_t> failed;
  const auto source = std::find_if(run.failures.begin(), run.failures.end(),
                                   [&](const vbatch::pipeline::failure& f) { return f.stage == source_stage; });
  if (source == run.failures.end()) return failed;
  std::erase_if(failures, [&](const item_failure& f) { return f.file.empty() && f.stage == source_stage; });
  std::vector<char> delivered(inputs, 0);
  for (const auto& [first, count] : batch_inputs) std::fill_n(delivered.begin() + std::ptrdiff_t(first), count, 1);
  for (std::size_t i = 0; i < inputs; ++i)
    if (!delivered[i]) {
      failures.push_back({input_file(i), "decode", source->message});
      failed.insert(i);
    }
  return failed;
}

// Ends a run: with failures, writes DIR/failures.json atomically (sorted, so that it is the same
// whatever the threads), prints them (the first few) and returns the exit status: 1 when the run
// stopped on too many failures, else exit_completed_with_failures. Without, removes a
// failures.json an earlier run left (a --resume that now completed) and returns 0.
inline int finish_run(std::string_view tool, const std::filesystem::path& dir, std::vector<item_failure> failures, bool too_many,
                      std::size_t limit, bool quiet) {
  const std::filesystem::path file = dir / "failures.json";
  if (failures.empty()) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return 0;
  }
  sort_failures(failures);
  nlohmann::json j = {{"tool", tool},
                      {"failed", failures.size()},
                      {"stopped_on_too_many", too_many},
                      {"max_failures", limit},
                      {"failures", failures_json(failures)}};
  const std::string text = j.dump(2) + "\n";
  vbatch::io::write_file_atomically(file, text.data(), text.size());
  if (!quiet || too_many) {
    constexpr std::size_t shown = 5;
    fmt::print(stderr, "{}: {} failed, listed in {}:\n", tool, failures.size(), file.string());
    for (std::size_t i = 0; i < std::min(shown, failures.size()); ++i)
      fmt::print(stderr, "  {} ({}): {}\n", failures[i].file, failures[i].stage, failures[i].reason);
    if (failures.size() > shown) fmt::print(stderr, "  ... and {} more\n", failures.size() - shown);
  }
  if (too_many) {
    fmt::print(stderr, "{}: stopped: more than {} failures (--max-failures)\n", tool, limit);
    return 1;
  }
  return exit_completed_with_failures;
}

// ---- the run report: --report FILE.json, and merge-reports over the shards of a run -----------

// What every tool's JSON report holds under "run", whatever else it adds: the same keys in every
// tool, so that merge-reports can add up the reports of a run's shards.
struct run_summary {
  std::string tool;
  std::string unit;                             // what an item is: "frames", "masks", ...
  std::optional<vbatch::batch::shard> shard;    // none: the whole input
  std::uint64_t items = 0;                      // this run's items (its shard's), before --resume
  std::uint64_t resumed = 0;                    // items --resume found done
  std::uint64_t failed = 0;                     // items with a failure (failures.json): skipped, or some outputs missing
  std::uint64_t outputs = 0;                    // files written
  double seconds = 0;                           // wall time
  std::map<std::string, double> stage_seconds;  // busy seconds per stage, summed over its threads
};

// The busy seconds of a pipeline run's stages (source, stages, the writer's encode and write).
inline std::map<std::string, double> stage_seconds_of(const vbatch::pipeline::report& r) {
  std::map<std::string, double> seconds;
  for (const vbatch::pipeline::stage_report& s : r.stages) seconds[s.name] += s.busy;
  return seconds;
}

inline nlohmann::json to_json(const run_summary& r) {
  double busy = 0;
  for (const auto& [name, s] : r.stage_seconds) busy += s;
  nlohmann::json shares = nlohmann::json::object();
  for (const auto& [name, s] : r.stage_seconds) shares[name] = busy > 0 ? s / busy : 0.0;
  const std::uint64_t done = r.items - std::min(r.items, r.resumed + r.failed);
  return {{"tool", r.tool},
          {"version", vbatch::version_string},
          {"unit", r.unit},
          {"shard", r.shard ? nlohmann::json{{"index", r.shard->index}, {"count", r.shard->count}} : nlohmann::json(nullptr)},
          {"items", r.items},
          {"resumed", r.resumed},
          {"failed", r.failed},
          {"done", done},
          {"outputs", r.outputs},
          {"seconds", r.seconds},
          {"items_per_second", r.seconds > 0 ? double(done) / r.seconds : 0.0},
          {"stage_seconds", r.stage_seconds},
          {"stage_shares", shares}};
}

// A report's "run" block read back; `source` (the file) names it in errors.
inline run_summary run_summary_from_json(const nlohmann::json& report, const std::string& source) {
  try {
    const nlohmann::json& j = report.at("run");
    run_summary r;
    r.tool = j.at("tool").get<std::string>();
    r.unit = j.at("unit").get<std::string>();
    if (!j.at("shard").is_null())
      r.shard = vbatch::batch::shard{j["shard"].at("index").get<std::size_t>(), j["shard"].at("count").get<std::size_t>()};
    r.items = j.at("items").get<std::uint64_t>();
    r.resumed = j.at("resumed").get<std::uint64_t>();
    r.failed = j.at("failed").get<std::uint64_t>();
    r.outputs = j.at("outputs").get<std::uint64_t>();
    r.seconds = j.at("seconds").get<double>();
    r.stage_seconds = j.at("stage_seconds").get<std::map<std::string, double>>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a vbatch tool report (its \"run\" block: {})", source, e.what());
  }
}

// A tool's report: {"run": ..., "failures": [...]}, to which the tool adds its own keys.
inline nlohmann::json report_json(const run_summary& r, std::vector<item_failure> failures) {
  sort_failures(failures);
  return {{"run", to_json(r)}, {"failures", failures_json(failures)}};
}

// Writes a report atomically (a killed run leaves the old one or none, never half of one).
inline void write_report(const std::filesystem::path& file, const nlohmann::json& report) {
  const std::string text = report.dump(2) + "\n";
  vbatch::io::write_file_atomically(file, text.data(), text.size());
}

// finish_run after writing the --report file (when `report` is not empty): `summary` with the
// wall time since `start`, and the failures.
inline int finish_run(std::string_view tool, const std::filesystem::path& dir, std::vector<item_failure> failures, bool too_many,
                      std::size_t limit, bool quiet, const std::filesystem::path& report, run_summary summary,
                      clock_type::time_point start) {
  if (!report.empty()) {
    summary.seconds = seconds_since(start);
    write_report(report, report_json(summary, failures));
  }
  return finish_run(tool, dir, std::move(failures), too_many, limit, quiet);
}

// The --report option of a tool: a .json path.
inline void add_report_option(CLI::App& app, std::filesystem::path& file) {
  app.add_option("--report", file,
                 "Write a JSON report to FILE: items, failures, outputs, time per stage (the same \"run\" block in every "
                 "tool; vbatch-merge-reports adds up the reports of a run's shards)");
}

// The reports of the shards of one run added up: {"run": the sums (seconds: the longest shard,
// items per second over it), "shards": each shard's "run", "failures": all of them}. They must
// come from one tool and one shard count, each shard once, all shards present: an error names
// the file at fault or the shards missing. `reports` are (file name, report) pairs.
inline nlohmann::json merge_reports(const std::vector<std::pair<std::string, nlohmann::json>>& reports) {
  if (reports.empty()) fail("no reports to merge");
  std::vector<run_summary> runs;
  for (const auto& [file, report] : reports) runs.push_back(run_summary_from_json(report, file));
  const run_summary& first = runs.front();
  const std::size_t count = first.shard ? first.shard->count : 1;
  run_summary sum;
  sum.tool = first.tool;
  sum.unit = first.unit;
  std::map<std::size_t, std::string> seen;
  std::vector<item_failure> failures;
  nlohmann::json shards = nlohmann::json::array();
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const run_summary& r = runs[k];
    const std::string& file = reports[k].first;
    if (r.tool != first.tool) fail("{}: a report of {}, not {} like {}", file, r.tool, first.tool, reports[0].first);
    const std::size_t n = r.shard ? r.shard->count : 1, index = r.shard ? r.shard->index : 0;
    if (n != count) fail("{}: shard {}/{}, but {} is of {} shards", file, index, n, reports[0].first, count);
    if (const auto [it, fresh] = seen.try_emplace(index, file); !fresh)
      fail("{} and {} are both shard {}/{}", it->second, file, index, n);
    sum.items += r.items;
    sum.resumed += r.resumed;
    sum.failed += r.failed;
    sum.outputs += r.outputs;
    sum.seconds = std::max(sum.seconds, r.seconds);
    for (const auto& [name, s] : r.stage_seconds) sum.stage_seconds[name] += s;
    shards.push_back(to_json(r));
    for (const nlohmann::json& f : reports[k].second.value("failures", nlohmann::json::array()))
      failures.push_back({f.at("file").get<std::string>(), f.at("stage").get<std::string>(), f.at("reason").get<std::string>()});
  }
  if (seen.size() != count) {
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < count && missing.size() < 10; ++i)
      if (!seen.count(i)) missing.push_back(i);
    fail("shards missing: {} of {} given; not given: {}{}", seen.size(), count, fmt::join(missing, ", "),
         count - seen.size() > missing.size() ? ", ..." : "");
  }
  nlohmann::json merged = report_json(sum, std::move(failures));
  merged["shards"] = shards;
  return merged;
}

}  // namespace vbatch_tools
