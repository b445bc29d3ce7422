// Image files through the default codec (codec::fastest): PNG/JPEG round trips,
// corrupt/truncated/empty/missing files, decompression-bomb limits checked before decoding, atomic
// saves that never leave partial or temporary files. codec_test.cpp runs every codec.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/image_io.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using vbatch_test::psnr;
using vbatch_test::read_bytes;
using vbatch_test::record;
using vbatch_test::temp_dir;
using vbatch_test::throws_error;
using vbatch_test::write_bytes;

// Names in `dir` other than `keep`: leftovers such as temporary files.
std::vector<std::string> others(const temp_dir& dir, const std::vector<std::string>& keep) {
  std::vector<std::string> extra;
  for (const std::string& e : dir.entries())
    if (std::find(keep.begin(), keep.end(), e) == keep.end()) extra.push_back(e);
  return extra;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += e + " ";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(ImageIo, PngRoundTripsExactlyWithOneThreeAndFourChannels) {
  temp_dir dir;
  for (int channels : {1, 3, 4}) {
    const auto img = vbatch_test::random_images<vb::u8>({1, 23, 37, channels}, 40 + channels);  // (1,23,37,C)
    const fs::path path = dir / ("round_" + std::to_string(channels) + ".png");
    vb::io::save_image(path, img.view());
    const auto back = vb::io::load_image(path);
    EXPECT_EQ(back.shape(), img.shape());
    EXPECT_TRUE(vbatch_test::same_bytes(back.view(), img.view())) << channels << " channels";
    const vb::io::image_info info = vb::io::read_image_info(path);
    EXPECT_EQ(info.width, 37);
    EXPECT_EQ(info.height, 23);
    EXPECT_EQ(info.channels, channels);
  }
}

TEST(ImageIo, LoadingConvertsToTheRequestedChannelCount) {
  temp_dir dir;
  const auto rgb = vbatch_test::random_images<vb::u8>({1, 5, 6, 3}, 1);  // (1,5,6,3)
  vb::io::save_image(dir / "rgb.png", rgb.view());
  const auto rgba = vb::io::load_image(dir / "rgb.png", 4);
  ASSERT_EQ(rgba.shape(), (vb::batch_shape{1, 5, 6, 4}));
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 6; ++x) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(rgba.view()(0, y, x, c), rgb.view()(0, y, x, c));
      EXPECT_EQ(rgba.view()(0, y, x, 3), 255);
    }
  EXPECT_EQ(vb::io::load_image(dir / "rgb.png", 1).shape(), (vb::batch_shape{1, 5, 6, 1}));
  EXPECT_TRUE(
      throws_error([&] { (void)vb::io::load_image(dir / "rgb.png", 2); }, vb::errc::invalid_argument, {"2 channels", "rgb.png"}));
}

TEST(ImageIo, GrayWithAlphaLoadsAsRgbaByDefault) {
  temp_dir dir;
  const auto ga = vbatch_test::random_images<vb::u8>({1, 6, 7, 2}, 4);  // (1,6,7,2)
  ASSERT_TRUE(stbi_write_png((dir / "ga.png").c_str(), 7, 6, 2, ga.data(), 7 * 2));
  EXPECT_EQ(vb::io::read_image_info(dir / "ga.png").channels, 2);
  const auto img = vb::io::load_image(dir / "ga.png");
  ASSERT_EQ(img.shape(), (vb::batch_shape{1, 6, 7, 4}));
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 7; ++x) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(img.view()(0, y, x, c), ga.view()(0, y, x, 0));
      EXPECT_EQ(img.view()(0, y, x, 3), ga.view()(0, y, x, 1));
    }
}

TEST(ImageIo, PngKeepsStridedRowsOfACrop) {
  temp_dir dir;
  const auto big = vbatch_test::random_images<vb::u8>({1, 20, 30, 3}, 2);  // (1,20,30,3)
  const auto crop = big.view().crop(3, 4, 10, 12);                         // (1,10,12,3)
  vb::io::save_image(dir / "crop.png", crop);
  EXPECT_TRUE(vbatch_test::same_bytes(vb::io::load_image(dir / "crop.png").view(), crop));
}

