#pragma once
// vbatch: batched image pipelines on CPUs and NVIDIA GPUs. This umbrella header includes every
// module that needs nothing beyond fmt; include vbatch/io/image_io.hpp (link vbatch::io) for files
// and vbatch/core/cuda/*.hpp under nvcc for the CUDA backend.

#include "vbatch/boxes/assignment.hpp"
#include "vbatch/boxes/box.hpp"
#include "vbatch/boxes/mot.hpp"
#include "vbatch/boxes/nms.hpp"
#include "vbatch/boxes/pairwise.hpp"
#include "vbatch/boxes/synthetic.hpp"
#include "vbatch/boxes/tracker.hpp"
#include "vbatch/core/buffer.hpp"
#include "vbatch/core/config.hpp"
#include "vbatch/core/element.hpp"
#include "vbatch/core/error.hpp"
#include "vbatch/core/executor.hpp"
#include "vbatch/core/view.hpp"
#include "vbatch/morph/mask.hpp"
#include "vbatch/morph/morphology.hpp"
#include "vbatch/sample/camera.hpp"
#include "vbatch/sample/cube.hpp"
#include "vbatch/sample/e2p.hpp"
#include "vbatch/sample/geometry.hpp"
#include "vbatch/sample/interp.hpp"
#include "vbatch/sample/map.hpp"
#include "vbatch/sample/projection.hpp"
#include "vbatch/sample/remap.hpp"
#include "vbatch/sample/synthetic.hpp"
