# Finds stb's headers and, where the platform ships one, its compiled implementation library
# (Debian's libstb). Defines the imported target vbatch::stb. Used by the build and by the
# installed vbatchConfig.cmake.
#
# Where stb comes as headers only (Conan's and vcpkg's packages, a plain checkout), or with
# VBATCH_STB_HEADERS_ONLY=ON, vbatch::stb also links vbatch_stb_implementation: a small static
# library compiled once in the consuming project from vbatchStbImplementation.cpp, so that no
# source file of the user's has to define STB_*_IMPLEMENTATION (and two never do).
# VBATCH_STB_KIND says which: "library" or "headers only".
if(TARGET vbatch::stb)
  return()
endif()
if(NOT DEFINED VBATCH_STB_HEADERS_ONLY)  # -DVBATCH_STB_HEADERS_ONLY=ON: never link a libstb, even if found
  set(VBATCH_STB_HEADERS_ONLY OFF)
endif()
find_path(VBATCH_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
if(NOT VBATCH_STB_HEADERS_ONLY)
  find_library(VBATCH_STB_LIBRARY NAMES stb)
endif()
if(NOT VBATCH_STB_INCLUDE_DIR)
  set(vbatch_stb_FOUND FALSE)
  return()
endif()
set(vbatch_stb_FOUND TRUE)
add_library(vbatch::stb INTERFACE IMPORTED)
set_target_properties(vbatch::stb PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${VBATCH_STB_INCLUDE_DIR}")
if(VBATCH_STB_LIBRARY AND NOT VBATCH_STB_HEADERS_ONLY)
  set(VBATCH_STB_KIND "library")
  set_property(TARGET vbatch::stb PROPERTY INTERFACE_LINK_LIBRARIES "${VBATCH_STB_LIBRARY}")
else()
  set(VBATCH_STB_KIND "headers only")
  if(NOT TARGET vbatch_stb_implementation)
    add_library(vbatch_stb_implementation STATIC "${CMAKE_CURRENT_LIST_DIR}/vbatchStbImplementation.cpp")
    target_include_directories(vbatch_stb_implementation PRIVATE "${VBATCH_STB_INCLUDE_DIR}")
    # PIC: a consumer may link vbatch::io into a shared library.
    set_target_properties(vbatch_stb_implementation PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  set_property(TARGET vbatch::stb PROPERTY INTERFACE_LINK_LIBRARIES vbatch_stb_implementation)
endif()
