// Assignment: the optimal solver's objective against brute force over every partial matching of
// small random matrices (square and rectangular, with forbidden entries, tied costs and gates);
// the greedy rule; validity of every result; the checks.

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

namespace vb = vbatch;
using vbatch_test::throws_error;

constexpr float inf = std::numeric_limits<float>::infinity();

struct matrix {
  int rows, cols;
  std::vector<float> costs;
  float operator()(int r, int c) const { return costs[std::size_t(r) * cols + c]; }
};

bool allowed(float c, float gate) { return c <= gate && c < inf; }

// The objective the solver promises, as (pairs, value): with a finite gate, value = Σ (cost - gate)
// and pairs does not matter; without one, more pairs first, then the least Σ cost.
struct objective {
  int pairs = 0;
  double value = 0;
};

objective score(const matrix& m, const std::vector<int>& row_to_col, float gate) {
  objective o;
  for (int r = 0; r < m.rows; ++r)
    if (row_to_col[r] >= 0) ++o.pairs, o.value += double(m(r, row_to_col[r])) - (std::isinf(gate) ? 0.0 : double(gate));
  return o;
}

bool better(const objective& a, const objective& b, bool gated) {
  if (gated) return a.value < b.value - 1e-9;
  if (a.pairs != b.pairs) return a.pairs > b.pairs;
  return a.value < b.value - 1e-9;
}

// Every partial matching of allowed pairs, recursively over rows.
objective brute_force(const matrix& m, float gate) {
  const bool gated = !std::isinf(gate);
  objective best;
  std::vector<int> row_to_col(m.rows, -1);
  std::vector<char> used(m.cols, 0);
  std::function<void(int)> go = [&](int r) {
    if (r == m.rows) {
      const objective o = score(m, row_to_col, gate);
      if (better(o, best, gated)) best = o;
      return;
    }
    go(r + 1);  // row r unassigned
    for (int c = 0; c < m.cols; ++c)
      if (!used[c] && allowed(m(r, c), gate)) {
        used[c] = 1, row_to_col[r] = c;
        go(r + 1);
        used[c] = 0, row_to_col[r] = -1;
      }
  };
  go(0);
  return best;
}

::testing::AssertionResult valid(const matrix& m, const vb::boxes::assignment& a, float gate) {
  if (a.rows() != m.rows || a.cols() != m.cols) return ::testing::AssertionFailure() << "wrong sizes";
  int pairs = 0;
  double cost = 0;
  for (int r = 0; r < m.rows; ++r) {
    const int c = a.row_to_col[r];
    if (c < 0) continue;
    if (c >= m.cols || a.col_to_row[c] != r)
      return ::testing::AssertionFailure() << "row " << r << " and column " << c << " disagree";
    if (!allowed(m(r, c), gate)) return ::testing::AssertionFailure() << "pair (" << r << ", " << c << ") is not allowed";
    ++pairs, cost += m(r, c);
  }
  for (int c = 0; c < m.cols; ++c)
    if (a.col_to_row[c] >= 0 && a.row_to_col[a.col_to_row[c]] != c) return ::testing::AssertionFailure() << "column " << c;
  if (pairs != a.pairs) return ::testing::AssertionFailure() << "pairs " << a.pairs << " but " << pairs << " assigned";
  if (std::fabs(cost - a.cost) > 1e-9) return ::testing::AssertionFailure() << "cost " << a.cost << " but " << cost;
  return ::testing::AssertionSuccess();
}

matrix random_matrix(int rows, int cols, std::mt19937& rng, double forbidden, bool ties) {
  std::uniform_real_distribution<float> u(0, 1);
  matrix m{rows, cols, {}};
  for (int k = 0; k < rows * cols; ++k) {
    float c = ties ? std::round(u(rng) * 4) / 4 : u(rng);
    if (u(rng) < forbidden) c = u(rng) < 0.5f ? inf : NAN;
    m.costs.push_back(c);
  }
  return m;
}

TEST(Assign, OptimalEqualsBruteForceOnSmallRandomMatrices) {
  std::mt19937 rng(42);
  int cases = 0;
  for (int rows = 0; rows <= 5; ++rows)
    for (int cols = 0; cols <= 5; ++cols)
      for (int trial = 0; trial < 12; ++trial) {
        const bool ties = trial % 3 == 0;
        const double forbidden = trial % 4 == 0 ? 0.0 : 0.3;
        const matrix m = random_matrix(rows, cols, rng, forbidden, ties);
        for (const float gate : {inf, 0.6f, 0.25f}) {
          const vb::boxes::assignment a = vb::boxes::assign_optimal(m.costs, rows, cols, gate);
          ASSERT_TRUE(valid(m, a, gate)) << rows << "x" << cols << " trial " << trial << " gate " << gate;
          const objective got = score(m, a.row_to_col, gate), want = brute_force(m, gate);
          if (std::isinf(gate)) {
            ASSERT_EQ(got.pairs, want.pairs) << rows << "x" << cols << " trial " << trial;
          }
          ASSERT_NEAR(got.value, want.value, 1e-6) << rows << "x" << cols << " trial " << trial << " gate " << gate;
          ++cases;
        }
      }
  vbatch_test::record("assignment_brute_force_cases", cases);
}

