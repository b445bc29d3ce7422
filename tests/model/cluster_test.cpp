// Clustering by cosine distance: agglomerative (average, complete), DBSCAN and HDBSCAN recover
// synthetic clusters with known labels, DBSCAN equals a brute-force reference, agglomerative equals
// a naive O(N³) merge loop, HDBSCAN gives scikit-learn's partitions on committed reference cases
// (tests/data/clusters), and the ARI and purity scores take known values.

#include "vbatch/model/cluster.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
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

// ---------------------------------------------------------------------------------------------
// HDBSCAN

// A scikit-learn reference case of tests/data/clusters (written by make_hdbscan_cases.py).
struct hdbscan_case {
  std::string name;
  model::hdbscan_options options;
  labelled_embeddings items;  // truth: sklearn's labels (-1 noise)
  std::vector<double> probabilities;
};

hdbscan_case read_hdbscan_case(const std::string& name) {
  const std::string path = std::string(VBATCH_TEST_DATA_DIR) + "/clusters/hdbscan_" + name + ".csv";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  hdbscan_case c{name, {}, {}, {}};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# options:", 0) == 0) {
      std::istringstream words(line.substr(10));
      for (std::string word; words >> word;) {
        const std::string key = word.substr(0, word.find('=')), value = word.substr(word.find('=') + 1);
        if (key == "min_cluster_size") c.options.min_cluster_size = std::stoi(value);
        if (key == "min_samples" && value != "none") c.options.min_samples = std::stoi(value);
        if (key == "cluster_selection_method")
          c.options.cluster_selection_method = value == "leaf" ? model::cluster_selection::leaf : model::cluster_selection::eom;
        if (key == "cluster_selection_epsilon") c.options.cluster_selection_epsilon = std::stof(value);
        if (key == "allow_single_cluster") c.options.allow_single_cluster = value == "1";
      }
    }
    if (line.empty() || line[0] == '#' || line.rfind("label", 0) == 0) continue;
    std::istringstream fields(line);
    std::string field;
    std::getline(fields, field, ',');
    c.items.truth.push_back(std::stoi(field));
    std::getline(fields, field, ',');
    c.probabilities.push_back(std::stod(field));
    int d = 0;
    for (; std::getline(fields, field, ','); ++d) c.items.values.push_back(std::strtof(field.c_str(), nullptr));
    if (c.items.n++ == 0) c.items.d = d;
    if (d != c.items.d) throw std::runtime_error(path + ": rows of different lengths");
  }
  return c;
}

const std::vector<std::string> hdbscan_cases = {
    "eom_blobs",      "eom_min_samples",        "leaf_nested", "eom_epsilon", "leaf_epsilon",
    "single_cluster", "single_cluster_epsilon", "blobs_48d"};

// The same partition, numbering aside, and the same noise items.
::testing::AssertionResult same_partition(const std::vector<int>& a, const std::vector<int>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " vs " << b.size() << " labels";
  const double ari = model::adjusted_rand_index(a, b);
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] < 0) != (b[i] < 0))
      return ::testing::AssertionFailure() << "item " << i << " is noise in one only (" << a[i] << " vs " << b[i] << "); ARI "
                                           << ari;
  if (ari != 1.0) return ::testing::AssertionFailure() << "ARI " << ari;
  return ::testing::AssertionSuccess();
}

TEST(Hdbscan, MatchesScikitLearnReferenceCases) {
  for (const std::string& name : hdbscan_cases) {
    SCOPED_TRACE("case " + name);
    const hdbscan_case c = read_hdbscan_case(name);
    ASSERT_GT(c.items.n, 0);
    const model::hdbscan_result got = model::hdbscan(vbatch::cpu_par{2}, c.items.view(), c.options);
    EXPECT_TRUE(same_partition(got.labels, c.items.truth));
    EXPECT_EQ(cluster_count(got.labels), cluster_count(model::relabel_by_first_appearance(c.items.truth)));
    double worst = 0;
    for (int i = 0; i < c.items.n; ++i) worst = std::max(worst, std::abs(double(got.probabilities[i]) - c.probabilities[i]));
    vbatch_test::record("probability_error_" + name, worst);
    EXPECT_LT(worst, 1e-3) << "largest probability difference from sklearn's probabilities_";
  }
}

// Each option the reference cases exercise changes their partition: an ignored option fails.
TEST(Hdbscan, ReferenceCasesDependOnTheirOption) {
  const auto differs = [](const std::string& name, auto change) {
    hdbscan_case c = read_hdbscan_case(name);
    change(c.options);
    return !same_partition(model::hdbscan(vbatch::cpu_par{2}, c.items.view(), c.options).labels, c.items.truth);
  };
  EXPECT_TRUE(differs("eom_min_samples", [](auto& o) { o.min_samples.reset(); }));
  EXPECT_TRUE(differs("leaf_nested", [](auto& o) { o.cluster_selection_method = model::cluster_selection::eom; }));
  EXPECT_TRUE(differs("eom_epsilon", [](auto& o) { o.cluster_selection_epsilon = 0; }));
  EXPECT_TRUE(differs("leaf_epsilon", [](auto& o) { o.cluster_selection_epsilon = 0; }));
  EXPECT_TRUE(differs("single_cluster", [](auto& o) { o.allow_single_cluster = false; }));
  EXPECT_TRUE(differs("single_cluster_epsilon", [](auto& o) { o.cluster_selection_epsilon = 0; }));
}

