// MOT Challenge text (detections, tracks, ground truth): boxes::parse_mot. Accepted records must
// have what the format's checks promise.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_util.hpp"
#include "vbatch/boxes/mot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<vbatch::boxes::mot_record> records;
  if (!vbatch::boxes::parse_mot(vbatch_fuzz::as_text(data, size), "det.txt", records)) return 0;
  for (const auto& r : records) {
    if (r.frame < 0 || r.frame > vbatch::boxes::mot_max_frame) vbatch_fuzz::finding("a frame out of range was accepted");
    if (!(r.box.w >= 0) || !(r.box.h >= 0) || !std::isfinite(r.score)) vbatch_fuzz::finding("a bad box was accepted");
    // Written and read again, a record is the same record.
    std::string line;
    vbatch::boxes::append_mot_line(line, r.frame, r.id, r.box, r.score);
    std::vector<vbatch::boxes::mot_record> again;
    if (!vbatch::boxes::parse_mot(line, "again", again) || again.size() != 1)
      vbatch_fuzz::finding("a written record does not read back");
    const auto& a = again.front();
    if (a.frame != r.frame || a.id != r.id || a.box.x != r.box.x || a.box.y != r.box.y || a.box.w != r.box.w ||
        a.box.h != r.box.h || a.score != r.score)
      vbatch_fuzz::finding("a record read back differs");
  }
  return 0;
}
