// Frame sources: natural order of file names, image sequences, and raw frames piped from ffmpeg
// (small clips generated here by ffmpeg itself; skipped only where ffmpeg is not installed), with
// the access planner on both: scattered, repeated and out-of-range requests served in one pass.

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/planner.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using vbatch_test::temp_dir;
using vbatch_test::throws_error;

TEST(NaturalOrder, NumbersCompareByValue) {
  std::vector<std::string> names = {"f_10.jpg",  "f_2.jpg", "f_1.jpg",  "f_02.jpg", "g.jpg",
                                    "f_100.png", "F_3.jpg", "f_9a.jpg", "f_9.jpg"};
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return vb::io::natural_less(a, b); });
  EXPECT_EQ(names, (std::vector<std::string>{"F_3.jpg", "f_1.jpg", "f_02.jpg", "f_2.jpg", "f_9.jpg", "f_9a.jpg", "f_10.jpg",
                                             "f_100.png", "g.jpg"}));
  EXPECT_FALSE(vb::io::natural_less("a", "a"));
  EXPECT_TRUE(vb::io::natural_less("a1", "a01") != vb::io::natural_less("a01", "a1"));  // a total order
  EXPECT_TRUE(vb::io::natural_less("frame_0099", "frame_100"));
}

// Frames whose pixels say which frame they are: value (7 i + 3 x + y) mod 256 per channel offset.
vb::batch_buffer<vb::u8> numbered_frame(int i, int w = 32, int h = 24) {
  vb::batch_buffer<vb::u8> f({1, h, w, 3});  // (1,H,W,3)
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) f.view()(0, y, x, c) = static_cast<vb::u8>((7 * i + 3 * x + y + 50 * c) % 256);
  return f;
}

TEST(ImageSequence, ReadsFilesInNaturalOrderAndSkipsWithoutOpening) {
  temp_dir dir;
  for (int i : {0, 1, 2, 10, 11}) vb::io::save_image(dir / ("f_" + std::to_string(i) + ".png"), numbered_frame(i).view());
  vbatch_test::write_bytes(dir / "notes.txt", {'x'});
  vbatch_test::write_bytes(dir / "f_3.png", {1, 2, 3});  // broken, but skipped below, so never opened
  auto seq = vb::io::image_sequence<>::from_directory(dir.path());
  ASSERT_EQ(seq.size(), 6);
  EXPECT_EQ(seq.file(3).filename(), "f_3.png");
  EXPECT_EQ(seq.file(4).filename(), "f_10.png");
  auto f0 = seq.next();
  ASSERT_TRUE(f0);
  EXPECT_EQ(f0->index, 0);
  EXPECT_TRUE(vbatch_test::same_bytes(f0->pixels, numbered_frame(0).view()));
  EXPECT_EQ(seq.skip(3), 3);  // frames 1, 2 and the broken 3
  auto f4 = seq.next();
  ASSERT_TRUE(f4);
  EXPECT_EQ(f4->index, 4);
  EXPECT_TRUE(vbatch_test::same_bytes(f4->pixels, numbered_frame(10).view()));
  EXPECT_EQ(seq.skip(10), 1);
  EXPECT_FALSE(seq.next());
  EXPECT_TRUE(throws_error([&] { (void)vb::io::list_images(dir / "notes.txt"); }, vb::errc::io, {"notes.txt"}));
}

// ---- ffmpeg -------------------------------------------------------------------------------------

