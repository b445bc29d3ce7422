// The prefetching loader: every image delivered once, in order, in batches of one size, equal to
// load_image, whatever the workers, prefetch depth and batch size; never more than `prefetch`
// batches ahead; a bad file fails its batch after the batches before it, naming the file; bad
// headers fail before any decoding.

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "vbatch/pipeline/loader.hpp"

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
    vb::io::save_image(files.back(), img.view());
  }
  return files;
}

TEST(ImageLoader, DeliversEveryImageOnceInOrderForAnyWorkersPrefetchAndBatch) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 14);
  std::vector<vb::batch_buffer<vb::u8>> expected;
  for (const auto& f : files) expected.push_back(vb::io::load_image(f, 3));
  std::mt19937 rng(8);
  for (int trial = 0; trial < 12; ++trial) {
    const vb::pipeline::loader_options o{
        .workers = 1 + int(rng() % 4), .prefetch = 1 + int(rng() % 3), .batch = 1 + int(rng() % 4)};
    SCOPED_TRACE(vb::detail::format("workers {}, prefetch {}, batch {}", o.workers, o.prefetch, o.batch));
    vb::pipeline::image_loader loader(files, o);
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
    const vb::pipeline::loader_stats s = loader.stats();
    EXPECT_EQ(s.images, files.size());
    EXPECT_LE(s.peak_ahead, std::size_t(o.prefetch));
  }
}

TEST(ImageLoader, BatchesNeverMixSizes) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 12);
  vb::pipeline::image_loader loader(files, {.workers = 2, .prefetch = 2, .batch = 8});
  std::vector<int> sizes;
  while (auto b = loader.next()) sizes.push_back(b->images.n);
  EXPECT_EQ(sizes, (std::vector<int>{3, 2, 4, 3}));  // runs 0-2, 3-4, 5-8, 9-11
}

TEST(ImageLoader, KeepsABatchValidAfterItsLoaderIsGone) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 3);
  std::optional<vb::pipeline::loaded_batch> kept;
  {
    vb::pipeline::image_loader loader(files, {.workers = 2, .batch = 3});
    kept = loader.next();
  }
  ASSERT_TRUE(kept);
  EXPECT_TRUE(vbatch_test::same_bytes(kept->images.image(2), vb::io::load_image(files[2], 3).view()));
}

TEST(ImageLoader, ABadFileFailsItsBatchAfterTheBatchesBeforeIt) {
  temp_dir dir;
  std::vector<fs::path> files = make_images(dir, 8);
  // Image 5 has a valid header (so the loader accepts it up front) but its data is cut.
  std::vector<unsigned char> bytes = vbatch_test::read_bytes(files[5]);
  bytes.resize(bytes.size() / 2);
  vbatch_test::write_bytes(files[5], bytes);
  for (int workers : {1, 3}) {
    vb::pipeline::image_loader loader(files, {.workers = workers, .prefetch = 2, .batch = 2});
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
  EXPECT_TRUE(throws_error([&] { vb::pipeline::image_loader loader(files); }, vb::errc::io, {"missing.png"}));
  files.pop_back();
  EXPECT_TRUE(throws_error([&] { vb::pipeline::image_loader loader(files, {.limits = {.max_pixels = 100}}); },
                           vb::errc::limit_exceeded, {"img_0.png"}));
  EXPECT_TRUE(throws_error([&] { vb::pipeline::image_loader loader(files, {.prefetch = -1}); }, vb::errc::invalid_argument,
                           {"prefetch"}));
  EXPECT_TRUE(throws_error([&] { vb::pipeline::image_loader loader(files, {.channels = 2}); }, vb::errc::invalid_argument,
                           {"2 channels"}));
}

TEST(ImageLoader, ChannelsZeroKeepsEachFilesOwn) {
  temp_dir dir;
  vb::io::save_image(dir / "a.png", vbatch_test::random_images<vb::u8>({1, 8, 8, 1}, 1).view());
  vb::io::save_image(dir / "b.png", vbatch_test::random_images<vb::u8>({1, 8, 8, 4}, 2).view());
  vb::pipeline::image_loader loader(std::vector<fs::path>{dir / "a.png", dir / "b.png"}, {.batch = 2, .channels = 0});
  auto first = loader.next(), second = loader.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->images.c, 1);
  EXPECT_EQ(second->images.c, 4);
  EXPECT_FALSE(loader.next());
}

