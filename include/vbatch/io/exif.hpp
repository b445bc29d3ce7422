#pragma once
// EXIF and Photo Sphere (GPano XMP) metadata for the perspective views cut out of a 360° JPEG
// (the e2p tool). Photogrammetry wants each view to name the camera, the time and the place of
// the panorama, with the view's own size and focal length.
//
//   auto tiff = vbatch::io::find_exif(pano_jpeg);                                     // nullopt: no EXIF
//   auto tags = tiff ? vbatch::io::parse_exif(*tiff, "pano.jpg") : vbatch::io::exif_tags{};
//   auto out = vbatch::io::insert_exif(view_jpeg, vbatch::io::make_view_exif(tags, {1024, 768, 90.0}));
//
// What is kept: what stays true of any view cut out of the panorama. IFD0 Make, Model, DateTime,
// Artist, Copyright; from the Exif IFD DateTimeOriginal, DateTimeDigitized, OffsetTime*, SubSecTime*,
// ColorSpace, CameraOwnerName, BodySerialNumber; the whole GPS IFD, every tag. Everything else is
// dropped: a view is not the panorama. Its size, orientation, focal length and field of view differ;
// the lens, aperture and exposure tags describe the camera's fisheye lenses, not the virtual pinhole
// the view was rendered with; the thumbnail (IFD1) shows the panorama; a MakerNote holds offsets into
// the original block (and vendors' own pointers) that break once it moves; Software made the panorama,
// not the view (view_exif::software names the tool instead).
//
// The view's focal length is that of a virtual sensor 36 mm wide (a full-frame width):
//   FocalLength = f_mm = 18 / tan(hfov / 2)      FocalLengthIn35mmFilm = round(f_mm)
//   FocalPlaneXResolution = FocalPlaneYResolution = width / 3.6 pixels per cm (unit 3: cm)
// so f_mm * FocalPlaneXResolution / 10 = width / 2 / tan(hfov / 2) exactly (up to the 32-bit
// rational of FocalLength: 1e-12), the focal length in pixels of vbatch's pinhole with
// fov_span::pixel_edges (sample/camera.hpp). For a view rendered with fov_span::pixel_centres, pass
// the field of view that gives its focal length over the whole width: 2 atan(W / (W - 1) tan(hfov / 2)).
// FocalLengthIn35mmFilm is the equivalent for a 36 mm-wide frame (same horizontal field of view),
// rounded to whole mm; the usual diagonal-based equivalent agrees for 3:2 views only.
//
// Errors: find_exif never throws (nullopt for no EXIF, and for a JPEG whose segments before the
// image data are broken: decoding it reports that); parse_exif raises corrupt_data naming the file
// for a block that claims to be EXIF but is malformed; find_gpano raises corrupt_data for a GPano
// property that is not a number; insert_exif raises corrupt_data for input that is not a JPEG and
// invalid_argument for a block too large for a JPEG segment (64 KB); make_view_exif raises
// invalid_argument for a view size or field of view out of range.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::io {

// TIFF field types.
namespace tiff_type {
inline constexpr std::uint16_t byte = 1, ascii = 2, short_ = 3, long_ = 4, rational = 5, sbyte = 6, undefined = 7, sshort = 8,
                               slong = 9, srational = 10, float_ = 11, double_ = 12;
}

// Bytes per value of a TIFF type; 0 for a type TIFF does not define (readers skip such tags).
constexpr std::size_t tiff_type_size(std::uint16_t type) {
  constexpr std::size_t sizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8};
  return type < std::size(sizes) ? sizes[type] : 0;
}

namespace detail {
// "0x8769"
inline std::string hex_id(std::uint16_t id) {
  constexpr char digits[] = "0123456789ABCDEF";
  std::string s = "0x0000";
  for (int k = 0; k < 4; ++k) s[std::size_t(5 - k)] = digits[(id >> (4 * k)) & 15];
  return s;
}
}  // namespace detail

// One tag: `count` values of `type`, stored little-endian whatever the source's byte order, as
// make_view_exif writes them.
struct exif_tag {
  std::uint16_t id = 0;
  std::uint16_t type = 0;  // a tiff_type
  std::uint32_t count = 0;
  std::vector<unsigned char> value;  // count * tiff_type_size(type) bytes

  // An ASCII value up to its first NUL.
  std::string text() const {
    const auto* begin = reinterpret_cast<const char*>(value.data());
    return std::string(begin, std::find(begin, begin + value.size(), '\0'));
  }

  // Value i of a numeric type (a rational as numerator / denominator).
  double number(std::size_t i = 0) const {
    const std::size_t size = tiff_type_size(type);
    if (type == tiff_type::ascii || type == tiff_type::undefined || size == 0 || i >= count || (i + 1) * size > value.size())
      raise(errc::invalid_argument, "exif_tag {}: no number {} in {} values of type {}", detail::hex_id(id), i, count, type);
    const unsigned char* p = value.data() + i * size;
    const auto le = [p](int n, int at = 0) {
      std::uint64_t v = 0;
      for (int k = n - 1; k >= 0; --k) v = v << 8 | p[at + k];
      return v;
    };
    switch (type) {
      case tiff_type::sbyte:
        return static_cast<std::int8_t>(p[0]);
      case tiff_type::short_:
        return double(le(2));
      case tiff_type::sshort:
        return static_cast<std::int16_t>(le(2));
      case tiff_type::long_:
        return double(le(4));
      case tiff_type::slong:
        return static_cast<std::int32_t>(le(4));
      case tiff_type::rational:
        return double(le(4)) / double(le(4, 4));
      case tiff_type::srational:
        return double(static_cast<std::int32_t>(le(4))) / double(static_cast<std::int32_t>(le(4, 4)));
      case tiff_type::float_: {
        const auto bits = static_cast<std::uint32_t>(le(4));
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
      }
      case tiff_type::double_: {
        const std::uint64_t bits = le(8);
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
      }
      default:
        return p[0];  // byte
    }
  }
};

