// Camera files: the JSON of a rig's cameras (io::parse_camera_file), strict about keys and types.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"
#include "vbatch/io/camera_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vbatch_fuzz::expect_refusals([&] {
    const vbatch::io::camera_file f = vbatch::io::parse_camera_file(vbatch_fuzz::as_text(data, size), "rig.json");
    if (f.cameras.empty()) vbatch_fuzz::finding("a camera file without cameras was accepted");
    for (const auto side : {f.width, f.height})
      if (side && (*side < 1 || *side > vbatch::io::image_limits{}.max_side))
        vbatch_fuzz::finding("a size out of range was accepted");
  });
  return 0;
}
