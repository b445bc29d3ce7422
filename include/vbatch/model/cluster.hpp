#pragma once
// Clustering embeddings by cosine distance (1 - cosine similarity), and scores comparing two
// labelings.
//
//   auto labels = vbatch::model::agglomerative(vbatch::cpu_par{2}, embeddings, {.threshold = 0.3f,
//                                              .linkage = vbatch::model::linkage::average});
//   auto dense = vbatch::model::dbscan(vbatch::cpu_par{2}, embeddings, {.eps = 0.2f, .min_points = 4});
//   double ari = vbatch::model::adjusted_rand_index(labels, truth);   // 1: the same partition
//
// Labels are numbered 0, 1, ... in order of first appearance over the items; DBSCAN's noise is -1.
// Both algorithms hold the N×N similarity matrix (4 bytes per pair; agglomerative also 8 bytes
// per pair of distances), fine up to a few thousand items. The *_from_similarity forms take a
// similarity matrix computed once (model::cosine_similarity) and reuse it. Results are
// deterministic: every tie is broken by the lower item index.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/model/embedding.hpp"
#include "vbatch/model/tensor.hpp"

namespace vbatch::inline v0::model {

enum class linkage {
  average,   // mean distance over all cross pairs (UPGMA)
  complete,  // largest distance over all cross pairs
};

struct agglomerative_options {
  float threshold = 0.5f;  // merge while the linkage distance is <= threshold; in [0, 2]
  model::linkage linkage = model::linkage::average;
};

struct dbscan_options {
  float eps = 0.2f;    // neighbours are within cosine distance eps (inclusive); > 0
  int min_points = 4;  // a core point has at least this many neighbours, itself included; >= 1
};

// Labels renumbered 0, 1, ... in order of first appearance; negative labels (noise) stay -1.
inline std::vector<int> relabel_by_first_appearance(std::span<const int> labels) {
  std::map<int, int> number;
  std::vector<int> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    out[i] = labels[i] < 0 ? -1 : number.try_emplace(labels[i], int(number.size())).first->second;
  return out;
}

namespace detail {

inline void check_similarity(const matrix_view<const float>& similarity, const char* function) {
  check(can_use_matrix(similarity, function));
  if (similarity.rows != similarity.cols)
    raise(errc::invalid_argument, "{}: similarity is {}x{}, not square (items x items)", function, similarity.rows,
          similarity.cols);
}

// The matrix computed on `exec`, read on the host.
template <class Exec>
std::vector<float> self_similarity(const Exec& exec, matrix_view<const float> embeddings, const char* function) {
  static_assert(host_executor<Exec>, "clustering reads the similarity matrix on the host");
  check(can_use_matrix(embeddings, function));
  std::vector<float> similarity(std::size_t(embeddings.rows) * embeddings.rows);
  cosine_similarity(exec, embeddings, embeddings, matrix_view<float>{similarity.data(), embeddings.rows, embeddings.rows});
  return similarity;
}

// Cosine distance of items i and j, read from the upper triangle so that it is symmetric even if
// the matrix is not exactly.
inline double distance(const matrix_view<const float>& similarity, int i, int j) {
  return 1.0 - double(i < j ? similarity(i, j) : similarity(j, i));
}

struct union_find {
  std::vector<int> parent;
  explicit union_find(int n) : parent(static_cast<std::size_t>(n)) { std::iota(parent.begin(), parent.end(), 0); }
  int find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void join(int x, int y) {
    x = find(x), y = find(y);
    if (x != y) parent[std::max(x, y)] = std::min(x, y);
  }
};

}  // namespace detail

// Agglomerative clustering: starting from single items, repeatedly merges the two closest
// clusters while their linkage distance is <= threshold. Runs the nearest-neighbour chain
// (O(N²) time, exact for average and complete linkage, which are reducible), then applies its
// merges in order of height, lowest first; the threshold cut of that dendrogram is the result.
inline std::vector<int> agglomerative_from_similarity(matrix_view<const float> similarity, agglomerative_options options) {
  detail::check_similarity(similarity, "agglomerative");
  if (!(options.threshold >= 0.0f && options.threshold <= 2.0f))
    raise(errc::invalid_argument, "agglomerative: threshold = {} is not a cosine distance in [0, 2]", options.threshold);
  const int n = similarity.rows;
  std::vector<double> d(static_cast<std::size_t>(n) * n);  // linkage distances; row of a cluster at its lowest item
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) d[std::size_t(i) * n + j] = detail::distance(similarity, i, j);
  const auto at = [&](int i, int j) -> double& { return d[std::size_t(i) * n + j]; };

