#pragma once
// Scoring tracks against ground truth: CLEAR-MOT (Bernardin & Stiefelhagen 2008) and the identity
// measures IDF1/IDP/IDR (Ristani et al. 2016), with py-motmetrics' conventions, so the numbers are
// the ones the MOTChallenge tools print (checked against py-motmetrics 1.4.0 to 1e-9 in
// tests/boxes/mot_metrics_test.cpp).
//
//   vbatch::boxes::mot_metrics m = vbatch::boxes::evaluate_mot(read_mot_file("gt.txt"), read_mot_file("tracks.txt"));
//   m.mota, m.idf1, m.switches, m.misses, m.false_positives ...
//
// or frame by frame: mot_accumulator acc; acc.update(frame, truth_ids, truth_boxes, ids, boxes); acc.metrics().
//
// Conventions (py-motmetrics' `compare_to_groundtruth(gt, hyp, 'iou', distth=0.5)`):
// - distance = 1 - IoU of the (x, y, w, h) boxes; pairs farther than max_distance (0.5) may not
//   be paired; ground-truth rows scoring under truth_min_score (1) are left out, as the
//   MOTChallenge evaluation does with its flag column;
// - every frame of either file counts; per frame, first every object keeps the hypothesis it was
//   last paired with if they are still within reach, then the rest are paired by
//   linear_sum_assignment (most pairs, then least total distance, scipy's tie-breaking); a pair
//   whose object was last paired with another hypothesis is an id switch; objects left are
//   misses, hypotheses left false positives;
// - MOTA = 1 - (misses + switches + false positives) / objects; MOTP = mean distance (1 - IoU)
//   of the pairs (py-motmetrics' MOTP: lower is better); fragmentations: times an object goes
//   from paired to missed and is paired again later;
// - IDTP: the most (object, hypothesis) co-occurrences within reach over a one-to-one matching of
//   object ids to hypothesis ids for the whole sequence; IDF1 = 2 IDTP / (objects + predictions),
//   IDP = IDTP / predictions, IDR = IDTP / objects;
// - mostly tracked / partially tracked / mostly lost: objects paired in >= 80 %, 20-80 %, < 20 %
//   of the frames they appear in.
// Ratios divide as py-motmetrics does: 0/0 is NaN.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vbatch/boxes/assignment.hpp"
#include "vbatch/boxes/mot.hpp"
#include "vbatch/core/error.hpp"

namespace vbatch::inline v0::boxes {

struct mot_metrics {
  int frames = 0;
  int objects = 0;      // ground-truth boxes (py-motmetrics' num_objects)
  int predictions = 0;  // hypothesis boxes
  int matches = 0, switches = 0, misses = 0, false_positives = 0, fragmentations = 0;
  int unique_objects = 0, mostly_tracked = 0, partially_tracked = 0, mostly_lost = 0;
  double mota = 0, motp = 0;
  int idtp = 0, idfp = 0, idfn = 0;
  double idf1 = 0, idp = 0, idr = 0;
};

struct mot_eval_options {
  double max_distance = 0.5;     // 1 - IoU beyond which an object and a hypothesis may not pair
  float truth_min_score = 1.0f;  // ground-truth rows scoring less are ignored
};

inline status can_evaluate(const mot_eval_options& o) {
  if (!(o.max_distance >= 0 && o.max_distance <= 1))
    return fail(errc::invalid_argument, "evaluate_mot: max_distance {} outside [0, 1]", o.max_distance);
  if (std::isnan(o.truth_min_score)) return fail(errc::invalid_argument, "evaluate_mot: truth_min_score is NaN");
  return status::success();
}

namespace detail {
inline double quiet_divide(double a, double b) {
  return b == 0 ? (a == 0 ? std::numeric_limits<double>::quiet_NaN() : a / b) : a / b;
}

// py-motmetrics' IoU distance: boxes (x, y, w, h) to corners, sizes clamped at 0, IoU 0 when
// the intersection is empty.
inline double iou_distance(const box_xywh_d& a, const box_xywh_d& b) {
  const double ax2 = a.x + a.w, ay2 = a.y + a.h, bx2 = b.x + b.w, by2 = b.y + b.h;
  const double iw = std::max(std::min(ax2, bx2) - std::max(a.x, b.x), 0.0),
               ih = std::max(std::min(ay2, by2) - std::max(a.y, b.y), 0.0);
  const double inter = iw * ih;
  const double area_a = std::max(ax2 - a.x, 0.0) * std::max(ay2 - a.y, 0.0),
               area_b = std::max(bx2 - b.x, 0.0) * std::max(by2 - b.y, 0.0);
  const double iou = inter == 0 ? 0.0 : quiet_divide(inter, area_a + area_b - inter);
  return 1 - iou;
}
}  // namespace detail

class mot_accumulator {
 public:
  explicit mot_accumulator(const mot_eval_options& options = {}) : options_((check(can_evaluate(options)), options)) {}

