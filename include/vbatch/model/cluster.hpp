#pragma once
// Clustering embeddings by cosine distance (1 - cosine similarity), and scores comparing two
// labelings.
//
//   auto labels = vbatch::model::agglomerative(vbatch::cpu_par{2}, embeddings, {.threshold = 0.3f,
//                                              .linkage = vbatch::model::linkage::average});
//   auto dense = vbatch::model::dbscan(vbatch::cpu_par{2}, embeddings, {.eps = 0.2f, .min_points = 4});
//   auto h = vbatch::model::hdbscan(vbatch::cpu_par{2}, embeddings, {.min_cluster_size = 5});  // h.labels
//   double ari = vbatch::model::adjusted_rand_index(labels, truth);   // 1: the same partition
//
// Labels are numbered 0, 1, ... in order of first appearance over the items; noise (DBSCAN,
// HDBSCAN) is -1. The algorithms hold the N×N similarity matrix (4 bytes per pair; agglomerative also 8 bytes
// per pair of distances), fine up to a few thousand items. The *_from_similarity forms take a
// similarity matrix computed once (model::cosine_similarity) and reuse it. Results are
// deterministic: every tie is broken by the lower item index.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <tuple>
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

// HDBSCAN (Campello, Moulavi and Sander 2013) with the semantics of scikit-learn's
// sklearn.cluster.HDBSCAN on cosine distances, so that results can be compared with it.
enum class cluster_selection {
  eom,   // excess of mass: the most stable clusters of the condensed tree
  leaf,  // the leaves of the condensed tree: finer, more homogeneous clusters
};

struct hdbscan_options {
  int min_cluster_size = 5;  // smaller groups are noise or part of a larger cluster; >= 2
  // Core distance of an item: cosine distance to its min_samples-th nearest item, itself counted
  // (as in sklearn). Unset: min_cluster_size. In [1, N].
  std::optional<int> min_samples{};
  cluster_selection cluster_selection_method = cluster_selection::eom;
  // Clusters split off below this cosine distance are merged back into their parent; >= 0.
  float cluster_selection_epsilon = 0.0f;
  bool allow_single_cluster = false;  // the root (all items) may be the one cluster selected
};

struct hdbscan_result {
  std::vector<int> labels;           // renumbered by first appearance; noise -1
  std::vector<float> probabilities;  // membership strength in [0, 1] (sklearn's probabilities_); 0 for noise
};

namespace detail {

inline void check_hdbscan_options(const hdbscan_options& options) {
  if (options.min_cluster_size < 2)
    raise(errc::invalid_argument, "hdbscan: min_cluster_size = {} must be at least 2", options.min_cluster_size);
  if (options.min_samples && *options.min_samples < 1)
    raise(errc::invalid_argument, "hdbscan: min_samples = {} must be at least 1", *options.min_samples);
  if (!(options.cluster_selection_epsilon >= 0.0f))
    raise(errc::invalid_argument, "hdbscan: cluster_selection_epsilon = {} must be a cosine distance >= 0",
          options.cluster_selection_epsilon);
}

// A cluster of the condensed tree. Clusters are numbered in creation order, root 0, so a parent's
// number is below its children's. lambda = 1 / distance (infinite at distance 0).
struct condensed_cluster {
  int parent;        // -1 for the root
  double birth;      // lambda at which it split off its parent (0 for the root)
  double death = 0;  // largest lambda at which an item or a child cluster left it
  double stability = 0;
};

}  // namespace detail

