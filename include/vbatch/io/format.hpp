#pragma once
// What every codec shares: image limits and headers, formats by extension, and writing files
// atomically (a temporary file in the target directory, renamed into place).
//
//   vbatch::io::write_file_atomically("out/tracks.txt", text.data(), text.size());
//   vbatch::io::image_format f = vbatch::io::format_from_path("view.JPG");   // image_format::jpeg
//
// No codec here: vbatch/io/codec.hpp has them, vbatch/io/image_io.hpp the load and save calls.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "vbatch/core/error.hpp"
#include "vbatch/core/file.hpp"

namespace vbatch::inline v0::io {

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

// Whether a JPEG's data runs to its end-of-image marker. Segments are walked by their lengths up
// to the first start-of-scan (so an EXIF thumbnail, itself a complete JPEG inside APP1, is
// skipped); from there EOI (FF D9) must follow, which entropy-coded data never contains (0xFF is
// stuffed as FF 00). stb 2.27 already rejects truncated baseline files ("expected marker"); this
// makes the error the same for every cut, and for decoders that fill missing data with grey
// (libjpeg-turbo only warns).
inline bool jpeg_is_complete(std::span<const unsigned char> b) {
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
      // The EOI is normally the last two bytes; search backwards so a complete file costs nothing.
      for (std::size_t j = b.size() - 1; j > i + 2 + length; --j)
        if (b[j - 1] == 0xFF && b[j] == 0xD9) return true;
      return false;
    }
    i += 2 + length;
  }
  return false;
}

inline bool is_jpeg(std::span<const unsigned char> b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
inline bool is_png(std::span<const unsigned char> b) {
  static constexpr unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return b.size() >= 8 && std::memcmp(b.data(), signature, 8) == 0;
}

}  // namespace detail

inline std::string_view format_extension(image_format f) { return f == image_format::png ? "png" : "jpg"; }
inline const char* to_string(image_format f) { return f == image_format::png ? "PNG" : "JPEG"; }

// The format implied by a file name's extension (.png, .jpg, .jpeg; any case).
inline image_format format_from_path(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".png") return image_format::png;
  if (ext == ".jpg" || ext == ".jpeg") return image_format::jpeg;
  raise(errc::invalid_argument, "{}: unknown image extension '{}' (use .png, .jpg or .jpeg)", path.string(), ext);
}

// Whether an image with this header may be loaded: within the side and pixel limits (checked
// before any pixel is decoded, so that a decompression bomb costs nothing).
inline status can_load(const std::filesystem::path& path, const image_info& info, const image_limits& limits) {
  // A header may declare nonsense: stb 2.27 reads a PNM height of 86666666666 as a negative int.
  if (info.width < 1 || info.height < 1)
    return fail(errc::corrupt_data, "{}: the header declares a {}x{} image", path.string(), info.width, info.height);
  if (info.width > limits.max_side || info.height > limits.max_side || std::int64_t{info.width} * info.height > limits.max_pixels)
    return fail(errc::limit_exceeded, "{}: {}x{} image exceeds the limit of {} pixels (max side {})", path.string(), info.width,
                info.height, limits.max_pixels, limits.max_side);
  return status::success();
}

// Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename. On
// any failure (full disk, file size limit, read-only directory) the temporary is removed and an
// existing file under `path` stays as it was.
inline void write_file_atomically(const std::filesystem::path& path, const void* bytes, std::size_t size) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  // Appended piece by piece: "." + name + ... trips GCC 12's -Wrestrict false positive at -O3.
  std::string hidden = ".";
  hidden += path.filename().string();
  hidden += ".tmp-XXXXXX";
  std::string temp = (dir / hidden).string();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) raise(errc::io, "{}: cannot create a temporary file in {}: {}", path.string(), dir.string(), std::strerror(errno));
  int error = 0;
  for (std::size_t done = 0; done < size && error == 0;) {
    const ssize_t put = ::write(fd, static_cast<const char*>(bytes) + done, size - done);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0)
      error = put < 0 ? errno : EIO;
    else
      done += static_cast<std::size_t>(put);
  }
  // close() can report a deferred write error (NFS, quotas).
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    raise(errc::io, "{}: write failed: {}", path.string(), std::strerror(error));
  }
  ::chmod(temp.c_str(), 0644);  // mkstemp creates 0600; a saved image is as readable as any file
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(temp.c_str());
    raise(errc::io, "{}: cannot rename the temporary file into place: {}", path.string(), std::strerror(e));
  }
}

}  // namespace vbatch::inline v0::io