TEST(ImageIo, JpegRoundTripsAbove30DbAtQuality95) {
  temp_dir dir;
  for (int channels : {1, 3, 4}) {
    const auto img = vbatch_test::smooth_picture(96, 64, channels);
    const fs::path path = dir / ("q95_" + std::to_string(channels) + ".jpg");
    vb::io::save_image(path, img.view(), {.jpeg_quality = 95});
    // JPEG has no alpha: four channels come back as three (colour kept). stb's writer stores gray
    // images as three identical colour components, so gray is asked for explicitly.
    const auto back = vb::io::load_image(path, channels == 1 ? 1 : 0);
    EXPECT_EQ(back.view().c, channels == 4 ? 3 : channels);
    EXPECT_EQ(back.view().w, 96);
    EXPECT_EQ(back.view().h, 64);
    const double db = psnr(back.view(), img.view());
    record("jpeg_q95_psnr_c" + std::to_string(channels), db);
    EXPECT_GT(db, 30.0) << channels << " channels";
  }
}

TEST(ImageIo, JpegQualityChangesTheFileAndItsFidelity) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(96, 64, 3);
  vb::io::save_image(dir / "q10.jpg", img.view(), {.jpeg_quality = 10});
  vb::io::save_image(dir / "q100.jpg", img.view(), {.jpeg_quality = 100});
  EXPECT_LT(fs::file_size(dir / "q10.jpg"), fs::file_size(dir / "q100.jpg"));
  EXPECT_LT(psnr(vb::io::load_image(dir / "q10.jpg").view(), img.view()),
            psnr(vb::io::load_image(dir / "q100.jpg").view(), img.view()));
  vb::io::save_image(dir / "q1.jpg", img.view(), {.jpeg_quality = 1});
  EXPECT_TRUE(fs::exists(dir / "q1.jpg"));
}

TEST(ImageIo, JpegQualityOutsideOneToHundredIsRejectedAndWritesNothing) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(8, 8, 3);
  for (int q : {0, 101, -5}) {
    EXPECT_TRUE(throws_error([&] { vb::io::save_image(dir / "q.jpg", img.view(), {.jpeg_quality = q}); },
                             vb::errc::invalid_argument, {"quality " + std::to_string(q), "q.jpg"}));
  }
  EXPECT_TRUE(dir.entries().empty()) << joined(dir.entries());
}

TEST(ImageIo, ExtensionsAreMatchedWithoutCase) {
  EXPECT_EQ(vb::io::format_from_path("a/b.PNG"), vb::io::image_format::png);
  EXPECT_EQ(vb::io::format_from_path("x.Jpeg"), vb::io::image_format::jpeg);
  EXPECT_EQ(vb::io::format_from_path("x.jpg"), vb::io::image_format::jpeg);
  EXPECT_EQ(vb::io::format_extension(vb::io::image_format::png), "png");
  EXPECT_EQ(vb::io::format_extension(vb::io::image_format::jpeg), "jpg");
}

TEST(ImageIo, AnUnknownExtensionIsRejectedNamingItAndWritesNothing) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(8, 8, 3);
  EXPECT_TRUE(
      throws_error([&] { vb::io::save_image(dir / "out.bmp", img.view()); }, vb::errc::invalid_argument, {"out.bmp", "'.bmp'"}));
  EXPECT_TRUE(throws_error([&] { vb::io::save_image(dir / "noext", img.view()); }, vb::errc::invalid_argument, {"noext"}));
  EXPECT_TRUE(throws_error([] { (void)vb::io::format_from_path("image.tiff"); }, vb::errc::invalid_argument, {".tiff"}));
  EXPECT_TRUE(dir.entries().empty()) << joined(dir.entries());
}

