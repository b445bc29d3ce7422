// vbatch::core alone: a view of a synthetic panorama, dilated; no image files, no codec.
#include <cstdio>

#include <vbatch/morph/morphology.hpp>
#include <vbatch/sample/e2p.hpp>
#include <vbatch/sample/synthetic.hpp>

int main() {
  const auto pano = vbatch::sample::render_equirect(128, 64, 1, vbatch::sample::demo_scene);
  const auto view = vbatch::sample::e2p(vbatch::cpu_serial{}, pano.view(), vbatch::sample::ring_rig(1, 0, 32, 24, 90));
  vbatch::batch_buffer<vbatch::u8> out(view.shape());
  vbatch::morph::dilate(vbatch::cpu_par{}, view.view(), out.view(), vbatch::morph::disk(2));
  std::printf("vbatch %s: core only, %lld pixels\n", vbatch::version_string, static_cast<long long>(out.shape().elements()));
  return out.shape().elements() == 32 * 24 ? 0 : 1;
}
