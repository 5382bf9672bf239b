#!/usr/bin/env python3
"""(Re)build the matrix-product cases of tests/models/ops/: FULLY_CONNECTED and BATCH_MATMUL.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names fc_* and bmm_* (op_build.FAMILIES): an unfiltered run
rewrites their cases.json entries and deletes only their stale files.

Usage
  python3 tests/models/make_matmul_models.py          # rebuild this family
  python3 tests/models/make_matmul_models.py bmm      # only cases whose name contains one of these
  python3 tests/models/make_matmul_models.py --list   # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import NONE, RELU, RELU6, H, T, W, apply_act, randn  # noqa: E402
from op_hand import single_op  # noqa: E402

FAMILY = "matmul"


def define():
    import tensorflow as tf
    _fully_connected(tf)
    _batch_matmul(tf)
    _batch_matmul_views(tf)


def _fully_connected(tf):
    def fc(bias, act=None):
        def fn(a):
            y = tf.matmul(a, W(a.shape[-1], 12))
            if bias:
                y = y + W(12, scale=0.5)
            return apply_act(y, act)
        return fn
    T("fc_bias", ["FULLY_CONNECTED"], "[1,20] x [20,12] + bias, keep_num_dims false",
      lambda: [randn(1, 20)], fc(True), expect={"FULLY_CONNECTED": dict(KeepNumDims=False)})
    T("fc_nobias", ["FULLY_CONNECTED"], "[1,20] x [20,12], no bias (bias input -1)",
      lambda: [randn(1, 20)], fc(False))
    T("fc_bias_relu", ["FULLY_CONNECTED"], "[1,33] x [33,12] + bias, fused RELU",
      lambda: [randn(1, 33)], fc(True, "relu"),
      expect={"FULLY_CONNECTED": dict(FusedActivationFunction=RELU)})
    T("fc_batch3_relu6", ["FULLY_CONNECTED"], "batch 3: [3,10] x [10,12] + bias, fused RELU6",
      lambda: [randn(3, 10)], fc(True, "relu6"),
      expect={"FULLY_CONNECTED": dict(FusedActivationFunction=RELU6)})

    def fc_keras3d():
        layer = tf.keras.layers.Dense(7)
        layer.build((None, 5, 6))
        layer.set_weights([W(6, 7), W(7, scale=0.5)])
        return lambda a: layer(a)
    T("fc_keep_num_dims_3d", ["FULLY_CONNECTED"], "3-D input [2,5,6] -> [2,5,7], keep_num_dims true",
      lambda: [randn(2, 5, 6)], make=fc_keras3d,
      expect={"FULLY_CONNECTED": dict(KeepNumDims=True)})
    T("fc_nonconst_weights", ["FULLY_CONNECTED"],
      "both operands are graph inputs: x [3,8] . w[5,8]^T (weights non-constant, no bias)",
      lambda: [randn(3, 8), randn(5, 8)], lambda x, w: tf.matmul(x, w, transpose_b=True))
    H("fc_3d_keep_num_dims_false", ["FULLY_CONNECTED"],
      "3-D input [2,3,8] with keep_num_dims false -> output [6,5] (flattens leading dims)",
      lambda: single_op("FULLY_CONNECTED", [randn(2, 3, 8), W(5, 8, fan_in=8), W(5, scale=0.5)],
                        [[6, 5]], "FullyConnectedOptions", consts=(1, 2),
                        FusedActivationFunction=NONE, KeepNumDims=False))


def _batch_matmul(tf):
    def bmm(adj_x=False, adj_y=False):
        return lambda x, y: tf.matmul(x, y, adjoint_a=adj_x, adjoint_b=adj_y)
    T("bmm_rank2", ["BATCH_MATMUL"], "rank 2 [3,4] x [4,5], both inputs",
      lambda: [randn(3, 4), randn(4, 5)], bmm())
    T("bmm_rank3_adj_x", ["BATCH_MATMUL"], "adj_x: [2,4,3]^T x [2,4,5]",
      lambda: [randn(2, 4, 3), randn(2, 4, 5)], bmm(adj_x=True),
      expect={"BATCH_MATMUL": dict(AdjX=True, AdjY=False)})
    T("bmm_rank3_n32_in_place", ["BATCH_MATMUL"],
      "[2,13,7] x [2,7,32]: whole panels, rhs read in place by the GEMM (no packing)",
      lambda: [randn(2, 13, 7), randn(2, 7, 32)], bmm(),
      expect={"BATCH_MATMUL": dict(AdjX=False, AdjY=False)})
    T("bmm_bcast_adj_x_n16_in_place", ["BATCH_MATMUL"],
      "adj_x, rhs broadcast over the batch: [3,5,4]^T x [5,16], rhs read in place, lhs transposed",
      lambda: [randn(3, 5, 4), randn(5, 16)], bmm(adj_x=True),
      expect={"BATCH_MATMUL": dict(AdjX=True, AdjY=False)})
    T("bmm_rank3_adj_y", ["BATCH_MATMUL"], "adj_y: [2,3,4] x [2,5,4]^T",
      lambda: [randn(2, 3, 4), randn(2, 5, 4)], bmm(adj_y=True),
      expect={"BATCH_MATMUL": dict(AdjX=False, AdjY=True)})
    T("bmm_rank3_adj_xy", ["BATCH_MATMUL"], "adj_x and adj_y: [2,4,3]^T x [2,5,4]^T",
      lambda: [randn(2, 4, 3), randn(2, 5, 4)], bmm(True, True),
      expect={"BATCH_MATMUL": dict(AdjX=True, AdjY=True)})
    T("bmm_broadcast_4d_3d", ["BATCH_MATMUL"], "batch broadcasting [2,1,3,4] x [5,4,6] -> [2,5,3,6]",
      lambda: [randn(2, 1, 3, 4), randn(5, 4, 6)], bmm())
    T("bmm_rank4_adj_y", ["BATCH_MATMUL"], "rank 4 [1,2,3,4] x [1,2,6,4]^T (attention-style)",
      lambda: [randn(1, 2, 3, 4), randn(1, 2, 6, 4)], bmm(adj_y=True))


def _batch_matmul_views(tf):
    def heads_through_transposes(q, k, v):  # [1, 6, 2, 16] each: 2 heads of 16
        att = tf.matmul(tf.transpose(q, [0, 2, 1, 3]), tf.transpose(k, [0, 2, 3, 1]))
        return tf.transpose(tf.matmul(att, tf.transpose(v, [0, 2, 1, 3])), [0, 2, 1, 3])
    T("bmm_transposed_views_heads", ["BATCH_MATMUL", "TRANSPOSE"],
      "attention heads split and merged by TRANSPOSEs, all read and written as strided views: "
      "q per head rows 32 apart, k^T packed from its rows, v in place, the result merged",
      lambda: [randn(1, 6, 2, 16), randn(1, 6, 2, 16), randn(1, 6, 2, 16)], heads_through_transposes)
    T("bmm_transposed_lhs_bcast", ["BATCH_MATMUL", "TRANSPOSE"],
      "transpose([5,3,4], [1,0,2]) x [4,7], the result transposed [1,0,2]: lhs rows 12 apart and "
      "batches 4 apart, the rhs broadcast, the result's rows 21 apart and batches 7 apart",
      lambda: [randn(5, 3, 4), randn(4, 7)],
      lambda a, b: tf.transpose(tf.matmul(tf.transpose(a, [1, 0, 2]), b), [1, 0, 2]))


if __name__ == "__main__":
    sys.exit(family_main(__name__))
