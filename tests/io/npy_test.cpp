// .npy files against the NumPy format's definition (version 1.0): the header written out by hand
// for two shapes, the data offset a multiple of 64, the floats after it bit for bit; a size that
// does not match is an error, and a failed write leaves no file.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/core/file.hpp"
#include "vbatch/io/npy.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::throws_error;

std::string header_of(const std::string& dict) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\0';
  out += char(h.size() % 256);
  out += char(h.size() / 256);
  return out + h;
}

TEST(Npy, HeaderAndDataFollowTheFormat) {
  const std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, 7.0f};
  const std::string bytes = vb::io::npy_bytes(v, 2, 3);
  const std::string header = header_of("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  ASSERT_EQ(bytes.size(), header.size() + v.size() * 4);
  EXPECT_EQ(bytes.substr(0, header.size()), header);
  EXPECT_EQ(header.size() % 64, 0u);
  EXPECT_EQ(std::memcmp(bytes.data() + header.size(), v.data(), v.size() * 4), 0);

  const std::string empty = vb::io::npy_bytes({}, 0, 128);
  EXPECT_EQ(empty, header_of("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 128), }"));
}

TEST(Npy, SavedFileHoldsTheBytesAndBadInputsLeaveNothing) {
  const auto dir = std::filesystem::temp_directory_path() / "vbatch_npy_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<float> v(10 * 4, 0.25f);
  vb::io::save_npy(dir / "e.npy", v, 10, 4);
  const std::vector<unsigned char> saved = vb::read_file(dir / "e.npy");
  EXPECT_EQ(std::string(saved.begin(), saved.end()), vb::io::npy_bytes(v, 10, 4));
  EXPECT_TRUE(
      throws_error([&] { vb::io::save_npy(dir / "bad.npy", v, 3, 4); }, vb::errc::invalid_argument, {"40 values", "3x4"}));
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.npy"));
  EXPECT_TRUE(throws_error([&] { vb::io::save_npy(dir / "missing" / "e.npy", v, 10, 4); }, vb::errc::io, {"e.npy"}));
  std::filesystem::remove_all(dir);
}

}  // namespace
