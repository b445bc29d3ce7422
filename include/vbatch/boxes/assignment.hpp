#pragma once
// Assignment of rows to columns of a cost matrix (tracks to detections): optimal and greedy,
// rectangular, with a gate.
//
//   vbatch::boxes::assignment a = vbatch::boxes::assign_optimal(costs /*(1,R,C,1)*/, /*max_cost*/ 0.7f);
//   for (int r = 0; r < a.rows(); ++r) if (a.row_to_col[r] >= 0) { ... }
//
// A pair (r, c) is allowed when its cost is a number no greater than max_cost; +inf and NaN mark
// pairs that may never be assigned. Each row and each column takes part in at most one pair.
//
// - assign_optimal minimises the sum over assigned pairs of (cost - max_cost): a pair is worth
//   assigning by how far it is below the gate, and leaving a row unassigned costs nothing (the
//   `cost_limit` of the lapjv solvers ByteTrack uses). With max_cost = +inf (no gate) that limit
//   becomes: as many pairs as possible, then the least total cost — for a matrix with no forbidden
//   pair, the classical rectangular linear assignment (scipy's linear_sum_assignment).
//   Algorithm: the matrix splits into independent blocks of rows and columns linked by allowed
//   pairs (union-find; a tracker's matrices are mostly 1×1 blocks); each block is solved by
//   successive shortest augmenting paths with row and column potentials (the Jonker–Volgenant
//   family, a dense Dijkstra per row), O(R² C) in the worst case, in double precision. A pair
//   whose cost is exactly max_cost adds nothing and may go either way.
// - assign_greedy takes allowed pairs by increasing cost (ties: lower row, then lower column)
//   while both ends are free: fast, not optimal.
//
// Both are deterministic: the same matrix always gives the same pairs.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/core/view.hpp"

namespace vbatch::inline v0::boxes {

struct assignment {
  std::vector<int> row_to_col;  // -1: row unassigned
  std::vector<int> col_to_row;  // -1: column unassigned
  double cost = 0;              // sum of the assigned pairs' costs
  int pairs = 0;                // number of assigned pairs

