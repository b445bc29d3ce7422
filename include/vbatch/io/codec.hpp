#pragma once
// Image codecs: which library decodes and encodes JPEG and PNG, chosen at compile time, behind
// one API (vbatch/io/image_io.hpp's load_image, load_image_into, save_image take an image_codec as
// their first template argument; the default is codec::fastest).
//
//   vbatch::io::save_image<vbatch::io::codec::stb>("a.jpg", view);        // stb, whatever else is built in
//   vbatch::io::load_image("a.jpg", 3);                              // codec::fastest
//   std::string what = vbatch::io::codec::fastest::describe();        // "JPEG: libjpeg-turbo 2.1.5, ..."
//
// Engines: stb (always there: libstb), libjpeg-turbo's TurboJPEG API (VBATCH_HAVE_TURBOJPEG, set
// by vbatch::io when CMake found libturbojpeg) for JPEG decoding and encoding, libpng
// (VBATCH_HAVE_LIBPNG) for PNG encoding at zlib level 1. PNG decoding is stb's in every codec.
// libjpeg-turbo and libpng are several times faster than stb: figures in docs/performance.md.
//
// Every engine gives the same guarantees: the pixel limit is checked from the header before any
// pixel is decoded; unreadable, undecodable or truncated data is errc::corrupt_data naming the
// file; a codec's own failed allocation is errc::out_of_memory. Decoding calls a sink with the
// image's size first and decodes into the view it returns: libjpeg-turbo writes straight into it
// (a slot of a batch), stb decodes into its own buffer and copies.
//
// Pixels differ between JPEG engines by a few levels (their IDCTs and upsampling differ); each is
// deterministic. JPEG encoding chooses chroma subsampling as stb does: 4:2:0 up to quality 90,
// 4:4:4 above, so files of one quality have the same colour resolution whatever the engine.

#include <algorithm>
#include <concepts>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <stb_image.h>
#include <stb_image_write.h>

#if defined(VBATCH_HAVE_TURBOJPEG)
#include <turbojpeg.h>
#endif
#if defined(VBATCH_HAVE_LIBPNG)
#include <png.h>
#endif

#include "vbatch/core/view.hpp"
#include "vbatch/io/exif.hpp"
#include "vbatch/io/format.hpp"

namespace vbatch::inline v0::io {

namespace codec {

#if defined(VBATCH_HAVE_TURBOJPEG)
inline constexpr bool have_turbojpeg = true;
#else
inline constexpr bool have_turbojpeg = false;
#endif
#if defined(VBATCH_HAVE_LIBPNG)
inline constexpr bool have_libpng = true;
#else
inline constexpr bool have_libpng = false;
#endif

enum class engine { stb, turbojpeg, libpng };

constexpr const char* to_string(engine e) {
  return e == engine::stb ? "stb" : e == engine::turbojpeg ? "libjpeg-turbo" : "libpng";
}

// An image codec: the engine that decodes JPEG, the one that encodes JPEG, the one that encodes PNG.
template <engine JpegDecoder, engine JpegEncoder, engine PngEncoder>
struct set {
  static_assert(JpegDecoder != engine::libpng && JpegEncoder != engine::libpng && PngEncoder != engine::turbojpeg,
                "codec::set: libjpeg-turbo handles JPEG, libpng handles PNG");
  static_assert((JpegDecoder != engine::turbojpeg && JpegEncoder != engine::turbojpeg) || have_turbojpeg,
                "codec::set: libjpeg-turbo is not built in (VBATCH_HAVE_TURBOJPEG): install libturbojpeg0-dev, "
                "reconfigure, and link vbatch::io");
  static_assert(PngEncoder != engine::libpng || have_libpng,
                "codec::set: libpng is not built in (VBATCH_HAVE_LIBPNG): install libpng-dev, reconfigure, and link vbatch::io");
  static constexpr engine jpeg_decoder = JpegDecoder, jpeg_encoder = JpegEncoder, png_encoder = PngEncoder;