  struct merge {
    double height;
    int a, b;
  };
  std::vector<merge> merges;
  std::vector<int> size(std::size_t(n), 1);
  std::vector<char> active(std::size_t(n), 1);
  std::vector<int> chain;
  for (int remaining = n; remaining > 1;) {
    if (chain.empty()) chain.push_back(int(std::find(active.begin(), active.end(), 1) - active.begin()));
    const int top = chain.back(), previous = chain.size() > 1 ? chain[chain.size() - 2] : -1;
    // Nearest active cluster; on a tie the previous chain element wins (so the chain ends), then the lower index.
    int nearest = previous;
    double best = previous >= 0 ? at(top, previous) : std::numeric_limits<double>::infinity();
    for (int k = 0; k < n; ++k)
      if (active[k] && k != top && at(top, k) < best) best = at(top, k), nearest = k;
    if (nearest != previous) {
      chain.push_back(nearest);
      continue;
    }
    // top and previous are reciprocal nearest neighbours: merge them into the lower index.
    chain.pop_back(), chain.pop_back();
    const int keep = std::min(top, previous), gone = std::max(top, previous);
    merges.push_back({best, keep, gone});
    for (int k = 0; k < n; ++k) {
      if (!active[k] || k == keep || k == gone) continue;
      const double merged = options.linkage == linkage::complete
                                ? std::max(at(keep, k), at(gone, k))
                                : (size[keep] * at(keep, k) + size[gone] * at(gone, k)) / (size[keep] + size[gone]);
      at(keep, k) = at(k, keep) = merged;
    }
    size[keep] += size[gone];
    active[gone] = 0;
    --remaining;
  }
  std::stable_sort(merges.begin(), merges.end(), [](const merge& x, const merge& y) { return x.height < y.height; });
  detail::union_find clusters(n);
  for (const merge& m : merges)
    if (m.height <= options.threshold) clusters.join(m.a, m.b);
  std::vector<int> roots(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) roots[i] = clusters.find(i);
  return relabel_by_first_appearance(roots);
}

template <class Exec>
std::vector<int> agglomerative(const Exec& exec, matrix_view<const float> embeddings, agglomerative_options options) {
  const std::vector<float> similarity = detail::self_similarity(exec, embeddings, "agglomerative embeddings");
  return agglomerative_from_similarity({similarity.data(), embeddings.rows, embeddings.rows}, options);
}

// DBSCAN: a core point has at least min_points items (itself included) within cosine distance
// eps; core points within eps of each other share a cluster; a border point (not core, within eps
// of a core point) joins the cluster of its nearest core point (the lower index on a tie); the
// rest is noise (-1).
inline std::vector<int> dbscan_from_similarity(matrix_view<const float> similarity, dbscan_options options) {
  detail::check_similarity(similarity, "dbscan");
  if (!(options.eps > 0.0f)) raise(errc::invalid_argument, "dbscan: eps = {} must be positive", options.eps);
  if (options.min_points < 1) raise(errc::invalid_argument, "dbscan: min_points = {} must be at least 1", options.min_points);
  const int n = similarity.rows;
  const auto neighbours = [&](int i, int j) { return detail::distance(similarity, i, j) <= double(options.eps); };
  std::vector<char> core(std::size_t(n), 0);
  for (int i = 0; i < n; ++i) {
    int count = 0;
    for (int j = 0; j < n && count < options.min_points; ++j) count += (i == j || neighbours(i, j));
    core[i] = count >= options.min_points;
  }
  // Clusters of core points grow breadth-first from the lowest unlabelled core point.
  std::vector<int> label(std::size_t(n), -1), queue;
  int clusters = 0;
  for (int seed = 0; seed < n; ++seed) {
    if (!core[seed] || label[seed] >= 0) continue;
    label[seed] = clusters;
    queue.assign(1, seed);
    for (std::size_t q = 0; q < queue.size(); ++q)
      for (int j = 0; j < n; ++j)
        if (core[j] && label[j] < 0 && neighbours(queue[q], j)) label[j] = clusters, queue.push_back(j);
    ++clusters;
  }
  for (int i = 0; i < n; ++i) {
    if (core[i]) continue;
    double nearest = std::numeric_limits<double>::infinity();
    for (int j = 0; j < n; ++j)
      if (core[j] && neighbours(i, j) && detail::distance(similarity, i, j) < nearest)
        nearest = detail::distance(similarity, i, j), label[i] = label[j];
  }
  return relabel_by_first_appearance(label);
}