  int rows() const { return static_cast<int>(row_to_col.size()); }
  int cols() const { return static_cast<int>(col_to_row.size()); }
};

namespace detail {
inline status can_assign_costs(const batch_view<const float>& costs, float max_cost) {
  if (auto s = can_access(costs, "assignment costs"); !s) return s;
  if (costs.n != 1 || costs.c != 1)
    return fail(errc::invalid_argument, "assignment: costs must be one R x C matrix (1,R,C,1), got {}x{}x{}x{}", costs.n, costs.h,
                costs.w, costs.c);
  if (std::isnan(max_cost)) return fail(errc::invalid_argument, "assignment: max_cost is NaN");
  return status::success();
}
inline status minus_infinity_at(int r, int c) { return fail(errc::invalid_argument, "assignment: cost ({}, {}) is -inf", r, c); }
}  // namespace detail

// A cost matrix is one image of a batch_view: (1,R,C,1), rows strided as they like. No entry may
// be -inf (+inf and NaN forbid a pair).
inline status can_assign(const batch_view<const float>& costs, float max_cost) {
  if (auto s = detail::can_assign_costs(costs, max_cost); !s) return s;
  for (int r = 0; r < costs.h; ++r)
    for (int c = 0; c < costs.w; ++c)
      if (costs(0, r, c, 0) == -std::numeric_limits<float>::infinity()) return detail::minus_infinity_at(r, c);
  return status::success();
}

namespace detail {

inline bool allowed_cost(float c, float max_cost) { return c <= max_cost && c < std::numeric_limits<float>::infinity(); }

// Minimum-cost assignment of every row of a dense R×C matrix (R <= C, all finite) to distinct
// columns. One Dijkstra per row over reduced costs cost - u[r] - v[c] (never negative) until it
// reaches a free column; the potentials then absorb the path lengths and the path is flipped.
inline void shortest_augmenting_paths(const std::vector<double>& cost, int rows, int cols, std::vector<int>& col_of_row) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(rows, 0.0), v(cols, 0.0), dist(cols);
  std::vector<int> row_of_col(cols, -1), via(cols), unsettled(cols), rows_met, cols_settled;
  col_of_row.assign(rows, -1);
  for (int start = 0; start < rows; ++start) {
    std::fill(dist.begin(), dist.end(), inf);
    for (int c = 0; c < cols; ++c) unsettled[c] = c;
    int open = cols, r = start, sink = -1;
    double reach = 0;  // length of the path to the column settled last
    rows_met.clear(), cols_settled.clear();
    while (sink < 0) {
      rows_met.push_back(r);
      const double* row = cost.data() + static_cast<std::ptrdiff_t>(r) * cols;
      const double base = reach - u[r];  // hoisted: the stores below might alias u for the compiler
      double* const dist_of = dist.data();
      const double* const v_of = v.data();
      double nearest = inf;
      int pick = -1;
      for (int k = 0; k < open; ++k) {
        const int c = unsettled[k];
        const double d = base + row[c] - v_of[c];
        double best = dist_of[c];
        if (d < best) best = dist_of[c] = d, via[c] = r;
        // On a tie a free column wins: the path ends there.
        if (best < nearest || (best == nearest && row_of_col[c] < 0)) nearest = best, pick = k;
      }
      reach = nearest;
      const int c = unsettled[pick];
      unsettled[pick] = unsettled[--open];
      cols_settled.push_back(c);
      if (row_of_col[c] < 0)
        sink = c;
      else
        r = row_of_col[c];
    }
    u[start] += reach;
    for (const int m : rows_met)
      if (m != start) u[m] += reach - dist[col_of_row[m]];
    for (const int c : cols_settled) v[c] -= reach - dist[c];
    for (int c = sink;;) {  // flip the path: each row on it takes the column it was reached from
      const int m = via[c];
      row_of_col[c] = m;
      std::swap(col_of_row[m], c);
      if (m == start) break;
    }
  }
}

inline float cost_at(const batch_view<const float>& costs, int r, int c) { return costs(0, r, c, 0); }

inline assignment finish_assignment(const batch_view<const float>& costs, std::vector<int> row_to_col) {
  assignment a;
  a.row_to_col = std::move(row_to_col);
  a.col_to_row.assign(costs.w, -1);
  for (int r = 0; r < costs.h; ++r)
    if (a.row_to_col[r] >= 0) {
      a.col_to_row[a.row_to_col[r]] = r;
      a.cost += cost_at(costs, r, a.row_to_col[r]);
      ++a.pairs;
    }
  return a;
}

// Solves one dense block: n_rows × n_cols allowed-or-not costs in `block` (row-major; NaN: not
// allowed) whose rows and columns are block_rows / block_cols of the whole matrix.
inline void solve_block(const std::vector<double>& block, int n_rows, int n_cols, double gate, const std::vector<int>& block_rows,
                        const std::vector<int>& block_cols, std::vector<int>& row_to_col) {
  // Rows <= columns (transposed otherwise); a pair costs (cost - gate), a forbidden one 0, as no pair.
  const bool transposed = n_rows > n_cols;
  const int n = transposed ? n_cols : n_rows, m = transposed ? n_rows : n_cols;
  std::vector<double> reduced(block.size());
  for (int r = 0; r < n_rows; ++r)
    for (int c = 0; c < n_cols; ++c) {
      const double x = block[std::size_t(r) * n_cols + c];
      reduced[transposed ? std::size_t(c) * m + r : std::size_t(r) * m + c] = std::isnan(x) ? 0.0 : x - gate;
    }
  std::vector<int> col_of_row;
  shortest_augmenting_paths(reduced, n, m, col_of_row);
  for (int k = 0; k < n; ++k) {
    const int lr = transposed ? col_of_row[k] : k, lc = transposed ? k : col_of_row[k];
    if (!std::isnan(block[std::size_t(lr) * n_cols + lc])) row_to_col[block_rows[lr]] = block_cols[lc];
  }
}

}  // namespace detail

