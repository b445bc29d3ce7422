#pragma once
// Loading and saving images with stb (link vbatch::io; stb's implementation comes from the
// system's libstb, never from this header).
//
//   auto frame = vbatch::load_image("pano_0001.jpg", 3);      // (1,H,W,3) u8, throws vbatch::error
//   vbatch::save_image("view.png", frame.view());             // written to a temporary, then renamed
//
// Loading reads the header first and refuses images over image_limits before decoding them
// (decompression bombs), and rejects truncated JPEGs (no end-of-image marker).
// Saving never leaves a partial file under the final name: the bytes go to a temporary file in
// the same directory, which is renamed over the target only once complete.

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <stb_image.h>
#include <stb_image_write.h>

#include "vbatch/core/buffer.hpp"

namespace vbatch::inline v0 {

struct image_limits {
  std::int64_t max_pixels = std::int64_t{1} << 28;  // 268 MPix: a 16K x 16K panorama
  int max_side = 1 << 16;
};

struct image_info {
  int width = 0, height = 0, channels = 0;
};

enum class image_format { png, jpeg };

struct save_options {
  int jpeg_quality = 92;  // 1..100
};

namespace detail {

inline std::vector<unsigned char> read_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) raise(errc::io, "{}: cannot open: {}", path.string(), std::strerror(errno));
  std::vector<unsigned char> bytes;
  unsigned char chunk[1 << 16];
  for (std::size_t got; (got = std::fread(chunk, 1, sizeof chunk, f)) > 0;) bytes.insert(bytes.end(), chunk, chunk + got);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) raise(errc::io, "{}: read error", path.string());
  return bytes;
}

// Whether a JPEG's data runs to its end-of-image marker. Segments are walked by their lengths up
// to the first start-of-scan (so an EXIF thumbnail, itself a complete JPEG inside APP1, is
// skipped); from there EOI (FF D9) must follow, which entropy-coded data never contains (0xFF is
// stuffed as FF 00). stb 2.27 already rejects truncated baseline files ("expected marker"); this
// makes the error the same for every cut, and for decoders that fill missing data with grey.
inline bool jpeg_is_complete(const std::vector<unsigned char>& b) {
  std::size_t i = 2;  // after SOI
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return false;
    const unsigned marker = b[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const std::size_t length = (std::size_t{b[i + 2]} << 8) | b[i + 3];
    if (marker == 0xDA) {
      for (std::size_t j = i + 2 + length; j + 1 < b.size(); ++j)
        if (b[j] == 0xFF && b[j + 1] == 0xD9) return true;
      return false;
    }
    i += 2 + length;
  }
  return false;
}

inline bool is_jpeg(const std::vector<unsigned char>& b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

}  // namespace detail

inline std::string_view format_extension(image_format f) { return f == image_format::png ? "png" : "jpg"; }

// The format implied by a file name's extension (.png, .jpg, .jpeg; any case).
inline image_format format_from_path(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".png") return image_format::png;
  if (ext == ".jpg" || ext == ".jpeg") return image_format::jpeg;
  raise(errc::invalid_argument, "{}: unknown image extension '{}' (use .png, .jpg or .jpeg)", path.string(), ext);
}

inline status check_limits(const std::filesystem::path& path, const image_info& info, const image_limits& limits) {
  if (info.width > limits.max_side || info.height > limits.max_side || std::int64_t{info.width} * info.height > limits.max_pixels)
    return fail(errc::limit_exceeded, "{}: {}x{} image exceeds the limit of {} pixels (max side {})", path.string(), info.width,
                info.height, limits.max_pixels, limits.max_side);
  return status::success();
}

// Size and channel count from the file header, without reading or decoding the pixels.
inline image_info read_image_info(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) raise(errc::io, "{}: cannot open: {}", path.string(), std::strerror(errno));
  image_info info;
  const int ok = stbi_info_from_file(f, &info.width, &info.height, &info.channels);
  std::fclose(f);
  if (!ok) raise(errc::corrupt_data, "{}: not a readable image ({})", path.string(), stbi_failure_reason());
  return info;
}

namespace detail {
// Reads and checks a file, decodes it with `channels` channels and hands stb's pixels to `use`.
template <class Use>
void decode(const std::filesystem::path& path, int channels, const image_limits& limits, Use&& use) {
  if (channels != 0 && channels != 1 && channels != 3 && channels != 4)
    raise(errc::invalid_argument, "load_image: {} channels requested for {} (0, 1, 3 or 4)", channels, path.string());
  const std::vector<unsigned char> bytes = read_file(path);
  if (bytes.empty()) raise(errc::corrupt_data, "{}: empty file", path.string());
  if (bytes.size() > std::size_t{INT32_MAX}) raise(errc::limit_exceeded, "{}: file larger than 2 GiB", path.string());
  const int size = static_cast<int>(bytes.size());
  image_info info;
  if (!stbi_info_from_memory(bytes.data(), size, &info.width, &info.height, &info.channels))
    raise(errc::corrupt_data, "{}: not a readable image ({})", path.string(), stbi_failure_reason());
  check(check_limits(path, info, limits));
  if (is_jpeg(bytes) && !jpeg_is_complete(bytes))
    raise(errc::corrupt_data, "{}: truncated JPEG (no end-of-image marker)", path.string());
  const int want = channels != 0 ? channels : (info.channels == 2 ? 4 : info.channels);
  int w = 0, h = 0, stored = 0;
  unsigned char* pixels = stbi_load_from_memory(bytes.data(), size, &w, &h, &stored, want);
  if (!pixels) {
    const std::string_view reason = stbi_failure_reason();
    // stb reports its own failed allocations this way; batch policies react to out_of_memory.
    raise(reason == "outofmem" ? errc::out_of_memory : errc::corrupt_data, "{}: cannot decode ({})", path.string(), reason);
  }
  try {
    use(batch_view<const u8>::dense(pixels, {1, h, w, want}));
  } catch (...) {
    stbi_image_free(pixels);
    throw;
  }
  stbi_image_free(pixels);
}
}  // namespace detail

