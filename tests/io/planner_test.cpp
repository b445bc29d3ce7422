// The access planner on a counting source: requests in any order with duplicates and
// out-of-range indices; each distinct frame served once, in increasing order, in a single forward
// pass that decodes nothing nobody asked for; errors name the out-of-range requests.

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/io/planner.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::throws_error;

// A source of `frames` tiny frames that records what it decoded, and fails if asked to go back.
class counting_source {
 public:
  counting_source(std::int64_t frames, bool size_known) : frames_(frames), known_(size_known), pixels_({1, 1, 1, 1}) {}
  std::optional<std::int64_t> size() const { return known_ ? std::optional(frames_) : std::nullopt; }
  std::int64_t position() const { return position_; }
  std::int64_t skip(std::int64_t n) {
    const std::int64_t moved = std::clamp<std::int64_t>(n, 0, frames_ - position_);
    position_ += moved;
    skipped += moved;
    return moved;
  }
  std::optional<vb::io::frame_view> next() {
    if (position_ >= frames_) return std::nullopt;
    decoded.push_back(position_);
    pixels_.data()[0] = static_cast<vb::u8>(position_);
    return vb::io::frame_view{position_++, pixels_.view()};
  }
  std::vector<std::int64_t> decoded;
  std::int64_t skipped = 0;

 private:
  std::int64_t frames_, position_ = 0;
  bool known_;
  vb::batch_buffer<vb::u8> pixels_;
};

TEST(FramePlan, ServesEachRequestedFrameOnceInOrderForRandomRequests) {
  std::mt19937 rng(12);
  for (int trial = 0; trial < 40; ++trial) {
    const std::int64_t frames = 1 + rng() % 300;
    const bool known = trial % 2 == 0;
    vb::io::frame_plan<int> plan;
    std::map<std::int64_t, std::vector<int>> expected;
    std::set<std::int64_t> out;
    const int requests = int(rng() % 60);
    std::vector<std::int64_t> added;
    for (int k = 0; k < requests; ++k) {
      std::int64_t f = std::int64_t(rng() % std::uint32_t(frames + 20)) - 5;  // some negative, some past the end
      if (!added.empty() && rng() % 4 == 0) f = added[rng() % added.size()];  // a duplicate
      added.push_back(f);
      plan.add(f, k);
      if (f < 0 || f >= frames)
        out.insert(f);
      else
        expected[f].push_back(k);
    }
    SCOPED_TRACE(vb::detail::format("{} frames ({}), {} requests", frames, known ? "size known" : "size unknown", requests));
    counting_source source(frames, known);
    std::vector<std::int64_t> order;
    const vb::io::plan_report r = plan.run(source, [&](const vb::io::frame_view& f, std::span<const int> actions) {
      order.push_back(f.index);
      EXPECT_EQ(f.pixels.data[0], static_cast<vb::u8>(f.index));
      EXPECT_EQ(std::vector<int>(actions.begin(), actions.end()), expected[f.index]) << "frame " << f.index;
    });
    std::vector<std::int64_t> want;
    for (const auto& [f, actions] : expected) want.push_back(f);
    EXPECT_EQ(order, want);
    EXPECT_EQ(source.decoded, want) << "decoded a frame nobody asked for, or one twice";
    EXPECT_EQ(r.out_of_range, std::vector<std::int64_t>(out.begin(), out.end()));
    EXPECT_EQ(r.requests, std::size_t(requests));
    EXPECT_EQ(r.served, want.size());
    EXPECT_EQ(r.frames_read + r.frames_skipped, source.position());
    EXPECT_EQ(r.ok(), out.empty());
    // The pass stops after the last frame it can serve, or at the end when it must find the end.
    const bool past_end = !out.empty() && *out.rbegin() >= frames;
    EXPECT_EQ(source.position(), !known && past_end ? frames : want.empty() ? 0 : want.back() + 1);
  }
}

TEST(FramePlan, OutOfRangeRequestsOfAKnownSizeAreKnownBeforeThePass) {
  vb::io::frame_plan<std::string> plan;
  plan.add(5, "x");
  plan.add(100, "y");
  plan.add(-1, "z");
  EXPECT_EQ(plan.out_of_range(50), (std::vector<std::int64_t>{-1, 100}));
  counting_source source(50, true);
  const vb::io::plan_report r = plan.run(source, [](const vb::io::frame_view&, std::span<const std::string>) {});
  EXPECT_EQ(source.decoded, (std::vector<std::int64_t>{5}));
  EXPECT_EQ(source.position(), 6) << "no need to read to the end when the size is known";
  EXPECT_EQ(r.out_of_range, (std::vector<std::int64_t>{-1, 100}));
  EXPECT_TRUE(throws_error([&] { r.throw_if_out_of_range("frames/"); }, vb::errc::invalid_argument,
                           {"frames -1, 100", "frames/ has 50 frames (0..49)"}));
}

TEST(FramePlan, AnEmptyPlanReadsNothing) {
  vb::io::frame_plan<int> plan;
  counting_source source(10, false);
  const vb::io::plan_report r = plan.run(source, [](const vb::io::frame_view&, std::span<const int>) { FAIL(); });
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(source.position(), 0);
  EXPECT_EQ(plan.last(), -1);
}

TEST(FramePlan, ManyOutOfRangeRequestsAreSummarised) {
  vb::io::plan_report r;
  for (int i = 0; i < 30; ++i) r.out_of_range.push_back(100 + i);
  r.source_frames = 100;
  const std::string m = r.describe_out_of_range("v.mp4");
  EXPECT_NE(m.find("and 10 more"), std::string::npos) << m;
  EXPECT_NE(m.find("v.mp4 has 100 frames"), std::string::npos) << m;
}

}  // namespace
