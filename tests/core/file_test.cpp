// read_file and read_text_file: whole files byte for byte, /proc files that report size 0, and
// errors that name the file and the OS reason.

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/core/file.hpp"
#include "vbatch/core/memory.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::throws_error;

TEST(ReadFile, MissingFileNamesTheFileAndTheReason) {
  vbatch_test::temp_dir dir;
  EXPECT_TRUE(throws_error([&] { (void)vb::read_file(dir / "missing.bin"); }, vb::errc::io,
                           {"missing.bin", "cannot open", std::strerror(ENOENT)}));
  EXPECT_TRUE(throws_error([&] { (void)vb::read_text_file(dir / "missing.txt"); }, vb::errc::io, {"missing.txt", "cannot open"}));
}

TEST(ReadFile, DirectoryIsAnErrorNamingIt) {
  vbatch_test::temp_dir dir;
  EXPECT_TRUE(throws_error([&] { (void)vb::read_file(dir.path()); }, vb::errc::io, {dir.path().string(), "is a directory"}));
}

TEST(ReadFile, BinaryBytesRoundTrip) {
  vbatch_test::temp_dir dir;
  // Every byte value, NULs and "\r\n" included, over more than one read chunk (64 KiB).
  std::vector<unsigned char> bytes((std::size_t{1} << 16) * 3 + 17);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>((i * 131 + i / 256) % 256);
  vbatch_test::write_bytes(dir / "all.bin", bytes);
  EXPECT_EQ(vb::read_file(dir / "all.bin"), bytes);
  const std::string text = vb::read_text_file(dir / "all.bin");
  EXPECT_EQ(std::vector<unsigned char>(text.begin(), text.end()), bytes);
}

TEST(ReadFile, EmptyFileIsEmpty) {
  vbatch_test::temp_dir dir;
  vbatch_test::write_bytes(dir / "empty", {});
  EXPECT_TRUE(vb::read_file(dir / "empty").empty());
}

// /proc files report a size of 0: reading must go on to the end of the content.
TEST(ReadFile, ProcFileReadsToItsEnd) {
  const std::string status = vb::read_text_file("/proc/self/status");
  EXPECT_NE(status.find("Name:"), std::string::npos) << status;
  EXPECT_NE(status.find("VmPeak:"), std::string::npos) << "cut short: " << status;
  EXPECT_NE(vb::read_text_file("/proc/meminfo").find("MemTotal:"), std::string::npos);
}

// The memory figures read optional cgroup files: one that does not exist reads as no text.
TEST(ReadFile, SystemFigureOfAMissingFileIsEmpty) {
  vbatch_test::temp_dir dir;
  EXPECT_EQ(vb::detail::read_text((dir / "memory.max").string()), "");
  EXPECT_NE(vb::detail::read_text("/proc/meminfo").find("MemAvailable:"), std::string::npos);
}

}  // namespace
