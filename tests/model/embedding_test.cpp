// Embedding operations: cosine similarity against a double-precision reference on every host
// executor and on the device kernel (through a non-host executor), identical results for any
// thread count, L2 normalisation, top-k per key, and the checks on bad input.

#include "vbatch/model/embedding.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "test_util.hpp"

namespace {

namespace model = vbatch::model;
using vbatch_test::throws_error;

// A non-host executor running on this thread: cosine_similarity takes the path CUDA takes
// (per-thread tiles over unpacked rows, temporaries in the executor's memory).
struct device_like {};

}  // namespace

template <>
struct vbatch::executor_traits<device_like> {
  using memory = vbatch::host_memory;
  static constexpr bool host = false;
  static int concurrency(const device_like&) { return 1; }
  static void synchronize(const device_like&) {}
};

namespace {

template <class F>
void for_each_index(const device_like&, vbatch::extent3 e, F&& f) {
  for (int i = 0; i < e.n; ++i)
    for (int y = 0; y < e.h; ++y)
      for (int x = 0; x < e.w; ++x) f(i, y, x);
}
static_assert(vbatch::executor<device_like> && !vbatch::host_executor<device_like>);

std::vector<float> random_matrix(int rows, int cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss;
  std::vector<float> m(std::size_t(rows) * cols);
  for (float& v : m) v = gauss(rng);
  return m;
}

std::vector<double> reference_similarity(const std::vector<float>& a, int n, const std::vector<float>& b, int m, int d) {
  std::vector<double> out(std::size_t(n) * m);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      double dot = 0, na = 0, nb = 0;
      for (int k = 0; k < d; ++k) {
        const double x = a[std::size_t(i) * d + k], y = b[std::size_t(j) * d + k];
        dot += x * y, na += x * x, nb += y * y;
      }
      out[std::size_t(i) * m + j] = na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
    }
  return out;
}

template <class Exec>
std::vector<float> similarity(const Exec& exec, const std::vector<float>& a, int n, const std::vector<float>& b, int m, int d) {
  std::vector<float> out(std::size_t(n) * m, -7.0f);
  model::cosine_similarity(exec, model::matrix_view<const float>{a.data(), n, d}, model::matrix_view<const float>{b.data(), m, d},
                           model::matrix_view<float>{out.data(), n, m});
  return out;
}

double max_difference(const std::vector<float>& got, const std::vector<double>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  return worst;
}

// Sizes that leave partial tiles and blocks on both sides for every tile shape, a zero row in each input.
struct similarity_case {
  int n, m, d;
};
const similarity_case cases[] = {{1, 1, 1}, {7, 5, 3}, {37, 301, 64}, {130, 67, 512}, {9, 40, 1000}};

TEST(CosineSimilarity, MatchesDoubleReferenceOnEveryExecutor) {
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.n << "x" << c.m << "x" << c.d);
    std::vector<float> a = random_matrix(c.n, c.d, 1), b = random_matrix(c.m, c.d, 2);
    if (c.n > 2) std::fill_n(a.begin() + 2 * c.d, c.d, 0.0f);
    if (c.m > 3) std::fill_n(b.begin() + 3 * c.d, c.d, 0.0f);
    const std::vector<double> want = reference_similarity(a, c.n, b, c.m, c.d);
    EXPECT_LE(max_difference(similarity(vbatch::cpu_serial{}, a, c.n, b, c.m, c.d), want), 1e-5);
    EXPECT_LE(max_difference(similarity(vbatch::cpu_par{2}, a, c.n, b, c.m, c.d), want), 1e-5);
    EXPECT_LE(max_difference(similarity(device_like{}, a, c.n, b, c.m, c.d), want), 1e-5);
  }
}