TEST(ImageIo, SaveRejectsBatchesChannelCountsAndScatteredPixels) {
  temp_dir dir;
  const auto two = vbatch_test::random_images<vb::u8>({2, 4, 4, 3}, 1);  // (2,4,4,3)
  EXPECT_TRUE(throws_error([&] { vb::io::save_image(dir / "a.png", two.view()); }, vb::errc::invalid_argument, {"2x4x4x3"}));
  const auto gray_alpha = vbatch_test::random_images<vb::u8>({1, 4, 4, 2}, 1);  // (1,4,4,2)
  EXPECT_TRUE(
      throws_error([&] { vb::io::save_image(dir / "a.png", gray_alpha.view()); }, vb::errc::invalid_argument, {"1x4x4x2"}));
  const auto rgb = vbatch_test::random_images<vb::u8>({1, 4, 6, 3}, 1);                                         // (1,4,6,3)
  const vb::batch_view<const vb::u8> red{rgb.data(), 1, 4, 6, 1, rgb.view().stride_n, rgb.view().stride_h, 3};  // (1,4,6,1)
  EXPECT_TRUE(throws_error([&] { vb::io::save_image(dir / "a.png", red); }, vb::errc::invalid_argument, {"contiguous"}));
  // stb's JPEG writer needs contiguous rows; libjpeg-turbo takes a row pitch (codec_test.cpp).
  EXPECT_TRUE(throws_error([&] { vb::io::save_image<vb::io::codec::stb>(dir / "a.jpg", rgb.view().crop(0, 1, 4, 4)); },
                           vb::errc::invalid_argument, {"contiguous rows"}));
  EXPECT_TRUE(dir.entries().empty()) << joined(dir.entries());
}

// ---------------------------------------------------------------------------------------------
// Bad files

TEST(ImageIo, AMissingFileIsAnIoErrorNamingIt) {
  temp_dir dir;
  const fs::path p = dir / "nowhere.png";
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(p); }, vb::errc::io, {p.string()}));
  EXPECT_TRUE(throws_error([&] { (void)vb::io::read_image_info(p); }, vb::errc::io, {p.string()}));
}

TEST(ImageIo, AnEmptyFileIsCorruptDataNamingIt) {
  temp_dir dir;
  write_bytes(dir / "empty.png", {});
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "empty.png"); }, vb::errc::corrupt_data, {"empty.png", "empty"}));
  EXPECT_TRUE(throws_error([&] { (void)vb::io::read_image_info(dir / "empty.png"); }, vb::errc::corrupt_data, {"empty.png"}));
}

TEST(ImageIo, RandomBytesAreCorruptDataNamingTheFile) {
  temp_dir dir;
  std::mt19937 rng(99);
  std::vector<unsigned char> noise(4096);
  for (auto& b : noise) b = static_cast<unsigned char>(rng());
  for (const char* name : {"noise.png", "noise.jpg"}) {
    write_bytes(dir / name, noise);
    EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / name); }, vb::errc::corrupt_data, {name}));
    EXPECT_TRUE(throws_error([&] { (void)vb::io::read_image_info(dir / name); }, vb::errc::corrupt_data, {name}));
  }
}

TEST(ImageIo, ATruncatedJpegIsCorruptDataNamingTheFile) {
  temp_dir dir;
  vb::io::save_image(dir / "full.jpg", vbatch_test::smooth_picture(64, 48, 3).view(), {.jpeg_quality = 90});
  std::vector<unsigned char> bytes = read_bytes(dir / "full.jpg");
  ASSERT_NO_THROW((void)vb::io::load_image(dir / "full.jpg"));
  bytes.resize(bytes.size() / 2);
  write_bytes(dir / "half.jpg", bytes);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "half.jpg"); }, vb::errc::corrupt_data, {"half.jpg"}));
  // Only the end-of-image marker missing: still incomplete.
  bytes = read_bytes(dir / "full.jpg");
  bytes.resize(bytes.size() - 2);
  write_bytes(dir / "no_eoi.jpg", bytes);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "no_eoi.jpg"); }, vb::errc::corrupt_data, {"no_eoi.jpg"}));
}

TEST(ImageIo, ATruncatedPngIsCorruptDataNamingTheFile) {
  temp_dir dir;
  // Noise does not compress, so half the file is half the pixel data.
  vb::io::save_image(dir / "full.png", vbatch_test::random_images<vb::u8>({1, 64, 64, 3}, 5).view());
  std::vector<unsigned char> bytes = read_bytes(dir / "full.png");
  bytes.resize(bytes.size() / 2);
  write_bytes(dir / "half.png", bytes);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "half.png"); }, vb::errc::corrupt_data, {"half.png"}));
}

