#!/usr/bin/env python3
"""(Re)build the test models of PRELU, LEAKY_RELU and ELU fused into a convolution's or
FULLY_CONNECTED's epilogue, in tests/models/prelu/.

passes/fuse_epilogue.py moves these activations into the op before them when its output
is read by the activation alone; a PRELU fuses when its constant alpha broadcasts to the
output as its trailing dims (Keras PReLU with shared_axes=[1, 2]: one slope per channel;
without shared_axes: [H, W, C], one per element of an image; shared over every axis: one
slope). The cases cover each kernel path that applies the epilogue: the implicit GEMM, the
narrow convs (out_c < 16, both tile kinds), the 1x1 GEMM, Winograd, the depthwise rows,
FULLY_CONNECTED (rows of [T, units] alpha with keep_num_dims), a pw-dw-pw chain; a clamp
(RELU_N1_TO_1) fused before the PRELU; batch 2 (alpha repeats per image); a PRELU whose
input is also a graph output (must stay an op); and standalone PRELUs, one with an alpha
([H, 1, C]) that no fused path takes. The machinery is make_op_models.py's; each case
writes <case>.tflite, <case>.npz and an entry in prelu/cases.json.

Usage (TensorFlow: /work/venv-tf221/bin/python)
  python3 tests/models/make_prelu_models.py            # rebuild every case
  python3 tests/models/make_prelu_models.py wino       # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import T, W, randn  # noqa: E402
from op_common import Wpos  # noqa: E402

OUT_DIR = HERE / "prelu"
# Winograd needs maps of 4 tiles and more with 16 channels: beyond the 8192-element cap.
mop.MAX_TENSOR_ELEMS = 40000


def _prelu(tf, shape, shared_axes=None, negative=False):
    """A built Keras PReLU for inputs of `shape` (batch included) with random slopes
    (some negative when `negative`)."""
    layer = tf.keras.layers.PReLU(shared_axes=shared_axes)
    layer.build((None,) + tuple(shape[1:]))
    (alpha,) = layer.get_weights()
    slopes = Wpos(*alpha.shape)
    layer.set_weights([slopes - 0.5 if negative else slopes])
    return layer


def _conv(tf, x, k, out_c, act=None, stride=1, pad="SAME"):
    y = tf.nn.conv2d(x, W(k, k, x.shape[-1], out_c), stride, pad)
    y = tf.nn.bias_add(y, W(out_c, scale=0.3))
    return tf.clip_by_value(y, -1.0, 1.0) if act == "relu_n1_to_1" else y


def conv_prelu(name, shape, k, out_c, why, shared_axes=(1, 2), act=None, negative=False):
    """A conv (k x k, SAME, stride 1) and a Keras PReLU after it."""
    import tensorflow as tf
    out_shape = tuple(shape[:3]) + (out_c,)

    def make():
        layer = _prelu(tf, out_shape, None if shared_axes is None else list(shared_axes), negative)
        return lambda a: layer(_conv(tf, a, k, out_c, act))
    T(name, ["CONV_2D", "PRELU"], why, lambda: [randn(*shape)], make=make)


def define():
    import tensorflow as tf
    conv_prelu("conv3x3_prelu_channel", (1, 10, 9, 8), 3, 24,
               "implicit GEMM, alpha [1,1,24] (one per channel): 2 panels, the second partial")
    conv_prelu("conv3x3_prelu_hwc_b2", (2, 7, 6, 8), 3, 20,
               "implicit GEMM, alpha [7,6,20] (no shared_axes: one per element), batch 2: the "
               "slopes repeat per image", shared_axes=None)
    conv_prelu("conv3x3_relu_n1_to_1_prelu_negative", (1, 9, 9, 8), 3, 16,
               "RELU_N1_TO_1 fused into the conv, then PRELU with slopes of both signs: clamp, "
               "then slope", act="relu_n1_to_1", negative=True)
    conv_prelu("conv3x3_prelu_shared_all", (1, 8, 8, 8), 3, 16,
               "alpha [1,1,1] (shared over every axis): one slope", shared_axes=(1, 2, 3))
    conv_prelu("conv1x1_prelu_channel", (1, 9, 9, 16), 1, 40,
               "1x1 conv (one GEMM over the pixels), alpha per channel, 40 = 2.5 panels")
    conv_prelu("conv1x1_prelu_hwc", (1, 6, 5, 12), 1, 16, "1x1 conv, alpha [6,5,16] per element",
               shared_axes=None)
    conv_prelu("narrow_conv_prelu_c8", (1, 12, 11, 4), 3, 8,
               "out_c 8 < 16: the narrow conv (pair tiles where the ISA has them), alpha per channel")
    conv_prelu("narrow_conv_prelu_hwc_c12", (1, 9, 8, 5), 3, 12,
               "out_c 12: the narrow conv's own tiles, alpha [9,8,12] per element", shared_axes=None)
    conv_prelu("wino_prelu_channel", (1, 24, 24, 16), 3, 32,
               "3x3 stride 1, 16 -> 32 channels on 24x24: Winograd, alpha per channel")
    conv_prelu("wino_prelu_hwc", (1, 20, 18, 16), 3, 20,
               "Winograd with cut tiles and alpha [20,18,20] per element", shared_axes=None)

    def depthwise(shared_axes, shape):
        def make():
            layer = _prelu(tf, shape, shared_axes, negative=True)
            w, b = W(3, 3, shape[-1], 1), W(shape[-1], scale=0.3)
            return lambda a: layer(tf.nn.bias_add(tf.nn.depthwise_conv2d(a, w, [1, 1, 1, 1], "SAME"), b))
        return make
    T("depthwise_prelu_channel", ["DEPTHWISE_CONV_2D", "PRELU"],
      "depthwise 3x3, 20 channels (a vector tail), alpha per channel: in the SIMD rows",
      lambda: [randn(1, 9, 10, 20)], make=depthwise([1, 2], (1, 9, 10, 20)))
    T("depthwise_prelu_hwc", ["DEPTHWISE_CONV_2D", "PRELU"],
      "depthwise 3x3, alpha [7,8,16] per element: applied after the rows",
      lambda: [randn(1, 7, 8, 16)], make=depthwise(None, (1, 7, 8, 16)))

    def dense(shape, units):
        def make():
            fc = tf.keras.layers.Dense(units)
            fc.build((None,) + shape[1:])
            fc.set_weights([W(shape[-1], units), W(units, scale=0.5)])
            layer = _prelu(tf, shape[:-1] + (units,), None, negative=True)
            return lambda a: layer(fc(a))
        return make
    T("dense_prelu", ["FULLY_CONNECTED", "PRELU"], "FULLY_CONNECTED [3,40] -> [3,24], alpha [24]",
      lambda: [randn(3, 40)], make=dense((3, 40), 24))
    T("dense3d_prelu_rows", ["FULLY_CONNECTED", "PRELU"],
      "FULLY_CONNECTED keep_num_dims [2,5,6] -> [2,5,7], alpha [5,7]: a slope row per GEMM row",
      lambda: [randn(2, 5, 6)], make=dense((2, 5, 6), 7))

    def chain():
        mid = (1, 10, 10, 32)
        p1, p2 = _prelu(tf, mid, [1, 2]), _prelu(tf, mid, [1, 2], negative=True)
        w1, b1 = W(1, 1, 8, 32), W(32, scale=0.3)
        dw, db = W(3, 3, 32, 1), W(32, scale=0.3)
        w2, b2 = W(1, 1, 32, 16), W(16, scale=0.3)

        def fn(a):
            y = p1(tf.nn.bias_add(tf.nn.conv2d(a, w1, 1, "VALID"), b1))
            y = p2(tf.nn.bias_add(tf.nn.depthwise_conv2d(y, dw, [1, 1, 1, 1], "SAME"), db))
            return tf.nn.bias_add(tf.nn.conv2d(y, w2, 1, "VALID"), b2)
        return fn
    T("chain_pw_prelu_dw_prelu_pj", ["CONV_2D", "DEPTHWISE_CONV_2D", "PRELU"],
      "1x1 expand + PReLU, depthwise 3x3 + PReLU, 1x1 project: one pw-dw chain, each slope "
      "per channel in its stage's epilogue", lambda: [randn(1, 10, 10, 8)], make=chain)

    T("conv_leaky_relu", ["CONV_2D", "LEAKY_RELU"], "conv 3x3 8 -> 24, LEAKY_RELU alpha 0.1",
      lambda: [randn(1, 9, 9, 8)], lambda a: tf.nn.leaky_relu(_conv(tf, a, 3, 24), 0.1))
    T("conv1x1_elu", ["CONV_2D", "ELU"], "1x1 conv 16 -> 24, ELU",
      lambda: [randn(1, 8, 8, 16)], lambda a: tf.nn.elu(_conv(tf, a, 1, 24)))
    T("dense_leaky_relu", ["FULLY_CONNECTED", "LEAKY_RELU"], "FULLY_CONNECTED, LEAKY_RELU alpha -0.3",
      lambda: [randn(4, 20)], lambda a: tf.nn.leaky_relu(tf.matmul(a, W(20, 12)), -0.3))
    T("depthwise_elu", ["DEPTHWISE_CONV_2D", "ELU"], "depthwise 3x3 16 channels, ELU",
      lambda: [randn(1, 8, 8, 16)],
      lambda a: tf.nn.elu(tf.nn.depthwise_conv2d(a, W(3, 3, 16, 1), [1, 1, 1, 1], "SAME")))

    def conv_also_output():
        layer = _prelu(tf, (1, 8, 8, 16), [1, 2])

        def fn(a):
            y = _conv(tf, a, 3, 16)
            return y, layer(y)
        return fn
    T("prelu_input_is_output", ["CONV_2D", "PRELU"],
      "the conv's output is a graph output and the PRELU's input: the PRELU must stay an op",
      lambda: [randn(1, 8, 8, 8)], make=conv_also_output)

    def standalone(shared_axes, shape):
        def make():
            layer = _prelu(tf, shape, shared_axes, negative=True)
            return lambda a: layer(a)
        return make
    T("prelu_standalone_channel", ["PRELU"], "PRELU on an input [1,12,12,32], alpha per channel",
      lambda: [randn(1, 12, 12, 32)], make=standalone([1, 2], (1, 12, 12, 32)))
    T("prelu_standalone_hwc_b2", ["PRELU"], "PRELU on an input [2,6,5,7], alpha [6,5,7]",
      lambda: [randn(2, 6, 5, 7)], make=standalone(None, (2, 6, 5, 7)))
    T("prelu_standalone_h1c", ["PRELU"],
      "PRELU with shared_axes=[2]: alpha [6,1,8] broadcasts inside the trailing dims (general loop)",
      lambda: [randn(1, 6, 5, 8)], make=standalone([2], (1, 6, 5, 8)))
    T("leaky_relu_standalone", ["LEAKY_RELU"], "LEAKY_RELU alpha 0.2 on an input of 1000 values",
      lambda: [randn(8, 125)], lambda a: tf.nn.leaky_relu(a, 0.2))


if __name__ == "__main__":
    sys.exit(mop.build_into(OUT_DIR, define))
