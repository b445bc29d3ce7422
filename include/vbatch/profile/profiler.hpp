#pragma once
// Where a run's time went: per stage busy and waiting time, items and pixels, throughput, the
// share of I/O against compute, and peak memory; as a table, JSON and an SVG chart.
//
//   vbatch::profile::profiler prof;
//   { auto t = prof.busy("decode", vbatch::profile::stage_kind::io); decode(); }
//   { auto t = prof.busy("remap"); remap(); prof.count("remap", views, pixels); }
//   { auto t = prof.waiting("save"); queue.wait(); }
//   vbatch::profile::run_report r = prof.report();
//   std::cout << r.table();  write(r.json());  write(r.svg());
//
// Thread-safe: several workers may time the same stage; busy and waiting times are summed over
// threads (so busy time can exceed wall time on several cores).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "vbatch/core/memory.hpp"
#include "vbatch/profile/report.hpp"

namespace vbatch::inline v0::profile {

enum class stage_kind { compute, io };

inline const char* to_string(stage_kind k) { return k == stage_kind::io ? "io" : "compute"; }

struct stage_stats {
  std::string name;
  stage_kind kind = stage_kind::compute;
  double busy = 0, waiting = 0;  // seconds, summed over threads
  std::uint64_t items = 0, pixels = 0;
};

struct run_report {
  double wall = 0;  // seconds
  std::vector<stage_stats> stages;
  std::uint64_t peak_rss = 0;                                     // bytes, the whole process
  std::vector<std::pair<std::string, std::int64_t>> peak_memory;  // tracked memory spaces, bytes

  double busy(stage_kind k) const {
    double s = 0;
    for (const auto& st : stages) s += st.kind == k ? st.busy : 0;
    return s;
  }
  // I/O busy time over I/O plus compute busy time (0 when nothing was timed).
  double io_share() const {
    const double io = busy(stage_kind::io), all = io + busy(stage_kind::compute);
    return all > 0 ? io / all : 0;
  }

  std::string table() const {
    std::ostringstream out;
    out << std::fixed << std::setprecision(3);
    out << std::left << std::setw(16) << "stage" << std::setw(9) << "kind" << std::right << std::setw(10) << "busy s"
        << std::setw(10) << "wait s" << std::setw(10) << "items" << std::setw(12) << "items/s" << std::setw(12) << "MPix/s"
        << '\n';
    for (const auto& s : stages)
      out << std::left << std::setw(16) << s.name << std::setw(9) << to_string(s.kind) << std::right << std::setw(10) << s.busy
          << std::setw(10) << s.waiting << std::setw(10) << s.items << std::setw(12) << std::setprecision(1) << rate(s.items)
          << std::setw(12) << rate(s.pixels) / 1e6 << std::setprecision(3) << '\n';
    out << "wall " << wall << " s, I/O share " << std::setprecision(1) << 100 * io_share() << " %, peak RSS "
        << double(peak_rss) / (1 << 20) << " MiB";
    for (const auto& [name, bytes] : peak_memory) out << ", peak " << name << ' ' << double(bytes) / (1 << 20) << " MiB";
    out << '\n';
    return out.str();
  }

  std::string json() const {
    json_writer j;
    j.begin_object();
    j.key("wall_seconds").value(wall);
    j.key("io_share").value(io_share());
    j.key("peak_rss_bytes").value(peak_rss);
    j.key("peak_memory_bytes").begin_object();
    for (const auto& [name, bytes] : peak_memory) j.key(name).value(bytes);
    j.end_object();
    j.key("stages").begin_array();
    for (const auto& s : stages) {
      j.begin_object();
      j.key("name").value(s.name);
      j.key("kind").value(to_string(s.kind));
      j.key("busy_seconds").value(s.busy);
      j.key("waiting_seconds").value(s.waiting);
      j.key("items").value(s.items);
      j.key("pixels").value(s.pixels);
      j.key("items_per_second").value(rate(s.items));
      j.key("pixels_per_second").value(rate(s.pixels));
      j.end_object();
    }
    j.end_array();
    j.end_object();
    return j.str();
  }

  // Horizontal bars per stage: busy (dark) then waiting (light), on one time axis.
  std::string svg() const {
    std::vector<bar> bars;
    for (const auto& s : stages) bars.push_back({s.name + " (" + to_string(s.kind) + ")", s.busy, s.waiting});
    std::ostringstream title;
    title << std::fixed << std::setprecision(2) << "wall " << wall << " s, I/O share " << std::setprecision(0) << 100 * io_share()
          << " %";
    return bar_chart_svg(title.str(), "seconds (busy, waiting)", bars);
  }

 private:
  double rate(std::uint64_t n) const { return wall > 0 ? double(n) / wall : 0; }
};

class profiler {
 public:
  using clock = std::chrono::steady_clock;

  // Adds the time until it is destroyed to a stage's busy or waiting time.
  class scope {
   public:
    scope(profiler& p, std::string_view stage, stage_kind kind, bool busy)
        : p_(&p), stage_(stage), kind_(kind), busy_(busy), start_(clock::now()) {}
    scope(scope&& other) noexcept
        : p_(std::exchange(other.p_, nullptr)),
          stage_(other.stage_),
          kind_(other.kind_),
          busy_(other.busy_),
          start_(other.start_) {}
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    scope& operator=(scope&&) = delete;
    ~scope() {
      if (!p_) return;
      const double s = std::chrono::duration<double>(clock::now() - start_).count();
      p_->add(stage_, kind_, busy_ ? s : 0, busy_ ? 0 : s);
    }

   private:
    profiler* p_;
    std::string stage_;
    stage_kind kind_;
    bool busy_;
    clock::time_point start_;
  };

  profiler() : start_(clock::now()) {}

  [[nodiscard]] scope busy(std::string_view stage, stage_kind kind = stage_kind::compute) { return {*this, stage, kind, true}; }
  [[nodiscard]] scope waiting(std::string_view stage, stage_kind kind = stage_kind::compute) {
    return {*this, stage, kind, false};
  }

  void add(std::string_view stage, stage_kind kind, double busy_seconds, double waiting_seconds) {
    std::lock_guard lock(mutex_);
    stage_stats& s = find(stage, kind);
    s.kind = kind;  // a timer names the stage's kind, also when count() created the stage first
    s.busy += busy_seconds;
    s.waiting += waiting_seconds;
  }
  void count(std::string_view stage, std::uint64_t items, std::uint64_t pixels = 0) {
    std::lock_guard lock(mutex_);
    stage_stats& s = find(stage, stage_kind::compute);
    s.items += items;
    s.pixels += pixels;
  }
  // A tracked memory space's peak, reported with the run (e.g. tracked_memory<...>::stats().peak).
  void record_peak(std::string_view name, std::int64_t bytes) {
    std::lock_guard lock(mutex_);
    peaks_.emplace_back(std::string(name), bytes);
  }

  // The run so far: wall time since construction, stages in first-use order.
  run_report report() const {
    std::lock_guard lock(mutex_);
    return {std::chrono::duration<double>(clock::now() - start_).count(), stages_, peak_rss_bytes(), peaks_};
  }

 private:
  stage_stats& find(std::string_view stage, stage_kind kind) {
    for (auto& s : stages_)
      if (s.name == stage) return s;
    stages_.push_back({std::string(stage), kind});
    return stages_.back();
  }

  clock::time_point start_;
  mutable std::mutex mutex_;
  std::vector<stage_stats> stages_;
  std::vector<std::pair<std::string, std::int64_t>> peaks_;
};

}  // namespace vbatch::inline v0::profile
