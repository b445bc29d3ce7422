# Installs vbatch into a scratch prefix, then configures, builds and runs a consumer project that
# finds it with find_package(vbatch CONFIG). Fails on the first step that fails.
# With -DCUDA=ON (the test preset): vbatch is installed with VBATCH_ENABLE_CUDA, and the consumer
# also builds a .cu program with nvcc against vbatch::cuda alone (find_package(... COMPONENTS cuda)),
# finding CCCL and the CUDA runtime through the installed config, not through its own prefix path.
file(REMOVE_RECURSE ${WORK_DIR})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
set(vbatch_options)
set(consumer_options)
if(CUDA)
  set(vbatch_options -DVBATCH_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER} "-DCMAKE_PREFIX_PATH=${PREFIX_PATH}")
  set(consumer_options -DVBATCH_CONSUMER_CUDA=ON -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER})
endif()
step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR} -DVBATCH_BUILD_TESTS=OFF
     -DVBATCH_BUILD_EXAMPLES=OFF -DVBATCH_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix ${vbatch_options})
step(${CMAKE_COMMAND} --install ${WORK_DIR}/build)
step(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/consumer -G ${GENERATOR}
     -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE= ${consumer_options})  # -O0: quicker to compile
step(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
step(${WORK_DIR}/consumer/consumer ${WORK_DIR}/consumer/view.png)
if(CUDA)
  step(${WORK_DIR}/consumer/consumer_cuda)
  message(STATUS "find_package(vbatch COMPONENTS cuda) consumer built with nvcc")
endif()
message(STATUS "find_package(vbatch) consumer built and ran")
