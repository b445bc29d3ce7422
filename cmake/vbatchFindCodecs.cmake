# Finds the optional fast codecs of vbatch::io and defines an imported target for each one found:
#   vbatch::turbojpeg  libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev), JPEG decode and encode
#   vbatch::png        libpng (Debian: libpng-dev), fast PNG encoding
# VBATCH_WITH_TURBOJPEG / VBATCH_WITH_LIBPNG (ON by default) switch the search off. Used by the build
# and by the installed vbatchConfig.cmake, which asks for exactly the codecs the build used
# (VBATCH_REQUIRE_TURBOJPEG / VBATCH_REQUIRE_LIBPNG) and fails with the package name if one is missing.
if(NOT DEFINED VBATCH_WITH_TURBOJPEG)
  set(VBATCH_WITH_TURBOJPEG ON)
endif()
if(NOT DEFINED VBATCH_WITH_LIBPNG)
  set(VBATCH_WITH_LIBPNG ON)
endif()

if((VBATCH_WITH_TURBOJPEG OR VBATCH_REQUIRE_TURBOJPEG) AND NOT TARGET vbatch::turbojpeg)
  find_path(VBATCH_TURBOJPEG_INCLUDE_DIR turbojpeg.h)
  find_library(VBATCH_TURBOJPEG_LIBRARY NAMES turbojpeg libturbojpeg)
  if(VBATCH_TURBOJPEG_INCLUDE_DIR AND VBATCH_TURBOJPEG_LIBRARY)
    add_library(vbatch::turbojpeg INTERFACE IMPORTED)
    set_target_properties(vbatch::turbojpeg PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${VBATCH_TURBOJPEG_INCLUDE_DIR}"
                                                       INTERFACE_LINK_LIBRARIES "${VBATCH_TURBOJPEG_LIBRARY}")
  endif()
endif()

if((VBATCH_WITH_LIBPNG OR VBATCH_REQUIRE_LIBPNG) AND NOT TARGET vbatch::png)
  find_package(PNG QUIET)
  if(TARGET PNG::PNG)
    add_library(vbatch::png INTERFACE IMPORTED)
    set_target_properties(vbatch::png PROPERTIES INTERFACE_LINK_LIBRARIES PNG::PNG)
  endif()
endif()

if(VBATCH_REQUIRE_TURBOJPEG AND NOT TARGET vbatch::turbojpeg)
  set(vbatch_codecs_FOUND FALSE)
  set(vbatch_codecs_MESSAGE "vbatch was built with libjpeg-turbo, which is not found: install libturbojpeg0-dev (Debian) or put turbojpeg.h and the library on CMAKE_PREFIX_PATH")
elseif(VBATCH_REQUIRE_LIBPNG AND NOT TARGET vbatch::png)
  set(vbatch_codecs_FOUND FALSE)
  set(vbatch_codecs_MESSAGE "vbatch was built with libpng, which is not found: install libpng-dev (Debian)")
else()
  set(vbatch_codecs_FOUND TRUE)
endif()