bool on_path(const std::string& program) {
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

#define REQUIRE_FFMPEG()                         \
  if (!on_path("ffmpeg") || !on_path("ffprobe")) \
  GTEST_SKIP() << "ffmpeg is not installed here (Debian: apt-get install ffmpeg; scripts/setup.sh does)"

// Runs ffmpeg with an argument vector (no shell), failing the test on a non-zero exit.
void ffmpeg(std::vector<std::string> args) {
  args.insert(args.begin(), {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"});
  vb::io::detail::child_process p(args);
  char buf[4096];
  while (p.read_exactly(buf, sizeof buf) > 0) {
  }
  ASSERT_EQ(p.wait(), 0) << p.error_text();
}

// A lossless clip of `n` numbered frames (FFV1, RGB), so frames can be compared exactly.
fs::path numbered_clip(const temp_dir& dir, int n, const std::string& name = "clip.mkv") {
  const fs::path frames = dir / "frames";
  fs::create_directories(frames);
  for (int i = 0; i < n; ++i) {
    char file[32];
    std::snprintf(file, sizeof file, "%03d.png", i);
    vb::io::save_image(frames / file, numbered_frame(i).view());
  }
  const fs::path clip = dir / name;
  ffmpeg({"-framerate", "25", "-i", (frames / "%03d.png").string(), "-c:v", "ffv1", "-pix_fmt", "bgr0", clip.string()});
  return clip;
}

TEST(RawVideo, ReadsEveryFrameOfAClipExactlyInOrder) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 12);
  vb::io::raw_video video(clip);
  EXPECT_EQ(video.width(), 32);
  EXPECT_EQ(video.height(), 24);
  EXPECT_FALSE(video.size().has_value()) << "a video's length is known once read";
  int i = 0;
  while (auto f = video.next()) {
    ASSERT_EQ(f->index, i);
    ASSERT_TRUE(vbatch_test::same_bytes(f->pixels, numbered_frame(i).view())) << "frame " << i;
    ++i;
  }
  EXPECT_EQ(i, 12);
  EXPECT_EQ(video.size(), 12);
}

TEST(RawVideo, SkipsAndStopsEarly) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 20);
  {
    vb::io::raw_video video(clip, {.max_frames = 8});
    EXPECT_EQ(video.skip(5), 5);
    auto f = video.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->index, 5);
    EXPECT_TRUE(vbatch_test::same_bytes(f->pixels, numbered_frame(5).view()));
    EXPECT_EQ(video.skip(10), 2) << "the decoder stops after max_frames";
  }
  {
    vb::io::raw_video video(clip);
    ASSERT_TRUE(video.next());
    video.close();  // the rest is not needed: the decoder is stopped and reaped
    EXPECT_FALSE(video.next());
  }
}

TEST(RawVideo, ReadsATestsrcH264ClipInGray) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = dir / "testsrc.mp4";
  ffmpeg({"-f", "lavfi", "-i", "testsrc=size=48x32:rate=10", "-frames:v", "15", "-pix_fmt", "yuv420p", clip.string()});
  vb::io::raw_video video(clip, {.channels = 1});
  int n = 0;
  while (auto f = video.next()) {
    EXPECT_EQ(f->pixels.shape(), (vb::batch_shape{1, 32, 48, 1}));
    ++n;
  }
  EXPECT_EQ(n, 15);
}

TEST(RawVideo, NamesWithShellCharactersAreJustNames) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 3, "a clip; touch PWNED $(touch PWNED2) 'q'.mkv");
  vb::io::raw_video video(clip);
  int n = 0;
  while (video.next()) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_FALSE(fs::exists(dir / "PWNED"));
  EXPECT_FALSE(fs::exists("PWNED2"));
}

TEST(RawVideo, ErrorsNameTheFileOrTheMissingDecoder) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  vbatch_test::write_bytes(dir / "junk.mp4", {1, 2, 3, 4, 5});
  EXPECT_TRUE(throws_error([&] { vb::io::raw_video v(dir / "junk.mp4"); }, vb::errc::corrupt_data, {"junk.mp4"}));
  EXPECT_TRUE(throws_error([&] { vb::io::raw_video v(dir / "none.mp4"); }, vb::errc::io, {"none.mp4"}));
  const fs::path clip = numbered_clip(dir, 2);
  EXPECT_TRUE(throws_error([&] { vb::io::raw_video v(clip, {.probe = "/nonexistent/ffprobe"}); }, vb::errc::unsupported,
                           {"/nonexistent/ffprobe", "ffmpeg"}));
  EXPECT_TRUE(throws_error([&] { vb::io::raw_video v(clip, {.decoder = "/nonexistent/ffmpeg"}); }, vb::errc::unsupported,
                           {"/nonexistent/ffmpeg"}));
}

