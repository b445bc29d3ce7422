# Finds stb's headers and, where the platform ships one, its compiled implementation library
# (Debian's libstb). Defines the imported target vbatch::stb. Used by the build and by the
# installed vbatchConfig.cmake. Where no compiled stb exists (vcpkg's stb, a plain checkout),
# the consumer compiles the implementation in one source file of its own.
if(TARGET vbatch::stb)
  return()
endif()
find_path(VBATCH_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
find_library(VBATCH_STB_LIBRARY NAMES stb)
if(NOT VBATCH_STB_INCLUDE_DIR)
  set(vbatch_stb_FOUND FALSE)
  return()
endif()
set(vbatch_stb_FOUND TRUE)
add_library(vbatch::stb INTERFACE IMPORTED)
set_target_properties(vbatch::stb PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${VBATCH_STB_INCLUDE_DIR}")
if(VBATCH_STB_LIBRARY)
  set_property(TARGET vbatch::stb PROPERTY INTERFACE_LINK_LIBRARIES "${VBATCH_STB_LIBRARY}")
endif()