// HDBSCAN: core distances → mutual reachability max(core_i, core_j, d_ij) → its minimum spanning
// tree (Prim, O(N²) on the dense matrix, no extra N² memory) → single-linkage hierarchy →
// condensed tree (splits into parts of >= min_cluster_size items are clusters, smaller parts fall
// out as points) → stability → excess-of-mass or leaf selection, then cluster_selection_epsilon →
// labels. O(N²) time, O(N) memory beyond the similarity matrix. As in sklearn, a root selected as
// the single cluster (allow_single_cluster) keeps only the items that left it at lambda >= its
// largest lambda (or within cluster_selection_epsilon); the rest is noise. Probabilities: an
// item's lambda over its cluster's largest lambda, capped at 1.
inline hdbscan_result hdbscan_from_similarity(matrix_view<const float> similarity, hdbscan_options options) {
  detail::check_similarity(similarity, "hdbscan");
  detail::check_hdbscan_options(options);
  const int n = similarity.rows, min_samples = options.min_samples.value_or(options.min_cluster_size);
  if (n < 2) raise(errc::invalid_argument, "hdbscan: similarity is {}x{}; HDBSCAN needs at least 2 items", n, n);
  if (min_samples > n) raise(errc::invalid_argument, "hdbscan: min_samples = {} is more than the {} items", min_samples, n);
  const double inf = std::numeric_limits<double>::infinity();
  // Cosine distance clipped at 0 (as sklearn's), exactly 0 from an item to itself.
  const auto dist = [&](int i, int j) { return i == j ? 0.0 : std::max(0.0, detail::distance(similarity, i, j)); };

  std::vector<double> core(static_cast<std::size_t>(n)), row(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) row[j] = dist(i, j);
    std::nth_element(row.begin(), row.begin() + (min_samples - 1), row.end());
    core[i] = row[min_samples - 1];
  }

  // Prim from item 0. Mutual reachability ties by construction (both edges of an item to two groups
  // within its core distance weigh that core distance), so ties go to the shorter plain distance
  // (the item joins its nearer group first), then the lower index: the order of the items is irrelevant.
  struct edge {
    double weight, plain;
    int a, b;
    bool operator<(const edge& other) const { return std::tie(weight, plain) < std::tie(other.weight, other.plain); }
  };
  std::vector<edge> edges;
  std::vector<edge> reach(std::size_t(n), edge{inf, inf, 0, 0});  // per item outside the tree: its best edge into it
  std::vector<char> in_tree(std::size_t(n), 0);
  for (int current = 0, step = 1; step < n; ++step) {
    in_tree[current] = 1;
    int next = -1;
    for (int j = 0; j < n; ++j) {
      if (in_tree[j]) continue;
      const double plain = dist(current, j);
      const edge candidate{std::max({core[current], core[j], plain}), plain, current, j};
      if (candidate < reach[j]) reach[j] = candidate;
      if (next < 0 || reach[j] < reach[next]) next = j;
    }
    edges.push_back(reach[next]);
    current = next;
  }
  std::stable_sort(edges.begin(), edges.end());

  // Single linkage: node n + t merges the two nodes holding edge t's ends.
  struct merge {
    int left, right;
    double height;
    int size;
  };
  std::vector<merge> merges;
  std::vector<int> node_of(static_cast<std::size_t>(n));  // per union-find root: its hierarchy node
  std::iota(node_of.begin(), node_of.end(), 0);
  const auto size_of = [&](int node) { return node < n ? 1 : merges[node - n].size; };
  detail::union_find components(n);
  for (const edge& e : edges) {
    const int a = components.find(e.a), b = components.find(e.b);
    merges.push_back({node_of[a], node_of[b], e.weight, size_of(node_of[a]) + size_of(node_of[b])});
    components.join(a, b);
    node_of[components.find(a)] = n + int(merges.size()) - 1;
  }

  // Condensed tree, top down (a merge's children are lower nodes). Each item falls out of one
  // cluster at one lambda; rows for the stability: sum of (lambda - birth) * size over leavers.
  std::vector<detail::condensed_cluster> clusters{{-1, 0.0}};
  std::vector<int> cluster_of(std::size_t(2 * n - 1), -1);  // -1: not a cluster node (yet, or pruned)
  std::vector<int> point_cluster(static_cast<std::size_t>(n));
  std::vector<double> point_lambda(static_cast<std::size_t>(n));
  const auto leave = [&](int c, double lambda, int size) {
    clusters[c].stability += (lambda - clusters[c].birth) * size;
    clusters[c].death = std::max(clusters[c].death, lambda);
  };
  std::vector<int> stack;
  cluster_of[2 * n - 2] = 0;
  for (int node = 2 * n - 2; node >= n; --node) {
    const int c = cluster_of[node];
    if (c < 0) continue;
    const merge& m = merges[node - n];
    const double lambda = m.height > 0 ? 1.0 / m.height : inf;
    const bool big_left = size_of(m.left) >= options.min_cluster_size, big_right = size_of(m.right) >= options.min_cluster_size;
    for (const int child : {m.left, m.right}) {
      if (big_left && big_right) {  // a true split: two new clusters
        cluster_of[child] = int(clusters.size());
        clusters.push_back({c, lambda});
        leave(c, lambda, size_of(child));
      } else if (size_of(child) >= options.min_cluster_size) {  // the cluster goes on, smaller
        cluster_of[child] = c;
      } else {  // every item of this part falls out of c
        stack.assign(1, child);
        while (!stack.empty()) {
          const int x = stack.back();
          stack.pop_back();
          if (x >= n) {
            stack.push_back(merges[x - n].left), stack.push_back(merges[x - n].right);
            continue;
          }
          point_cluster[x] = c, point_lambda[x] = lambda;
          leave(c, lambda, 1);
        }
      }
    }
  }

  const int count = int(clusters.size());
  const auto parent = [&](int c) { return clusters[c].parent; };
  std::vector<char> has_children(std::size_t(count), 0), selected(std::size_t(count), 0);
  for (int c = 1; c < count; ++c) has_children[parent(c)] = 1;
  const auto epsilon = double(options.cluster_selection_epsilon);
  // sklearn's epsilon search: a candidate that split off its parent below cosine distance epsilon
  // gives way to its lowest ancestor that split off above epsilon (else to the root's child on its
  // path, or with allow_single_cluster to the root).
  const auto epsilon_search = [&](const std::vector<char>& candidates) {
    std::vector<char> chosen(std::size_t(count), 0), processed(std::size_t(count), 0);
    for (int c = 1; c < count; ++c) {
      if (!candidates[c]) continue;
      if (!(1.0 / clusters[c].birth < epsilon)) {
        chosen[c] = 1;
        continue;
      }
      if (processed[c]) continue;
      int up = c;
      while (true) {
        if (parent(up) == 0) {
          up = options.allow_single_cluster ? 0 : up;
          break;
        }
        up = parent(up);
        if (1.0 / clusters[up].birth > epsilon) break;
      }
      chosen[up] = 1;
      std::vector<char> inside(std::size_t(count), 0);  // up's subtree: parents precede children
      inside[up] = 1;
      for (int d = up + 1; d < count; ++d) inside[d] = inside[parent(d)], processed[d] |= inside[d];
    }
    return chosen;
  };
  if (options.cluster_selection_method == cluster_selection::eom) {
    // Children before parents: keep a cluster if it is at least as stable as the best selection
    // below it (which it then replaces); the root competes only with allow_single_cluster.
    std::vector<double> best(std::size_t(count), 0.0);
    std::vector<char> kept(std::size_t(count), 0);
    for (int c = count - 1; c >= 0; --c) {
      double below = 0;
      for (int d = c + 1; d < count; ++d)
        if (parent(d) == c) below += best[d];
      kept[c] = (c > 0 || options.allow_single_cluster) && !(below > clusters[c].stability);
      best[c] = kept[c] ? clusters[c].stability : below;
    }
    // Selected: kept with no kept ancestor.
    std::vector<char> covered(std::size_t(count), 0);
    for (int c = 0; c < count; ++c) {
      if (c > 0) covered[c] = covered[parent(c)] || selected[parent(c)];
      selected[c] = kept[c] && !covered[c];
    }
    if (epsilon != 0 && count > 1 && !selected[0]) selected = epsilon_search(selected);
  } else {
    std::vector<char> leaves(std::size_t(count), 0);
    for (int c = 1; c < count; ++c) leaves[c] = !has_children[c];
    selected = epsilon != 0 ? epsilon_search(leaves) : leaves;
  }

  // An item belongs to its nearest selected cluster upwards; below only the root it is noise, except
  // when the root is the single cluster: then items that left it at lambda >= the threshold.
  const int selected_count = int(std::count(selected.begin(), selected.end(), 1));
  const double root_threshold = epsilon != 0 ? 1.0 / epsilon : clusters[0].death;
  hdbscan_result result{std::vector<int>(std::size_t(n), -1), std::vector<float>(std::size_t(n), 0.0f)};
  for (int i = 0; i < n; ++i) {
    int c = point_cluster[i];
    while (c != 0 && !selected[c]) c = parent(c);
    if (c == 0 && !(selected[0] && selected_count == 1 && options.allow_single_cluster && point_lambda[i] >= root_threshold))
      continue;
    result.labels[i] = c;
    const double death = clusters[c].death;
    result.probabilities[i] = death == 0 || point_lambda[i] == inf ? 1.0f : float(std::min(point_lambda[i], death) / death);
  }
  result.labels = relabel_by_first_appearance(result.labels);
  return result;
}

template <class Exec>
hdbscan_result hdbscan(const Exec& exec, matrix_view<const float> embeddings, hdbscan_options options) {
  detail::check_hdbscan_options(options);
  check(can_use_matrix(embeddings, "hdbscan embeddings"));
  if (embeddings.rows == 0) raise(errc::invalid_argument, "hdbscan: embeddings are empty (0 items)");
  const std::vector<float> similarity = detail::self_similarity(exec, embeddings, "hdbscan embeddings");
  return hdbscan_from_similarity({similarity.data(), embeddings.rows, embeddings.rows}, options);
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
