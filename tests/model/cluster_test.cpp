// Clustering by cosine distance: agglomerative (average, complete) and DBSCAN recover synthetic
// clusters with known labels, DBSCAN equals a brute-force reference, agglomerative equals a naive
// O(N³) merge loop, and the ARI and purity scores take known values.

#include "vbatch/model/cluster.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace model = vbatch::model;
using vbatch_test::throws_error;

struct labelled_embeddings {
  std::vector<float> values;  // (N,D)
  std::vector<int> truth;
  int n = 0, d = 0;
  model::matrix_view<const float> view() const { return {values.data(), n, d}; }
};

// `clusters` × `per_cluster` points in `d` dimensions: Gaussian noise of `spread` per dimension
// around random unit centres, points shuffled so that cluster order is not item order.
labelled_embeddings synthetic_clusters(int clusters, int per_cluster, int d, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss;
  std::vector<std::vector<float>> centres(static_cast<std::size_t>(clusters), std::vector<float>(static_cast<std::size_t>(d)));
  for (auto& c : centres) {
    double length = 0;
    for (float& v : c) v = gauss(rng), length += double(v) * v;
    for (float& v : c) v = float(v / std::sqrt(length));
  }
  std::vector<int> order(std::size_t(clusters) * per_cluster);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = int(i) % clusters;
  std::shuffle(order.begin(), order.end(), rng);
  labelled_embeddings e{{}, order, int(order.size()), d};
  for (int label : order)
    for (int k = 0; k < d; ++k) e.values.push_back(centres[label][k] + spread * gauss(rng));
  return e;
}

std::vector<float> similarity_of(const labelled_embeddings& e) {
  std::vector<float> s(std::size_t(e.n) * e.n);
  model::cosine_similarity(vbatch::cpu_par{2}, e.view(), e.view(), model::matrix_view<float>{s.data(), e.n, e.n});
  return s;
}

int cluster_count(const std::vector<int>& labels) {
  return labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
}

// ---------------------------------------------------------------------------------------------
// Scores

TEST(AdjustedRandIndex, KnownValues) {
  const std::vector<int> a = {0, 0, 1, 1, 2, 2};
  EXPECT_DOUBLE_EQ(model::adjusted_rand_index(a, a), 1.0);
  // Renaming the labels changes nothing.
  EXPECT_DOUBLE_EQ(model::adjusted_rand_index(a, std::vector<int>{5, 5, -1, -1, 9, 9}), 1.0);
  // By hand: a = {0,0,0,1,1,1}, b = {0,0,1,1,2,2}. Contingency [[2,1,0],[0,1,2]]: index = 1 + 1 = 2;
  // row pairs 3 + 3 = 6, column pairs 1 + 1 + 1 = 3, all pairs 15: expected 6*3/15 = 1.2,
  // max (6+3)/2 = 4.5, ARI = (2 - 1.2) / (4.5 - 1.2) = 0.8 / 3.3.
  const std::vector<int> x = {0, 0, 0, 1, 1, 1}, y = {0, 0, 1, 1, 2, 2};
  EXPECT_NEAR(model::adjusted_rand_index(x, y), 0.8 / 3.3, 1e-12);
  EXPECT_NEAR(model::adjusted_rand_index(y, x), 0.8 / 3.3, 1e-12);
  // The same as a permutation of the items of both labelings.
  const std::vector<int> xp = {1, 0, 1, 0, 0, 1}, yp = {2, 0, 2, 1, 0, 1};
  EXPECT_NEAR(model::adjusted_rand_index(xp, yp), 0.8 / 3.3, 1e-12);
  // Below chance: a = {0,0,1,1}, b = {0,1,0,1}: index 0, expected 2*2/6, max 2: ARI = -0.5.
  EXPECT_NEAR(model::adjusted_rand_index(std::vector<int>{0, 0, 1, 1}, std::vector<int>{0, 1, 0, 1}), -0.5, 1e-12);
  // All in one cluster on both sides: perfect chance agreement counts as 1.
  EXPECT_DOUBLE_EQ(model::adjusted_rand_index(std::vector<int>{3, 3, 3}, std::vector<int>{1, 1, 1}), 1.0);
}

