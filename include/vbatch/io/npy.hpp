#pragma once
// Matrices as NumPy .npy files (format version 1.0), the form embeddings are exchanged in:
// numpy.load("embeddings.npy") gives a float32 array of shape (rows, cols).
//
//   vbatch::io::save_npy("out/embeddings.npy", values, rows, cols);   // atomically
//
// The header is the magic "\x93NUMPY", version 1.0, a little-endian 16-bit header length and the
// dictionary {'descr': '<f4', 'fortran_order': False, 'shape': (rows, cols), } padded with spaces
// and a newline so the data starts at a multiple of 64 bytes; then the rows, C order.

#include <bit>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "vbatch/core/error.hpp"
#include "vbatch/io/format.hpp"

namespace vbatch::inline v0::io {

// The bytes of a .npy file holding `values` as a (rows, cols) float32 matrix.
inline std::string npy_bytes(std::span<const float> values, std::int64_t rows, std::int64_t cols) {
  static_assert(std::endian::native == std::endian::little, "npy_bytes writes the machine's floats as '<f4'");
  if (rows < 0 || cols < 0 || std::uint64_t(rows) * std::uint64_t(cols) != values.size())
    raise(errc::invalid_argument, "npy: {} values for a {}x{} (rows,cols) matrix", values.size(), rows, cols);
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  constexpr std::size_t preamble = 10;  // magic (6), version (2), header length (2)
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size_bytes());
  return bytes;
}

// Writes the .npy file atomically (write_file_atomically): a failed write leaves no file; with
// `fsync`, a written file survives a power cut (save_options::fsync).
inline void save_npy(const std::filesystem::path& path, std::span<const float> values, std::int64_t rows, std::int64_t cols,
                     bool fsync = false) {
  const std::string bytes = npy_bytes(values, rows, cols);
  write_file_atomically(path, bytes.data(), bytes.size(), fsync);
}

}  // namespace vbatch::inline v0::io
