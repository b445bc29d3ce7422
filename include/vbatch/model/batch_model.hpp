#pragma once
// Running a model over many crops in batches: preprocessing, the batch policy and back-off.
//
//   struct embedder {                                   // a batch_model
//     using output_view = model::matrix_view<float>;    // (N, D) rows; tensor_view<float> for maps
//     model::item_shape input_shape() const { return {3, 112, 112}; }
//     model::item_shape output_shape() const { return {512, 1, 1}; }
//     void operator()(model::tensor_view<const float> in, output_view out);   // N items in, N out
//   };
//   embedder net = load();                              // loaded once, reused for every batch
//   batch::backoff policy{batch::fixed{64}};
//   model::run_model(exec, net, frames, crops, policy, model::matrix_view<float>{emb, n, 512}, options);
//
// A batch_model takes an (N, C, H, W) batch in the executor's memory, f32 (or f16 if it declares
// `using input_element = vbatch::f16;`, for half-precision networks; input_shape() is one item's
// C, H, W), and writes N outputs of output_shape() each: the rows of a matrix_view (an embedding
// or scores of output_shape().elements() values) or the items of a tensor_view (score maps,
// per-item tensors). It must treat items independently, as inference does, so the outputs do not
// depend on the batch size.
//
// run_model preprocesses each batch (model/preprocess.hpp) into an input buffer in the
// executor's memory and calls the model on it with the batch's slice of the outputs. The policy
// decides the batch sizes through batch::for_each_batch: a batch that runs out of memory
// (std::bad_alloc or errc::out_of_memory, from the input buffer or the model) is retried with
// the policy's smaller size (backoff halves it), no item lost. A retried batch's outputs are
// written again, so every output is the one of a batch that completed.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vbatch/batch/for_each_batch.hpp"
#include "vbatch/batch/policy.hpp"
#include "vbatch/core/buffer.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/model/preprocess.hpp"
#include "vbatch/model/tensor.hpp"

namespace vbatch::inline v0::model {

// One item's (C, H, W).
struct item_shape {
  int c = 0, h = 0, w = 0;

  constexpr std::int64_t elements() const { return std::int64_t{c} * h * w; }
  friend constexpr bool operator==(const item_shape&, const item_shape&) = default;
};

// The element a model takes: its `input_element` (f16 for a half-precision network) if it
// declares one, else float.
template <class M>
struct model_input {
  using type = float;
};
template <class M>
requires requires { typename M::input_element; }
struct model_input<M> {
  using type = typename M::input_element;
};
template <class M>
using model_input_t = typename model_input<M>::type;

template <class M>
concept batch_model = input_element<model_input_t<M>> &&
    (std::same_as<typename M::output_view, matrix_view<float>> ||
     std::same_as<typename M::output_view, tensor_view<float>>)&&requires(M& model, const M& const_model,
                                                                          tensor_view<const model_input_t<M>> inputs,
                                                                          typename M::output_view outputs) {
  { const_model.input_shape() } -> std::convertible_to<item_shape>;
  { const_model.output_shape() } -> std::convertible_to<item_shape>;
  model(inputs, outputs);
};

namespace detail {
inline matrix_view<float> output_slice(const matrix_view<float>& all, int first, int count) { return all.rows_of(first, count); }
inline tensor_view<float> output_slice(const tensor_view<float>& all, int first, int count) { return all.items(first, count); }

inline status can_hold_outputs(const matrix_view<float>& out, std::size_t items, const item_shape& s) {
  if (std::size_t(out.rows) != items || out.cols != s.elements() || (items > 0 && out.data == nullptr))
    return fail(errc::invalid_argument, "run_model: outputs are {}x{} (rows,cols), the model gives {}x{} for {} items", out.rows,
                out.cols, items, s.elements(), items);
  return status::success();
}
inline status can_hold_outputs(const tensor_view<float>& out, std::size_t items, const item_shape& s) {
  if (std::size_t(out.n) != items || item_shape{out.c, out.h, out.w} != s || (items > 0 && out.data == nullptr))
    return fail(errc::invalid_argument, "run_model: outputs are {}x{}x{}x{} (N,C,H,W), the model gives {}x{}x{}x{}", out.n, out.c,
                out.h, out.w, items, s.c, s.h, s.w);
  return status::success();
}
}  // namespace detail

// Runs `model` over crops of `sources` (N,H,W,C u8, in the executor's memory) in batches sized by
// `policy`; outputs[i] (a row or an item) is the model's output for crops[i].
template <class Exec, batch_model Model, batch::policy Policy>
batch::run_summary run_model(const Exec& exec, Model& model, batch_view<const u8> sources, std::span<const crop> crops,
                             Policy& policy, typename Model::output_view outputs, const preprocess_options& options = {}) {
  const item_shape in = model.input_shape();
  if (in.c <= 0 || in.h <= 0 || in.w <= 0)
    raise(errc::invalid_argument, "run_model: the model's input shape {}x{}x{} (C,H,W) is empty", in.c, in.h, in.w);
  check(detail::can_hold_outputs(outputs, crops.size(), model.output_shape()));
  // Sized for the current batch: kept while the size holds, freed before a smaller one is taken,
  // so that a back-off gives its memory back.
  using element = model_input_t<Model>;
  buffer<element, typename executor_traits<Exec>::memory> input;
  return batch::for_each_batch(crops, policy, [&](std::span<const crop> batch, std::size_t first) {
    const int count = static_cast<int>(batch.size());
    const std::size_t needed = static_cast<std::size_t>(count * in.elements());
    if (input.size() != needed) {
      input = {};
      input = buffer<element, typename executor_traits<Exec>::memory>(needed);
    }
    const tensor_view<element> inputs{input.data(), count, in.c, in.h, in.w};
    preprocess(exec, sources, batch, inputs, options);
    model(tensor_view<const element>(inputs), detail::output_slice(outputs, static_cast<int>(first), count));
  });
}

}  // namespace vbatch::inline v0::model
