#!/usr/bin/env python3
"""(Re)build tests/models/mediapipe/: models with MediaPipe's custom ops
(tests/test_mediapipe_ops.py).

TensorFlow cannot emit MediaPipe's ops, so each model is a converter-built graph whose
nodes are then rewritten, in the flatbuffer, into the custom ops MediaPipe's converter
writes. Their custom options are not FlexBuffers but the raw C structs MediaPipe's kernels
(mediapipe/util/tflite/operations/*.cc) and TFLite's XNNPACK delegate cast them to:
- Convolution2DTransposeBias: TfLiteTransposeConvParams {padding, stride_w, stride_h};
  inputs (input, filter [out_c, h, w, in_c], bias), from a TRANSPOSE_CONV with a bias.
- MaxPoolingWithArgmax2D: TfLitePoolParams {padding, stride_w, stride_h, filter_w,
  filter_h, activation, computed padding x4}; outputs (values, float32 indices into the
  window), from a MAX_POOL_2D given a second output.
- MaxUnpooling2D: TfLitePoolParams (padding VALID, which XNNPACK requires); inputs (values, indices), output (H * filter_h,
  W * filter_w), from a RESIZE_NEAREST_NEIGHBOR of that size.
Padding codes are TfLitePadding's: 1 SAME, 2 VALID.
The face-landmark ops take a FlexBuffer map, as MediaPipe's kernels parse it; each model
is a converter-built graph of the op's inputs and output whose nodes are replaced by the
one custom op (operator code version 2 unless noted, the version MediaPipe's face models use):
- Landmarks2TransformMatrix: landmarks [1, n, 3] -> [1, 4, 4]; subset_idxs,
  left_rotation_idx, right_rotation_idx, target_rotation_radians, output_height,
  output_width, scale_x, scale_y.
- TransformLandmarks: landmarks and a [1, 4, 4] matrix -> landmarks; version 1 (rank 4)
  takes dimensions and scale.
- TransformTensorBilinear: an image [1, h, w, c] and a [1, 4, 4] matrix ->
  [1, output_height, output_width, c].

Usage
  /work/venv-tf221/bin/python tests/models/make_mediapipe_models.py
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "mediapipe"
SAME, VALID = 1, 2


def convert(fn, specs) -> bytes:
    import tensorflow as tf
    f = tf.function(fn, input_signature=[tf.TensorSpec(s, tf.float32) for s in specs])
    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    return conv.convert()


def as_object(data: bytes):
    from tensorflow.lite.tools import flatbuffer_utils
    return flatbuffer_utils.convert_bytearray_to_object(bytearray(data))


def save(model, name: str):
    from tensorflow.lite.tools import flatbuffer_utils
    OUT_DIR.mkdir(exist_ok=True)
    flatbuffer_utils.write_model(model, str(OUT_DIR / f"{name}.tflite"))
    print("wrote", name)


def custom_code(model, code: str) -> int:
    """The index of a CUSTOM operator code `code`, added if missing."""
    from tensorflow.lite.python import schema_py_generated as s
    for i, oc in enumerate(model.operatorCodes):
        if oc.customCode is not None and oc.customCode.decode() == code:
            return i
    oc = s.OperatorCodeT()
    oc.builtinCode = oc.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
    oc.customCode = code.encode()
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def builtin(model, op) -> int:
    oc = model.operatorCodes[op.opcodeIndex]
    return max(oc.builtinCode, oc.deprecatedBuiltinCode)


def make_custom(model, op, code: str, options: bytes):
    from tensorflow.lite.python import schema_py_generated as s
    op.opcodeIndex = custom_code(model, code)
    op.builtinOptionsType, op.builtinOptions = 0, None
    op.customOptions = list(options)
    op.customOptionsFormat = s.CustomOptionsFormat.FLEXBUFFERS   # the only value the schema has


def pool_options(padding, stride, filt, activation=0) -> bytes:
    """TfLitePoolParams: padding, stride_w, stride_h, filter_w, filter_h, activation, and
    the computed padding (4 ints, unused)."""
    return struct.pack("<10i", padding, stride[1], stride[0], filt[1], filt[0], activation,
                       0, 0, 0, 0)


def transpose_conv_bias(name, in_shape, out_c, kernel, strides, padding):
    """A TRANSPOSE_CONV with a bias, rewritten into Convolution2DTransposeBias."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as s
    rng = np.random.default_rng(len(name))
    w = rng.standard_normal(kernel + (out_c, in_shape[-1])).astype(np.float32)   # [h,w,out,in]
    b = rng.standard_normal(out_c).astype(np.float32)
    n, h, wd, _ = in_shape
    pad = "SAME" if padding == SAME else "VALID"
    oh = h * strides[0] if padding == SAME else (h - 1) * strides[0] + kernel[0]
    ow = wd * strides[1] if padding == SAME else (wd - 1) * strides[1] + kernel[1]
    m = as_object(convert(lambda x: tf.nn.bias_add(tf.nn.conv2d_transpose(
        x, w, (n, oh, ow, out_c), (1,) + strides + (1,), pad), b), [in_shape]))
    (op,) = [o for o in m.subgraphs[0].operators
             if builtin(m, o) == s.BuiltinOperator.TRANSPOSE_CONV]
    assert len(op.inputs) == 4 and op.inputs[3] >= 0, "the converter did not fuse the bias"
    op.inputs = [op.inputs[2], op.inputs[1], op.inputs[3]]
    make_custom(m, op, "Convolution2DTransposeBias", struct.pack("<3i", padding, strides[1], strides[0]))
    save(m, name)