TEST(Assign, ClassicSquareExample) {
  // min over permutations of [[4,1,3],[2,0,5],[3,2,2]]: 1 + 2 + 2 = 5 (rows 0-1, 1-0, 2-2).
  const std::vector<float> c{4, 1, 3, 2, 0, 5, 3, 2, 2};
  const vb::boxes::assignment a = vb::boxes::assign_optimal(c, 3, 3);
  EXPECT_EQ(a.row_to_col, (std::vector<int>{1, 0, 2}));
  EXPECT_EQ(a.cost, 5.0);
  EXPECT_EQ(a.pairs, 3);
}

TEST(Assign, RectangularMatricesAssignTheSmallerSide) {
  // 2 rows, 4 columns: each row takes its cheapest distinct column.
  const std::vector<float> wide{9, 1, 8, 7, 9, 2, 8, 1};
  const vb::boxes::assignment a = vb::boxes::assign_optimal(wide, 2, 4);
  EXPECT_EQ(a.row_to_col, (std::vector<int>{1, 3}));
  EXPECT_EQ(a.col_to_row, (std::vector<int>{-1, 0, -1, 1}));
  // The transpose: 4 rows, 2 columns.
  const std::vector<float> tall{9, 9, 1, 2, 8, 8, 7, 1};
  const vb::boxes::assignment b = vb::boxes::assign_optimal(tall, 4, 2);
  EXPECT_EQ(b.row_to_col, (std::vector<int>{-1, 0, -1, 1}));
  EXPECT_EQ(b.cost, 2.0);
}

TEST(Assign, TheGateLeavesExpensivePairsUnassigned) {
  // Without a gate both rows are assigned (1 + 9); with max_cost 5 the (1, 1) pair is refused.
  const std::vector<float> c{1, 9, 9, 9};
  EXPECT_EQ(vb::boxes::assign_optimal(c, 2, 2).pairs, 2);
  const vb::boxes::assignment g = vb::boxes::assign_optimal(c, 2, 2, 5.0f);
  EXPECT_EQ(g.row_to_col, (std::vector<int>{0, -1}));
  EXPECT_EQ(g.cost, 1.0);
  // The gate prefers one good pair to two mediocre ones: (0.1) beats (0.55 + 0.55) under max_cost 0.6,
  // while without a gate two pairs win.
  const std::vector<float> d{0.1f, 0.55f, 0.55f, inf};
  EXPECT_EQ(vb::boxes::assign_optimal(d, 2, 2, 0.6f).row_to_col, (std::vector<int>{0, -1}));
  EXPECT_EQ(vb::boxes::assign_optimal(d, 2, 2).row_to_col, (std::vector<int>{1, 0}));
  // Nothing allowed: nothing assigned.
  EXPECT_EQ(vb::boxes::assign_optimal(c, 2, 2, 0.5f).pairs, 0);
}

TEST(Assign, GreedyTakesCheapestPairsFirst) {
  // Greedy takes (0,0) = 1 first and is left with (1,1) = 9: total 10, where optimal finds 2 + 2.
  const std::vector<float> c{1, 2, 2, 9};
  const vb::boxes::assignment g = vb::boxes::assign_greedy(c, 2, 2);
  EXPECT_EQ(g.row_to_col, (std::vector<int>{0, 1}));
  EXPECT_EQ(g.cost, 10.0);
  EXPECT_EQ(vb::boxes::assign_optimal(c, 2, 2).cost, 4.0);
  // Ties: lower row, then lower column.
  const std::vector<float> t{1, 1, 1, 1};
  EXPECT_EQ(vb::boxes::assign_greedy(t, 2, 2).row_to_col, (std::vector<int>{0, 1}));
  // The gate and forbidden pairs.
  const std::vector<float> f{NAN, 3, 0.5f, inf};
  EXPECT_EQ(vb::boxes::assign_greedy(f, 2, 2, 1.0f).row_to_col, (std::vector<int>{-1, 0}));
  EXPECT_EQ(vb::boxes::assign_greedy(f, 2, 2).row_to_col, (std::vector<int>{1, 0}));
}