TEST(Purity, KnownValues) {
  EXPECT_DOUBLE_EQ(model::purity(std::vector<int>{0, 0, 1, 1}, std::vector<int>{4, 4, 7, 7}), 1.0);
  // Cluster 0 = {a, a, b}: 2; cluster 1 = {b, c, c}: 2; 4 of 6.
  EXPECT_DOUBLE_EQ(model::purity(std::vector<int>{0, 0, 0, 1, 1, 1}, std::vector<int>{0, 0, 1, 1, 2, 2}), 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(model::purity(std::vector<int>{0, 0, 0, 0}, std::vector<int>{0, 1, 2, 2}), 0.5);
}

TEST(Scores, RejectMismatchedOrEmptyLabelings) {
  const std::vector<int> three = {0, 1, 2}, two = {0, 1}, none;
  EXPECT_TRUE(throws_error([&] { model::adjusted_rand_index(three, two); }, vbatch::errc::invalid_argument,
                           {"adjusted_rand_index", "labels_a has 3", "labels_b has 2"}));
  EXPECT_TRUE(throws_error([&] { model::adjusted_rand_index(none, none); }, vbatch::errc::invalid_argument, {"empty"}));
  EXPECT_TRUE(throws_error([&] { model::purity(three, two); }, vbatch::errc::invalid_argument, {"purity", "predicted has 3"}));
  EXPECT_TRUE(throws_error([&] { model::purity(none, none); }, vbatch::errc::invalid_argument, {"purity", "empty"}));
}

TEST(Relabel, NumbersByFirstAppearanceAndKeepsNoise) {
  EXPECT_EQ(model::relabel_by_first_appearance(std::vector<int>{9, -1, 4, 9, 2, -5, 4}),
            (std::vector<int>{0, -1, 1, 0, 2, -1, 1}));
}

// ---------------------------------------------------------------------------------------------
// Agglomerative

TEST(Agglomerative, RecoversSeparableClusters) {
  const labelled_embeddings e = synthetic_clusters(8, 30, 64, 0.08f, 11);
  for (model::linkage link : {model::linkage::average, model::linkage::complete}) {
    const std::vector<int> labels = model::agglomerative(vbatch::cpu_par{2}, e.view(), {.threshold = 0.5f, .linkage = link});
    const double ari = model::adjusted_rand_index(labels, e.truth);
    vbatch_test::record(link == model::linkage::average ? "ari_average" : "ari_complete", ari);
    EXPECT_GE(ari, 0.95) << "linkage " << int(link);
    EXPECT_EQ(cluster_count(labels), 8);
    EXPECT_DOUBLE_EQ(model::purity(labels, e.truth), 1.0);
    EXPECT_EQ(labels.front(), 0);
  }
}

TEST(Agglomerative, ThresholdsAtTheExtremes) {
  const labelled_embeddings e = synthetic_clusters(3, 5, 8, 0.1f, 12);
  const auto labels = [&](float threshold) {
    return model::agglomerative(vbatch::cpu_serial{}, e.view(), {.threshold = threshold});
  };
  EXPECT_EQ(cluster_count(labels(0.0f)), e.n);  // distinct points: all singletons
  EXPECT_EQ(cluster_count(labels(2.0f)), 1);
  EXPECT_TRUE(model::agglomerative(vbatch::cpu_serial{}, model::matrix_view<const float>{nullptr, 0, 8}, {}).empty());
}

// The textbook loop: merge the closest pair of clusters (linkage over item distances, the lower
// cluster ids on a tie) while it is within the threshold. Independent of the chain and of the
// Lance-Williams updates.
std::vector<int> naive_agglomerative(const std::vector<float>& s, int n, float threshold, model::linkage link) {
  const auto distance = [&](int i, int j) { return 1.0 - double(s[std::size_t(std::min(i, j)) * n + std::max(i, j)]); };
  std::vector<std::vector<int>> clusters;
  for (int i = 0; i < n; ++i) clusters.push_back({i});
  for (;;) {
    double best = 1e300;
    std::size_t ba = 0, bb = 0;
    for (std::size_t a = 0; a < clusters.size(); ++a)
      for (std::size_t b = a + 1; b < clusters.size(); ++b) {
        double sum = 0, worst = -1e300;
        for (int i : clusters[a])
          for (int j : clusters[b]) sum += distance(i, j), worst = std::max(worst, distance(i, j));
        const double d = link == model::linkage::complete ? worst : sum / double(clusters[a].size() * clusters[b].size());
        if (d < best) best = d, ba = a, bb = b;
      }
    if (clusters.size() < 2 || best > threshold) break;
    clusters[ba].insert(clusters[ba].end(), clusters[bb].begin(), clusters[bb].end());
    clusters.erase(clusters.begin() + std::ptrdiff_t(bb));
  }
  std::vector<int> label(static_cast<std::size_t>(n));
  for (std::size_t c = 0; c < clusters.size(); ++c)
    for (int i : clusters[c]) label[i] = int(c);
  return model::relabel_by_first_appearance(label);
}

TEST(Agglomerative, EqualsNaiveMergeLoop) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 20; ++trial) {
    const labelled_embeddings e = synthetic_clusters(4, 6, 5, 0.35f, 100 + trial);
    const std::vector<float> s = similarity_of(e);
    const model::matrix_view<const float> sv{s.data(), e.n, e.n};
    for (model::linkage link : {model::linkage::average, model::linkage::complete})
      for (float threshold : {0.1f, 0.3f, 0.6f, 1.0f}) {
        SCOPED_TRACE(testing::Message() << "trial " << trial << " linkage " << int(link) << " threshold " << threshold);
        EXPECT_EQ(model::agglomerative_from_similarity(sv, {threshold, link}), naive_agglomerative(s, e.n, threshold, link));
      }
  }
}