  // "JPEG libjpeg-turbo, PNG stb (decode) / libpng level 1 (encode)", for tools' reports.
  static std::string describe() {
    std::string s = "JPEG ";
    s += JpegDecoder == JpegEncoder ? to_string(JpegDecoder)
                                    : std::string(to_string(JpegDecoder)) + " (decode) / " + to_string(JpegEncoder) + " (encode)";
    s += ", PNG ";
    s += PngEncoder == engine::stb ? "stb" : "stb (decode) / libpng level 1 (encode)";
    return s;
  }
};

using stb = set<engine::stb, engine::stb, engine::stb>;
#if defined(VBATCH_HAVE_TURBOJPEG)
using turbojpeg = set<engine::turbojpeg, engine::turbojpeg, engine::stb>;
#endif
#if defined(VBATCH_HAVE_LIBPNG)
using libpng = set<engine::stb, engine::stb, engine::libpng>;
#endif
// The fastest engines built in: what the tools use, and the default of load_image/save_image.
using fastest = set<have_turbojpeg ? engine::turbojpeg : engine::stb, have_turbojpeg ? engine::turbojpeg : engine::stb,
                    have_libpng ? engine::libpng : engine::stb>;

}  // namespace codec

// What load_image, save_image and the loaders take as their Codec: codec::set or a type like it.
template <class C>
concept image_codec = requires {
  { C::jpeg_decoder } -> std::convertible_to<codec::engine>;
  { C::jpeg_encoder } -> std::convertible_to<codec::engine>;
  { C::png_encoder } -> std::convertible_to<codec::engine>;
};

namespace detail {

// A channel request: 0 (as stored), 1, 3 or 4.
inline void check_channels(int channels, const std::filesystem::path& name) {
  if (channels != 0 && channels != 1 && channels != 3 && channels != 4)
    raise(errc::invalid_argument, "load_image: {} channels requested for {} (0, 1, 3 or 4)", channels, name.string());
}

// Checks common to every decoder, before any pixel: the channel request, the file's size.
inline void check_encoded(std::span<const unsigned char> bytes, const std::filesystem::path& name, int channels) {
  check_channels(channels, name);
  if (bytes.empty()) raise(errc::corrupt_data, "{}: empty file", name.string());
  if (bytes.size() > std::size_t{INT32_MAX}) raise(errc::limit_exceeded, "{}: file larger than 2 GiB", name.string());
}

// Copies a decoded dense (1,H,W,C) image into `dst` (any strides).
inline void copy_into(batch_view<const u8> pixels, batch_view<u8> dst) {
  const bool contiguous = dst.stride_w == dst.c;
  for (int y = 0; y < pixels.h; ++y) {
    if (contiguous) {
      std::memcpy(dst.pixel(0, y, 0), pixels.pixel(0, y, 0), std::size_t(dst.w) * dst.c);
      continue;
    }
    for (int x = 0; x < pixels.w; ++x) std::memcpy(dst.pixel(0, y, x), pixels.pixel(0, y, x), std::size_t(dst.c));
  }
}

// The sink's view must be one image of the decoded size and channel count.
inline batch_view<u8> checked_destination(batch_view<u8> dst, const image_info& decoded, const std::filesystem::path& name) {
  if (dst.n != 1 || dst.h != decoded.height || dst.w != decoded.width || dst.c != decoded.channels)
    raise(errc::invalid_argument, "{}: image is {}x{} but the destination is {}x{}x{} (N,H,W)", name.string(), decoded.width,
          decoded.height, dst.n, dst.h, dst.w);
  if (dst.stride_w < dst.c || dst.data == nullptr) raise(errc::invalid_argument, "{}: invalid destination view", name.string());
  return dst;
}

// A PNG's size from its IHDR chunk, checked against the limits before stb sees the file: stb
// refuses sides over 2^24 itself, and its probe then calls the file an "unknown image type".
inline void check_png_header(std::span<const unsigned char> b, const std::filesystem::path& name, const image_limits& limits) {
  const auto be32 = [&](std::size_t at) {
    return std::int64_t{b[at]} << 24 | std::int64_t{b[at + 1]} << 16 | std::int64_t{b[at + 2]} << 8 | std::int64_t{b[at + 3]};
  };
  if (b.size() < 33 || be32(8) != 13 || std::memcmp(&b[12], "IHDR", 4) != 0)
    raise(errc::corrupt_data, "{}: corrupt PNG (no IHDR header chunk)", name.string());
  const std::int64_t width = be32(16), height = be32(20);
  if (width == 0 || height == 0 || width > INT32_MAX || height > INT32_MAX)
    raise(errc::corrupt_data, "{}: the PNG header declares a {}x{} image", name.string(), width, height);
  if (width > limits.max_side || height > limits.max_side || width * height > limits.max_pixels)
    raise(errc::limit_exceeded, "{}: the PNG header declares {}x{}, over the limit of {} pixels (max side {})", name.string(),
          width, height, limits.max_pixels, limits.max_side);
  // 8-bit pixels only: stb would quietly drop the low byte of each 16-bit sample.
  if (b[24] == 16)
    raise(errc::unsupported, "{}: a 16-bit PNG: vbatch reads 8-bit images only (convert it, or it would lose its low bits)",
          name.string());
  // Every chunk must fit in the file: stb 2.27 grows its buffer to an IDAT chunk's declared
  // length before reading it, so 86 bytes declaring 2 GB cost 2 GB (found by fuzzing).
  for (std::size_t at = 8; at + 8 <= b.size();) {
    const auto length = static_cast<std::size_t>(be32(at));
    if (length > b.size() - at - 8)
      raise(errc::corrupt_data, "{}: truncated PNG (a chunk declares {} bytes, {} remain)", name.string(), length,
            b.size() - at - 8);
    if (std::memcmp(&b[at + 4], "IEND", 4) == 0) break;
    at += 12 + length;
  }
}

// Whether a JPEG's Huffman tables are well formed (at most 256 symbols, code lengths that fit:
// Kraft's inequality) and every table its scans decode with was defined (DHT) before the scan.
// stb 2.27 checks neither the symbol count, and writes past its table arrays for more than 256,
// nor the definition: it decodes a scan with an undefined table from uninitialised memory (both
// found by fuzzing: tests/fuzz/regressions/image/). libjpeg-turbo refuses such files itself.
// `b` starts after the start-of-image marker; segments are walked by their lengths, entropy-coded
// data and bytes between segments (which stb skips) up to the next marker.
inline bool jpeg_huffman_tables_valid(std::span<const unsigned char> b) {
  bool defined[2][4] = {};  // [DC, AC][table id]
  bool progressive = false;
  for (std::size_t i = 0; i + 4 <= b.size();) {
    const unsigned marker = b[i + 1];
    if (b[i] != 0xFF || marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7)) {  // data, fill, RSTn
      i += b[i] == 0xFF && marker != 0xFF ? 2 : 1;
      continue;
    }
    if (marker == 0xD9) break;  // EOI
    const std::size_t end = std::min(b.size(), i + 2 + ((std::size_t{b[i + 2]} << 8) | b[i + 3]));
    if (marker == 0xC4) {  // DHT: class/id, 16 code counts, the symbols
      for (std::size_t t = i + 4; t + 17 <= end;) {
        std::size_t symbols = 0, codes = 0;  // codes: the canonical code after the last one of this length
        for (std::size_t length = 1; length <= 16; ++length) {
          symbols += b[t + length];
          codes = 2 * codes + b[t + length];
          if (codes > (std::size_t{1} << length)) return false;
        }
        if (symbols > 256) return false;
        if ((b[t] >> 4) < 2 && (b[t] & 15) < 4) defined[b[t] >> 4][b[t] & 15] = true;
        t += 17 + symbols;
      }
    } else if (marker == 0xC2) {  // SOF2: a progressive frame
      progressive = true;
    } else if (marker == 0xDA && i + 5 <= end) {  // SOS: components, then Ss, Se, Ah/Al
      const std::size_t components = b[i + 4], spectral = i + 5 + 2 * components;
      if (spectral + 3 > end) return false;
      const unsigned ss = b[spectral], se = b[spectral + 1], ah = b[spectral + 2] >> 4;
      // A sequential scan codes every coefficient (stb ignores its Ss and Se); a progressive one
      // Huffman-codes DC coefficients in its first DC pass, AC ones in every AC pass.
      const bool dc_coded = !progressive || (ss == 0 && ah == 0), ac_coded = !progressive || se > 0;
      for (std::size_t k = 0; k < components; ++k) {
        const unsigned dc = b[i + 6 + 2 * k] >> 4, ac = b[i + 6 + 2 * k] & 15;
        if (dc_coded && dc < 4 && !defined[0][dc]) return false;
        if (ac_coded && ac < 4 && !defined[1][ac]) return false;
      }
    }
    i = end;
  }
  return true;
}

// Where stb's JPEG decoder starts reading segments: after a start-of-image marker, which it also
// finds behind 0xFF fill bytes ("FF FF ... FF D8"); 0 when stb does not take the bytes for a JPEG
// (and tries its other formats). A JPEG file proper starts "FF D8 FF" (is_jpeg).
inline std::size_t stb_jpeg_start(std::span<const unsigned char> b) {
  if (b.empty() || b[0] != 0xFF) return 0;
  std::size_t i = 1;
  while (i < b.size() && b[i] == 0xFF) ++i;
  return i < b.size() && b[i] == 0xD8 ? i + 1 : 0;
}

// ---- stb ---------------------------------------------------------------------------------------

template <class Sink>
void stb_decode(std::span<const unsigned char> bytes, const std::filesystem::path& name, int channels, const image_limits& limits,
                Sink&& sink) {
  const int size = static_cast<int>(bytes.size());
  if (is_png(bytes)) check_png_header(bytes, name, limits);
  // Before stb reads a table: its header probe parses the tables that precede the frame header.
  const std::size_t jpeg_start = stb_jpeg_start(bytes);
  if (jpeg_start != 0 && !jpeg_huffman_tables_valid(bytes.subspan(jpeg_start)))
    raise(errc::corrupt_data, "{}: corrupt JPEG (a Huffman table is malformed, or a scan uses one never defined)", name.string());
  image_info info;
  if (!stbi_info_from_memory(bytes.data(), size, &info.width, &info.height, &info.channels)) {
    // stb tries every format and reports the last one's failure ("unknown image type"): for a
    // PNG or a JPEG, its loader (which stops at the same header) says what is wrong.
    if (is_png(bytes) || is_jpeg(bytes)) {
      unsigned char* pixels = stbi_load_from_memory(bytes.data(), size, &info.width, &info.height, &info.channels, 0);
      stbi_image_free(pixels);
      if (!pixels)
        raise(errc::corrupt_data, "{}: not a readable {} ({})", name.string(), is_png(bytes) ? "PNG" : "JPEG",
              stbi_failure_reason());
    }
    raise(errc::corrupt_data, "{}: not a readable image ({})", name.string(), stbi_failure_reason());
  }
  check(can_load(name, info, limits));
  if (jpeg_start != 0 && !jpeg_is_complete(bytes.subspan(jpeg_start - 2)))
    raise(errc::corrupt_data, "{}: truncated JPEG (no end-of-image marker)", name.string());
  // stb 2.27 allocates 8 bits a sample for 16-bit PNM files and converts 16 bits past the end
  // (found by fuzzing: tests/fuzz/regressions/image/).
  const bool pnm = bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6');
  if (pnm && stbi_is_16_bit_from_memory(bytes.data(), size))
    raise(errc::unsupported, "{}: 16-bit PNM (maximum value over 255) is not supported", name.string());
  const int want = channels != 0 ? channels : (info.channels == 2 ? 4 : info.channels);
  const batch_view<u8> dst =
      checked_destination(sink(image_info{info.width, info.height, want}), {info.width, info.height, want}, name);
  int w = 0, h = 0, stored = 0;
  unsigned char* pixels = stbi_load_from_memory(bytes.data(), size, &w, &h, &stored, want);
  if (!pixels) {
    const std::string_view reason = stbi_failure_reason();
    // stb reports its own failed allocations this way; batch policies react to out_of_memory.
    raise(reason == "outofmem" ? errc::out_of_memory : errc::corrupt_data, "{}: cannot decode ({})", name.string(), reason);
  }
  if (w != info.width || h != info.height) {
    stbi_image_free(pixels);
    raise(errc::corrupt_data, "{}: the header says {}x{} but the data {}x{}", name.string(), info.width, info.height, w, h);
  }
  copy_into(batch_view<const u8>::dense(pixels, {1, h, w, want}), dst);
  stbi_image_free(pixels);
}

inline void stb_append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<unsigned char>*>(context);
  out->insert(out->end(), static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
}

inline void stb_encode(image_format format, batch_view<const u8> image, const save_options& options,
                       std::vector<unsigned char>& out, const std::filesystem::path& name) {
  int ok = 0;
  if (format == image_format::png) {
    ok = stbi_write_png_to_func(stb_append, &out, image.w, image.h, image.c, image.data, static_cast<int>(image.stride_h));
  } else {
    if (image.stride_h != std::ptrdiff_t{image.w} * image.c)
      raise(errc::invalid_argument, "{}: JPEG needs contiguous rows with stb", name.string());
    ok = stbi_write_jpg_to_func(stb_append, &out, image.w, image.h, image.c, image.data, options.jpeg_quality);
  }
  if (!ok || out.empty()) raise(errc::io, "{}: encoding failed", name.string());
}

// ---- libjpeg-turbo -----------------------------------------------------------------------------

#if defined(VBATCH_HAVE_TURBOJPEG)
// A TurboJPEG handle for the duration of one call.
struct tj_handle {
  tjhandle h;
  explicit tj_handle(bool compress) : h(compress ? tjInitCompress() : tjInitDecompress()) {
    if (!h) raise(errc::out_of_memory, "libjpeg-turbo: cannot create a handle ({})", tjGetErrorStr2(nullptr));
  }
  tj_handle(const tj_handle&) = delete;
  tj_handle& operator=(const tj_handle&) = delete;
  ~tj_handle() { tjDestroy(h); }
};

// libjpeg reports failed allocations as "Insufficient memory", TurboJPEG as "Memory allocation failure".
inline errc tj_error_code(std::string_view message) {
  return message.find("nsufficient memory") != std::string_view::npos ||
                 message.find("emory allocation") != std::string_view::npos
             ? errc::out_of_memory
             : errc::corrupt_data;
}

template <class Sink>
void turbo_decode(std::span<const unsigned char> bytes, const std::filesystem::path& name, int channels,
                  const image_limits& limits, Sink&& sink) {
  tj_handle tj(false);
  image_info info;
  int subsampling = 0, colourspace = 0;
  const auto size = static_cast<unsigned long>(bytes.size());
  if (tjDecompressHeader3(tj.h, bytes.data(), size, &info.width, &info.height, &subsampling, &colourspace) != 0) {
    // A file cut inside its headers is truncated, like one cut inside its data.
    if (!jpeg_is_complete(bytes)) raise(errc::corrupt_data, "{}: truncated JPEG (no end-of-image marker)", name.string());
    raise(errc::corrupt_data, "{}: not a readable JPEG ({})", name.string(), tjGetErrorStr2(tj.h));
  }
  // CMYK and YCCK (Adobe) files: stb converts them; TurboJPEG cannot give RGB from them.
  if (colourspace == TJCS_CMYK || colourspace == TJCS_YCCK) return stb_decode(bytes, name, channels, limits, sink);
  info.channels = colourspace == TJCS_GRAY ? 1 : 3;
  check(can_load(name, info, limits));
  if (!jpeg_is_complete(bytes)) raise(errc::corrupt_data, "{}: truncated JPEG (no end-of-image marker)", name.string());
  const int want = channels != 0 ? channels : info.channels;
  const batch_view<u8> dst =
      checked_destination(sink(image_info{info.width, info.height, want}), {info.width, info.height, want}, name);
  const int format = want == 1 ? TJPF_GRAY : want == 3 ? TJPF_RGB : TJPF_RGBA;  // RGBA: alpha filled with 255
  // Straight into the destination when its pixels are packed (rows may be strided).
  const bool direct = dst.stride_w == dst.c;
  std::vector<unsigned char> temp;
  unsigned char* out = dst.data;
  int pitch = static_cast<int>(dst.stride_h);
  if (!direct) {
    temp.resize(std::size_t(info.width) * info.height * want);
    out = temp.data();
    pitch = info.width * want;
  }
  const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;  // LIMITSCANS: progressive-scan bombs
  if (tjDecompress2(tj.h, bytes.data(), size, out, info.width, pitch, info.height, format, flags) != 0) {
    const std::string message = tjGetErrorStr2(tj.h);
    // A warning (odd but maybe valid data): stb, the reference decoder before libjpeg-turbo, decides.
    if (tjGetErrorCode(tj.h) == TJERR_WARNING)
      return stb_decode(bytes, name, channels, limits, [&](const image_info&) { return dst; });
    raise(tj_error_code(message), "{}: cannot decode ({})", name.string(), message);
  }
  if (!direct) copy_into(batch_view<const u8>::dense(temp.data(), {1, info.height, info.width, want}), dst);
}

inline void turbo_encode(batch_view<const u8> image, const save_options& options, std::vector<unsigned char>& out,
                         const std::filesystem::path& name) {
  tj_handle tj(true);
  const int format = image.c == 1 ? TJPF_GRAY : image.c == 3 ? TJPF_RGB : TJPF_RGBX;  // JPEG has no alpha
  const int subsampling = image.c == 1 ? TJSAMP_GRAY : options.jpeg_quality <= 90 ? TJSAMP_420 : TJSAMP_444;
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj.h, image.data, image.w, static_cast<int>(image.stride_h), image.h, format, &jpeg, &size, subsampling,
                  options.jpeg_quality, 0) != 0) {
    const std::string message = tjGetErrorStr2(tj.h);
    tjFree(jpeg);
    raise(tj_error_code(message) == errc::out_of_memory ? errc::out_of_memory : errc::io, "{}: JPEG encoding failed ({})",
          name.string(), message);
  }
  try {
    out.assign(jpeg, jpeg + size);
  } catch (...) {
    tjFree(jpeg);
    throw;
  }
  tjFree(jpeg);
}
#endif

