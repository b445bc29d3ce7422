# `conan create` of conanfile.py with test_package/, offline: the recipe and the files it exports
# are copied to WORK_DIR (Conan writes build folders beside test_package/), into a fresh
# CONAN_HOME, with conan/profiles/system (dependencies as platform requirements, no remote).
# Arguments: SOURCE_DIR, WORK_DIR, CONAN (the conan program; empty: the test is skipped).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
if(NOT CONAN)
  message(STATUS "conan not found: skipped (pip install conan, e.g. in ~/.cache/vbatch/conan-venv)")
  return()
endif()
file(REMOVE_RECURSE ${WORK_DIR})
file(COPY ${SOURCE_DIR}/conanfile.py ${SOURCE_DIR}/CMakeLists.txt ${SOURCE_DIR}/LICENSE ${SOURCE_DIR}/cmake ${SOURCE_DIR}/include
          ${SOURCE_DIR}/test_package ${SOURCE_DIR}/conan DESTINATION ${WORK_DIR}/src)
set(ENV{CONAN_HOME} ${WORK_DIR}/home)
foreach(options "" "-o;vbatch/*:with_turbojpeg=False;-o;vbatch/*:with_libpng=False")
  step(${CONAN} create ${WORK_DIR}/src -pr:a ${WORK_DIR}/src/conan/profiles/system --no-remote ${options})
  string(REGEX MATCH "vbatch [0-9.]+: [^\n]*" ran "${step_output}")
  if(NOT ran)
    message(FATAL_ERROR "test_package did not run:\n${step_output}")
  endif()
  message(STATUS "conan create ${options}: ${ran}")
endforeach()