  // One frame: the ground-truth objects and the hypotheses present, ids unique within the frame.
  status can_update(int frame, std::span<const int> truth_ids, std::span<const box_xywh_d> truth, std::span<const int> ids,
                    std::span<const box_xywh_d> boxes) const {
    if (truth_ids.size() != truth.size() || ids.size() != boxes.size())
      return fail(errc::invalid_argument, "mot_accumulator: frame {}: {} truth ids for {} boxes, {} ids for {} boxes", frame,
                  truth_ids.size(), truth.size(), ids.size(), boxes.size());
    for (const auto* list : {&truth_ids, &ids}) {
      std::vector<int> sorted(list->begin(), list->end());
      std::sort(sorted.begin(), sorted.end());
      if (const auto it = std::adjacent_find(sorted.begin(), sorted.end()); it != sorted.end())
        return fail(errc::invalid_argument, "mot_accumulator: frame {}: {} id {} twice", frame,
                    list == &truth_ids ? "truth" : "track", *it);
    }
    return status::success();
  }

  void update(int frame, std::span<const int> truth_ids, std::span<const box_xywh_d> truth, std::span<const int> ids,
              std::span<const box_xywh_d> boxes) {
    check(can_update(frame, truth_ids, truth, ids, boxes));
    ++frames_;
    const int no = static_cast<int>(truth.size()), nh = static_cast<int>(boxes.size());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> dist(std::size_t(no) * nh);
    for (int i = 0; i < no; ++i)
      for (int j = 0; j < nh; ++j) {
        const double d = detail::iou_distance(truth[i], boxes[j]);
        dist[std::size_t(i) * nh + j] = d > options_.max_distance ? nan : d;
      }
    // Identity measures count every pair within reach, paired or not.
    for (int i = 0; i < no; ++i) ++object_frames_[truth_ids[i]];
    for (int j = 0; j < nh; ++j) ++hypothesis_frames_[ids[j]];
    for (int i = 0; i < no; ++i)
      for (int j = 0; j < nh; ++j)
        if (!std::isnan(dist[std::size_t(i) * nh + j])) ++co_occurrences_[key(truth_ids[i], ids[j])];

    std::vector<char> object_done(no, 0), hypothesis_done(nh, 0);
    if (no > 0 && nh > 0) {
      // 1. Pairs that continue: an object keeps its last hypothesis while within reach.
      for (int i = 0; i < no; ++i) {
        const auto last = paired_with_.find(truth_ids[i]);
        if (last == paired_with_.end()) continue;
        for (int j = 0; j < nh; ++j)
          if (!hypothesis_done[j] && ids[j] == last->second) {
            if (const double d = dist[std::size_t(i) * nh + j]; !std::isnan(d))
              pair(i, j, d, truth_ids, ids, object_done, hypothesis_done);
            break;
          }
      }
      // 2. The rest: as many pairs as possible, then the least total distance (py-motmetrics gives
      // scipy a matrix where a forbidden pair costs more than any set of allowed ones).
      std::vector<double> costs(dist.size());
      double largest = 0;
      bool any = false;
      for (int i = 0; i < no; ++i)
        for (int j = 0; j < nh; ++j) {
          const double d = dist[std::size_t(i) * nh + j];
          if (!object_done[i] && !hypothesis_done[j] && !std::isnan(d)) largest = std::max(largest, std::fabs(d)), any = true;
        }
      if (any) {
        const double forbidden = 2.0 * std::min(no, nh) * (largest + 1) + 1;
        const auto allowed = [&](int i, int j) {
          return !object_done[i] && !hypothesis_done[j] && !std::isnan(dist[std::size_t(i) * nh + j]);
        };
        for (int i = 0; i < no; ++i)
          for (int j = 0; j < nh; ++j) costs[std::size_t(i) * nh + j] = allowed(i, j) ? dist[std::size_t(i) * nh + j] : forbidden;
        const assignment a = linear_sum_assignment(std::span<const double>(costs), no, nh);
        std::vector<std::pair<int, int>> pairs;
        for (int i = 0; i < no; ++i)
          if (const int j = a.row_to_col[i]; j >= 0 && allowed(i, j)) pairs.push_back({i, j});
        for (const auto& [i, j] : pairs) {
          const auto last = paired_with_.find(truth_ids[i]);
          if (last != paired_with_.end() && last->second != ids[j]) ++switches_, --matches_;  // pair() counts a match
          pair(i, j, dist[std::size_t(i) * nh + j], truth_ids, ids, object_done, hypothesis_done);
        }
      }
    }
    // 3. and 4. Objects left are missed, hypotheses left are false positives.
    for (int i = 0; i < no; ++i) {
      object_state& s = objects_[truth_ids[i]];
      ++s.frames;
      if (object_done[i]) {
        ++s.paired;
        if (s.gap) ++fragmentations_, s.gap = false;
        s.seen = true;
      } else {
        ++misses_;
        if (s.seen) s.gap = true;
      }
    }
    for (int j = 0; j < nh; ++j)
      if (!hypothesis_done[j]) ++false_positives_;
    objects_count_ += no, predictions_ += nh;
  }

