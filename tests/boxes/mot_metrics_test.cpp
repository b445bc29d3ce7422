// CLEAR-MOT and IDF1 against py-motmetrics: every case of tests/data/mot_metrics/reference.txt
// (made by make_reference.py there: SORT's and vbatch's tracks on the TUD ground truth that
// py-motmetrics ships, and seeded synthetic cases with swaps, misses, fragments and false
// positives) must give py-motmetrics' counts exactly and its ratios to 1e-9; and hand-made
// cases whose values follow from the definitions.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vbatch/boxes/mot_metrics.hpp"

namespace {

namespace vb = vbatch;
namespace fs = std::filesystem;

const fs::path data = fs::path(VBATCH_TEST_DATA_DIR) / "mot_metrics";

struct reference_case {
  std::string name, gt, hyp;
  std::map<std::string, double> values;
};

std::vector<reference_case> read_reference() {
  std::ifstream in(data / "reference.txt");
  std::vector<reference_case> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    reference_case c;
    words >> c.name;
    for (std::string w; words >> w;) {
      const std::size_t eq = w.find('=');
      const std::string key = w.substr(0, eq), value = w.substr(eq + 1);
      if (key == "gt")
        c.gt = value;
      else if (key == "hyp")
        c.hyp = value;
      else
        c.values[key] = value == "nan" ? std::nan("") : std::stod(value);
    }
    cases.push_back(c);
  }
  return cases;
}

std::map<std::string, double> as_map(const vb::boxes::mot_metrics& m) {
  return {{"num_frames", m.frames},
          {"num_objects", m.objects},
          {"num_predictions", m.predictions},
          {"num_matches", m.matches},
          {"num_switches", m.switches},
          {"num_misses", m.misses},
          {"num_false_positives", m.false_positives},
          {"num_fragmentations", m.fragmentations},
          {"mota", m.mota},
          {"motp", m.motp},
          {"idtp", m.idtp},
          {"idfp", m.idfp},
          {"idfn", m.idfn},
          {"idf1", m.idf1},
          {"idp", m.idp},
          {"idr", m.idr},
          {"num_unique_objects", m.unique_objects},
          {"mostly_tracked", m.mostly_tracked},
          {"mostly_lost", m.mostly_lost},
          {"partially_tracked", m.partially_tracked}};
}

TEST(MotMetrics, EqualPyMotmetrics) {
  const std::vector<reference_case> cases = read_reference();
  ASSERT_GE(cases.size(), 6u);
  int compared = 0;
  for (const reference_case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<vb::boxes::mot_record> gt = vb::boxes::read_mot_file(data / c.gt),
                                             hyp = vb::boxes::read_mot_file(data / c.hyp);
    const std::map<std::string, double> ours = as_map(vb::boxes::evaluate_mot(gt, hyp));
    ASSERT_EQ(ours.size(), c.values.size());
    for (const auto& [key, expected] : c.values) {
      ASSERT_TRUE(ours.count(key)) << key;
      EXPECT_NEAR(ours.at(key), expected, 1e-9) << key;
      ++compared;
    }
  }
  vbatch_test::record("mot_metrics_values_compared", compared);
}

vb::boxes::mot_record row(int frame, int id, double x, double y, double w, double h, float score = 1) {
  vb::boxes::mot_record r;
  r.frame = frame, r.id = id, r.score = score;
  r.box = {float(x), float(y), float(w), float(h)};
  r.exact = {x, y, w, h};
  return r;
}

// Two objects; the hypothesis swaps their ids at frame 3, misses object 1 at frame 4 (a
// fragment: it is paired again at 5), and adds a false positive at frame 2.
TEST(MotMetrics, HandMadeSwitchMissFragment) {
  std::vector<vb::boxes::mot_record> gt, hyp;
  for (int f = 1; f <= 5; ++f) {
    gt.push_back(row(f, 1, 0, 0, 10, 10));
    gt.push_back(row(f, 2, 100, 0, 10, 10));
    if (f != 4) hyp.push_back(row(f, f < 3 ? 7 : 8, 0, 0, 10, 10));
    hyp.push_back(row(f, f < 3 ? 8 : 7, 100, 0, 10, 10));
  }
  hyp.push_back(row(2, 9, 300, 300, 10, 10));
  gt.push_back(row(2, 3, 500, 500, 10, 10, 0));  // flagged out of the evaluation
  const vb::boxes::mot_metrics m = vb::boxes::evaluate_mot(gt, hyp);
  EXPECT_EQ(m.frames, 5);
  EXPECT_EQ(m.objects, 10);
  EXPECT_EQ(m.predictions, 10);
  EXPECT_EQ(m.switches, 2);  // both objects change hypothesis at frame 3
  EXPECT_EQ(m.misses, 1);
  EXPECT_EQ(m.false_positives, 1);
  EXPECT_EQ(m.fragmentations, 1);
  EXPECT_DOUBLE_EQ(m.mota, 1 - 4.0 / 10);
  EXPECT_DOUBLE_EQ(m.motp, 0);
  // Identity: object 1 with 7 (2 frames) or 8 (2 frames: 3 and 5); object 2 with 8 (2) or 7 (3).
  // Best one-to-one: 1-8 (2) + 2-7 (3) = 5.
  EXPECT_EQ(m.idtp, 5);
  EXPECT_DOUBLE_EQ(m.idf1, 2 * 5.0 / 20);
}

TEST(MotMetrics, EmptyAndBadInputs) {
  const vb::boxes::mot_metrics none = vb::boxes::evaluate_mot({}, {});
  EXPECT_EQ(none.frames, 0);
  EXPECT_TRUE(std::isnan(none.mota) || none.mota == 1);  // 1 - 0/0
  const std::vector<vb::boxes::mot_record> twice = {row(1, 4, 0, 0, 1, 1), row(1, 4, 5, 5, 1, 1)};
  EXPECT_TRUE(vbatch_test::throws_error([&] { vb::boxes::evaluate_mot(twice, {}); }, vb::errc::invalid_argument,
                                        {"frame 1", "truth id 4 twice"}));
  EXPECT_TRUE(vbatch_test::throws_error([] { vb::boxes::mot_accumulator a({.max_distance = 2}); }, vb::errc::invalid_argument,
                                        {"max_distance 2"}));
}

}  // namespace