namespace detail {

// The optimal assignment of `dense` (row-major, NaN: not allowed; `allowed` entries are numbers
// from lo to hi no greater than max_cost), as a column (or -1) per row.
inline std::vector<int> solve_optimal(const std::vector<double>& dense, int rows, int cols, std::size_t allowed, double lo,
                                      double hi, double max_cost) {
  std::vector<int> row_to_col(rows, -1);
  if (allowed == 0) return row_to_col;

  // The gate is a price per pair. A price beyond any difference of two totals makes an extra pair
  // always worth more than any saving in cost (max pairs first, then least cost), so a larger or
  // infinite max_cost is replaced by such a price, which keeps the doubles' precision for the costs.
  const double gate = std::min(double(max_cost), hi + (std::min(rows, cols) + 1.0) * (hi - lo) + 1.0);
  std::vector<int> block_rows, block_cols;
  if (allowed == dense.size()) {  // everything allowed: one block
    for (int r = 0; r < rows; ++r) block_rows.push_back(r);
    for (int c = 0; c < cols; ++c) block_cols.push_back(c);
    detail::solve_block(dense, rows, cols, gate, block_rows, block_cols, row_to_col);
    return row_to_col;
  }

  // Rows and columns linked by allowed pairs form independent blocks (the objective is a sum over
  // them): a tracker's matrix is mostly 1×1 blocks. Block of row r: label[r], of column c:
  // label[rows + c], by union-find.
  std::vector<int> label(std::size_t(rows) + cols);
  for (std::size_t k = 0; k < label.size(); ++k) label[k] = static_cast<int>(k);
  const auto find = [&](int k) {
    while (label[k] != k) k = label[k] = label[label[k]];
    return k;
  };
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      if (!std::isnan(dense[std::size_t(r) * cols + c])) {
        const int a = find(r), b = find(rows + c);
        if (a != b) label[std::max(a, b)] = std::min(a, b);
      }
  for (std::size_t k = 0; k < label.size(); ++k) label[k] = find(static_cast<int>(k));

  // Members of each block in increasing order (a block's label is its smallest member).
  std::vector<int> first(label.size() + 1, 0), members(label.size());
  for (const int l : label) ++first[l + 1];
  for (std::size_t k = 1; k < first.size(); ++k) first[k] += first[k - 1];
  std::vector<int> fill(first.begin(), first.end() - 1);
  for (std::size_t k = 0; k < label.size(); ++k) members[fill[label[k]]++] = static_cast<int>(k);

  std::vector<double> block;
  for (std::size_t b = 0; b + 1 < first.size(); ++b) {
    block_rows.clear(), block_cols.clear();
    for (int k = first[b]; k < first[b + 1]; ++k)
      (members[k] < rows ? block_rows : block_cols).push_back(members[k] < rows ? members[k] : members[k] - rows);
    if (block_rows.empty() || block_cols.empty()) continue;  // a lone row or column
    if (block_rows.size() == 1 && block_cols.size() == 1) {
      row_to_col[block_rows[0]] = block_cols[0];  // linked, so allowed
      continue;
    }
    block.resize(block_rows.size() * block_cols.size());
    for (std::size_t i = 0; i < block_rows.size(); ++i)
      for (std::size_t j = 0; j < block_cols.size(); ++j)
        block[i * block_cols.size() + j] = dense[std::size_t(block_rows[i]) * cols + block_cols[j]];
    detail::solve_block(block, static_cast<int>(block_rows.size()), static_cast<int>(block_cols.size()), gate, block_rows,
                        block_cols, row_to_col);
  }
  return row_to_col;
}

}  // namespace detail

