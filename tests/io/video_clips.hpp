#pragma once
// Small video clips for tests, made by ffmpeg itself (tests that need one skip only where ffmpeg
// is not installed): frames whose pixels say which frame they are, and a lossless clip of them.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/image_io.hpp"

namespace vbatch_test {

namespace fs = std::filesystem;

// Frames whose pixels say which frame they are: value (7 i + 3 x + y) mod 256 per channel offset.
inline vbatch::batch_buffer<vbatch::u8> numbered_frame(int i, int w = 32, int h = 24) {
  vbatch::batch_buffer<vbatch::u8> f({1, h, w, 3});  // (1,H,W,3)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) f.view()(0, y, x, c) = static_cast<vbatch::u8>((7 * i + 3 * x + y + 50 * c) % 256);
  return f;
}

inline bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t first = 0; first <= dirs.size();) {
    const std::size_t colon = std::min(dirs.find(':', first), dirs.size());
    const fs::path candidate = fs::path(dirs.substr(first, colon - first)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    first = colon + 1;
  }
  return false;
}

// Runs ffmpeg with an argument vector (no shell), failing the test on a non-zero exit.
inline void ffmpeg(std::vector<std::string> args) {
  args.insert(args.begin(), {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"});
  vbatch::io::detail::child_process p(args);
  char buf[4096];
  while (p.read_exactly(buf, sizeof buf) > 0) {
  }
  ASSERT_EQ(p.wait(), 0) << p.error_text();
}

// A lossless clip of `n` numbered frames (FFV1, RGB), so frames can be compared exactly.
inline fs::path numbered_clip(const temp_dir& dir, int n, const std::string& name = "clip.mkv") {
  const fs::path frames = dir / "frames";
  fs::create_directories(frames);
  for (int i = 0; i < n; ++i) {
    char file[32];
    std::snprintf(file, sizeof file, "%03d.png", i);
    vbatch::io::save_image(frames / file, numbered_frame(i).view());
  }
  const fs::path clip = dir / name;
  ffmpeg({"-framerate", "25", "-i", (frames / "%03d.png").string(), "-c:v", "ffv1", "-pix_fmt", "bgr0", clip.string()});
  return clip;
}

}  // namespace vbatch_test

#define REQUIRE_FFMPEG()                                                   \
  if (!vbatch_test::on_path("ffmpeg") || !vbatch_test::on_path("ffprobe")) \
  GTEST_SKIP() << "ffmpeg is not installed here (Debian: apt-get install ffmpeg; scripts/setup.sh does)"
