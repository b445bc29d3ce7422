#pragma once
// What every fuzz target shares: how a target tells an expected refusal from a finding.
//
// A target calls the project's parsers on the fuzzer's bytes inside expect_refusals(): a
// vbatch::error is the documented answer to bad input; any other exception escapes, and
// libFuzzer reports it (uncaught exception -> std::terminate -> a crash with the input saved).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "vbatch/core/error.hpp"

namespace vbatch_fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `f`; a vbatch::error is an expected outcome, anything else is not caught.
template <class F>
void expect_refusals(F&& f) {
  try {
    f();
  } catch (const vbatch::error&) {
  }
}

// A finding that is not a crash (a broken invariant): abort, so libFuzzer saves the input.
[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what);
  std::abort();
}

}  // namespace vbatch_fuzz
