// Image decoding through every codec built in: the header probe (stb's, or libjpeg-turbo's for
// JPEG), the limit check, the truncation check and the full decode, into a dense buffer and into
// a slot with padded pixels (the copy path). Small images are encoded again by each encoder
// (libjpeg-turbo, libpng, stb) and decoded back: the round trip must keep their size.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_util.hpp"
#include "vbatch/core/buffer.hpp"
#include "vbatch/io/codec.hpp"

namespace {

using namespace vbatch;

// Smaller than the default limits (2^28 pixels) so that a decode stays fast and far under
// libFuzzer's memory limit; the check itself is the same code.
constexpr io::image_limits limits{.max_pixels = std::int64_t{1} << 22, .max_side = 1 << 14};

// Decodes into a dense (1,H,W,C) buffer.
template <class Codec>
batch_buffer<u8> decode_dense(std::span<const std::uint8_t> bytes, int channels) {
  batch_buffer<u8> image;
  io::decode_image<Codec>(bytes, "fuzz", channels, limits, [&](const io::image_info& info) {
    image = batch_buffer<u8>({1, info.height, info.width, info.channels});
    return image.view();  // (1,H,W,C)
  });
  return image;
}

// Decodes into a view whose pixels are 5 bytes apart: the decoders' non-direct path.
template <class Codec>
void decode_padded(std::span<const std::uint8_t> bytes, int channels) {
  std::vector<u8> storage;
  io::decode_image<Codec>(bytes, "fuzz", channels, limits, [&](const io::image_info& info) {
    storage.assign(std::size_t(info.width) * info.height * 5, 0);
    batch_view<u8> v = batch_view<u8>::dense(storage.data(), {1, info.height, info.width, info.channels});  // (1,H,W,C)
    v.stride_w = 5;
    v.stride_h = std::ptrdiff_t{5} * info.width;
    v.stride_n = v.stride_h * info.height;
    return v;
  });
}

// Encodes a decoded image with Codec as `format` and decodes it back with the fastest codec.
template <class Codec>
void round_trip(io::image_format format, batch_view<const u8> image) {
  if (format == io::image_format::jpeg && image.c == 4) return;  // JPEG has no alpha: decoded back as 3 channels
  const std::vector<unsigned char> encoded = io::encode_image<Codec>(format, image, {.jpeg_quality = 75});
  const batch_buffer<u8> back = decode_dense<io::codec::fastest>(encoded, image.c);
  if (back.view().shape() != image.shape()) vbatch_fuzz::finding("an encoded image decodes to another size");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  // The channel count of the second decode varies with the input, without taking any of its bytes.
  static constexpr int other_channels[] = {1, 3, 4};
  const int channels = other_channels[size % 3];
  batch_buffer<u8> image;
  vbatch_fuzz::expect_refusals([&] { image = decode_dense<io::codec::fastest>(bytes, 0); });
  vbatch_fuzz::expect_refusals([&] { decode_padded<io::codec::fastest>(bytes, channels); });
  vbatch_fuzz::expect_refusals([&] { decode_padded<io::codec::stb>(bytes, channels); });
  if (image.view().empty() || image.view().pixels() > 64 * 64) return 0;
  // What decoded is a valid image: encoding it must work, so nothing is caught here.
  const batch_view<const u8> v = image.view();
  for (const io::image_format format : {io::image_format::png, io::image_format::jpeg}) {
    round_trip<io::codec::stb>(format, v);
    round_trip<io::codec::fastest>(format, v);  // libjpeg-turbo and libpng where built in
  }
  return 0;
}
