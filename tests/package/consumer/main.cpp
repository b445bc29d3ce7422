// A program outside the vbatch tree: splits a synthetic panorama into one view and saves it.
#include <cstdio>

#include <vbatch/io/image_io.hpp>
#include <vbatch/vbatch.hpp>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const auto pano = vbatch::sample::render_equirect(256, 128, 3, vbatch::sample::demo_scene);
  const auto views = vbatch::sample::e2p(vbatch::cpu_par{}, pano.view(), vbatch::sample::ring_rig(1, 0, 64, 48, 90));
  vbatch::io::save_image(argv[1], views.view());
  std::printf("vbatch %s: wrote %s\n", vbatch::version_string, argv[1]);
  return 0;
}