TEST(Agglomerative, RejectsBadInput) {
  const labelled_embeddings e = synthetic_clusters(2, 3, 4, 0.1f, 14);
  EXPECT_TRUE(throws_error([&] { model::agglomerative(vbatch::cpu_serial{}, e.view(), {.threshold = -0.1f}); },
                           vbatch::errc::invalid_argument, {"agglomerative", "threshold = -0.1"}));
  EXPECT_TRUE(throws_error(
      [&] {
        model::agglomerative(vbatch::cpu_serial{}, {e.values.data(), 6, 0}, {});
      },
      vbatch::errc::invalid_argument, {"agglomerative embeddings", "dimension 0"}));
  const std::vector<float> s(6);
  EXPECT_TRUE(throws_error(
      [&] {
        model::agglomerative_from_similarity({s.data(), 2, 3}, {});
      },
      vbatch::errc::invalid_argument, {"agglomerative", "similarity is 2x3"}));
}

// ---------------------------------------------------------------------------------------------
// DBSCAN

TEST(Dbscan, RecoversSeparableClusters) {
  const labelled_embeddings e = synthetic_clusters(8, 30, 64, 0.08f, 15);
  const std::vector<int> labels = model::dbscan(vbatch::cpu_par{2}, e.view(), {.eps = 0.4f, .min_points = 5});
  const double ari = model::adjusted_rand_index(labels, e.truth);
  vbatch_test::record("ari_dbscan", ari);
  EXPECT_GE(ari, 0.95);
  EXPECT_EQ(cluster_count(labels), 8);
  EXPECT_EQ(std::count(labels.begin(), labels.end(), -1), 0);
}

// DBSCAN written from its definition: neighbourhoods, core points, components of core points
// joined by union-find over every core pair, each border point to its nearest core neighbour
// (lower index on a tie).
std::vector<int> brute_force_dbscan(const std::vector<float>& s, int n, float eps, int min_points) {
  const auto distance = [&](int i, int j) { return 1.0 - double(s[std::size_t(std::min(i, j)) * n + std::max(i, j)]); };
  std::vector<bool> core(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    int count = 0;
    for (int j = 0; j < n; ++j) count += (i == j || distance(i, j) <= eps);
    core[i] = count >= min_points;
  }
  std::vector<int> component(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) component[i] = i;
  const auto root = [&](int i) {
    while (component[i] != i) i = component[i];
    return i;
  };
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (i != j && core[i] && core[j] && distance(i, j) <= eps) component[root(i)] = root(j);
  std::vector<int> label(std::size_t(n), -1);
  for (int i = 0; i < n; ++i) {
    if (core[i]) {
      label[i] = root(i);
      continue;
    }
    int nearest = -1;
    for (int j = 0; j < n; ++j)
      if (core[j] && distance(i, j) <= eps && (nearest < 0 || distance(i, j) < distance(i, nearest))) nearest = j;
    if (nearest >= 0) label[i] = root(nearest);
  }
  return model::relabel_by_first_appearance(label);
}

