// EXIF and Photo Sphere metadata for perspective views (vbatch/io/exif.hpp). exiftool is the
// independent writer and reader: it writes a camera's EXIF (both byte orders) and GPano XMP into
// JPEGs vbatch encoded, and reads back and validates the views' EXIF. Corrupt blocks are built by
// hand here (tiff_block), from the TIFF 6.0 layout, not with the library's writer. Tests needing
// exiftool skip where it is not installed.

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "io/video_clips.hpp"
#include "test_util.hpp"
#include "vbatch/io/codec.hpp"
#include "vbatch/io/exif.hpp"
#include "vbatch/io/frame_source.hpp"

#define REQUIRE_EXIFTOOL()               \
  if (!vbatch_test::on_path("exiftool")) \
  GTEST_SKIP() << "exiftool is not installed here (Debian: apt-get install libimage-exiftool-perl; scripts/setup.sh does)"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using bytes = std::vector<unsigned char>;
using nlohmann::json;
using vbatch_test::read_bytes;
using vbatch_test::temp_dir;
using vbatch_test::throws_error;
using vbatch_test::write_bytes;

constexpr double pi = 3.14159265358979323846;

// ---------------------------------------------------------------------------------------------
// exiftool

struct run_result {
  int status;
  std::string out, err;
};

run_result run(const std::vector<std::string>& args) {
  vb::io::detail::child_process p(args);
  std::string out = vb::io::detail::read_all(p);
  const int status = p.wait();
  return {status, std::move(out), p.error_text()};
}

// Runs exiftool with an argument vector (no shell); a failed run fails the test.
std::string exiftool(std::vector<std::string> args) {
  args.insert(args.begin(), "exiftool");
  const run_result r = run(args);
  EXPECT_EQ(r.status, 0) << "exiftool failed: " << r.err;
  return r.out;
}

// Every tag exiftool reads from `file`, unknown ones too (-u: a MakerNote it cannot decode),
// numbers as numbers, keyed "GROUP:Name" (IFD0:Make, ExifIFD:FocalLength, GPS:GPSLatitude,
// IFD1:ThumbnailImage, ExifIFD:MakerNoteUnknownText, XMP-GPano:...).
json read_tags(const fs::path& file) { return json::parse(exiftool({"-j", "-n", "-u", "-G1", file.string()})).at(0); }

// exiftool's verdict on a file: "OK", or its warnings and errors.
std::string validate(const fs::path& file) {
  const std::string out = exiftool({"-validate", "-warning", "-error", "-a", file.string()});
  if (out.find("Warning") != std::string::npos || out.find("Error") != std::string::npos) return out;
  const std::size_t at = out.find("Validate");
  if (at == std::string::npos) return "no Validate line: " + out;
  return out.find(": OK", at) != std::string::npos ? "OK" : out;
}

bytes plain_jpeg(int w, int h, int channels = 3) {
  return vb::io::encode_image(vb::io::image_format::jpeg, vbatch_test::smooth_picture(w, h, channels).view());
}

// The tags of a 360° camera's panorama, as a THETA would write them, plus a lens, exposure, a
// MakerNote and a thumbnail that a view must not inherit.
std::vector<std::string> camera_tags(const temp_dir& dir) {
  write_bytes(dir / "thumb.jpg", plain_jpeg(32, 16));
  const std::string makernote = "vendor notes, offsets 0123456789";  // exiftool keeps it as MakerNoteUnknownText
  write_bytes(dir / "makernote.bin", bytes(makernote.begin(), makernote.end()));
  return {"-Make=Ricoh",
          "-Model=RICOH THETA Z1",
          "-ModifyDate=2026:05:02 11:00:00",
          "-Artist=A. Photographer",
          "-Copyright=(c) 2026 Someone",
          "-Software=RICOH THETA Z1 Ver 2.20.1",
          "-ImageDescription=a panorama",
          "-Orientation=6",
          "-DateTimeOriginal=2026:05:01 10:20:30",
          "-CreateDate=2026:05:01 10:20:31",
          "-OffsetTimeOriginal=+02:00",
          "-SubSecTimeOriginal=123",
          "-ExifIFD:SerialNumber=THETA00112233",
          "-FocalLength=2.6",
          "-LensModel=THETA fisheye",
          "-ExposureTime=0.01",
          "-FNumber=2.1",
          "-ISO=100",
          "-ExifImageWidth=128",
          "-ExifImageHeight=64",
          "-GPSLatitude=48.8584",
          "-GPSLatitudeRef=N",
          "-GPSLongitude=2.2945",
          "-GPSLongitudeRef=E",
          "-GPSAltitude=35.5",
          "-GPSAltitudeRef=0",
          "-GPSTimeStamp=08:20:30",
          "-GPSDateStamp=2026:05:01",
          "-GPSImgDirection=123.4",
          "-GPSMapDatum=WGS-84",
          "-MakerNotes<=" + (dir / "makernote.bin").string(),
          "-ThumbnailImage<=" + (dir / "thumb.jpg").string()};
}

// A 128x64 panorama JPEG encoded by vbatch, its EXIF written by exiftool in `byte_order`.
fs::path camera_jpeg(const temp_dir& dir, const std::string& byte_order) {
  const fs::path path = dir / ("pano_" + byte_order + ".jpg");
  write_bytes(path, plain_jpeg(128, 64));
  std::vector<std::string> args = {"-overwrite_original", "-n", "-ExifByteOrder=" + byte_order};
  for (std::string& a : camera_tags(dir)) args.push_back(std::move(a));
  args.push_back(path.string());
  exiftool(args);
  return path;
}

// The view's EXIF from a panorama file, inserted into a view JPEG of its size, written to `out`.
void write_view(const fs::path& pano, const vb::io::view_exif& view, const fs::path& out) {
  const std::optional<bytes> tiff = vb::io::find_exif(read_bytes(pano));
  const vb::io::exif_tags tags = tiff ? vb::io::parse_exif(*tiff, pano.string()) : vb::io::exif_tags{};
  write_bytes(out, vb::io::insert_exif(plain_jpeg(view.width, view.height), vb::io::make_view_exif(tags, view)));
}

// ---------------------------------------------------------------------------------------------
// JPEG structure, read here independently of the library

struct segment {
  unsigned marker;
  bytes payload;
};

// The marker segments before the first scan.
std::vector<segment> segments(const bytes& jpeg) {
  std::vector<segment> out;
  EXPECT_TRUE(jpeg.size() > 4 && jpeg[0] == 0xFF && jpeg[1] == 0xD8);
  for (std::size_t i = 2; i + 4 <= jpeg.size() && jpeg[i] == 0xFF && jpeg[i + 1] != 0xDA;) {
    const std::size_t length = std::size_t{jpeg[i + 2]} << 8 | jpeg[i + 3];
    if (i + 2 + length > jpeg.size()) break;
    out.push_back({jpeg[i + 1], bytes(jpeg.begin() + std::ptrdiff_t(i + 4), jpeg.begin() + std::ptrdiff_t(i + 2 + length))});
    i += 2 + length;
  }
  return out;
}

bool is_exif(const segment& s) {
  return s.marker == 0xE1 && s.payload.size() >= 6 && std::memcmp(s.payload.data(), "Exif\0\0", 6) == 0;
}