// The tags of a source kept for its views, per IFD, in the source's order.
struct exif_tags {
  std::vector<exif_tag> ifd0;  // Make, Model, DateTime, Artist, Copyright
  std::vector<exif_tag> exif;  // DateTimeOriginal, DateTimeDigitized, OffsetTime*, SubSecTime*, ColorSpace, ...
  std::vector<exif_tag> gps;   // the whole GPS IFD; empty when the source has none

  bool empty() const { return ifd0.empty() && exif.empty() && gps.empty(); }
};

// The tag `id` of `tags`, or nullptr.
inline const exif_tag* find_tag(std::span<const exif_tag> tags, std::uint16_t id) {
  const auto it = std::find_if(tags.begin(), tags.end(), [id](const exif_tag& t) { return t.id == id; });
  return it == tags.end() ? nullptr : &*it;
}

// What a view is: its size in pixels and horizontal field of view (degrees, in (0, 180)), as
// view_exif{1024, 768, 90.0}.
struct view_exif {
  int width = 0, height = 0;
  double hfov_deg = 0;
  int channels = 3;      // the JPEG's: 1 gives ComponentsConfiguration "Y", others "Y Cb Cr"
  std::string software;  // IFD0 Software when not empty: the tool that made the view

  view_exif() = default;
  // A constructor rather than an aggregate: {w, h, hfov} then draws no -Wmissing-field-initializers.
  view_exif(int width_, int height_, double hfov_deg_, int channels_ = 3, std::string software_ = {})
      : width(width_), height(height_), hfov_deg(hfov_deg_), channels(channels_), software(std::move(software_)) {}
};

namespace detail {

inline constexpr std::uint16_t exif_ifd_pointer = 0x8769, gps_ifd_pointer = 0x8825, interop_ifd_pointer = 0xA005;

// Calls visit(marker, payload) for the marker segments of a JPEG before its first scan, in file
// order, until visit returns true. Stops quietly at anything that is not a complete segment:
// finding metadata is best-effort, and decoding such a file reports the damage.
template <class Visit>
void for_each_jpeg_segment(std::span<const unsigned char> b, Visit&& visit) {
  if (b.size() < 4 || b[0] != 0xFF || b[1] != 0xD8) return;
  for (std::size_t i = 2; i < b.size() && b[i] == 0xFF;) {
    while (i < b.size() && b[i] == 0xFF) ++i;  // fill bytes before a marker
    if (i >= b.size()) return;
    const unsigned marker = b[i];
    if (marker == 0xDA || marker == 0xD9 || marker == 0x00) return;  // SOS, EOI, not a marker
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {      // TEM, RSTn: no length
      ++i;
      continue;
    }
    if (b.size() - i < 3) return;
    const std::size_t length = std::size_t{b[i + 1]} << 8 | b[i + 2];  // counts its own 2 bytes
    if (length < 2 || length > b.size() - i - 1) return;
    if (visit(marker, b.subspan(i + 3, length - 2))) return;
    i += 1 + length;
  }
}

inline bool payload_starts_with(std::span<const unsigned char> payload, std::string_view prefix) {
  return payload.size() >= prefix.size() && std::memcmp(payload.data(), prefix.data(), prefix.size()) == 0;
}

inline constexpr std::string_view exif_header{"Exif\0\0", 6};
inline constexpr std::string_view xmp_header{"http://ns.adobe.com/xap/1.0/\0", 29};

// Reads a TIFF block in its byte order. Every read goes through need(), which raises for a range
// past the end of the block (written so that no sum can overflow).
struct tiff_reader {
  std::span<const unsigned char> b;
  std::string_view name;
  bool big_endian = false;