// As a pipeline source: batch k is item k, the run's report and profile have the loader's
// "decode" row in place of the source's, and only the run reports to the profiler.
TEST(ImageLoader, AsAPipelineSourceItsDecodeRowJoinsTheRun) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 5);
  vb::profile::profiler prof;
  vb::pipeline::image_loader loader(files, {.workers = 2, .batch = 2});
  std::vector<std::size_t> firsts;
  vb::pipeline::options o;
  o.profiler = &prof;
  const vb::pipeline::report r =
      vb::pipeline::run(o, loader, vb::pipeline::stage("use", [&](vb::pipeline::loaded_batch b) { firsts.push_back(b.first); }));
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(r.items, 3u);
  EXPECT_EQ(firsts, (std::vector<std::size_t>{0, 2, 3}));  // runs of one size: 0-2, 3-4
  ASSERT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.stages[0].name, "decode");
  EXPECT_EQ(r.stages[0].kind, vb::profile::stage_kind::io);
  EXPECT_EQ(r.stages[0].items, 5u);  // images
  EXPECT_EQ(r.stages[0].workers, 2);
  EXPECT_GT(r.stages[0].busy, 0.0);
  const auto p = prof.report();
  ASSERT_EQ(p.stages.size(), 2u);
  EXPECT_EQ(p.stages[0].name, "decode");
  EXPECT_EQ(p.stages[0].items, 5u);
}

// A file that fails to decode fails its batch's item, named in the run's one report; the
// batches before it are done.
TEST(ImageLoader, AsAPipelineSourceADecodeFailureFailsItsItem) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 3);                        // 24x16 each
  std::ofstream(files[1], std::ios::binary | std::ios::trunc) << "not an image";  // its size is given below
  vb::pipeline::image_loader loader(
      std::vector<vb::pipeline::load_item>{{files[0], 24, 16, 3}, {files[1], 24, 16, 3}, {files[2], 24, 16, 3}},
      {.workers = 2, .batch = 1});
  int used = 0;
  vb::pipeline::options o;
  o.source_name = "decode";
  const vb::pipeline::report r =
      vb::pipeline::run(o, loader, vb::pipeline::stage("use", [&](vb::pipeline::loaded_batch) { ++used; }));
  EXPECT_EQ(r.done, 1u);
  EXPECT_EQ(r.failed, 1u);
  ASSERT_NE(r.first_failure(), nullptr);
  EXPECT_EQ(r.first_failure()->item, 1u);
  EXPECT_EQ(r.first_failure()->stage, "decode");
  EXPECT_NE(r.first_failure()->message.find("img_1.png"), std::string::npos) << r.first_failure()->message;
  EXPECT_EQ(used, 1);
}

// Zero slack: with a hand-off queue in front of the first stage, the run takes batch k+1 from
// the loader only when the stage is ready for it, so no decoded batch waits beyond the window.
TEST(ImageLoader, AHandOffStageTakesABatchOnlyWhenItIsReady) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 6);
  vb::pipeline::image_loader loader(files, {.workers = 2, .prefetch = 1, .batch = 1});
  std::vector<std::size_t> delivered_while_working;
  const auto slow = [&](vb::pipeline::loaded_batch, std::size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // time for an eager source to run ahead
    delivered_while_working.push_back(loader.stats().batches);
  };
  const vb::pipeline::report r = vb::pipeline::run(loader, vb::pipeline::stage("slow", slow, {.queue = 0}));
  EXPECT_TRUE(r.ok()) << r.summary();
  ASSERT_EQ(delivered_while_working.size(), 6u);
  for (std::size_t k = 0; k < 6; ++k) EXPECT_EQ(delivered_while_working[k], k + 1) << "batch " << k;
}

// The batch policy decides the loader's batches (here a memory budget with room for 3 items).
TEST(ImageLoader, ABatchPolicyDecidesTheBatches) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 7);
  std::vector<vb::pipeline::load_item> items;
  for (const auto& f : files) items.push_back({f});
  vb::batch::memory_budget three(1.0, 100, 1, 64, 0, [] { return std::uint64_t{300}; });
  vb::pipeline::image_loader loader(items, three, {.workers = 2});
  std::vector<int> sizes;
  while (auto b = loader.next()) sizes.push_back(b->images.n);
  EXPECT_EQ(sizes, (std::vector<int>{3, 2, 2}));  // runs of one size: 0-2, 3-4, 5-6
  EXPECT_EQ(loader.largest_batch(), 3u);
}

// prefetch 0 (the default) keeps every worker busy: at least one image in the window for each
// worker that can run at once (at most one per core), plus the batch being handed out.
TEST(ImageLoader, AutomaticPrefetchCoversEveryWorker) {
  temp_dir dir;
  const auto expected = [](int workers, int batch) {
    const int parallel = std::min(workers, vb::hardware_threads());
    return std::max(2, (parallel + batch - 1) / batch + 1);
  };
  const std::vector<fs::path> three = make_images(dir, 3);                                              // one run of 3
  EXPECT_EQ(vb::pipeline::image_loader(three, {.workers = 8, .batch = 2}).prefetch(), expected(3, 2));  // 3 images: 3 workers
  const std::vector<fs::path> many = make_images(dir, 40);                                              // runs of 3, 2, 4, 31
  EXPECT_EQ(vb::pipeline::image_loader(many, {.workers = 8, .batch = 2}).prefetch(), expected(8, 2));
  EXPECT_EQ(vb::pipeline::image_loader(many, {.workers = 8, .batch = 1}).prefetch(), expected(8, 1));
  EXPECT_EQ(vb::pipeline::image_loader(many, {.workers = 1, .batch = 4}).prefetch(), 2);
  EXPECT_EQ(vb::pipeline::image_loader(many, {.workers = 8, .prefetch = 5, .batch = 2}).prefetch(), 5);  // given: kept
}