// `jpeg` with an APP1 segment holding `payload` right after SOI.
bytes with_app1(const bytes& jpeg, const std::string& payload) {
  const std::size_t length = payload.size() + 2;
  bytes out;
  out.reserve(jpeg.size() + 2 + length);  // (also keeps GCC 12's -Warray-bounds false positive away)
  for (const unsigned char b : {jpeg.at(0), jpeg.at(1), std::uint8_t{0xFF}, std::uint8_t{0xE1},
                                static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length & 0xFF)})
    out.push_back(b);
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

bytes with_xmp(const bytes& jpeg, const std::string& packet) {
  return with_app1(jpeg, std::string("http://ns.adobe.com/xap/1.0/\0", 29) + packet);
}

// ---------------------------------------------------------------------------------------------
// TIFF blocks built by hand, in either byte order

class tiff_block {
 public:
  struct tag {
    std::uint16_t id, type;
    std::uint32_t count;
    bytes value;  // in the block's byte order
  };

  explicit tiff_block(bool big_endian) : big_(big_endian) {
    data = big_ ? bytes{'M', 'M', 0, 42} : bytes{'I', 'I', 42, 0};
    append(word(8, 4));
  }

  bytes word(std::uint64_t v, int n) const {
    bytes b(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) b[std::size_t(big_ ? n - 1 - k : k)] = static_cast<unsigned char>(v >> (8 * k));
    return b;
  }

  // A tag of a numeric type; rationals take a numerator and a denominator per value.
  tag number(std::uint16_t id, std::uint16_t type, const std::vector<double>& values) const {
    tag t{id, type, 0, {}};
    for (double v : values) {
      bytes b;
      if (type == 11) {
        const float f = static_cast<float>(v);
        std::uint32_t bits;
        std::memcpy(&bits, &f, 4);
        b = word(bits, 4);
      } else if (type == 12) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, 8);
        b = word(bits, 8);
      } else {
        const int n = type == 3 || type == 8 ? 2 : type == 1 || type == 6 || type == 7 ? 1 : 4;
        b = word(static_cast<std::uint64_t>(static_cast<std::int64_t>(v)), n);
      }
      t.value.insert(t.value.end(), b.begin(), b.end());
    }
    t.count = std::uint32_t(type == 5 || type == 10 ? values.size() / 2 : values.size());
    return t;
  }
  static tag text(std::uint16_t id, const std::string& s) {
    return {id, 2, std::uint32_t(s.size() + 1), bytes(s.c_str(), s.c_str() + s.size() + 1)};
  }

  // Appends an IFD and, after it, its values longer than 4 bytes; returns its offset.
  std::uint32_t add_ifd(const std::vector<tag>& tags, std::uint32_t next = 0) {
    if (data.size() % 2) data.push_back(0);
    const auto at = std::uint32_t(data.size());
    std::size_t values = at + 2 + 12 * tags.size() + 4;
    append(word(tags.size(), 2));
    for (const tag& t : tags) {
      append(word(t.id, 2));
      append(word(t.type, 2));
      append(word(t.count, 4));
      if (t.value.size() <= 4) {
        append(t.value);
        data.insert(data.end(), 4 - t.value.size(), 0);
      } else {
        append(word(values, 4));
        values += t.value.size() + t.value.size() % 2;
      }
    }
    append(word(next, 4));
    for (const tag& t : tags)
      if (t.value.size() > 4) {
        append(t.value);
        if (t.value.size() % 2) data.push_back(0);
      }
    return at;
  }
  static std::size_t field(std::uint32_t ifd, int k) { return ifd + 2 + 12 * std::size_t(k) + 8; }
  void set(std::size_t at, std::uint64_t v, int n = 4) {
    const bytes b = word(v, n);
    std::copy(b.begin(), b.end(), data.begin() + std::ptrdiff_t(at));
  }

  bytes data;

 private:
  void append(const bytes& b) { data.insert(data.end(), b.begin(), b.end()); }
  bool big_;
};

// A block with IFD0 (Make, Exif and GPS pointers), an Exif IFD and a GPS IFD; `exif_at` and
// `gps_at` receive their offsets, IFD0 is at 8 with the pointers as its entries 1 and 2.
bytes small_block(bool big, std::uint32_t* exif_at = nullptr, std::uint32_t* gps_at = nullptr) {
  tiff_block b(big);
  const std::uint32_t ifd0 = b.add_ifd({tiff_block::text(0x010F, "Cam"), b.number(0x8769, 4, {0}), b.number(0x8825, 4, {0})});
  const std::uint32_t exif = b.add_ifd({tiff_block::text(0x9003, "2026:05:01 10:20:30")});
  const std::uint32_t gps = b.add_ifd({b.number(0x0000, 1, {2, 3, 0, 0}), b.number(0x0002, 5, {48, 1, 51, 1, 3024, 100})});
  b.set(tiff_block::field(ifd0, 1), exif);
  b.set(tiff_block::field(ifd0, 2), gps);
  if (exif_at) *exif_at = exif;
  if (gps_at) *gps_at = gps;
  return b.data;
}

// The IFDs of a little-endian block, checked for what the writer must do: ids ascending, every
// IFD and value offset even and inside the block, next-IFD offset 0. Per IFD in the order read
// (IFD0, then those its pointers name, in id order), each tag's id and raw value bytes.
using raw_ifd = std::vector<std::pair<std::uint16_t, bytes>>;
std::vector<raw_ifd> read_layout(const bytes& t) {
  const auto u16 = [&](std::size_t at) { return unsigned(t.at(at)) | unsigned(t.at(at + 1)) << 8; };
  const auto u32 = [&](std::size_t at) { return std::uint32_t(u16(at)) | std::uint32_t(u16(at + 2)) << 16; };
  EXPECT_EQ(t.at(0), 'I');
  EXPECT_EQ(u16(2), 42u);
  std::vector<raw_ifd> ifds;
  std::vector<std::uint32_t> pending = {u32(4)};
  while (!pending.empty() && ifds.size() < 8) {
    const std::uint32_t at = pending.front();
    pending.erase(pending.begin());
    EXPECT_EQ(at % 2, 0u) << "IFD at an odd offset";
    const unsigned n = u16(at);
    raw_ifd& ifd = ifds.emplace_back();
    for (unsigned k = 0; k < n; ++k) {
      const std::size_t e = at + 2 + 12 * k;
      const unsigned id = u16(e), type = u16(e + 2);
      const std::size_t size = u32(e + 4) * std::size_t(vb::io::tiff_type_size(static_cast<std::uint16_t>(type)));
      if (!ifd.empty()) {
        EXPECT_LT(ifd.back().first, id) << "tags out of order";
      }
      std::size_t value = e + 8;
      if (size > 4) {
        value = u32(e + 8);
        EXPECT_EQ(value % 2, 0u) << "tag " << id << " value at an odd offset";
      }
      EXPECT_LE(value + size, t.size());
      ifd.emplace_back(static_cast<std::uint16_t>(id),
                       bytes(t.begin() + std::ptrdiff_t(value), t.begin() + std::ptrdiff_t(std::min(value + size, t.size()))));
      if (id == 0x8769 || id == 0x8825) pending.push_back(u32(e + 8));
    }
    EXPECT_EQ(u32(at + 2 + 12 * n), 0u) << "next-IFD offset";
  }
  return ifds;
}