  [[noreturn]] void corrupt(const std::string& why) const { raise(errc::corrupt_data, "{}: corrupt EXIF ({})", name, why); }
  void need(std::uint64_t at, std::uint64_t bytes, std::string_view what) const {
    if (at > b.size() || bytes > b.size() - at)
      corrupt(vbatch::detail::format("{} at offset {} needs {} bytes, the block has {}", what, at, bytes, b.size()));
  }
  std::uint32_t get(std::size_t at, int n) const {  // n = 2 or 4, in range
    std::uint32_t v = 0;
    for (int k = 0; k < n; ++k) v = v << 8 | b[at + std::size_t(big_endian ? k : n - 1 - k)];
    return v;
  }
  std::uint16_t u16(std::size_t at) const { return static_cast<std::uint16_t>(get(at, 2)); }
  std::uint32_t u32(std::size_t at) const { return get(at, 4); }
};

struct ifd_entry {
  std::uint16_t id, type;
  std::uint32_t count;
  std::size_t field;  // offset of the 4-byte value-or-offset field
};

// The entries of the IFD at `offset` (a TIFF IFD: a 16-bit count, then 12-byte entries). The
// count is at most 65535 and every entry must lie in the block.
inline std::vector<ifd_entry> read_ifd(const tiff_reader& r, std::uint32_t offset, std::string_view what) {
  if (offset < 8) r.corrupt(vbatch::detail::format("{} at offset {}, inside the TIFF header", what, offset));
  r.need(offset, 2, what);
  const std::size_t n = r.u16(offset);
  r.need(std::uint64_t{offset} + 2, std::uint64_t{n} * 12, vbatch::detail::format("{} of {} entries", what, n));
  std::vector<ifd_entry> entries(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t at = offset + 2 + 12 * k;
    entries[k] = {r.u16(at), r.u16(at + 2), r.u32(at + 4), at + 8};
  }
  return entries;
}

// A tag's value converted to little-endian; nullopt for a type TIFF does not define.
inline std::optional<exif_tag> read_tag(const tiff_reader& r, const ifd_entry& e, std::string_view what) {
  const std::size_t size = tiff_type_size(e.type);
  if (size == 0) return std::nullopt;
  const std::uint64_t bytes = std::uint64_t{e.count} * size;  // < 2^35: no overflow
  const std::string tag = vbatch::detail::format("{} tag {}", what, hex_id(e.id));
  if (bytes > r.b.size())
    r.corrupt(vbatch::detail::format("{} declares {} values of {} bytes, the block has {}", tag, e.count, size, r.b.size()));
  const std::size_t at = bytes <= 4 ? e.field : r.u32(e.field);
  r.need(at, bytes, tag);
  exif_tag t{e.id, e.type, e.count,
             std::vector<unsigned char>(r.b.begin() + std::ptrdiff_t(at), r.b.begin() + std::ptrdiff_t(at + bytes))};
  // Byte order is per number: a rational is two 32-bit numbers.
  const std::size_t unit = e.type == tiff_type::rational || e.type == tiff_type::srational ? 4 : size;
  if (r.big_endian && unit > 1)
    for (std::size_t k = 0; k < t.value.size(); k += unit)
      std::reverse(t.value.begin() + std::ptrdiff_t(k), t.value.begin() + std::ptrdiff_t(k + unit));
  return t;
}

// An IFD pointer's target: one LONG (or IFD, type 13).
inline std::uint32_t read_pointer(const tiff_reader& r, const ifd_entry& e, std::string_view what) {
  if ((e.type != tiff_type::long_ && e.type != 13) || e.count != 1)
    r.corrupt(vbatch::detail::format("the {} pointer has type {} and {} values, not one LONG", what, e.type, e.count));
  return r.u32(e.field);
}

inline bool keep_ifd0_tag(std::uint16_t id) {
  return id == 0x010F || id == 0x0110 || id == 0x0132 || id == 0x013B || id == 0x8298;  // Make Model DateTime Artist Copyright
}
inline bool keep_exif_tag(std::uint16_t id) {
  return id == 0x9003 || id == 0x9004 ||                // DateTimeOriginal, DateTimeDigitized
         (id >= 0x9010 && id <= 0x9012) ||              // OffsetTime, OffsetTimeOriginal, OffsetTimeDigitized
         (id >= 0x9290 && id <= 0x9292) ||              // SubSecTime, SubSecTimeOriginal, SubSecTimeDigitized
         id == 0xA001 || id == 0xA430 || id == 0xA431;  // ColorSpace, CameraOwnerName, BodySerialNumber
}

// Appends the kept tags of `entries` to `out`: the first of each id (TIFF allows one; a repeat is a
// writer's mistake), zero-length values dropped (they carry nothing).
template <class Keep>
void keep_tags(const tiff_reader& r, const std::vector<ifd_entry>& entries, std::string_view what, Keep keep,
               std::vector<exif_tag>& out) {
  std::vector<bool> seen(65536);  // linear in the entries, however many a hostile block holds
  for (const exif_tag& t : out) seen[t.id] = true;
  for (const ifd_entry& e : entries) {
    if (!keep(e.id) || e.count == 0 || seen[e.id]) continue;
    seen[e.id] = true;
    if (std::optional<exif_tag> t = read_tag(r, e, what)) out.push_back(std::move(*t));
  }
}

}  // namespace detail

// The TIFF block of a JPEG's EXIF: the payload of its first APP1 segment that starts with
// "Exif\0\0", without those 6 bytes. nullopt when there is none, when `jpeg` is not a JPEG, and
// when the segments before the image data are broken (truncated, a length past the end): such a
// file does not decode either. Never reads outside `jpeg`, never throws.
inline std::optional<std::vector<unsigned char>> find_exif(std::span<const unsigned char> jpeg) {
  std::optional<std::vector<unsigned char>> tiff;
  detail::for_each_jpeg_segment(jpeg, [&](unsigned marker, std::span<const unsigned char> payload) {
    if (marker != 0xE1 || !detail::payload_starts_with(payload, detail::exif_header)) return false;
    tiff.emplace(payload.begin() + 6, payload.end());
    return true;
  });
  return tiff;
}

