#pragma once
// Frame sources: numbered frames read front to back, one at a time.
//
//   auto seq = vbatch::io::image_sequence<>::from_directory("frames/");   // natural order
//   vbatch::io::raw_video video("clip.mp4");       // frames piped from `ffmpeg ... -f rawvideo -pix_fmt rgb24 -`
//   while (auto f = video.next()) use(f->index, f->pixels);   // (1,H,W,3), valid until the next call
//   video.skip(100);                                          // past frames nobody needs
//
// Both have the same interface (what the access planner in vbatch/io/planner.hpp needs):
// position() is the index of the next frame; next() reads it; skip(n) moves past n frames and
// says how many there were; size() is the frame count when known before reading (image
// sequences), nullopt for a video (known once the stream ends).
//
// raw_video runs the decoder as a child process with an argument vector (posix_spawnp; nothing
// goes through a shell, and the file is passed as "file:PATH" so a name cannot select another
// ffmpeg protocol). Frame i is the i-th frame ffmpeg decodes, in presentation order, at the
// stored size (-noautorotate: rotation metadata is not applied) with no frames dropped or
// duplicated (-vsync passthrough). The size comes from ffprobe. Skipped frames are still decoded
// by ffmpeg (that is what a sequential pass is). Without video_options::frames they are also
// converted and piped, then dropped here; with it (the frames a plan needs:
// frame_plan::selection()), ffmpeg's select filter drops them before conversion and stops after
// the last one, which makes a sparse pass several times faster (figures in docs/io.md).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vbatch/io/image_io.hpp"

extern char** environ;

namespace vbatch::inline v0::io {

// "frame_2" < "frame_10": runs of digits compare by value (leading zeros ignored), the rest byte
// by byte; names equal that way ("01" and "1") fall back to plain comparison, so the order is total.
inline bool natural_less(std::string_view a, std::string_view b) {
  const auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::string_view da = a.substr(i, ie - i), db = b.substr(j, je - j);
      da.remove_prefix(std::min(da.find_first_not_of('0'), da.size()));
      db.remove_prefix(std::min(db.find_first_not_of('0'), db.size()));
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      i = ie, j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i, ++j;
    }
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;
}

inline bool has_image_extension(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// The .jpg/.jpeg/.png files of a directory (not its subdirectories), in natural order of their names.
inline std::vector<std::filesystem::path> list_images(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) raise(errc::io, "{}: not a directory", dir.string());
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && has_image_extension(it->path())) files.push_back(it->path());
  if (ec) raise(errc::io, "{}: cannot read the directory: {}", dir.string(), ec.message());
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return natural_less(a.filename().string(), b.filename().string()); });
  return files;
}

struct frame_view {
  std::int64_t index = 0;
  batch_view<const u8> pixels;  // (1,H,W,C), valid until the source's next call
};

// Frames that are image files: frame i is the i-th file. Skipping costs nothing (no file is opened).
template <image_codec Codec = default_codec>
class image_sequence {
 public:
  explicit image_sequence(std::vector<std::filesystem::path> files, int channels = 3, image_limits limits = {})
      : files_(std::move(files)), channels_(channels), limits_(limits) {
    if (channels != 1 && channels != 3 && channels != 4)
      raise(errc::invalid_argument, "image_sequence: {} channels (1, 3 or 4)", channels);
  }
  static image_sequence from_directory(const std::filesystem::path& dir, int channels = 3, image_limits limits = {}) {
    return image_sequence(list_images(dir), channels, limits);
  }

  std::optional<std::int64_t> size() const { return std::int64_t(files_.size()); }
  std::int64_t position() const { return position_; }
  const std::filesystem::path& file(std::int64_t i) const { return files_.at(std::size_t(i)); }

  std::int64_t skip(std::int64_t n) {
    const std::int64_t moved = std::clamp<std::int64_t>(n, 0, std::int64_t(files_.size()) - position_);
    position_ += moved;
    return moved;
  }
  std::optional<frame_view> next() {
    if (position_ >= std::int64_t(files_.size())) return std::nullopt;
    const std::filesystem::path& f = files_[std::size_t(position_)];
    const image_info info = read_image_info(f);
    check(can_load(f, info, limits_));
    if (frame_.shape() != batch_shape{1, info.height, info.width, channels_}) {
      frame_ = {};
      frame_ = batch_buffer<u8>({1, info.height, info.width, channels_});
    }
    load_image_into<Codec>(f, frame_.view(), limits_);
    return frame_view{position_++, frame_.view()};
  }

 private:
  std::vector<std::filesystem::path> files_;
  int channels_;
  image_limits limits_;
  std::int64_t position_ = 0;
  batch_buffer<u8> frame_;
};

