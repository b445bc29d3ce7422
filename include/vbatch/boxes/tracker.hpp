#pragma once
// An IoU tracker in the SORT style: detections of each frame are linked to tracks by optimal
// assignment on 1 - IoU; tracks keep every detection they took, so a caller can pick the best
// frames of each track (a face pipeline's top-N crops). Three independent policies:
// - motion (where a track is expected): none, constant_velocity (smoothed centre velocity) or
//   kalman (SORT's Kalman filter, kalman.hpp);
// - lifecycle (ids, confirmation, which boxes are reported): vbatch's or SORT's;
// - association: single (every detection at once) or two_stage (ByteTrack: high-score detections
//   first, then low-score ones for the tracks left), with an optional appearance distance blended
//   into the cost.
//
//   vbatch::boxes::iou_tracker tracker({.iou_threshold = 0.3f, .min_hits = 3, .max_age = 1});
//   vbatch::boxes::iou_tracker sort(vbatch::boxes::sort_preset());             // SORT as published
//   for (frame ...) for (const vbatch::boxes::tracked_box& t : tracker.update(frame, boxes, scores)) ...;
//   tracker.finish();
//   for (const vbatch::boxes::track& t : tracker.take_finished()) best = vbatch::boxes::best_observations(t, 5);
//
// vbatch's lifecycle, each update(frame, ...), frames strictly increasing (a gap counts as frames
// without detections):
// 1. Tracks that have missed more than max_age frames in a row are retired; confirmed ones move to
//    the finished list with their history, tentative ones are dropped.
// 2. Every remaining track's box is predicted for this frame: its last detection, moved by its
//    smoothed centre velocity × frames elapsed (constant_velocity), or the Kalman filter's
//    prediction, one filter step per frame elapsed (kalman).
// 3. Tracks and detections are paired by assign_optimal on 1 - IoU(prediction, detection), pairs
//    with IoU below iou_threshold forbidden: it maximises the sum of (IoU - iou_threshold) over the
//    pairs (assign_greedy instead with `greedy`).
// 4. A paired track takes the detection; its streak of consecutive frames grows (or restarts at 1
//    after a gap); at min_hits it is confirmed and gets the next id (1, 2, ...). Unpaired
//    detections start tentative tracks, in detection order (min_hits <= 1: confirmed at once).
// 5. The result is every confirmed track paired in this frame, by id: its id, the detection's
//    index, box and score. Output boxes are always input detections.
//
// SORT's lifecycle (track_lifecycle::sort; sort_preset() adds SORT's Kalman filter and settings),
// as in sort.py (Bewley et al. 2016), each update counting one frame (a gap: updates without
// detections):
// 1. Every track's filter predicts; a track that missed the previous frame loses its streak; a
//    track whose prediction is not a number is dropped.
// 2. Association (single, no appearance): the IoU matrix of detections and predictions in double;
//    when no detection and no track has two pairs above iou_threshold, those pairs; otherwise the
//    assignment maximising the total IoU over all pairs (scipy's linear_sum_assignment), then pairs
//    with IoU < iou_threshold undone.
// 3. A paired track's filter takes the detection; its streak grows. Every unpaired detection starts
//    a track, which gets the next id at once (1, 2, ...: SORT numbers every track).
// 4. Reported: tracks paired in this frame whose streak is at least min_hits, or every paired
//    track during the first min_hits frames; the box is the filter's estimate after the update.
// 5. Tracks that have missed more than max_age frames are retired (to the finished list if they
//    were ever reported).
//
// Against SORT, vbatch's lifecycle differs on purpose: confirmation is sticky (SORT hides a
// confirmed track again after a miss until it rebuilds min_hits), there is no "report everything
// in the first min_hits frames" exception, ids count confirmed tracks only, output boxes are the
// detections, and the assignment respects the gate while optimising.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vbatch/boxes/assignment.hpp"
#include "vbatch/boxes/box.hpp"
#include "vbatch/boxes/kalman.hpp"
#include "vbatch/boxes/pairwise.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::boxes {

enum class motion_model { none, constant_velocity, kalman };
enum class track_lifecycle { vbatch, sort };
enum class association_policy { single, two_stage };