// The tags of a TIFF block (find_exif's) that stay true for a view: IFD0, the Exif IFD (0x8769) and
// the GPS IFD (0x8825), each read once (IFD1 and other chained IFDs are not followed). Values are
// converted to little-endian number by number; tags of types TIFF does not define are skipped. A
// malformed block raises corrupt_data "{name}: corrupt EXIF (...)": no II/MM header, an IFD or value
// past the end, a count whose byte size exceeds the block, an IFD pointer back to an IFD already read.
inline exif_tags parse_exif(std::span<const unsigned char> tiff, std::string_view name) {
  detail::tiff_reader r{tiff, name};
  if (tiff.size() < 8) r.corrupt(vbatch::detail::format("{} bytes, shorter than a TIFF header", tiff.size()));
  if (tiff[0] == 'M' && tiff[1] == 'M')
    r.big_endian = true;
  else if (tiff[0] != 'I' || tiff[1] != 'I')
    r.corrupt("no II or MM byte-order mark");
  if (r.u16(2) != 42) r.corrupt(vbatch::detail::format("TIFF magic {}, not 42", r.u16(2)));

  exif_tags out;
  const std::uint32_t ifd0_at = r.u32(4);
  const std::vector<detail::ifd_entry> ifd0 = detail::read_ifd(r, ifd0_at, "IFD0");
  detail::keep_tags(r, ifd0, "IFD0", detail::keep_ifd0_tag, out.ifd0);

  // Each IFD is read once: a pointer to one already read is a loop (or garbage).
  std::vector<std::uint32_t> read = {ifd0_at};
  const auto follow = [&](std::uint16_t pointer, std::string_view what) -> std::optional<std::vector<detail::ifd_entry>> {
    const auto it = std::find_if(ifd0.begin(), ifd0.end(), [&](const detail::ifd_entry& e) { return e.id == pointer; });
    if (it == ifd0.end()) return std::nullopt;
    const std::uint32_t at = detail::read_pointer(r, *it, what);
    if (std::find(read.begin(), read.end(), at) != read.end())
      r.corrupt(vbatch::detail::format("the {} pointer loops back to the IFD at offset {}", what, at));
    read.push_back(at);
    return detail::read_ifd(r, at, what);
  };
  const auto keep_all = [](std::uint16_t) { return true; };
  if (const auto exif = follow(detail::exif_ifd_pointer, "Exif IFD"))
    detail::keep_tags(r, *exif, "Exif IFD", detail::keep_exif_tag, out.exif);
  if (const auto gps = follow(detail::gps_ifd_pointer, "GPS IFD")) detail::keep_tags(r, *gps, "GPS IFD", keep_all, out.gps);
  return out;
}

namespace detail {

inline void put_le16(std::vector<unsigned char>& out, std::uint32_t v) {
  out.push_back(static_cast<unsigned char>(v & 0xFF));
  out.push_back(static_cast<unsigned char>(v >> 8 & 0xFF));
}
inline void put_le32(std::vector<unsigned char>& out, std::uint32_t v) {
  put_le16(out, v & 0xFFFF);
  put_le16(out, v >> 16);
}

inline exif_tag short_tag(std::uint16_t id, std::uint16_t v) {
  exif_tag t{id, tiff_type::short_, 1, {}};
  put_le16(t.value, v);
  return t;
}
inline exif_tag long_tag(std::uint16_t id, std::uint32_t v) {
  exif_tag t{id, tiff_type::long_, 1, {}};
  put_le32(t.value, v);
  return t;
}
inline exif_tag rational_tag(std::uint16_t id, std::pair<std::uint32_t, std::uint32_t> v) {
  exif_tag t{id, tiff_type::rational, 1, {}};
  put_le32(t.value, v.first);
  put_le32(t.value, v.second);
  return t;
}
inline exif_tag bytes_tag(std::uint16_t id, std::uint16_t type, std::string_view bytes) {
  return {id, type, std::uint32_t(bytes.size()), std::vector<unsigned char>(bytes.begin(), bytes.end())};
}

// A fraction within about 1e-15 (relative) of x >= 0 with a numerator and denominator below 2^32:
// the last convergent of its continued fraction that fits.
inline std::pair<std::uint32_t, std::uint32_t> to_rational(double x) {
  constexpr std::uint64_t max = std::numeric_limits<std::uint32_t>::max();
  if (!(x >= 0)) return {0, 1};
  if (x >= double(max)) return {std::uint32_t(max), 1};
  std::uint64_t h0 = 0, h1 = 1, k0 = 1, k1 = 0;  // convergents h/k; products stay below 2^64
  double rest = x;
  for (int step = 0; step < 64; ++step) {
    const double a = std::floor(rest);
    if (a > double(max)) break;
    const auto ai = static_cast<std::uint64_t>(a);
    const std::uint64_t h2 = ai * h1 + h0, k2 = ai * k1 + k0;
    if (h2 > max || k2 > max) break;
    h0 = h1, h1 = h2, k0 = k1, k1 = k2;
    if (rest == a || double(h1) / double(k1) == x) break;
    rest = 1 / (rest - a);
  }
  return {std::uint32_t(h1), std::uint32_t(k1)};
}

// FocalPlaneXResolution of a view `width` pixels wide on a 36 mm sensor: width / 3.6 pixels per
// cm, that is 5 width / 18, exact (approximated only for views over 858 million pixels wide).
inline std::pair<std::uint32_t, std::uint32_t> focal_plane_resolution(std::uint32_t width) {
  const std::uint64_t num = 5 * std::uint64_t{width}, g = std::gcd(num, std::uint64_t{18});
  if (num / g > std::numeric_limits<std::uint32_t>::max()) return to_rational(double(width) / 3.6);
  return {std::uint32_t(num / g), std::uint32_t(18 / g)};
}

// Bytes of an IFD with its values: count, entries, next-IFD offset, values over 4 bytes each
// padded to an even length (TIFF word alignment).
inline std::uint64_t ifd_bytes(const std::vector<exif_tag>& tags) {
  std::uint64_t bytes = 2 + 12 * std::uint64_t{tags.size()} + 4;
  for (const exif_tag& t : tags)
    if (t.value.size() > 4) bytes += t.value.size() + (t.value.size() & 1);
  return bytes;
}

// Appends an IFD (tags sorted by id) at out.size(), its values after it, next-IFD offset 0.
inline void write_ifd(std::vector<unsigned char>& out, const std::vector<exif_tag>& tags) {
  std::size_t values_at = out.size() + 2 + 12 * tags.size() + 4;
  put_le16(out, std::uint32_t(tags.size()));
  for (const exif_tag& t : tags) {
    put_le16(out, t.id);
    put_le16(out, t.type);
    put_le32(out, t.count);
    if (t.value.size() <= 4) {
      out.insert(out.end(), t.value.begin(), t.value.end());
      out.insert(out.end(), 4 - t.value.size(), 0);
    } else {
      put_le32(out, std::uint32_t(values_at));
      values_at += t.value.size() + (t.value.size() & 1);
    }
  }
  put_le32(out, 0);
  for (const exif_tag& t : tags)
    if (t.value.size() > 4) {
      out.insert(out.end(), t.value.begin(), t.value.end());
      if (t.value.size() & 1) out.push_back(0);
    }
}

// The view's own tags, then the source's whose id the view does not set, sorted by id. IFD
// pointers of the source are never copied: their offsets mean nothing in the new block.
inline std::vector<exif_tag> merged_tags(std::vector<exif_tag> own, const std::vector<exif_tag>& source, std::string_view what) {
  std::vector<bool> seen(65536);
  for (const exif_tag& t : own) seen[t.id] = true;
  for (std::uint16_t pointer : {exif_ifd_pointer, gps_ifd_pointer, interop_ifd_pointer}) seen[pointer] = true;
  for (const exif_tag& t : source) {
    const std::size_t size = tiff_type_size(t.type);
    if (size == 0 || t.count == 0 || t.value.size() != std::uint64_t{t.count} * size)
      raise(errc::invalid_argument, "make_view_exif: {} tag {} has {} value bytes for {} values of type {}", what, hex_id(t.id),
            t.value.size(), t.count, t.type);
    if (seen[t.id]) continue;
    seen[t.id] = true;
    own.push_back(t);
  }
  std::sort(own.begin(), own.end(), [](const exif_tag& a, const exif_tag& b) { return a.id < b.id; });
  return own;  // at most 65536 tags, one per id; an IFD holds 65535
}

}  // namespace detail

