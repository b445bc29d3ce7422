// Shard specs ("i/n", --shard): batch::parse_shard, and shard_of's promise that the shards of a
// count are disjoint, contiguous and cover it.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_util.hpp"
#include "vbatch/batch/partition.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vbatch_fuzz::expect_refusals([&] {
    const vbatch::batch::shard s = vbatch::batch::parse_shard(vbatch_fuzz::as_text(data, size));
    if (s.count == 0 || s.index >= s.count) vbatch_fuzz::finding("an impossible shard was accepted");
    // Item counts from none to beyond 2^32, including ones where count * index overflows a naive product.
    for (const std::size_t items :
         {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1} << 20, std::size_t{1} << 40, SIZE_MAX / 2, SIZE_MAX}) {
      const vbatch::batch::index_range r = vbatch::batch::shard_of(items, s);
      if (r.first > r.last || r.last > items) vbatch_fuzz::finding("a shard's range is not inside the items");
      if (s.index == 0 && r.first != 0) vbatch_fuzz::finding("the first shard does not start at 0");
      if (s.index + 1 == s.count && r.last != items) vbatch_fuzz::finding("the last shard does not end at the count");
      if (s.index + 1 < s.count && vbatch::batch::shard_of(items, {s.index + 1, s.count}).first != r.last)
        vbatch_fuzz::finding("shards are not contiguous");
    }
  });
  return 0;
}