TEST(Assign, GreedyIsValidAndNeverBetterThanOptimal) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int rows = 1 + trial % 6, cols = 1 + (trial / 6) % 6;
    const matrix m = random_matrix(rows, cols, rng, 0.2, trial % 2 == 0);
    const float gate = trial % 3 == 0 ? inf : 0.7f;
    const vb::boxes::assignment g = vb::boxes::assign_greedy(m.costs, rows, cols, gate),
                                o = vb::boxes::assign_optimal(m.costs, rows, cols, gate);
    ASSERT_TRUE(valid(m, g, gate));
    ASSERT_FALSE(better(score(m, g.row_to_col, gate), score(m, o.row_to_col, gate), !std::isinf(gate))) << trial;
  }
}

TEST(Assign, LargerMatricesStayValidAndDeterministic) {
  std::mt19937 rng(3);
  const matrix m = random_matrix(120, 150, rng, 0.5, false);
  const vb::boxes::assignment a = vb::boxes::assign_optimal(m.costs, 120, 150, 0.8f),
                              b = vb::boxes::assign_optimal(m.costs, 120, 150, 0.8f);
  EXPECT_TRUE(valid(m, a, 0.8f));
  EXPECT_EQ(a.row_to_col, b.row_to_col);
  EXPECT_GT(a.pairs, 90);
}

TEST(Assign, StridedCostViews) {
  // A 2 x 3 cost matrix as channel 1 of a 2 x 3 x 2 buffer.
  std::vector<float> storage{0, 5, 0, 1, 0, 7, 0, 2, 0, 6, 0, 9};
  vb::batch_view<const float> v = vb::batch_view<const float>::dense(storage.data(), {1, 2, 3, 2});
  v.data += 1, v.c = 1;
  const vb::boxes::assignment a = vb::boxes::assign_optimal(v);
  EXPECT_EQ(a.row_to_col, (std::vector<int>{1, 0}));  // 1 + 2 = 3 beats 5 + 6 or any other
  EXPECT_EQ(a.cost, 3.0);
}

TEST(Assign, ChecksNameTheProblem) {
  const std::vector<float> c{1, 2, 3, 4};
  EXPECT_TRUE(
      throws_error([&] { vb::boxes::assign_optimal(c, 3, 2); }, vb::errc::invalid_argument, {"4 costs for a 3 x 2 matrix"}));
  EXPECT_TRUE(throws_error([&] { vb::boxes::assign_optimal(c, 2, 2, NAN); }, vb::errc::invalid_argument, {"max_cost is NaN"}));
  const std::vector<float> minus{1, -inf, 3, 4};
  EXPECT_TRUE(throws_error([&] { vb::boxes::assign_greedy(minus, 2, 2); }, vb::errc::invalid_argument, {"cost (0, 1) is -inf"}));
  EXPECT_TRUE(throws_error(
      [&] {
        vb::boxes::assign_optimal(vb::batch_view<const float>::dense(c.data(), {2, 1, 2, 1}));
      },
      vb::errc::invalid_argument, {"one R x C matrix"}));
}

}  // namespace

namespace {

// linear_sum_assignment gives scipy's answer, ties included: 400 tie-heavy matrices (0-7 rows and
// columns; costs from {0, -0.25, -0.5}, mostly zeros, {0, 1}, or two decimals) with scipy 1.17.1's
// answers in tests/data/lsap/scipy_cases.txt. A solver that breaks ties otherwise fails here.
TEST(Assign, LinearSumAssignmentBreaksTiesAsScipy) {
  std::ifstream in(std::string(VBATCH_TEST_DATA_DIR) + "/lsap/scipy_cases.txt");
  ASSERT_TRUE(in) << "tests/data/lsap/scipy_cases.txt";
  int cases = 0, ties = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    int rows = 0, cols = 0;
    words >> rows >> cols;
    std::vector<double> costs(std::size_t(rows) * cols);
    for (double& c : costs) words >> c;
    std::string bar;
    words >> bar;
    std::vector<int> expected(rows);
    for (int& c : expected) words >> c;
    const vbatch::boxes::assignment a = vbatch::boxes::linear_sum_assignment(costs, rows, cols);
    EXPECT_EQ(a.row_to_col, expected) << line;
    EXPECT_EQ(a.pairs, std::min(rows, cols));
    // How many of these cases another optimal answer exists for (assign_optimal's may differ).
    const vbatch::boxes::assignment b = vbatch::boxes::assign_optimal(std::span<const double>(costs), rows, cols);
    ties += b.row_to_col != expected;
    ++cases;
  }
  EXPECT_EQ(cases, 400);
  vbatch_test::record("lsap_cases_with_other_optima", ties);
}

}  // namespace
