// Image codecs: every codec built in (stb always; libjpeg-turbo and libpng where CMake found
// them) round-trips JPEG within the stated PSNR and PNG exactly, refuses corrupt input with
// corrupt_data naming the file, checks limits from the header, and decodes straight into a slot
// of a batch. Files written by one engine decode with the other.

#include <algorithm>
#include <cmath>
#include <cstring>
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
using vbatch_test::temp_dir;
using vbatch_test::throws_error;
using vbatch_test::write_bytes;

// Loads and saves take an image_codec; other types are refused at compile time.
static_assert(vb::io::image_codec<vb::io::codec::stb> && vb::io::image_codec<vb::io::codec::fastest>);
static_assert(!vb::io::image_codec<int> && !vb::io::image_codec<vb::io::codec::engine>);

template <class C>
class Codec : public ::testing::Test {};

using codecs = ::testing::Types<vb::io::codec::stb
#if defined(VBATCH_HAVE_TURBOJPEG)
                                ,
                                vb::io::codec::turbojpeg
#endif
#if defined(VBATCH_HAVE_LIBPNG)
                                ,
                                vb::io::codec::libpng
#endif
                                >;

struct codec_names {
  template <class C>
  static std::string GetName(int) {
    if (std::is_same_v<C, vb::io::codec::stb>) return "stb";
    if (C::jpeg_decoder == vb::io::codec::engine::turbojpeg) return "turbojpeg";
    return "libpng";
  }
};
TYPED_TEST_SUITE(Codec, codecs, codec_names);

// The stated fidelity of JPEG on this picture, every engine: at least 40 dB at quality 92, 36 dB
// at 75, 33 dB at 50 (measured: 46–52, 41–48, 38–44).
TYPED_TEST(Codec, JpegRoundTripsWithinTheStatedPsnr) {
  temp_dir dir;
  for (int channels : {1, 3}) {
    const auto img = vbatch_test::smooth_picture(256, 192, channels);
    for (const auto& [quality, floor] : {std::pair{92, 40.0}, {75, 36.0}, {50, 33.0}}) {
      const fs::path path = dir / ("q" + std::to_string(quality) + ".jpg");
      vb::io::save_image<TypeParam>(path, img.view(), {quality});
      const auto back = vb::io::load_image<TypeParam>(path, channels);
      ASSERT_EQ(back.shape(), img.shape());
      const double db = psnr(back.view(), img.view());
      vbatch_test::record("psnr_q" + std::to_string(quality) + "_c" + std::to_string(channels), db);
      EXPECT_GE(db, floor) << "quality " << quality << ", " << channels << " channels";
    }
  }
}

TYPED_TEST(Codec, FourChannelJpegKeepsTheColourAndLoadsWithOpaqueAlpha) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(64, 48, 4);
  vb::io::save_image<TypeParam>(dir / "rgba.jpg", img.view());
  const auto rgb = vb::io::load_image<TypeParam>(dir / "rgba.jpg");
  EXPECT_EQ(rgb.view().c, 3);
  EXPECT_GE(psnr(rgb.view(), img.view()), 38.0);
  const auto rgba = vb::io::load_image<TypeParam>(dir / "rgba.jpg", 4);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) ASSERT_EQ(rgba.view()(0, y, x, 3), 255);
}

TYPED_TEST(Codec, PngRoundTripsExactlyIncludingStridedRows) {
  temp_dir dir;
  for (int channels : {1, 3, 4}) {
    const auto img = vbatch_test::random_images<vb::u8>({1, 37, 53, channels}, 7 + channels);  // (1,37,53,C)
    vb::io::save_image<TypeParam>(dir / "a.png", img.view());
    EXPECT_TRUE(vbatch_test::same_bytes(vb::io::load_image<TypeParam>(dir / "a.png").view(), img.view())) << channels;
    const auto crop = img.view().crop(3, 5, 20, 30);  // rows 53 pixels apart
    vb::io::save_image<TypeParam>(dir / "crop.png", crop);
    EXPECT_TRUE(vbatch_test::same_bytes(vb::io::load_image<TypeParam>(dir / "crop.png").view(), crop)) << channels;
  }
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"a.png", "crop.png"}));
}

