#pragma once
// Synthetic tracking scenes with known identities, for demos, tests and benchmarks: boxes moving
// at constant velocity (bouncing off the frame's edges), appearing and disappearing, with missed
// detections, position noise and false positives; and an identity-switch counter to score a
// tracker against the truth.
//
//   const vbatch::boxes::synthetic_scene scene = vbatch::boxes::make_synthetic_scene({.frames = 1000, .objects = 50});
//   for (const auto& frame : scene.frames) ... frame[j].box, frame[j].score, frame[j].truth
//
// The same options and seed give the same scene (std::mt19937 drives everything; the standard
// library's distributions may differ between library implementations, so a scene is reproducible
// per platform, not across them).

#include <algorithm>
#include <random>
#include <unordered_map>
#include <vector>

#include "vbatch/boxes/box.hpp"

namespace vbatch::inline v0::boxes {

struct synthetic_scene_options {
  int frames = 300;
  int objects = 20;                   // objects over the whole sequence
  float width = 1920, height = 1080;  // frame size, pixels
  float min_size = 40, max_size = 160;
  float max_speed = 6;       // pixels per frame, per axis
  float lifetime = 0.6f;     // an object is visible for this fraction of the frames (at a random start); 1: always
  float miss_rate = 0.05f;   // probability that a visible object is not detected in a frame
  float noise = 1.0f;        // detection corners jitter by up to this many pixels
  float false_rate = 0.02f;  // false positives per object and frame
  unsigned seed = 1;
};

struct synthetic_detection {
  box_xyxy box;
  float score = 1;
  int truth = -1;  // the object it comes from; -1 for a false positive
};

struct synthetic_scene {
  std::vector<std::vector<synthetic_detection>> frames;  // frame f's detections, in random order
  int detections() const {
    int n = 0;
    for (const auto& f : frames) n += static_cast<int>(f.size());
    return n;
  }
};

inline synthetic_scene make_synthetic_scene(const synthetic_scene_options& o) {
  std::mt19937 rng(o.seed);
  const auto uniform = [&](float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); };
  struct object {
    float x, y, w, h, vx, vy;
    int first, last;
  };
  std::vector<object> objects;
  const int visible = std::max(1, static_cast<int>(o.lifetime * static_cast<float>(o.frames)));
  for (int k = 0; k < o.objects; ++k) {
    object b;
    b.w = uniform(o.min_size, o.max_size), b.h = uniform(o.min_size, o.max_size);
    b.x = uniform(0, std::max(1.0f, o.width - b.w)), b.y = uniform(0, std::max(1.0f, o.height - b.h));
    b.vx = uniform(-o.max_speed, o.max_speed), b.vy = uniform(-o.max_speed, o.max_speed);
    b.first = visible >= o.frames ? 0 : std::uniform_int_distribution<int>(0, o.frames - visible)(rng);
    b.last = b.first + visible;
    objects.push_back(b);
  }
  synthetic_scene scene;
  scene.frames.resize(o.frames);
  for (int f = 0; f < o.frames; ++f) {
    auto& dets = scene.frames[f];
    for (int k = 0; k < o.objects; ++k) {
      object& b = objects[k];
      if (f >= b.first && f < b.last && uniform(0, 1) >= o.miss_rate) {
        const auto jitter = [&] { return uniform(-o.noise, o.noise); };
        dets.push_back({{b.x + jitter(), b.y + jitter(), b.x + b.w + jitter(), b.y + b.h + jitter()}, uniform(0.5f, 1.0f), k});
      }
      // Move, bouncing off the edges.
      b.x += b.vx, b.y += b.vy;
      if (b.x < 0 || b.x + b.w > o.width) b.vx = -b.vx, b.x = std::clamp(b.x, 0.0f, std::max(0.0f, o.width - b.w));
      if (b.y < 0 || b.y + b.h > o.height) b.vy = -b.vy, b.y = std::clamp(b.y, 0.0f, std::max(0.0f, o.height - b.h));
    }
    const int false_positives = std::poisson_distribution<int>(o.false_rate * static_cast<float>(o.objects))(rng);
    for (int k = 0; k < false_positives; ++k) {
      const float w = uniform(o.min_size, o.max_size), h = uniform(o.min_size, o.max_size);
      const float x = uniform(0, std::max(1.0f, o.width - w)), y = uniform(0, std::max(1.0f, o.height - h));
      dets.push_back({{x, y, x + w, y + h}, uniform(0.3f, 0.7f), -1});
    }
    std::shuffle(dets.begin(), dets.end(), rng);
  }
  return scene;
}

// Identity switches as the MOT metrics count them: each time an object is reported under a track
// id other than the one it had when last reported. Feed (truth, track) pairs in frame order.
class identity_switch_counter {
 public:
  void add(int truth, int track_id) {
    if (truth < 0) return;
    const auto [it, inserted] = last_.try_emplace(truth, track_id);
    if (!inserted && it->second != track_id) ++switches_, it->second = track_id;
  }
  int switches() const { return switches_; }

 private:
  std::unordered_map<int, int> last_;
  int switches_ = 0;
};

}  // namespace vbatch::inline v0::boxes