const bytes* raw_value(const raw_ifd& ifd, std::uint16_t id) {
  for (const auto& [tag, value] : ifd)
    if (tag == id) return &value;
  return nullptr;
}

std::pair<std::uint64_t, std::uint64_t> le_rational(const bytes& v) {
  const auto u32 = [&](std::size_t at) {
    return std::uint64_t(v.at(at)) | std::uint64_t(v.at(at + 1)) << 8 | std::uint64_t(v.at(at + 2)) << 16 |
           std::uint64_t(v.at(at + 3)) << 24;
  };
  return {u32(0), u32(4)};
}

// ---------------------------------------------------------------------------------------------
// A view's EXIF read by exiftool

class ExifView : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(ExifByteOrder, ExifView, ::testing::Values("II", "MM"));

// The camera, time, place and owner of the panorama carry over; Orientation is 1; the size and
// focal length are the view's; lens, exposure, MakerNote, thumbnail and Software are gone; and
// exiftool -validate finds nothing wrong.
TEST_P(ExifView, KeepsCameraTimeAndPlaceAndDescribesTheView) {
  REQUIRE_EXIFTOOL();
  temp_dir dir;
  const fs::path pano = camera_jpeg(dir, GetParam());
  const std::optional<bytes> tiff = vb::io::find_exif(read_bytes(pano));
  ASSERT_TRUE(tiff);
  ASSERT_EQ(std::string(tiff->begin(), tiff->begin() + 2), GetParam()) << "exiftool wrote the other byte order";
  const fs::path view = dir / "view.jpg";
  write_view(pano, {320, 240, 90.0, 3, "vbatch e2p"}, view);

  const json src = read_tags(pano), out = read_tags(view);
  for (const char* key : {"IFD0:Make", "IFD0:Model", "IFD0:ModifyDate", "IFD0:Artist", "IFD0:Copyright",
                          "ExifIFD:DateTimeOriginal", "ExifIFD:CreateDate", "ExifIFD:OffsetTimeOriginal",
                          "ExifIFD:SubSecTimeOriginal", "ExifIFD:SerialNumber", "ExifIFD:ColorSpace"}) {
    ASSERT_TRUE(src.contains(key)) << key << " missing from the source: " << src.dump(1);
    EXPECT_EQ(out.value(key, json()), src[key]) << key;
  }
  int gps_tags = 0;
  for (const auto& [key, value] : src.items())
    if (key.starts_with("GPS:")) {
      ++gps_tags;
      EXPECT_EQ(out.value(key, json()), value) << key;
    }
  EXPECT_GE(gps_tags, 10);
  for (const auto& [key, value] : out.items())
    if (key.starts_with("GPS:")) {
      EXPECT_TRUE(src.contains(key)) << key << " was not in the source";
    }

  EXPECT_EQ(out.value("IFD0:Orientation", 0), 1);
  EXPECT_EQ(out.value("IFD0:Software", ""), "vbatch e2p");
  EXPECT_EQ(out.value("ExifIFD:ExifImageWidth", 0), 320);
  EXPECT_EQ(out.value("ExifIFD:ExifImageHeight", 0), 240);
  EXPECT_NEAR(out.value("ExifIFD:FocalLength", 0.0), 18.0, 1e-9);  // 18 / tan(45°)
  EXPECT_EQ(out.value("ExifIFD:FocalLengthIn35mmFormat", 0), 18);
  EXPECT_NEAR(out.value("ExifIFD:FocalPlaneXResolution", 0.0), 320 / 3.6, 1e-6);
  EXPECT_NEAR(out.value("ExifIFD:FocalPlaneYResolution", 0.0), 320 / 3.6, 1e-6);
  EXPECT_EQ(out.value("ExifIFD:FocalPlaneResolutionUnit", 0), 3);

  // What the panorama had and a view must not: it describes the camera's lenses or the panorama.
  for (const char* key : {"IFD0:Orientation", "ExifIFD:LensModel", "ExifIFD:ExposureTime", "ExifIFD:FNumber", "ExifIFD:ISO",
                          "IFD0:ImageDescription", "IFD0:Software", "IFD1:ThumbnailImage"})
    ASSERT_TRUE(src.contains(key)) << key << " missing from the source";
  EXPECT_EQ(src["IFD0:Orientation"], 6);
  bool makernote = false;
  for (const auto& [key, value] : src.items()) makernote |= key.find("MakerNote") != std::string::npos;
  ASSERT_TRUE(makernote) << "exiftool wrote no MakerNote into the source: " << src.dump(1);
  for (const auto& [key, value] : out.items()) {
    EXPECT_FALSE(key.find("MakerNote") != std::string::npos || key.starts_with("IFD1:") || key == "ExifIFD:LensModel" ||
                 key == "ExifIFD:ExposureTime" || key == "ExifIFD:FNumber" || key == "ExifIFD:ISO" ||
                 key == "IFD0:ImageDescription")
        << key << " = " << value;
  }
  EXPECT_EQ(validate(view), "OK");
  read_layout(vb::io::find_exif(read_bytes(view)).value());
}

// FocalLength, FocalLengthIn35mmFilm and FocalPlaneXResolution give the pinhole's focal length in
// pixels, width / 2 / tan(hfov / 2), for any field of view and width.
TEST(ExifView, FocalTagsGiveThePinholeFocalLengthInPixels) {
  REQUIRE_EXIFTOOL();
  temp_dir dir;
  const bytes jpeg = plain_jpeg(64, 48);
  for (const double hfov : {90.0, 65.0, 120.5, 10.0, 170.0})
    for (const int width : {320, 1001, 5376}) {
      SCOPED_TRACE(testing::Message() << "hfov " << hfov << ", width " << width);
      const fs::path view = dir / "view.jpg";
      write_bytes(view, vb::io::insert_exif(jpeg, vb::io::make_view_exif({width, 480, hfov})));
      const json out = read_tags(view);
      const double f_mm = out.value("ExifIFD:FocalLength", 0.0), per_cm = out.value("ExifIFD:FocalPlaneXResolution", 0.0);
      const double f_px = width / 2.0 / std::tan(hfov * pi / 360);
      EXPECT_NEAR(f_mm, 18 / std::tan(hfov * pi / 360), 1e-7 * f_mm);
      EXPECT_NEAR(per_cm, width / 3.6, 1e-8 * per_cm);
      EXPECT_NEAR(f_mm * per_cm / 10, f_px, 1e-7 * f_px);
      EXPECT_EQ(out.value("ExifIFD:FocalPlaneYResolution", 0.0), per_cm);
      EXPECT_EQ(out.value("ExifIFD:FocalLengthIn35mmFormat", -1), std::lround(18 / std::tan(hfov * pi / 360)));
    }
}