TEST(CosineSimilarity, EveryInstructionSetMatchesReference) {
  const int n = 45, m = 70, d = 200;
  const std::vector<float> a = random_matrix(n, d, 3), b = random_matrix(m, d, 4);
  const std::vector<double> want = reference_similarity(a, n, b, m, d);
  for (auto level : {model::cpu::isa::generic, model::cpu::isa::avx2, model::cpu::isa::avx512}) {
    if (int(level) > int(model::cpu::best_isa())) continue;  // this CPU cannot run it
    std::vector<float> out(std::size_t(n) * m);
    model::cpu::cosine_similarity(vbatch::cpu_par{2}, {a.data(), n, d}, {b.data(), m, d}, {out.data(), n, m}, level);
    EXPECT_LE(max_difference(out, want), 1e-5) << "isa " << int(level);
  }
}

TEST(CosineSimilarity, IdenticalForEveryThreadCount) {
  const int n = 300, m = 410, d = 96;
  const std::vector<float> a = random_matrix(n, d, 5), b = random_matrix(m, d, 6);
  const std::vector<float> serial = similarity(vbatch::cpu_serial{}, a, n, b, m, d);
  for (int threads : {1, 2, 3}) EXPECT_EQ(similarity(vbatch::cpu_par{threads}, a, n, b, m, d), serial) << threads << " threads";
}

TEST(CosineSimilarity, HonoursRowStrides) {
  const int n = 20, m = 33, d = 17, stride = 24;
  const std::vector<float> dense_a = random_matrix(n, d, 7), dense_b = random_matrix(m, d, 8);
  std::vector<float> a(std::size_t(n) * stride, 99.0f), b(std::size_t(m) * stride, -99.0f), out(std::size_t(n) * 40, 5.0f);
  for (int r = 0; r < n; ++r) std::copy_n(dense_a.begin() + r * d, d, a.begin() + r * stride);
  for (int r = 0; r < m; ++r) std::copy_n(dense_b.begin() + r * d, d, b.begin() + r * stride);
  model::cosine_similarity(vbatch::cpu_par{2}, model::matrix_view<const float>{a.data(), n, d, stride},
                           model::matrix_view<const float>{b.data(), m, d, stride},
                           model::matrix_view<float>{out.data(), n, m, 40});
  const std::vector<double> want = reference_similarity(dense_a, n, dense_b, m, d);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < m; ++j) EXPECT_NEAR(out[i * 40 + j], want[i * m + j], 1e-5);
    for (int j = m; j < 40; ++j) EXPECT_EQ(out[i * 40 + j], 5.0f) << "wrote past the row at " << i << "," << j;
  }
}

TEST(CosineSimilarity, RejectsBadShapes) {
  std::vector<float> a(12), b(12), out(16);
  const model::matrix_view<const float> a3{a.data(), 4, 3}, b4{b.data(), 3, 4}, b3{b.data(), 4, 3};
  EXPECT_TRUE(throws_error(
      [&] {
        model::cosine_similarity(vbatch::cpu_serial{}, a3, b4, {out.data(), 4, 3});
      },
      vbatch::errc::invalid_argument, {"cosine_similarity", "dimension 3", "b has 4"}));
  EXPECT_TRUE(throws_error(
      [&] {
        model::cosine_similarity(vbatch::cpu_serial{}, a3, b3, {out.data(), 3, 4});
      },
      vbatch::errc::invalid_argument, {"cosine_similarity", "out is 3x4"}));
  EXPECT_TRUE(throws_error(
      [&] {
        model::cosine_similarity(vbatch::cpu_serial{}, {a.data(), 4, 0}, {b.data(), 4, 0}, {out.data(), 4, 4});
      },
      vbatch::errc::invalid_argument, {"cosine_similarity a", "dimension 0"}));
  EXPECT_TRUE(throws_error(
      [&] {
        model::cosine_similarity(vbatch::cpu_serial{}, {nullptr, 4, 3}, b3, {out.data(), 4, 4});
      },
      vbatch::errc::invalid_argument, {"cosine_similarity a", "null data"}));
  // No rows on one side: nothing to compute, not an error.
  model::cosine_similarity(vbatch::cpu_par{2}, {a.data(), 0, 3}, b3, {out.data(), 0, 4});
}