def argmax_pool(name, in_shape, filt, strides, padding, unpool=False):
    """A MAX_POOL_2D given an indices output, rewritten into MaxPoolingWithArgmax2D; with
    `unpool`, its values times 2 are unpooled (MaxUnpooling2D) back to the input's size."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as s
    pad = "SAME" if padding == SAME else "VALID"
    n, h, w, c = in_shape

    def fn(x):
        p = tf.nn.max_pool2d(x, filt, strides, pad)
        if not unpool:
            return p
        ph, pw = p.shape[1], p.shape[2]
        return tf.image.resize(p * 2.0, (ph * filt[0], pw * filt[1]), method="nearest")

    m = as_object(convert(fn, [in_shape]))
    sg = m.subgraphs[0]
    (pool,) = [o for o in sg.operators if builtin(m, o) == s.BuiltinOperator.MAX_POOL_2D]
    values = sg.tensors[pool.outputs[0]]
    idx = s.TensorT()
    idx.shape, idx.type, idx.name = list(values.shape), s.TensorType.FLOAT32, b"argmax_indices"
    buf = s.BufferT()
    m.buffers.append(buf)
    idx.buffer = len(m.buffers) - 1
    sg.tensors.append(idx)
    pool.outputs = [pool.outputs[0], len(sg.tensors) - 1]
    make_custom(m, pool, "MaxPoolingWithArgmax2D", pool_options(padding, strides, filt))
    if unpool:
        (resize,) = [o for o in sg.operators
                     if builtin(m, o) == s.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR]
        resize.inputs = [resize.inputs[0], len(sg.tensors) - 1]
        # MediaPipe's kernel ignores the padding, XNNPACK's takes only VALID
        make_custom(m, resize, "MaxUnpooling2D", pool_options(VALID, strides, filt))
    else:
        sg.outputs = list(sg.outputs) + [len(sg.tensors) - 1]
    save(m, name)


def flex(items: dict) -> bytes:
    """A FlexBuffer map; lists become typed int vectors, as MediaPipe's converter writes."""
    from flatbuffers import flexbuffers
    b = flexbuffers.Builder()
    with b.Map():
        for key, v in items.items():
            b.Key(key)
            if isinstance(v, list):
                b.TypedVectorFromElements(v)
            elif isinstance(v, float):
                b.Float(v)
            else:
                b.Int(v)
    return bytes(b.Finish())


