// merge-reports' checks, files and summary, shared with the MPI tools (examples/common/mpi.hpp),
// whose rank 0 merges its ranks' reports exactly as merge-reports merges a job array's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../common/tool.hpp"

namespace vbatch_tools {

// What merge_reports takes on trust, checked here so that the message names the report: a report
// already merged (its shards would count twice), a shard beyond its count (it would hide a missing
// one) and a failure that is not {file, stage, reason}.
inline void check_shard_report(const std::string& source, const nlohmann::json& report) {
  if (!report.is_object()) fail("{}: not a vbatch tool report (not a JSON object)", source);
  if (report.contains("shards"))
    fail("{}: already a merged report (of {} shards): give the shards' own reports", source, report["shards"].size());
  const run_summary run = run_summary_from_json(report, source);
  if (run.shard && run.shard->index >= run.shard->count)
    fail("{}: shard {}/{}: the index must be below the count", source, run.shard->index, run.shard->count);
  const nlohmann::json failures = report.value("failures", nlohmann::json::array());
  const auto is_text = [](const nlohmann::json& f, const char* key) { return f.contains(key) && f[key].is_string(); };
  if (!failures.is_array()) fail("{}: \"failures\" is not a list", source);
  for (const nlohmann::json& f : failures)
    if (!f.is_object() || !is_text(f, "file") || !is_text(f, "stage") || !is_text(f, "reason"))
      fail("{}: a failure that is not {{\"file\", \"stage\", \"reason\"}}: {}", source, f.dump());
}

// The shards' reports, (source, report) pairs, checked and added up (merge_reports).
inline nlohmann::json merge_shard_reports(const std::vector<std::pair<std::string, nlohmann::json>>& reports) {
  for (const auto& [source, report] : reports) check_shard_report(source, report);
  return merge_reports(reports);
}

// Writes the merged report to `file` (its directory created if missing) and the failures of all
// shards to failures.json beside it, the one list of what failed in the whole run; without
// failures, removes a failures.json there (an earlier merge's, or a shard's own). Returns the
// failures file written, or an empty path.
inline std::filesystem::path write_merged_report(const std::filesystem::path& file, const nlohmann::json& merged) {
  namespace fs = std::filesystem;
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the directory: {}", dir.string(), ec.message());
  write_report(dir / file.filename(), merged);
  const fs::path failures_file = dir / "failures.json";
  const nlohmann::json& failures = merged.at("failures");
  if (failures.empty()) {
    fs::remove(failures_file, ec);
    return {};
  }
  write_report(failures_file, {{"tool", merged.at("run").at("tool")},
                               {"failed", failures.size()},
                               {"shards", merged.at("shards").size()},
                               {"failures", failures}});
  return failures_file;
}

// The merge in a few lines: "WHO: N shards of TOOL: items, done, resumed, failed, outputs; the
// longest shard's seconds, items/s", the busy seconds and share of each stage, the files written.
inline std::string merged_summary(std::string_view who, const nlohmann::json& merged, const std::filesystem::path& file,
                                  const std::filesystem::path& failures_file) {
  const nlohmann::json& r = merged.at("run");
  const std::string unit = r.at("unit").get<std::string>();
  std::string text = fmt::format(
      "{}: {} shards of {}: {} {}, {} done, {} resumed, {} failed, {} outputs; {:.2f} s (the longest shard), {:.1f} {}/s\n", who,
      merged.at("shards").size(), r.at("tool").get<std::string>(), r.at("items").get<std::uint64_t>(), unit,
      r.at("done").get<std::uint64_t>(), r.at("resumed").get<std::uint64_t>(), r.at("failed").get<std::uint64_t>(),
      r.at("outputs").get<std::uint64_t>(), r.at("seconds").get<double>(), r.at("items_per_second").get<double>(), unit);
  if (!r.at("stage_seconds").empty()) {
    text += fmt::format("  {:<16} {:>12} {:>7}\n", "stage", "busy seconds", "share");
    for (const auto& [stage, seconds] : r.at("stage_seconds").items())
      text += fmt::format("  {:<16} {:>12.2f} {:>6.1f}%\n", stage, seconds.get<double>(),
                          100 * r.at("stage_shares").at(stage).get<double>());
  }
  text += fmt::format("report: {}\n", file.string());
  if (!failures_file.empty()) text += fmt::format("failures: {} (all shards')\n", failures_file.string());
  return text;
}

}  // namespace vbatch_tools
