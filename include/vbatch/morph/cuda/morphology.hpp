#pragma once
// Morphology on vbatch::cuda{stream} (nvcc): the per-pixel kernels of morph/kernels.hpp, launched
// by the CUDA executor on device views.
//
//   #include "vbatch/morph/cuda/morphology.hpp"
//   vbatch::morph::dilate(vbatch::cuda{stream}, d_masks.view(), d_grown.view(), vbatch::morph::square(15));
//
// What runs: rectangles in two passes (a row pass then a column pass: O(w + h) per pixel),
// anything else directly (O(cells) per pixel), with the run table uploaded to device memory; the
// CPU's O(1) and packed schedules are not ported (algorithm::van_herk, segments and packed are
// refused on this executor). Temporaries are executor_traits<cuda>::memory (device memory); the
// call synchronises the stream before it frees them, so it returns when the work is done. morph
// needs nothing CUDA-specific beyond the executor's traits: this header only gathers the
// includes. What has been compiled, emulated or run on a GPU: docs/gpu-status.md.

#include "vbatch/core/cuda/executor.hpp"
#include "vbatch/core/cuda/memory.hpp"
#include "vbatch/morph/mask.hpp"
#include "vbatch/morph/morphology.hpp"