// ---- libpng ------------------------------------------------------------------------------------

#if defined(VBATCH_HAVE_LIBPNG)
struct png_context {
  std::vector<unsigned char>* out;
  bool out_of_memory = false;
  char message[200] = {};
};

inline void vbatch_png_error(png_structp png, png_const_charp message) {
  auto* c = static_cast<png_context*>(png_get_error_ptr(png));
  std::snprintf(c->message, sizeof c->message, "%s", message);
  png_longjmp(png, 1);
}
inline void vbatch_png_warning(png_structp, png_const_charp) {}
inline void vbatch_png_write(png_structp png, png_bytep data, png_size_t size) {
  auto* c = static_cast<png_context*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    c->out->insert(c->out->end(), data, data + size);
  } catch (...) {
    ok = false;  // handled here: never unwind a C++ exception through libpng
  }
  if (!ok) {
    c->out_of_memory = true;
    png_error(png, "out of memory");
  }
}
inline void vbatch_png_flush(png_structp) {}

// zlib level 1 with the Sub filter: several times faster than stb's writer (level 8, all filters)
// for files of about the same size (docs/performance.md). Nothing with a destructor lives
// in this frame across setjmp/longjmp.
inline void libpng_encode(batch_view<const u8> image, std::vector<unsigned char>& out, const std::filesystem::path& name) {
  png_context context{&out};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, vbatch_png_error, vbatch_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, nullptr);
    raise(errc::out_of_memory, "{}: libpng: cannot create its structures", name.string());
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    raise(context.out_of_memory ? errc::out_of_memory : errc::io, "{}: PNG encoding failed ({})", name.string(), context.message);
  }
  png_set_write_fn(png, &context, vbatch_png_write, vbatch_png_flush);
  const int type = image.c == 1 ? PNG_COLOR_TYPE_GRAY : image.c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.w), static_cast<png_uint_32>(image.h), 8, type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 1);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  png_write_info(png, info);
  for (int y = 0; y < image.h; ++y) png_write_row(png, image.pixel(0, y, 0));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
}
#endif

}  // namespace detail

