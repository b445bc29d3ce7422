// Pieces shared by the example tools (examples/NN_name/name.cpp): only what has the same meaning in
// every tool that uses it. What differs on purpose from tool to tool (their messages, their progress
// lines, how each parses sizes) stays in the tool.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace vbatch_tools {

// The clock every tool times its stages and its whole run with.
using clock_type = std::chrono::steady_clock;

// Seconds elapsed since t0, for the timings the tools print.
inline double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

// A bad command line: exit status 2, like CLI11's own parse errors. Everything else is 1.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws a usage_error (exit status 2) with a fmt-formatted message.
template <class... Args>
[[noreturn]] void usage(fmt::format_string<Args...> f, Args&&... args) {
  throw usage_error(fmt::format(f, std::forward<Args>(args)...));
}

// Throws a runtime_error (exit status 1: an input, output or processing problem) with a fmt-formatted message.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw std::runtime_error(fmt::format(f, std::forward<Args>(args)...));
}

// CLI11's parse with the tools' exit statuses: the status to exit with when parsing ends the run
// (help and version exit 0; every parse error is a usage error, 2), or nothing to go on.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

// Runs a tool's work and maps what it throws to the exit status, with the message on stderr as
// "TOOL: message": a usage_error exits 2 (with a pointer to --help), anything else 1. An
// out-of-memory error prints `out_of_memory` (a hint fitting the tool), or, when it is null, like
// any other error.
template <class Body>
int run_reporting(std::string_view tool, const char* out_of_memory, Body&& body) {
  try {
    return std::forward<Body>(body)();
  } catch (const usage_error& e) {
    fmt::print(stderr, "{}: {}\nRun with --help for more information.\n", tool, e.what());
    return 2;
  } catch (const std::bad_alloc& e) {
    if (out_of_memory != nullptr)
      fmt::print(stderr, "{}: {}\n", tool, out_of_memory);
    else
      fmt::print(stderr, "{}: {}\n", tool, e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: {}\n", tool, e.what());
    return 1;
  }
}

// Creates the output directory and proves it writable with a probe file (.TOOL-probe-XXXXXX,
// removed again), before any work, so that a bad output path costs nothing and leaves nothing.
inline void check_output_dir(const std::filesystem::path& dir, std::string_view tool) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the output directory: {}", dir.string(), ec.message());
  if (!fs::is_directory(dir, ec)) fail("{}: the output path is not a directory", dir.string());
  std::string probe = (dir / fmt::format(".{}-probe-XXXXXX", tool)).string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) fail("{}: cannot write in the output directory: {}", dir.string(), std::strerror(errno));
  const auto size = static_cast<ssize_t>(tool.size());
  const bool written = ::write(fd, tool.data(), tool.size()) == size;
  const int write_errno = errno;
  ::close(fd);
  fs::remove(probe, ec);
  if (!written) fail("{}: cannot write in the output directory: {}", dir.string(), std::strerror(write_errno));
}

}  // namespace vbatch_tools
