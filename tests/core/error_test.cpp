// Errors: the status layer, check/raise, and messages that carry the parameter values.

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;

TEST(Errc, EveryCodeHasADistinctName) {
  const vb::errc codes[] = {vb::errc::ok,           vb::errc::invalid_argument, vb::errc::limit_exceeded, vb::errc::io,
                            vb::errc::corrupt_data, vb::errc::out_of_memory,    vb::errc::unsupported,    vb::errc::cuda};
  std::set<std::string> names;
  for (vb::errc c : codes) {
    const std::string name = vb::to_string(c);
    EXPECT_FALSE(name.empty());
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), std::size(codes));
  EXPECT_STREQ(vb::to_string(static_cast<vb::errc>(999)), "unknown");
}

TEST(Status, SuccessIsTrueAndFailureIsFalse) {
  const vb::status ok = vb::status::success();
  EXPECT_TRUE(ok);
  EXPECT_EQ(ok.code, vb::errc::ok);
  EXPECT_TRUE(ok.message.empty());
  const vb::status bad = vb::fail(vb::errc::io, "x");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.code, vb::errc::io);
  static_assert(!std::is_convertible_v<vb::status, bool>, "status converts to bool only explicitly");
}

TEST(Fail, FormatsEveryArgumentIntoItsPlaceholder) {
  const vb::status s = vb::fail(vb::errc::invalid_argument, "{}: size {}x{} with fov {} deg", "camera", 640, -3, 92.5);
  EXPECT_EQ(s.code, vb::errc::invalid_argument);
  EXPECT_EQ(s.message, "camera: size 640x-3 with fov 92.5 deg");
}

TEST(Fail, PrintsBytesAsNumbersNotCharacters) {
  EXPECT_EQ(vb::fail(vb::errc::io, "byte {} and {}", vb::u8{7}, static_cast<signed char>(-2)).message, "byte 7 and -2");
}

TEST(Fail, KeepsTenSignificantDigitsAndSpecialValues) {
  EXPECT_EQ(vb::fail(vb::errc::io, "{}", 0.1234567891).message, "0.1234567891");
  EXPECT_EQ(vb::fail(vb::errc::io, "{}", 12345.678901).message, "12345.6789");
  const std::string nan = vb::fail(vb::errc::io, "{}", std::numeric_limits<double>::quiet_NaN()).message;
  EXPECT_NE(nan.find("nan"), std::string::npos) << nan;
  const std::string inf = vb::fail(vb::errc::io, "{}", -std::numeric_limits<double>::infinity()).message;
  EXPECT_NE(inf.find("inf"), std::string::npos) << inf;
}

TEST(Fail, LeavesSurplusPlaceholdersAndIgnoresSurplusArguments) {
  EXPECT_EQ(vb::fail(vb::errc::io, "a {} b {}", 1).message, "a 1 b {}");
  EXPECT_EQ(vb::fail(vb::errc::io, "a {}", 1, 2, 3).message, "a 1");
  EXPECT_EQ(vb::fail(vb::errc::io, "no holes").message, "no holes");
}

TEST(Raise, ThrowsAVbatchErrorThatIsARuntimeError) {
  static_assert(std::is_base_of_v<std::runtime_error, vb::error>);
  try {
    vb::raise(vb::errc::limit_exceeded, "{}: {} pixels over {}", "big.png", 1000000, 1000);
    FAIL() << "raise returned";
  } catch (const vb::error& e) {
    EXPECT_EQ(e.code(), vb::errc::limit_exceeded);
    EXPECT_STREQ(e.what(), "big.png: 1000000 pixels over 1000");
  }
}

TEST(Check, PassesSuccessAndThrowsTheFailureWithItsCodeAndMessage) {
  EXPECT_NO_THROW(vb::check(vb::status::success()));
  try {
    vb::check(vb::fail(vb::errc::unsupported, "feature {} on {}", "x", 3));
    FAIL() << "check did not throw";
  } catch (const vb::error& e) {
    EXPECT_EQ(e.code(), vb::errc::unsupported);
    EXPECT_STREQ(e.what(), "feature x on 3");
  }
}

TEST(Error, CarriesAnyCode) {
  const vb::error e(vb::errc::cuda, "launch failed");
  EXPECT_EQ(e.code(), vb::errc::cuda);
  EXPECT_STREQ(e.what(), "launch failed");
}

}  // namespace
