#!/usr/bin/env python3
"""(Re)build the data-movement cases of tests/models/ops/: PAD, PADV2, MIRROR_PAD, RESHAPE,
SQUEEZE, EXPAND_DIMS, CONCATENATION, SPLIT, SPLIT_V, PACK, UNPACK, SLICE, STRIDED_SLICE,
TRANSPOSE, GATHER, TILE, BROADCAST_TO, DEPTH_TO_SPACE, SPACE_TO_DEPTH and the resizes.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names of op_build.FAMILIES["movement"] (pad_*, reshape_*, ss_*,
...): an unfiltered run rewrites their cases.json entries and deletes only their stale files.

Usage
  python3 tests/models/make_movement_models.py         # rebuild this family
  python3 tests/models/make_movement_models.py ss_ pad # only cases whose name contains one of these
  python3 tests/models/make_movement_models.py --list  # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import NONE, REFLECT, SYMMETRIC, H, T, W, ints, randn  # noqa: E402
from op_hand import HandModel, single_op  # noqa: E402

FAMILY = "movement"


def define():
    import tensorflow as tf
    _pads(tf)
    _reshapes(tf)
    _concat_split(tf)
    _pack_slice(tf)
    _strided_slices(tf)
    _transpose_gather(tf)
    _tile_space_depth(tf)
    _resize(tf)


def _pads(tf):
    T("pad_float_4d", ["PAD"], "PAD [1,4,5,3] paddings on H (1,2) and W (2,0)",
      lambda: [randn(1, 4, 5, 3)], lambda a: tf.pad(a, [[0, 0], [1, 2], [2, 0], [0, 0]]))
    T("pad_int32", ["PAD"], "PAD int32 2-D", lambda: [ints(-9, 9, 3, 4)],
      lambda a: tf.pad(a, [[1, 1], [0, 2]]))
    T("padv2_const_value", ["PADV2"], "PADV2 constant_values=1.5 4-D",
      lambda: [randn(1, 3, 4, 2)], lambda a: tf.pad(a, [[0, 0], [1, 1], [2, 1], [0, 0]], constant_values=1.5))
    T("mirror_pad_reflect", ["MIRROR_PAD"], "MIRROR_PAD REFLECT on H and W",
      lambda: [randn(1, 4, 5, 2)], lambda a: tf.pad(a, [[0, 0], [2, 1], [1, 3], [0, 0]], mode="REFLECT"),
      expect={"MIRROR_PAD": dict(Mode=REFLECT)})
    T("mirror_pad_symmetric", ["MIRROR_PAD"], "MIRROR_PAD SYMMETRIC on H and W",
      lambda: [randn(1, 4, 5, 2)], lambda a: tf.pad(a, [[0, 0], [2, 1], [1, 3], [0, 0]], mode="SYMMETRIC"),
      expect={"MIRROR_PAD": dict(Mode=SYMMETRIC)})


def _reshapes(tf):
    T("reshape_between_ops", ["RESHAPE", "MUL", "ADD"], "x*c -> RESHAPE [2,12]->[4,3,2] -> +c",
      lambda: [randn(2, 12)], lambda a: tf.reshape(a * W(12), [4, 3, 2]) + W(2))
    T("reshape_graph_io", ["RESHAPE"], "graph input RESHAPE'd straight to graph output [1,4,6]->[6,4]",
      lambda: [randn(1, 4, 6)], lambda a: tf.reshape(a, [6, 4]))
    T("reshape_output_of_conv", ["CONV_2D", "RESHAPE"], "conv -> RESHAPE as graph output [1,4,4,6]->[16,6]",
      lambda: [randn(1, 4, 4, 3)],
      lambda a: tf.reshape(tf.nn.conv2d(a, W(3, 3, 3, 6), 1, "SAME"), [16, 6]))

    def chain_hand(opname, x_shape, mid_shape, out_shape, opts=None, extra_in=None, **kw):
        def build():
            m = HandModel()
            x = m.input(x_shape)
            a = m.op("MUL", [x, m.const(W(x_shape[-1]))], [m.tensor(x_shape)], "MulOptions",
                     FusedActivationFunction=NONE)
            ins = [a] + ([m.const(extra_in)] if extra_in is not None else [])
            s = m.op(opname, ins, [m.tensor(mid_shape)], opts, **kw)
            m.output(m.op("ADD", [s, m.const(W(mid_shape[-1]))], [m.tensor(out_shape)], "AddOptions",
                          FusedActivationFunction=NONE))
            return m, [randn(*x_shape)]
        return build
    H("squeeze_axis1_between_ops", ["SQUEEZE", "MUL", "ADD"],
      "MUL -> SQUEEZE squeeze_dims [1] [2,1,5]->[2,5] -> ADD (converter turns SQUEEZE into RESHAPE)",
      chain_hand("SQUEEZE", (2, 1, 5), (2, 5), (2, 5), "SqueezeOptions", SqueezeDims=[1]))
    H("squeeze_all_unit_dims", ["SQUEEZE"], "SQUEEZE with empty squeeze_dims [1,3,1,4]->[3,4]",
      lambda: single_op("SQUEEZE", [randn(1, 3, 1, 4)], [[3, 4]], "SqueezeOptions"))
    H("expand_dims_axis1_between_ops", ["EXPAND_DIMS", "MUL", "ADD"],
      "MUL -> EXPAND_DIMS axis 1 [2,5]->[2,1,5] -> ADD (converter turns EXPAND_DIMS into RESHAPE)",
      chain_hand("EXPAND_DIMS", (2, 5), (2, 1, 5), (2, 1, 5), "ExpandDimsOptions",
                 extra_in=np.array(1, np.int32)))
    H("expand_dims_neg_axis", ["EXPAND_DIMS"], "EXPAND_DIMS axis -1 [3,4]->[3,4,1], int32 axis const",
      lambda: single_op("EXPAND_DIMS", [randn(3, 4), np.array([-1], np.int32)], [[3, 4, 1]],
                        "ExpandDimsOptions", consts=(1,)))
    H("reshape_new_shape_option_only", ["RESHAPE"],
      "RESHAPE with a single input and the target shape only in ReshapeOptions.new_shape (old style)",
      lambda: single_op("RESHAPE", [randn(2, 3, 4)], [[4, 6]], "ReshapeOptions", NewShape=[4, -1]))


def _concat_split(tf):
    for name, shapes, axis in [
        ("concat_axis0_3in", [(2, 3), (1, 3), (3, 3)], 0),
        ("concat_axis1_3in", [(2, 3), (2, 1), (2, 4)], 1),
        ("concat_4d_axis2", [(1, 2, 3, 2), (1, 2, 1, 2), (1, 2, 2, 2)], 2),
        ("concat_4d_axis3", [(1, 3, 3, 4), (1, 3, 3, 5)], 3),
        ("concat_axis_neg1_3d", [(2, 3, 1), (2, 3, 4), (2, 3, 2)], -1),
    ]:
        T(name, ["CONCATENATION"], f"{len(shapes)} inputs {[list(s) for s in shapes]} axis {axis}",
          (lambda shapes=shapes: [randn(*s) for s in shapes]),
          (lambda *a, axis=axis: tf.concat(list(a), axis)))

    T("split_3way_axis_neg1", ["SPLIT"], "SPLIT [3,6] into 3 on axis -1",
      lambda: [randn(3, 6)], lambda a: tf.split(a, 3, axis=-1), expect={"SPLIT": dict(NumSplits=3)})
    T("split_v_minus1", ["SPLIT_V"], "SPLIT_V sizes [1,-1,2] axis 1 of [3,7]",
      lambda: [randn(3, 7)], lambda a: tf.split(a, [1, -1, 2], axis=1))
    T("split_v_axis0", ["SPLIT_V"], "SPLIT_V sizes [2,3] axis 0 of [5,4]",
      lambda: [randn(5, 4)], lambda a: tf.split(a, [2, 3], axis=0))


def _pack_slice(tf):
    T("pack_axis0_2in", ["PACK"], "PACK 2 x [3,4] axis 0", lambda: [randn(3, 4), randn(3, 4)],
      lambda a, b: tf.stack([a, b], 0), expect={"PACK": dict(Axis=0, ValuesCount=2)})
    T("pack_axis1_3in", ["PACK"], "PACK 3 x [3,4] axis 1",
      lambda: [randn(3, 4), randn(3, 4), randn(3, 4)], lambda a, b, c: tf.stack([a, b, c], 1))
    T("unpack_axis0", ["UNPACK"], "UNPACK [3,4] axis 0", lambda: [randn(3, 4)],
      lambda a: tf.unstack(a, axis=0), expect={"UNPACK": dict(Num=3, Axis=0)})
    T("unpack_axis1", ["UNPACK"], "UNPACK [3,4,2] axis 1", lambda: [randn(3, 4, 2)],
      lambda a: tf.unstack(a, axis=1))

    T("slice_2d_minus1", ["SLICE"], "SLICE [3,5] begin [0,1] size [-1,2]", lambda: [randn(3, 5)],
      lambda a: tf.slice(a, [0, 1], [-1, 2]))
    T("slice_4d", ["SLICE"], "SLICE [1,5,6,4] begin [0,1,2,1] size [1,3,-1,2]",
      lambda: [randn(1, 5, 6, 4)], lambda a: tf.slice(a, [0, 1, 2, 1], [1, 3, -1, 2]))


def _strided_slices(tf):
    for name, x, f, why in [
        ("ss_shrink_axis", (4, 5, 6), lambda a: a[:, 2, 1:4], "x[:, 2, 1:4] (shrink_axis_mask)"),
        ("ss_neg_stride", (4, 6), lambda a: a[::-1, 4:0:-2], "x[::-1, 4:0:-2] (negative strides)"),
        ("ss_neg_indices", (5, 6), lambda a: a[-3:-1, -4:], "x[-3:-1, -4:] (negative indices)"),
        ("ss_4d_mixed", (1, 6, 7, 5), lambda a: a[:, 1:5, ::2, 1:], "x[:, 1:5, ::2, 1:] 4-D"),
        ("ss_ellipsis", (2, 3, 4, 5), lambda a: a[..., 1:3],
         "x[..., 1:3] (converter expands the ellipsis into begin/end masks)"),
        ("ss_new_axis", (3, 4), lambda a: a[:, tf.newaxis, 1:3],
         "x[:, newaxis, 1:3] (converter emits RESHAPE + STRIDED_SLICE)"),
    ]:
        T(name, ["STRIDED_SLICE"], why, (lambda x=x: [randn(*x)]), f)

    def ss_hand(x_shape, begin, end, strides, out_shape, **kw):
        return lambda: single_op("STRIDED_SLICE",
                                 [randn(*x_shape), np.array(begin, np.int32), np.array(end, np.int32),
                                  np.array(strides, np.int32)], [out_shape], "StridedSliceOptions",
                                 consts=(1, 2, 3), **kw)
    H("ss_offset", ["STRIDED_SLICE"], "offset=true: end = begin + end; [4,6] begin [1,2] end(offset) [2,3] stride [1,1]",
      ss_hand((4, 6), [1, 2], [2, 3], [1, 1], [2, 3], Offset=True), expect={"STRIDED_SLICE": dict(Offset=True)})
    H("ss_ellipsis_mask", ["STRIDED_SLICE"], "explicit ellipsis_mask: x[1:, ..., ::2] on [3,2,4,5]",
      ss_hand((3, 2, 4, 5), [1, 0, 0], [3, 0, 5], [1, 1, 2], [2, 2, 4, 3], EllipsisMask=2),
      expect={"STRIDED_SLICE": dict(EllipsisMask=2)})
    H("ss_new_axis_mask", ["STRIDED_SLICE"], "explicit new_axis_mask: x[newaxis, 1:3, :] on [4,5]",
      ss_hand((4, 5), [0, 1, 0], [0, 3, 5], [1, 1, 1], [1, 2, 5], NewAxisMask=1, EndMask=4),
      expect={"STRIDED_SLICE": dict(NewAxisMask=1)})


def _transpose_gather(tf):
    for name, x, perm in [
        ("transpose_2d", (3, 5), [1, 0]),
        ("transpose_3d", (2, 3, 4), [2, 0, 1]),
        ("transpose_4d_nhwc_to_nchw", (1, 3, 4, 5), [0, 3, 1, 2]),
        ("transpose_5d", (2, 3, 1, 4, 2), [4, 1, 0, 3, 2]),
    ]:
        T(name, ["TRANSPOSE"], f"{list(x)} perm {perm}", (lambda x=x: [randn(*x)]),
          (lambda a, perm=perm: tf.transpose(a, perm)))

    T("gather_axis0_int32", ["GATHER"], "params [5,4], indices int32 [3] (repeats), axis 0",
      lambda: [randn(5, 4), np.array([4, 0, 4], np.int32)], lambda p, i: tf.gather(p, i, axis=0),
      expect={"GATHER": dict(Axis=0)})
    T("gather_axis1_int64", ["GATHER"], "params [3,6,2], indices int64 [4], axis 1",
      lambda: [randn(3, 6, 2), ints(0, 5, 4, dtype=np.int64)], lambda p, i: tf.gather(p, i, axis=1),
      expect={"GATHER": dict(Axis=1)})
    T("gather_batch_dims1", ["GATHER"], "params [2,5,3], indices int32 [2,4], axis 1, batch_dims 1",
      lambda: [randn(2, 5, 3), ints(0, 4, 2, 4)], lambda p, i: tf.gather(p, i, axis=1, batch_dims=1),
      expect={"GATHER": dict(Axis=1, BatchDims=1)})
    T("gather_2d_indices", ["GATHER"], "params [6,4], indices int32 [2,3], axis 0 -> [2,3,4]",
      lambda: [randn(6, 4), ints(0, 5, 2, 3)], lambda p, i: tf.gather(p, i, axis=0))


def _tile_space_depth(tf):
    T("tile_2d", ["TILE"], "[2,3] multiples [2,3]", lambda: [randn(2, 3)], lambda a: tf.tile(a, [2, 3]))
    T("broadcast_to_rank_up", ["BROADCAST_TO"], "[2,1] -> [3,2,4]", lambda: [randn(2, 1)],
      lambda a: tf.broadcast_to(a, [3, 2, 4]))
    T("broadcast_to_4d", ["BROADCAST_TO"], "[1,3,1,2] -> [2,3,4,2]", lambda: [randn(1, 3, 1, 2)],
      lambda a: tf.broadcast_to(a, [2, 3, 4, 2]))

    T("depth_to_space_b2", ["DEPTH_TO_SPACE"], "block 2 [1,2,3,8] -> [1,4,6,2]", lambda: [randn(1, 2, 3, 8)],
      lambda a: tf.nn.depth_to_space(a, 2), expect={"DEPTH_TO_SPACE": dict(BlockSize=2)})
    T("depth_to_space_b3", ["DEPTH_TO_SPACE"], "block 3 [1,2,2,18] -> [1,6,6,2]",
      lambda: [randn(1, 2, 2, 18)], lambda a: tf.nn.depth_to_space(a, 3))
    T("space_to_depth_b2", ["SPACE_TO_DEPTH"], "block 2 [1,4,6,3] -> [1,2,3,12]", lambda: [randn(1, 4, 6, 3)],
      lambda a: tf.nn.space_to_depth(a, 2), expect={"SPACE_TO_DEPTH": dict(BlockSize=2)})
    T("space_to_depth_b3", ["SPACE_TO_DEPTH"], "block 3 [1,6,3,2] -> [1,2,1,18]", lambda: [randn(1, 6, 3, 2)],
      lambda a: tf.nn.space_to_depth(a, 3))


def _resize(tf):
    for op, tfop in (("RESIZE_BILINEAR", tf.compat.v1.image.resize_bilinear),
                     ("RESIZE_NEAREST_NEIGHBOR", tf.compat.v1.image.resize_nearest_neighbor)):
        short = "resize_bilinear" if op == "RESIZE_BILINEAR" else "resize_nearest"
        for tag, x, size, ac, hp in [
            ("up2x_plain", (1, 3, 4, 2), (6, 8), False, False),
            ("up_align_corners", (1, 3, 4, 2), (7, 5), True, False),
            ("up_half_pixel_nonint", (1, 3, 4, 2), (5, 7), False, True),
            ("down_plain_nonint", (1, 6, 8, 2), (4, 5), False, False),
            ("down_half_pixel", (1, 8, 8, 3), (3, 5), False, True),
        ]:
            T(f"{short}_{tag}", [op],
              f"{list(x[1:3])} -> {list(size)} align_corners={ac} half_pixel_centers={hp}",
              (lambda x=x: [randn(*x)]),
              (lambda a, tfop=tfop, size=size, ac=ac, hp=hp: tfop(a, size, align_corners=ac, half_pixel_centers=hp)),
              expect={op: dict(AlignCorners=ac, HalfPixelCenters=hp)})


if __name__ == "__main__":
    sys.exit(family_main(__name__))