inline assignment assign_optimal(const batch_view<const float>& costs, float max_cost = std::numeric_limits<float>::infinity()) {
  check(detail::can_assign_costs(costs, max_cost));
  const int rows = costs.h, cols = costs.w;
  // One pass over the input: the costs in double, NaN where a pair is not allowed, and the range
  // of the allowed ones.
  const double no = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> dense(std::size_t(rows) * cols);
  std::size_t allowed = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int r = 0; r < rows; ++r) {
    const float* row = costs.pixel(0, r, 0);
    for (int c = 0; c < cols; ++c) {
      const float x = row[c * costs.stride_w];
      if (x == -std::numeric_limits<float>::infinity()) check(detail::minus_infinity_at(r, c));
      const bool ok = detail::allowed_cost(x, max_cost);
      if (ok) ++allowed, lo = std::min(lo, double(x)), hi = std::max(hi, double(x));
      dense[std::size_t(r) * cols + c] = ok ? double(x) : no;
    }
  }
  return detail::finish_assignment(costs, detail::solve_optimal(dense, rows, cols, allowed, lo, hi, max_cost));
}

// The same on a row-major R×C matrix of doubles (for costs that float would round: a SORT-exact
// tracker's IoUs, py-motmetrics' distances). The same rules; `cost` sums the doubles.
inline assignment assign_optimal(std::span<const double> costs, int rows, int cols,
                                 double max_cost = std::numeric_limits<double>::infinity()) {
  if (rows < 0 || cols < 0 || costs.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols))
    raise(errc::invalid_argument, "assignment: {} costs for a {} x {} matrix", costs.size(), rows, cols);
  if (std::isnan(max_cost)) raise(errc::invalid_argument, "assignment: max_cost is NaN");
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> dense(costs.size());
  std::size_t allowed = 0;
  double lo = inf, hi = -inf;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double x = costs[std::size_t(r) * cols + c];
      if (x == -inf) check(detail::minus_infinity_at(r, c));
      const bool ok = x <= max_cost && x < inf;
      if (ok) ++allowed, lo = std::min(lo, x), hi = std::max(hi, x);
      dense[std::size_t(r) * cols + c] = ok ? x : std::numeric_limits<double>::quiet_NaN();
    }
  assignment a;
  a.row_to_col = detail::solve_optimal(dense, rows, cols, allowed, lo, hi, max_cost);
  a.col_to_row.assign(cols, -1);
  for (int r = 0; r < rows; ++r)
    if (a.row_to_col[r] >= 0)
      a.col_to_row[a.row_to_col[r]] = r, a.cost += dense[std::size_t(r) * cols + a.row_to_col[r]], ++a.pairs;
  return a;
}

inline assignment assign_greedy(const batch_view<const float>& costs, float max_cost = std::numeric_limits<float>::infinity()) {
  check(detail::can_assign_costs(costs, max_cost));
  struct pair {
    float cost;
    int r, c;
  };
  std::vector<pair> pairs;
  for (int r = 0; r < costs.h; ++r) {
    const float* row = costs.pixel(0, r, 0);
    for (int c = 0; c < costs.w; ++c) {
      const float x = row[c * costs.stride_w];
      if (x == -std::numeric_limits<float>::infinity()) check(detail::minus_infinity_at(r, c));
      if (detail::allowed_cost(x, max_cost)) pairs.push_back({x, r, c});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const pair& a, const pair& b) {
    if (a.cost != b.cost) return a.cost < b.cost;
    return a.r != b.r ? a.r < b.r : a.c < b.c;
  });
  std::vector<int> row_to_col(costs.h, -1);
  std::vector<char> col_taken(costs.w, 0);
  for (const pair& p : pairs)
    if (row_to_col[p.r] < 0 && !col_taken[p.c]) row_to_col[p.r] = p.c, col_taken[p.c] = 1;
  return detail::finish_assignment(costs, std::move(row_to_col));
}