TYPED_TEST(Codec, CorruptInputIsCorruptDataNamingTheFile) {
  temp_dir dir;
  std::mt19937 rng(5);
  std::vector<unsigned char> noise(3000);
  for (auto& b : noise) b = static_cast<unsigned char>(rng());
  write_bytes(dir / "noise.jpg", noise);
  // Noise behind a valid JPEG signature reaches the JPEG decoder itself.
  std::vector<unsigned char> fake = {0xFF, 0xD8, 0xFF, 0xDB};
  fake.insert(fake.end(), noise.begin(), noise.end());
  write_bytes(dir / "fake.jpg", fake);
  write_bytes(dir / "empty.jpg", {});
  vb::io::save_image<TypeParam>(dir / "full.jpg", vbatch_test::smooth_picture(96, 64, 3).view());
  std::vector<unsigned char> bytes = read_bytes(dir / "full.jpg");
  write_bytes(dir / "half.jpg", {bytes.begin(), bytes.begin() + std::ptrdiff_t(bytes.size() / 2)});
  write_bytes(dir / "no_eoi.jpg", {bytes.begin(), bytes.end() - 2});
  vb::io::save_image<TypeParam>(dir / "full.png", vbatch_test::random_images<vb::u8>({1, 40, 40, 3}, 1).view());
  bytes = read_bytes(dir / "full.png");
  write_bytes(dir / "half.png", {bytes.begin(), bytes.begin() + std::ptrdiff_t(bytes.size() / 2)});
  for (const char* name : {"noise.jpg", "fake.jpg", "empty.jpg", "half.jpg", "no_eoi.jpg", "half.png"}) {
    EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image<TypeParam>(dir / name, 3); }, vb::errc::corrupt_data, {name}))
        << name;
    vb::batch_buffer<vb::u8> slot({1, 64, 96, 3});
    if (std::string(name) != "half.png") {
      EXPECT_TRUE(
          throws_error([&] { vb::io::load_image_into<TypeParam>(dir / name, slot.view()); }, vb::errc::corrupt_data, {name}))
          << name;
    }
  }
}

TYPED_TEST(Codec, TheLimitIsCheckedFromTheHeaderBeforeDecoding) {
  temp_dir dir;
  vb::io::save_image<TypeParam>(dir / "big.jpg", vbatch_test::smooth_picture(100, 80, 3).view());
  std::vector<unsigned char> jpg = read_bytes(dir / "big.jpg");
  std::size_t sos = 2;
  while (sos + 1 < jpg.size() && !(jpg[sos] == 0xFF && jpg[sos + 1] == 0xDA)) ++sos;
  jpg.resize(sos + 20);  // a header and the start of a scan: decoding would fail
  write_bytes(dir / "header.jpg", jpg);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image<TypeParam>(dir / "header.jpg", 3, {.max_pixels = 1000}); },
                           vb::errc::limit_exceeded, {"header.jpg", "100x80"}));
  EXPECT_TRUE(
      throws_error([&] { (void)vb::io::load_image<TypeParam>(dir / "big.jpg", 3, {.max_pixels = 1 << 20, .max_side = 90}); },
                   vb::errc::limit_exceeded, {"big.jpg"}));
}

