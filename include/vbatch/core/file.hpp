#pragma once
// Reading whole files: the one file reader of the library (images, detections, camera files,
// /proc and /sys figures).
//
//   std::vector<unsigned char> jpeg = vbatch::read_file("pano_0001.jpg");   // throws errc::io naming the file
//   std::string text = vbatch::read_text_file("det.txt");
//
// Files are read to their end, not to the size the file system reports: /proc and /sys files
// report 0 bytes and still have content.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "vbatch/core/error.hpp"

namespace vbatch::inline v0 {

namespace detail {

// Replaces `out` by the whole content of `path`; on failure `out` is empty and the status names
// the file and the OS reason.
template <class Bytes>
status read_all(const std::filesystem::path& path, Bytes& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errc::io, "{}: cannot open: {}", path.string(), std::strerror(errno));
  // A directory opens, then fails to read with EISDIR; this message says what is wrong.
  struct stat st {};
  const bool known = ::fstat(fd, &st) == 0;
  if (known && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail(errc::io, "{}: is a directory, not a file", path.string());
  }
  // One allocation of the reported size (an 8K JPEG is a few MB), then read to the real end.
  if (known && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  constexpr std::size_t chunk = std::size_t{1} << 16;
  std::size_t size = 0;
  for (;;) {
    if (out.size() - size < chunk) out.resize(std::max(out.capacity(), size + chunk));
    const ssize_t got = ::read(fd, out.data() + size, out.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int e = errno;
      ::close(fd);
      out.clear();
      return fail(errc::io, "{}: read error: {}", path.string(), std::strerror(e));
    }
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  ::close(fd);
  out.resize(size);
  return status::success();
}

}  // namespace detail

// The bytes of a file. Throws vbatch::error (errc::io) naming the file and the OS reason.
inline std::vector<unsigned char> read_file(const std::filesystem::path& path) {
  std::vector<unsigned char> bytes;
  check(detail::read_all(path, bytes));
  return bytes;
}

// The same, as text (bytes unchanged: no line-end or encoding conversion).
inline std::string read_text_file(const std::filesystem::path& path) {
  std::string text;
  check(detail::read_all(path, text));
  return text;
}

}  // namespace vbatch::inline v0
