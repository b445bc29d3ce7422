// The asynchronous writer: everything submitted is written atomically by any number of workers;
// a bounded queue holds the producer back; a full disk or an unwritable directory gives errors
// naming the files and leaves no partial or temporary file; resuming finds exactly the finished
// outputs and redoes truncated ones.
//
// A full disk is simulated with RLIMIT_FSIZE (writes past the limit fail with EFBIG, SIGXFSZ
// ignored): unlike a size-limited tmpfs it needs no mount privileges, and unlike chmod it also
// stops root (these tests may run as root). The limit is per process and restored at once.

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/exif.hpp"
#include "vbatch/pipeline/writer.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using vbatch_test::temp_dir;
using vbatch_test::throws_error;

// Files may not grow past `bytes` while this lives.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit r = old_;
    r.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &r) == 0;
  }
  ~file_size_limit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool ok_ = false;
};

bool has_temporaries(const temp_dir& dir) {
  for (const auto& e : dir.entries())
    if (e.find(".tmp-") != std::string::npos) return true;
  return false;
}

TEST(ImageWriter, WritesEverythingAtomicallyWithAnyWorkersAndQueue) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 6; ++trial) {
    temp_dir dir;
    const int workers = 1 + int(rng() % 4);
    const std::size_t queue = 1 + rng() % 4;
    SCOPED_TRACE(vb::detail::format("{} workers, queue {}", workers, queue));
    std::vector<std::shared_ptr<vb::batch_buffer<vb::u8>>> images;
    vb::pipeline::image_writer writer({.workers = workers, .queue = queue});
    std::vector<std::string> names;
    for (int i = 0; i < 24; ++i) {
      images.push_back(std::make_shared<vb::batch_buffer<vb::u8>>(vbatch_test::random_images<vb::u8>({1, 9 + i, 13, 3}, 50 + i)));
      names.push_back("out_" + std::to_string(i) + (i % 3 == 0 ? ".jpg" : ".png"));
      writer.submit(dir / names.back(), images.back()->view(), images.back());
    }
    const vb::pipeline::writer_report r = writer.close();
    EXPECT_EQ(r.submitted, 24u);
    EXPECT_EQ(r.written, 24u);
    EXPECT_EQ(r.failed + r.discarded, 0u);
    EXPECT_GT(r.bytes, 0u);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(dir.entries(), names);
    for (int i = 0; i < 24; i += 3 + 1) {
      const fs::path p = dir / ("out_" + std::to_string(i) + (i % 3 == 0 ? ".jpg" : ".png"));
      const auto back = vb::io::load_image(p, 3);
      EXPECT_EQ(back.shape(), images[std::size_t(i)]->shape());
      if (i % 3 != 0) {
        EXPECT_TRUE(vbatch_test::same_bytes(back.view(), images[std::size_t(i)]->view())) << p;
      }
    }
  }
}

// The producer is held back: never more than queue + workers images (plus the one being
// submitted) are alive at once, however fast it submits.
TEST(ImageWriter, ABoundedQueueHoldsTheProducerBack) {
  temp_dir dir;
  std::atomic<int> alive{0}, peak{0};
  struct counted {
    counted(std::atomic<int>* a, vb::batch_buffer<vb::u8> p) : alive(a), pixels(std::move(p)) { ++*alive; }
    counted(const counted&) = delete;
    ~counted() { --*alive; }
    std::atomic<int>* alive;
    vb::batch_buffer<vb::u8> pixels;
  };
  const int workers = 2;
  const std::size_t queue = 3;
  {
    vb::pipeline::image_writer writer({.workers = workers, .queue = queue});
    for (int i = 0; i < 40; ++i) {
      auto c = std::make_shared<counted>(&alive, vbatch_test::random_images<vb::u8>({1, 32, 32, 3}, unsigned(i)));
      const int now = alive.load();
      for (int p = peak.load(); now > p && !peak.compare_exchange_weak(p, now);) {
      }
      const vb::batch_view<const vb::u8> view = c->pixels.view();
      writer.submit(dir / ("b_" + std::to_string(i) + ".png"), view, std::move(c));
    }
    const vb::pipeline::writer_report r = writer.close();
    EXPECT_EQ(r.written, 40u);
  }
  EXPECT_EQ(alive.load(), 0);
  EXPECT_LE(peak.load(), int(queue) + workers + 1);
}

