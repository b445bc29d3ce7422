// track's command line, parsed only (see tool_options.hpp).
#include "tool_options.hpp"

#define main track_main
#define run_reporting parse_only
#include "examples/03_track/track.cpp"