// The classical rectangular assignment on a row-major R×C matrix of finite doubles: min(R, C)
// pairs of least total cost, with the tie-breaking of scipy.optimize.linear_sum_assignment (the
// same successive shortest augmenting paths, Crouse 2016: a tall matrix solved transposed, rows
// added in order, columns scanned from the last, a free column winning a tie, the same dual
// updates), so that equal-cost alternatives come out as scipy's. A SORT-exact tracker needs it:
// SORT pairs zero-IoU leftovers by this rule, and the order of its new tracks follows.
inline assignment linear_sum_assignment(std::span<const double> costs, int rows, int cols) {
  if (rows < 0 || cols < 0 || costs.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols))
    raise(errc::invalid_argument, "linear_sum_assignment: {} costs for a {} x {} matrix", costs.size(), rows, cols);
  for (std::size_t k = 0; k < costs.size(); ++k)
    if (!std::isfinite(costs[k]))
      raise(errc::invalid_argument, "linear_sum_assignment: cost ({}, {}) is {}", k / std::max(cols, 1), k % std::max(cols, 1),
            costs[k]);
  const bool transposed = cols < rows;
  const int n = transposed ? cols : rows, m = transposed ? rows : cols;  // n <= m
  const auto cost = [&](int r, int c) {
    return transposed ? costs[std::size_t(c) * cols + r] : costs[std::size_t(r) * cols + c];
  };
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n, 0.0), v(m, 0.0), dist(m);
  std::vector<int> via(m, -1), col_of(n, -1), row_of(m, -1), open_cols(m);
  std::vector<char> row_seen(n), col_seen(m);
  for (int start = 0; start < n; ++start) {
    for (int k = 0; k < m; ++k) open_cols[k] = m - 1 - k;
    std::fill(row_seen.begin(), row_seen.end(), 0);
    std::fill(col_seen.begin(), col_seen.end(), 0);
    std::fill(dist.begin(), dist.end(), inf);
    int open = m, r = start, sink = -1;
    double reach = 0;
    while (sink < 0) {
      row_seen[r] = 1;
      double nearest = inf;
      int pick = -1;
      for (int k = 0; k < open; ++k) {
        const int c = open_cols[k];
        const double d = reach + cost(r, c) - u[r] - v[c];
        if (d < dist[c]) via[c] = r, dist[c] = d;
        if (dist[c] < nearest || (dist[c] == nearest && row_of[c] < 0)) nearest = dist[c], pick = k;
      }
      reach = nearest;
      const int c = open_cols[pick];
      if (row_of[c] < 0)
        sink = c;
      else
        r = row_of[c];
      col_seen[c] = 1;
      open_cols[pick] = open_cols[--open];
    }
    u[start] += reach;
    for (int k = 0; k < n; ++k)
      if (row_seen[k] && k != start) u[k] += reach - dist[col_of[k]];
    for (int c = 0; c < m; ++c)
      if (col_seen[c]) v[c] -= reach - dist[c];
    for (int c = sink;;) {
      const int k = via[c];
      row_of[c] = k;
      std::swap(col_of[k], c);
      if (k == start) break;
    }
  }
  assignment a;
  a.row_to_col.assign(rows, -1);
  a.col_to_row.assign(cols, -1);
  for (int k = 0; k < n; ++k) {
    const int r = transposed ? col_of[k] : k, c = transposed ? k : col_of[k];
    a.row_to_col[r] = c, a.col_to_row[c] = r, a.cost += costs[std::size_t(r) * cols + c], ++a.pairs;
  }
  return a;
}

// Row-major R×C matrices in a span.
inline batch_view<const float> cost_matrix(std::span<const float> costs, int rows, int cols) {
  if (rows < 0 || cols < 0 || costs.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols))
    raise(errc::invalid_argument, "assignment: {} costs for a {} x {} matrix", costs.size(), rows, cols);
  return batch_view<const float>::dense(costs.data(), {1, rows, cols, 1});
}
inline assignment assign_optimal(std::span<const float> costs, int rows, int cols,
                                 float max_cost = std::numeric_limits<float>::infinity()) {
  return assign_optimal(cost_matrix(costs, rows, cols), max_cost);
}
inline assignment assign_greedy(std::span<const float> costs, int rows, int cols,
                                float max_cost = std::numeric_limits<float>::infinity()) {
  return assign_greedy(cost_matrix(costs, rows, cols), max_cost);
}

}  // namespace vbatch::inline v0::boxes