TEST(ImageWriter, AFullDiskFailsTheWritesThatDoNotFitNamingThemAndLeavesNoPartialFile) {
  temp_dir dir;
  const auto small = vbatch_test::random_images<vb::u8>({1, 8, 8, 3}, 1);    // ~250 bytes as PNG
  const auto large = vbatch_test::random_images<vb::u8>({1, 64, 64, 3}, 2);  // ~12 KB: noise does not compress
  std::vector<std::string> expected;
  vb::pipeline::writer_report r;
  {
    file_size_limit limit(4096);
    ASSERT_TRUE(limit.ok());
    vb::pipeline::image_writer writer({.workers = 2, .policy = vb::pipeline::on_error::skip});
    for (int i = 0; i < 10; ++i) {
      const bool big = i % 3 == 1;
      const std::string name = "f_" + std::to_string(i) + ".png";
      writer.submit_copy(dir / name, big ? large.view() : small.view());
      if (!big) expected.push_back(name);
    }
    r = writer.close();
  }
  EXPECT_EQ(r.submitted, 10u);
  EXPECT_EQ(r.failed, 3u);
  EXPECT_EQ(r.written, 7u);
  ASSERT_EQ(r.failures.size(), 3u);
  for (const auto& f : r.failures) {
    EXPECT_EQ(f.code, vb::errc::io);
    EXPECT_NE(f.message.find(f.path.filename().string()), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("File too large"), std::string::npos) << f.message;
    EXPECT_EQ((f.path.filename().string()[2] - '0') % 3, 1) << f.path;
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(dir.entries(), expected) << "no partial target, no temporary";
  for (const auto& name : expected) EXPECT_TRUE(vb::pipeline::is_complete_image(dir / name, 8, 8)) << name;
}

TEST(ImageWriter, UnderSkipItStopsOnceItsFailuresPassTheSharedLimit) {
  temp_dir dir;
  const auto small = vbatch_test::random_images<vb::u8>({1, 8, 8, 3}, 1);
  const auto large = vbatch_test::random_images<vb::u8>({1, 64, 64, 3}, 2);
  vb::pipeline::failure_limit shared(3);
  ASSERT_TRUE(shared.add());  // one failure elsewhere in the run (a frame that did not decode)
  vb::pipeline::writer_report r;
  std::size_t submitted = 0;
  bool submit_threw = false;
  {
    file_size_limit limit(4096);
    vb::pipeline::image_writer writer({.workers = 1, .queue = 1, .policy = vb::pipeline::on_error::skip, .limit = &shared});
    try {
      for (int i = 0; i < 60; ++i, ++submitted)  // from 10 on, every write fails: the disk is full
        writer.submit_copy(dir / ("h_" + std::to_string(i) + ".png"), i < 10 ? small.view() : large.view());
    } catch (const vb::error& e) {
      submit_threw = true;
      EXPECT_NE(std::string(e.what()).find("h_10.png"), std::string::npos) << e.what();
    }
    r = writer.close();
  }
  EXPECT_TRUE(submit_threw);
  EXPECT_EQ(r.written, 10u) << "every write before the disk filled";
  EXPECT_EQ(r.failed, 3u) << "the shared limit allows 3: one elsewhere, two here; the third here stops the writer";
  EXPECT_EQ(r.written + r.failed + r.discarded, r.submitted);
  EXPECT_LT(submitted, 20u);
  EXPECT_TRUE(shared.exceeded());
  EXPECT_EQ(dir.entries().size(), 10u) << "no partial file, no temporary";
}

TEST(ImageWriter, AfterAFailureNothingMoreIsWrittenAndSubmitReportsIt) {
  temp_dir dir;
  const auto small = vbatch_test::random_images<vb::u8>({1, 8, 8, 3}, 1);
  const auto large = vbatch_test::random_images<vb::u8>({1, 64, 64, 3}, 2);
  vb::pipeline::writer_report r;
  bool submit_threw = false;
  {
    file_size_limit limit(4096);
    vb::pipeline::image_writer writer({.workers = 1, .queue = 1});
    try {
      for (int i = 0; i < 50; ++i)
        writer.submit_copy(dir / ("g_" + std::to_string(i) + ".png"), i == 2 ? large.view() : small.view());
    } catch (const vb::error& e) {
      submit_threw = true;
      EXPECT_NE(std::string(e.what()).find("g_2.png"), std::string::npos) << e.what();
    }
    r = writer.close();
    EXPECT_TRUE(throws_error([&] { writer.throw_if_failed(); }, vb::errc::io, {"g_2.png", "File too large"}));
  }
  EXPECT_TRUE(submit_threw) << "50 submits through a queue of 1 must meet the failure";
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(r.written + r.failed + r.discarded, r.submitted);
  EXPECT_LT(r.submitted, 50u);
  // Written: g_0, g_1, and nothing after the failure.
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"g_0.png", "g_1.png"}));
}