// A slot of a batch whose rows are strided (the slot is a crop of a wider batch): decoded in
// place, equal to load_image, and the memory around it untouched.
TYPED_TEST(Codec, DecodesStraightIntoASlotOfABatch) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(48, 32, 3);
  vb::io::save_image<TypeParam>(dir / "a.jpg", img.view());
  vb::io::save_image<TypeParam>(dir / "a.png", img.view());
  for (const char* name : {"a.jpg", "a.png"}) {
    vb::batch_buffer<vb::u8> batch({3, 40, 60, 3});  // (3,40,60,3)
    std::memset(batch.data(), 0x5A, batch.bytes());
    const vb::batch_view<vb::u8> slot = batch.view().image(1).crop(4, 6, 32, 48);  // (1,32,48,3)
    vb::io::load_image_into<TypeParam>(dir / name, slot);
    const auto expected = vb::io::load_image<TypeParam>(dir / name, 3);
    EXPECT_TRUE(vbatch_test::same_bytes(slot, expected.view())) << name;
    std::size_t touched_outside = 0;
    const vb::batch_view<const vb::u8> all = batch.view();
    for (int i = 0; i < 3; ++i)
      for (int y = 0; y < 40; ++y)
        for (int x = 0; x < 60; ++x) {
          const bool inside = i == 1 && y >= 4 && y < 36 && x >= 6 && x < 54;
          for (int c = 0; c < 3; ++c) touched_outside += !inside && all(i, y, x, c) != 0x5A;
        }
    EXPECT_EQ(touched_outside, 0u) << name;
  }
}

TYPED_TEST(Codec, AWrongSizedDestinationIsRefusedBeforeDecoding) {
  temp_dir dir;
  vb::io::save_image<TypeParam>(dir / "a.jpg", vbatch_test::smooth_picture(48, 32, 3).view());
  vb::batch_buffer<vb::u8> slot({1, 30, 48, 3});
  std::memset(slot.data(), 7, slot.bytes());
  EXPECT_TRUE(throws_error([&] { vb::io::load_image_into<TypeParam>(dir / "a.jpg", slot.view()); }, vb::errc::invalid_argument,
                           {"a.jpg", "48x32", "1x30x48"}));
  for (std::size_t i = 0; i < slot.bytes(); ++i) ASSERT_EQ(slot.data()[i], 7);
}

// JPEG files from one engine decode with every other, to the same fidelity.
TYPED_TEST(Codec, JpegFilesOfEveryEngineDecodeWithThisOne) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(128, 96, 3);
  vb::io::save_image<vb::io::codec::stb>(dir / "stb.jpg", img.view(), {90});
  vb::io::save_image<vb::io::codec::fastest>(dir / "fastest.jpg", img.view(), {90});
  for (const char* name : {"stb.jpg", "fastest.jpg"})
    EXPECT_GE(psnr(vb::io::load_image<TypeParam>(dir / name).view(), img.view()), 38.0);
}

// Found by fuzzing (tests/fuzz): each refusal names its real cause, through every codec.
const fs::path fuzz_dir = fs::path(VBATCH_TEST_DATA_DIR) / "../fuzz";