// A little-endian TIFF block for a view (insert_exif's `tiff`): IFD0 with the source's kept IFD0
// tags, Orientation 1 (the view is rendered upright), 72 dpi, YCbCrPositioning centred and
// view.software; an Exif IFD with the source's kept Exif tags, ExifVersion 0232, the view's
// PixelX/YDimension and its focal length (see the top of this file); the source's GPS IFD when it
// had one. That is every tag `exiftool -validate` requires of a JPEG. An empty `source` (a panorama
// without EXIF) gives the view's own tags only. ColorSpace is the source's when it is 1 (sRGB) or
// 0xFFFF (uncalibrated), else 1. Raises invalid_argument for a view size or field of view out of
// range, or a source tag whose value size does not match its type and count.
inline std::vector<unsigned char> make_view_exif(const exif_tags& source, const view_exif& view) {
  if (view.width <= 0 || view.height <= 0)
    raise(errc::invalid_argument, "make_view_exif: view size {}x{}", view.width, view.height);
  if (!(view.hfov_deg > 0 && view.hfov_deg < 180))
    raise(errc::invalid_argument, "make_view_exif: horizontal field of view {} degrees, outside (0, 180)", view.hfov_deg);
  const double f_mm = 18 / std::tan(view.hfov_deg * 3.14159265358979323846 / 360);

  std::vector<exif_tag> ifd0 = {detail::short_tag(0x0112, 1),                    // Orientation: as rendered
                                detail::rational_tag(0x011A, {72, 1}),           // XResolution
                                detail::rational_tag(0x011B, {72, 1}),           // YResolution
                                detail::short_tag(0x0128, 2),                    // ResolutionUnit: inch
                                detail::short_tag(0x0213, 1),                    // YCbCrPositioning: centred (JFIF)
                                detail::long_tag(detail::exif_ifd_pointer, 0)};  // set below
  if (!view.software.empty()) {
    std::string text = view.software;
    text.push_back('\0');
    ifd0.push_back(detail::bytes_tag(0x0131, tiff_type::ascii, text));
  }
  const std::vector<exif_tag> gps = detail::merged_tags({}, source.gps, "GPS IFD");
  if (!gps.empty()) ifd0.push_back(detail::long_tag(detail::gps_ifd_pointer, 0));

  std::uint16_t color_space = 1;
  if (const exif_tag* c = find_tag(source.exif, 0xA001); c && c->type == tiff_type::short_ && c->count == 1) {
    const auto v = static_cast<std::uint16_t>(c->number());
    if (v == 1 || v == 0xFFFF) color_space = v;
  }
  const auto width = static_cast<std::uint32_t>(view.width), height = static_cast<std::uint32_t>(view.height);
  const auto focal_35mm = static_cast<std::uint16_t>(std::min(std::round(f_mm), 65535.0));
  const std::string_view components = view.channels == 1 ? std::string_view("\1\0\0\0", 4) : std::string_view("\1\2\3\0", 4);
  const std::vector<exif_tag> exif_own = {
      detail::bytes_tag(0x9000, tiff_type::undefined, "0232"),              // ExifVersion
      detail::bytes_tag(0x9101, tiff_type::undefined, components),          // ComponentsConfiguration
      detail::rational_tag(0x920A, detail::to_rational(f_mm)),              // FocalLength, mm
      detail::bytes_tag(0xA000, tiff_type::undefined, "0100"),              // FlashpixVersion
      detail::short_tag(0xA001, color_space),                               // ColorSpace
      detail::long_tag(0xA002, width),                                      // PixelXDimension
      detail::long_tag(0xA003, height),                                     // PixelYDimension
      detail::rational_tag(0xA20E, detail::focal_plane_resolution(width)),  // FocalPlaneXResolution, pixels per cm
      detail::rational_tag(0xA20F, detail::focal_plane_resolution(width)),  // FocalPlaneYResolution: square pixels
      detail::short_tag(0xA210, 3),                                         // FocalPlaneResolutionUnit: cm
      detail::short_tag(0xA405, focal_35mm)};                               // FocalLengthIn35mmFilm

  ifd0 = detail::merged_tags(std::move(ifd0), source.ifd0, "IFD0");
  std::vector<exif_tag> exif = detail::merged_tags(exif_own, source.exif, "Exif IFD");
  const std::uint64_t exif_at = 8 + detail::ifd_bytes(ifd0), gps_at = exif_at + detail::ifd_bytes(exif);
  const std::uint64_t total = gps_at + (gps.empty() ? 0 : detail::ifd_bytes(gps));
  if (std::max({ifd0.size(), exif.size(), gps.size()}) > 65535 || total > std::numeric_limits<std::uint32_t>::max())
    raise(errc::invalid_argument, "make_view_exif: {} bytes of tags, more than a TIFF block addresses", total);
  for (exif_tag& t : ifd0) {  // the pointers, now that the layout is known
    if (t.id == detail::exif_ifd_pointer) t = detail::long_tag(t.id, std::uint32_t(exif_at));
    if (t.id == detail::gps_ifd_pointer) t = detail::long_tag(t.id, std::uint32_t(gps_at));
  }

  std::vector<unsigned char> out = {'I', 'I', 42, 0};
  out.reserve(std::size_t(total));
  detail::put_le32(out, 8);
  detail::write_ifd(out, ifd0);
  detail::write_ifd(out, exif);
  if (!gps.empty()) detail::write_ifd(out, gps);
  return out;
}

