#pragma once
// Build configuration shared by every vbatch header: the host/device qualifier, the version and
// the versioned namespace.

#define VBATCH_VERSION_MAJOR 0
#define VBATCH_VERSION_MINOR 1
#define VBATCH_VERSION_PATCH 0
#define VBATCH_VERSION_STRING "0.1.0"

// Kernel bodies are written once and compiled for the CPU by the host compiler and for the GPU by
// nvcc; only nvcc knows the CUDA qualifiers.
#if defined(__CUDACC__)
#define VBATCH_HOST_DEVICE __host__ __device__
#else
#define VBATCH_HOST_DEVICE
#endif

namespace vbatch::inline v0 {
inline constexpr const char* version_string = VBATCH_VERSION_STRING;
}  // namespace vbatch::inline v0
