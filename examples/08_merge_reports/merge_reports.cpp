// merge-reports: add up the --report files of a sharded run into one report.
//
//   merge-reports report-*.json -o merged.json            # the shards of one run -> one report, failures.json
//   merge-reports out/report-0.json out/report-1.json -o out/report.json -q
//
// Every tool's --report holds the same "run" block (items, resumed, failed, done, outputs, seconds,
// busy seconds per stage) and the run's failures. A run split with --shard i/n (a Slurm job array,
// a Kubernetes Indexed Job) leaves n of them; this tool checks that they are one run's (one tool,
// one shard count, each shard once, none missing) and writes their sum: counts added up, seconds
// those of the longest shard (the shards ran side by side), stage seconds added up, each shard's
// own block under "shards", and every shard's failures in one list. That list also goes to
// failures.json next to the merged report (the format of the tools' own failures.json), so that
// there is one file that says what failed across all shards; a merge without failures removes a
// failures.json an earlier merge left there.
//
// Exit status: 0 merged, 1 a report that is missing, unreadable, not a report or not of the same
// run as the others (the message names the file, or the shards missing), 2 a bad command line.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "../common/tool.hpp"
#include "merge.hpp"

namespace {

namespace fs = std::filesystem;
using vbatch_tools::fail;
using vbatch_tools::usage;

struct options {
  std::vector<std::string> inputs;
  fs::path out;
  bool quiet = false;
};

nlohmann::json read_json(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail("{}: no such file", file);
  if (fs::is_directory(file, ec)) fail("{}: a directory, not a report", file);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", file, std::strerror(errno));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: not JSON ({})", file, e.what());
  }
}

int run(const options& o) {
  if (o.inputs.empty()) usage("no reports given: merge-reports SHARD_REPORTS... -o MERGED.json");
  if (o.out.empty()) usage("--output is required: the file for the merged report (-o MERGED.json)");
  for (const std::string& input : o.inputs) {
    std::error_code ec;
    if (fs::path(input).lexically_normal() == o.out.lexically_normal() || fs::equivalent(input, o.out, ec))
      usage("{}: the merged report would overwrite this input; choose another -o", input);
  }

  std::vector<std::pair<std::string, nlohmann::json>> reports;
  for (const std::string& input : o.inputs) reports.emplace_back(input, read_json(input));
  const nlohmann::json merged = vbatch_tools::merge_shard_reports(reports);
  const fs::path failures_file = vbatch_tools::write_merged_report(o.out, merged);
  if (!o.quiet) fmt::print("{}", vbatch_tools::merged_summary("merge-reports", merged, o.out, failures_file));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"merge-reports: add up the --report files of a run's shards into one report.", "merge-reports"};
  app.footer(
      "Examples:\n"
      "  merge-reports report-*.json -o merged.json          the n shards of one run -> one report\n"
      "  merge-reports out/report-0.json out/report-1.json -o out/report.json -q\n"
      "The reports must be of one tool and one shard count (--shard i/n or auto), each shard once, none missing.\n"
      "Merged: counts added up, seconds of the longest shard, busy seconds per stage added up, each shard's\n"
      "\"run\" under \"shards\", all failures in one list, also written as failures.json next to the merged report\n"
      "(removed there when no shard failed).\n"
      "Exit status: 0 merged; 1 a report missing, unreadable, not a report, or not of the same run as the others\n"
      "(a shard missing or given twice, another tool or shard count); 2 a bad command line.");
  vbatch_tools::add_version_flag(app);
  app.add_option("reports", o.inputs, "The shards' report files (each tool's --report)");
  app.add_option("-o,--output", o.out, "The merged report's file (its directory is created if missing); required");
  app.add_flag("-q,--quiet", o.quiet, "Print nothing but errors");
  if (const auto status = vbatch_tools::parse_command_line(app, argc, argv)) return *status;
  return vbatch_tools::run_reporting("merge-reports", nullptr, [&] { return run(o); });
}
