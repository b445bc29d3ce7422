#!/usr/bin/env python3
"""Makes the reference outputs of PaddleOCR's PP-OCRv4 text detector that
tests/model/opencv_dnn_test.cpp compares the OpenCV DNN adapter with:

  ppocr_text.png, ppocr_shapes.png   two crops of ../images/text_panorama.jpg (lossless, so C++
                                     decodes the same pixels): a sign with three lines of text
                                     (320x224), and shapes with no text (160x128)
  ppocr_text.f32, ppocr_shapes.f32   the detector's probability map for each, float32
                                     little-endian, H*W values, row by row

The model is ch_PP-OCRv4_det_infer.onnx from PyPI's rapidocr-onnxruntime 1.4.4 (Apache-2.0), run
UNCHANGED by ONNX Runtime (1.32.0 when these were made), on the input rapidocr gives it: BGR,
(v / 255 - 0.5) / 0.5, planar. The test runs the copy scripts/onnx_for_opencv.py rewrote for
OpenCV 4.6 (Clip bounds as attributes), so the comparison also checks that rewrite.

  python3 make_ppocr_reference.py PATH/TO/ch_PP-OCRv4_det_infer.onnx
"""
import os
import sys

import numpy as np
import onnxruntime
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
CROPS = {"ppocr_text": (864, 400, 320, 224), "ppocr_shapes": (432, 460, 160, 128)}  # x, y, w, h


def main(model):
    pano = Image.open(os.path.join(HERE, "..", "images", "text_panorama.jpg")).convert("RGB")
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    for name, (x, y, w, h) in CROPS.items():
        crop = pano.crop((x, y, x + w, y + h))
        crop.save(os.path.join(HERE, name + ".png"))
        rgb = np.asarray(crop)
        bgr = rgb[:, :, ::-1].astype(np.float32)
        tensor = ((bgr * np.float32(1 / 255) - np.float32(0.5)) / np.float32(0.5)).transpose(2, 0, 1)[None]
        prob = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(tensor)})[0]
        assert prob.shape == (1, 1, h, w), prob.shape
        prob.astype("<f4").tofile(os.path.join(HERE, name + ".f32"))
        print(f"{name}: {w}x{h}, probability max {prob.max():.4f}, pixels > 0.3: {(prob > 0.3).mean():.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
