#!/usr/bin/env python3
"""(Re)build the float TRANSPOSE_CONV test models in tests/models/transpose_conv/.

dlcoder runs a float TRANSPOSE_CONV as stride-1 convolutions, one per output phase
(dlcoder_rt/transpose_conv.h). These Keras Conv2DTranspose cases cover what shapes the
phases: kernels 1 to 5 against strides 1 to 3 (phases with no tap, with one, with
several), SAME and VALID, output_padding (rows no input reaches), non-square kernels and
strides, batch 2, odd channel counts (partial panels), with and without bias, a fused
activation, a HARD_SWISH (a fused epilogue), enough rows to split over threads, and a
U-Net-like decoder block; and, hand-built (the converter folds them itself), a
TRANSPOSE_CONV followed by an ADD of a per-channel bias and a RELU6 or a fused RELU, which
passes/fuse_tconv_bias.py fuses. The machinery is make_op_models.py's; each case writes
<case>.tflite, <case>.npz and an entry in transpose_conv/cases.json.

Usage
  /work/venv-tf221/bin/python tests/models/make_transpose_conv_models.py          # every case
  /work/venv-tf221/bin/python tests/models/make_transpose_conv_models.py unet     # names containing these
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import numpy as np  # noqa: E402

import make_op_models as mop  # noqa: E402
from make_op_models import RELU, SAME, VALID, H, HandModel, T, W, randn  # noqa: E402

OUT_DIR = HERE / "transpose_conv"
# the decoder-sized cases (a 32x32x32 map, 64x64 outputs) exceed the single-op cap
mop.MAX_TENSOR_ELEMS = 140000


def _layer(cin, filters, k, s, pad="same", bias=True, act=None, output_padding=None):
    """A Keras Conv2DTranspose with seeded weights (W), built for cin input channels."""
    import tensorflow as tf
    layer = tf.keras.layers.Conv2DTranspose(filters, k, strides=s, padding=pad, use_bias=bias,
                                            activation=act, output_padding=output_padding)
    layer.build((None, None, None, cin))
    kh, kw = (k, k) if isinstance(k, int) else k
    weights = [W(kh, kw, filters, cin, fan_in=kh * kw * cin)]
    if bias:
        weights.append(W(filters, scale=0.5))
    layer.set_weights(weights)
    return layer


def case(name, x, filters, k, s, why, **kw):
    """One Conv2DTranspose on an input of shape x."""
    T(name, ["TRANSPOSE_CONV"], why, lambda: [randn(*x)],
      make=lambda: _layer(x[3], filters, k, s, **kw))


def define():
    case("k2_s2_valid_c8_c16", (1, 8, 8, 8), 16, 2, 2, "2x2 stride 2: one tap per phase", pad="valid")
    case("k3_s2_same_c8_c16", (1, 8, 8, 8), 16, 3, 2, "3x3 stride 2 SAME: phases of 4, 2, 2 and 1 taps")
    case("k3_s2_valid_c6_c5_nobias", (1, 5, 6, 6), 5, 3, 2, "3x3 stride 2 VALID, no bias, out_c 5",
         pad="valid", bias=False)
    case("k4_s2_same_c16_c8", (1, 6, 6, 16), 8, 4, 2, "4x4 stride 2 SAME: 2x2 taps per phase, pad 1")
    case("k5_s1_same_c4_c6", (1, 7, 7, 4), 6, 5, 1, "stride 1: one phase, the flipped kernel")
    case("k5_s2_valid_c3_c17", (1, 5, 5, 3), 17, 5, 2, "5x5 stride 2 VALID, in_c 3, out_c 17",
         pad="valid")
    case("k3_s3_same_c5_c7", (1, 4, 5, 5), 7, 3, 3, "stride equal to the kernel: one tap per phase")
    case("k2_s3_valid_c4_c4", (1, 4, 4, 4), 4, 2, 3, "kernel smaller than stride: phases with no tap "
         "(bias only)", pad="valid")
    case("k1_s2_valid_c3_c17", (1, 5, 4, 3), 17, 1, 2, "1x1 stride 2: three of four phases bias only",
         pad="valid")
    case("k3_s1_valid_c17_c3", (1, 6, 6, 17), 3, 3, 1, "stride 1 VALID: 2 rows of zeros around, "
         "in_c 17, out_c 3", pad="valid")
    case("k3_s2_valid_outpad1_c4_c6", (1, 5, 5, 4), 6, 3, 2, "output_padding 1: a last row and column "
         "beyond the last window", pad="valid", output_padding=1)
    case("k4_s2_valid_outpad_relu", (1, 4, 6, 8), 8, 4, 2, "output_padding (1, 0), RELU",
         pad="valid", output_padding=(1, 0), act="relu")
    case("k3x2_s2x1_same_c6_c9", (1, 5, 7, 6), 9, (3, 2), (2, 1), "non-square kernel and strides")
    case("k2x4_s1x2_valid_c3_c10", (1, 6, 3, 3), 10, (2, 4), (1, 2), "non-square: 2x4, strides 1 and 2",
         pad="valid")
    case("k3_s2_same_c72_c24", (1, 4, 5, 72), 24, 3, 2, "in_c 72: beyond the kernels' constant "
         "pixel stride (ops/transpose_conv.py: MAX_CONST_IN_C)")
    case("k3_s2_same_batch2_c12_c20", (2, 6, 5, 12), 20, 3, 2, "batch 2, out_c 20 (a partial panel)")
    case("k3_s2_same_relu6_c16_c16", (1, 8, 8, 16), 16, 3, 2, "a fused RELU6", act="relu6")
    case("k3_s2_same_hard_swish_c8_c16", (1, 6, 6, 8), 16, 3, 2, "HARD_SWISH after it: an epilogue "
         "(fuse_epilogue)", act="hard_silu")
    case("k4_s2_same_relu_c16_c32", (1, 8, 8, 16), 32, 4, 2, "a fused RELU, two panels", act="relu")
    case("k2_s2_valid_32x32_c32_c16", (1, 32, 32, 32), 16, 2, 2, "a decoder-sized map, 64 output rows "
         "to split over threads", pad="valid")
    case("k3_s2_same_32x32_c32_c16", (1, 32, 32, 32), 16, 3, 2, "a decoder-sized 3x3 SAME")

    def unet():
        import tensorflow as tf
        up = _layer(32, 16, 3, 2, act="relu")
        conv = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu")
        conv.build((None, None, None, 32))
        conv.set_weights([W(3, 3, 32, 16), W(16, scale=0.3)])
        return lambda a, skip: conv(tf.concat([up(a), skip], axis=-1))
    T("unet_decoder_block", ["TRANSPOSE_CONV", "CONCATENATION", "CONV_2D"],
      "a U-Net decoder step: 3x3 stride-2 up-convolution with RELU, concatenated with the "
      "skip connection, then a 3x3 conv",
      lambda: [randn(1, 16, 16, 32), randn(1, 32, 32, 16)], make=unet)

    _fusion_cases()


def _tconv_add(x, cout, k, s, pad, bias_shape, *, with_bias=False, add_act=0, relu6=False, also_out=False,
               bias_first=False):
    """A hand-built TRANSPOSE_CONV (version 3 with a bias input, else 1), then an ADD of a
    constant of bias_shape (with fused activation add_act), then optionally a RELU6;
    also_out: the TRANSPOSE_CONV's output is a model output too (nothing may fuse);
    bias_first: the constant is the ADD's first operand."""
    def hand():
        m = HandModel()
        n, h, w_, cin = x
        oh, ow = (h * s, w_ * s) if pad == SAME else ((h - 1) * s + k, (w_ - 1) * s + k)
        out_shape = (n, oh, ow, cout)
        inputs = [m.const(np.array(out_shape, np.int32)), m.const(W(cout, k, k, cin, fan_in=k * k * cin)),
                  m.input(x)]
        if with_bias:
            inputs.append(m.const(W(cout, scale=0.5)))
        y = m.output(m.tensor(out_shape)) if also_out else m.tensor(out_shape)
        m.op("TRANSPOSE_CONV", inputs, [y], "TransposeConvOptions", version=3 if with_bias else 1,
             Padding=pad, StrideH=s, StrideW=s)
        z = m.tensor(out_shape) if relu6 else m.output(m.tensor(out_shape))
        c = m.const(W(*bias_shape, scale=0.5))
        m.op("ADD", [c, y] if bias_first else [y, c], [z], "AddOptions", FusedActivationFunction=add_act)
        if relu6:
            m.op("RELU6", [z], [m.output(m.tensor(out_shape))])
        return m, [randn(*x)]
    return hand


