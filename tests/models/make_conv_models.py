#!/usr/bin/env python3
"""(Re)build the convolution cases of tests/models/ops/: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names conv_*, dw_* and tconv_* (op_build.FAMILIES): an unfiltered
run rewrites their cases.json entries and deletes only their stale files.

Usage
  python3 tests/models/make_conv_models.py            # rebuild this family
  python3 tests/models/make_conv_models.py dw tconv   # only cases whose name contains one of these
  python3 tests/models/make_conv_models.py --list     # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import ACT_CODE, SAME, TANH, VALID, H, T, W, apply_act, randn  # noqa: E402
from op_hand import single_op  # noqa: E402

FAMILY = "conv"


# =============================================================================
# Case builders (also used by make_winograd_models.py through make_op_models.py)
# =============================================================================
def conv_case(name, x, k, cout, stride=1, pad="SAME", dil=1, bias=True, act=None, why=""):
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    dh, dw = (dil, dil) if isinstance(dil, int) else dil
    cin_f = x[3]

    def fn(a):
        import tensorflow as tf
        f = W(kh, kw, cin_f, cout)
        y = tf.nn.conv2d(a, f, [1, sh, sw, 1], pad, dilations=[dh, dw])
        if bias:
            y = tf.nn.bias_add(y, W(cout, scale=0.5))
        return apply_act(y, act)

    why = why or (f"{kh}x{kw} {pad} stride {sh}x{sw} dil {dil} cin {x[3]} cout {cout}"
                  f" {'bias' if bias else 'no-bias(zero bias const)'} act {act or 'none'}")
    T(name, ["CONV_2D"], why, lambda: [randn(*x)], fn,
      expect={"CONV_2D": dict(Padding=SAME if pad == "SAME" else VALID, StrideH=sh, StrideW=sw,
                              DilationHFactor=dh, DilationWFactor=dw,
                              FusedActivationFunction=ACT_CODE[act])})



def grouped_conv_case(name, x, k, cin_per_group, cout, why):
    def fn(a):
        import tensorflow as tf
        y = tf.nn.conv2d(a, W(k, k, cin_per_group, cout), 1, "SAME")
        return tf.nn.bias_add(y, W(cout, scale=0.5))
    T(name, ["CONV_2D"], why, lambda: [randn(*x)], fn)


def dw_case(name, x, k, mult=1, stride=1, pad="SAME", dil=1, act=None, why=""):
    c = x[3]

    def fn(a):
        import tensorflow as tf
        y = tf.nn.depthwise_conv2d(a, W(k, k, c, mult, fan_in=k * k), [1, stride, stride, 1], pad,
                                   dilations=[dil, dil])
        y = tf.nn.bias_add(y, W(c * mult, scale=0.5))
        return apply_act(y, act)

    why = why or f"{k}x{k} {pad} stride {stride} depth_multiplier {mult} dil {dil} act {act or 'none'} C={c}"
    T(name, ["DEPTHWISE_CONV_2D"], why, lambda: [randn(*x)], fn,
      expect={"DEPTHWISE_CONV_2D": dict(Padding=SAME if pad == "SAME" else VALID, StrideH=stride,
                                        StrideW=stride, DepthMultiplier=mult, DilationHFactor=dil,
                                        FusedActivationFunction=ACT_CODE[act])})


def tconv_case(name, x, k, cout, stride, pad, bias, why=""):
    n, h, w_, cin = x
    if pad == "SAME":
        oh, ow = h * stride, w_ * stride
    else:
        oh, ow = (h - 1) * stride + k, (w_ - 1) * stride + k

    def fn(a):
        import tensorflow as tf
        y = tf.nn.conv2d_transpose(a, W(k, k, cout, cin, fan_in=k * k * cin // (stride * stride)),
                                   [n, oh, ow, cout], stride, pad)
        if bias:
            y = y + W(cout, scale=0.5)
        return y
    why = why or f"{k}x{k} {pad} stride {stride} {'with bias (4th input)' if bias else 'no bias (3 inputs)'}"
    T(name, ["TRANSPOSE_CONV"], why, lambda: [randn(*x)], fn,
      expect={"TRANSPOSE_CONV": dict(Padding=SAME if pad == "SAME" else VALID, StrideH=stride)})


# =============================================================================
# The cases
# =============================================================================
def define():
    _conv2d()
    _conv2d_special()
    _depthwise()
    _transpose_conv()


def _conv2d():
    conv_case("conv_3x3_same_s1_bias_relu", (1, 8, 8, 3), 3, 8, act="relu")
    conv_case("conv_3x3_valid_s1_nobias", (1, 7, 7, 4), 3, 6, pad="VALID", bias=False)
    conv_case("conv_3x3_same_s2_relu6", (1, 9, 9, 5), 3, 12, stride=2, act="relu6")
    conv_case("conv_3x3_valid_s2_batch2", (2, 10, 10, 8), 3, 16, stride=2, pad="VALID")
    conv_case("conv_1x1_s1", (1, 5, 5, 16), 1, 24)
    conv_case("conv_5x5_same_s1", (1, 8, 8, 3), 5, 7)
    conv_case("conv_3x5_nonsquare_valid", (1, 7, 9, 6), (3, 5), 10, pad="VALID")
    conv_case("conv_2x3_stride_2x1_same_relu_n1_to_1", (1, 8, 7, 4), (2, 3), 6, stride=(2, 1), act="relu_n1_to_1")
    conv_case("conv_3x3_dil2_same", (1, 9, 9, 4), 3, 5, dil=2)
    conv_case("conv_3x3_same_cin17_cout33", (1, 6, 6, 17), 3, 33)
    conv_case("conv_3x3_same_w40_s1", (1, 5, 40, 8), 3, 20,
              why="rows wider than 32: border pixels gathered, interior read in place (no band)")
    conv_case("conv_5x5_same_w38_s2", (1, 6, 75, 5), 5, 18, stride=2,
              why="wide rows, stride 2, 5x5: the gathered border of two pixels per side")
    conv_case("conv_4x4_same_s2_even_kernel", (1, 8, 8, 3), 4, 8, stride=2)


def _conv2d_special():
    # out_c <= 8 with dil_w 1: two taps per register (simd_kernels.h conv2d_pairs)
    conv_case("conv_3x3_same_s2_cin3_cout8_w37", (1, 9, 37, 3), 3, 8, stride=2, act="relu6",
              why="an image stem: padded band, 19 pixels a row (tiles of 10 and 9, an odd pixel "
                  "left to fold alone), 9 taps a window row (an odd last tap)")
    conv_case("conv_5x5_valid_cin1_cout6_w32", (1, 12, 32, 1), 5, 6, pad="VALID",
              why="LeNet's first conv: rows read in place (no padding), 5 taps a window row")
    conv_case("conv_3x3_valid_dil2x1_batch2_cout7", (2, 9, 15, 2), 3, 7, pad="VALID", dil=(2, 1),
              why="dilation 2 down only: window rows 2 input rows apart, read in place; "
                  "6 taps a window row (no odd tap); batch 2")
    grouped_conv_case("conv_grouped_g2", (1, 6, 6, 8), 3, 4, 6,
                      "grouped conv: input channels 8 = 2 x filter input channels 4, cout 6")
    H("conv_3x3_fused_tanh", ["CONV_2D"],
      "3x3 VALID stride 2 with fused TANH activation (converter never fuses TANH)",
      lambda: single_op("CONV_2D", [randn(1, 7, 7, 3), W(4, 3, 3, 3, fan_in=27), W(4, scale=0.5)],
                        [[1, 3, 3, 4]], "Conv2DOptions", consts=(1, 2), Padding=VALID, StrideW=2,
                        StrideH=2, DilationWFactor=1, DilationHFactor=1, FusedActivationFunction=TANH))


def _depthwise():
    dw_case("dw_3x3_same_s1_c17_relu6", (1, 5, 5, 17), 3, act="relu6")
    dw_case("dw_3x3_valid_s2", (1, 9, 9, 6), 3, stride=2, pad="VALID")
    dw_case("dw_3x3_same_s2_relu6", (1, 8, 8, 5), 3, stride=2, act="relu6")
    dw_case("dw_5x5_valid_s2_mult2", (1, 11, 11, 3), 5, mult=2, stride=2, pad="VALID")
    # whole 16-channel blocks at stride 2 (the interior kernel with the stride a constant),
    # a channel tail, and row interiors that are not a multiple of four pixels
    dw_case("dw_3x3_same_s2_c20_relu6", (1, 9, 23, 20), 3, stride=2, act="relu6")
    dw_case("dw_5x5_same_s2_c32", (1, 9, 25, 32), 5, stride=2)
    # inputs shorter than the kernel: every output row has only 1 or 2 rows inside the input
    dw_case("dw_5x5_same_h2_c20", (1, 2, 9, 20), 5)
    dw_case("dw_3x3_same_h1_c20", (1, 1, 9, 20), 3)
    dw_case("dw_5x5_same_h1_c20", (1, 1, 9, 20), 5)
    dw_case("dw_3x3_same_mult2", (1, 6, 6, 4), 3, mult=2)
    dw_case("dw_3x3_same_dil2", (1, 9, 9, 6), 3, dil=2)


def _transpose_conv():
    tconv_case("tconv_3x3_same_s2_bias", (1, 4, 4, 3), 3, 4, 2, "SAME", True)
    tconv_case("tconv_3x3_same_s2_nobias", (1, 4, 5, 6), 3, 5, 2, "SAME", False)
    tconv_case("tconv_3x3_valid_s2_bias", (1, 3, 4, 4), 3, 3, 2, "VALID", True)
    tconv_case("tconv_3x3_same_s1_bias", (1, 5, 5, 4), 3, 6, 1, "SAME", True)
    tconv_case("tconv_4x4_same_s2_bias", (1, 3, 3, 5), 4, 3, 2, "SAME", True)


if __name__ == "__main__":
    sys.exit(family_main(__name__))
