# The tools' installed names: `cmake --install <build> --component tools` puts every example tool
# in bin/ as vbatch-<name>, and each one runs from there (--help). Arguments: SOURCE_DIR,
# BUILD_DIR (a build with the tools built), WORK_DIR.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --component tools --prefix ${WORK_DIR}/prefix)
file(GLOB folders LIST_DIRECTORIES true ${SOURCE_DIR}/examples/[0-9][0-9]_*)
foreach(folder IN LISTS folders)
  get_filename_component(folder ${folder} NAME)
  string(REGEX REPLACE "^[0-9][0-9]_" "" name ${folder})
  set(tool ${WORK_DIR}/prefix/bin/vbatch-${name})
  if(NOT EXISTS ${tool})
    message(FATAL_ERROR "${name} is not installed as ${tool}")
  endif()
  step(${tool} --help)
endforeach()
file(GLOB installed RELATIVE ${WORK_DIR}/prefix/bin ${WORK_DIR}/prefix/bin/*)
message(STATUS "installed: ${installed}")
