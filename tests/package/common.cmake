cmake_minimum_required(VERSION 3.25)  # policies of script mode (IN_LIST)
# Helpers of the package tests (cmake -P scripts): run a step or fail with its output, install
# vbatch from SOURCE_DIR into a prefix, build and run the components consumer.
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(step_output "${out}${err}" PARENT_SCOPE)
endfunction()

# install_vbatch(<prefix> <build dir> [-D options...]): a lean build (no tests, tools, benchmarks).
function(install_vbatch prefix build)
  step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build} -G ${GENERATOR} -DVBATCH_BUILD_TESTS=OFF -DVBATCH_BUILD_EXAMPLES=OFF
       -DVBATCH_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX=${prefix} ${ARGN})
  step(${CMAKE_COMMAND} --install ${build})
endfunction()

# consume(<build dir> [-D options...]): configures, builds and runs tests/package/components.
function(consume build)
  set(components core io)
  foreach(arg IN LISTS ARGN)
    if(arg MATCHES "^-DVBATCH_CONSUMER_COMPONENTS=(.*)")
      set(components ${CMAKE_MATCH_1})
    endif()
  endforeach()
  # Unoptimised (no build type): these tests check how vbatch is found, compiled and linked, and
  # -O0 compiles its templates in about 60 % of -O2's time.
  step(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/components -B ${build} -G ${GENERATOR} -DCMAKE_BUILD_TYPE= ${ARGN})
  step(${CMAKE_COMMAND} --build ${build})
  step(${build}/core_only)
  step(${build}/compat)
  if("io" IN_LIST components)
    step(${build}/with_io ${build})
    message(STATUS "${step_output}")
  endif()
endfunction()
