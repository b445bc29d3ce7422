// vbatch::vbatch, the 0.1 name of vbatch::core, still gives a consumer the headers (and C++20).
#include <cstdio>
#include <span>

#include <vbatch/core/config.hpp>

int main() {
  const int sizes[] = {1, 2};
  std::printf("vbatch %s: vbatch::vbatch links, %zu\n", vbatch::version_string, std::span(sizes).size());
}
