#pragma once
// Flatten and scatter: nested items (scenes of tracks of frames of boxes, any range of ranges) go
// to a model as one list, in batches, and their outputs come back in the same structure.
//
//   std::vector<std::vector<std::vector<model::crop>>> scenes = ...;   // scene -> frame -> box
//   const auto flat = model::flatten(scenes);                          // flat.items[i] at flat.keys[i]
//   const auto results = model::run_batches(flat, policy, [&](std::span<const model::crop> batch) {
//     return embed(batch);                                             // one output per item
//   });
//   const auto nested = model::scatter(scenes, results.outputs);       // nested[s][f][b]: optional output
//   for (const model::item_failure& f : results.failures) log(to_string(f.key), f.reason);
//
// A leaf is anything that is not a range, a string (anything convertible to std::string_view), a
// range of itself (std::filesystem::path), or a type for which treat_as_leaf is specialised true;
// ranges of ranges nest to any depth. Items are visited depth first, in each range's order, and
// empty inner ranges stay empty in the scattered structure.
//
// Failures. A batch that runs out of memory backs off through the policy (batch::for_each_batch,
// no item lost). A batch that throws anything else is rerun one item at a time, so that only the
// items that fail on their own are reported, each with its key and the exception's message; the
// others keep their outputs and the run goes on.

#include <concepts>
#include <cstddef>
#include <exception>
#include <new>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "vbatch/batch/for_each_batch.hpp"
#include "vbatch/batch/policy.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::model {

// Specialise as true for a range type that is one item (a fixed-size array of values, say).
template <class T>
inline constexpr bool treat_as_leaf = false;

template <class T>
concept nested_range =
    std::ranges::input_range<const T> && !treat_as_leaf<T> && !std::convertible_to<const T&, std::string_view> &&
    !std::same_as<std::remove_cvref_t<std::ranges::range_value_t<const T>>, T>;

namespace detail {
template <class T>
struct leaf_of {
  using type = T;
};
template <nested_range T>
struct leaf_of<T> {
  using type = typename leaf_of<std::remove_cvref_t<std::ranges::range_value_t<const T>>>::type;
};

template <class T, class Out>
struct scattered_of {
  using type = Out;
};
template <nested_range T, class Out>
struct scattered_of<T, Out> {
  using type = std::vector<typename scattered_of<std::remove_cvref_t<std::ranges::range_value_t<const T>>, Out>::type>;
};
}  // namespace detail

// The leaf type of a nested range: crop for vector<vector<crop>>.
template <nested_range Nested>
using leaf_t = typename detail::leaf_of<Nested>::type;

// Nested std::vectors of the same shape as Nested, with Out leaves.
template <nested_range Nested, class Out>
using scattered_t = typename detail::scattered_of<Nested, Out>::type;

// Where a leaf came from: its index at each level (outermost first), and a label when flatten was
// given a labelling function.
struct item_key {
  std::vector<int> path;
  std::string label;

  friend bool operator==(const item_key&, const item_key&) = default;
};

// "2/0/5", or "2/0/5 (label)".
inline std::string to_string(const item_key& key) {
  std::string s;
  for (std::size_t i = 0; i < key.path.size(); ++i) s += (i ? "/" : "") + std::to_string(key.path[i]);
  return key.label.empty() ? s : s + " (" + key.label + ")";
}

template <class Leaf>
struct flat_items {
  std::vector<Leaf> items;     // the leaves, depth first
  std::vector<item_key> keys;  // keys[i]: where items[i] came from
};

struct no_label {};