// The rationals themselves: FocalPlaneXResolution is exactly width / 3.6 (5 width / 18, reduced),
// FocalLength within 1e-12 of 18 / tan(hfov / 2); IFD0 then the Exif IFD, laid out as TIFF requires.
TEST(ExifView, FocalRationalsAreExact) {
  for (const int width : {320, 1001, 5376, 1, 65536})
    for (const double hfov : {90.0, 65.0, 1.0, 179.0}) {
      SCOPED_TRACE(testing::Message() << "hfov " << hfov << ", width " << width);
      const std::vector<raw_ifd> ifds = read_layout(vb::io::make_view_exif({width, 10, hfov}));
      ASSERT_EQ(ifds.size(), 2u);
      const bytes *res = raw_value(ifds[1], 0xA20E), *res_y = raw_value(ifds[1], 0xA20F), *focal = raw_value(ifds[1], 0x920A);
      ASSERT_TRUE(res && res_y && focal);
      const auto [num, den] = le_rational(*res);
      EXPECT_EQ(num * 18, 5 * std::uint64_t(width) * den);
      EXPECT_EQ(std::gcd(num, den), 1u);
      EXPECT_EQ(*res_y, *res);
      const auto [f_num, f_den] = le_rational(*focal);
      const double f_mm = 18 / std::tan(hfov * pi / 360);
      EXPECT_NEAR(double(f_num) / double(f_den), f_mm, 1e-12 * f_mm);
    }
}

// A panorama without EXIF still gives its views the view's own tags: size, focal, Orientation,
// and no camera or GPS.
TEST(ExifView, WithoutSourceExifHasTheViewsTagsOnly) {
  REQUIRE_EXIFTOOL();
  temp_dir dir;
  const fs::path pano = dir / "pano.jpg", view = dir / "view.jpg";
  write_bytes(pano, plain_jpeg(128, 64));
  EXPECT_FALSE(vb::io::find_exif(read_bytes(pano)));
  write_view(pano, {200, 100, 60.0}, view);
  const json out = read_tags(view);
  EXPECT_EQ(out.value("IFD0:Orientation", 0), 1);
  EXPECT_EQ(out.value("ExifIFD:ExifImageWidth", 0), 200);
  EXPECT_NEAR(out.value("ExifIFD:FocalLength", 0.0), 18 / std::tan(pi / 6), 1e-7);
  for (const auto& [key, value] : out.items())
    EXPECT_FALSE(key.starts_with("GPS:") || key == "IFD0:Make" || key == "IFD0:Software") << key;
  EXPECT_EQ(validate(view), "OK");

  // A grey view: its JPEG has one component, and ComponentsConfiguration says so.
  write_bytes(view, vb::io::insert_exif(plain_jpeg(200, 100, 1), vb::io::make_view_exif({200, 100, 60.0, 1})));
  EXPECT_EQ(read_tags(view).value("ExifIFD:ComponentsConfiguration", ""), "1 0 0 0");
  EXPECT_EQ(validate(view), "OK");
}

// ---------------------------------------------------------------------------------------------
// insert_exif

// The segment goes after the JFIF APP0 (or right after SOI without one), replaces any Exif APP1,
// and leaves every other byte, hence the pixels, as they were.
TEST(ExifInsert, PlacesOneExifSegmentAndKeepsThePixels) {
  const bytes jpeg = plain_jpeg(96, 64);
  ASSERT_EQ(segments(jpeg).at(0).marker, 0xE0u) << "vbatch's JPEGs start with a JFIF APP0";
  const bytes a = vb::io::make_view_exif({96, 64, 90.0}), b = vb::io::make_view_exif({96, 64, 45.0});

  const bytes once = vb::io::insert_exif(jpeg, a);
  const std::vector<segment> s = segments(once);
  ASSERT_GE(s.size(), 2u);
  EXPECT_EQ(s[0].marker, 0xE0u);
  EXPECT_EQ(std::string(s[0].payload.begin(), s[0].payload.begin() + 5), std::string("JFIF\0", 5));
  EXPECT_TRUE(is_exif(s[1]));
  EXPECT_EQ(bytes(s[1].payload.begin() + 6, s[1].payload.end()), a);
  EXPECT_EQ(once.size(), jpeg.size() + 4 + 6 + a.size());
  // Everything but the new segment is the input's bytes.
  const std::size_t app0_end = 2 + 2 + (std::size_t{jpeg[4]} << 8 | jpeg[5]);
  EXPECT_TRUE(std::equal(jpeg.begin(), jpeg.begin() + std::ptrdiff_t(app0_end), once.begin()));
  EXPECT_TRUE(
      std::equal(jpeg.begin() + std::ptrdiff_t(app0_end), jpeg.end(), once.end() - std::ptrdiff_t(jpeg.size() - app0_end)));

  // Again: the old Exif segment goes, one remains.
  const bytes twice = vb::io::insert_exif(once, b);
  int exif_segments = 0;
  for (const segment& g : segments(twice)) exif_segments += is_exif(g);
  EXPECT_EQ(exif_segments, 1);
  EXPECT_EQ(vb::io::find_exif(twice), b);
  EXPECT_EQ(twice.size(), once.size() - a.size() + b.size());
  // An empty block only strips.
  const bytes stripped = vb::io::insert_exif(twice, {});
  EXPECT_FALSE(vb::io::find_exif(stripped));
  EXPECT_EQ(stripped, jpeg);

  // Without JFIF APP0 the segment comes first.
  bytes no_jfif(jpeg.begin(), jpeg.begin() + 2);
  no_jfif.insert(no_jfif.end(), jpeg.begin() + std::ptrdiff_t(app0_end), jpeg.end());
  const std::vector<segment> s2 = segments(vb::io::insert_exif(no_jfif, a));
  ASSERT_FALSE(s2.empty());
  EXPECT_TRUE(is_exif(s2[0]));

  // The pixels, decoded by vbatch: identical.
  for (const bytes* encoded : {&once, &twice, &stripped}) {
    const auto decode = [](const bytes& e) {
      vb::batch_buffer<vb::u8> img;
      vb::io::decode_image(e, "view.jpg", 3, {}, [&](const vb::io::image_info& info) {
        img = vb::batch_buffer<vb::u8>({1, info.height, info.width, info.channels});
        return img.view();
      });
      return img;
    };
    const auto before = decode(jpeg), after = decode(*encoded);
    EXPECT_TRUE(vbatch_test::same_bytes(before.view(), after.view()));
  }
}

TEST(ExifInsert, RefusesBlocksOverTheSegmentSizeAndNonJpegInput) {
  const bytes jpeg = plain_jpeg(32, 32);
  const bytes largest(65527, 0x55);  // 2 (length) + 6 ("Exif\0\0") + 65527 = 65535
  const bytes out = vb::io::insert_exif(jpeg, largest);
  EXPECT_EQ(vb::io::find_exif(out), largest);
  EXPECT_TRUE(
      throws_error([&] { vb::io::insert_exif(jpeg, bytes(65528, 0x55)); }, vb::errc::invalid_argument, {"65528", "APP1"}));

  const bytes png = vb::io::encode_image(vb::io::image_format::png, vbatch_test::smooth_picture(8, 8, 3).view());
  const bytes tiff = vb::io::make_view_exif({8, 8, 90.0});
  EXPECT_TRUE(throws_error([&] { vb::io::insert_exif(png, tiff); }, vb::errc::corrupt_data, {"not a JPEG"}));
  EXPECT_TRUE(throws_error([&] { vb::io::insert_exif(bytes{}, tiff); }, vb::errc::corrupt_data, {"not a JPEG"}));
  // Broken before the image data: cut inside the APP0 header, cut before any scan, a bad length.
  EXPECT_TRUE(throws_error([&] { vb::io::insert_exif(bytes(jpeg.begin(), jpeg.begin() + 12), tiff); }, vb::errc::corrupt_data,
                           {"JPEG", "declares"}));
  EXPECT_TRUE(throws_error([&] { vb::io::insert_exif(bytes(jpeg.begin(), jpeg.begin() + 20), tiff); }, vb::errc::corrupt_data,
                           {"truncated JPEG"}));
  bytes bad = jpeg;
  bad[4] = 0, bad[5] = 1;  // APP0 length 1
  EXPECT_TRUE(throws_error([&] { vb::io::insert_exif(bad, tiff); }, vb::errc::corrupt_data, {"declares 1 bytes"}));
  bad = jpeg;
  bad[2 + 2 + 16] = 0x12;  // where the next marker should be
  EXPECT_TRUE(throws_error([&] { vb::io::insert_exif(bad, tiff); }, vb::errc::corrupt_data, {"not a marker"}));
}