struct track;

// Distance in [0, 1] between a track and detection `detection` of the frame being updated (for
// example the cosine distance of their embeddings): the caller captures the frame's features.
using appearance_distance = std::function<float(const track&, int detection)>;

struct tracker_options {
  float iou_threshold = 0.3f;  // least IoU between a prediction and a detection to pair them, (0, 1]
  int min_hits = 3;            // consecutive paired frames that confirm a track (0 or 1: at once)
  int max_age = 1;             // frames a track may miss in a row and still be paired
  motion_model motion = motion_model::none;
  float velocity_smoothing = 0.5f;  // weight of the newest velocity measurement, (0, 1]
  bool greedy = false;              // greedy association instead of optimal
  bool keep_history = true;         // keep every observation of every track
  track_lifecycle lifecycle = track_lifecycle::vbatch;
  kalman_noise kalman = {};  // motion_model::kalman; SORT's by default
  // Two-stage association (ByteTrack, Zhang et al. 2022): detections scoring at least high_score
  // are paired first and alone may start tracks; those from low_score up to high_score are then
  // offered to the tracks left unpaired, with IoU gate low_iou_threshold; lower ones are ignored.
  association_policy association = association_policy::single;
  float high_score = 0.5f;
  float low_score = 0.1f;
  float low_iou_threshold = 0.5f;
  // Optional, first stage only: cost (1 - w)(1 - IoU) + w · distance, w = appearance_weight;
  // pairs further apart than max_appearance_distance are forbidden.
  appearance_distance appearance = {};
  float appearance_weight = 0.5f;
  float max_appearance_distance = 1.0f;
};

// SORT (Bewley et al. 2016) as its sort.py runs it: Kalman motion, SORT's lifecycle and
// association, IoU 0.3, min_hits 3, max_age 1.
inline tracker_options sort_preset() {
  tracker_options o;
  o.iou_threshold = 0.3f, o.min_hits = 3, o.max_age = 1;
  o.motion = motion_model::kalman, o.lifecycle = track_lifecycle::sort;
  return o;
}

// SORT with ByteTrack's two-stage association (detections scoring 0.5 and more first, then those
// from 0.1 for the tracks left), the rest of SORT unchanged.
inline tracker_options byte_preset() {
  tracker_options o = sort_preset();
  o.association = association_policy::two_stage;
  return o;
}

struct track_observation {
  int frame = 0;
  int detection = 0;  // index of the detection in its frame's update()
  box_xyxy box;
  float score = 1;
};

struct track {
  int id = 0;              // vbatch lifecycle: 0 while tentative, then 1, 2, ... in order of confirmation; SORT's: from birth
  bool confirmed = false;  // vbatch: reached min_hits; SORT's: reported at least once
  int first_frame = 0, last_frame = 0;     // frames of the first and the last detection
  int hits = 0;                            // detections taken
  int streak = 0;                          // consecutive frames paired, up to last_frame (SORT: hit_streak)
  box_xyxy box;                            // the last detection
  int last_detection = -1;                 // its index in its frame's update()
  float last_score = 1;                    // its score
  float vx = 0, vy = 0;                    // smoothed centre velocity, pixels per frame (constant_velocity)
  std::vector<track_observation> history;  // every detection, tentative frames included (keep_history)
  kalman_box_filter filter;                // motion_model::kalman
  int filter_frame = 0;                    // the frame the filter's state is for
  int misses = 0;                          // SORT lifecycle: frames since the last detection (time_since_update)
};

struct tracked_box {
  int id = 0;
  int detection = 0;  // index into this frame's boxes
  box_xyxy box;       // the detection's box (vbatch lifecycle) or the Kalman estimate (SORT's)
  float score = 1;
};

