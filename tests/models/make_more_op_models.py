#!/usr/bin/env python3
"""(Re)build the test models of the ops that once lived in dlcoder/ops/extra.py (now in
indexing.py, creation.py, elementwise.py, reduce.py, movement.py, spatial.py), in tests/models/more/.

ADD_N, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, GATHER_ND, REVERSE_V2, CUMSUM, ONE_HOT, RANGE,
TOPK_V2, RANK and BROADCAST_ARGS, each over its attributes and dtypes. The machinery is
make_op_models.py's: `T` cases are TensorFlow functions converted with TFLiteConverter,
`H` cases are hand-built flatbuffers, for what the converter never emits (a RANGE it would
fold or give a dynamic shape, int16 indices, quantized int8 padding, RANK and
BROADCAST_ARGS of static shapes); `run_case` checks that the target op is present, runs
in the TFLite interpreter and gives a non-trivial output. Each case writes <case>.tflite,
<case>.npz (input_0, ...) and an entry in more/cases.json; entries of cases not rebuilt
are kept.

Usage
  python3 tests/models/make_more_op_models.py             # rebuild every case
  python3 tests/models/make_more_op_models.py topk range  # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import H, T, bools, grid, ints, randn  # noqa: E402

OUT_DIR = HERE / "more"
I8, I16, I32, I64, U8 = np.int8, np.int16, np.int32, np.int64, np.uint8


def hand(opname, feeds, outs, opts=None, consts=(), quant=None, then_add=False, **kw):
    """A one-op model. feeds() -> arrays (constants at `consts`); outs: [(shape, dtype)];
    quant: (scale, zero_point) of the first input and the output; then_add: the output
    plus a float graph input of its shape, so that a constant-folded op still meets a
    graph input."""
    def build():
        m = mop.HandModel()
        arrays = feeds()
        ins = [m.const(a) if i in consts else m.input(a.shape, a.dtype, quant=quant if i == 0 else None)
               for i, a in enumerate(arrays)]
        feed = [a for i, a in enumerate(arrays) if i not in consts]
        res = [m._tensor(s, d, quant=quant) for s, d in outs]
        m.op(opname, ins, res, opts, **kw)
        if then_add:
            x = m.input(outs[0][0])
            res = [m.op("ADD", [res[0], x], [m.tensor(outs[0][0])], "AddOptions",
                        FusedActivationFunction=mop.NONE)]
            feed.append(randn(*outs[0][0]))
        for r in res:
            m.output(r)
        return m, feed
    return build


def define_cases():  # noqa: C901  (a long, flat table)
    import tensorflow as tf

    # ------------------------------------------------------------------------ ADD_N
    T("add_n_3_float", ["ADD_N"], "ADD_N of three float [2,3,4]",
      lambda: [randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 4)], lambda a, b, c: tf.add_n([a, b, c]))
    T("add_n_int32_wrap", ["ADD_N"], "ADD_N of four int32 [3,5] near 2^30 (sums wrap)",
      lambda: [ints(2**29, 2**30, 3, 5) for _ in range(3)] + [ints(-9, 9, 3, 5)],
      lambda a, b, c, d: tf.add_n([a, b, c, d]))
    T("add_n_repeated_input", ["ADD_N"], "ADD_N(a, b, a, a) on [7]",
      lambda: [randn(7), randn(7)], lambda a, b: tf.add_n([a, b, a, a]))

    # ------------------------------------------------------ SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND
    T("s2b_4d_pad", ["SPACE_TO_BATCH_ND"], "[2,5,7,3] block [2,3] paddings [[1,0],[2,0]]",
      lambda: [randn(2, 5, 7, 3)], lambda a: tf.space_to_batch_nd(a, [2, 3], [[1, 0], [2, 0]]))
    T("s2b_block_over_pads", ["SPACE_TO_BATCH_ND"],
      "[1,5,6,2] block [4,3] paddings [[3,4],[2,1]] (shift runs: pads < block)",
      lambda: [randn(1, 5, 6, 2)], lambda a: tf.space_to_batch_nd(a, [4, 3], [[3, 4], [2, 1]]))
    T("s2b_3d_int32", ["SPACE_TO_BATCH_ND"], "int32 [2,7,4] block [3] paddings [[1,1]]",
      lambda: [ints(-50, 50, 2, 7, 4)], lambda a: tf.space_to_batch_nd(a, [3], [[1, 1]]))
    T("s2b_no_pad_int64", ["SPACE_TO_BATCH_ND"], "int64 [2,4,6,1] block [2,2], no padding",
      lambda: [ints(-50, 50, 2, 4, 6, 1, dtype=I64)], lambda a: tf.space_to_batch_nd(a, [2, 2], [[0, 0], [0, 0]]))
    H("s2b_int8_zero_point", ["SPACE_TO_BATCH_ND"], "int8 (zero point -5) [1,3,4,2] block [2,2] "
      "paddings [[1,0],[1,1]]: the padding is the zero point",
      hand("SPACE_TO_BATCH_ND", lambda: [ints(-100, 100, 1, 3, 4, 2, dtype=I8), np.array([2, 2], I32),
                                         np.array([[1, 0], [1, 1]], I32)], [((4, 2, 3, 2), I8)],
           consts=(1, 2), quant=(0.5, -5)))
    T("b2s_4d_crops", ["BATCH_TO_SPACE_ND"], "[6,3,4,2] block [2,3] crops [[1,0],[2,1]]",
      lambda: [randn(6, 3, 4, 2)], lambda a: tf.batch_to_space(a, [2, 3], [[1, 0], [2, 1]]))
    # the converter lowers these two to RESHAPE / TRANSPOSE / SLICE
    H("b2s_3d_bool", ["BATCH_TO_SPACE_ND"], "bool [4,3,2] block [2] crops [[0,1]]",
      hand("BATCH_TO_SPACE_ND", lambda: [bools(4, 3, 2), np.array([2], I32), np.array([[0, 1]], I32)],
           [((2, 5, 2), np.bool_)], consts=(1, 2)))
    H("b2s_int8_big_crops", ["BATCH_TO_SPACE_ND"], "int8 [8,2,3,1] block [4,2] crops [[3,2],[1,0]]",
      hand("BATCH_TO_SPACE_ND", lambda: [ints(-100, 100, 8, 2, 3, 1, dtype=I8), np.array([4, 2], I32),
                                         np.array([[3, 2], [1, 0]], I32)], [((1, 3, 5, 1), I8)],
           consts=(1, 2)))
    T("s2b_tanh_b2s", ["SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "TANH"],
      "space_to_batch -> tanh -> batch_to_space, block 2, odd 5x5 input (dilated-conv pattern)",
      lambda: [randn(1, 5, 5, 3)],
      lambda a: tf.batch_to_space(tf.tanh(tf.space_to_batch_nd(a, [2, 2], [[0, 1], [0, 1]])),
                                  [2, 2], [[0, 1], [0, 1]]))
    H("s2b_conv_b2s_dilated", ["SPACE_TO_BATCH_ND", "CONV_2D", "BATCH_TO_SPACE_ND"],
      "a 3x3 rate-2 SAME convolution as older converters emit it: SPACE_TO_BATCH_ND -> "
      "VALID CONV_2D -> BATCH_TO_SPACE_ND on [1,9,9,2]", lambda: _dilated_conv_model())

    # -------------------------------------------------------------------------- GATHER_ND
    T("gather_nd_full_index", ["GATHER_ND"], "params [4,5], int32 indices [3,2] -> [3]",
      lambda: [randn(4, 5), np.stack([ints(0, 3, 3), ints(0, 4, 3)], -1)], tf.gather_nd)
    T("gather_nd_slices", ["GATHER_ND"], "params [3,4,5], indices [2,2,1] -> [2,2,4,5]",
      lambda: [randn(3, 4, 5), ints(0, 2, 2, 2, 1)], tf.gather_nd)
    T("gather_nd_int32_params_int64_idx", ["GATHER_ND"], "int32 params [3,4,2], int64 indices [5,2]",
      lambda: [ints(-50, 50, 3, 4, 2), np.stack([ints(0, 2, 5), ints(0, 3, 5)], -1).astype(I64)],
      tf.gather_nd)
    T("gather_nd_bool_const_indices", ["GATHER_ND"], "bool params [4,3,6], constant indices [2,2]",
      lambda: [bools(4, 3, 6)], lambda p: tf.gather_nd(p, tf.constant([[3, 1], [0, 2]])))
    T("gather_nd_const_params", ["GATHER_ND"], "constant [5,3,2] table, indices [2,3,2] from input",
      lambda: [np.stack([ints(0, 4, 2, 3), ints(0, 2, 2, 3)], -1)],
      lambda i: tf.gather_nd(tf.constant(np.arange(30, dtype=np.float32).reshape(5, 3, 2) / 7), i))
    H("gather_nd_int16_indices", ["GATHER_ND"], "uint8 params [3,4,5], int16 indices [2,3,2]",
      hand("GATHER_ND", lambda: [ints(0, 255, 3, 4, 5, dtype=U8),
                                 np.stack([ints(0, 2, 2, 3), ints(0, 3, 2, 3)], -1).astype(I16)],
           [((2, 3, 5), U8)]))

    # ------------------------------------------------------------------------- REVERSE_V2
    T("reverse_axis1", ["REVERSE_V2"], "reverse [2,3,4] axis 1",
      lambda: [randn(2, 3, 4)], lambda a: tf.reverse(a, [1]))
    T("reverse_two_axes_int32", ["REVERSE_V2"], "int32 [2,3,4,5] axes [2,1] (contiguous)",
      lambda: [ints(-50, 50, 2, 3, 4, 5)], lambda a: tf.reverse(a, [2, 1]))
    T("reverse_neg_axis_bool", ["REVERSE_V2"], "bool [3,5] axis -1",
      lambda: [bools(3, 5)], lambda a: tf.reverse(a, [-1]))
    H("reverse_axis0_int8", ["REVERSE_V2"], "int8 [4,3,2] axis 0 (the converter has no int8 REVERSE_V2)",
      hand("REVERSE_V2", lambda: [ints(-100, 100, 4, 3, 2, dtype=I8), np.array([0], I32)],
           [((4, 3, 2), I8)], consts=(1,)))

    # ----------------------------------------------------------------------------- CUMSUM
    T("cumsum_axis1", ["CUMSUM"], "float [3,5,4] axis 1",
      lambda: [randn(3, 5, 4)], lambda a: tf.cumsum(a, 1))
    T("cumsum_exclusive_reverse", ["CUMSUM"], "float [2,6] axis -1 exclusive reverse",
      lambda: [randn(2, 6)], lambda a: tf.cumsum(a, -1, exclusive=True, reverse=True))
    T("cumsum_int32_exclusive", ["CUMSUM"], "int32 [5,3] axis 0 exclusive",
      lambda: [ints(-50, 50, 5, 3)], lambda a: tf.cumsum(a, 0, exclusive=True))
    T("cumsum_int64_reverse", ["CUMSUM"], "int64 [2,3,4] axis 2 reverse",
      lambda: [ints(-50, 50, 2, 3, 4, dtype=I64)], lambda a: tf.cumsum(a, 2, reverse=True))

    # ---------------------------------------------------------------------------- ONE_HOT
    T("one_hot_last_axis", ["ONE_HOT"], "int32 indices [6] (incl. -1 and 5), depth 5, on 2.5 off -1",
      lambda: [np.array([0, 4, -1, 5, 2, 2], I32)],
      lambda i: tf.one_hot(i, 5, on_value=2.5, off_value=-1.0))
    T("one_hot_axis0_int64_to_int32", ["ONE_HOT"], "int64 indices [2,3], depth 4, axis 0, int32",
      lambda: [ints(-1, 4, 2, 3, dtype=I64)], lambda i: tf.one_hot(i, 4, axis=0, dtype=tf.int32))
    T("one_hot_axis1_bool", ["ONE_HOT"], "indices [2,3], depth 3, axis 1, bool output",
      lambda: [ints(0, 3, 2, 3)],
      lambda i: tf.one_hot(i, 3, on_value=True, off_value=False, axis=1, dtype=tf.bool))
    T("one_hot_computed_on_off", ["ONE_HOT"], "on / off values are graph inputs, int8 output",
      lambda: [ints(0, 3, 4), np.array(7, I8), np.array(-3, I8)],
      lambda i, on, off: tf.one_hot(i, 4, on_value=on, off_value=off))
    H("one_hot_int64_low_bits", ["ONE_HOT"], "int64 indices 2^32 + 1 match 1 (TFLite casts to int32)",
      hand("ONE_HOT", lambda: [np.array([2**32 + 1, 1, 3, -2**32], I64), np.array(4, I32),
                               np.array(1, U8), np.array(0, U8)], [((4, 4), U8)],
           "OneHotOptions", consts=(1, 2, 3), Axis=-1))

    # ------------------------------------------------------------------------------ RANGE
    H("range_fold_float", ["RANGE", "ADD"], "RANGE(0.1, 1.0, 0.1) folded (accumulated) + x",
      hand("RANGE", lambda: [np.array(0.1, np.float32), np.array(1.0, np.float32),
                             np.array(0.1, np.float32)], [((9,), np.float32)], consts=(0, 1, 2),
           then_add=True))
    H("range_fold_int64_negative", ["RANGE", "ADD"], "int64 RANGE(7, -6, -3) folded, then CAST + x",
      lambda: _range_int64_then_add())
    H("range_runtime_float", ["RANGE"], "RANGE(start, 4.0, delta) of graph-input scalars, static [7]",
      hand("RANGE", lambda: [np.array(-1.3, np.float32), np.array(4.0, np.float32),
                             np.array(0.77, np.float32)], [((7,), np.float32)], consts=(1,)))
    H("range_runtime_int32", ["RANGE"], "int32 RANGE(start, limit, delta) all graph inputs, [5]",
      hand("RANGE", lambda: [np.array(10, I32), np.array(-5, I32), np.array(-3, I32)], [((5,), I32)]))

    # ---------------------------------------------------------------------------- TOPK_V2
    T("topk_ties_float", ["TOPK_V2"], "float [3,8] on a coarse grid (ties), k 3",
      lambda: [grid(3, 8, lo=-1, hi=1)], lambda a: tf.math.top_k(a, 3))
    T("topk_int32_full_sort", ["TOPK_V2"], "int32 [2,6] with ties, k 6",
      lambda: [ints(0, 3, 2, 6)], lambda a: tf.math.top_k(a, 6))
    T("topk_1d_k1", ["TOPK_V2"], "float [10], k 1", lambda: [randn(10)], lambda a: tf.math.top_k(a, 1))
    T("topk_3d_int64", ["TOPK_V2"], "int64 [2,3,7] with ties, k 4",
      lambda: [ints(-3, 3, 2, 3, 7, dtype=I64)], lambda a: tf.math.top_k(a, 4))
    H("topk_int8_int16_indices", ["TOPK_V2"], "int8 [4,10], int16 k 4, int16 indices",
      hand("TOPK_V2", lambda: [ints(-5, 5, 4, 10, dtype=I8), np.array(4, I16)],
           [((4, 4), I8), ((4, 4), I16)], consts=(1,)))
    H("topk_uint8", ["TOPK_V2"], "uint8 [3,9], k 5",
      hand("TOPK_V2", lambda: [ints(0, 255, 3, 9, dtype=U8), np.array(5, I32)],
           [((3, 5), U8), ((3, 5), I32)], consts=(1,)))

    # ------------------------------------------------------------------ RANK, BROADCAST_ARGS
    H("rank_of_input", ["RANK"], "RANK of a [2,3,4] graph input (folds to 3)",
      hand("RANK", lambda: [randn(2, 3, 4)], [((), I32)]), allow_const=True)
    H("broadcast_args_of_shapes", ["BROADCAST_ARGS", "SHAPE"],
      "BROADCAST_ARGS(SHAPE(x [3,1,5]), SHAPE(y [4,1])) (folds to [3,4,5]) and x + y",
      lambda: _broadcast_args_model(), allow_const=True)


def _dilated_conv_model():
    m = mop.HandModel()
    x = m.input((1, 9, 9, 2))
    pads = m.const(np.array([[2, 3], [2, 3]], I32))   # 9 + 4 of SAME padding, up to 14
    s = m.op("SPACE_TO_BATCH_ND", [x, m.const(np.array([2, 2], I32)), pads],
             [m.tensor((4, 7, 7, 2))])
    c = m.op("CONV_2D", [s, m.const(mop.W(4, 3, 3, 2)), m.const(mop.W(4))], [m.tensor((4, 5, 5, 4))],
             "Conv2DOptions", Padding=mop.VALID, StrideW=1, StrideH=1,
             FusedActivationFunction=mop.RELU, DilationWFactor=1, DilationHFactor=1)
    crops = m.const(np.array([[0, 1], [0, 1]], I32))
    m.output(m.op("BATCH_TO_SPACE_ND", [c, m.const(np.array([2, 2], I32)), crops],
                  [m.tensor((1, 9, 9, 4))]))
    return m, [randn(1, 9, 9, 2)]


def _range_int64_then_add():
    m = mop.HandModel()
    r = m.op("RANGE", [m.const(np.array(v, I64)) for v in (7, -6, -3)], [m._tensor((5,), I64)])
    f = m.op("CAST", [r], [m.tensor((5,))])
    x = m.input((5,))
    m.output(m.op("ADD", [f, x], [m.tensor((5,))], "AddOptions", FusedActivationFunction=mop.NONE))
    return m, [randn(5)]


def _broadcast_args_model():
    m = mop.HandModel()
    x, y = m.input((3, 1, 5)), m.input((4, 1))
    sx, sy = (m.op("SHAPE", [t], [m._tensor((n,), I32)], "ShapeOptions", OutType=2)
              for t, n in ((x, 3), (y, 2)))
    m.output(m.op("BROADCAST_ARGS", [sx, sy], [m._tensor((3,), I32)]))
    m.output(m.op("ADD", [x, y], [m.tensor((3, 4, 5))], "AddOptions", FusedActivationFunction=mop.NONE))
    return m, [randn(3, 1, 5), randn(4, 1)]


def main(argv=None):
    return mop.build_into(OUT_DIR, define_cases, argv)

if __name__ == "__main__":
    sys.exit(main())
