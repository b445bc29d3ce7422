# The layer check must fail on a tree that breaks each rule: a core header including a kernel
# module, one kernel module including another, one top module including the other, a header
# outside cuda/ including the CUDA layer, and an umbrella that leaves a header out.
#   cmake -DCHECK=tests/architecture/layers.cmake -DWORK_DIR=<scratch> -P tests/architecture/layers_can_fail.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK_DIR})
file(WRITE ${WORK_DIR}/vbatch/core/view.hpp "#pragma once\n#include \"vbatch/sample/map.hpp\"\n")
file(WRITE ${WORK_DIR}/vbatch/sample/map.hpp "#pragma once\n#include \"vbatch/boxes/box.hpp\"\n")
file(WRITE ${WORK_DIR}/vbatch/boxes/box.hpp "#pragma once\n#include \"vbatch/core/cuda/memory.hpp\"\n")
file(WRITE ${WORK_DIR}/vbatch/core/cuda/memory.hpp "#pragma once\n")
file(WRITE ${WORK_DIR}/vbatch/model/run.hpp "#pragma once\n#include \"vbatch/pipeline/pipeline.hpp\"\n")
file(WRITE ${WORK_DIR}/vbatch/pipeline/pipeline.hpp "#pragma once\n#include \"vbatch/boxes/box.hpp\"\n")
file(WRITE ${WORK_DIR}/vbatch/vbatch.hpp
     "#pragma once\n#include \"vbatch/core/view.hpp\"\n#include \"vbatch/sample/map.hpp\"\n#include \"vbatch/model/run.hpp\"\n#include \"vbatch/pipeline/pipeline.hpp\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DINCLUDE_DIR=${WORK_DIR} -P ${CHECK} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
set(expected
    "core/view.hpp includes vbatch/sample/map.hpp: 'core' may not depend on 'sample'"
    "sample/map.hpp includes vbatch/boxes/box.hpp: 'sample' may not depend on 'boxes'"
    "boxes/box.hpp includes vbatch/core/cuda/memory.hpp: only headers in a cuda/ folder"
    "model/run.hpp includes vbatch/pipeline/pipeline.hpp: 'model' may not depend on 'pipeline'"
    "vbatch/vbatch.hpp does not include vbatch/boxes/box.hpp")
if(status EQUAL 0)
  message(FATAL_ERROR "layers_can_fail: the check passed a tree that breaks the rules:\n${out}")
endif()
foreach(line IN LISTS expected)
  string(FIND "${out}" "${line}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "layers_can_fail: the check did not report \"${line}\":\n${out}")
  endif()
endforeach()
message("layers_can_fail: the check reported all 5 broken rules")
