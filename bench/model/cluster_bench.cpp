// HDBSCAN of 2,000 × 128-d embeddings (20 clusters of unit vectors plus 10% uniform noise), from
// the embeddings (similarity included) and from a precomputed similarity matrix (the O(N²) core
// distances, minimum spanning tree and tree work alone).
//
//   cluster_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Argument: threads (cpu_par; only the similarity matrix is computed in parallel). Counter: items
// per second.

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "vbatch/model/cluster.hpp"

namespace {

namespace model = vbatch::model;

constexpr int items = 2000, dimension = 128, clusters = 20;

const std::vector<float>& embeddings() {
  static const std::vector<float> values = [] {
    std::mt19937 rng(5);
    std::normal_distribution<float> gauss;
    std::vector<float> centres(std::size_t(clusters) * dimension);
    for (float& x : centres) x = gauss(rng) / std::sqrt(float(dimension));
    std::vector<float> v;
    for (int i = 0; i < items; ++i) {
      const bool noise = i % 10 == 9;
      for (int k = 0; k < dimension; ++k)
        v.push_back(noise ? gauss(rng) : centres[std::size_t(i % clusters) * dimension + k] + 0.05f * gauss(rng));
    }
    return v;
  }();
  return values;
}

void BM_hdbscan(benchmark::State& state) {
  const model::matrix_view<const float> e{embeddings().data(), items, dimension};
  const vbatch::cpu_par exec{static_cast<int>(state.range(0))};
  std::size_t found = 0;
  for (auto _ : state) {
    const model::hdbscan_result result = model::hdbscan(exec, e, {.min_cluster_size = 10});
    found = std::size_t(*std::max_element(result.labels.begin(), result.labels.end()) + 1);
    benchmark::DoNotOptimize(result.labels.data());
  }
  state.counters["clusters"] = double(found);
  state.SetItemsProcessed(std::int64_t(state.iterations()) * items);
}
BENCHMARK(BM_hdbscan)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_hdbscan_from_similarity(benchmark::State& state) {
  std::vector<float> s(std::size_t(items) * items);
  const model::matrix_view<const float> e{embeddings().data(), items, dimension};
  model::cosine_similarity(vbatch::cpu_par{2}, e, e, model::matrix_view<float>{s.data(), items, items});
  for (auto _ : state) {
    const model::hdbscan_result result = model::hdbscan_from_similarity({s.data(), items, items}, {.min_cluster_size = 10});
    benchmark::DoNotOptimize(result.labels.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * items);
}
BENCHMARK(BM_hdbscan_from_similarity)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