TEST(Hdbscan, RecoversSeparableClusters) {
  const labelled_embeddings e = synthetic_clusters(8, 30, 64, 0.08f, 17);
  const model::hdbscan_result got = model::hdbscan(vbatch::cpu_par{2}, e.view(), {.min_cluster_size = 5});
  const double ari = model::adjusted_rand_index(got.labels, e.truth);
  vbatch_test::record("ari_hdbscan", ari);
  EXPECT_GE(ari, 0.95);
  EXPECT_EQ(cluster_count(got.labels), 8);
  EXPECT_EQ(got.labels.front(), 0);
  for (std::size_t i = 0; i < got.labels.size(); ++i) {
    EXPECT_GE(got.probabilities[i], 0.0f);
    EXPECT_LE(got.probabilities[i], 1.0f);
    if (got.labels[i] < 0) {
      EXPECT_EQ(got.probabilities[i], 0.0f);
    }
  }
}

TEST(Hdbscan, PermutingTheItemsGivesTheSamePartition) {
  for (const std::string& name : hdbscan_cases) {
    SCOPED_TRACE(std::string("case ") + name);
    const hdbscan_case c = read_hdbscan_case(name);
    std::vector<int> order(static_cast<std::size_t>(c.items.n));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(21));
    labelled_embeddings shuffled{{}, {}, c.items.n, c.items.d};
    for (int i : order)
      shuffled.values.insert(shuffled.values.end(), c.items.values.begin() + std::ptrdiff_t(i) * c.items.d,
                             c.items.values.begin() + std::ptrdiff_t(i + 1) * c.items.d);
    const model::hdbscan_result direct = model::hdbscan(vbatch::cpu_serial{}, c.items.view(), c.options);
    const model::hdbscan_result permuted = model::hdbscan(vbatch::cpu_serial{}, shuffled.view(), c.options);
    std::vector<int> back(order.size());
    for (std::size_t k = 0; k < order.size(); ++k) back[order[k]] = permuted.labels[k];
    EXPECT_TRUE(same_partition(back, direct.labels));
    for (std::size_t k = 0; k < order.size(); ++k) EXPECT_NEAR(permuted.probabilities[k], direct.probabilities[order[k]], 1e-5);
  }
}

TEST(Hdbscan, SameOnEveryExecutorAndFromSimilarity) {
  const labelled_embeddings e = synthetic_clusters(5, 25, 32, 0.2f, 18);
  const model::hdbscan_options options{.min_cluster_size = 4, .min_samples = 3};
  const model::hdbscan_result serial = model::hdbscan(vbatch::cpu_serial{}, e.view(), options);
  const model::hdbscan_result parallel = model::hdbscan(vbatch::cpu_par{2}, e.view(), options);
  EXPECT_EQ(serial.labels, parallel.labels);
  EXPECT_EQ(serial.probabilities, parallel.probabilities);
  const std::vector<float> s = similarity_of(e);
  EXPECT_EQ(model::hdbscan_from_similarity({s.data(), e.n, e.n}, options).labels, serial.labels);
  EXPECT_GT(cluster_count(serial.labels), 1);
}

TEST(Hdbscan, RejectsBadInput) {
  const labelled_embeddings e = synthetic_clusters(2, 3, 4, 0.1f, 19);
  const auto run = [&](model::hdbscan_options options) {
    return [=, &e] { model::hdbscan(vbatch::cpu_serial{}, e.view(), options); };
  };
  EXPECT_TRUE(throws_error(run({.min_cluster_size = 1}), vbatch::errc::invalid_argument, {"hdbscan", "min_cluster_size = 1"}));
  EXPECT_TRUE(throws_error(run({.min_cluster_size = 3, .min_samples = 0}), vbatch::errc::invalid_argument,
                           {"hdbscan", "min_samples = 0"}));
  EXPECT_TRUE(throws_error(run({.min_cluster_size = 3, .min_samples = 7}), vbatch::errc::invalid_argument,
                           {"hdbscan", "min_samples = 7", "6 items"}));
  EXPECT_TRUE(throws_error(run({.min_cluster_size = 7}), vbatch::errc::invalid_argument,
                           {"hdbscan", "min_samples = 7"}));  // min_samples defaults to min_cluster_size
  EXPECT_TRUE(throws_error(run({.min_cluster_size = 3, .cluster_selection_epsilon = -0.1f}), vbatch::errc::invalid_argument,
                           {"hdbscan", "cluster_selection_epsilon = -0.1"}));
  EXPECT_TRUE(throws_error(run({.min_cluster_size = 3, .cluster_selection_epsilon = std::nanf("")}),
                           vbatch::errc::invalid_argument, {"hdbscan", "cluster_selection_epsilon = nan"}));
  EXPECT_TRUE(throws_error(
      [] {
        model::hdbscan(vbatch::cpu_serial{}, model::matrix_view<const float>{nullptr, 0, 4}, {});
      },
      vbatch::errc::invalid_argument, {"hdbscan", "embeddings are empty"}));
  EXPECT_TRUE(throws_error(
      [] {
        model::hdbscan_from_similarity(model::matrix_view<const float>{nullptr, 0, 0}, {});
      },
      vbatch::errc::invalid_argument, {"hdbscan", "similarity is 0x0"}));
  EXPECT_TRUE(throws_error(
      [&] {
        model::hdbscan(vbatch::cpu_serial{}, {e.values.data(), -2, 4}, {});
      },
      vbatch::errc::invalid_argument, {"hdbscan embeddings", "negative size"}));
  const std::vector<float> s(6);
  EXPECT_TRUE(throws_error(
      [&] {
        model::hdbscan_from_similarity({s.data(), 2, 3}, {});
      },
      vbatch::errc::invalid_argument, {"hdbscan", "similarity is 2x3"}));
  EXPECT_EQ(model::hdbscan(vbatch::cpu_serial{}, e.view(), {.min_cluster_size = 2}).labels.size(), 6u);
}

}  // namespace
