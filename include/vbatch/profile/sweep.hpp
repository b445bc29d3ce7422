#pragma once
// Batch-size sweeps: run a callable at sizes 1, 2, 4, ... until it fails (out of memory), the
// throughput stops growing, or a maximum; report per size the time, items/s and peak memory, and
// recommend the smallest size within a few percent of the best rate.
//
//   auto points = vbatch::profile::sweep([&](std::size_t size) {
//     ...                                   // process `size` items, throw std::bad_alloc if they do not fit
//     return vbatch::profile::trial{size, peak_bytes};
//   });
//   std::size_t best = vbatch::profile::recommended_size(points);
//   std::cout << vbatch::profile::sweep_table(points);

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <new>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "vbatch/core/error.hpp"
#include "vbatch/profile/report.hpp"

namespace vbatch::inline v0::profile {

// What one run at a batch size reports: items processed, the peak memory it used (bytes, 0 if not
// measured) and, if the caller timed the work itself (CUDA events, a simulated cost), its
// seconds; 0 means the sweep's own wall-clock time of the call counts.
struct trial {
  std::size_t items = 0;
  std::int64_t peak_bytes = 0;
  double seconds = 0;
};

struct sweep_point {
  std::size_t size = 0;
  double seconds = 0, items_per_second = 0;
  std::int64_t peak_bytes = 0;
  bool out_of_memory = false;
};

struct sweep_options {
  std::size_t first = 1, max = 1024;
  double plateau_gain = 1.05;  // stop after `plateau_runs` sizes each gaining less than this factor
  int plateau_runs = 2;
  int repeats = 1;  // timed runs per size; the fastest counts
};

template <class Run>
std::vector<sweep_point> sweep(Run&& run, const sweep_options& options = {}) {
  if (options.first == 0 || options.max < options.first)
    raise(errc::invalid_argument, "sweep: sizes {}..{} are not a range of positive sizes", options.first, options.max);
  if (options.repeats < 1) raise(errc::invalid_argument, "sweep: repeats {} must be at least 1", options.repeats);
  std::vector<sweep_point> points;
  double best = 0;
  int flat = 0;
  for (std::size_t size = options.first; size <= options.max; size *= 2) {
    sweep_point p{size};
    try {
      for (int r = 0; r < options.repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const trial t = run(size);
        const double s =
            t.seconds > 0 ? t.seconds : std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (r == 0 || s < p.seconds) p.seconds = s, p.items_per_second = double(t.items) / std::max(s, 1e-12);
        p.peak_bytes = std::max(p.peak_bytes, t.peak_bytes);
      }
    } catch (const std::bad_alloc&) {
      p.out_of_memory = true;
    } catch (const error& e) {
      if (e.code() != errc::out_of_memory) throw;
      p.out_of_memory = true;
    }
    points.push_back(p);
    if (p.out_of_memory) break;
    flat = p.items_per_second > best * options.plateau_gain ? 0 : flat + 1;
    best = std::max(best, p.items_per_second);
    if (flat >= options.plateau_runs) break;
  }
  return points;
}

// The smallest size whose rate is within `tolerance` of the best one (smaller batches mean less
// memory and latency for the same throughput); 0 when no size worked.
inline std::size_t recommended_size(const std::vector<sweep_point>& points, double tolerance = 0.05) {
  double best = 0;
  for (const auto& p : points)
    if (!p.out_of_memory) best = std::max(best, p.items_per_second);
  for (const auto& p : points)
    if (!p.out_of_memory && p.items_per_second >= best * (1 - tolerance)) return p.size;
  return 0;
}

inline std::string sweep_table(const std::vector<sweep_point>& points, std::string_view item = "items") {
  std::ostringstream out;
  out << std::setw(8) << "batch" << std::setw(12) << "seconds" << std::setw(14) << (std::string(item) + "/s") << std::setw(14)
      << "peak MiB" << '\n'
      << std::fixed;
  const std::size_t pick = recommended_size(points);
  for (const auto& p : points) {
    out << std::setw(8) << p.size;
    if (p.out_of_memory) {
      out << "  out of memory\n";
      continue;
    }
    out << std::setw(12) << std::setprecision(4) << p.seconds << std::setw(14) << std::setprecision(2) << p.items_per_second
        << std::setw(14) << std::setprecision(1) << double(p.peak_bytes) / (1 << 20) << (p.size == pick ? "  <- recommended" : "")
        << '\n';
  }
  return out.str();
}

inline std::string sweep_json(const std::vector<sweep_point>& points) {
  json_writer j;
  j.begin_object();
  j.key("recommended_size").value(recommended_size(points));
  j.key("points").begin_array();
  for (const auto& p : points) {
    j.begin_object();
    j.key("size").value(p.size);
    j.key("out_of_memory").value(p.out_of_memory);
    j.key("seconds").value(p.seconds);
    j.key("items_per_second").value(p.items_per_second);
    j.key("peak_bytes").value(p.peak_bytes);
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

// The rate against batch size of one sweep, or of several named ones (e.g. one per thread count).
inline series sweep_series(std::string name, const std::vector<sweep_point>& points) {
  series s{std::move(name), {}};
  for (const auto& p : points)
    if (!p.out_of_memory) s.points.push_back({double(p.size), p.items_per_second});
  return s;
}

inline std::string sweep_svg(const std::vector<sweep_point>& points, std::string_view title, std::string_view item = "items") {
  return line_chart_svg(title, "batch size", std::string(item) + " per second", {sweep_series("", points)},
                        double(recommended_size(points)));
}

}  // namespace vbatch::inline v0::profile
