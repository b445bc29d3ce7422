# The ways a user gets vbatch, one per MODE (each a CTest test package.<MODE>):
#   relocated         install, move the prefix elsewhere, find_package(COMPONENTS core io) from there;
#                     no installed CMake or pkg-config file names the build, source or first prefix
#   core_only         find_package(COMPONENTS core) with fmt, nlohmann_json, libpng, CUDA and the
#                     stb / TurboJPEG paths hidden: a core-only consumer needs none of them
#   stb_headers_only  stb as Conan and vcpkg ship it (headers, no library): vbatch::io compiles its
#                     implementation once in the consumer (a static library and a program share it)
#   pkg_config        c++ $(pkg-config --cflags --libs vbatch-io) and vbatch alone, from a moved prefix
#   subdirectory      add_subdirectory(<vbatch source>)
#   fetchcontent      FetchContent_Declare(URL <a source archive of this tree>)
# Arguments: SOURCE_DIR, WORK_DIR, GENERATOR, MODE, CXX (the C++ compiler, for pkg_config),
# STB_INCLUDE_DIR (where the build found stb_image.h, for stb_headers_only).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

if(MODE STREQUAL "relocated" OR MODE STREQUAL "pkg_config")
  install_vbatch(${prefix} ${WORK_DIR}/build)
  set(moved ${WORK_DIR}/elsewhere/vbatch-moved)
  file(MAKE_DIRECTORY ${WORK_DIR}/elsewhere)
  file(RENAME ${prefix} ${moved})
  # Nothing installed may point back at where it was built or first installed.
  file(GLOB_RECURSE package_files ${moved}/share/*.cmake ${moved}/share/*.pc)
  foreach(file IN LISTS package_files)
    file(READ ${file} text)
    foreach(path ${prefix} ${WORK_DIR}/build ${SOURCE_DIR})
      string(FIND "${text}" "${path}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "${file} names ${path}: the prefix is not relocatable")
      endif()
    endforeach()
  endforeach()
endif()

if(MODE STREQUAL "relocated")
  consume(${WORK_DIR}/consumer -DCMAKE_PREFIX_PATH=${moved})
elseif(MODE STREQUAL "core_only")
  install_vbatch(${prefix} ${WORK_DIR}/build)
  # Hide every dependency of io and cuda (and fmt, which nothing installed uses).
  set(hidden)
  foreach(package fmt nlohmann_json PNG CUDAToolkit CCCL)
    list(APPEND hidden -DCMAKE_DISABLE_FIND_PACKAGE_${package}=ON)
  endforeach()
  consume(${WORK_DIR}/consumer -DCMAKE_PREFIX_PATH=${prefix} -DVBATCH_CONSUMER_COMPONENTS=core ${hidden}
          "-DCMAKE_IGNORE_PATH=/usr/include;/usr/include/stb;/usr/lib/x86_64-linux-gnu;/lib/x86_64-linux-gnu;/usr/local/include;/usr/local/lib")
elseif(MODE STREQUAL "stb_headers_only")
  install_vbatch(${prefix} ${WORK_DIR}/build)
  # stb's two headers alone, as a package manager's stb provides them.
  file(COPY ${STB_INCLUDE_DIR}/stb_image.h ${STB_INCLUDE_DIR}/stb_image_write.h DESTINATION ${WORK_DIR}/stb/include)
  consume(${WORK_DIR}/consumer -DCMAKE_PREFIX_PATH=${prefix} -DVBATCH_STB_HEADERS_ONLY=ON -DVBATCH_STB_INCLUDE_DIR=${WORK_DIR}/stb/include)
  file(GLOB_RECURSE implementation ${WORK_DIR}/consumer/*vbatch_stb_implementation*)
  if(NOT implementation)
    message(FATAL_ERROR "headers-only stb: no vbatch_stb_implementation was built")
  endif()
  file(STRINGS ${WORK_DIR}/consumer/build.ninja stb_links REGEX "libstb\\.so|-lstb")
  if(stb_links)
    message(FATAL_ERROR "headers-only stb: the consumer still links libstb: ${stb_links}")
  endif()
elseif(MODE STREQUAL "pkg_config")
  find_program(PKG_CONFIG pkg-config REQUIRED)
  set(ENV{PKG_CONFIG_PATH} ${moved}/share/pkgconfig)
  foreach(module_source vbatch=core_only vbatch-io=with_io)
    string(REPLACE "=" ";" pair ${module_source})
    list(GET pair 0 module)
    list(GET pair 1 source)
    step(${PKG_CONFIG} --cflags --libs ${module})
    separate_arguments(flags UNIX_COMMAND "${step_output}")
    set(sources ${SOURCE_DIR}/tests/package/components/${source}.cpp)
    if(source STREQUAL "with_io")
      list(APPEND sources ${SOURCE_DIR}/tests/package/components/io_helper.cpp)
    endif()
    step(${CXX} -std=c++20 -O1 ${sources} ${flags} -o ${WORK_DIR}/${source})
    step(${WORK_DIR}/${source} ${WORK_DIR})
    message(STATUS "pkg-config ${module}: ${flags}")
  endforeach()
elseif(MODE STREQUAL "subdirectory")
  consume(${WORK_DIR}/consumer -DVBATCH_CONSUMER_MODE=subdirectory -DVBATCH_SOURCE_DIR=${SOURCE_DIR})
elseif(MODE STREQUAL "fetchcontent")
  # A release-style archive of the library's files (what FetchContent users download).
  step(${CMAKE_COMMAND} -E make_directory ${WORK_DIR}/archive)
  file(COPY ${SOURCE_DIR}/CMakeLists.txt ${SOURCE_DIR}/LICENSE ${SOURCE_DIR}/cmake ${SOURCE_DIR}/include
       DESTINATION ${WORK_DIR}/archive/vbatch-src)
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf ${WORK_DIR}/vbatch-src.tar.gz vbatch-src WORKING_DIRECTORY ${WORK_DIR}/archive
                  RESULT_VARIABLE rc)
  consume(${WORK_DIR}/consumer -DVBATCH_CONSUMER_MODE=fetchcontent -DVBATCH_URL=${WORK_DIR}/vbatch-src.tar.gz)
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
message(STATUS "package.${MODE}: passed")
