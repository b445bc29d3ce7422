// Views, cameras and rigs as text (--size, --camera, --rig): sample::parse_size, parse_camera,
// parse_rig, and whether an accepted camera makes a camera (can_make_camera).
#include <cstddef>
#include <cstdint>

#include "fuzz_util.hpp"
#include "vbatch/sample/rig_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace s = vbatch::sample;
  const std::string_view text = vbatch_fuzz::as_text(data, size);
  vbatch_fuzz::expect_refusals([&] {
    const s::view_size v = s::parse_size(text, "--size");
    if (v.width < 1 || v.height < 1 || v.width > s::max_view_side || v.height > s::max_view_side)
      vbatch_fuzz::finding("a size out of range was accepted");
  });
  vbatch_fuzz::expect_refusals([&] {
    const s::camera_spec c = s::parse_camera(text, "--camera");
    if (!s::can_make_camera(c.angles, 640, 480, c.hfov_deg, c.vfov_deg.value_or(0))) return;
    try {
      (void)s::make_camera(c.angles, 640, 480, c.hfov_deg, c.vfov_deg.value_or(0));
    } catch (const vbatch::error&) {
      vbatch_fuzz::finding("make_camera refuses what can_make_camera accepts");
    }
  });
  vbatch_fuzz::expect_refusals([&] {
    const s::rig_preset p = s::parse_rig(text, "--rig");
    if (p.kind != s::rig_kind::cube && (p.count < 1 || p.count > s::max_ring_cameras))
      vbatch_fuzz::finding("a ring count out of range was accepted");
  });
  return 0;
}