// The planner over a video: requests in any order with repeats, some past the end; each
// distinct frame served once, in order, in one pass; the out-of-range ones named.
TEST(FramePlan, ServesAVideoInOnePass) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 30);
  vb::io::frame_plan<std::string> plan;
  for (const auto& [frame, name] : std::vector<std::pair<std::int64_t, std::string>>{
           {17, "a"}, {3, "b"}, {29, "c"}, {3, "d"}, {44, "e"}, {-2, "f"}, {30, "g"}, {0, "h"}, {17, "i"}})
    plan.add(frame, name);
  EXPECT_EQ(plan.requests(), 9u);
  EXPECT_EQ(plan.last(), 44);
  vb::io::raw_video video(clip);
  std::vector<std::pair<std::int64_t, std::vector<std::string>>> served;
  const vb::io::plan_report r = plan.run(video, [&](const vb::io::frame_view& f, std::span<const std::string> names) {
    EXPECT_TRUE(vbatch_test::same_bytes(f.pixels, numbered_frame(int(f.index)).view())) << f.index;
    served.emplace_back(f.index, std::vector<std::string>(names.begin(), names.end()));
  });
  using served_t = std::vector<std::pair<std::int64_t, std::vector<std::string>>>;
  EXPECT_EQ(served, (served_t{{0, {"h"}}, {3, {"b", "d"}}, {17, {"a", "i"}}, {29, {"c"}}}));
  EXPECT_EQ(r.distinct, 7u);
  EXPECT_EQ(r.served, 4u);
  EXPECT_EQ(r.frames_read, 4);
  EXPECT_EQ(r.frames_skipped, 26);
  EXPECT_EQ(r.out_of_range, (std::vector<std::int64_t>{-2, 30, 44}));
  EXPECT_EQ(r.source_frames, 30);
  EXPECT_TRUE(throws_error([&] { r.throw_if_out_of_range("clip.mkv"); }, vb::errc::invalid_argument,
                           {"frames -2, 30, 44", "clip.mkv has 30 frames (0..29)"}));
}

// With video_options::frames, ffmpeg passes only those frames: the same pixels as a full pass,
// runs of consecutive frames included, and the plan served identically; the end of the stream is
// found at a wanted frame, so the size stays unknown until counted.
TEST(FramePlan, ServesAVideoThroughASelectionLikeAFullPass) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 30);
  vb::io::frame_plan<std::string> plan;
  for (const std::int64_t f : {17, 3, 29, 3, 44, -2, 30, 0, 18, 19, 5}) plan.add(f, std::to_string(f));
  EXPECT_EQ(plan.selection(), (std::vector<std::int64_t>{0, 3, 5, 17, 18, 19, 29, 30, 44}));
  std::vector<std::int64_t> full_pass, selected_pass;
  vb::io::plan_report full, selected;
  {
    vb::io::raw_video video(clip);
    full = plan.run(video, [&](const vb::io::frame_view& f, std::span<const std::string>) { full_pass.push_back(f.index); });
  }
  {
    vb::io::raw_video video(clip, {.frames = plan.selection()});
    selected = plan.run(video, [&](const vb::io::frame_view& f, std::span<const std::string> names) {
      EXPECT_TRUE(vbatch_test::same_bytes(f.pixels, numbered_frame(int(f.index)).view())) << f.index;
      EXPECT_EQ(names.front(), std::to_string(f.index));
      selected_pass.push_back(f.index);
    });
    EXPECT_FALSE(selected.source_frames.has_value()) << "the selection ended at frame 30: the count is not known";
    EXPECT_EQ(video.count_frames(), 30);
  }
  EXPECT_EQ(selected_pass, full_pass);
  EXPECT_EQ(selected_pass, (std::vector<std::int64_t>{0, 3, 5, 17, 18, 19, 29}));
  EXPECT_EQ(selected.out_of_range, full.out_of_range);
  EXPECT_EQ(selected.out_of_range, (std::vector<std::int64_t>{-2, 30, 44}));
  EXPECT_EQ(full.source_frames, 30);
}

TEST(RawVideo, ASelectionIsCheckedAndOnlyItsFramesCanBeRead) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 10);
  EXPECT_TRUE(throws_error([&] { vb::io::raw_video v(clip, {.frames = {4, 2}}); }, vb::errc::invalid_argument, {"increasing"}));
  EXPECT_TRUE(throws_error([&] { vb::io::raw_video v(clip, {.frames = {-1, 2}}); }, vb::errc::invalid_argument, {">= 0"}));
  EXPECT_TRUE(throws_error([&] { vb::io::raw_video v(clip, {.frames = {2, 2}}); }, vb::errc::invalid_argument, {"distinct"}));
  {
    vb::io::raw_video video(clip, {.frames = {2, 6, 7}});
    EXPECT_TRUE(throws_error([&] { (void)video.next(); }, vb::errc::invalid_argument, {"frame 0 is not among"}));
    EXPECT_EQ(video.skip(6), 6);  // passes frame 2, read and dropped
    auto f = video.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->index, 6);
    EXPECT_TRUE(vbatch_test::same_bytes(f->pixels, numbered_frame(6).view()));
    f = video.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->index, 7);
    EXPECT_TRUE(vbatch_test::same_bytes(f->pixels, numbered_frame(7).view()));
  }
  {
    vb::io::raw_video video(clip, {.max_frames = 3, .frames = {5, 8}});  // nothing below max_frames: no decoder at all
    EXPECT_EQ(video.skip(5), 0);
    EXPECT_FALSE(video.next());
  }
}

}  // namespace
