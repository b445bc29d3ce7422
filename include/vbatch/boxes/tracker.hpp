#pragma once
// An IoU tracker in the SORT style: detections of each frame are linked to tracks by optimal
// assignment on 1 - IoU; tracks get stable ids once confirmed and keep every detection they took,
// so a caller can pick the best frames of each track (a face pipeline's top-N crops).
//
//   vbatch::boxes::iou_tracker tracker({.iou_threshold = 0.3f, .min_hits = 3, .max_age = 1});
//   for (frame ...) for (const vbatch::boxes::tracked_box& t : tracker.update(frame, boxes, scores)) ...;
//   tracker.finish();
//   for (const vbatch::boxes::track& t : tracker.take_finished()) best = vbatch::boxes::best_observations(t, 5);
//
// Each update(frame, ...), frames strictly increasing (a gap counts as frames without detections):
// 1. Tracks that have missed more than max_age frames in a row are retired; confirmed ones move to
//    the finished list with their history, tentative ones are dropped.
// 2. Every remaining track's box is predicted for this frame: its last detection, moved by its
//    smoothed centre velocity × frames elapsed under motion_model::constant_velocity.
// 3. Tracks and detections are paired by assign_optimal on 1 - IoU(prediction, detection), pairs
//    with IoU below iou_threshold forbidden: it maximises the sum of (IoU - iou_threshold) over the
//    pairs (assign_greedy instead with `greedy`).
// 4. A paired track takes the detection; its streak of consecutive frames grows (or restarts at 1
//    after a gap); at min_hits it is confirmed and gets the next id (1, 2, ...). Unpaired
//    detections start tentative tracks, in detection order (min_hits <= 1: confirmed at once).
// 5. The result is every confirmed track paired in this frame, by id: its id, the detection's
//    index, box and score. Output boxes are always input detections.
//
// Against SORT (Bewley et al. 2016): the same association rule, IoU gate, min_hits streak and
// max_age (a track may skip max_age frames and still be matched); but no Kalman filter (boxes are
// the detections; motion is optional and a simple smoothed velocity), confirmation is sticky (SORT
// hides a confirmed track again after a miss until it rebuilds min_hits), SORT's exception that
// shows every track in the first min_hits frames is absent, ids count confirmed tracks only (SORT
// numbers every tentative track too), and the assignment respects the gate while optimising
// (SORT assigns on the full IoU matrix, then drops pairs under the gate).

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "vbatch/boxes/assignment.hpp"
#include "vbatch/boxes/box.hpp"
#include "vbatch/boxes/pairwise.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::boxes {

enum class motion_model { none, constant_velocity };

struct tracker_options {
  float iou_threshold = 0.3f;  // least IoU between a prediction and a detection to pair them, (0, 1]
  int min_hits = 3;            // consecutive paired frames that confirm a track (0 or 1: at once)
  int max_age = 1;             // frames a track may miss in a row and still be paired
  motion_model motion = motion_model::none;
  float velocity_smoothing = 0.5f;  // weight of the newest velocity measurement, (0, 1]
  bool greedy = false;              // greedy association instead of optimal
  bool keep_history = true;         // keep every observation of every track
};

struct track_observation {
  int frame = 0;
  int detection = 0;  // index of the detection in its frame's update()
  box_xyxy box;
  float score = 1;
};

struct track {
  int id = 0;  // 0 while tentative; 1, 2, ... in order of confirmation
  bool confirmed = false;
  int first_frame = 0, last_frame = 0;     // frames of the first and the last detection
  int hits = 0;                            // detections taken
  int streak = 0;                          // consecutive frames paired, up to last_frame
  box_xyxy box;                            // the last detection
  int last_detection = -1;                 // its index in its frame's update()
  float last_score = 1;                    // its score
  float vx = 0, vy = 0;                    // smoothed centre velocity, pixels per frame (constant_velocity)
  std::vector<track_observation> history;  // every detection, tentative frames included (keep_history)
};

struct tracked_box {
  int id = 0;
  int detection = 0;  // index into this frame's boxes
  box_xyxy box;
  float score = 1;
};

