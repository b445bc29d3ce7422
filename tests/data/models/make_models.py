#!/usr/bin/python3
"""Writes the two small ONNX models of tests/model/opencv_dnn_test.cpp beside this script.

    apt-get install -y python3-onnx && /usr/bin/python3 tests/data/models/make_models.py

embedder.onnx:  input (N,3,16,16) -> Conv 3->4 3x3 pad 1 -> Relu -> GlobalAveragePool ("pooled", (N,4,1,1))
                -> Flatten -> Gemm 4->8 -> "embedding" (N,8)
segmenter.onnx: input (N,3,16,16) -> Conv 3->1 1x1 -> Sigmoid -> "mask" (N,1,16,16)
upsampler.onnx: input (N,3,16,16) -> Conv 3->4 3x3 stride 2 pad 1 -> BatchNormalization -> Relu (N,4,8,8)
                -> ConvTranspose 4->2 2x2 stride 2 -> BatchNormalization -> Relu (N,2,16,16)
                -> Conv 2->1 1x1 -> Sigmoid -> "mask" (N,1,16,16): a segmentation decoder's layers,
                which OpenCV 4.6 runs wrongly for a batch of another size than its first once it
                fuses them (model::opencv_dnn turns fusion off)

N is a dynamic dimension. Every weight is fixed by weights() below, which the C++ test repeats
(reference_weights in opencv_dnn_test.cpp), so the test recomputes both networks without reading
ONNX. The output is byte-identical on every run: the .onnx files are committed and the tests
need no Python.
"""

import math
import pathlib

import onnx
from onnx import TensorProto, helper

OPSET = 13  # what OpenCV 4.6's ONNX importer supports
IR_VERSION = 7  # the oldest IR that carries opset 13, for older readers
SIZE = 16


def weights(count, offset, scale):
    """The shared formula: w[i] = sin(0.7 i + offset) * scale, rounded to float32 by ONNX."""
    return [math.sin(0.7 * i + offset) * scale for i in range(count)]


def tensor(name, dims, offset, scale):
    return helper.make_tensor(name, TensorProto.FLOAT, dims, weights(math.prod(dims), offset, scale))


def image_input():
    return helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])


def node(op, inputs, output, **attributes):
    """A node named after its output: OpenCV names the layer after the node, so options.output can say "pooled"."""
    return helper.make_node(op, inputs, [output], name=output, **attributes)


def save(graph, name):
    model = helper.make_model(graph, producer_name="vbatch make_models.py", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(pathlib.Path(__file__).with_name(name)))


def embedder():
    nodes = [
        node("Conv", ["input", "conv_w", "conv_b"], "conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Relu", ["conv"], "features"),
        node("GlobalAveragePool", ["features"], "pooled"),
        node("Flatten", ["pooled"], "flat", axis=1),
        node("Gemm", ["flat", "fc_w", "fc_b"], "embedding", transB=1),
    ]
    initializers = [
        tensor("conv_w", [4, 3, 3, 3], 0.0, 0.4),
        tensor("conv_b", [4], 1.0, 0.1),
        tensor("fc_w", [8, 4], 2.0, 0.8),
        tensor("fc_b", [8], 3.0, 0.2),
    ]
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 8])
    save(helper.make_graph(nodes, "embedder", [image_input()], [output], initializers), "embedder.onnx")


def segmenter():
    nodes = [
        node("Conv", ["input", "conv_w", "conv_b"], "logits", kernel_shape=[1, 1]),
        node("Sigmoid", ["logits"], "mask"),
    ]
    initializers = [tensor("conv_w", [1, 3, 1, 1], 4.0, 2.0), tensor("conv_b", [1], 5.0, 0.5)]
    output = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, SIZE, SIZE])
    save(helper.make_graph(nodes, "segmenter", [image_input()], [output], initializers), "segmenter.onnx")


def upsampler():
    def batch_norm(name, channels, offset):
        return [tensor(name + "_scale", [channels], offset, 0.5), tensor(name + "_bias", [channels], offset + 0.3, 0.2),
                tensor(name + "_mean", [channels], offset + 0.6, 0.1),
                helper.make_tensor(name + "_var", TensorProto.FLOAT, [channels], [1.0 + 0.25 * k for k in range(channels)])]
    nodes = [
        node("Conv", ["input", "down_w", "down_b"], "down", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["down", "bn1_scale", "bn1_bias", "bn1_mean", "bn1_var"], "down_bn", epsilon=1e-5),
        node("Relu", ["down_bn"], "down_relu"),
        node("ConvTranspose", ["down_relu", "up_w", "up_b"], "up", kernel_shape=[2, 2], strides=[2, 2]),
        node("BatchNormalization", ["up", "bn2_scale", "bn2_bias", "bn2_mean", "bn2_var"], "up_bn", epsilon=1e-5),
        node("Relu", ["up_bn"], "up_relu"),
        node("Conv", ["up_relu", "head_w", "head_b"], "logits", kernel_shape=[1, 1]),
        node("Sigmoid", ["logits"], "mask"),
    ]
    initializers = [
        tensor("down_w", [4, 3, 3, 3], 6.0, 0.5),
        tensor("down_b", [4], 7.0, 0.1),
        *batch_norm("bn1", 4, 8.0),
        tensor("up_w", [4, 2, 2, 2], 9.0, 0.6),
        tensor("up_b", [2], 10.0, 0.1),
        *batch_norm("bn2", 2, 11.0),
        tensor("head_w", [1, 2, 1, 1], 12.0, 1.5),
        tensor("head_b", [1], 13.0, 0.2),
    ]
    output = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, SIZE, SIZE])
    save(helper.make_graph(nodes, "upsampler", [image_input()], [output], initializers), "upsampler.onnx")


if __name__ == "__main__":
    embedder()
    segmenter()
    upsampler()
