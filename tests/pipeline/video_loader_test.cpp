// video_loader: a video's selected frames in batches, decoded ahead on a thread of its own, as a
// pipeline source (lossless clips made here by ffmpeg; skipped only where ffmpeg is not installed).

#include <cstdint>
#include <string>
#include <vector>

#include "io/video_clips.hpp"
#include "test_util.hpp"
#include "vbatch/pipeline/video_loader.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
namespace pl = vbatch::pipeline;
using vbatch_test::numbered_clip;
using vbatch_test::numbered_frame;
using vbatch_test::temp_dir;
using vbatch_test::throws_error;

// Every selected frame arrives once, in order, in batches of the policy's sizes, with the pixels
// of that frame (a lossless clip: byte for byte), whatever the window.
TEST(VideoLoader, DeliversTheSelectedFramesInOrderInBatches) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 20);
  const std::vector<std::int64_t> wanted = {0, 1, 2, 5, 9, 10, 17, 19};
  for (int prefetch : {1, 3}) {
    pl::video_loader video(clip, wanted, vb::batch::fixed(3), {.prefetch = prefetch});
    EXPECT_EQ(video.batch_count(), 3u);
    EXPECT_EQ(video.largest_batch(), 3u);
    EXPECT_EQ(video.width(), 32);
    std::size_t seen = 0, batches = 0;
    while (auto b = video.next()) {
      EXPECT_EQ(b->index, batches++);
      EXPECT_EQ(b->first, seen);
      EXPECT_EQ(b->items.size(), std::size_t(b->images.n));
      for (int i = 0; i < b->images.n; ++i, ++seen)
        EXPECT_TRUE(vbatch_test::same_bytes(b->images.image(i), numbered_frame(int(wanted[seen])).view()))
            << "frame " << wanted[seen] << ", prefetch " << prefetch;
    }
    EXPECT_EQ(seen, wanted.size());
    EXPECT_EQ(batches, 3u);
  }
}

// As a run's source: one item per batch, and the loader's "decode" row in the report.
TEST(VideoLoader, IsAPipelineSourceWithADecodeRow) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 9);
  pl::video_loader video(clip, {1, 3, 4, 8}, vb::batch::fixed(2));
  std::vector<int> first_values;
  const pl::report r =
      pl::run(pl::options{}, video, pl::stage("look", [&](pl::loaded_batch b) { first_values.push_back(b.images(0, 0, 0, 0)); }));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(r.items, 2u);
  EXPECT_EQ(first_values, (std::vector<int>{numbered_frame(1).view()(0, 0, 0, 0), numbered_frame(4).view()(0, 0, 0, 0)}));
  ASSERT_FALSE(r.stages.empty());
  EXPECT_EQ(r.stages.front().name, "decode");
  EXPECT_EQ(r.stages.front().items, 4u);
}

// A frame past the end ends the run there: the batches before it arrive, then the frames of its
// batch read before it (a shorter batch), then next() names the file and the frame.
TEST(VideoLoader, AFramePastTheEndEndsTheRunAfterEveryFrameBeforeIt) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 6);
  pl::video_loader video(clip, {0, 1, 3, 4, 7, 8}, vb::batch::fixed(3));
  const auto first = video.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->images.n, 3);
  const auto partial = video.next();
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->index, 1u);
  EXPECT_EQ(partial->first, 3u);
  ASSERT_EQ(partial->images.n, 1);
  ASSERT_EQ(partial->items.size(), 1u);
  EXPECT_TRUE(vbatch_test::same_bytes(partial->images.image(0), numbered_frame(4).view()));
  EXPECT_TRUE(throws_error([&] { (void)video.next(); }, vb::errc::invalid_argument, {"clip.mkv", "frame 7", "past the end"}));
  EXPECT_FALSE(video.next());
  // A batch whose first frame is past the end: nothing of it arrives, the error comes at once.
  pl::video_loader at_start(clip, {0, 1, 7}, vb::batch::fixed(2));
  ASSERT_TRUE(at_start.next());
  EXPECT_TRUE(throws_error([&] { (void)at_start.next(); }, vb::errc::invalid_argument, {"frame 7"}));
  EXPECT_FALSE(at_start.next());
}

TEST(VideoLoader, BadArgumentsAreNamed) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 3);
  EXPECT_TRUE(throws_error([&] { pl::video_loader v(clip, {}, vb::batch::fixed(1)); }, vb::errc::invalid_argument,
                           {"no frames", "clip.mkv"}));
  EXPECT_TRUE(throws_error(
      [&] {
        pl::video_loader v(clip, {2, 1}, vb::batch::fixed(1));
      },
      vb::errc::invalid_argument, {"increasing"}));
  EXPECT_TRUE(throws_error([&] { pl::video_loader v(clip, {0}, vb::batch::fixed(1), {.prefetch = 0}); },
                           vb::errc::invalid_argument, {"prefetch"}));
  EXPECT_TRUE(throws_error([&] { pl::video_loader v(dir / "none.mp4", {0}, vb::batch::fixed(1)); }, vb::errc::io, {"none.mp4"}));
}

// Closing early (a consumer that stops after one batch) stops the decoder and returns.
TEST(VideoLoader, ClosingEarlyStopsTheDecoder) {
  REQUIRE_FFMPEG();
  temp_dir dir;
  const fs::path clip = numbered_clip(dir, 12);
  pl::video_loader video(clip, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, vb::batch::fixed(1), {.prefetch = 2});
  const auto b = video.next();
  ASSERT_TRUE(b);
  video.close();
  EXPECT_FALSE(video.next());
  EXPECT_TRUE(vbatch_test::same_bytes(b->images, numbered_frame(0).view())) << "a batch handed out stays valid";
}

}  // namespace
