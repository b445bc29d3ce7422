#pragma once
// Interop with cuda::std::mdspan (libcu++ from CCCL): a batch_view as a rank-4 strided mdspan
// indexed (n, y, x, c), for code written against mdspan. Needs CCCL on the include path
// (link CCCL::CCCL).

#include <cstdint>

#include <cuda/std/mdspan>

#include "vbatch/core/view.hpp"

namespace vbatch::inline v0 {

template <class T>
using batch_mdspan = ::cuda::std::mdspan<T, ::cuda::std::dextents<std::int64_t, 4>, ::cuda::std::layout_stride>;

template <class T>
VBATCH_HOST_DEVICE batch_mdspan<T> to_mdspan(const batch_view<T>& v) {
  using extents = ::cuda::std::dextents<std::int64_t, 4>;
  const ::cuda::std::array<std::int64_t, 4> strides{v.stride_n, v.stride_h, v.stride_w, 1};
  return batch_mdspan<T>(v.data, ::cuda::std::layout_stride::mapping<extents>(extents(v.n, v.h, v.w, v.c), strides));
}

}  // namespace vbatch::inline v0