// ---------------------------------------------------------------------------------------------
// find_exif

// Only an APP1 starting "Exif\0\0" counts; a truncated file or segment gives nullopt, whatever
// the cut, and nothing is read outside the input (ASan runs this in CI).
TEST(ExifFind, TruncatedOrForeignSegmentsGiveNullopt) {
  const bytes jpeg = plain_jpeg(32, 32);
  EXPECT_FALSE(vb::io::find_exif(jpeg));
  EXPECT_FALSE(vb::io::find_exif(bytes{}));
  EXPECT_FALSE(vb::io::find_exif(bytes{0xFF, 0xD8}));
  EXPECT_FALSE(vb::io::find_exif(with_app1(jpeg, "Exif")));                        // short header
  EXPECT_FALSE(vb::io::find_exif(with_app1(jpeg, std::string("Exif\0\1II", 8))));  // not "Exif\0\0"
  EXPECT_FALSE(vb::io::find_exif(with_xmp(jpeg, "<x:xmpmeta/>")));
  EXPECT_EQ(vb::io::find_exif(with_app1(jpeg, std::string("Exif\0\0", 6))), bytes{});  // present, empty

  const bytes tiff = small_block(false);
  const bytes file = vb::io::insert_exif(jpeg, tiff);
  const std::size_t app1_end = [&] {
    const std::size_t app0_end = 4 + (std::size_t{file[4]} << 8 | file[5]);
    return app0_end + 2 + (std::size_t{file[app0_end + 2]} << 8 | file[app0_end + 3]);
  }();
  for (std::size_t cut = 0; cut <= app1_end + 8; ++cut) {
    const bytes prefix(file.begin(), file.begin() + std::ptrdiff_t(cut));  // exact size: ASan sees any overread
    const std::optional<bytes> found = vb::io::find_exif(prefix);
    if (cut < app1_end)
      EXPECT_FALSE(found) << "cut at " << cut;
    else
      EXPECT_EQ(found, tiff) << "cut at " << cut;
  }
  // A segment length running past the end: nullopt, not a read past it.
  bytes bad = file;
  bad[4] = 0xFF, bad[5] = 0xF0;
  EXPECT_FALSE(vb::io::find_exif(bad));
}

// ---------------------------------------------------------------------------------------------
// parse_exif on hand-built blocks

// Every TIFF type converts number by number from either byte order to the same little-endian
// values; types TIFF does not define are skipped.
TEST(ExifParse, ConvertsEveryTypeFromEitherByteOrder) {
  vb::io::exif_tags parsed[2];
  for (const bool big : {false, true}) {
    tiff_block b(big);
    const std::uint32_t ifd0 = b.add_ifd({tiff_block::text(0x010F, "Cam"), b.number(0x0112, 3, {6}), b.number(0x8825, 4, {0})});
    const std::uint32_t gps = b.add_ifd({
        b.number(0x0000, 1, {2, 3, 0, 0}),               // BYTE
        tiff_block::text(0x0001, "N"),                   // ASCII
        b.number(0x0002, 5, {48, 1, 51, 1, 3024, 100}),  // RATIONAL
        b.number(0x0010, 3, {1, 65535, 3}),              // SHORT
        b.number(0x0011, 4, {4000000000}),               // LONG
        b.number(0x0012, 10, {-7, 2, 5, -4}),            // SRATIONAL
        b.number(0x0013, 8, {-300, 300}),                // SSHORT
        b.number(0x0014, 9, {-70000}),                   // SLONG
        b.number(0x0015, 6, {-5, 7}),                    // SBYTE
        b.number(0x0016, 11, {1.5, -0.25}),              // FLOAT
        b.number(0x0017, 12, {3.141592653589793}),       // DOUBLE
        b.number(0x0018, 7, {1, 2, 3, 4, 5}),            // UNDEFINED
        {0x0019, 99, 1, b.word(1, 4)},                   // no such type: skipped
    });
    b.set(tiff_block::field(ifd0, 2), gps);
    const vb::io::exif_tags t = vb::io::parse_exif(b.data, "pano.jpg");
    ASSERT_EQ(t.ifd0.size(), 1u);  // Make; Orientation dropped
    EXPECT_EQ(t.ifd0[0].text(), "Cam");
    EXPECT_TRUE(t.exif.empty());
    ASSERT_EQ(t.gps.size(), 12u);
    const auto g = [&](std::uint16_t id) {
      const vb::io::exif_tag* tag = vb::io::find_tag(t.gps, id);
      EXPECT_TRUE(tag) << id;
      return tag ? *tag : vb::io::exif_tag{};
    };
    EXPECT_EQ(g(0x0000).value, (bytes{2, 3, 0, 0}));
    EXPECT_EQ(g(0x0001).text(), "N");
    EXPECT_EQ(g(0x0002).count, 3u);
    EXPECT_EQ(g(0x0002).number(0), 48);
    EXPECT_EQ(g(0x0002).number(2), 30.24);
    EXPECT_EQ(g(0x0002).value, (bytes{48, 0, 0, 0, 1, 0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 0, 0xD0, 0x0B, 0, 0, 100, 0, 0, 0}));
    EXPECT_EQ(g(0x0010).number(1), 65535);
    EXPECT_EQ(g(0x0010).value, (bytes{1, 0, 0xFF, 0xFF, 3, 0}));
    EXPECT_EQ(g(0x0011).number(), 4000000000.0);
    EXPECT_EQ(g(0x0012).number(0), -3.5);
    EXPECT_EQ(g(0x0012).number(1), -1.25);
    EXPECT_EQ(g(0x0013).number(0), -300);
    EXPECT_EQ(g(0x0014).number(), -70000);
    EXPECT_EQ(g(0x0015).number(0), -5);
    EXPECT_EQ(g(0x0016).number(0), 1.5);
    EXPECT_EQ(g(0x0016).number(1), -0.25);
    EXPECT_EQ(g(0x0017).number(), 3.141592653589793);
    EXPECT_EQ(g(0x0018).value, (bytes{1, 2, 3, 4, 5}));
    EXPECT_FALSE(vb::io::find_tag(t.gps, 0x0019));
    EXPECT_TRUE(throws_error([&] { (void)g(0x0010).number(3); }, vb::errc::invalid_argument));
    EXPECT_TRUE(throws_error([&] { (void)g(0x0001).number(); }, vb::errc::invalid_argument));
    parsed[big] = t;
  }
  for (std::size_t k = 0; k < parsed[0].gps.size(); ++k) {
    EXPECT_EQ(parsed[0].gps[k].id, parsed[1].gps[k].id);
    EXPECT_EQ(parsed[0].gps[k].value, parsed[1].gps[k].value) << "tag " << parsed[0].gps[k].id;
  }
  // Written back, little-endian, sorted, aligned: the GPS IFD reads as it was given.
  const std::vector<raw_ifd> ifds = read_layout(vb::io::make_view_exif(parsed[1], {10, 10, 90.0}));
  ASSERT_EQ(ifds.size(), 3u);
  ASSERT_EQ(ifds[2].size(), parsed[0].gps.size());
  for (std::size_t k = 0; k < ifds[2].size(); ++k) EXPECT_EQ(ifds[2][k].second, parsed[0].gps[k].value);
}

