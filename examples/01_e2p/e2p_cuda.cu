// e2p built by nvcc (the e2p_cuda target, installed as vbatch-e2p-cuda): e2p.cpp with the CUDA
// layer (VBATCH_TOOL_CUDA=1, set by examples/CMakeLists.txt), so that --device cuda remaps on a GPU.
#include "e2p.cpp"
