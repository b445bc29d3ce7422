#!/usr/bin/env python3
"""Rewrites an ONNX model so that OpenCV 4.6's DNN importer reads it: every Clip whose min and max
are constant inputs (opset >= 11) becomes a Clip with min/max attributes (its opset-6 form, which
OpenCV maps to its ReLU6/clamp layer; 4.6 refuses Clip with 3 inputs). The arithmetic is unchanged.

  onnx_for_opencv.py IN.onnx OUT.onnx

Needs the onnx package (Debian: python3-onnx). Used by scripts/setup.sh for PaddleOCR's text
detector (docs/model.md).
"""
import sys

import onnx
from onnx import helper, numpy_helper


def main(src, dst):
    model = onnx.load(src)
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    nodes, rewritten = [], 0
    for node in graph.node:
        if node.op_type == "Clip" and len(node.input) > 1:
            bounds = {}
            for name, value in zip(("min", "max"), node.input[1:]):
                if not value:
                    continue
                if value not in constants or constants[value].size != 1:
                    sys.exit(f"{src}: Clip {node.name}: {name} is not a constant scalar")
                bounds[name] = float(constants[value].reshape(()))
            nodes.append(helper.make_node("Clip", [node.input[0]], list(node.output), name=node.name, **bounds))
            rewritten += 1
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, dst)
    print(f"{dst}: {rewritten} Clip nodes rewritten with min/max attributes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