// The view's own tags only: for a panorama without EXIF.
inline std::vector<unsigned char> make_view_exif(const view_exif& view) { return make_view_exif(exif_tags{}, view); }

// A copy of `jpeg` with an APP1 segment "Exif\0\0" + `tiff` right after SOI, or after the APP0
// segments (JFIF, JFXX) that come first (JFIF wants its APP0 first). Every existing Exif APP1
// before the image data is removed, so an empty `tiff` only strips EXIF; the rest is copied as
// is. Raises invalid_argument when the segment would exceed 65535 bytes (tiff over 65527 bytes),
// corrupt_data when `jpeg` is not a JPEG or its segments before the image data are broken.
inline std::vector<unsigned char> insert_exif(std::span<const unsigned char> jpeg, std::span<const unsigned char> tiff) {
  constexpr std::size_t max_tiff = 65535 - 2 - detail::exif_header.size();
  if (tiff.size() > max_tiff)
    raise(errc::invalid_argument, "insert_exif: {} bytes of EXIF, over the {} a JPEG APP1 segment holds", tiff.size(), max_tiff);
  if (jpeg.size() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 || jpeg[2] != 0xFF)
    raise(errc::corrupt_data, "insert_exif: not a JPEG (no start-of-image marker)");

  std::vector<unsigned char> out(jpeg.begin(), jpeg.begin() + 2);
  out.reserve(jpeg.size() + tiff.size() + 10);
  bool inserted = false;
  const auto insert = [&] {
    if (inserted) return;
    inserted = true;
    if (tiff.empty()) return;
    out.push_back(0xFF);
    out.push_back(0xE1);
    const std::size_t length = 2 + detail::exif_header.size() + tiff.size();
    out.push_back(static_cast<unsigned char>(length >> 8));
    out.push_back(static_cast<unsigned char>(length & 0xFF));
    out.insert(out.end(), detail::exif_header.begin(), detail::exif_header.end());
    out.insert(out.end(), tiff.begin(), tiff.end());
  };
  for (std::size_t i = 2;;) {
    if (i >= jpeg.size()) raise(errc::corrupt_data, "insert_exif: truncated JPEG (no image data after {} bytes)", jpeg.size());
    if (jpeg[i] != 0xFF) raise(errc::corrupt_data, "insert_exif: corrupt JPEG (byte {} is not a marker)", i);
    std::size_t m = i;
    while (m < jpeg.size() && jpeg[m] == 0xFF) ++m;  // fill bytes: dropped
    if (m >= jpeg.size()) raise(errc::corrupt_data, "insert_exif: truncated JPEG (ends in a marker)");
    const unsigned marker = jpeg[m];
    if (marker == 0xDA || marker == 0xD9) {  // SOS, EOI: the rest is copied as is
      insert();
      out.insert(out.end(), jpeg.begin() + std::ptrdiff_t(m - 1), jpeg.end());
      return out;
    }
    if (marker == 0x00) raise(errc::corrupt_data, "insert_exif: corrupt JPEG (byte {} is not a marker)", m - 1);
    std::size_t end = m + 1;  // TEM and RSTn have no length
    std::span<const unsigned char> payload;
    if (marker != 0x01 && (marker < 0xD0 || marker > 0xD7)) {
      if (jpeg.size() - m < 3) raise(errc::corrupt_data, "insert_exif: truncated JPEG (a segment at byte {})", m - 1);
      const std::size_t length = std::size_t{jpeg[m + 1]} << 8 | jpeg[m + 2];
      if (length < 2 || length > jpeg.size() - m - 1)
        raise(errc::corrupt_data, "insert_exif: corrupt JPEG (the segment at byte {} declares {} bytes, {} remain)", m - 1,
              length, jpeg.size() - m - 1);
      end = m + 1 + length;
      payload = jpeg.subspan(m + 3, length - 2);
    }
    const bool exif = marker == 0xE1 && detail::payload_starts_with(payload, detail::exif_header);
    if (marker != 0xE0 || inserted) insert();
    if (!exif) {
      out.push_back(0xFF);
      out.insert(out.end(), jpeg.begin() + std::ptrdiff_t(m), jpeg.begin() + std::ptrdiff_t(end));
    }
    i = end;
  }
}