  mot_metrics metrics() const {
    mot_metrics m;
    m.frames = frames_;
    m.objects = objects_count_;
    m.predictions = predictions_;
    m.matches = matches_, m.switches = switches_, m.misses = misses_, m.false_positives = false_positives_;
    m.fragmentations = fragmentations_;
    m.unique_objects = static_cast<int>(objects_.size());
    for (const auto& [id, s] : objects_) {
      const double ratio = double(s.paired) / s.frames;
      if (ratio >= 0.8)
        ++m.mostly_tracked;
      else if (ratio < 0.2)
        ++m.mostly_lost;
      else
        ++m.partially_tracked;
    }
    m.mota = 1 - detail::quiet_divide(double(m.misses + m.switches + m.false_positives), m.objects);
    m.motp = detail::quiet_divide(distance_sum_, m.matches + m.switches);
    m.idtp = identity_true_positives();
    m.idfp = m.predictions - m.idtp;
    m.idfn = m.objects - m.idtp;
    m.idp = detail::quiet_divide(m.idtp, m.idtp + m.idfp);
    m.idr = detail::quiet_divide(m.idtp, m.idtp + m.idfn);
    m.idf1 = detail::quiet_divide(2.0 * m.idtp, m.objects + m.predictions);
    return m;
  }

 private:
  struct object_state {
    int frames = 0, paired = 0;
    bool seen = false, gap = false;  // paired once; missed since the last pairing
  };

  static std::int64_t key(int object, int hypothesis) {
    return (static_cast<std::int64_t>(object) << 32) | static_cast<std::uint32_t>(hypothesis);
  }

