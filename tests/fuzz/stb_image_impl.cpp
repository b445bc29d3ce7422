// stb_image's decoders compiled into each fuzzer, instrumented for coverage (see CMakeLists.txt):
// the same header and options as Debian's libstb, whose copy these definitions take precedence over.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