// Camera JPEGs (360° cameras included) carry an EXIF thumbnail: a complete JPEG, with its own
// start-of-scan and end-of-image markers, inside an APP1 segment before the main image. A
// truncated main image must still be refused.
TEST(ImageIo, ATruncatedJpegWithAnExifThumbnailIsStillCorruptData) {
  temp_dir dir;
  vb::io::save_image(dir / "thumb.jpg", vbatch_test::smooth_picture(16, 16, 3).view(), {.jpeg_quality = 50});
  vb::io::save_image(dir / "main.jpg", vbatch_test::smooth_picture(96, 64, 3).view(), {.jpeg_quality = 90});
  const std::vector<unsigned char> thumb = read_bytes(dir / "thumb.jpg"), main = read_bytes(dir / "main.jpg");
  std::vector<unsigned char> app1 = {'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), thumb.begin(), thumb.end());
  const std::size_t length = app1.size() + 2;
  ASSERT_LT(length, 65536u);
  std::vector<unsigned char> file = {
      0xFF, 0xD8, 0xFF, 0xE1, static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length & 0xFF)};
  file.insert(file.end(), app1.begin(), app1.end());
  file.insert(file.end(), main.begin() + 2, main.end());  // the main image after its SOI
  write_bytes(dir / "exif.jpg", file);
  ASSERT_NO_THROW((void)vb::io::load_image(dir / "exif.jpg")) << "the complete file with a thumbnail must load";
  EXPECT_EQ(vb::io::load_image(dir / "exif.jpg").view().w, 96);
  file.resize(file.size() - (main.size() - 2) / 2);  // cut the main image's data in half
  write_bytes(dir / "exif_half.jpg", file);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "exif_half.jpg"); }, vb::errc::corrupt_data, {"exif_half.jpg"}));
  // stb 2.27 itself refuses this file ("expected marker"); the completeness check that guards
  // against stb versions that decode truncated data as grey must see it too, not stop at the
  // thumbnail's end-of-image marker.
  EXPECT_FALSE(vb::io::detail::jpeg_is_complete(file)) << "the thumbnail's FF DA ... FF D9 was taken for the main image's";
  EXPECT_TRUE(vb::io::detail::jpeg_is_complete(read_bytes(dir / "exif.jpg")));
}

// ---------------------------------------------------------------------------------------------
// Limits (decompression bombs)

TEST(ImageIo, AnImageOverThePixelLimitIsRefused) {
  temp_dir dir;
  vb::io::save_image(dir / "big.png", vbatch_test::smooth_picture(100, 100, 3).view());
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "big.png", 0, {.max_pixels = 1000}); }, vb::errc::limit_exceeded,
                           {"big.png", "100x100", "1000"}));
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "big.png", 3, {.max_pixels = 1 << 20, .max_side = 50}); },
                           vb::errc::limit_exceeded, {"100x100", "50"}));
  EXPECT_NO_THROW((void)vb::io::load_image(dir / "big.png", 0, {.max_pixels = 10000, .max_side = 100}));
  EXPECT_TRUE(vbatch_test::failed_with(vb::io::can_load("x.png", {100, 100, 3}, {.max_pixels = 9999}), vb::errc::limit_exceeded));
}

TEST(ImageIo, LimitsAreCheckedFromTheHeaderBeforeDecoding) {
  // Files that are only a header: decoding them would fail with corrupt_data, so limit_exceeded
  // shows the limit was checked first.
  temp_dir dir;
  vb::io::save_image(dir / "big.png", vbatch_test::random_images<vb::u8>({1, 100, 100, 3}, 3).view());
  std::vector<unsigned char> png = read_bytes(dir / "big.png");
  png.resize(8 + 25);  // signature + IHDR chunk
  write_bytes(dir / "header.png", png);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "header.png"); }, vb::errc::corrupt_data, {"header.png"}))
      << "a header-only PNG must not decode";
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "header.png", 0, {.max_pixels = 1000}); },
                           vb::errc::limit_exceeded, {"header.png", "100x100"}));
  const vb::io::image_info info = vb::io::read_image_info(dir / "header.png");
  EXPECT_EQ(info.width, 100);
  EXPECT_EQ(info.height, 100);
  EXPECT_EQ(info.channels, 3);

  vb::io::save_image(dir / "big.jpg", vbatch_test::smooth_picture(100, 100, 3).view());
  std::vector<unsigned char> jpg = read_bytes(dir / "big.jpg");
  std::size_t sos = 2;
  while (sos + 1 < jpg.size() && !(jpg[sos] == 0xFF && jpg[sos + 1] == 0xDA)) ++sos;
  jpg.resize(sos + 20);  // everything up to just past the start of scan
  write_bytes(dir / "header.jpg", jpg);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(dir / "header.jpg", 0, {.max_pixels = 1000}); },
                           vb::errc::limit_exceeded, {"header.jpg"}));
}