// Google Photo Sphere properties (XMP namespace http://ns.google.com/photos/1.0/panorama/, prefix
// GPano), each absent when the XMP does not state it. Values as written: what a pose means for a
// view is the caller's business.
struct gpano {
  std::optional<std::string> projection;                   // ProjectionType: "equirectangular" for a 360° photo
  std::optional<int> full_width, full_height;              // FullPanoWidthPixels, FullPanoHeightPixels
  std::optional<int> cropped_width, cropped_height;        // CroppedAreaImageWidthPixels, CroppedAreaImageHeightPixels
  std::optional<int> cropped_left, cropped_top;            // CroppedAreaLeftPixels, CroppedAreaTopPixels
  std::optional<double> heading_deg, pitch_deg, roll_deg;  // PoseHeadingDegrees, PosePitchDegrees, PoseRollDegrees
};

namespace detail {

struct xml_property {
  std::string_view name;  // qualified: "GPano:PoseHeadingDegrees", "xmlns:GPano"
  std::string value;
};

inline bool xml_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline std::string_view xml_trim(std::string_view s) {
  while (!s.empty() && xml_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && xml_space(s.back())) s.remove_suffix(1);
  return s;
}

// Text with XML's predefined and numeric character references replaced (numeric ones as UTF-8);
// an unknown or unterminated reference is kept as written.
inline std::string xml_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t semi = s[i] == '&' ? s.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i++];
      continue;
    }
    const std::string_view ref = s.substr(i + 1, semi - i - 1);
    std::uint32_t code = 0;
    if (ref == "amp")
      code = '&';
    else if (ref == "lt")
      code = '<';
    else if (ref == "gt")
      code = '>';
    else if (ref == "quot")
      code = '"';
    else if (ref == "apos")
      code = '\'';
    else if (ref.size() > 1 && ref[0] == '#') {
      const bool hex = ref[1] == 'x' || ref[1] == 'X';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || code == 0 || code > 0x10FFFF) code = 0;
    }
    if (code == 0) {
      out += s[i++];
      continue;
    }
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xC0 | code >> 6), out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += char(0xE0 | code >> 12), out += char(0x80 | (code >> 6 & 0x3F)), out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xF0 | code >> 18), out += char(0x80 | (code >> 12 & 0x3F)), out += char(0x80 | (code >> 6 & 0x3F)),
          out += char(0x80 | (code & 0x3F));
    }
    i = semi + 1;
  }
  return out;
}

inline bool xml_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ':';
}

// The simple properties of an XML text, in document order: every attribute (name="value"), and
// every element whose content is text only (<name>value</name>). Comments, processing
// instructions, declarations and CDATA are skipped; namespaces are not resolved. Scanning stops
// at the first malformed tag, keeping what came before.
inline std::vector<xml_property> xml_simple_properties(std::string_view x) {
  std::vector<xml_property> out;
  const auto skip_past = [&](std::size_t from, std::string_view end) {
    const std::size_t at = x.find(end, from);
    return at == std::string_view::npos ? x.size() : at + end.size();
  };
  const auto read_name = [&](std::size_t& j) {
    const std::size_t first = j;
    while (j < x.size() && xml_name_char(x[j])) ++j;
    return x.substr(first, j - first);
  };
  const auto skip_space = [&](std::size_t& j) {
    while (j < x.size() && xml_space(x[j])) ++j;
  };
  for (std::size_t i = x.find('<'); i < x.size(); i = x.find('<', i)) {
    const std::string_view rest = x.substr(i);
    if (rest.starts_with("<!--")) {
      i = skip_past(i + 4, "-->");
    } else if (rest.starts_with("<![CDATA[")) {
      i = skip_past(i + 9, "]]>");
    } else if (rest.starts_with("<?")) {
      i = skip_past(i + 2, "?>");
    } else if (rest.starts_with("<!") || rest.starts_with("</")) {
      i = skip_past(i + 2, ">");
    } else {
      std::size_t j = i + 1;
      const std::string_view element = read_name(j);
      if (element.empty()) return out;
      for (;;) {  // attributes, up to > or />
        skip_space(j);
        if (j >= x.size()) return out;
        if (x[j] == '>') break;
        if (x.substr(j, 2) == "/>") break;
        const std::string_view attribute = read_name(j);
        skip_space(j);
        if (attribute.empty() || j >= x.size() || x[j] != '=') return out;
        ++j;
        skip_space(j);
        if (j >= x.size() || (x[j] != '"' && x[j] != '\'')) return out;
        const std::size_t close = x.find(x[j], j + 1);
        if (close == std::string_view::npos) return out;
        out.push_back({attribute, xml_unescape(x.substr(j + 1, close - j - 1))});
        j = close + 1;
      }
      if (x[j] == '/') {
        i = j + 2;
        continue;
      }
      i = j + 1;  // content: kept when it is text up to this element's end tag
      const std::size_t lt = x.find('<', i);
      if (lt == std::string_view::npos) return out;
      const std::string_view end = x.substr(lt);
      if (end.size() > element.size() + 2 && end.substr(0, 2) == "</" && end.substr(2, element.size()) == element &&
          (end[element.size() + 2] == '>' || xml_space(end[element.size() + 2])))
        out.push_back({element, xml_unescape(x.substr(i, lt - i))});
      i = lt;
    }
  }
  return out;
}

