// vbatch::io: a synthetic view saved as PNG and JPEG, read back, and a PNG encoded in memory by
// the helper library.
#include <cstdio>
#include <vector>

#include <vbatch/io/image_io.hpp>
#include <vbatch/sample/e2p.hpp>
#include <vbatch/sample/synthetic.hpp>

std::vector<unsigned char> encode_png(vbatch::batch_view<const vbatch::u8> image);

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  const auto pano = vbatch::sample::render_equirect(128, 64, 3, vbatch::sample::demo_scene);
  const auto view = vbatch::sample::e2p(vbatch::cpu_serial{}, pano.view(), vbatch::sample::ring_rig(1, 0, 32, 24, 90));
  for (const char* name : {"/view.png", "/view.jpg"}) {
    vbatch::io::save_image(dir + name, view.view());
    const auto back = vbatch::io::load_image(dir + name, 3);
    if (back.shape().w != 32 || back.shape().h != 24) return 1;
  }
  const std::vector<unsigned char> png = encode_png(view.view());
  std::printf("vbatch %s: io with %s; %zu bytes of PNG\n", vbatch::version_string, vbatch::io::codec::fastest::describe().c_str(),
              png.size());
  return png.size() > 8 ? 0 : 1;
}