def single_custom(name, code, in_shapes, out_shape, options: bytes, version=2):
    """A graph of inputs `in_shapes` and one output `out_shape` made of the one custom op."""
    import tensorflow as tf

    def fn(*xs):
        return tf.zeros(out_shape) + sum(tf.reduce_sum(x) for x in xs)

    m = as_object(convert(fn, in_shapes))
    sg = m.subgraphs[0]
    assert [list(sg.tensors[t].shape) for t in sg.inputs] == [list(s) for s in in_shapes]
    op = sg.operators[-1]
    op.inputs, op.outputs = list(sg.inputs), list(sg.outputs)
    make_custom(m, op, code, options)
    m.operatorCodes[op.opcodeIndex].version = version
    sg.operators = [op]
    save(m, name)


def main():
    transpose_conv_bias("tconv_bias_same_k2s2", (1, 4, 6, 3), 4, (2, 2), (2, 2), SAME)
    transpose_conv_bias("tconv_bias_same_k4s2", (2, 6, 4, 5), 3, (4, 4), (2, 2), SAME)
    transpose_conv_bias("tconv_bias_same_k3s1", (1, 5, 5, 8), 6, (3, 3), (1, 1), SAME)
    transpose_conv_bias("tconv_bias_valid_k3s2", (1, 3, 4, 2), 5, (3, 3), (2, 2), VALID)
    argmax_pool("argmax_pool_k2", (1, 6, 8, 3), (2, 2), (2, 2), SAME)
    argmax_pool("argmax_pool_k3_valid", (2, 9, 6, 4), (3, 3), (3, 3), VALID)
    argmax_pool("argmax_pool_k2_odd", (1, 7, 5, 3), (2, 2), (2, 2), SAME)
    argmax_pool("unpool_k2", (1, 8, 6, 3), (2, 2), (2, 2), SAME, unpool=True)
    argmax_pool("unpool_k3", (1, 9, 6, 2), (3, 3), (3, 3), VALID, unpool=True)
    single_custom("landmarks_matrix", "Landmarks2TransformMatrix", [(1, 4, 3)], (1, 4, 4),
                  flex({"subset_idxs": [0, 1, 2, 3], "left_rotation_idx": 0,
                        "right_rotation_idx": 1, "target_rotation_radians": 0.0,
                        "output_height": 40, "output_width": 20, "scale_x": 1.0, "scale_y": 1.0}))
    single_custom("landmarks_matrix_rot", "Landmarks2TransformMatrix", [(1, 7, 3)], (1, 4, 4),
                  flex({"subset_idxs": [6, 2, 3, 5, 4], "left_rotation_idx": 1,
                        "right_rotation_idx": 4, "target_rotation_radians": 0.5,
                        "output_height": 16, "output_width": 24, "scale_x": 1.5, "scale_y": 1.25}))
    single_custom("transform_landmarks", "TransformLandmarks", [(1, 5, 3), (1, 4, 4)], (1, 5, 3),
                  b"")
    single_custom("transform_landmarks_2d", "TransformLandmarks", [(1, 4, 2), (1, 4, 4)],
                  (1, 4, 2), b"")
    single_custom("transform_landmarks_v1", "TransformLandmarks", [(1, 2, 2, 6), (1, 4, 4)],
                  (1, 2, 2, 6), flex({"dimensions": 3, "scale": 2.0}), version=1)
    single_custom("transform_tensor", "TransformTensorBilinear", [(1, 5, 6, 2), (1, 4, 4)],
                  (1, 5, 6, 2), flex({"output_height": 5, "output_width": 6}))
    single_custom("transform_tensor_crop", "TransformTensorBilinear", [(1, 6, 5, 3), (1, 4, 4)],
                  (1, 4, 7, 3), flex({"output_height": 4, "output_width": 7}))


if __name__ == "__main__":
    main()