TEST(ImageWriter, AnUnwritableDirectoryGivesAnErrorNamingTheFile) {
  temp_dir dir;
  vbatch_test::write_bytes(dir / "plain_file", {1, 2, 3});
  const auto img = vbatch_test::random_images<vb::u8>({1, 8, 8, 3}, 1);
  std::vector<fs::path> targets = {dir / "plain_file" / "a.png", "/proc/self/vbatch-writer-test.png"};
  // A read-only directory stops only non-root users; root gets the two cases above.
  const fs::path ro = dir / "ro";
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  if (::access(ro.c_str(), W_OK) != 0) targets.push_back(ro / "b.png");
  vb::pipeline::image_writer writer({.workers = 2, .policy = vb::pipeline::on_error::skip});
  for (const auto& t : targets) writer.submit_copy(t, img.view());
  const vb::pipeline::writer_report r = writer.close();
  fs::permissions(ro, fs::perms::owner_all);
  EXPECT_EQ(r.failed, targets.size());
  for (const auto& f : r.failures) {
    EXPECT_EQ(f.code, vb::errc::io);
    EXPECT_NE(f.message.find(f.path.filename().string()), std::string::npos) << f.message;
  }
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"plain_file", "ro"}));
  EXPECT_TRUE(fs::is_empty(ro));
  EXPECT_FALSE(fs::exists("/proc/self/vbatch-writer-test.png"));
}

// save_options::exif views the caller's bytes: submit_copy copies them with the pixels, so the
// caller's block may go at once; a PNG with EXIF is refused at submit.
TEST(ImageWriter, SubmitCopyKeepsItsOwnCopyOfTheExifBlock) {
  temp_dir dir;
  const auto rgb = vbatch_test::random_images<vb::u8>({1, 16, 24, 3}, 7);
  std::vector<unsigned char> written;
  {
    vb::pipeline::image_writer writer({.workers = 1});
    {
      std::vector<unsigned char> block = vb::io::make_view_exif(vb::io::view_exif(24, 16, 90.0));
      written = block;
      vb::io::save_options save{.jpeg_quality = 90};
      save.exif = block;
      writer.submit_copy(dir / "v.jpg", rgb.view(), save);
      std::fill(block.begin(), block.end(), 0xEE);  // the caller reuses its memory at once
      save.exif = block;
      EXPECT_TRUE(throws_error([&] { writer.submit_copy(dir / "v.png", rgb.view(), save); }, vb::errc::invalid_argument,
                               {"v.png", "EXIF"}));
    }
    writer.close();
    writer.throw_if_failed();
  }
  const std::optional<std::vector<unsigned char>> back = vb::io::find_exif(vb::read_file(dir / "v.jpg"));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, written);
  EXPECT_FALSE(fs::exists(dir / "v.png"));
}

TEST(ImageWriter, SubmitChecksItsArgumentsAtOnce) {
  temp_dir dir;
  vb::pipeline::image_writer writer;
  const auto img = vbatch_test::random_images<vb::u8>({1, 8, 8, 2}, 1);
  EXPECT_TRUE(throws_error([&] { writer.submit_copy(dir / "a.bmp", img.view()); }, vb::errc::invalid_argument, {"a.bmp"}));
  EXPECT_TRUE(
      throws_error([&] { writer.submit_copy(dir / "a.png", img.view()); }, vb::errc::invalid_argument, {"a.png", "1x8x8x2"}));
  const auto rgb = vbatch_test::random_images<vb::u8>({1, 8, 8, 3}, 1);
  EXPECT_TRUE(throws_error([&] { writer.submit_copy(dir / "a.jpg", rgb.view(), vb::io::save_options{0}); },
                           vb::errc::invalid_argument, {"quality 0"}));
  const vb::pipeline::writer_report r = writer.close();
  EXPECT_EQ(r.submitted, 0u);
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_TRUE(
      throws_error([&] { writer.submit_copy(dir / "late.png", rgb.view()); }, vb::errc::invalid_argument, {"after close"}));
}

TEST(ImageWriter, SubmitCopyLetsTheCallerReuseItsMemoryAtOnce) {
  temp_dir dir;
  auto img = vbatch_test::random_images<vb::u8>({1, 16, 16, 3}, 4);
  const auto original = vbatch_test::random_images<vb::u8>({1, 16, 16, 3}, 4);
  {
    vb::pipeline::image_writer writer({.workers = 1});
    writer.submit_copy(dir / "a.png", img.view());
    std::memset(img.data(), 0, img.bytes());
    writer.flush();
    EXPECT_TRUE(vbatch_test::same_bytes(vb::io::load_image(dir / "a.png").view(), original.view()));
  }
}