inline status can_make_tracker(const tracker_options& o) {
  if (!(o.iou_threshold > 0.0f && o.iou_threshold <= 1.0f))
    return fail(errc::invalid_argument, "iou_tracker: iou_threshold {} outside (0, 1]", o.iou_threshold);
  if (o.min_hits < 0) return fail(errc::invalid_argument, "iou_tracker: min_hits {} is negative", o.min_hits);
  if (o.max_age < 0) return fail(errc::invalid_argument, "iou_tracker: max_age {} is negative", o.max_age);
  if (!(o.velocity_smoothing > 0.0f && o.velocity_smoothing <= 1.0f))
    return fail(errc::invalid_argument, "iou_tracker: velocity_smoothing {} outside (0, 1]", o.velocity_smoothing);
  return status::success();
}

class iou_tracker {
 public:
  explicit iou_tracker(const tracker_options& options = {}) : options_((check(can_make_tracker(options)), options)) {}

  const tracker_options& options() const { return options_; }

  status can_update(int frame, std::span<const box_xyxy> boxes, std::span<const float> scores) const {
    if (started_ && frame <= frame_)
      return fail(errc::invalid_argument, "iou_tracker: frame {} after frame {} (frames must increase)", frame, frame_);
    if (!scores.empty() && scores.size() != boxes.size())
      return fail(errc::invalid_argument, "iou_tracker: frame {}: {} scores for {} boxes", frame, scores.size(), boxes.size());
    for (std::size_t j = 0; j < boxes.size(); ++j)
      if (!is_finite(boxes[j]))
        return fail(errc::invalid_argument, "iou_tracker: frame {}: box {} has a non-finite coordinate", frame, j);
    for (std::size_t j = 0; j < scores.size(); ++j)
      if (std::isnan(scores[j])) return fail(errc::invalid_argument, "iou_tracker: frame {}: score {} is NaN", frame, j);
    return status::success();
  }

  // Advances to `frame`; scores may be empty (all 1). The result lives until the next call.
  const std::vector<tracked_box>& update(int frame, std::span<const box_xyxy> boxes, std::span<const float> scores = {}) {
    check(can_update(frame, boxes, scores));
    started_ = true;
    frame_ = frame;
    retire([&](const track& t) { return frame - t.last_frame - 1 > options_.max_age; });

    const int tracks = static_cast<int>(active_.size()), detections = static_cast<int>(boxes.size());
    std::vector<int> track_of_detection(detections, -1);
    if (tracks > 0 && detections > 0) {
      predicted_.resize(tracks);
      for (int k = 0; k < tracks; ++k) predicted_[k] = predict(active_[k], frame);
      ious_.resize(std::size_t(tracks) * detections);
      pairwise_iou(cpu_serial{}, box_batch_view<const box_xyxy>::of(predicted_), box_batch_view<const box_xyxy>::of(boxes),
                   batch_view<float>::dense(ious_.data(), {1, tracks, detections, 1}));
      // Cost 1 - IoU; pairs under the gate are forbidden outright, so rounding in 1 - x cannot let one in.
      for (float& v : ious_) v = v >= options_.iou_threshold ? 1.0f - v : std::numeric_limits<float>::infinity();
      const auto costs = batch_view<const float>::dense(ious_.data(), {1, tracks, detections, 1});
      const float gate = 1.0f - options_.iou_threshold;
      const assignment a = options_.greedy ? assign_greedy(costs, gate) : assign_optimal(costs, gate);
      for (int d = 0; d < detections; ++d) track_of_detection[d] = a.col_to_row[d];
    }
    // Confirmations happen in track order (oldest first), then new tracks in detection order.
    std::vector<int> detection_of_track(tracks, -1);
    for (int d = 0; d < detections; ++d)
      if (track_of_detection[d] >= 0) detection_of_track[track_of_detection[d]] = d;
    for (int k = 0; k < tracks; ++k)
      if (detection_of_track[k] >= 0) take(active_[k], frame, detection_of_track[k], boxes, scores);
    for (int d = 0; d < detections; ++d)
      if (track_of_detection[d] < 0) {
        track t;
        t.first_frame = frame;
        take(t, frame, d, boxes, scores);
        active_.push_back(std::move(t));
      }

    output_.clear();
    for (const track& t : active_)
      if (t.confirmed && t.last_frame == frame) output_.push_back({t.id, t.last_detection, t.box, t.last_score});
    std::sort(output_.begin(), output_.end(), [](const tracked_box& a, const tracked_box& b) { return a.id < b.id; });
    return output_;
  }