struct video_options {
  std::string decoder = "ffmpeg";  // found on PATH unless it contains a '/'
  std::string probe = "ffprobe";
  int channels = 3;             // 3: rgb24, 1: gray, 4: rgba
  std::int64_t max_frames = 0;  // stop the decoder after this many frames (0: all)
  // Only these frames (increasing, distinct, >= 0) are wanted: the others never reach the pipe,
  // next() reads only these, and size() stays unknown (the end is found at a wanted frame). Empty: all.
  std::vector<std::int64_t> frames{};
  image_limits limits{};
};

namespace detail {

// A child process started with an argument vector, its stdout and stderr on pipes.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& argv) {
    std::vector<char*> args;  // before the pipes: nothing to clean up if this throws
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
      const int e = errno;
      close_all(out, err);
      raise(errc::io, "{}: cannot create a pipe: {}", argv.front(), std::strerror(e));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    // The child starts with no signals blocked and SIGTERM/SIGPIPE at their defaults, whatever
    // this process does with them (a sigwait thread blocks SIGTERM): stop() relies on both.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int rc = ::posix_spawnp(&pid_, args[0], &actions, &attributes, args.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
      ::close(out[0]);
      ::close(err[0]);
      pid_ = -1;
      raise(rc == ENOENT ? errc::unsupported : errc::io, "cannot run {}: {}{}", argv.front(), std::strerror(rc),
            rc == ENOENT ? " (is ffmpeg installed? Debian: apt-get install ffmpeg)" : "");
    }
    out_ = out[0];
    err_ = err[0];
    // stderr is drained by a thread, so a chatty child never blocks on a full pipe; the last few
    // KB are kept for error messages.
    try {
      stderr_reader_ = std::thread([this] {
        char buf[4096];
        for (ssize_t got; (got = ::read(err_, buf, sizeof buf)) != 0;) {
          if (got < 0) {
            if (errno == EINTR) continue;
            break;
          }
          std::lock_guard lock(stderr_mutex_);
          stderr_text_.append(buf, std::size_t(got));
          if (stderr_text_.size() > 8192) stderr_text_.erase(0, stderr_text_.size() - 4096);
        }
      });
    } catch (...) {  // no thread: stop and reap the child, close its pipes
      stop();
      throw;
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() { stop(); }

  // Reads exactly `size` bytes unless the stream ends first; returns the count read.
  std::size_t read_exactly(void* data, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t got = ::read(out_, static_cast<char*>(data) + done, size - done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) raise(errc::io, "reading from the decoder: {}", std::strerror(errno));
      if (got == 0) break;
      done += std::size_t(got);
    }
    return done;
  }

  // Waits for the child after its output ended; returns its exit status (-1: killed by a signal).
  int wait() {
    if (pid_ < 0) return status_;
    int st = 0;
    pid_t got;
    while ((got = ::waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    // got < 0: the child was reaped elsewhere (SIGCHLD ignored): its status is unknown, not success.
    status_ = got > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    join_reader();
    return status_;
  }

  // Stops a child that is still running (we need no more of its output): closing the pipe makes
  // its next write fail and SIGTERM makes sure; one that has not exited 2 s later (a decoder
  // busy on frames a select filter drops writes nothing) gets SIGKILL. Then it is reaped.
  void stop() {
    if (out_ >= 0) ::close(out_), out_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      // waitid with WNOWAIT leaves the child for wait() to reap, so its pid cannot be reused
      // before the SIGKILL below, which only a child still running after 2 s gets.
      bool running = true;
      for (int waited_ms = 0; running && waited_ms < 2000; waited_ms += 10) {
        siginfo_t info{};
        running = ::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
        if (running) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (running) ::kill(pid_, SIGKILL);
      wait();
    }
    join_reader();
  }

  std::string error_text() {
    std::lock_guard lock(stderr_mutex_);
    std::string t = stderr_text_;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    return t;
  }

 private:
  static void close_all(int* a, int* b) {
    for (int* p : {a, a + 1, b, b + 1})
      if (*p >= 0) ::close(*p);
  }
  void join_reader() {
    if (stderr_reader_.joinable()) stderr_reader_.join();
    if (err_ >= 0) ::close(err_), err_ = -1;
  }

  pid_t pid_ = -1;
  int out_ = -1, err_ = -1, status_ = 0;
  std::thread stderr_reader_;
  std::mutex stderr_mutex_;
  std::string stderr_text_;
};

// Everything a child writes to its stdout, until it closes it.
inline std::string read_all(child_process& p) {
  std::string text;
  char buf[256];
  for (std::size_t got; (got = p.read_exactly(buf, sizeof buf)) > 0;) text.append(buf, got);
  return text;
}

inline std::string ffmpeg_input(const std::filesystem::path& file) { return "file:" + std::filesystem::absolute(file).string(); }

}  // namespace detail