// Only the listed tags survive; the first of a repeated id wins; IFD1 is not followed.
TEST(ExifParse, KeepsOnlyTagsTrueForAView) {
  tiff_block b(true);
  const std::uint32_t ifd0 = b.add_ifd({
      b.number(0x0100, 4, {6720}),                      // ImageWidth
      tiff_block::text(0x010E, "a panorama"),           // ImageDescription
      tiff_block::text(0x010F, "Ricoh"),                // Make
      tiff_block::text(0x010F, "Other"),                // repeated
      tiff_block::text(0x0110, "THETA"),                // Model
      b.number(0x0112, 3, {6}),                         // Orientation
      tiff_block::text(0x0131, "firmware"),             // Software
      tiff_block::text(0x0132, "2026:05:01 10:00:00"),  // DateTime
      tiff_block::text(0x013B, "me"),                   // Artist
      tiff_block::text(0x8298, "(c)"),                  // Copyright
      b.number(0x8769, 4, {0}),                         // Exif IFD
  });
  const std::uint32_t exif = b.add_ifd({
      b.number(0x829A, 5, {1, 100}),  // ExposureTime
      tiff_block::text(0x9003, "2026:05:01 10:20:30"), tiff_block::text(0x9004, "2026:05:01 10:20:31"),
      tiff_block::text(0x9010, "+02:00"), tiff_block::text(0x9011, "+02:00"), tiff_block::text(0x9012, "+02:00"),
      b.number(0x920A, 5, {26, 10}),                  // FocalLength
      b.number(0x927C, 7, {1, 2, 3, 4, 5, 6, 7, 8}),  // MakerNote
      tiff_block::text(0x9290, "1"), tiff_block::text(0x9291, "12"), tiff_block::text(0x9292, "123"),
      b.number(0xA001, 3, {1}),                               // ColorSpace
      b.number(0xA002, 4, {6720}), b.number(0xA005, 4, {8}),  // Interop pointer: not followed
      tiff_block::text(0xA430, "owner"), tiff_block::text(0xA431, "serial"), tiff_block::text(0xA434, "lens"),  // LensModel
  });
  b.set(tiff_block::field(ifd0, 10), exif);
  const std::uint32_t ifd1 = b.add_ifd({b.number(0x0103, 3, {6})});
  b.set(ifd0 + 2 + 12 * 11, ifd1);  // IFD0's next-IFD offset: the thumbnail's IFD1
  const vb::io::exif_tags t = vb::io::parse_exif(b.data, "pano.jpg");
  const auto ids = [](const std::vector<vb::io::exif_tag>& tags) {
    std::vector<unsigned> v;
    for (const auto& tag : tags) v.push_back(tag.id);
    return v;
  };
  EXPECT_EQ(ids(t.ifd0), (std::vector<unsigned>{0x010F, 0x0110, 0x0132, 0x013B, 0x8298}));
  EXPECT_EQ(t.ifd0[0].text(), "Ricoh");
  EXPECT_EQ(ids(t.exif),
            (std::vector<unsigned>{0x9003, 0x9004, 0x9010, 0x9011, 0x9012, 0x9290, 0x9291, 0x9292, 0xA001, 0xA430, 0xA431}));
  EXPECT_TRUE(t.gps.empty());
}

// Malformed blocks raise corrupt_data naming the file and what is wrong, never read outside.
TEST(ExifParse, CorruptBlocksRaiseNamingTheFile) {
  const auto corrupt = [](const bytes& block, std::initializer_list<std::string_view> parts) {
    std::vector<std::string_view> all = {"pano.jpg", "corrupt EXIF"};
    all.insert(all.end(), parts.begin(), parts.end());
    try {
      vb::io::parse_exif(block, "pano.jpg");
    } catch (const vb::error& e) {
      if (e.code() != vb::errc::corrupt_data) return ::testing::AssertionFailure() << "errc " << vb::to_string(e.code());
      for (std::string_view p : all)
        if (std::string(e.what()).find(p) == std::string::npos)
          return ::testing::AssertionFailure() << "\"" << e.what() << "\" lacks \"" << p << "\"";
      return ::testing::AssertionSuccess() << e.what();
    }
    return ::testing::AssertionFailure() << "did not throw";
  };
  for (const bool big : {false, true}) {
    SCOPED_TRACE(big ? "MM" : "II");
    std::uint32_t exif_at = 0, gps_at = 0;
    const bytes good = small_block(big, &exif_at, &gps_at);
    ASSERT_NO_THROW(vb::io::parse_exif(good, "pano.jpg"));
    tiff_block b(big);
    b.data = good;

    // The header.
    EXPECT_TRUE(corrupt(bytes(good.begin(), good.begin() + 7), {"shorter than a TIFF header"}));
    bytes t = good;
    t[0] = 'X';
    EXPECT_TRUE(corrupt(t, {"byte-order"}));
    b.data = good, b.set(2, 43, 2);
    EXPECT_TRUE(corrupt(b.data, {"magic 43"}));
    // IFD offsets past the end, inside the header, entry tables longer than the block.
    b.data = good, b.set(4, 100000);
    EXPECT_TRUE(corrupt(b.data, {"IFD0 at offset 100000"}));
    b.data = good, b.set(4, 4);
    EXPECT_TRUE(corrupt(b.data, {"inside the TIFF header"}));
    b.data = good, b.set(tiff_block::field(8, 1), std::uint32_t(good.size()) - 1);
    EXPECT_TRUE(corrupt(b.data, {"Exif IFD at offset"}));
    b.data = good, b.set(8, 0xFFFF, 2);
    EXPECT_TRUE(corrupt(b.data, {"IFD0 of 65535 entries"}));
    // A count whose byte size overflows 32 bits, and an offset + size that would wrap.
    b.data = good, b.set(gps_at + 2 + 12 + 4, 0xFFFFFFFF);
    EXPECT_TRUE(corrupt(b.data, {"GPS IFD tag 0x0002 declares 4294967295 values of 8 bytes"}));
    b.data = good, b.set(gps_at + 2 + 12 + 8, 0xFFFFFFF8);
    EXPECT_TRUE(corrupt(b.data, {"GPS IFD tag 0x0002 at offset 4294967288 needs 24 bytes"}));
    b.data = good, b.set(exif_at + 2 + 4, 0x10000);  // DateTimeOriginal's count
    EXPECT_TRUE(corrupt(b.data, {"Exif IFD tag 0x9003"}));
    // Loops: the Exif pointer back at IFD0, the GPS pointer at the Exif IFD.
    b.data = good, b.set(tiff_block::field(8, 1), 8);
    EXPECT_TRUE(corrupt(b.data, {"Exif IFD pointer loops back", "offset 8"}));
    b.data = good, b.set(tiff_block::field(8, 2), exif_at);
    EXPECT_TRUE(corrupt(b.data, {"GPS IFD pointer loops back"}));
    // A pointer that is not one LONG.
    b.data = good, b.set(8 + 2 + 12 + 2, 2, 2);
    EXPECT_TRUE(corrupt(b.data, {"Exif IFD pointer has type 2"}));

    // Every truncation of a valid block: a result or corrupt_data, nothing else.
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
      const bytes prefix(good.begin(), good.begin() + std::ptrdiff_t(cut));
      try {
        vb::io::parse_exif(prefix, "pano.jpg");
      } catch (const vb::error& e) {
        EXPECT_EQ(e.code(), vb::errc::corrupt_data) << e.what();
      }
    }
  }
}

