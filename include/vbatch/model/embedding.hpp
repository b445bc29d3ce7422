#pragma once
// Embedding operations: rows to unit length, the cosine-similarity matrix of two sets of
// embeddings, and the best k items of each key (the best frames of each track by a quality score).
//
//   vbatch::model::l2_normalize(vbatch::cpu_par{2}, embeddings);                  // (N,D) in place
//   vbatch::model::cosine_similarity(vbatch::cpu_par{2}, a, b, out);              // (N,D),(M,D) -> (N,M)
//   std::vector<int> best = vbatch::model::top_k_per_key(track_ids, quality, 5);  // indices, key by key
//
// cosine_similarity runs through for_each_index on every executor. On the host executors it packs
// both inputs, scaled to unit length, into panels and computes MR×NR register tiles (the
// compiler vectorises the NR loop; AVX-512 or AVX2 variants are chosen at run time), so each
// output is one sum over the dimensions in a fixed order: results are bit-identical for every
// thread count. Other executors (CUDA) compute tile_rows×tile_cols outputs per thread from the
// unpacked rows; they agree with the host to float rounding, not bit for bit.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "vbatch/core/buffer.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/model/tensor.hpp"

namespace vbatch::inline v0::model {

template <class T>
status can_use_matrix(const matrix_view<T>& m, const char* what) {
  if (m.rows < 0 || m.cols < 0) return fail(errc::invalid_argument, "{}: negative size {}x{} (rows,cols)", what, m.rows, m.cols);
  if (m.rows > 0 && m.cols == 0) return fail(errc::invalid_argument, "{}: {} rows of dimension 0", what, m.rows);
  if (m.rows > 0 && m.data == nullptr) return fail(errc::invalid_argument, "{}: null data for {}x{}", what, m.rows, m.cols);
  if (m.stride != 0 && m.stride < m.cols)
    return fail(errc::invalid_argument, "{}: row stride {} < {} columns", what, m.stride, m.cols);
  return status::success();
}

inline status can_cosine_similarity(const matrix_view<const float>& a, const matrix_view<const float>& b,
                                    const matrix_view<float>& out) {
  if (auto s = can_use_matrix(a, "cosine_similarity a"); !s) return s;
  if (auto s = can_use_matrix(b, "cosine_similarity b"); !s) return s;
  if (auto s = can_use_matrix(out, "cosine_similarity out"); !s) return s;
  if (a.rows > 0 && b.rows > 0 && a.cols != b.cols)
    return fail(errc::invalid_argument, "cosine_similarity: a has dimension {} but b has {}", a.cols, b.cols);
  if (out.rows != a.rows || out.cols != b.rows)
    return fail(errc::invalid_argument, "cosine_similarity: out is {}x{} but a has {} rows and b {} (out: rows of a x rows of b)",
                out.rows, out.cols, a.rows, b.rows);
  return status::success();
}

namespace detail {

// 1/|row| (0 for a zero row), the sum of squares in double so that 4096-d rows lose nothing.
template <class T>
VBATCH_HOST_DEVICE float inverse_norm(const T* row, int cols) {
  double sum = 0;
  for (int k = 0; k < cols; ++k) sum += double(row[k]) * double(row[k]);
  return sum > 0 ? float(1.0 / sqrt(sum)) : 0.0f;
}

struct normalize_kernel {
  matrix_view<float> m;
  VBATCH_HOST_DEVICE void operator()(int, int r, int) const {
    float* row = m.row(r);
    const float scale = inverse_norm(row, m.cols);
    for (int k = 0; k < m.cols; ++k) row[k] *= scale;
  }
};

struct inverse_norm_kernel {
  matrix_view<const float> m;
  float* out;
  VBATCH_HOST_DEVICE void operator()(int, int r, int) const { out[r] = inverse_norm(m.row(r), m.cols); }
};

// Any executor: each index computes tile_rows×tile_cols outputs, rows of a against rows of b,
// reading every loaded element of a tile_cols times and of b tile_rows times from registers.
struct similarity_tile_kernel {
  static constexpr int tile_rows = 4, tile_cols = 4;
  matrix_view<const float> a, b;
  const float* inv_a;  // 1/|a row|, a.rows values
  const float* inv_b;
  matrix_view<float> out;