TEST(ImageWriter, CancelDiscardsWhatHasNotStartedAndCountsIt) {
  temp_dir dir;
  const auto img = vbatch_test::random_images<vb::u8>({1, 64, 64, 3}, 4);
  vb::pipeline::image_writer writer({.workers = 1, .queue = 30});
  for (int i = 0; i < 30; ++i) writer.submit_copy(dir / ("c_" + std::to_string(i) + ".png"), img.view());
  writer.cancel();
  const vb::pipeline::writer_report r = writer.close();
  EXPECT_EQ(r.submitted, 30u);
  EXPECT_EQ(r.written + r.discarded, 30u);
  EXPECT_EQ(dir.entries().size(), r.written);
  EXPECT_FALSE(has_temporaries(dir));
}

// As a part of a pipeline run: its encode and write rows join the run's report, and a failed
// write fails the item it was submitted for, in the run's one list of failures.
TEST(ImageWriter, AsAPartItsRowsAndFailuresJoinTheRun) {
  temp_dir dir;
  std::ofstream(dir / "blocker") << "a file where item 2 wants a directory";
  vb::pipeline::image_writer writer(
      {.workers = 2, .policy = vb::pipeline::on_error::skip, .encode_stage = "jpeg", .write_stage = "disk"});
  const auto img = vbatch_test::random_images<vb::u8>({1, 8, 8, 3}, 4);
  vb::pipeline::options o;
  o.parts = {vb::pipeline::attach(writer)};
  const auto save = [&](std::size_t i, std::size_t item) {
    const fs::path target = i == 2 ? dir / "blocker" / "p_2.jpg" : dir / ("p_" + std::to_string(i) + ".jpg");
    writer.submit_copy(target, img.view(), std::nullopt, item);
  };
  const vb::pipeline::report r = vb::pipeline::run(o, vb::pipeline::iota(5), vb::pipeline::stage("save", save));
  EXPECT_EQ(r.items, 5u);
  EXPECT_EQ(r.done, 4u);
  EXPECT_EQ(r.failed, 1u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].item, 2u);
  EXPECT_NE(r.failures[0].message.find("p_2.jpg"), std::string::npos) << r.failures[0].message;
  EXPECT_EQ(r.states[2], vb::pipeline::item_state::failed);
  ASSERT_EQ(r.stages.size(), 4u);  // source, save, then the writer's two rows
  EXPECT_EQ(r.stages[2].name, "jpeg");
  EXPECT_EQ(r.stages[2].kind, vb::profile::stage_kind::io);
  EXPECT_EQ(r.stages[2].items, 4u);
  EXPECT_EQ(r.stages[3].name, "disk");
  EXPECT_GT(r.stages[3].busy, 0.0);
  EXPECT_FALSE(has_temporaries(dir));
}

// Resuming: the outputs that exist and decode cleanly at the expected size are exactly the
// finished ones; writing the rest completes the set without touching the finished files.
TEST(ImageWriter, ResumeFindsExactlyTheFinishedOutputsAndRedoesTruncatedOnes) {
  temp_dir dir;
  const auto img = vbatch_test::random_images<vb::u8>({1, 24, 32, 3}, 9);
  const auto other = vbatch_test::random_images<vb::u8>({1, 20, 32, 3}, 9);
  std::vector<fs::path> outputs;
  for (int i = 0; i < 8; ++i) outputs.push_back(dir / ("view_" + std::to_string(i) + (i % 2 ? ".jpg" : ".png")));
  for (int i : {0, 1, 2, 3, 5}) vb::io::save_image(outputs[std::size_t(i)], img.view());
  auto cut = [](const fs::path& p, std::size_t keep) {
    auto b = vbatch_test::read_bytes(p);
    b.resize(keep);
    vbatch_test::write_bytes(p, b);
  };
  cut(outputs[2], vbatch_test::read_bytes(outputs[2]).size() / 2);  // a PNG cut short by a crash
  cut(outputs[3], vbatch_test::read_bytes(outputs[3]).size() - 2);  // a JPEG without its end marker
  vb::io::save_image(outputs[6], other.view());                     // another size: not this run's output
  vbatch_test::write_bytes(outputs[7], {});                         // empty
  std::vector<bool> complete;
  for (const auto& p : outputs) complete.push_back(vb::pipeline::is_complete_image(p, 32, 24));
  EXPECT_EQ(complete, (std::vector<bool>{true, true, false, false, false, true, false, false}));

  struct stat before {};
  ::stat(outputs[0].c_str(), &before);
  vb::pipeline::image_writer writer;
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (!complete[i]) writer.submit_copy(outputs[i], img.view());
  EXPECT_EQ(writer.close().written, 5u);
  for (const auto& p : outputs) EXPECT_TRUE(vb::pipeline::is_complete_image(p, 32, 24)) << p;
  struct stat after {};
  ::stat(outputs[0].c_str(), &after);
  EXPECT_EQ(before.st_ino, after.st_ino) << "a finished output was rewritten";
}

}  // namespace