// Decodes an encoded image (`name` is for messages). `sink(image_info)` is called once, after the
// header and limits were checked and before any pixel is decoded, with the size and the channel
// count the pixels will have (channels, or the stored count when 0: gray+alpha becomes RGBA);
// it returns the (1,H,W,C) view to decode into, or throws to refuse the image.
template <image_codec Codec = codec::fastest, class Sink>
void decode_image(std::span<const unsigned char> bytes, const std::filesystem::path& name, int channels,
                  const image_limits& limits, Sink&& sink) {
  detail::check_encoded(bytes, name, channels);
  if constexpr (Codec::jpeg_decoder == codec::engine::turbojpeg) {
#if defined(VBATCH_HAVE_TURBOJPEG)
    if (detail::is_jpeg(bytes)) return detail::turbo_decode(bytes, name, channels, limits, sink);
#endif
  }
  detail::stb_decode(bytes, name, channels, limits, sink);
}

// Checks that `image` can be saved as `format`: one image, 1, 3 or 4 channels, packed pixels,
// quality 1..100. The message names `name`.
inline status can_encode(image_format format, batch_view<const u8> image, const save_options& options,
                         const std::filesystem::path& name) {
  if (image.n != 1 || image.w <= 0 || image.h <= 0 || (image.c != 1 && image.c != 3 && image.c != 4))
    return fail(errc::invalid_argument, "{}: save_image takes one image with 1, 3 or 4 channels; got {}x{}x{}x{} (N,H,W,C)",
                name.string(), image.n, image.h, image.w, image.c);
  if (format != image_format::jpeg && !options.exif.empty())
    return fail(errc::invalid_argument, "{}: EXIF is written to JPEG files only", name.string());
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100)
    return fail(errc::invalid_argument, "{}: JPEG quality {} outside 1..100", name.string(), options.jpeg_quality);
  if (image.stride_w != image.c || image.data == nullptr)
    return fail(errc::invalid_argument, "{}: save_image needs contiguous pixels", name.string());
  return status::success();
}

// Encodes image 0 of `image` as `format` into memory.
template <image_codec Codec = codec::fastest>
std::vector<unsigned char> encode_image(image_format format, batch_view<const u8> image, const save_options& options = {},
                                        const std::filesystem::path& name = "image") {
  check(can_encode(format, image, options, name));
  std::vector<unsigned char> out;
  out.reserve(std::size_t(image.w) * image.h * image.c / 4);
  if (format == image_format::jpeg && !options.exif.empty()) {
    save_options plain = options;
    plain.exif = {};
    return insert_exif(encode_image<Codec>(format, image, plain, name), options.exif);
  }
  if (format == image_format::jpeg && Codec::jpeg_encoder == codec::engine::turbojpeg) {
#if defined(VBATCH_HAVE_TURBOJPEG)
    detail::turbo_encode(image, options, out, name);
    return out;
#endif
  }
  if (format == image_format::png && Codec::png_encoder == codec::engine::libpng) {
#if defined(VBATCH_HAVE_LIBPNG)
    detail::libpng_encode(image, out, name);
    return out;
#endif
  }
  detail::stb_encode(format, image, options, out, name);
  return out;
}

}  // namespace vbatch::inline v0::io
