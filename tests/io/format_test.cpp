// vbatch/io/format.hpp's crash-safety parts: write_file_atomically with fsync, the temporaries a
// killed run leaves (is_temporary_name, remove_temporaries), and a live writer's temporary kept.
// (Formats by extension and the atomic-save guarantees are in image_io_test.cpp.)

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/format.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;
using vbatch_test::read_bytes;
using vbatch_test::temp_dir;
using vbatch_test::throws_error;
using vbatch_test::write_bytes;

TEST(Format, FsyncWritesTheSameBytes) {
  temp_dir dir;
  std::vector<unsigned char> bytes(100000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 7 + 3);
  vb::io::write_file_atomically(dir / "plain.bin", bytes.data(), bytes.size());
  vb::io::write_file_atomically(dir / "synced.bin", bytes.data(), bytes.size(), /*fsync*/ true);
  vb::io::write_file_atomically(dir / "empty.bin", bytes.data(), 0, /*fsync*/ true);
  EXPECT_EQ(read_bytes(dir / "synced.bin"), bytes);
  EXPECT_EQ(read_bytes(dir / "synced.bin"), read_bytes(dir / "plain.bin"));
  EXPECT_EQ(fs::file_size(dir / "empty.bin"), 0u);
  EXPECT_EQ(fs::status(dir / "synced.bin").permissions() & fs::perms::all, fs::perms(0644));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"empty.bin", "plain.bin", "synced.bin"}));
}

TEST(Format, FsyncReplacesAnExistingFile) {
  temp_dir dir;
  const std::vector<unsigned char> old_bytes = {1, 2, 3}, new_bytes = {9, 8};
  write_bytes(dir / "f.bin", old_bytes);
  vb::io::write_file_atomically(dir / "f.bin", new_bytes.data(), new_bytes.size(), true);
  EXPECT_EQ(read_bytes(dir / "f.bin"), new_bytes);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"f.bin"});
}

TEST(Format, FsyncIntoAMissingDirectoryNamesTheFile) {
  temp_dir dir;
  const unsigned char b = 0;
  EXPECT_TRUE(throws_error([&] { vb::io::write_file_atomically(dir / "no" / "f.bin", &b, 1, true); }, vb::errc::io, {"f.bin"}));
}

TEST(Format, TemporaryNamesAreExactlyThoseOfWriteFileAtomically) {
  for (const char* name : {".view_x.jpg.tmp-AbC123", ".a.tmp-000000", ".frame_00001_cam_00.png.tmp-zzzzzz"})
    EXPECT_TRUE(vb::io::is_temporary_name(name)) << name;
  for (const char* name : {
           "a.tmp-123456",  // no leading dot
           ".tmp-123456",
           "..tmp-abc123",             // no file name
           ".hidden.tmp-notsixchars",  // longer than six
           ".hidden.tmp-12345",        // shorter
           ".hidden.tmp-1234567",      // longer
           ".hidden.tmp-12_456",       // not a letter or digit
           ".hidden.tmp-12.456",
           ".hidden.TMP-123456",      // the tag is lower case
           ".hidden.tmp123456",       // no dash
           ".hidden.tmp-123456.jpg",  // an extension after it
           ".hidden",
           "",
           ".",
           "view.jpg",
       })
    EXPECT_FALSE(vb::io::is_temporary_name(name)) << name;
  // Six letters are six characters: a file of one's own named so cannot be told from a temporary.
  EXPECT_TRUE(vb::io::is_temporary_name(".hidden.tmp-notsix"));
}

// The temporary that write_file_atomically makes, under `dir` with mkostemp's random part.
fs::path plant_temporary(const fs::path& dir, const std::string& target) {
  std::string name = (dir / ("." + target + ".tmp-XXXXXX")).string();
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, "half", 4), 4);
  ::close(fd);
  return name;
}

TEST(Format, RemoveTemporariesRemovesOnlyTemporaries) {
  temp_dir dir;
  const std::vector<unsigned char> some = {1, 2, 3};
  const std::vector<std::string> kept = {"a.tmp-123456", ".hidden.tmp-12345", "view.jpg", ".hidden", "sub"};
  for (const std::string& name : kept)
    if (name != "sub") write_bytes(dir / name, some);
  fs::create_directory(dir / "sub");
  const fs::path nested = plant_temporary(dir / "sub", "x.jpg");  // not recursive
  plant_temporary(dir.path(), "view.jpg");
  plant_temporary(dir.path(), "view.jpg");
  plant_temporary(dir.path(), "other.png");
  write_bytes(dir / ".by_hand.jpg.tmp-AbC123", some);
  fs::create_directory(dir / ".dir.tmp-123456");  // a directory is never a temporary
  fs::create_symlink(dir / "view.jpg", dir / ".link.tmp-123456");

  EXPECT_EQ(vb::io::remove_temporaries(dir.path()), 4u);
  std::vector<std::string> want = kept;
  want.insert(want.end(), {".dir.tmp-123456", ".link.tmp-123456"});
  std::sort(want.begin(), want.end());
  EXPECT_EQ(dir.entries(), want);
  EXPECT_TRUE(fs::exists(nested));
  EXPECT_EQ(read_bytes(dir / "view.jpg"), some);
  EXPECT_EQ(vb::io::remove_temporaries(dir.path()), 0u);
}

TEST(Format, RemoveTemporariesLeavesALiveWritersTemporary) {
  temp_dir dir;
  const fs::path live = plant_temporary(dir.path(), "live.jpg");
  // Locked as write_file_atomically locks it while writing: a running process's file.
  const int fd = ::open(live.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  EXPECT_EQ(vb::io::remove_temporaries(dir.path()), 0u);
  EXPECT_TRUE(fs::exists(live));
  ::close(fd);  // the writer died: the lock went with it
  EXPECT_EQ(vb::io::remove_temporaries(dir.path()), 1u);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{});
}

TEST(Format, RemoveTemporariesOfAMissingDirectoryOrAFile) {
  temp_dir dir;
  EXPECT_EQ(vb::io::remove_temporaries(dir / "missing"), 0u);
  const std::vector<unsigned char> some = {1};
  write_bytes(dir / "file", some);
  EXPECT_TRUE(throws_error([&] { (void)vb::io::remove_temporaries(dir / "file"); }, vb::errc::io, {"file", "cannot list"}));
}

TEST(Format, RemoveTemporariesNamesATemporaryItCannotRemove) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  temp_dir dir;
  plant_temporary(dir.path(), "x.jpg");
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_TRUE(
      throws_error([&] { (void)vb::io::remove_temporaries(dir.path()); }, vb::errc::io, {".x.jpg.tmp-", "cannot remove"}));
}

}  // namespace