[[noreturn]] inline void bad_gpano(std::string_view name, std::string_view property, std::string_view text,
                                   std::string_view what) {
  text = xml_trim(text);
  const std::string shown = text.size() > 40 ? std::string(text.substr(0, 40)) + "..." : std::string(text);
  raise(errc::corrupt_data, "{}: GPano:{} is \"{}\", not {}", name, property, shown, what);
}

inline double gpano_number(std::string_view text, std::string_view name, std::string_view property) {
  std::string_view t = xml_trim(text);
  if (t.size() > 1 && t[0] == '+' && t[1] != '-') t.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v))
    bad_gpano(name, property, text, "a number");
  return v;
}

// A pixel count or offset: an integer (written as one, or as a number with no fraction) >= min.
inline int gpano_pixels(std::string_view text, std::string_view name, std::string_view property, int min) {
  const double v = gpano_number(text, name, property);
  if (v != std::floor(v) || v < min || v > std::numeric_limits<int>::max())
    bad_gpano(name, property, text, min > 0 ? "a positive pixel count" : "a pixel offset (an integer >= 0)");
  return static_cast<int>(v);
}

}  // namespace detail

// The GPano properties of a JPEG's XMP (the APP1 segment starting "http://ns.adobe.com/xap/1.0/\0"),
// written as attributes (GPano:PoseHeadingDegrees="12.5") or elements
// (<GPano:PoseHeadingDegrees>12.5</GPano:PoseHeadingDegrees>), under whatever prefix the XMP binds
// to the GPano namespace (GPano when it binds none). Extended XMP segments are not read. nullopt
// when there is no XMP or no GPano property in it; a value that is not a number (or not a pixel
// count where one is due) raises corrupt_data naming `name` and the property.
inline std::optional<gpano> find_gpano(std::span<const unsigned char> jpeg, std::string_view name) {
  std::optional<std::string_view> xmp;
  detail::for_each_jpeg_segment(jpeg, [&](unsigned marker, std::span<const unsigned char> payload) {
    if (marker != 0xE1 || !detail::payload_starts_with(payload, detail::xmp_header)) return false;
    xmp.emplace(reinterpret_cast<const char*>(payload.data()) + detail::xmp_header.size(),
                payload.size() - detail::xmp_header.size());
    return true;
  });
  if (!xmp) return std::nullopt;

  const std::vector<detail::xml_property> properties = detail::xml_simple_properties(*xmp);
  std::vector<std::string_view> prefixes;
  for (const detail::xml_property& p : properties)
    if (p.name.starts_with("xmlns:") && p.value == "http://ns.google.com/photos/1.0/panorama/")
      prefixes.push_back(p.name.substr(6));
  if (prefixes.empty()) prefixes.push_back("GPano");
  const auto lookup = [&](std::string_view local) -> const std::string* {
    for (const detail::xml_property& p : properties)
      for (std::string_view prefix : prefixes)
        if (p.name.size() == prefix.size() + 1 + local.size() && p.name.starts_with(prefix) && p.name[prefix.size()] == ':' &&
            p.name.ends_with(local))
          return &p.value;
    return nullptr;
  };

  gpano g;
  bool any = false;
  if (const std::string* v = lookup("ProjectionType")) g.projection = std::string(detail::xml_trim(*v)), any = true;
  const std::pair<std::optional<int> gpano::*, std::string_view> pixels[] = {
      {&gpano::full_width, "FullPanoWidthPixels"},
      {&gpano::full_height, "FullPanoHeightPixels"},
      {&gpano::cropped_width, "CroppedAreaImageWidthPixels"},
      {&gpano::cropped_height, "CroppedAreaImageHeightPixels"},
      {&gpano::cropped_left, "CroppedAreaLeftPixels"},
      {&gpano::cropped_top, "CroppedAreaTopPixels"}};
  for (const auto& [field, property] : pixels)
    if (const std::string* v = lookup(property)) {
      const bool offset = field == &gpano::cropped_left || field == &gpano::cropped_top;
      g.*field = detail::gpano_pixels(*v, name, property, offset ? 0 : 1);
      any = true;
    }
  const std::pair<std::optional<double> gpano::*, std::string_view> angles[] = {{&gpano::heading_deg, "PoseHeadingDegrees"},
                                                                                {&gpano::pitch_deg, "PosePitchDegrees"},
                                                                                {&gpano::roll_deg, "PoseRollDegrees"}};
  for (const auto& [field, property] : angles)
    if (const std::string* v = lookup(property)) g.*field = detail::gpano_number(*v, name, property), any = true;
  if (!any) return std::nullopt;
  return g;
}

}  // namespace vbatch::inline v0::io
