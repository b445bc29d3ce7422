// One view of a synthetic panorama, saved as PNG and read back through vbatch::io.
#include <cstdio>
#include <string>

#include <vbatch/io/image_io.hpp>
#include <vbatch/sample/e2p.hpp>
#include <vbatch/sample/synthetic.hpp>

int main(int argc, char** argv) {
  const std::string file = std::string(argc > 1 ? argv[1] : ".") + "/view.png";
  const auto pano = vbatch::sample::render_equirect(128, 64, 3, vbatch::sample::demo_scene);
  const auto view = vbatch::sample::e2p(vbatch::cpu_serial{}, pano.view(), vbatch::sample::ring_rig(1, 0, 32, 24, 90));
  vbatch::io::save_image(file, view.view());
  const auto back = vbatch::io::load_image(file, 3);
  std::printf("vbatch %s: %s, %dx%d\n", vbatch::version_string, vbatch::io::codec::fastest::describe().c_str(), back.shape().w,
              back.shape().h);
  return back.shape().w == 32 && back.shape().h == 24 ? 0 : 1;
}