  // Retires every active track (at the end of a sequence or a scene).
  void finish() {
    retire([](const track&) { return true; });
  }

  // Confirmed tracks retired so far, in order of retirement; the list is emptied.
  std::vector<track> take_finished() { return std::exchange(finished_, {}); }

  const std::vector<track>& active() const { return active_; }
  int frame() const { return frame_; }
  int confirmed_tracks() const { return next_id_ - 1; }

  // Where a track's box is expected at `frame`.
  box_xyxy predict(const track& t, int frame) const {
    if (options_.motion == motion_model::none || t.hits < 2) return t.box;
    const float dt = static_cast<float>(frame - t.last_frame), dx = t.vx * dt, dy = t.vy * dt;
    return {t.box.x1 + dx, t.box.y1 + dy, t.box.x2 + dx, t.box.y2 + dy};
  }

 private:
  template <class Done>
  void retire(Done done) {
    std::size_t kept = 0;
    for (std::size_t k = 0; k < active_.size(); ++k) {
      if (!done(active_[k])) {
        if (kept != k) active_[kept] = std::move(active_[k]);
        ++kept;
      } else if (active_[k].confirmed) {
        finished_.push_back(std::move(active_[k]));
      }
    }
    active_.resize(kept);
  }

  void take(track& t, int frame, int d, std::span<const box_xyxy> boxes, std::span<const float> scores) {
    const box_xyxy& b = boxes[d];
    const float score = scores.empty() ? 1.0f : scores[d];
    if (t.hits > 0 && options_.motion == motion_model::constant_velocity) {
      const float dt = static_cast<float>(frame - t.last_frame);
      const float vx = 0.5f * ((b.x1 + b.x2) - (t.box.x1 + t.box.x2)) / dt,
                  vy = 0.5f * ((b.y1 + b.y2) - (t.box.y1 + t.box.y2)) / dt;
      const float a = t.hits == 1 ? 1.0f : options_.velocity_smoothing;
      t.vx = a * vx + (1 - a) * t.vx, t.vy = a * vy + (1 - a) * t.vy;
    }
    t.streak = t.hits > 0 && t.last_frame == frame - 1 ? t.streak + 1 : 1;
    ++t.hits;
    t.last_frame = frame;
    t.box = b;
    t.last_detection = d;
    t.last_score = score;
    if (options_.keep_history) t.history.push_back({frame, d, b, score});
    if (!t.confirmed && t.streak >= std::max(options_.min_hits, 1)) t.confirmed = true, t.id = next_id_++;
  }

  tracker_options options_;
  std::vector<track> active_, finished_;
  std::vector<tracked_box> output_;
  std::vector<box_xyxy> predicted_;
  std::vector<float> ious_;
  int frame_ = 0, next_id_ = 1;
  bool started_ = false;
};

// The n observations of a track with the highest score_of(observation) (ties: earlier frame
// first), best first: a face pipeline's top-N crops, by detection score, box size or sharpness.
template <class Score>
std::vector<track_observation> best_observations(const track& t, int n, Score score_of) {
  struct scored {
    float score;
    const track_observation* o;
  };
  std::vector<scored> h;
  h.reserve(t.history.size());
  for (const track_observation& o : t.history) h.push_back({static_cast<float>(score_of(o)), &o});
  const std::size_t k = std::min<std::size_t>(h.size(), static_cast<std::size_t>(std::max(n, 0)));
  std::partial_sort(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(k), h.end(), [](const scored& a, const scored& b) {
    return a.score > b.score || (a.score == b.score && a.o->frame < b.o->frame);
  });
  std::vector<track_observation> best;
  for (std::size_t i = 0; i < k; ++i) best.push_back(*h[i].o);
  return best;
}

// By detection score.
inline std::vector<track_observation> best_observations(const track& t, int n) {
  return best_observations(t, n, [](const track_observation& o) { return o.score; });
}

}  // namespace vbatch::inline v0::boxes
