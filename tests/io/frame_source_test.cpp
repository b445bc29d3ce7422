// Frame sources: natural order of file names, image sequences, and raw frames piped from ffmpeg
// (small clips generated here by ffmpeg itself; skipped only where ffmpeg is not installed), with
// the access planner on both: scattered, repeated and out-of-range requests served in one pass.

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "io/video_clips.hpp"
#include "test_util.hpp"
#include "vbatch/io/frame_source.hpp"
#include "vbatch/io/planner.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using vbatch_test::ffmpeg;
using vbatch_test::numbered_clip;
using vbatch_test::numbered_frame;
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

// probe_video reads the headers only: the size, the rate, and the frame count where the container
// states it (MP4's index does; FFV1 in Matroska states none).
TEST(ProbeVideo, ReadsSizeRateAndTheStatedFrameCount) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const vb::io::video_info mkv = vb::io::probe_video(numbered_clip(dir, 7));
  EXPECT_EQ(mkv.width, 32);
  EXPECT_EQ(mkv.height, 24);
  EXPECT_DOUBLE_EQ(mkv.frame_rate, 25);
  EXPECT_FALSE(mkv.frames.has_value());
  ffmpeg({"-f", "lavfi", "-i", "testsrc=size=48x32:rate=10", "-frames:v", "13", "-pix_fmt", "yuv420p", (dir / "t.mp4").string()});
  const vb::io::video_info mp4 = vb::io::probe_video(dir / "t.mp4");
  EXPECT_EQ(mp4.frames, 13);
  EXPECT_DOUBLE_EQ(mp4.frame_rate, 10);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::probe_video(dir / "frames" / "000.png.missing"); }, vb::errc::corrupt_data,
                           {"000.png.missing"}));
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