TEST(ImageLoader, AnEmptyListGivesNothing) {
  vb::pipeline::image_loader loader(std::vector<fs::path>{});
  EXPECT_FALSE(loader.next());
  EXPECT_EQ(loader.batch_count(), 0u);
}

}  // namespace

TEST(ImageLoader, UnderSkipABadFileIsZeroedListedAndTheRestIsDecoded) {
  temp_dir dir;
  std::vector<fs::path> files = make_images(dir, 8);
  std::vector<vb::batch_buffer<vb::u8>> expected;
  for (const auto& f : files) expected.push_back(vb::io::load_image(f, 3));
  for (const int bad : {2, 5}) {  // cut data after a valid header
    std::vector<unsigned char> bytes = vbatch_test::read_bytes(files[std::size_t(bad)]);
    bytes.resize(bytes.size() / 2);
    vbatch_test::write_bytes(files[std::size_t(bad)], bytes);
  }
  for (int workers : {1, 3}) {
    SCOPED_TRACE(workers);
    vb::pipeline::image_loader loader(files,
                                      {.workers = workers, .prefetch = 2, .batch = 2, .policy = vb::pipeline::on_error::skip});
    std::vector<std::size_t> failed;
    std::size_t next_image = 0;
    while (auto b = loader.next()) {
      for (const vb::pipeline::decode_failure& f : b->failures) {
        failed.push_back(f.index);
        EXPECT_EQ(f.path, files[f.index]);
        EXPECT_EQ(f.code, vb::errc::corrupt_data);
        EXPECT_NE(f.message.find(files[f.index].filename().string()), std::string::npos) << f.message;
      }
      for (int i = 0; i < b->images.n; ++i, ++next_image) {
        const bool is_bad = next_image == 2 || next_image == 5;
        vb::batch_buffer<vb::u8> zero(b->images.image(i).shape());
        std::fill_n(zero.data(), zero.view().shape().elements(), vb::u8{0});
        EXPECT_TRUE(vbatch_test::same_bytes(b->images.image(i), is_bad ? zero.view() : expected[next_image].view()))
            << "image " << next_image;
      }
    }
    EXPECT_EQ(next_image, files.size()) << "every batch delivered";
    EXPECT_EQ(failed, (std::vector<std::size_t>{2, 5}));
    loader.close();
    EXPECT_EQ(loader.stats().failed, 2u);
    EXPECT_EQ(loader.stats().images, 6u);
  }
}

TEST(ImageLoader, UnderSkipTheFailureBeyondTheLimitFailsAsUnderStop) {
  temp_dir dir;
  std::vector<fs::path> files = make_images(dir, 8);
  for (const int bad : {1, 3, 6}) std::ofstream(files[std::size_t(bad)], std::ios::binary | std::ios::trunc) << "not an image";
  std::vector<vb::pipeline::load_item> items;  // sizes given (as make_images makes them): no header is read up front
  for (std::size_t i = 0; i < files.size(); ++i) {
    const bool small = i == 3 || i == 4;
    items.push_back({files[i], small ? 20 : 24, small ? 12 : 16, 3});
  }
  vb::pipeline::failure_limit limit(2);
  vb::pipeline::image_loader loader(items, {.workers = 1, .batch = 1, .policy = vb::pipeline::on_error::skip, .limit = &limit});
  std::size_t skipped = 0, delivered = 0;
  EXPECT_TRUE(throws_error(
      [&] {
        while (auto b = loader.next()) delivered += std::size_t(b->images.n), skipped += b->failures.size();
      },
      vb::errc::corrupt_data, {"img_6.png"}));
  EXPECT_EQ(skipped, 2u) << "images 1 and 3 are within the limit";
  EXPECT_EQ(delivered, 6u) << "images 0..5";
  EXPECT_TRUE(limit.exceeded());
}

TEST(ImageLoader, RefusesAPolicyOtherThanStopOrSkip) {
  temp_dir dir;
  const std::vector<fs::path> files = make_images(dir, 1);
  EXPECT_TRUE(throws_error([&] { vb::pipeline::image_loader loader(files, {.policy = vb::pipeline::on_error::finish_earlier}); },
                           vb::errc::invalid_argument, {"stop or skip"}));
}