namespace detail {
template <class Leaf, class Node, class Label>
void flatten_into(const Node& node, flat_items<Leaf>& flat, std::vector<int>& path, const Label& label) {
  int index = 0;
  for (const auto& child : node) {
    path.push_back(index++);
    if constexpr (nested_range<std::remove_cvref_t<decltype(child)>>) {
      flatten_into(child, flat, path, label);
    } else {
      flat.items.push_back(child);
      item_key key{path, {}};
      if constexpr (!std::same_as<Label, no_label>) key.label = std::string(label(child));
      flat.keys.push_back(std::move(key));
    }
    path.pop_back();
  }
}

template <class Node>
std::size_t count_leaves(const Node& node) {
  if constexpr (nested_range<Node>) {
    std::size_t n = 0;
    for (const auto& child : node) n += count_leaves(child);
    return n;
  } else {
    return 1;
  }
}

template <class Out, class Node, class Outputs>
auto scatter_from(const Node& node, const Outputs& outputs, std::size_t& next) {
  if constexpr (nested_range<Node>) {
    scattered_t<Node, Out> result;
    for (const auto& child : node) result.push_back(scatter_from<Out>(child, outputs, next));
    return result;
  } else {
    return Out(outputs[next++]);
  }
}
}  // namespace detail

// The leaves of `nested` in one list, with their keys; label(leaf), when given, names each key.
template <nested_range Nested, class Label = no_label>
flat_items<leaf_t<Nested>> flatten(const Nested& nested, Label label = {}) {
  flat_items<leaf_t<Nested>> flat;
  std::vector<int> path;
  detail::flatten_into(nested, flat, path, label);
  return flat;
}

// outputs[i] (one per leaf of `nested`, in flatten's order) placed where leaf i was: nested
// std::vectors of the same shape. `nested` must be the structure that was flattened.
template <nested_range Nested, std::ranges::random_access_range Outputs>
auto scatter(const Nested& nested, const Outputs& outputs) {
  using Out = std::ranges::range_value_t<Outputs>;
  const std::size_t leaves = detail::count_leaves(nested);
  if (leaves != std::ranges::size(outputs))
    raise(errc::invalid_argument, "scatter: {} outputs for {} items", std::ranges::size(outputs), leaves);
  std::size_t next = 0;
  return detail::scatter_from<Out>(nested, outputs, next);
}

struct item_failure {
  std::size_t index = 0;  // in the flat list
  item_key key;
  std::string reason;
};

template <class Out>
struct item_results {
  std::vector<std::optional<Out>> outputs;  // one per item; empty for the failed ones
  std::vector<item_failure> failures;       // in item order
  batch::run_summary summary;
};

namespace detail {
inline bool is_out_of_memory(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return true;
  } catch (const error& x) {
    return x.code() == errc::out_of_memory;
  } catch (...) {
    return false;
  }
}

inline std::string reason(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}
}  // namespace detail

// Runs fn(std::span<const Leaf> batch) -> std::vector<Out> (one output per item, in order) over
// all items in batches sized by the policy; see the header comment for what happens on failures.
template <class Leaf, batch::policy Policy, class Fn>
auto run_batches(const flat_items<Leaf>& flat, Policy& policy, Fn&& fn) {
  using Out = typename std::invoke_result_t<Fn&, std::span<const Leaf>>::value_type;
  item_results<Out> results;
  results.outputs.resize(flat.items.size());
  const auto run = [&](std::span<const Leaf> items, std::size_t first) {
    std::vector<Out> outputs = fn(items);
    if (outputs.size() != items.size())
      raise(errc::invalid_argument, "run_batches: {} outputs for a batch of {} items (from item {})", outputs.size(),
            items.size(), first);
    for (std::size_t i = 0; i < outputs.size(); ++i) results.outputs[first + i] = std::move(outputs[i]);
  };
  const auto fail_item = [&](std::size_t i, std::exception_ptr e) {
    results.outputs[i].reset();
    results.failures.push_back({i, flat.keys[i], detail::reason(e)});
  };
  results.summary = batch::for_each_batch(flat.items, policy, [&](std::span<const Leaf> items, std::size_t first) {
    std::exception_ptr failure;
    try {
      run(items, first);
    } catch (...) {
      failure = std::current_exception();
    }
    if (!failure) return;
    if (detail::is_out_of_memory(failure)) std::rethrow_exception(failure);  // for_each_batch backs off
    if (items.size() == 1) return fail_item(first, failure);
    for (std::size_t i = first; i < first + items.size(); ++i) {  // find the items that fail alone
      try {
        run(items.subspan(i - first, 1), i);
      } catch (...) {
        fail_item(i, std::current_exception());
      }
    }
  });
  return results;
}

}  // namespace vbatch::inline v0::model