  VBATCH_HOST_DEVICE void operator()(int, int ty, int tx) const {
    const int r0 = ty * tile_rows, c0 = tx * tile_cols;
    const float* ra[tile_rows];
    const float* rb[tile_cols];
    // Rows past the end repeat the last one: always in bounds, never stored.
    for (int i = 0; i < tile_rows; ++i) ra[i] = a.row(r0 + i < a.rows ? r0 + i : a.rows - 1);
    for (int j = 0; j < tile_cols; ++j) rb[j] = b.row(c0 + j < b.rows ? c0 + j : b.rows - 1);
    float acc[tile_rows][tile_cols] = {};
    for (int k = 0; k < a.cols; ++k) {
      float bk[tile_cols];
      for (int j = 0; j < tile_cols; ++j) bk[j] = rb[j][k];
      for (int i = 0; i < tile_rows; ++i) {
        const float ak = ra[i][k];
        for (int j = 0; j < tile_cols; ++j) acc[i][j] += ak * bk[j];
      }
    }
    for (int i = 0; i < tile_rows && r0 + i < a.rows; ++i)
      for (int j = 0; j < tile_cols && c0 + j < b.rows; ++j) out(r0 + i, c0 + j) = acc[i][j] * inv_a[r0 + i] * inv_b[c0 + j];
  }
};

}  // namespace detail

// The host schedule: packed panels and register tiles, compiled per instruction set.
namespace cpu {

// Full unrolling of the tile loops (GCC does not at -O2 by itself); nvcc spells it its own way.
#if defined(__CUDACC__)
#define VBATCH_MODEL_UNROLL _Pragma("unroll")
#else
#define VBATCH_MODEL_UNROLL _Pragma("GCC unroll 16")
#endif

// Rows of one matrix, scaled to unit length, `width` rows at a time dimension-major: panel p holds
// element k of row p*width + w at [(p*cols + k)*width + w]; rows past the end are zeros.
struct pack_kernel {
  matrix_view<const float> m;
  const float* inv_norm;
  float* panels;
  int width;
  void operator()(int, int p, int) const {
    float* panel = panels + std::int64_t{p} * m.cols * width;
    for (int w = 0; w < width; ++w) {
      const int r = p * width + w;
      if (r < m.rows) {
        const float* row = m.row(r);
        for (int k = 0; k < m.cols; ++k) panel[std::int64_t{k} * width + w] = row[k] * inv_norm[r];
      } else {
        for (int k = 0; k < m.cols; ++k) panel[std::int64_t{k} * width + w] = 0.0f;
      }
    }
  }
};

// One MR×NR tile over all `depth` dimensions, NR as NR/W vectors of W floats (GCC/Clang vector
// extensions, unrolled, so that at -O2 too the accumulators stay in registers). The sum runs
// over k in order, the same for every tile. Panels are 64-byte aligned and NR*4 bytes
// a multiple of the vector size, so every vector load is aligned.
template <int MR, int NR, int W>
[[gnu::always_inline]] inline void micro_tile(const float* __restrict a_panel, const float* __restrict b_panel, int depth,
                                              float (&out)[MR][NR]) {
  using vec [[gnu::vector_size(W * sizeof(float)), gnu::may_alias]] = float;
  constexpr int NV = NR / W;
  vec acc[MR][NV] = {};
  for (int k = 0; k < depth; ++k) {
    const vec* bk = reinterpret_cast<const vec*>(b_panel + std::int64_t{k} * NR);
    const float* ak = a_panel + std::int64_t{k} * MR;
    VBATCH_MODEL_UNROLL
    for (int i = 0; i < MR; ++i) {
      VBATCH_MODEL_UNROLL
      for (int v = 0; v < NV; ++v) acc[i][v] += ak[i] * bk[v];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      for (int w = 0; w < W; ++w) out[i][v * W + w] = acc[i][v][w];
}

// A block of the output: a_panels [a_first, a_last) × b_panels [b_first, b_last). Each b panel
// (depth×NR floats, 32 KB at 512-d) stays in L1 while the block's a panels stream past it from L2.
template <int MR, int NR, int W>
[[gnu::always_inline]] inline void similarity_block(const float* a_packed, const float* b_packed, int depth, int a_first,
                                                    int a_last, int b_first, int b_last, matrix_view<float> out) {
  for (int q = b_first; q < b_last; ++q) {
    const float* b_panel = b_packed + std::int64_t{q} * depth * NR;
    const int c0 = q * NR, cols = std::min(NR, out.cols - c0);
    for (int p = a_first; p < a_last; ++p) {
      float acc[MR][NR];
      micro_tile<MR, NR, W>(a_packed + std::int64_t{p} * depth * MR, b_panel, depth, acc);
      const int r0 = p * MR, rows = std::min(MR, out.rows - r0);
      for (int i = 0; i < rows; ++i) std::copy_n(acc[i], cols, out.row(r0 + i) + c0);
    }
  }
}

enum class isa { generic, avx2, avx512 };

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
inline isa best_isa() {
  static const isa level = __builtin_cpu_supports("avx512f")                                   ? isa::avx512
                           : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? isa::avx2
                                                                                               : isa::generic;
  return level;
}
// Tile shapes filling the register file: 8×32 is 16 of 32 zmm accumulators, 6×16 is 12 of 16 ymm.
__attribute__((target("avx512f,fma"))) inline void similarity_block_avx512(const float* a, const float* b, int depth, int a0,
                                                                           int a1, int b0, int b1, matrix_view<float> out) {
  similarity_block<8, 32, 16>(a, b, depth, a0, a1, b0, b1, out);
}
__attribute__((target("avx2,fma"))) inline void similarity_block_avx2(const float* a, const float* b, int depth, int a0, int a1,
                                                                      int b0, int b1, matrix_view<float> out) {
  similarity_block<6, 16, 8>(a, b, depth, a0, a1, b0, b1, out);
}
#else
inline isa best_isa() { return isa::generic; }
#endif

struct tile_shape {
  int mr, nr;
};
inline tile_shape tile_shape_of(isa level) {
  switch (level) {
    case isa::avx512:
      return {8, 32};
    case isa::avx2:
      return {6, 16};
    case isa::generic:
      break;
  }
  return {4, 8};
}

// Index (0, y, x): a panels [y*block_a, ...) × b panels [x*block_b, ...).
struct similarity_block_kernel {
  // 16 a panels (128 rows of 512-d at 8×32: 256 KB) stay in L2 while b panels pass.
  static constexpr int block_a_panels = 16, block_b_panels = 8;
  const float* a_packed;
  const float* b_packed;
  int depth, a_panels, b_panels;
  isa level;
  matrix_view<float> out;

  void operator()(int, int y, int x) const {
    const int a0 = y * block_a_panels, a1 = std::min(a_panels, a0 + block_a_panels);
    const int b0 = x * block_b_panels, b1 = std::min(b_panels, b0 + block_b_panels);
    switch (level) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
      case isa::avx512:
        return similarity_block_avx512(a_packed, b_packed, depth, a0, a1, b0, b1, out);
      case isa::avx2:
        return similarity_block_avx2(a_packed, b_packed, depth, a0, a1, b0, b1, out);
#endif
      default:
        return similarity_block<4, 8, 4>(a_packed, b_packed, depth, a0, a1, b0, b1, out);
    }
  }
};

// The host schedule of cosine_similarity; `level` chooses the instruction set (tests pin it).
template <class Exec>
void cosine_similarity(const Exec& exec, matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> out,
                       isa level) {
  const tile_shape t = tile_shape_of(level);
  const int depth = a.cols, a_panels = (a.rows + t.mr - 1) / t.mr, b_panels = (b.rows + t.nr - 1) / t.nr;
  std::vector<float> inv(static_cast<std::size_t>(a.rows) + b.rows);
  for_each_index(exec, extent3{1, a.rows, 1}, detail::inverse_norm_kernel{a, inv.data()});
  for_each_index(exec, extent3{1, b.rows, 1}, detail::inverse_norm_kernel{b, inv.data() + a.rows});
  buffer<float> a_packed(std::size_t(a_panels) * t.mr * depth), b_packed(std::size_t(b_panels) * t.nr * depth);
  for_each_index(exec, extent3{1, a_panels, 1}, pack_kernel{a, inv.data(), a_packed.data(), t.mr});
  for_each_index(exec, extent3{1, b_panels, 1}, pack_kernel{b, inv.data() + a.rows, b_packed.data(), t.nr});
  using block = similarity_block_kernel;
  const extent3 blocks{1, (a_panels + block::block_a_panels - 1) / block::block_a_panels,
                       (b_panels + block::block_b_panels - 1) / block::block_b_panels};
  for_each_index(exec, blocks, block{a_packed.data(), b_packed.data(), depth, a_panels, b_panels, level, out});
}

}  // namespace cpu

// Scales every row of m to unit length; a zero row stays zero.
template <class Exec>
void l2_normalize(const Exec& exec, matrix_view<float> m) {
  check(can_use_matrix(m, "l2_normalize m"));
  for_each_index(exec, extent3{1, m.rows, 1}, detail::normalize_kernel{m});
  executor_traits<Exec>::synchronize(exec);
}

// out(i, j) = cos(a row i, b row j) = <a_i, b_j> / (|a_i| |b_j|); 0 where either row is zero.
// Views in the executor's memory (device memory for cuda{}).
template <class Exec>
void cosine_similarity(const Exec& exec, matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> out) {
  check(can_cosine_similarity(a, b, out));
  if (out.rows == 0 || out.cols == 0) return;
  if constexpr (host_executor<Exec>) {
    cpu::cosine_similarity(exec, a, b, out, cpu::best_isa());
  } else {
    buffer<float, typename executor_traits<Exec>::memory> inv(static_cast<std::size_t>(a.rows) + b.rows);
    for_each_index(exec, extent3{1, a.rows, 1}, detail::inverse_norm_kernel{a, inv.data()});
    for_each_index(exec, extent3{1, b.rows, 1}, detail::inverse_norm_kernel{b, inv.data() + a.rows});
    using tile = detail::similarity_tile_kernel;
    const extent3 tiles{1, (a.rows + tile::tile_rows - 1) / tile::tile_rows, (b.rows + tile::tile_cols - 1) / tile::tile_cols};
    for_each_index(exec, tiles, tile{a, b, inv.data(), inv.data() + a.rows, out});
    executor_traits<Exec>::synchronize(exec);  // inv must outlive the kernels
  }
}

// Indices of the k best items of each key: the items of each key by descending score (ties: lower
// index first), at most k of them; keys in order of first appearance. keys and scores are one
// value per item.
inline std::vector<int> top_k_per_key(std::span<const int> keys, std::span<const float> scores, int k) {
  if (keys.size() != scores.size())
    raise(errc::invalid_argument, "top_k_per_key: {} keys but {} scores (one each per item)", keys.size(), scores.size());
  if (k <= 0) raise(errc::invalid_argument, "top_k_per_key: k = {} must be positive", k);
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (std::isnan(scores[i])) raise(errc::invalid_argument, "top_k_per_key: scores[{}] is NaN", i);
  // Items grouped by key in order of first appearance, then by score.
  std::map<int, int> rank_of_key;
  std::vector<int> key_rank(keys.size());  // per item: rank of its key by first appearance
  for (std::size_t i = 0; i < keys.size(); ++i)
    key_rank[i] = rank_of_key.try_emplace(keys[i], int(rank_of_key.size())).first->second;
  std::vector<int> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  std::sort(order.begin(), order.end(), [&](int x, int y) {
    if (key_rank[x] != key_rank[y]) return key_rank[x] < key_rank[y];
    if (scores[x] != scores[y]) return scores[x] > scores[y];
    return x < y;
  });
  std::vector<int> best;
  for (std::size_t i = 0, taken = 0; i < order.size(); ++i) {
    taken = (i > 0 && key_rank[order[i]] == key_rank[order[i - 1]]) ? taken + 1 : 0;
    if (taken < std::size_t(k)) best.push_back(order[i]);
  }
  return best;
}

}  // namespace vbatch::inline v0::model