// Frames of a video file, decoded by an external ffmpeg into raw RGB (or gray, RGBA) read from
// its stdout.
// What ffprobe reads of a video's first video stream from its headers, nothing decoded.
struct video_info {
  int width = 0, height = 0;
  std::optional<std::int64_t> frames;  // as the container states it; none in raw streams and some
                                       // Matroska files (count_video_frames() decodes to count)
  double frame_rate = 0;               // average frames per second; 0 when unknown
};

inline video_info probe_video(const std::filesystem::path& file, const std::string& probe = "ffprobe") {
  detail::child_process p({probe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=width,height,nb_frames,avg_frame_rate", "-of", "default=noprint_wrappers=1",
                           detail::ffmpeg_input(file)});
  const std::string text = detail::read_all(p);
  const int status = p.wait();
  video_info info;
  for (std::size_t first = 0; first < text.size();) {  // key=value lines
    const std::size_t end = std::min(text.find('\n', first), text.size());
    const std::string line = text.substr(first, end - first);
    first = end + 1;
    long long a = 0, b = 0;
    if (std::sscanf(line.c_str(), "width=%lld", &a) == 1) info.width = int(a);
    if (std::sscanf(line.c_str(), "height=%lld", &a) == 1) info.height = int(a);
    if (std::sscanf(line.c_str(), "nb_frames=%lld", &a) == 1 && a >= 0) info.frames = a;
    if (std::sscanf(line.c_str(), "avg_frame_rate=%lld/%lld", &a, &b) == 2 && a > 0 && b > 0)
      info.frame_rate = double(a) / double(b);
  }
  if (status != 0 || info.width <= 0 || info.height <= 0) {
    const std::string why = p.error_text();
    raise(errc::corrupt_data, "{}: no video stream found by {}{}{}", file.string(), probe, why.empty() ? "" : ": ", why);
  }
  return info;
}

// The exact frame count, from `ffprobe -count_frames`, which decodes the whole stream: for
// videos whose container states none (video_info::frames).
inline std::int64_t count_video_frames(const std::filesystem::path& file, const std::string& probe = "ffprobe") {
  detail::child_process p({probe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                           "stream=nb_read_frames", "-of", "csv=p=0", detail::ffmpeg_input(file)});
  const std::string text = detail::read_all(p);
  long long frames = -1;
  if (p.wait() != 0 || std::sscanf(text.c_str(), "%lld", &frames) != 1 || frames < 0)
    raise(errc::corrupt_data, "{}: {} could not count the frames: {}", file.string(), probe, p.error_text());
  return frames;
}

