// masks's command line, parsed only (see tool_options.hpp).
#include "tool_options.hpp"

#define main masks_main
#define run_reporting parse_only
#include "examples/02_masks/masks.cpp"
