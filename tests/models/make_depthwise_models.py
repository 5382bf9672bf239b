#!/usr/bin/env python3
"""(Re)build the test models of the float depthwise kernels on larger maps in
tests/models/depthwise_large/.

simd_depthwise.h runs a float DEPTHWISE_CONV_2D (multiplier 1) three ways besides its
border pixels: stride-1 5x5 kernels, and 3x3 ones on 32 channels or more, two output rows
at a time (dwconv_row_pair, when no epilogue follows the clamp), rows with 64 or more whole channels four pixels across
all channels at a time (dwconv_interior_wide), and the rest one 16-channel block along a
row. These TensorFlow-converted cases cover each of them on maps larger than the op
models' 8192-element cap: odd heights (a last row without a pair), batch 2 (pairs never
straddle images), SAME and VALID, stride 2 on odd maps, channel counts that are not whole
vectors (a partial block beside the pairs or the wide rows), dilation 2 (neither path),
interiors narrower than one 4-pixel group, and a HARD_SWISH epilogue (no pairs: the rows
end in the `post` block). The machinery is make_op_models.py's; each case writes
<case>.tflite, <case>.npz and an entry in depthwise_large/cases.json.

Usage
  python3 tests/models/make_depthwise_models.py           # rebuild every case
  python3 tests/models/make_depthwise_models.py s2        # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import T, W, dw_case, randn  # noqa: E402

OUT_DIR = HERE / "depthwise_large"
# Maps of 20 to 48 pixels a side with 32 to 80 channels, beyond the op models' cap; the
# largest input is 54k floats.
mop.MAX_TENSOR_ELEMS = 60000


def define():
    # stride 1: row pairs
    dw_case("dw3_s1_same_33x31_c32_relu6", (1, 33, 31, 32), 3, act="relu6",
            why="row pairs, 33 rows: 16 pairs (the first and last rows alone: padding), 2 blocks")
    dw_case("dw3_s1_valid_30x29_c36", (1, 30, 29, 36), 3, pad="VALID",
            why="row pairs on a VALID map (28 rows: 14 pairs), 36 channels: a partial block")
    dw_case("dw3_s1_same_27x26_c20_relu6", (1, 27, 26, 20), 3, act="relu6",
            why="3x3 on fewer than 32 channels: no pairs, one block and a partial one per row")
    dw_case("dw5_s1_same_25x27_c40_relu", (1, 25, 27, 40), 5, act="relu",
            why="5x5 row pairs, two padding rows each end, 40 channels: 2 blocks and a partial one")
    dw_case("dw5_s1_valid_b2_13x12_c24", (2, 13, 12, 24), 5, pad="VALID",
            why="batch 2, 9 rows an image: pairs never straddle the images; 24 channels")
    dw_case("dw3_s1_same_40x42_c32_relu6", (1, 40, 42, 32), 3, act="relu6",
            why="a larger map (42 pixels, 4-pixel groups and a 0-pixel tail), 32 channels")
    dw_case("dw3_s1_same_21x23_c72_relu6", (1, 21, 23, 72), 3, act="relu6",
            why="row pairs with 4 whole blocks and a partial one; the top and bottom rows wide")
    dw_case("dw5_s1_same_9x5_c64", (1, 9, 5, 64), 5,
            why="5 pixels: 1 interior pixel (no 4-pixel group) beside 4 border pixels")
    # stride 2: the wide rows
    dw_case("dw3_s2_same_25x27_c72", (1, 25, 27, 72), 3, stride=2,
            why="wide rows, stride 2 on an odd map (padding 1 on every side), 72 channels: 4 "
                "whole blocks and a partial one")
    dw_case("dw3_s2_valid_26x23_c64_relu6", (1, 26, 23, 64), 3, stride=2, pad="VALID", act="relu6",
            why="wide rows, stride 2 VALID, exactly 64 channels")
    dw_case("dw5_s2_same_21x19_c80", (1, 21, 19, 80), 5, stride=2,
            why="wide 5x5 rows, stride 2, odd map, 80 channels")
    dw_case("dw3_s2_same_31x33_c32_relu6", (1, 31, 33, 32), 3, stride=2, act="relu6",
            why="stride 2 on an odd map with 32 channels: the 16-channel blocks along the row")
    # neither path
    dw_case("dw3_s1_same_dil2_27x25_c32_relu6", (1, 27, 25, 32), 3, dil=2, act="relu6",
            why="dilation 2: no pairs and no wide rows")

    def dw_hard_swish(a):   # a: [1, 15, 14, 128]
        import tensorflow as tf
        y = tf.nn.depthwise_conv2d(a, W(3, 3, 128, 1, fan_in=9), [1, 1, 1, 1], "SAME")
        y = tf.nn.bias_add(y, W(128, scale=0.5))
        return y * tf.nn.relu6(y + 3.0) / 6.0
    T("dw3_s1_same_15x14_c128_hard_swish", ["DEPTHWISE_CONV_2D", "HARD_SWISH"],
      "a HARD_SWISH the depthwise conv takes as its epilogue: no row pairs, wide rows with "
      "the `post` block after each", lambda: [randn(1, 15, 14, 128)], dw_hard_swish)


if __name__ == "__main__":
    sys.exit(mop.build_into(OUT_DIR, define))