TEST(L2Normalize, RowsGetUnitLengthAndZeroRowsStayZero) {
  const int n = 9, d = 70;
  std::vector<float> m = random_matrix(n, d, 9);
  std::fill_n(m.begin() + 4 * d, d, 0.0f);
  const std::vector<float> before = m;
  model::l2_normalize(vbatch::cpu_par{2}, model::matrix_view<float>{m.data(), n, d});
  for (int r = 0; r < n; ++r) {
    double length = 0, original = 0;
    for (int k = 0; k < d; ++k)
      length += double(m[r * d + k]) * m[r * d + k], original += double(before[r * d + k]) * before[r * d + k];
    if (r == 4) {
      EXPECT_EQ(length, 0.0);
      continue;
    }
    EXPECT_NEAR(std::sqrt(length), 1.0, 1e-6) << "row " << r;
    for (int k = 0; k < d; ++k) EXPECT_NEAR(m[r * d + k], before[r * d + k] / std::sqrt(original), 1e-6);
  }
  EXPECT_TRUE(throws_error(
      [&] {
        model::l2_normalize(vbatch::cpu_serial{}, model::matrix_view<float>{m.data(), -1, d});
      },
      vbatch::errc::invalid_argument, {"l2_normalize m", "negative"}));
}

TEST(L2Normalize, SameOnDeviceKernelPath) {
  const int n = 5, d = 33;
  std::vector<float> host = random_matrix(n, d, 10), device = host;
  model::l2_normalize(vbatch::cpu_serial{}, model::matrix_view<float>{host.data(), n, d});
  model::l2_normalize(device_like{}, model::matrix_view<float>{device.data(), n, d});
  EXPECT_EQ(host, device);
}

TEST(TopKPerKey, BestScoresPerKeyInOrderOfFirstAppearanceTiesByIndex) {
  //                                 0     1     2     3     4     5     6     7     8
  const std::vector<int> keys = {7, 3, 7, 7, 3, 9, 7, 3, 7};
  const std::vector<float> scores = {0.5f, 0.9f, 0.8f, 0.5f, 0.9f, 0.1f, 0.8f, 0.2f, 0.3f};
  // Key 7: 2 (0.8), 6 (0.8), 0 (0.5), 3 (0.5), 8; key 3: 1 (0.9), 4 (0.9), 7; key 9: 5.
  EXPECT_EQ(model::top_k_per_key(keys, scores, 3), (std::vector<int>{2, 6, 0, 1, 4, 7, 5}));
  EXPECT_EQ(model::top_k_per_key(keys, scores, 1), (std::vector<int>{2, 1, 5}));
  EXPECT_EQ(model::top_k_per_key(keys, scores, 100), (std::vector<int>{2, 6, 0, 3, 8, 1, 4, 7, 5}));
  EXPECT_TRUE(model::top_k_per_key({}, {}, 2).empty());
}

TEST(TopKPerKey, RejectsBadInput) {
  const std::vector<int> keys = {1, 2};
  const std::vector<float> scores = {0.5f}, two = {0.5f, NAN};
  EXPECT_TRUE(throws_error([&] { model::top_k_per_key(keys, scores, 1); }, vbatch::errc::invalid_argument,
                           {"top_k_per_key", "2 keys but 1 scores"}));
  EXPECT_TRUE(
      throws_error([&] { model::top_k_per_key(keys, two, 0); }, vbatch::errc::invalid_argument, {"top_k_per_key", "k = 0"}));
  EXPECT_TRUE(throws_error([&] { model::top_k_per_key(keys, two, 1); }, vbatch::errc::invalid_argument, {"scores[1] is NaN"}));
}

}  // namespace
