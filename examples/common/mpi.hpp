// MPI for the tools built with it (pipeline360_mpi, CMake option VBATCH_WITH_MPI): the only file
// that talks to MPI. Each rank r of n takes shard r/n of the input, as `--shard r/n` would, writes
// its own outputs, and sends its report to rank 0, which merges them; every rank then exits with
// the worst status of all. Only the main thread calls MPI (the tools' worker threads never do).
#pragma once

#if !__has_include(<mpi.h>)
#error "examples/common/mpi.hpp needs MPI's headers: it is only for the *_mpi tools (VBATCH_WITH_MPI, Debian's libopenmpi-dev)"
#endif
#include <mpi.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../08_merge_reports/merge.hpp"
#include "tool.hpp"

namespace vbatch_tools::mpi {

// Throws (exit status 1) with MPI's own words for a call that failed.
inline void check(int code, std::string_view call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail("MPI: {} failed: {}", call, std::string_view(text, std::size_t(length)));
}

// How bad an exit status is, for the one all ranks exit with: a usage error (2) is worst, then an
// error (1), then a run that completed with failures (3), then success (0).
inline int severity(int status) {
  switch (status) {
    case 0:
      return 0;
    case exit_completed_with_failures:
      return 1;
    case 1:
      return 2;
    default:
      return 3;
  }
}

// The worse of two exit statuses.
inline int worse(int a, int b) { return severity(a) >= severity(b) ? a : b; }

// MPI for the life of the process: initialised by the constructor (before the command line is
// read: MPI may take its own arguments out of argv), finalised by the destructor. Run without
// mpirun, a process is a world of one rank: the whole input, as the tool without MPI.
class session {
 public:
  session(int& argc, char**& argv) {
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      // Before main's error handling is in place: said here, exit status 1.
      fmt::print(stderr, "{}: MPI did not start: run it under mpirun (mpirun -np N {} ...), or use the tool built without MPI\n",
                 argc > 0 ? argv[0] : "tool", argc > 0 ? argv[0] : "TOOL");
      std::exit(1);
    }
    // Errors come back as codes (and then as exceptions with a message) instead of aborting the job.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session() { MPI_Finalize(); }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }

  // Every rank's `text`, in rank order, on rank 0; an empty list on the others. Collective: every
  // rank must call it, also one whose run failed (it sends what it has, an empty text say).
  std::vector<std::string> gather_to_root(const std::string& text) const {
    if (text.size() > std::size_t(INT_MAX))
      fail("MPI: rank {}: {} bytes are too many to send in one message", rank_, text.size());
    const int length = int(text.size());
    std::vector<int> lengths(root() ? std::size_t(size_) : 0);
    check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
    std::vector<int> offsets(lengths.size());
    std::size_t total = 0;
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      if (total + std::size_t(lengths[r]) > std::size_t(INT_MAX)) fail("MPI: the ranks' texts are too large to gather");
      offsets[r] = int(total);
      total += std::size_t(lengths[r]);
    }
    std::string all(total, '\0');
    check(MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD),
          "MPI_Gatherv");
    std::vector<std::string> texts;
    for (std::size_t r = 0; r < lengths.size(); ++r)
      texts.push_back(all.substr(std::size_t(offsets[r]), std::size_t(lengths[r])));
    return texts;
  }

  // The worst of every rank's exit status (by severity), on every rank. Collective.
  int worst_status(int status) const {
    const int mine = severity(status);
    int worst = mine;
    check(MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    if (worst == mine) return status;
    const std::array<int, 4> statuses{0, exit_completed_with_failures, 1, 2};
    return *std::find_if(statuses.begin(), statuses.end(), [&](int s) { return severity(s) == worst; });
  }

 private:
  int rank_ = 0, size_ = 1;
};

// The end of a run under MPI, on every rank (collective): each rank's report (its JSON text; empty
// when its run stopped before it had one) goes to rank 0, which merges them as merge-reports does
// into `report_file`, with every rank's failures in failures.json beside it, and prints the
// merge's summary (unless `quiet`). Every rank returns the worst exit status of all, the merge's
// included. Rank 0 writes after every rank has finished its run, so that its failures.json
// replaces whatever a rank's own end of run left in a shared output directory.
inline int finish_ranks(const session& mpi, std::string_view tool, int status, const std::string& report,
                        const std::filesystem::path& report_file, bool quiet) {
  const std::vector<std::string> reports = mpi.gather_to_root(report);
  int merged_status = 0;
  if (mpi.root() && status != 2)  // a bad command line is the same on every rank, and said by each
    merged_status = run_reporting(tool, nullptr, [&] {
      std::vector<std::pair<std::string, nlohmann::json>> parsed;
      for (std::size_t r = 0; r < reports.size(); ++r) {
        const std::string source = fmt::format("rank {}", r);
        if (reports[r].empty()) fail("{} has no report (its error is above): no merged report", source);
        parsed.emplace_back(source, nlohmann::json::parse(reports[r]));
      }
      const nlohmann::json merged = merge_shard_reports(parsed);
      const std::filesystem::path failures_file = write_merged_report(report_file, merged);
      if (!quiet) fmt::print("{}", merged_summary(fmt::format("{} (MPI)", tool), merged, report_file, failures_file));
      return 0;
    });
  return mpi.worst_status(worse(status, merged_status));
}

}  // namespace vbatch_tools::mpi