class raw_video {
 public:
  explicit raw_video(const std::filesystem::path& file, video_options o = {}) : file_(file), options_(std::move(o)) {
    if (options_.channels != 1 && options_.channels != 3 && options_.channels != 4)
      raise(errc::invalid_argument, "raw_video: {} channels (1, 3 or 4)", options_.channels);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) raise(errc::io, "{}: no such video file", file.string());
    probe_size();
    if (std::int64_t{width_} * height_ > options_.limits.max_pixels || width_ > options_.limits.max_side ||
        height_ > options_.limits.max_side)
      raise(errc::limit_exceeded, "{}: {}x{} video frames exceed the limit of {} pixels", file.string(), width_, height_,
            options_.limits.max_pixels);
    std::vector<std::string> argv = {options_.decoder, "-nostdin",      "-hide_banner", "-loglevel",
                                     "error",          "-noautorotate", "-i",           detail::ffmpeg_input(file),
                                     "-map",           "0:v:0",         "-vsync",       "passthrough"};
    select(argv);
    if (!selecting_ && options_.max_frames > 0) argv.insert(argv.end(), {"-frames:v", std::to_string(options_.max_frames)});
    const char* format = options_.channels == 1 ? "gray" : options_.channels == 3 ? "rgb24" : "rgba";
    argv.insert(argv.end(), {"-f", "rawvideo", "-pix_fmt", format, "-"});
    frame_ = batch_buffer<u8>({1, height_, width_, options_.channels});
    if (!ended_) process_ = std::make_unique<detail::child_process>(argv);  // ended: nothing selected
  }

  int width() const { return width_; }
  int height() const { return height_; }
  int channels() const { return options_.channels; }
  std::optional<std::int64_t> size() const {
    return ended_ && !selecting_ ? std::optional<std::int64_t>(position_) : std::nullopt;
  }
  std::int64_t position() const { return position_; }

  std::optional<frame_view> next() {
    if (selecting_ && !ended_ && !at_selected())
      raise(errc::invalid_argument, "{}: frame {} is not among the frames selected in video_options::frames", file_.string(),
            position_);
    if (!read_frame(frame_.data())) return std::nullopt;
    if (selecting_) ++next_selected_;
    return frame_view{position_++, frame_.view()};
  }
  // next() into the caller's (1,H,W,C) image, contiguous (a slot of a batch: no copy); returns
  // the frame's index, or nullopt at the end.
  std::optional<std::int64_t> next_into(batch_view<u8> image) {
    if (image.shape() != frame_.view().shape() || !image.is_dense())
      raise(errc::invalid_argument, "raw_video::next_into: a contiguous (1,{},{},{}) image is needed", height_, width_,
            options_.channels);
    if (selecting_ && !ended_ && !at_selected())
      raise(errc::invalid_argument, "{}: frame {} is not among the frames selected in video_options::frames", file_.string(),
            position_);
    if (!read_frame(image.data)) return std::nullopt;
    if (selecting_) ++next_selected_;
    return position_++;
  }
  // Moves past n frames; returns how many there were (fewer at the end of the stream). With a
  // selection, frames that were not selected are passed without reading (they are not in the pipe).
  std::int64_t skip(std::int64_t n) {
    std::int64_t moved = 0;
    if (scratch_.empty() && n > 0) scratch_.resize(frame_.bytes());
    for (; moved < n && !ended_; ++moved, ++position_) {
      if (selecting_ && !at_selected()) continue;
      if (!read_frame(scratch_.data())) break;
      if (selecting_) ++next_selected_;
    }
    return moved;
  }
  // The exact frame count (count_video_frames: decodes the whole stream), for a report when a
  // selection ended early and size() is unknown.
  std::int64_t count_frames() const { return count_video_frames(file_, options_.probe); }
  // Stops the decoder now (no more frames are needed).
  void close() {
    if (process_) process_->stop();
    ended_ = true;
  }

 private:
  // Reads one frame; false at the end of the stream. A partial frame or a failed decoder is an error.
  bool read_frame(unsigned char* dst) {
    if (ended_) return false;
    const std::size_t want = frame_.bytes();
    const std::size_t got = process_->read_exactly(dst, want);
    if (got == want) return true;
    ended_ = true;
    const int status = process_->wait();
    if (status != 0)
      raise(errc::corrupt_data, "{}: the decoder ({}) failed after {} frames (exit status {}): {}", file_.string(),
            options_.decoder, position_, status, process_->error_text());
    if (got != 0)
      raise(errc::corrupt_data, "{}: the stream ended inside frame {} ({} of {} bytes)", file_.string(), position_, got, want);
    return false;
  }

  bool at_selected() const { return next_selected_ < selected_.size() && selected_[next_selected_] == position_; }

  // With video_options::frames: ffmpeg's select filter passes only those frames (runs of
  // consecutive frames as one between() term), and -frames:v stops it after the last one.
  void select(std::vector<std::string>& argv) {
    const std::vector<std::int64_t>& frames = options_.frames;
    if (frames.empty()) return;
    for (std::size_t i = 0; i < frames.size(); ++i)
      if (frames[i] < 0 || (i > 0 && frames[i] <= frames[i - 1]))
        raise(errc::invalid_argument, "raw_video: video_options::frames must be increasing, distinct and >= 0 (item {} is {})", i,
              frames[i]);
    for (const std::int64_t f : frames)
      if (options_.max_frames <= 0 || f < options_.max_frames) selected_.push_back(f);
    selecting_ = true;
    if (selected_.empty()) {  // nothing wanted below max_frames: no decoder needed
      ended_ = true;
      return;
    }
    std::string expression;
    for (std::size_t i = 0; i < selected_.size();) {
      std::size_t j = i;
      while (j + 1 < selected_.size() && selected_[j + 1] == selected_[j] + 1) ++j;
      // Commas inside a filter's arguments are escaped for ffmpeg's filtergraph parser (no shell here).
      expression +=
          (expression.empty() ? "" : "+") + (i == j ? vbatch::detail::format("eq(n\\,{})", selected_[i])
                                                    : vbatch::detail::format("between(n\\,{}\\,{})", selected_[i], selected_[j]));
      i = j + 1;
    }
    argv.insert(argv.end(), {"-vf", "select=" + expression, "-frames:v", std::to_string(selected_.size())});
  }

  void probe_size() {
    const video_info info = probe_video(file_, options_.probe);
    width_ = info.width, height_ = info.height;
  }

  std::filesystem::path file_;
  video_options options_;
  int width_ = 0, height_ = 0;
  std::int64_t position_ = 0;
  bool ended_ = false, selecting_ = false;
  std::vector<std::int64_t> selected_;  // the frames that come through the pipe, when selecting_
  std::size_t next_selected_ = 0;
  std::unique_ptr<detail::child_process> process_;
  batch_buffer<u8> frame_;
  std::vector<unsigned char> scratch_;
};

}  // namespace vbatch::inline v0::io
