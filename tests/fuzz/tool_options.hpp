#pragma once
// Each tool's own command line, parsed and nothing more: tool_options_TOOL.cpp compiles
// examples/NN_TOOL/TOOL.cpp unchanged, with its main renamed TOOL_main and
// vbatch_tools::run_reporting (what every tool calls once its command line is parsed) replaced by
// one that returns 0 without running the tool.
#include <string_view>
#include <utility>

#include "examples/common/tool.hpp"

namespace vbatch_tools {
template <class Body>
int parse_only(std::string_view, const char*, Body&&) {
  return 0;
}
}  // namespace vbatch_tools

int e2p_main(int argc, char** argv);
int masks_main(int argc, char** argv);
int track_main(int argc, char** argv);
int frames_main(int argc, char** argv);
