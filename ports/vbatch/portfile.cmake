# An overlay port that builds this checkout:
#   vcpkg install vbatch --overlay-ports=<vbatch>/ports        (classic mode)
#   "dependencies": ["vbatch"] with "overlay-ports" in vcpkg-configuration.json  (manifest mode)
# tests/package/vcpkg_port.cmake runs the same configure options, install and layout without vcpkg.
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../..")
set(VCPKG_BUILD_TYPE release)  # headers and CMake files only: no debug build

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    turbojpeg VBATCH_WITH_TURBOJPEG
    turbojpeg VBATCH_REQUIRE_TURBOJPEG
    png VBATCH_WITH_LIBPNG
    png VBATCH_REQUIRE_LIBPNG
    cuda VBATCH_ENABLE_CUDA
)

# vcpkg's stb is headers only: vbatch::io compiles its implementation once in each consuming
# project (cmake/vbatchFindStb.cmake), never links a system libstb.
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DVBATCH_BUILD_TESTS=OFF
    -DVBATCH_BUILD_EXAMPLES=OFF
    -DVBATCH_BUILD_BENCHMARKS=OFF
    -DVBATCH_STB_HEADERS_ONLY=ON
    -DVBATCH_INSTALL_CMAKEDIR=share/vbatch
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH share/vbatch)
vcpkg_fixup_pkgconfig()
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
