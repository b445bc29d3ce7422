// frames's command line, parsed only (see tool_options.hpp).
#include "tool_options.hpp"

#define main frames_main
#define run_reporting parse_only
#include "examples/06_frames/frames.cpp"
