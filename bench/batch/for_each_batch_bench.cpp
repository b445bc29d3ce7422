// What batching costs: for_each_batch with each policy over items whose work is nothing, so the
// time per batch is the policies' and the loop's own overhead (compare: one 8K -> 8 x 1080p e2p
// batch takes about 20-40 ms). Baseline: a plain loop over the same batches.
//
//   build/release/bench/for_each_batch_bench

#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "vbatch/batch/for_each_batch.hpp"

namespace {

namespace batch = vbatch::batch;

constexpr std::size_t items = 1 << 16, batch_size = 16;

std::uint64_t plenty() { return std::uint64_t{64} << 30; }

template <class MakePolicy>
void run(benchmark::State& state, MakePolicy make) {
  std::vector<int> v(items);
  std::iota(v.begin(), v.end(), 0);
  std::size_t batches = 0;
  for (auto _ : state) {
    auto policy = make();
    long sum = 0;
    batches += batch::for_each_batch(v, policy, [&](std::span<int> b, std::size_t) { sum += b.front(); }).batches;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(batches));  // items/s here means batches/s
  state.counters["ns_per_batch"] =
      benchmark::Counter(double(batches), benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
}

void plain_loop(benchmark::State& state) {
  std::vector<int> v(items);
  std::iota(v.begin(), v.end(), 0);
  std::size_t batches = 0;
  for (auto _ : state) {
    long sum = 0;
    for (std::size_t first = 0; first < v.size(); first += batch_size, ++batches) sum += v[first];
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(batches));
}

void fixed_policy(benchmark::State& state) {
  run(state, [] { return batch::fixed(batch_size); });
}
void memory_budget_policy(benchmark::State& state) {
  run(state, [] { return batch::memory_budget(0.5, std::uint64_t{2} << 30, 1, batch_size, 0, plenty); });
}
void probe_policy(benchmark::State& state) {
  run(state, [] { return batch::probe(1, batch_size); });
}
void backoff_memory_budget(benchmark::State& state) {
  run(state, [] { return batch::backoff(batch::memory_budget(0.5, std::uint64_t{2} << 30, 1, batch_size, 0, plenty)); });
}

BENCHMARK(plain_loop);
BENCHMARK(fixed_policy);
BENCHMARK(memory_budget_policy);
BENCHMARK(probe_policy);
BENCHMARK(backoff_memory_budget);

}  // namespace

BENCHMARK_MAIN();