TEST(Dbscan, EqualsBruteForceOnRandomSmallInputs) {
  int noise = 0, border = 0;
  for (int trial = 0; trial < 30; ++trial) {
    const labelled_embeddings e =
        synthetic_clusters(1 + trial % 4, 3 + trial % 7, 4 + trial % 3, 0.25f + 0.05f * (trial % 5), 200 + trial);
    const std::vector<float> s = similarity_of(e);
    for (float eps : {0.02f, 0.08f, 0.15f, 0.3f, 0.6f})
      for (int min_points : {1, 2, 3, 5, 8}) {
        SCOPED_TRACE(testing::Message() << "trial " << trial << " eps " << eps << " min_points " << min_points);
        const std::vector<int> got = model::dbscan_from_similarity({s.data(), e.n, e.n}, {eps, min_points});
        ASSERT_EQ(got, brute_force_dbscan(s, e.n, eps, min_points));
        noise += int(std::count(got.begin(), got.end(), -1));
        border += min_points > 1 && cluster_count(got) > 0;
      }
  }
  // The cases exercise noise and clusters both, not only one kind of outcome.
  EXPECT_GT(noise, 0);
  EXPECT_GT(border, 0);
}

TEST(Dbscan, BorderPointGoesToNearestCorePoint) {
  // On a circle (2-d unit vectors by angle): cores from 0° to 20° and from 60° to 80°; the last
  // item, at 40.5°, has only 20° (20.5° away) and 60° (19.5° away) within eps (the cosine
  // distance of 21°), too few to be core, and is nearer 60°.
  const double deg = 3.14159265358979323846 / 180;
  const std::vector<double> angles = {0, 5, 10, 15, 20, 60, 65, 70, 75, 80, 40.5};
  std::vector<float> values;
  for (double a : angles) values.push_back(float(std::cos(a * deg))), values.push_back(float(std::sin(a * deg)));
  const float eps = float(1 - std::cos(21 * deg));
  const std::vector<int> labels = model::dbscan(vbatch::cpu_serial{}, {values.data(), 11, 2}, {.eps = eps, .min_points = 4});
  EXPECT_EQ(labels, (std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
}

TEST(Dbscan, RejectsBadInput) {
  const labelled_embeddings e = synthetic_clusters(2, 3, 4, 0.1f, 16);
  EXPECT_TRUE(throws_error([&] { model::dbscan(vbatch::cpu_serial{}, e.view(), {.eps = 0.0f}); }, vbatch::errc::invalid_argument,
                           {"dbscan", "eps = 0"}));
  EXPECT_TRUE(throws_error([&] { model::dbscan(vbatch::cpu_serial{}, e.view(), {.eps = -1.0f}); }, vbatch::errc::invalid_argument,
                           {"dbscan", "eps = -1"}));
  EXPECT_TRUE(throws_error([&] { model::dbscan(vbatch::cpu_serial{}, e.view(), {.eps = 0.1f, .min_points = 0}); },
                           vbatch::errc::invalid_argument, {"dbscan", "min_points = 0"}));
  EXPECT_TRUE(throws_error(
      [&] {
        model::dbscan(vbatch::cpu_serial{}, {e.values.data(), -2, 4}, {});
      },
      vbatch::errc::invalid_argument, {"dbscan embeddings", "negative size"}));
  EXPECT_TRUE(model::dbscan(vbatch::cpu_serial{}, model::matrix_view<const float>{nullptr, 0, 4}, {}).empty());
}

}  // namespace