inline status can_make_tracker(const tracker_options& o) {
  if (!(o.iou_threshold > 0.0f && o.iou_threshold <= 1.0f))
    return fail(errc::invalid_argument, "iou_tracker: iou_threshold {} outside (0, 1]", o.iou_threshold);
  if (o.min_hits < 0) return fail(errc::invalid_argument, "iou_tracker: min_hits {} is negative", o.min_hits);
  if (o.max_age < 0) return fail(errc::invalid_argument, "iou_tracker: max_age {} is negative", o.max_age);
  if (!(o.velocity_smoothing > 0.0f && o.velocity_smoothing <= 1.0f))
    return fail(errc::invalid_argument, "iou_tracker: velocity_smoothing {} outside (0, 1]", o.velocity_smoothing);
  if (o.lifecycle == track_lifecycle::sort && o.motion != motion_model::kalman)
    return fail(errc::invalid_argument, "iou_tracker: SORT's lifecycle needs motion_model::kalman (its boxes are the filter's)");
  if (auto s = can_use_kalman_noise(o.kalman); !s) return s;
  if (o.association == association_policy::two_stage) {
    if (!(o.low_score <= o.high_score))
      return fail(errc::invalid_argument, "iou_tracker: low_score {} above high_score {}", o.low_score, o.high_score);
    if (!(o.low_iou_threshold > 0.0f && o.low_iou_threshold <= 1.0f))
      return fail(errc::invalid_argument, "iou_tracker: low_iou_threshold {} outside (0, 1]", o.low_iou_threshold);
  }
  if (!(o.appearance_weight >= 0.0f && o.appearance_weight <= 1.0f))
    return fail(errc::invalid_argument, "iou_tracker: appearance_weight {} outside [0, 1]", o.appearance_weight);
  if (std::isnan(o.max_appearance_distance)) return fail(errc::invalid_argument, "iou_tracker: max_appearance_distance is NaN");
  return status::success();
}

// Options by name: "iou" (vbatch's defaults), "velocity" (constant velocity), "kalman" (vbatch's
// lifecycle, SORT's filter), "sort" (sort_preset()), "byte" (byte_preset()).
inline status tracker_preset(std::string_view name, tracker_options& out) {
  tracker_options o;
  if (name == "iou") {
  } else if (name == "velocity") {
    o.motion = motion_model::constant_velocity;
  } else if (name == "kalman") {
    o.motion = motion_model::kalman;
  } else if (name == "sort") {
    o = sort_preset();
  } else if (name == "byte") {
    o = byte_preset();
  } else {
    return fail(errc::invalid_argument, "tracker preset '{}' is unknown (iou, velocity, kalman, sort, byte)", name);
  }
  out = std::move(o);
  return status::success();
}
inline tracker_options tracker_preset(std::string_view name) {
  tracker_options o;
  check(tracker_preset(name, o));
  return o;
}

