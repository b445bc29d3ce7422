#pragma once
// What every codec shares: image limits and headers, formats by extension, and writing files
// atomically (a temporary file in the target directory, renamed into place).
//
//   vbatch::io::write_file_atomically("out/tracks.txt", text.data(), text.size());
//   vbatch::io::write_file_atomically("out/tracks.txt", text.data(), text.size(), /*fsync*/ true);  // survives a power cut
//   std::size_t n = vbatch::io::remove_temporaries("out/");   // what a killed run left, before resuming
//   vbatch::io::image_format f = vbatch::io::format_from_path("view.JPG");   // image_format::jpeg
//
// No codec here: vbatch/io/codec.hpp has them, vbatch/io/image_io.hpp the load and save calls.

#include <fcntl.h>
#include <sys/file.h>
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
#include <vector>

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
  // Power-loss safety: fsync the file before it is renamed into place and its directory after,
  // so a saved file survives a power cut or kernel crash (without it, a crash of the process alone
  // never loses a finished file, but a power cut may). Costs a wait for the disk on every file.
  bool fsync = false;
  // JPEG only: a TIFF block written as the file's EXIF (APP1), such as io::make_view_exif's. A
  // view, not a copy: the bytes must live until the image is saved (pipeline::image_writer: own
  // them by the submit's `keep`, with the pixels). (A view also keeps the options trivially
  // destructible: GCC 12 warns falsely on owning members of designated-initialised temporaries.)
  std::span<const unsigned char> exif = {};
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

// Whether `name` is one of write_file_atomically's temporary files: "." + file name + ".tmp-" +
// mkostemp's six letters or digits. A file of your own named so is taken for one.
inline bool is_temporary_name(std::string_view name) {
  constexpr std::string_view tag = ".tmp-";
  constexpr std::size_t random = 6;
  if (name.size() < 2 + tag.size() + random || name.front() != '.') return false;  // "." + at least one character
  if (name.substr(name.size() - random - tag.size(), tag.size()) != tag) return false;
  for (const char c : name.substr(name.size() - random))  // ASCII, whatever the locale
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  return true;
}

namespace detail {

// fsync of a directory, so that a rename in it is on disk. EINVAL: a file system that cannot sync
// directories (some FUSE ones); nothing more can be done there.
inline int sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int error = ::fsync(fd) != 0 && errno != EINVAL ? errno : 0;
  ::close(fd);
  return error;
}

}  // namespace detail

// Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename. On
// any failure (full disk, file size limit, read-only directory) the temporary is removed and an
// existing file under `path` stays as it was. A killed process leaves its temporary behind:
// remove_temporaries(dir) clears those. With `fsync`, see save_options::fsync.
inline void write_file_atomically(const std::filesystem::path& path, const void* bytes, std::size_t size, bool fsync = false) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  // Appended piece by piece: "." + name + ... trips GCC 12's -Wrestrict false positive at -O3.
  std::string hidden = ".";
  hidden += path.filename().string();
  hidden += ".tmp-XXXXXX";
  // A remove_temporaries() of another process (a --resume beside a running job) may take the
  // temporary in the moment before it is locked or after it is closed: the rename then finds no
  // file, and the write is done again.
  for (int attempt = 1;; ++attempt) {
    std::string temp = (dir / hidden).string();
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
    if (fd < 0)
      raise(errc::io, "{}: cannot create a temporary file in {}: {}", path.string(), dir.string(), std::strerror(errno));
    // Locked while written: remove_temporaries() leaves a live process's temporary alone (the lock
    // dies with the process). Best effort: a file system without flock() just has no protection.
    (void)::flock(fd, LOCK_EX);
    int error = 0;
    for (std::size_t done = 0; done < size && error == 0;) {
      const ssize_t put = ::write(fd, static_cast<const char*>(bytes) + done, size - done);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0)
        error = put < 0 ? errno : EIO;
      else
        done += static_cast<std::size_t>(put);
    }
    // mkostemp creates 0600; a saved image is as readable as any file (set before fsync, so the
    // mode is on disk too).
    if (error == 0) (void)::fchmod(fd, 0644);
    if (error == 0 && fsync && ::fsync(fd) != 0) error = errno;
    // close() can report a deferred write error (NFS, quotas).
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error != 0) {
      ::unlink(temp.c_str());
      raise(errc::io, "{}: write failed: {}", path.string(), std::strerror(error));
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      const int e = errno;
      ::unlink(temp.c_str());
      if (e == ENOENT && attempt < 3) continue;
      raise(errc::io, "{}: cannot rename the temporary file into place: {}", path.string(), std::strerror(e));
    }
    break;
  }
  if (fsync) {
    if (const int e = detail::sync_directory(dir); e != 0)
      raise(errc::io, "{}: written, but syncing its directory {} failed: {}", path.string(), dir.string(), std::strerror(e));
  }
}

// Removes the temporary files (is_temporary_name) that killed runs left in `dir` (not in its
// subdirectories), and returns how many. A temporary still being written by a live process is
// locked and left alone. A missing `dir` has none; a file that cannot be removed is an
// errc::io naming it.
inline std::size_t remove_temporaries(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return 0;
  if (ec) raise(errc::io, "{}: cannot list the directory: {}", dir.string(), ec.message());
  std::size_t removed = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path p = it->path();
    std::error_code type_error;  // a file gone meanwhile: not a regular file
    if (!is_temporary_name(p.filename().string()) || !it->is_regular_file(type_error) || it->is_symlink(type_error)) continue;
    const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // renamed into place or removed meanwhile
      raise(errc::io, "{}: cannot open the temporary file to remove it: {}", p.string(), std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {  // being written
      ::close(fd);
      continue;
    }
    const int e = ::unlink(p.c_str()) == 0 ? 0 : errno;
    ::close(fd);
    if (e == ENOENT) continue;
    if (e != 0) raise(errc::io, "{}: cannot remove the temporary file: {}", p.string(), std::strerror(e));
    ++removed;
  }
  if (ec) raise(errc::io, "{}: cannot list the directory: {}", dir.string(), ec.message());
  return removed;
}

}  // namespace vbatch::inline v0::io
