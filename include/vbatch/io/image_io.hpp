#pragma once
// Loading and saving images (link vbatch::io). The codec is chosen at compile time (an
// image_codec, vbatch/io/codec.hpp): codec::fastest by default, which is libjpeg-turbo for JPEG
// and libpng for writing PNG where the build found them, stb otherwise (stb's implementation
// comes from the system's libstb, never from this header).
//
//   auto frame = vbatch::io::load_image("pano_0001.jpg", 3);                  // (1,H,W,3) u8, throws vbatch::error
//   vbatch::io::load_image_into("pano_0002.jpg", batch.view().image(1));      // straight into a slot of a batch
//   vbatch::io::save_image("view.png", frame.view());                         // to a temporary, then renamed
//   vbatch::io::save_image<vbatch::io::codec::stb>("view.jpg", frame.view());     // a chosen codec
//
// Loading reads the header first and refuses images over image_limits before decoding them
// (decompression bombs), and rejects truncated JPEGs (no end-of-image marker).
// Saving never leaves a partial file under the final name: the bytes go to a temporary file in
// the same directory, which is renamed over the target only once complete.

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "vbatch/core/buffer.hpp"
#include "vbatch/io/codec.hpp"
#include "vbatch/io/format.hpp"

namespace vbatch::inline v0::io {

using default_codec = codec::fastest;

// Size and channel count from the file header, without reading or decoding the pixels.
inline image_info read_image_info(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) raise(errc::io, "{}: cannot open: {}", path.string(), std::strerror(errno));
  image_info info;
  const int ok = stbi_info_from_file(f, &info.width, &info.height, &info.channels);
  std::fclose(f);
  if (!ok) raise(errc::corrupt_data, "{}: not a readable image ({})", path.string(), stbi_failure_reason());
  return info;
}

// Decodes an image into a (1,H,W,C) batch. channels = 0 keeps the stored channels (gray+alpha
// becomes RGBA); 1, 3 or 4 converts.
template <image_codec Codec = default_codec>
batch_buffer<u8> load_image(const std::filesystem::path& path, int channels = 0, const image_limits& limits = {}) {
  detail::check_channels(channels, path);  // before reading the file
  const std::vector<unsigned char> bytes = read_file(path);
  batch_buffer<u8> image;
  decode_image<Codec>(bytes, path, channels, limits, [&](const image_info& info) {
    image = batch_buffer<u8>({1, info.height, info.width, info.channels});
    return image.view();
  });
  return image;
}

// Decodes an image into `dst`, one image of the file's size with dst.c channels (1, 3 or 4): for
// filling one slot of a batch without an intermediate buffer (libjpeg-turbo decodes into it).
// A size mismatch is found from the header, before decoding.
template <image_codec Codec = default_codec>
void load_image_into(const std::filesystem::path& path, batch_view<u8> dst, const image_limits& limits = {}) {
  if (dst.c != 1 && dst.c != 3 && dst.c != 4)  // a destination has its channels: 0 ("as stored") is not one
    raise(errc::invalid_argument, "load_image: {} channels requested for {} (1, 3 or 4)", dst.c, path.string());
  const std::vector<unsigned char> bytes = read_file(path);
  decode_image<Codec>(bytes, path, dst.c, limits, [&](const image_info& info) {
    if (dst.n != 1 || dst.h != info.height || dst.w != info.width)
      raise(errc::invalid_argument, "{}: image is {}x{} but the destination is {}x{}x{} (N,H,W)", path.string(), info.width,
            info.height, dst.n, dst.h, dst.w);
    return dst;
  });
}

// Encodes image 0 of `image` (PNG or JPEG by extension) and writes it atomically.
template <image_codec Codec = default_codec>
void save_image(const std::filesystem::path& path, batch_view<const u8> image, const save_options& options = {}) {
  const image_format format = format_from_path(path);
  const std::vector<unsigned char> encoded = encode_image<Codec>(format, image, options, path);
  write_file_atomically(path, encoded.data(), encoded.size(), options.fsync);
}

}  // namespace vbatch::inline v0::io