// ---------------------------------------------------------------------------------------------
// Atomic saves

// True when the process can create files in a directory without write permission (root).
bool permissions_are_not_enforced(const temp_dir& dir) {
  const fs::path ro = dir / "probe_ro";
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  const fs::path probe = ro / "probe";
  const int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY, 0600);
  const bool writable = fd >= 0;
  if (fd >= 0) ::close(fd), ::unlink(probe.c_str());
  fs::permissions(ro, fs::perms::owner_all);
  fs::remove_all(ro);
  return writable;
}

TEST(ImageIo, SavingIntoAMissingDirectoryIsAnIoErrorAndCreatesNothing) {
  temp_dir dir;
  const fs::path target = dir / "missing" / "out.png";
  EXPECT_TRUE(
      throws_error([&] { vb::io::save_image(target, vbatch_test::smooth_picture(8, 8, 3).view()); }, vb::errc::io, {"out.png"}));
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(dir.entries().empty()) << joined(dir.entries());
}

TEST(ImageIo, SavingIntoAnUnwritableDirectoryIsAnIoErrorAndLeavesNoFile) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(8, 8, 3);
  // 1. A read-only directory, where permissions are enforced (not as root).
  if (!permissions_are_not_enforced(dir)) {
    const fs::path ro = dir / "readonly";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_TRUE(throws_error([&] { vb::io::save_image(ro / "out.png", img.view()); }, vb::errc::io, {"out.png"}));
    fs::permissions(ro, fs::perms::owner_all);
    EXPECT_TRUE(fs::is_empty(ro));
  } else {
    std::printf(
        "[   note   ] running with permissions not enforced (root): the read-only directory case is replaced by the cases "
        "below\n");
  }
  // 2. A "directory" that is a regular file: nothing can be created under it, even as root.
  write_bytes(dir / "plain_file", {1, 2, 3});
  EXPECT_TRUE(throws_error([&] { vb::io::save_image(dir / "plain_file" / "out.png", img.view()); }, vb::errc::io, {"out.png"}));
  EXPECT_EQ(others(dir, {"plain_file"}), std::vector<std::string>{});
  EXPECT_EQ(read_bytes(dir / "plain_file"), (std::vector<unsigned char>{1, 2, 3}));
  // 3. A directory of a pseudo file system that refuses new files, even as root.
  if (fs::is_directory("/proc/self")) {
    EXPECT_TRUE(throws_error([&] { vb::io::save_image("/proc/self/vbatch-test-out.png", img.view()); }, vb::errc::io));
    EXPECT_FALSE(fs::exists("/proc/self/vbatch-test-out.png"));
  }
}

TEST(ImageIo, AFailedRenameLeavesNoTemporaryFileBehind) {
  // The target name is an existing non-empty directory: the temporary file is written, then the
  // rename over the directory fails. The temporary file must be removed.
  temp_dir dir;
  fs::create_directory(dir / "taken.png");
  write_bytes(dir / "taken.png" / "inside", {1});
  EXPECT_TRUE(throws_error([&] { vb::io::save_image(dir / "taken.png", vbatch_test::smooth_picture(8, 8, 3).view()); },
                           vb::errc::io, {"taken.png"}));
  EXPECT_EQ(others(dir, {"taken.png"}), std::vector<std::string>{}) << "left behind: " << joined(others(dir, {"taken.png"}));
  EXPECT_TRUE(fs::is_directory(dir / "taken.png"));
}

