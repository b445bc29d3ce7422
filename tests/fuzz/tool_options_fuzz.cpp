// The tools' option parsing: the first byte picks a tool (e2p, masks, track, frames), the rest is
// its arguments separated by NUL bytes. Each tool's real CLI11 app parses them (tool_options.hpp);
// the tool never runs. Parse errors are exit statuses (2) printed by CLI11, never exceptions, so
// anything thrown here is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tool_options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr int (*tools[])(int, char**) = {e2p_main, masks_main, track_main, frames_main};
  static constexpr const char* names[] = {"e2p", "masks", "track", "frames"};
  const std::size_t tool = data[0] % 4;
  std::vector<std::string> args{names[tool]};
  for (std::size_t i = 1; i < size; ++i) {
    if (data[i] == '\0') {
      args.emplace_back();
      continue;
    }
    if (args.size() == 1) args.emplace_back();
    args.back() += static_cast<char>(data[i]);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int status = tools[tool](static_cast<int>(args.size()), argv.data());
  if (status != 0 && status != 2) __builtin_trap();  // parsing alone ends in 0 (go on, help, version) or 2 (usage)
  return 0;
}