def _fusion_cases():
    H("fuse_add_c_relu6", ["TRANSPOSE_CONV", "ADD", "RELU6"],
      "TRANSPOSE_CONV (3x3 stride 2 SAME, no bias), ADD of a [C] constant, RELU6: one kernel",
      _tconv_add((1, 6, 5, 8), 12, 3, 2, SAME, (12,), relu6=True))
    H("fuse_add_11c_relu_with_bias", ["TRANSPOSE_CONV", "ADD"],
      "TRANSPOSE_CONV with its own bias, ADD of a [1, 1, 1, C] constant with a fused RELU: "
      "the biases summed",
      _tconv_add((1, 5, 5, 6), 7, 4, 2, VALID, (1, 1, 1, 7), with_bias=True, add_act=RELU))
    H("fuse_add_scalar", ["TRANSPOSE_CONV", "ADD"],
      "ADD of a single value (bias first, then the TRANSPOSE_CONV)",
      _tconv_add((1, 4, 4, 5), 9, 2, 2, VALID, (1,), bias_first=True))
    H("nofuse_add_output_read_twice", ["TRANSPOSE_CONV", "ADD"],
      "the TRANSPOSE_CONV's output is a model output too: the ADD stays",
      _tconv_add((1, 4, 4, 5), 9, 3, 2, SAME, (9,), also_out=True))


if __name__ == "__main__":
    sys.exit(mop.build_into(OUT_DIR, define))