TYPED_TEST(Codec, FuzzRegressionsAreRefusedNamingTheCause) {
  using C = TypeParam;
  const auto decode = [](const fs::path& file) {
    const std::vector<unsigned char> bytes = read_bytes(file);
    vb::batch_buffer<vb::u8> image;
    vb::io::decode_image<C>(bytes, file.filename(), 3, {}, [&](const vb::io::image_info& info) {
      image = vb::batch_buffer<vb::u8>({1, info.height, info.width, info.channels});
      return image.view();
    });
  };
  // stb's probe gave up on a PNG too large for it and called it an "unknown image type".
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "corpus/image/bomb_100000x100000.png"); }, vb::errc::limit_exceeded,
                           {"bomb_100000x100000.png", "PNG header declares 100000x100000"}));
  EXPECT_TRUE(
      throws_error([&] { decode(fuzz_dir / "corpus/image/zero_width.png"); }, vb::errc::corrupt_data, {"declares a 0x5 image"}));
  // stb 2.27 reads this PNM's height as a negative int (it overflows); the sink then got a negative size.
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/pnm_negative_height.pgm"); }, vb::errc::corrupt_data,
                           {"pnm_negative_height.pgm", "header declares a 8x-"}));
  // A progressive scan with an undefined Huffman table: stb 2.27 reads out of bounds on it.
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/stb_undefined_huffman_table.jpg"); },
                           vb::errc::corrupt_data, {"stb_undefined_huffman_table.jpg"}));
  // A Huffman table of 1001 symbols: stb 2.27 writes past its 256-entry arrays (and then asserts).
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/stb_dht_1001_symbols.jpg"); }, vb::errc::corrupt_data,
                           {"stb_dht_1001_symbols.jpg"}));
  // Three 1-bit codes: no prefix code has them (Kraft's inequality).
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/stb_dht_code_lengths_overflow.jpg"); },
                           vb::errc::corrupt_data, {"stb_dht_code_lengths_overflow.jpg"}));
  // 64 fill bytes before the start-of-image marker, which stb skips, and then a progressive scan
  // with an undefined Huffman table (stb 2.27 reads out of bounds on it).
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/stb_jpeg_behind_fill_bytes.jpg"); }, vb::errc::corrupt_data,
                           {"stb_jpeg_behind_fill_bytes.jpg"}));
  // A baseline scan that names AC table 1, never defined, with Se = 0: stb decodes all 64
  // coefficients of a baseline scan whatever Se says, with the undefined table.
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/stb_baseline_scan_undefined_ac_table.jpg"); },
                           vb::errc::corrupt_data, {"stb_baseline_scan_undefined_ac_table.jpg"}));
  // A 16-bit PNM: stb 2.27 writes past its buffer converting it.
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/stb_pnm_16_bit.ppm"); }, vb::errc::unsupported,
                           {"stb_pnm_16_bit.ppm", "16-bit PNM"}));
  // 86 bytes whose IDAT chunk declares 2 GB: stb 2.27 allocated it.
  EXPECT_TRUE(throws_error([&] { decode(fuzz_dir / "regressions/image/png_idat_declares_2gb.png"); }, vb::errc::corrupt_data,
                           {"png_idat_declares_2gb.png", "truncated PNG (a chunk declares"}));
  // Valid progressive and multi-table files still decode.
  for (const char* ok : {"progressive.jpg", "baseline420.jpg", "cmyk.jpg", "gray.jpg", "interlaced.png"})
    EXPECT_NO_THROW(decode(fuzz_dir / "corpus/image" / ok)) << ok;
}

TEST(Codecs, StbIsNeverGivenAJpegWithMalformedOrUndefinedHuffmanTables) {
  // vbatch's own check refuses these before stb reads them (stb 2.27 would read or write out of bounds).
  for (const char* file : {"stb_undefined_huffman_table.jpg", "stb_dht_1001_symbols.jpg", "stb_dht_code_lengths_overflow.jpg",
                           "stb_jpeg_behind_fill_bytes.jpg", "stb_baseline_scan_undefined_ac_table.jpg"})
    EXPECT_TRUE(throws_error([&] { (void)vb::io::load_image<vb::io::codec::stb>(fuzz_dir / "regressions/image" / file); },
                             vb::errc::corrupt_data, {file, "corrupt JPEG (a Huffman table is malformed, or a scan uses one"}))
        << file;
}

TEST(Codecs, FastestPicksTheEnginesBuiltIn) {
  const std::string what = vb::io::codec::fastest::describe();
  std::printf("[ measured ] codec::fastest = %s\n", what.c_str());
#if defined(VBATCH_HAVE_TURBOJPEG)
  EXPECT_EQ(vb::io::codec::fastest::jpeg_decoder, vb::io::codec::engine::turbojpeg);
  EXPECT_NE(what.find("libjpeg-turbo"), std::string::npos);
#else
  EXPECT_EQ(vb::io::codec::fastest::jpeg_decoder, vb::io::codec::engine::stb);
#endif
#if defined(VBATCH_HAVE_LIBPNG)
  EXPECT_EQ(vb::io::codec::fastest::png_encoder, vb::io::codec::engine::libpng);
#endif
  EXPECT_TRUE((std::is_same_v<vb::io::default_codec, vb::io::codec::fastest>));
  EXPECT_EQ(vb::io::codec::stb::describe(), "JPEG stb, PNG stb");
}

