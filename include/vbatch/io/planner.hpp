#pragma once
// The access planner: scattered frame requests served in one sequential pass.
//
//   vbatch::io::frame_plan<std::string> plan;                // an action per request: here, an output name
//   plan.add(900, "face_a.jpg");  plan.add(12, "face_b.jpg");  plan.add(900, "face_c.jpg");
//   vbatch::io::raw_video video("episode.mp4", {.frames = plan.selection()});   // ffmpeg passes only frames 12 and 900
//   vbatch::io::plan_report r = plan.run(video, [&](const vbatch::io::frame_view& f, std::span<const std::string> names) {
//     for (const auto& n : names) writer.submit_copy(n, f.pixels);          // frame 12, then frame 900 (both names)
//   });
//   r.throw_if_out_of_range();                            // names every requested frame the video lacks
//
// Requests may come in any order and repeat: each distinct frame is read once and served once
// with all its requests' actions (in the order they were added), frames are served in increasing
// order, and frames nobody asked for are skipped as they stream by (an image sequence never opens
// them; a video's are decoded by ffmpeg, and with video_options::frames = selection() dropped by
// ffmpeg before conversion). The pass stops after the last requested frame.
//
// Out of range: negative indices, and indices at or past the source's size, are never served and
// are listed in the report. When the source knows its size (an image sequence) they are known
// before the pass; a video's end is found by reading to it, so its out-of-range requests are
// found when the stream ends.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/io/frame_source.hpp"

namespace vbatch::inline v0::io {

struct plan_report {
  std::size_t requests = 0;                   // add() calls
  std::size_t distinct = 0;                   // distinct frames requested
  std::size_t served = 0;                     // frames handed to serve()
  std::int64_t frames_read = 0;               // frames decoded and served
  std::int64_t frames_skipped = 0;            // frames passed over
  std::vector<std::int64_t> out_of_range;     // requested frames the source does not have, increasing
  std::optional<std::int64_t> source_frames;  // the source's size, when known

  bool ok() const { return out_of_range.empty(); }
  // "frames -3, 500, 501 requested but clip.mp4 has 300 frames (0..299)".
  std::string describe_out_of_range(const std::string& source_name) const {
    std::string list;
    const std::size_t shown = std::min<std::size_t>(out_of_range.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + std::to_string(out_of_range[i]);
    if (shown < out_of_range.size()) list += vbatch::detail::format(" and {} more", out_of_range.size() - shown);
    const std::string frames = out_of_range.size() == 1 ? "frame " : "frames ";
    if (!source_frames) return frames + list + " requested but out of range of " + source_name;
    return frames + list + " requested but " + source_name + " has " + std::to_string(*source_frames) + " frames" +
           (*source_frames > 0 ? " (0.." + std::to_string(*source_frames - 1) + ")" : "");
  }
  void throw_if_out_of_range(const std::string& source_name = "the source") const {
    if (!ok()) throw error(errc::invalid_argument, describe_out_of_range(source_name));
  }
};

template <class Action>
class frame_plan {
 public:
  void add(std::int64_t frame, Action action) {
    requests_[frame].push_back(std::move(action));
    ++count_;
  }
  std::size_t requests() const { return count_; }
  // The distinct requested frames, increasing.
  std::vector<std::int64_t> frames() const {
    std::vector<std::int64_t> f;
    for (const auto& [frame, actions] : requests_) f.push_back(frame);
    return f;
  }
  // The distinct requested frames that can exist (>= 0), increasing: for video_options::frames.
  std::vector<std::int64_t> selection() const {
    std::vector<std::int64_t> f;
    for (const auto& [frame, actions] : requests_)
      if (frame >= 0) f.push_back(frame);
    return f;
  }
  // The largest requested frame (-1 when nothing is requested): a video needs no more than last() + 1 frames.
  std::int64_t last() const { return requests_.empty() ? -1 : requests_.rbegin()->first; }

  // Frames requested that `size` frames do not cover (negative ones included).
  std::vector<std::int64_t> out_of_range(std::optional<std::int64_t> size) const {
    std::vector<std::int64_t> out;
    for (const auto& [frame, actions] : requests_)
      if (frame < 0 || (size && frame >= *size)) out.push_back(frame);
    return out;
  }

  // One pass over `source` (image_sequence, raw_video, or anything with position(), skip(n),
  // next() and size()): serve(frame_view, std::span<const Action>) for each requested frame it has.
  template <class Source, class Serve>
  plan_report run(Source& source, Serve&& serve) const {
    plan_report r;
    r.requests = count_;
    r.distinct = requests_.size();
    const std::optional<std::int64_t> known = source.size();
    r.out_of_range = out_of_range(known);
    for (const auto& [frame, actions] : requests_) {
      if (frame < 0 || (known && frame >= *known)) continue;
      if (frame < source.position())
        raise(errc::invalid_argument, "frame_plan: the source is at frame {}, past requested frame {}", source.position(), frame);
      const std::int64_t gap = frame - source.position();
      const std::int64_t skipped = source.skip(gap);
      r.frames_skipped += skipped;
      std::optional<frame_view> f = skipped == gap ? source.next() : std::nullopt;
      if (!f) {                           // the source ended: this frame and every later one are out of range
        r.source_frames = source.size();  // known unless the source read only selected frames
        for (const auto& [later, unused] : requests_)
          if (later >= frame) r.out_of_range.push_back(later);
        std::sort(r.out_of_range.begin(), r.out_of_range.end());
        return r;
      }
      ++r.frames_read;
      serve(*f, std::span<const Action>(actions));
      ++r.served;
    }
    if (known) r.source_frames = known;
    return r;
  }

 private:
  std::map<std::int64_t, std::vector<Action>> requests_;
  std::size_t count_ = 0;
};

}  // namespace vbatch::inline v0::io
