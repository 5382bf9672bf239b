#!/usr/bin/env python3
"""(Re)build the test models of the Winograd F(4x4, 3x3) convolution in tests/models/winograd/.

dlcoder runs a 3x3 stride-1 CONV_2D with at least 16 input channels and 4 output tiles of
4x4 as Winograd (ops/conv.py: _is_winograd). These TensorFlow-converted cases cover: maps
that are not whole tiles (bottom and right tiles cut), channel counts that are not whole
vectors (in) or panels and 32-channel groups (out), VALID and SAME padding, an explicit
PAD fused into the conv, batch 2, both tile-block sizes (in_c <= 64: 64 tiles, else 32)
with several blocks and a last short one, the fused activations, a residual ADD and a
HARD_SWISH epilogue fused into the output transform. The machinery is make_op_models.py's;
each case writes <case>.tflite, <case>.npz and an entry in winograd/cases.json.

Usage
  python3 tests/models/make_winograd_models.py            # rebuild every case
  python3 tests/models/make_winograd_models.py residual   # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import T, W, conv_case, randn  # noqa: E402

OUT_DIR = HERE / "winograd"
# Cases with several blocks of tiles need maps of about 24x24 and more, beyond the
# 8192-element cap that keeps the single-op models tiny.
mop.MAX_TENSOR_ELEMS = 40000


def define():
    import tensorflow as tf
    conv_case("wino_same_24x24_c16_c32_relu", (1, 24, 24, 16), 3, 32, act="relu",
              why="whole tiles (36), in_c 16: one vector, out_c 32: one group; block of 64 tiles")
    conv_case("wino_same_27x25_c20_c40_relu6", (1, 27, 25, 20), 3, 40, act="relu6",
              why="cut bottom and right tiles, in_c 20 (a vector tail), out_c 40 (a 32-group "
                  "and a partial panel)")
    conv_case("wino_valid_34x30_c17_c16", (1, 34, 30, 17), 3, 16, pad="VALID", bias=False,
              why="VALID: 32x28 outputs, in_c 17, out_c 16 exactly one panel, no bias")
    conv_case("wino_same_b2_17x16_c65_c48", (2, 17, 16, 65), 3, 48,
              why="batch 2 (tiles of both images in one block list), in_c 65 > 64: blocks of "
                  "32 tiles, 40 tiles = 2 blocks of 20")
    conv_case("wino_same_36x30_c16_c36_relu_n1_to_1", (1, 36, 30, 16), 3, 36, act="relu_n1_to_1",
              why="72 tiles = 2 blocks of 36 (in_c <= 64), out_c 36: two 32-channel groups")

    conv_case("direct_same_4x8_c32_c32", (1, 4, 8, 32), 3, 32,
              why="2 tiles: too few to repay the filter transform, stays on the implicit GEMM")

    def pad_conv_residual(a):   # a: [1, 26, 26, 32]
        y = tf.pad(a, [[0, 0], [2, 0], [1, 1], [0, 0]])   # not a SAME padding: a PAD stays
        y = tf.nn.bias_add(tf.nn.conv2d(y, W(3, 3, 32, 32), 1, "VALID"), W(32, scale=0.3))
        return tf.nn.relu(tf.nn.relu(y) + a)
    T("wino_pad_conv_residual", ["PAD", "CONV_2D", "ADD"],
      "PAD (2 rows on top, 1 column each side) fused into a VALID conv (26x26 out, 49 tiles), "
      "its ADD with the conv's input fused as a residual into the output transform",
      lambda: [randn(1, 26, 26, 32)], pad_conv_residual)

    def conv_hard_swish(a):   # a: [1, 28, 28, 24]
        y = tf.nn.bias_add(tf.nn.conv2d(a, W(3, 3, 24, 20), 1, "SAME"), W(20, scale=0.3))
        return y * tf.nn.relu6(y + 3.0) / 6.0
    T("wino_conv_hard_swish", ["CONV_2D", "HARD_SWISH"],
      "HARD_SWISH after the conv: an epilogue in the output transform; out_c 20",
      lambda: [randn(1, 28, 28, 24)], conv_hard_swish)


if __name__ == "__main__":
    sys.exit(mop.build_into(OUT_DIR, define))