#if defined(VBATCH_HAVE_TURBOJPEG)
// CMYK and YCCK JPEGs (Adobe) are handed to stb, which converts them to RGB.
TEST(Codecs, TurboJpegHandsCmykFilesToStb) {
  temp_dir dir;
  vb::batch_buffer<vb::u8> cmyk({1, 16, 24, 4});  // (1,16,24,4)
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x)
      for (int c = 0; c < 4; ++c) cmyk.view()(0, y, x, c) = static_cast<vb::u8>(c == 3 ? 0 : (x * 10 + c * 60) % 256);
  tjhandle tj = tjInitCompress();
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  ASSERT_EQ(tjCompress2(tj, cmyk.data(), 24, 0, 16, TJPF_CMYK, &jpeg, &size, TJSAMP_444, 95, 0), 0) << tjGetErrorStr2(tj);
  write_bytes(dir / "cmyk.jpg", std::vector<unsigned char>(jpeg, jpeg + size));
  tjFree(jpeg);
  tjDestroy(tj);
  const auto turbo = vb::io::load_image<vb::io::codec::turbojpeg>(dir / "cmyk.jpg", 3);
  const auto stb = vb::io::load_image<vb::io::codec::stb>(dir / "cmyk.jpg", 3);
  EXPECT_EQ(turbo.shape(), (vb::batch_shape{1, 16, 24, 3}));
  EXPECT_TRUE(vbatch_test::same_bytes(turbo.view(), stb.view()));
}

TEST(Codecs, TurboJpegReportsItsOwnAllocationFailuresAsOutOfMemory) {
  EXPECT_EQ(vb::io::detail::tj_error_code("Insufficient memory (case 4)"), vb::errc::out_of_memory);
  EXPECT_EQ(vb::io::detail::tj_error_code("tjDecompress2(): Memory allocation failure"), vb::errc::out_of_memory);
  EXPECT_EQ(vb::io::detail::tj_error_code("Bogus marker length"), vb::errc::corrupt_data);
}

// Damage inside the entropy-coded data makes libjpeg-turbo warn; stb then decides. Either way the
// call ends in a decoded image of the right size or in corrupt_data, never in a crash.
TEST(Codecs, DamagedScanDataDecodesOrFailsCleanly) {
  temp_dir dir;
  vb::io::save_image<vb::io::codec::turbojpeg>(dir / "ok.jpg", vbatch_test::smooth_picture(96, 64, 3).view());
  const std::vector<unsigned char> good = read_bytes(dir / "ok.jpg");
  std::mt19937 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<unsigned char> bad = good;
    for (int k = 0; k < 8; ++k)
      bad[good.size() / 2 + rng() % (good.size() / 2 - 4)] ^= static_cast<unsigned char>(1 + rng() % 255);
    write_bytes(dir / "bad.jpg", bad);
    try {
      const auto img = vb::io::load_image<vb::io::codec::turbojpeg>(dir / "bad.jpg", 3);
      EXPECT_EQ(img.shape(), (vb::batch_shape{1, 64, 96, 3}));
    } catch (const vb::error& e) {
      EXPECT_EQ(e.code(), vb::errc::corrupt_data) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.jpg"), std::string::npos) << e.what();
    }
  }
}

TEST(Codecs, TurboJpegEncodesStridedRows) {
  temp_dir dir;
  const auto img = vbatch_test::smooth_picture(64, 48, 3);
  const auto crop = img.view().crop(4, 8, 32, 40);  // (1,32,40,3), rows 64 pixels apart
  vb::io::save_image<vb::io::codec::turbojpeg>(dir / "crop.jpg", crop);
  vb::batch_buffer<vb::u8> dense({1, 32, 40, 3});
  for (int y = 0; y < 32; ++y) std::memcpy(dense.view().pixel(0, y, 0), crop.pixel(0, y, 0), 40 * 3);
  EXPECT_GE(psnr(vb::io::load_image(dir / "crop.jpg").view(), dense.view()), 40.0);
}
#endif

}  // namespace
