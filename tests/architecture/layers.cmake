# The layer rules of docs/architecture.md, checked on every header under INCLUDE_DIR/vbatch:
#   floor 0  core/                                  includes core/ only
#   floor 1  sample/ morph/ boxes/ io/ batch/ profile/   include core/ and their own module only
#   floor 2  pipeline/ model/                       include floors 0 and 1, not each other
#   vbatch.hpp (the umbrella)                       includes every header but io/ (and its users), cuda/,
#                                                   cpu/, adapters/ and mdspan
# and: only headers in a cuda/ folder include a cuda/ header or the CUDA runtime.
#   cmake -DINCLUDE_DIR=include -P tests/architecture/layers.cmake
# Prints one line per broken rule and fails when there is any.
cmake_minimum_required(VERSION 3.25)
if(NOT INCLUDE_DIR)
  message(FATAL_ERROR "layers.cmake: give -DINCLUDE_DIR=<folder holding vbatch/>")
endif()
get_filename_component(INCLUDE_DIR "${INCLUDE_DIR}" ABSOLUTE)
set(floor_core core)
set(floor_kernels sample morph boxes io batch profile)
set(floor_top pipeline model)

file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR}/vbatch ${INCLUDE_DIR}/vbatch/*.hpp)
set(broken 0)
foreach(header IN LISTS headers)
  string(REGEX MATCH "^[^/]+" module "${header}")
  if(module STREQUAL header)  # vbatch.hpp
    set(module umbrella)
  endif()
  file(STRINGS ${INCLUDE_DIR}/vbatch/${header} includes REGEX "^#include [\"<]vbatch/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include [\"<]vbatch/([^\">]+)[\">].*" "\\1" target "${line}")
    string(REGEX MATCH "^[^/]+" target_module "${target}")
    set(allowed FALSE)
    if(module STREQUAL "umbrella")
      set(allowed TRUE)
    elseif(module IN_LIST floor_top)
      if(NOT target_module IN_LIST floor_top OR target_module STREQUAL module)
        set(allowed TRUE)
      endif()
    elseif(module IN_LIST floor_core)
      if(target_module STREQUAL "core")
        set(allowed TRUE)
      endif()
    elseif(module IN_LIST floor_kernels)
      if(target_module STREQUAL "core" OR target_module STREQUAL module)
        set(allowed TRUE)
      endif()
    else()
      message("layers: ${header}: module '${module}' has no floor in docs/architecture.md")
      math(EXPR broken "${broken} + 1")
      break()
    endif()
    if(NOT allowed)
      message("layers: ${header} includes vbatch/${target}: '${module}' may not depend on '${target_module}'")
      math(EXPR broken "${broken} + 1")
    endif()
    if(target MATCHES "(^|/)cuda/" AND NOT header MATCHES "(^|/)cuda/")
      message("layers: ${header} includes vbatch/${target}: only headers in a cuda/ folder may include the CUDA layer")
      math(EXPR broken "${broken} + 1")
    endif()
  endforeach()
  file(STRINGS ${INCLUDE_DIR}/vbatch/${header} runtime REGEX "^#include <(cuda_runtime|cuda\\.h|cuda_fp16)")
  if(runtime AND NOT header MATCHES "(^|/)cuda/")
    message("layers: ${header} includes the CUDA runtime outside a cuda/ folder")
    math(EXPR broken "${broken} + 1")
  endif()
endforeach()

# The umbrella: every header but io/ and those that include it (they need the codec libraries:
# link vbatch::io), the CUDA
# layer (nvcc), core/mdspan.hpp (CCCL), the CPU schedules in cpu/ folders (reached through
# their module's headers) and the model adapters in adapters/ (each needs its runtime).
file(STRINGS ${INCLUDE_DIR}/vbatch/vbatch.hpp umbrella REGEX "^#include \"vbatch/")
foreach(header IN LISTS headers)
  if(header STREQUAL "vbatch.hpp" OR header MATCHES "(^|/)(cuda|cpu|adapters)/" OR header MATCHES "^io/" OR header STREQUAL "core/mdspan.hpp")
    continue()
  endif()
  file(STRINGS ${INCLUDE_DIR}/vbatch/${header} uses_io REGEX "^#include \"vbatch/io/")
  if(uses_io)  # needs the codec libraries too (pipeline/loader.hpp, pipeline/writer.hpp)
    continue()
  endif()
  if(NOT "#include \"vbatch/${header}\"" IN_LIST umbrella)
    message("layers: vbatch/vbatch.hpp does not include vbatch/${header}")
    math(EXPR broken "${broken} + 1")
  endif()
endforeach()

list(LENGTH headers count)
if(broken GREATER 0)
  message(FATAL_ERROR "layers: ${broken} broken rules in ${count} headers")
endif()
message("layers: ${count} headers keep the layer rules")
