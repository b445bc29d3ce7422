// Request lists ("FRAME [NAME]" or CSV per line, `frames --requests`): the frames tool's own
// parser (read_request_file and make_plan, compiled from examples/06_frames/frames.cpp unchanged,
// its main renamed), then the access planner (io::frame_plan) run over a source of a few frames.
// The tool's parser reports bad lines with std::runtime_error (vbatch_tools::fail): expected here.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#define main vbatch_frames_main
#include "examples/06_frames/frames.cpp"
#undef main

#include "fuzz_util.hpp"

namespace {

// A source of `frames` 1x1 frames, as the planner sees image_sequence (its size known) or
// raw_video (unknown until it ends).
struct fake_source {
  std::int64_t frames = 0, at = 0;
  bool size_known = true;
  vbatch::u8 pixel[3] = {};
  std::optional<std::int64_t> size() const { return size_known ? std::optional(frames) : std::nullopt; }
  std::int64_t position() const { return at; }
  std::int64_t skip(std::int64_t n) {
    const std::int64_t moved = std::min(n, frames - at);
    at += moved;
    return moved;
  }
  std::optional<vbatch::io::frame_view> next() {
    if (at >= frames) return std::nullopt;
    return vbatch::io::frame_view{at++, vbatch::batch_view<const vbatch::u8>::dense(pixel, {1, 1, 1, 3})};
  }
};

// The list is read from a file, as the tool reads it: an in-memory one.
const std::string& list_file() {
  static const std::string path = [] {
    const int fd = ::memfd_create("requests.txt", 0);
    if (fd < 0) vbatch_fuzz::finding("memfd_create failed");
    return "/proc/self/fd/" + std::to_string(fd);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = std::stoi(list_file().substr(list_file().rfind('/') + 1));
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    vbatch_fuzz::finding("cannot write the list");
  std::vector<request> requests;
  try {
    requests = read_request_file(list_file(), "jpg");
  } catch (const std::runtime_error&) {  // vbatch_tools::fail: a bad list, named by file and line
    return 0;
  }
  for (const bool size_known : {true, false}) {
    std::vector<std::int64_t> capped;
    vbatch::io::frame_plan<std::string> plan;
    try {
      plan = make_plan(requests, static_cast<std::int64_t>(size % 64), capped);  // --max-frames 0..63 (0: none)
    } catch (const std::runtime_error&) {                                        // one name for two frames
      return 0;
    }
    fake_source source{.frames = static_cast<std::int64_t>(size % 50), .size_known = size_known};
    std::int64_t last_served = -1;
    std::size_t served = 0;
    const vbatch::io::plan_report r = plan.run(source, [&](const vbatch::io::frame_view& f, std::span<const std::string> names) {
      if (f.index <= last_served || names.empty()) vbatch_fuzz::finding("frames served out of order or without a request");
      last_served = f.index;
      ++served;
    });
    if (r.served != served || r.served + r.out_of_range.size() != r.distinct)
      vbatch_fuzz::finding("the plan's report does not add up");
    (void)r.describe_out_of_range("clip.mp4");
  }
  return 0;
}
