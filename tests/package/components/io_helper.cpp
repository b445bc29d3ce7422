// A static library of the consumer's that also links vbatch::io: with a headers-only stb, the
// program below and this library must still share one stb implementation (no duplicate symbols).
#include <vbatch/io/codec.hpp>

std::vector<unsigned char> encode_png(vbatch::batch_view<const vbatch::u8> image) {
  return vbatch::io::encode_image(vbatch::io::image_format::png, image, {}, "memory.png");
}