TEST(ImageIo, ASuccessfulSaveLeavesOnlyTheTargetFile) {
  temp_dir dir;
  vb::io::save_image(dir / "a.png", vbatch_test::smooth_picture(8, 8, 3).view());
  vb::io::save_image(dir / "b.jpg", vbatch_test::smooth_picture(8, 8, 3).view());
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"a.png", "b.jpg"}));
  // Saved files are readable like any other file, not left with the temporary file's 0600.
  EXPECT_NE(fs::status(dir / "a.png").permissions() & fs::perms::others_read, fs::perms::none);
}

TEST(ImageIo, SavingOverAFileReplacesItWholeNeverInPlace) {
  temp_dir dir;
  const fs::path target = dir / "view.png";
  const auto old_img = vbatch_test::smooth_picture(40, 30, 3);
  vb::io::save_image(target, old_img.view());
  const std::vector<unsigned char> old_bytes = read_bytes(target);

  // A reader that opened the old file keeps seeing the complete old content: the new file is a
  // different inode renamed over the name, not the old file rewritten in place.
  const int reader = ::open(target.c_str(), O_RDONLY);
  ASSERT_GE(reader, 0);
  struct stat before {};
  ASSERT_EQ(::fstat(reader, &before), 0);

  const auto new_img = vbatch_test::random_images<vb::u8>({1, 50, 60, 3}, 8);  // (1,50,60,3)
  vb::io::save_image(target, new_img.view());

  struct stat after {};
  ASSERT_EQ(::stat(target.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "the file was rewritten in place";
  std::vector<unsigned char> seen(old_bytes.size() + 16);
  const ssize_t got = ::pread(reader, seen.data(), seen.size(), 0);
  ::close(reader);
  ASSERT_EQ(got, ssize_t(old_bytes.size()));
  seen.resize(std::size_t(got));
  EXPECT_EQ(seen, old_bytes);
  EXPECT_TRUE(vbatch_test::same_bytes(vb::io::load_image(target).view(), new_img.view()));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"view.png"});
}

TEST(ImageIo, AFailedSaveKeepsTheOldFileIntact) {
  temp_dir dir;
  const fs::path target = dir / "keep.jpg";
  vb::io::save_image(target, vbatch_test::smooth_picture(16, 16, 3).view());
  const std::vector<unsigned char> old_bytes = read_bytes(target);
  EXPECT_THROW(vb::io::save_image(target, vbatch_test::smooth_picture(16, 16, 3).view(), {.jpeg_quality = 0}), vb::error);
  const auto pair = vbatch_test::random_images<vb::u8>({2, 4, 4, 3}, 1);  // (2,4,4,3)
  EXPECT_THROW(vb::io::save_image(target, pair.view()), vb::error);
  EXPECT_EQ(read_bytes(target), old_bytes);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.jpg"});
}

TEST(ImageIo, WriteFileAtomicallyWritesExactlyTheBytes) {
  temp_dir dir;
  const std::vector<unsigned char> bytes = {0, 1, 2, 255, 254, 10, 13};
  vb::io::write_file_atomically(dir / "raw.bin", bytes.data(), bytes.size());
  EXPECT_EQ(read_bytes(dir / "raw.bin"), bytes);
  vb::io::write_file_atomically(dir / "zero.bin", bytes.data(), 0);
  EXPECT_EQ(fs::file_size(dir / "zero.bin"), 0u);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"raw.bin", "zero.bin"}));
}

TEST(ImageIo, A16BitPngIsRefusedNotReducedToEightBits) {
  // tests/data/images/rgb16_5x3.png: a valid 16-bit RGB PNG (Pillow reads it). stb would keep the high bytes only.
  const fs::path p = fs::path(VBATCH_TEST_DATA_DIR) / "images/rgb16_5x3.png";
  EXPECT_EQ(vb::io::read_image_info(p).width, 5) << "the header is readable: the refusal names the cause";
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image(p); }, vb::errc::unsupported, {"rgb16_5x3.png", "16-bit PNG"}));
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image<vb::io::codec::stb>(p); }, vb::errc::unsupported, {"16-bit PNG"}));
}

}  // namespace
