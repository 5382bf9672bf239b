#!/usr/bin/env python3
"""(Re)build tests/models/runtime/: models whose indices or slice bounds are inputs, read
at run time (tests/test_runtime_errors.py).

- GATHER and GATHER_ND with the indices an input of the model (float and int8 params,
  int32 and int64 indices, an axis, batch_dims, a constant table), and a GATHER inside a
  WHILE body whose index is the loop counter: an index out of range fails TFLite's invoke,
  and the generated run returns kStatusIndexOutOfRange.
- SLICE and STRIDED_SLICE whose begin, end or size is an input. The converter gives such a
  slice a fixed output shape only where the bounds cannot change it (tf.slice with a
  constant size, a shrunk axis x[b]); the cases where they can (a strided begin or end,
  `offset`, a SLICE size) are hand-built with the output shape stored as the one fixed
  shape the generated library takes: other bounds make the run return
  kStatusShapeMismatch, where TFLite resizes its output.

The machinery is make_op_models.py's `T` (converted with TF), `H` (hand-built) and
`build_into`: the target op is in the written model, the TFLite interpreter runs it on the
case's inputs (every index in range), the outputs are not trivially constant. Each case
writes <case>.tflite, <case>.npz and an entry in runtime/cases.json.

Usage
  python3 tests/models/make_runtime_models.py            # rebuild every case
  python3 tests/models/make_runtime_models.py gather     # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import H, T, randn  # noqa: E402
from op_hand import single_op  # noqa: E402

OUT_DIR = HERE / "runtime"
I32, I64 = np.int32, np.int64


def define_cases():
    import tensorflow as tf
    _gathers(tf)
    _converted_slices(tf)
    _hand_slices()


def _gathers(tf):
    T("gather_rows", ["GATHER"], "tf.gather rows of a float [5,3] input, int32 indices",
      lambda: [randn(5, 3), np.array([4, 0, 2, 2], I32)], lambda x, i: tf.gather(x, i))
    T("gather_axis1_int64", ["GATHER"], "tf.gather along axis 1 of [2,5,3], int64 indices",
      lambda: [randn(2, 5, 3), np.array([3, 1], I64)], lambda x, i: tf.gather(x, i, axis=1))
    T("gather_batch_dims_int8", ["GATHER"], "int8 params [2,4,3], indices [2,2], batch_dims 1",
      lambda: [mop.ints(-100, 100, 2, 4, 3, dtype=np.int8), np.array([[3, 0], [1, 1]], I32)],
      lambda x, i: tf.gather(x, i, axis=1, batch_dims=1))
    table = np.arange(24, dtype=np.float32).reshape(6, 4) / 8
    T("gather_const_table", ["GATHER"], "an embedding: constant table [6,4], indices [3] an input",
      lambda: [np.array([5, 1, 0], I32)], lambda i: tf.gather(tf.constant(table), i))
    T("gather_nd_pairs", ["GATHER_ND"], "tf.gather_nd of float [3,4] by int32 pairs [2,2]",
      lambda: [randn(3, 4), np.array([[2, 3], [0, 1]], I32)], lambda x, i: tf.gather_nd(x, i))
    T("gather_nd_rows_int8", ["GATHER_ND"], "tf.gather_nd rows of int8 [3,4,2] by int64 [2,1]",
      lambda: [mop.ints(-100, 100, 3, 4, 2, dtype=np.int8), np.array([[2], [0]], I64)],
      lambda x, i: tf.gather_nd(x, i))

    def gather_in_loop(table, n):
        """acc += table[i] for i < n: the index runs past the table when n exceeds its rows."""
        def body(i, acc):
            return i + 1, acc + tf.gather(table, i)
        return tf.while_loop(lambda i, acc: i < n, body, (tf.constant(0), tf.zeros([3])))[1]
    T("gather_in_while", ["WHILE"], "GATHER in a WHILE body, the loop counter as index",
      lambda: [randn(4, 3), np.array(3, I32)], gather_in_loop)


def _converted_slices(tf):
    T("slice_runtime_begin", ["SLICE"], "tf.slice of [2,10] at [0, b], b an input, size [2,4]",
      lambda: [randn(2, 10), np.array(3, I32)],
      lambda x, b: tf.slice(x, tf.stack([0, b]), [2, 4]))
    T("ss_runtime_shrink", ["STRIDED_SLICE"], "x[b] of [5,3], b an input (a shrunk axis)",
      lambda: [randn(5, 3), np.array(2, I32)], lambda x, b: x[b])


def _hand_slices():
    def ss(x, begin, end, strides, out_shape, consts, **options):
        arrays = [x, np.array(begin, I32), np.array(end, I32), np.array(strides, I32)]
        return lambda: single_op("STRIDED_SLICE", arrays, [out_shape], "StridedSliceOptions",
                                 consts=consts, out_dtypes=[x.dtype], **options)
    H("ss_runtime_begin", ["STRIDED_SLICE"],
      "x[:, b::2] of [2,10], begin an input [0, 4], stored output [2,3]",
      ss(randn(2, 10), [0, 4], [0, 10], [1, 2], [2, 3], (2, 3), BeginMask=1, EndMask=1))
    H("ss_runtime_end", ["STRIDED_SLICE"],
      "int32 x[:, 2:e] of [3,8], end an input [0, 6], stored output [3,4]",
      ss(mop.ints(-50, 50, 3, 8), [0, 2], [0, 6], [1, 1], [3, 4], (1, 3), BeginMask=1, EndMask=1))
    H("ss_runtime_offset", ["STRIDED_SLICE"],
      "offset=true: [4,6] from begin (an input, [1, 2]) for end [2,3], stored output [2,3]",
      ss(randn(4, 6), [1, 2], [2, 3], [1, 1], [2, 3], (2, 3), Offset=True),
      expect={"STRIDED_SLICE": dict(Offset=True)})
    H("slice_runtime_size", ["SLICE"],
      "SLICE of [3,6] from begin [1, 2], size an int64 input [2, 3], stored output [2,3]",
      lambda: single_op("SLICE", [randn(3, 6), np.array([1, 2], I64), np.array([2, 3], I64)],
                        [[2, 3]], "SliceOptions", consts=(1,)))


def main(argv=None):
    return mop.build_into(OUT_DIR, define_cases, argv)


if __name__ == "__main__":
    sys.exit(main())
