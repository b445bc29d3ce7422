// stb's implementation, for stb packages that ship headers only (cmake/vbatchFindStb.cmake
// compiles this file once per consuming project). Debian's libstb is built the same way: no
// optional macros.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