namespace detail {
// SORT's IoU in double: intersection over (area + area - intersection), no guard (0/0 is NaN).
inline double sort_iou(const box_xyxy_d& d, const box_xyxy_d& t) {
  const double w = std::max(0.0, std::min(d.x2, t.x2) - std::max(d.x1, t.x1));
  const double h = std::max(0.0, std::min(d.y2, t.y2) - std::max(d.y1, t.y1));
  const double wh = w * h;
  return wh / ((d.x2 - d.x1) * (d.y2 - d.y1) + (t.x2 - t.x1) * (t.y2 - t.y1) - wh);
}
inline bool has_nan(const box_xyxy_d& b) { return std::isnan(b.x1) || std::isnan(b.y1) || std::isnan(b.x2) || std::isnan(b.y2); }
}  // namespace detail

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
    if (options_.lifecycle == track_lifecycle::sort) {
      // SORT counts calls: each frame skipped is a call without detections (only worth running
      // while some track can still be paired or reported).
      if (started_)
        for (int f = frame_ + 1; f < frame; ++f) {
          if (active_.empty()) {
            frames_seen_ += frame - f;
            break;
          }
          sort_step(f, {}, {});
        }
      started_ = true;
      frame_ = frame;
      return sort_step(frame, boxes, scores);
    }
    started_ = true;
    frame_ = frame;
    retire([&](const track& t) { return frame - t.last_frame - 1 > options_.max_age; });

    const int tracks = static_cast<int>(active_.size()), detections = static_cast<int>(boxes.size());
    predicted_.resize(tracks);
    for (int k = 0; k < tracks; ++k) {
      if (options_.motion == motion_model::kalman)
        for (track& t = active_[k]; t.filter_frame < frame; ++t.filter_frame) t.filter.predict(options_.kalman);
      predicted_[k] = predict(active_[k], frame);
    }
    std::vector<char> may_start;
    const std::vector<int> track_of_detection = associate(boxes, scores, may_start);
    // Confirmations happen in track order (oldest first), then new tracks in detection order.
    std::vector<int> detection_of_track(tracks, -1);
    for (int d = 0; d < detections; ++d)
      if (track_of_detection[d] >= 0) detection_of_track[track_of_detection[d]] = d;
    for (int k = 0; k < tracks; ++k)
      if (detection_of_track[k] >= 0) take(active_[k], frame, detection_of_track[k], boxes, scores);
    for (int d = 0; d < detections; ++d)
      if (track_of_detection[d] < 0 && may_start[d]) {
        track t;
        t.first_frame = frame;
        start_filter(t, frame, boxes[d]);
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
  // Ids given so far (vbatch lifecycle: confirmed tracks; SORT's: every track).
  int confirmed_tracks() const { return next_id_ - 1; }

  // Where a track's box is expected at `frame`.
  box_xyxy predict(const track& t, int frame) const {
    if (options_.motion == motion_model::kalman) {
      kalman_box_filter f = t.filter;
      for (int k = t.filter_frame; k < frame; ++k) f.predict(options_.kalman);
      return to_float(f.box());
    }
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

  void start_filter(track& t, int frame, const box_xyxy& b) const {
    if (options_.motion != motion_model::kalman) return;
    t.filter = kalman_box_filter(to_double(b), options_.kalman);
    t.filter_frame = frame;
  }

  // Pairs the active tracks (predictions in predicted_) with this frame's detections: the track
  // of each detection or -1, and in may_start which unpaired detections may start a track.
  std::vector<int> associate(std::span<const box_xyxy> boxes, std::span<const float> scores, std::vector<char>& may_start) {
    const int tracks = static_cast<int>(active_.size()), detections = static_cast<int>(boxes.size());
    std::vector<int> track_of_detection(detections, -1);
    may_start.assign(detections, 1);
    const auto score = [&](int d) { return scores.empty() ? 1.0f : scores[d]; };
    std::vector<int> first, second;
    if (options_.association == association_policy::single) {
      for (int d = 0; d < detections; ++d) first.push_back(d);
    } else {
      for (int d = 0; d < detections; ++d) {
        const float s = score(d);
        if (s >= options_.high_score) {
          first.push_back(d);
        } else {
          may_start[d] = 0;
          if (s >= options_.low_score) second.push_back(d);
        }
      }
    }
    std::vector<int> all_tracks(tracks);
    for (int k = 0; k < tracks; ++k) all_tracks[k] = k;
    std::vector<char> track_paired(tracks, 0);
    pair_stage(all_tracks, first, boxes, options_.iou_threshold, true, track_of_detection, track_paired);
    if (!second.empty()) {
      std::vector<int> left;
      for (int k = 0; k < tracks; ++k)
        if (!track_paired[k]) left.push_back(k);
      pair_stage(left, second, boxes, options_.low_iou_threshold, false, track_of_detection, track_paired);
    }
    return track_of_detection;
  }

  // One stage: assign_optimal (or greedy) on 1 - IoU (blended with the appearance distance in the
  // first stage), pairs with IoU under `gate` forbidden.
  void pair_stage(const std::vector<int>& tracks, const std::vector<int>& dets, std::span<const box_xyxy> boxes, float gate,
                  bool with_appearance, std::vector<int>& track_of_detection, std::vector<char>& track_paired) {
    const int rows = static_cast<int>(tracks.size()), cols = static_cast<int>(dets.size());
    if (rows == 0 || cols == 0) return;
    const bool blend = with_appearance && static_cast<bool>(options_.appearance);
    const float w = blend ? options_.appearance_weight : 0.0f;
    const float inf = std::numeric_limits<float>::infinity();
    stage_boxes_.resize(cols);
    for (int j = 0; j < cols; ++j) stage_boxes_[j] = boxes[dets[j]];
    stage_tracks_.resize(rows);
    for (int i = 0; i < rows; ++i) stage_tracks_[i] = predicted_[tracks[i]];
    ious_.resize(std::size_t(rows) * cols);
    pairwise_iou(cpu_serial{}, box_batch_view<const box_xyxy>::of(stage_tracks_),
                 box_batch_view<const box_xyxy>::of(stage_boxes_), batch_view<float>::dense(ious_.data(), {1, rows, cols, 1}));
    // Cost 1 - IoU; pairs under the gate are forbidden outright, so rounding in 1 - x cannot let one in.
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        float& v = ious_[std::size_t(i) * cols + j];
        if (!(v >= gate)) {
          v = inf;
        } else if (blend) {
          const float distance = options_.appearance(active_[tracks[i]], dets[j]);
          v = distance <= options_.max_appearance_distance ? (1 - w) * (1.0f - v) + w * distance : inf;
        } else {
          v = 1.0f - v;
        }
      }
    const auto costs = batch_view<const float>::dense(ious_.data(), {1, rows, cols, 1});
    // Without appearance 1 - v <= 1 - gate exactly (subtraction is monotonic); with it, the bound
    // is widened by a few ulps so that rounding in the blend cannot push an allowed pair past it.
    const float max_cost =
        blend ? ((1 - w) * (1.0f - gate) + w * options_.max_appearance_distance) * (1 + 1e-6f) + 1e-6f : 1.0f - gate;
    const assignment a = options_.greedy ? assign_greedy(costs, max_cost) : assign_optimal(costs, max_cost);
    for (int j = 0; j < cols; ++j)
      if (a.col_to_row[j] >= 0) track_of_detection[dets[j]] = tracks[a.col_to_row[j]], track_paired[tracks[a.col_to_row[j]]] = 1;
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
    if (t.hits > 0 && options_.motion == motion_model::kalman) t.filter.update(to_double(b), options_.kalman);
    t.streak = t.hits > 0 && t.last_frame == frame - 1 ? t.streak + 1 : 1;
    ++t.hits;
    t.last_frame = frame;
    t.box = b;
    t.last_detection = d;
    t.last_score = score;
    if (options_.keep_history) t.history.push_back({frame, d, b, score});
    if (!t.confirmed && t.streak >= std::max(options_.min_hits, 1)) t.confirmed = true, t.id = next_id_++;
  }

  // SORT's association: the detection -> track pairs (track -1: none), and in `unpaired` the
  // unpaired detections in the order SORT starts their tracks: those the assignment left out,
  // then those it paired under the gate.
  std::vector<int> sort_associate(std::span<const box_xyxy> boxes, const std::vector<box_xyxy_d>& predicted,
                                  std::vector<int>& unpaired) {
    const int dets = static_cast<int>(boxes.size()), tracks = static_cast<int>(predicted.size());
    std::vector<int> track_of_detection(dets, -1);
    unpaired.clear();
    if (dets == 0 || tracks == 0) {
      for (int d = 0; d < dets; ++d) unpaired.push_back(d);
      return track_of_detection;
    }
    const double threshold = options_.iou_threshold;
    sort_ious_.resize(std::size_t(dets) * tracks);
    std::vector<int> above_in_row(dets, 0), above_in_col(tracks, 0);
    int above = 0;
    for (int d = 0; d < dets; ++d) {
      const box_xyxy_d b = to_double(boxes[d]);
      for (int k = 0; k < tracks; ++k) {
        const double v = detail::sort_iou(b, predicted[k]);
        sort_ious_[std::size_t(d) * tracks + k] = v;
        if (v > threshold) ++above_in_row[d], ++above_in_col[k], ++above;
      }
    }
    const bool unambiguous = above > 0 && *std::max_element(above_in_row.begin(), above_in_row.end()) == 1 &&
                             *std::max_element(above_in_col.begin(), above_in_col.end()) == 1;
    if (unambiguous) {
      for (int d = 0; d < dets; ++d) {
        for (int k = 0; k < tracks; ++k)
          if (sort_ious_[std::size_t(d) * tracks + k] > threshold) track_of_detection[d] = k;
        if (track_of_detection[d] < 0) unpaired.push_back(d);
      }
      return track_of_detection;
    }
    for (double& v : sort_ious_) v = -v;  // maximise the total IoU
    const assignment a = linear_sum_assignment(std::span<const double>(sort_ious_), dets, tracks);
    for (int d = 0; d < dets; ++d)
      if (a.row_to_col[d] < 0) unpaired.push_back(d);
    for (int d = 0; d < dets; ++d)
      if (const int k = a.row_to_col[d]; k >= 0) {
        if (-sort_ious_[std::size_t(d) * tracks + k] < threshold)
          unpaired.push_back(d);
        else
          track_of_detection[d] = k;
      }
    return track_of_detection;
  }

  // One call of SORT's update().
  const std::vector<tracked_box>& sort_step(int frame, std::span<const box_xyxy> boxes, std::span<const float> scores) {
    ++frames_seen_;
    std::vector<box_xyxy_d> predicted;
    std::size_t kept = 0;
    for (std::size_t k = 0; k < active_.size(); ++k) {
      track& t = active_[k];
      t.filter.predict(options_.kalman);
      t.filter_frame = frame;
      if (t.misses > 0) t.streak = 0;
      ++t.misses;
      const box_xyxy_d p = t.filter.box();
      if (detail::has_nan(p)) {
        if (t.confirmed) finished_.push_back(std::move(t));
        continue;
      }
      predicted.push_back(p);
      if (kept != k) active_[kept] = std::move(active_[k]);
      ++kept;
    }
    active_.resize(kept);

    const int tracks = static_cast<int>(active_.size()), detections = static_cast<int>(boxes.size());
    std::vector<int> track_of_detection, unpaired;
    if (options_.association == association_policy::single && !options_.appearance && !options_.greedy) {
      track_of_detection = sort_associate(boxes, predicted, unpaired);
    } else {
      predicted_.resize(tracks);
      for (int k = 0; k < tracks; ++k) predicted_[k] = to_float(predicted[k]);
      std::vector<char> may_start;
      track_of_detection = associate(boxes, scores, may_start);
      for (int d = 0; d < detections; ++d)
        if (track_of_detection[d] < 0 && may_start[d]) unpaired.push_back(d);
    }
    for (int d = 0; d < detections; ++d)
      if (const int k = track_of_detection[d]; k >= 0) {
        track& t = active_[k];
        t.filter.update(to_double(boxes[d]), options_.kalman);
        t.misses = 0;
        ++t.streak;
        observe(t, frame, d, boxes, scores);
      }
    for (const int d : unpaired) {
      track t;
      t.id = next_id_++;
      t.first_frame = frame;
      t.filter = kalman_box_filter(to_double(boxes[d]), options_.kalman);
      t.filter_frame = frame;
      observe(t, frame, d, boxes, scores);
      active_.push_back(std::move(t));
    }

    output_.clear();
    for (track& t : active_)
      if (t.misses < 1 && (t.streak >= options_.min_hits || frames_seen_ <= options_.min_hits)) {
        t.confirmed = true;
        output_.push_back({t.id, t.last_detection, to_float(t.filter.box()), t.last_score});
      }
    std::sort(output_.begin(), output_.end(), [](const tracked_box& a, const tracked_box& b) { return a.id < b.id; });
    retire([&](const track& t) { return t.misses > options_.max_age; });
    return output_;
  }

  void observe(track& t, int frame, int d, std::span<const box_xyxy> boxes, std::span<const float> scores) {
    const float score = scores.empty() ? 1.0f : scores[d];
    ++t.hits;
    t.last_frame = frame;
    t.box = boxes[d];
    t.last_detection = d;
    t.last_score = score;
    if (options_.keep_history) t.history.push_back({frame, d, boxes[d], score});
  }

  tracker_options options_;
  std::vector<track> active_, finished_;
  std::vector<tracked_box> output_;
  std::vector<box_xyxy> predicted_, stage_tracks_, stage_boxes_;
  std::vector<float> ious_;
  std::vector<double> sort_ious_;
  int frame_ = 0, next_id_ = 1, frames_seen_ = 0;
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