  void pair(int i, int j, double d, std::span<const int> truth_ids, std::span<const int> ids, std::vector<char>& object_done,
            std::vector<char>& hypothesis_done) {
    object_done[i] = hypothesis_done[j] = 1;
    paired_with_[truth_ids[i]] = ids[j];
    ++matches_;
    distance_sum_ += d;
  }

  // The largest total co-occurrence over one-to-one matchings of object ids to hypothesis ids.
  int identity_true_positives() const {
    std::map<int, int> object_index, hypothesis_index;  // sorted ids, as py-motmetrics
    for (const auto& [id, n] : object_frames_) object_index.emplace(id, 0);
    for (const auto& [id, n] : hypothesis_frames_) hypothesis_index.emplace(id, 0);
    int k = 0;
    for (auto& [id, index] : object_index) index = k++;
    k = 0;
    for (auto& [id, index] : hypothesis_index) index = k++;
    const int rows = static_cast<int>(object_index.size()), cols = static_cast<int>(hypothesis_index.size());
    if (rows == 0 || cols == 0 || co_occurrences_.empty()) return 0;
    std::vector<double> costs(std::size_t(rows) * cols, std::numeric_limits<double>::infinity());
    for (const auto& [pair_key, n] : co_occurrences_) {
      const int object = static_cast<int>(pair_key >> 32), hypothesis = static_cast<int>(static_cast<std::uint32_t>(pair_key));
      costs[std::size_t(object_index.at(object)) * cols + hypothesis_index.at(hypothesis)] = -double(n);
    }
    return static_cast<int>(std::lround(-assign_optimal(std::span<const double>(costs), rows, cols, 0.0).cost));
  }

  mot_eval_options options_;
  int frames_ = 0, objects_count_ = 0, predictions_ = 0;
  int matches_ = 0, switches_ = 0, misses_ = 0, false_positives_ = 0, fragmentations_ = 0;
  double distance_sum_ = 0;
  std::unordered_map<int, int> paired_with_;  // object id -> hypothesis id of its last pairing
  std::map<int, object_state> objects_;
  std::unordered_map<int, int> object_frames_, hypothesis_frames_;
  std::unordered_map<std::int64_t, int> co_occurrences_;
};

// Scores whole files: frames of either, in increasing order; within a frame, rows in file order.
inline mot_metrics evaluate_mot(std::span<const mot_record> truth, std::span<const mot_record> hypotheses,
                                const mot_eval_options& options = {}) {
  mot_accumulator acc(options);
  std::map<int, std::pair<std::vector<const mot_record*>, std::vector<const mot_record*>>> frames;
  for (const mot_record& r : truth)
    if (r.score >= options.truth_min_score) frames[r.frame].first.push_back(&r);
  for (const mot_record& r : hypotheses) frames[r.frame].second.push_back(&r);
  std::vector<int> truth_ids, ids;
  std::vector<box_xywh_d> truth_boxes, boxes;
  for (const auto& [frame, rows] : frames) {
    truth_ids.clear(), ids.clear(), truth_boxes.clear(), boxes.clear();
    // Moved by (-1, -1) as py-motmetrics' reader does (MATLAB's 1-based pixels): only the
    // rounding changes, and with it the side of the 0.5 gate a pair exactly on it falls.
    const auto moved = [](const box_xywh_d& b) { return box_xywh_d{b.x - 1, b.y - 1, b.w, b.h}; };
    for (const mot_record* r : rows.first) truth_ids.push_back(r->id), truth_boxes.push_back(moved(r->exact));
    for (const mot_record* r : rows.second) ids.push_back(r->id), boxes.push_back(moved(r->exact));
    acc.update(frame, truth_ids, truth_boxes, ids, boxes);
  }
  return acc.metrics();
}

}  // namespace vbatch::inline v0::boxes
