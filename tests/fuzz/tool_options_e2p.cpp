// e2p's command line, parsed only (see tool_options.hpp).
#include "tool_options.hpp"

#define main e2p_main
#define run_reporting parse_only
#include "examples/01_e2p/e2p.cpp"
