#pragma once
// Synthetic scenes defined on the sphere of directions, for demos, tests and benchmarks.
//
//   demo_scene(d)       a floor checkerboard, a sky gradient, eight coloured posts at the
//                       compass yaws 0, 45, ..., 315 and a 15° grid: easy to read in any view;
//   direction_colour(d) RGB linear in the unit direction, (d + 1) * 127.5: smooth across the
//                       seam and the poles, so a correct sampler reproduces it to interpolation error.
//
// render_equirect() draws either scene into a W×H panorama with the equirect_rays convention.

#include <cmath>

#include "vbatch/core/buffer.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/sample/projection.hpp"

namespace vbatch::inline v0::sample {

struct rgb {
  float r, g, b;
};

inline rgb direction_colour(vec3<double> d) {
  const double n = std::sqrt(dot(d, d));
  return {float((d.x / n + 1) * 127.5), float((d.y / n + 1) * 127.5), float((d.z / n + 1) * 127.5)};
}

inline rgb demo_scene(vec3<double> d) {
  const double n = std::sqrt(dot(d, d));
  const double lon = rad_to_deg(std::atan2(d.x, d.z)), lat = rad_to_deg(std::asin(d.y / n));
  // Posts: 8° wide bands centred on the compass yaws, up to 25° above the horizon.
  static constexpr rgb post_colours[8] = {{230, 40, 40},  {240, 150, 30}, {230, 220, 40}, {60, 200, 60},
                                          {40, 200, 220}, {50, 90, 230},  {160, 60, 220}, {240, 90, 180}};
  const double sector = std::fmod(lon + 360 + 22.5, 360.0);
  const int post = static_cast<int>(sector / 45);
  if (std::fabs(sector - post * 45 - 22.5) < 4 && lat > -10 && lat < 25) return post_colours[post];
  // A 15° graticule, one tenth of a degree per 1° of width.
  const auto near_line = [](double deg) { return std::fabs(deg / 15 - std::round(deg / 15)) * 15 < 0.25; };
  if (near_line(lon) || near_line(lat)) return {20, 20, 20};
  if (d.y >= 0) {  // sky: deep blue overhead to pale at the horizon
    const float t = float(d.y / n);
    return {200 - 150 * t, 220 - 120 * t, 255 - 40 * t};
  }
  // Floor: the ground plane one unit below the camera, in 1-unit tiles.
  const double gx = d.x / -d.y, gz = d.z / -d.y;
  const bool dark = (static_cast<long>(std::floor(gx)) + static_cast<long>(std::floor(gz))) & 1;
  return dark ? rgb{90, 70, 50} : rgb{200, 190, 160};
}

// A 1×H×W×C panorama (C = 1, 3 or 4; gray is the mean, alpha is opaque) of `scene`.
template <class Scene, class Exec = cpu_par>
batch_buffer<u8> render_equirect(int width, int height, int channels, Scene scene, const Exec& exec = {}) {
  if (width <= 0 || height <= 0) raise(errc::invalid_argument, "render_equirect: size {}x{} must be positive", width, height);
  if (channels != 1 && channels != 3 && channels != 4)
    raise(errc::invalid_argument, "render_equirect: {} channels (1, 3 or 4)", channels);
  batch_buffer<u8> image({1, height, width, channels});
  const batch_view<u8> v = image.view();
  const equirect_rays rays{width, height};
  for_each_index(exec, {1, height, width}, [&](int i, int y, int x) {
    const rgb c = scene(rays(0, double(x), double(y)));
    u8* p = v.pixel(i, y, x);
    if (channels == 1) {
      p[0] = to_element<u8>((c.r + c.g + c.b) / 3);
      return;
    }
    p[0] = to_element<u8>(c.r), p[1] = to_element<u8>(c.g), p[2] = to_element<u8>(c.b);
    if (channels == 4) p[3] = 255;
  });
  return image;
}

}  // namespace vbatch::inline v0::sample