// Decodes an image into a (1,H,W,C) batch. channels = 0 keeps the stored channels (gray+alpha
// becomes RGBA); 1, 3 or 4 converts.
inline batch_buffer<u8> load_image(const std::filesystem::path& path, int channels = 0, const image_limits& limits = {}) {
  batch_buffer<u8> image;
  detail::decode(path, channels, limits, [&](batch_view<const u8> pixels) {
    image = batch_buffer<u8>(pixels.shape());
    std::memcpy(image.data(), pixels.data, image.bytes());
  });
  return image;
}

// Decodes an image into `dst`, one image of the file's size with dst.c channels (1, 3 or 4):
// for filling one slot of a batch without an intermediate buffer.
inline void load_image_into(const std::filesystem::path& path, batch_view<u8> dst, const image_limits& limits = {}) {
  detail::decode(path, dst.c, limits, [&](batch_view<const u8> pixels) {
    if (dst.n != 1 || dst.h != pixels.h || dst.w != pixels.w)
      raise(errc::invalid_argument, "{}: image is {}x{} but the destination is {}x{}x{} (N,H,W)", path.string(), pixels.w,
            pixels.h, dst.n, dst.h, dst.w);
    const bool contiguous = dst.stride_w == dst.c;
    for (int y = 0; y < pixels.h; ++y) {
      if (contiguous) {
        std::memcpy(dst.pixel(0, y, 0), pixels.pixel(0, y, 0), std::size_t(dst.w) * dst.c);
        continue;
      }
      for (int x = 0; x < pixels.w; ++x) std::memcpy(dst.pixel(0, y, x), pixels.pixel(0, y, x), std::size_t(dst.c));
    }
  });
}

// Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename.
inline void write_file_atomically(const std::filesystem::path& path, const void* bytes, std::size_t size) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) raise(errc::io, "{}: cannot create a temporary file in {}: {}", path.string(), dir.string(), std::strerror(errno));
  std::FILE* f = ::fdopen(fd, "wb");
  const bool written = f && std::fwrite(bytes, 1, size, f) == size;
  const int write_errno = errno;
  const bool closed = f ? std::fclose(f) == 0 : (::close(fd), false);
  if (!written || !closed) {
    std::filesystem::remove(temp);
    raise(errc::io, "{}: write failed: {}", path.string(), std::strerror(written ? errno : write_errno));
  }
  std::error_code ec;
  std::filesystem::permissions(temp,
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                   std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                               ec);
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp);
    raise(errc::io, "{}: cannot rename the temporary file into place: {}", path.string(), ec.message());
  }
}

// Encodes image 0 of `image` (PNG or JPEG by extension) and writes it atomically.
inline void save_image(const std::filesystem::path& path, batch_view<const u8> image, const save_options& options = {}) {
  const image_format format = format_from_path(path);
  if (image.n != 1 || image.w <= 0 || image.h <= 0 || (image.c != 1 && image.c != 3 && image.c != 4))
    raise(errc::invalid_argument, "{}: save_image takes one image with 1, 3 or 4 channels; got {}x{}x{}x{} (N,H,W,C)",
          path.string(), image.n, image.h, image.w, image.c);
  if (options.jpeg_quality < 1 || options.jpeg_quality > 100)
    raise(errc::invalid_argument, "{}: JPEG quality {} outside 1..100", path.string(), options.jpeg_quality);
  if (image.stride_w != image.c) raise(errc::invalid_argument, "{}: save_image needs contiguous pixels", path.string());
  std::vector<unsigned char> encoded;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<unsigned char>*>(context);
    out->insert(out->end(), static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
  };
  int ok = 0;
  if (format == image_format::png) {
    ok = stbi_write_png_to_func(append, &encoded, image.w, image.h, image.c, image.data, static_cast<int>(image.stride_h));
  } else {
    if (image.stride_h != std::ptrdiff_t{image.w} * image.c)
      raise(errc::invalid_argument, "{}: JPEG needs contiguous rows", path.string());
    ok = stbi_write_jpg_to_func(append, &encoded, image.w, image.h, image.c, image.data, options.jpeg_quality);
  }
  if (!ok || encoded.empty()) raise(errc::io, "{}: encoding failed", path.string());
  write_file_atomically(path, encoded.data(), encoded.size());
}

}  // namespace vbatch::inline v0
