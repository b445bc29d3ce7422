#pragma once
// SORT's Kalman filter for one box (Bewley et al. 2016, the filter of its sort.py): constant
// velocity in the state (cx, cy, s, r, vcx, vcy, vs) — centre, area s = w·h, aspect ratio
// r = w / h, and the velocities of centre and area (the ratio is taken as constant) — observing
// (cx, cy, s, r). Double precision throughout, as SORT's filter (filterpy, float64).
//
//   vbatch::boxes::kalman_box_filter f(first_box, noise);   // at a track's birth
//   f.predict(noise);                                       // once per frame, before association
//   f.update(detection, noise);                             // when a detection is paired
//   vbatch::boxes::box_xyxy_d b = f.box();                  // the estimate (NaN where w·h or w/h < 0)
//
// The defaults of kalman_noise are SORT's: P0 = diag(10, 10, 10, 10, 1e4, 1e4, 1e4),
// Q = diag(1, 1, 1, 1, 0.01, 0.01, 1e-4), R = diag(1, 1, 10, 10). With diagonal P0, Q and R and a
// transition that only couples a quantity with its own velocity, the 7×7 covariance stays block
// diagonal — blocks (cx, vcx), (cy, vcy), (s, vs) and (r) — and the 4×4 innovation covariance
// diagonal, so the filter runs as three 2×2 filters and a scalar one: the same arithmetic as the
// dense matrices (every dropped term is an exact zero), a few dozen flops per step. The 2×2
// blocks are kept whole (not symmetrised), as the dense Joseph-form update leaves them.

#include <array>
#include <cmath>

#include "vbatch/boxes/box.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::boxes {

// A box in double precision: x1, y1 (top-left), x2, y2 (bottom-right).
struct box_xyxy_d {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

inline box_xyxy to_float(const box_xyxy_d& b) {
  return {static_cast<float>(b.x1), static_cast<float>(b.y1), static_cast<float>(b.x2), static_cast<float>(b.y2)};
}
inline box_xyxy_d to_double(const box_xyxy& b) { return {b.x1, b.y1, b.x2, b.y2}; }

// SORT's noise settings by default; every variance is configurable.
struct kalman_noise {
  double initial_position = 10;         // P0 of cx, cy, s, r
  double initial_velocity = 1e4;        // P0 of vcx, vcy, vs (unobserved at birth)
  double process_position = 1;          // Q of cx, cy, s, r
  double process_velocity = 0.01;       // Q of vcx, vcy
  double process_area_velocity = 1e-4;  // Q of vs
  double measurement_centre = 1;        // R of cx, cy
  double measurement_shape = 10;        // R of s, r
};

inline status can_use_kalman_noise(const kalman_noise& n) {
  const double values[] = {n.initial_position,      n.initial_velocity,   n.process_position, n.process_velocity,
                           n.process_area_velocity, n.measurement_centre, n.measurement_shape};
  static constexpr const char* names[] = {"initial_position",      "initial_velocity",   "process_position", "process_velocity",
                                          "process_area_velocity", "measurement_centre", "measurement_shape"};
  for (int k = 0; k < 7; ++k)
    if (!(values[k] >= 0 && std::isfinite(values[k])))
      return fail(errc::invalid_argument, "kalman_noise: {} is {}, expected a finite variance >= 0", names[k], values[k]);
  if (!(n.measurement_centre > 0 && n.measurement_shape > 0))
    return fail(errc::invalid_argument, "kalman_noise: measurement variances must be > 0 (got {} and {})", n.measurement_centre,
                n.measurement_shape);
  return status::success();
}

class kalman_box_filter {
 public:
  kalman_box_filter() = default;
  kalman_box_filter(const box_xyxy_d& b, const kalman_noise& n) {
    const auto z = measure(b);
    for (int i = 0; i < 3; ++i) x_[i] = z[i], v_[i] = 0, p_[i] = {n.initial_position, 0, 0, n.initial_velocity};
    x_[3] = z[3], pr_ = n.initial_position;
  }

  // One frame ahead. As SORT, an area velocity that would make the area negative is zeroed first.
  void predict(const kalman_noise& n) {
    if (v_[2] + x_[2] <= 0) v_[2] = 0;
    for (int i = 0; i < 3; ++i) {
      x_[i] = x_[i] + v_[i];
      // F P F' + Q with F = [[1, 1], [0, 1]]: (F P) = [[p00 + p10, p01 + p11], [p10, p11]].
      const auto [p00, p01, p10, p11] = p_[i];
      const double fp00 = p00 + p10, fp01 = p01 + p11;
      p_[i] = {fp00 + fp01 + n.process_position, fp01, p10 + p11, p11 + (i == 2 ? n.process_area_velocity : n.process_velocity)};
    }
    pr_ = pr_ + n.process_position;
  }

  // Takes a measured box (Joseph-form update, as filterpy's).
  void update(const box_xyxy_d& b, const kalman_noise& n) {
    const auto z = measure(b);
    for (int i = 0; i < 3; ++i) {
      const double r = i == 2 ? n.measurement_shape : n.measurement_centre;
      const auto [p00, p01, p10, p11] = p_[i];
      const double y = z[i] - x_[i], si = 1.0 / (p00 + r), k0 = p00 * si, k1 = p10 * si;
      x_[i] = x_[i] + k0 * y;
      v_[i] = v_[i] + k1 * y;
      // (I - K H) P (I - K H)' + K R K' with I - K H = [[1 - k0, 0], [-k1, 1]].
      const double a = 1 - k0, ap00 = a * p00, ap01 = a * p01, bp10 = -k1 * p00 + p10, bp11 = -k1 * p01 + p11;
      const double kr0 = k0 * r, kr1 = k1 * r;
      p_[i] = {ap00 * a + kr0 * k0, ap00 * -k1 + ap01 + kr0 * k1, bp10 * a + kr1 * k0, bp10 * -k1 + bp11 + kr1 * k1};
    }
    const double si = 1.0 / (pr_ + n.measurement_shape), k = pr_ * si, a = 1 - k;
    x_[3] = x_[3] + k * (z[3] - x_[3]);
    pr_ = a * pr_ * a + k * n.measurement_shape * k;
  }

  // The estimated box: w = sqrt(s·r), h = s / w around the centre (NaN when s·r < 0 or s = 0).
  box_xyxy_d box() const {
    const double w = std::sqrt(x_[2] * x_[3]), h = x_[2] / w;
    return {x_[0] - w / 2.0, x_[1] - h / 2.0, x_[0] + w / 2.0, x_[1] + h / 2.0};
  }

  // (cx, cy, s, r, vcx, vcy, vs)
  std::array<double, 7> state() const { return {x_[0], x_[1], x_[2], x_[3], v_[0], v_[1], v_[2]}; }

 private:
  static std::array<double, 4> measure(const box_xyxy_d& b) {
    const double w = b.x2 - b.x1, h = b.y2 - b.y1;
    return {b.x1 + w / 2.0, b.y1 + h / 2.0, w * h, w / h};
  }

  std::array<double, 4> x_{};                 // cx, cy, s, r
  std::array<double, 3> v_{};                 // vcx, vcy, vs
  std::array<std::array<double, 4>, 3> p_{};  // covariance blocks of (cx, vcx), (cy, vcy), (s, vs): p00 p01 p10 p11
  double pr_ = 0;                             // variance of r
};

}  // namespace vbatch::inline v0::boxes
