# PaddleOCR's PP-OCRv4 text detector, as scripts/setup.sh puts it in the data cache (from PyPI's
# rapidocr-onnxruntime 1.4.4, rewritten for OpenCV 4.6): the real segmentation model of the OpenCV
# DNN adapter test and the pipeline360 command-line test. Sets VBATCH_TEXT_MODEL when found.
include(vbatchDataCache)
if(NOT VBATCH_TEXT_MODEL AND EXISTS "${VBATCH_DATA_CACHE_DIR}/ppocr_v4_det_opencv.onnx")
  set(VBATCH_TEXT_MODEL "${VBATCH_DATA_CACHE_DIR}/ppocr_v4_det_opencv.onnx" CACHE FILEPATH "PP-OCRv4 text detector for OpenCV 4.6")
endif()
if(VBATCH_TEXT_MODEL)
  message(STATUS "vbatch: text detector model ${VBATCH_TEXT_MODEL}")
else()
  message(STATUS "vbatch: no text detector model (run scripts/setup.sh): no real-model OpenCV DNN and pipeline360 tests")
endif()