template <class Exec>
std::vector<int> dbscan(const Exec& exec, matrix_view<const float> embeddings, dbscan_options options) {
  const std::vector<float> similarity = detail::self_similarity(exec, embeddings, "dbscan embeddings");
  return dbscan_from_similarity({similarity.data(), embeddings.rows, embeddings.rows}, options);
}

namespace detail {
inline void check_labelings(std::span<const int> a, std::span<const int> b, const char* function, const char* a_name,
                            const char* b_name) {
  if (a.size() != b.size())
    raise(errc::invalid_argument, "{}: {} has {} labels but {} has {}", function, a_name, a.size(), b_name, b.size());
  if (a.empty()) raise(errc::invalid_argument, "{}: {} and {} are empty", function, a_name, b_name);
}
inline double pairs(double count) { return count * (count - 1) / 2; }
}  // namespace detail

// The adjusted Rand index of two labelings of the same items (any int labels; -1 counts as a
// label): 1 for the same partition, about 0 for independent ones, negative below chance. When
// both are all one cluster or all singletons (chance agreement is perfect) it is 1.
inline double adjusted_rand_index(std::span<const int> labels_a, std::span<const int> labels_b) {
  detail::check_labelings(labels_a, labels_b, "adjusted_rand_index", "labels_a", "labels_b");
  std::map<std::pair<int, int>, std::int64_t> joint;
  std::map<int, std::int64_t> in_a, in_b;
  for (std::size_t i = 0; i < labels_a.size(); ++i) ++joint[{labels_a[i], labels_b[i]}], ++in_a[labels_a[i]], ++in_b[labels_b[i]];
  double index = 0, sum_a = 0, sum_b = 0;
  for (const auto& [key, count] : joint) index += detail::pairs(double(count));
  for (const auto& [key, count] : in_a) sum_a += detail::pairs(double(count));
  for (const auto& [key, count] : in_b) sum_b += detail::pairs(double(count));
  const double expected = sum_a * sum_b / detail::pairs(double(labels_a.size())), best = (sum_a + sum_b) / 2;
  if (best == expected) return 1.0;
  return (index - expected) / (best - expected);
}

// The share of items whose predicted cluster's most common true label is their own: 1 when every
// cluster is pure (singletons are always pure, so read it together with the cluster count).
inline double purity(std::span<const int> predicted, std::span<const int> truth) {
  detail::check_labelings(predicted, truth, "purity", "predicted", "truth");
  std::map<std::pair<int, int>, std::int64_t> joint;
  for (std::size_t i = 0; i < predicted.size(); ++i) ++joint[{predicted[i], truth[i]}];
  std::map<int, std::int64_t> largest;  // per predicted cluster: its largest true class
  for (const auto& [key, count] : joint) largest[key.first] = std::max(largest[key.first], count);
  std::int64_t majority = 0;
  for (const auto& [cluster, count] : largest) majority += count;
  return double(majority) / double(predicted.size());
}

}  // namespace vbatch::inline v0::model