// Random damage to real blocks: parse_exif gives tags make_view_exif accepts, or corrupt_data;
// never anything else, never a read outside the block (ASan/UBSan in CI).
TEST(ExifParse, RandomDamageIsCaught) {
  std::mt19937 rng(2026);
  vb::io::exif_tags source = vb::io::parse_exif(small_block(true), "x");
  const std::vector<bytes> blocks = {small_block(false), small_block(true), vb::io::make_view_exif(source, {640, 480, 75.0})};
  int parsed = 0, refused = 0;
  for (const bytes& good : blocks)
    for (int trial = 0; trial < 3000; ++trial) {
      bytes t = good;
      const int flips = 1 + int(rng() % 4);
      for (int k = 0; k < flips; ++k) t[rng() % t.size()] = static_cast<unsigned char>(rng());
      if (rng() % 4 == 0) t.resize(rng() % t.size());
      try {
        const vb::io::exif_tags tags = vb::io::parse_exif(t, "fuzz.jpg");
        const bytes view = vb::io::make_view_exif(tags, {64, 48, 90.0});
        read_layout(view);
        ++parsed;
      } catch (const vb::error& e) {
        ASSERT_EQ(e.code(), vb::errc::corrupt_data) << e.what();
        ++refused;
      }
    }
  vbatch_test::record("parsed", parsed);
  vbatch_test::record("refused", refused);
  EXPECT_GT(parsed, 0);
  EXPECT_GT(refused, 0);
}

TEST(ExifView, RefusesBadViewsAndMalformedTags) {
  EXPECT_TRUE(throws_error([] { vb::io::make_view_exif({0, 10, 90.0}); }, vb::errc::invalid_argument, {"view size 0x10"}));
  EXPECT_TRUE(throws_error([] { vb::io::make_view_exif({10, -1, 90.0}); }, vb::errc::invalid_argument, {"view size"}));
  for (const double hfov : {0.0, 180.0, -5.0, std::nan("")})
    EXPECT_TRUE(throws_error([&] { vb::io::make_view_exif({10, 10, hfov}); }, vb::errc::invalid_argument, {"field of view"}));
  vb::io::exif_tags tags;
  tags.ifd0.push_back({0x010F, vb::io::tiff_type::short_, 2, bytes{1, 0, 2}});
  EXPECT_TRUE(throws_error(
      [&] {
        vb::io::make_view_exif(tags, {10, 10, 90.0});
      },
      vb::errc::invalid_argument, {"0x010F", "3 value bytes"}));
  // Tags the view sets replace the source's; IFD pointers of the source are never copied.
  tags.ifd0 = {{0x0112, vb::io::tiff_type::short_, 1, bytes{6, 0}}, {0x8769, vb::io::tiff_type::long_, 1, bytes{8, 0, 0, 0}}};
  tags.exif = {{0xA002, vb::io::tiff_type::long_, 1, bytes{1, 0, 0, 0}}, {0xA001, vb::io::tiff_type::short_, 1, bytes{2, 0}}};
  const std::vector<raw_ifd> ifds = read_layout(vb::io::make_view_exif(tags, {10, 20, 90.0}));
  ASSERT_EQ(ifds.size(), 2u);
  EXPECT_EQ(*raw_value(ifds[0], 0x0112), (bytes{1, 0}));
  EXPECT_EQ(*raw_value(ifds[1], 0xA002), (bytes{10, 0, 0, 0}));
  EXPECT_EQ(*raw_value(ifds[1], 0xA001), (bytes{1, 0})) << "ColorSpace 2 is not valid EXIF: sRGB instead";
}

// ---------------------------------------------------------------------------------------------
// GPano XMP

struct gpano_case {
  const char* name;
  std::vector<std::string> options;
};

class GpanoXmp : public ::testing::TestWithParam<gpano_case> {};
INSTANTIATE_TEST_SUITE_P(GpanoForms, GpanoXmp,
                         ::testing::Values(gpano_case{"Elements", {}}, gpano_case{"Attributes", {"-api", "Compact=Shorthand"}}),
                         [](const auto& p) { return std::string(p.param.name); });

// What exiftool writes, as elements (its default) or as attributes (Compact=Shorthand), in a file
// whose EXIF APP1 comes first.
TEST_P(GpanoXmp, ReadsWhatExiftoolWrites) {
  REQUIRE_EXIFTOOL();
  temp_dir dir;
  const fs::path pano = dir / "pano.jpg";
  write_bytes(pano, plain_jpeg(128, 64));
  std::vector<std::string> args = GetParam().options;
  for (const char* a :
       {"-overwrite_original", "-Make=Ricoh", "-XMP-GPano:ProjectionType=equirectangular", "-XMP-GPano:UsePanoramaViewer=True",
        "-XMP-GPano:FullPanoWidthPixels=6720", "-XMP-GPano:FullPanoHeightPixels=3360",
        "-XMP-GPano:CroppedAreaImageWidthPixels=6720", "-XMP-GPano:CroppedAreaImageHeightPixels=3000",
        "-XMP-GPano:CroppedAreaLeftPixels=0", "-XMP-GPano:CroppedAreaTopPixels=180", "-XMP-GPano:PoseHeadingDegrees=30.5",
        "-XMP-GPano:PosePitchDegrees=-2.25", "-XMP-GPano:PoseRollDegrees=1.5"})
    args.push_back(a);
  args.push_back(pano.string());
  exiftool(args);
  const bytes file = read_bytes(pano);
  const std::string text(file.begin(), file.end());
  const bool attributes = !GetParam().options.empty();
  ASSERT_NE(text.find(attributes ? "GPano:PoseHeadingDegrees='30.5'" : "<GPano:PoseHeadingDegrees>30.5<"), std::string::npos)
      << "exiftool wrote the other XMP form";
  ASSERT_TRUE(vb::io::find_exif(file)) << "the EXIF APP1 is there too";

  const std::optional<vb::io::gpano> g = vb::io::find_gpano(file, "pano.jpg");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->projection, "equirectangular");
  EXPECT_EQ(g->full_width, 6720);
  EXPECT_EQ(g->full_height, 3360);
  EXPECT_EQ(g->cropped_width, 6720);
  EXPECT_EQ(g->cropped_height, 3000);
  EXPECT_EQ(g->cropped_left, 0);
  EXPECT_EQ(g->cropped_top, 180);
  EXPECT_EQ(g->heading_deg, 30.5);
  EXPECT_EQ(g->pitch_deg, -2.25);
  EXPECT_EQ(g->roll_deg, 1.5);

  // And exiftool reads the same values back from the file.
  const json tags = read_tags(pano);
  EXPECT_EQ(tags.value("XMP-GPano:PoseHeadingDegrees", 0.0), *g->heading_deg);
  EXPECT_EQ(tags.value("XMP-GPano:CroppedAreaTopPixels", 0), *g->cropped_top);
}

