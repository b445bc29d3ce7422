// The prefetching loader: every image delivered once, in order, in batches of one size, equal to
// load_image, whatever the workers, prefetch depth and batch size; never more than `prefetch`
// batches ahead; a bad file fails its batch after the batches before it, naming the file; bad
// headers fail before any decoding.

#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/loader.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using vbatch_test::temp_dir;
using vbatch_test::throws_error;

// n images: PNGs of two sizes in runs (sizes change at 3, 5 and 9), each with different pixels.
std::vector<fs::path> make_images(const temp_dir& dir, int n) {
  std::vector<fs::path> files;
  for (int i = 0; i < n; ++i) {
    const bool small = (i >= 3 && i < 5) || i >= 9;
    const auto img = vbatch_test::random_images<vb::u8>({1, small ? 12 : 16, small ? 20 : 24, 3}, 100 + i);
    files.push_back(dir / ("img_" + std::to_string(i) + ".png"));
    vb::save_image(files.back(), img.view());
  }
  return files;
}

TEST(ImageLoader, DeliversEveryImageOnceInOrderForAnyWorkersPrefetchAndBatch) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 14);
  std::vector<vb::batch_buffer<vb::u8>> expected;
  for (const auto& f : files) expected.push_back(vb::load_image(f, 3));
  std::mt19937 rng(8);
  for (int trial = 0; trial < 12; ++trial) {
    const vb::loader_options o{.workers = 1 + int(rng() % 4), .prefetch = 1 + int(rng() % 3), .batch = 1 + int(rng() % 4)};
    SCOPED_TRACE(vb::detail::format("workers {}, prefetch {}, batch {}", o.workers, o.prefetch, o.batch));
    vb::image_loader loader(files, o);
    std::size_t next_image = 0, next_batch = 0;
    while (auto b = loader.next()) {
      EXPECT_EQ(b->index, next_batch++);
      EXPECT_EQ(b->first, next_image);
      ASSERT_GE(b->images.n, 1);
      EXPECT_LE(b->images.n, o.batch);
      ASSERT_EQ(b->items.size(), std::size_t(b->images.n));
      for (int i = 0; i < b->images.n; ++i, ++next_image) {
        EXPECT_EQ(b->items[std::size_t(i)].path, files[next_image]);
        EXPECT_TRUE(vbatch_test::same_bytes(b->images.image(i), expected[next_image].view())) << "image " << next_image;
      }
    }
    EXPECT_EQ(next_image, files.size());
    EXPECT_EQ(next_batch, loader.batch_count());
    loader.close();
    const vb::loader_stats s = loader.stats();
    EXPECT_EQ(s.images, files.size());
    EXPECT_LE(s.peak_ahead, std::size_t(o.prefetch));
  }
}

TEST(ImageLoader, BatchesNeverMixSizes) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 12);
  vb::image_loader loader(files, {.workers = 2, .prefetch = 2, .batch = 8});
  std::vector<int> sizes;
  while (auto b = loader.next()) sizes.push_back(b->images.n);
  EXPECT_EQ(sizes, (std::vector<int>{3, 2, 4, 3}));  // runs 0-2, 3-4, 5-8, 9-11
}

TEST(ImageLoader, KeepsABatchValidAfterItsLoaderIsGone) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 3);
  std::optional<vb::loaded_batch> kept;
  {
    vb::image_loader loader(files, {.workers = 2, .batch = 3});
    kept = loader.next();
  }
  ASSERT_TRUE(kept);
  EXPECT_TRUE(vbatch_test::same_bytes(kept->images.image(2), vb::load_image(files[2], 3).view()));
}

TEST(ImageLoader, ABadFileFailsItsBatchAfterTheBatchesBeforeIt) {
  temp_dir dir;
  std::vector<fs::path> files = make_images(dir, 8);
  // Image 5 has a valid header (so the loader accepts it up front) but its data is cut.
  std::vector<unsigned char> bytes = vbatch_test::read_bytes(files[5]);
  bytes.resize(bytes.size() / 2);
  vbatch_test::write_bytes(files[5], bytes);
  for (int workers : {1, 3}) {
    vb::image_loader loader(files, {.workers = workers, .prefetch = 2, .batch = 2});
    std::size_t delivered = 0;
    EXPECT_TRUE(throws_error(
        [&] {
          while (auto b = loader.next()) delivered += std::size_t(b->images.n);
        },
        vb::errc::corrupt_data, {"img_5.png"}));
    EXPECT_EQ(delivered, 5u) << "batches {0,1}, {2}, {3,4} come first; {5,6} fails";
    EXPECT_FALSE(loader.next().has_value()) << "nothing after a failed batch";
  }
}

TEST(ImageLoader, HeadersAreCheckedBeforeAnyDecoding) {
  temp_dir dir;
  std::vector<fs::path> files = make_images(dir, 3);
  files.push_back(dir / "missing.png");
  EXPECT_TRUE(throws_error([&] { vb::image_loader loader(files); }, vb::errc::io, {"missing.png"}));
  files.pop_back();
  EXPECT_TRUE(throws_error([&] { vb::image_loader loader(files, {.limits = {.max_pixels = 100}}); }, vb::errc::limit_exceeded,
                           {"img_0.png"}));
  EXPECT_TRUE(throws_error([&] { vb::image_loader loader(files, {.prefetch = 0}); }, vb::errc::invalid_argument, {"prefetch"}));
  EXPECT_TRUE(throws_error([&] { vb::image_loader loader(files, {.channels = 2}); }, vb::errc::invalid_argument, {"2 channels"}));
}

TEST(ImageLoader, ChannelsZeroKeepsEachFilesOwn) {
  temp_dir dir;
  vb::save_image(dir / "a.png", vbatch_test::random_images<vb::u8>({1, 8, 8, 1}, 1).view());
  vb::save_image(dir / "b.png", vbatch_test::random_images<vb::u8>({1, 8, 8, 4}, 2).view());
  vb::image_loader loader(std::vector<fs::path>{dir / "a.png", dir / "b.png"}, {.batch = 2, .channels = 0});
  auto first = loader.next(), second = loader.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->images.c, 1);
  EXPECT_EQ(second->images.c, 4);
  EXPECT_FALSE(loader.next());
}

TEST(ImageLoader, ReportsToTheProfiler) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 4);
  vb::profile::profiler prof;
  {
    vb::image_loader loader(files, {.workers = 2, .profiler = &prof, .stage_name = "decode"});
    while (loader.next()) {
    }
  }
  const auto r = prof.report();
  ASSERT_EQ(r.stages.size(), 1u);
  EXPECT_EQ(r.stages[0].name, "decode");
  EXPECT_EQ(r.stages[0].kind, vb::profile::stage_kind::io);
  EXPECT_EQ(r.stages[0].items, 4u);
}

TEST(ImageLoader, AnEmptyListGivesNothing) {
  vb::image_loader loader(std::vector<fs::path>{});
  EXPECT_FALSE(loader.next());
  EXPECT_EQ(loader.batch_count(), 0u);
}

}  // namespace
