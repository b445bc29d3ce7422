#pragma once
// The CPU emulation of CUDA (emulation.hpp) for a whole tool, such as e2p_emulated (e2p.cpp built
// by g++ with -include of this file), plus the device query a tool makes before choosing the GPU.
// Test-only, not installed.
//
// VBATCH_EMULATED_DEVICES=N sets the count cudaGetDeviceCount reports (default 1), so that the
// tests can also run the "no CUDA device" paths (--device cuda failing, --device auto falling back)
// of the emulated tool, as a machine without a GPU would.

#include <cstdlib>

#include "emulation.hpp"

inline cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return cudaErrorInvalidValue;
  const char* text = std::getenv("VBATCH_EMULATED_DEVICES");
  *count = text && *text ? std::atoi(text) : 1;
  return cudaSuccess;
}