// A packet written by hand: elements with surrounding white space, another prefix bound to the
// GPano namespace, entities, comments and a decoy in another namespace.
TEST(GpanoXmpPacket, ReadsElementsAttributesAndOtherPrefixes) {
  const bytes jpeg = plain_jpeg(32, 16);
  const std::string elements = R"(<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <!-- <GPano:PoseHeadingDegrees>99</GPano:PoseHeadingDegrees> is a comment -->
  <rdf:Description rdf:about="" xmlns:GPano="http://ns.google.com/photos/1.0/panorama/"
      xmlns:other="http://example.com/other/" other:PoseHeadingDegrees="77">
   <GPano:ProjectionType> equirectangular </GPano:ProjectionType>
   <GPano:FullPanoWidthPixels>
     5376
   </GPano:FullPanoWidthPixels>
   <GPano:FullPanoHeightPixels>2688</GPano:FullPanoHeightPixels>
   <GPano:PoseHeadingDegrees>12.5</GPano:PoseHeadingDegrees>
   <GPano:PosePitchDegrees>&#45;3</GPano:PosePitchDegrees>
   <GPano:InitialViewHeadingDegrees>180</GPano:InitialViewHeadingDegrees>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>)";
  const std::optional<vb::io::gpano> g = vb::io::find_gpano(with_xmp(jpeg, elements), "pano.jpg");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->projection, "equirectangular");
  EXPECT_EQ(g->full_width, 5376);
  EXPECT_EQ(g->full_height, 2688);
  EXPECT_EQ(g->heading_deg, 12.5);
  EXPECT_EQ(g->pitch_deg, -3.0);
  EXPECT_FALSE(g->roll_deg);
  EXPECT_FALSE(g->cropped_width);
  EXPECT_FALSE(g->cropped_left);

  const std::string other_prefix =
      R"(<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about='' xmlns:gp='http://ns.google.com/photos/1.0/panorama/' gp:PoseRollDegrees='-1.25'
  gp:CroppedAreaLeftPixels = "0" GPano:PoseHeadingDegrees="55"/></rdf:RDF></x:xmpmeta>)";
  const std::optional<vb::io::gpano> h = vb::io::find_gpano(with_xmp(jpeg, other_prefix), "pano.jpg");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->roll_deg, -1.25);
  EXPECT_EQ(h->cropped_left, 0);
  EXPECT_FALSE(h->heading_deg) << "GPano: is not bound to the GPano namespace in this packet";
}

TEST(GpanoXmpPacket, NulloptWithoutXmpOrGpano) {
  const bytes jpeg = plain_jpeg(32, 16);
  EXPECT_FALSE(vb::io::find_gpano(jpeg, "pano.jpg"));
  EXPECT_FALSE(vb::io::find_gpano(bytes{}, "pano.jpg"));
  EXPECT_FALSE(vb::io::find_gpano(with_xmp(jpeg, R"(<x:xmpmeta><rdf:Description dc:title="x"/></x:xmpmeta>)"), "pano.jpg"));
  EXPECT_FALSE(vb::io::find_gpano(with_xmp(jpeg, ""), "pano.jpg"));
  // Only in a comment, or in an APP1 that is not the XMP one.
  EXPECT_FALSE(vb::io::find_gpano(with_xmp(jpeg, "<!-- GPano:PoseHeadingDegrees=\"5\" -->"), "pano.jpg"));
  EXPECT_FALSE(vb::io::find_gpano(with_app1(jpeg, "http://ns.adobe.com/xmp/extension/\0 GPano:PoseHeadingDegrees=\"5\""), "p"));
}

// A property that is not a number raises corrupt_data naming the file and the property; malformed
// or truncated XML stops the scan without reading past the packet.
TEST(GpanoXmpPacket, BadNumbersRaiseAndBrokenXmlIsSafe) {
  const bytes jpeg = plain_jpeg(32, 16);
  const auto packet = [&](const std::string& property, const std::string& value) {
    return with_xmp(jpeg, "<rdf:Description GPano:" + property + "=\"" + value + "\"/>");
  };
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("PoseHeadingDegrees", "abc"), "pano.jpg"); }, vb::errc::corrupt_data,
                           {"pano.jpg", "GPano:PoseHeadingDegrees", "abc", "not a number"}));
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("PosePitchDegrees", "1.5x"), "p.jpg"); }, vb::errc::corrupt_data,
                           {"GPano:PosePitchDegrees"}));
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("PoseRollDegrees", ""), "p.jpg"); }, vb::errc::corrupt_data));
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("PoseRollDegrees", "nan"), "p.jpg"); }, vb::errc::corrupt_data));
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("FullPanoWidthPixels", "12.5"), "p.jpg"); }, vb::errc::corrupt_data,
                           {"GPano:FullPanoWidthPixels", "pixel count"}));
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("FullPanoHeightPixels", "0"), "p.jpg"); }, vb::errc::corrupt_data));
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("CroppedAreaTopPixels", "-4"), "p.jpg"); }, vb::errc::corrupt_data,
                           {"pixel offset"}));
  EXPECT_TRUE(throws_error([&] { vb::io::find_gpano(packet("CroppedAreaImageWidthPixels", "9999999999"), "p.jpg"); },
                           vb::errc::corrupt_data));
  EXPECT_EQ(vb::io::find_gpano(packet("PoseHeadingDegrees", " +7.5e1 "), "p.jpg")->heading_deg, 75.0);
  EXPECT_EQ(vb::io::find_gpano(packet("FullPanoWidthPixels", "4096.0"), "p.jpg")->full_width, 4096);

  // Every truncation of a packet: a result, nullopt or corrupt_data; no read past the segment.
  const std::string xml = R"(<x:xmpmeta><rdf:Description GPano:PoseHeadingDegrees="12.5" a='b'>)"
                          R"(<GPano:PosePitchDegrees>3</GPano:PosePitchDegrees></rdf:Description></x:xmpmeta>)";
  for (std::size_t cut = 0; cut <= xml.size(); ++cut) {
    try {
      const std::optional<vb::io::gpano> g = vb::io::find_gpano(with_xmp(jpeg, xml.substr(0, cut)), "p.jpg");
      if (g && g->heading_deg) {
        EXPECT_EQ(*g->heading_deg, 12.5);
      }
    } catch (const vb::error& e) {
      EXPECT_EQ(e.code(), vb::errc::corrupt_data) << e.what();
    }
  }
  for (const char* broken : {"<", "<GPano:PoseHeadingDegrees", "<a GPano:PoseHeadingDegrees=\"1", "<a b=c>", "<a b>", "<!--",
                             "<a/ >", "<GPano:PoseHeadingDegrees>5", "&#xFFFFFFFFF;<a/>"})
    EXPECT_NO_THROW(vb::io::find_gpano(with_xmp(jpeg, broken), "p.jpg")) << broken;
  EXPECT_EQ(vb::io::find_gpano(with_xmp(jpeg, "<a GPano:ProjectionType=\"a&amp;b&#x41;&#66;&bogus;\"/>"), "p.jpg")->projection,
            "a&bAB&bogus;");
}

}  // namespace
