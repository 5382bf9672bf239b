#!/usr/bin/env python3
"""(Re)build the extra single-op test models in tests/models/extra/.

These cover attribute combinations that tests/models/ops/ (make_op_models.py) lacks. The
machinery is make_op_models.py's: cases are registered with its `T` (TensorFlow function,
converted with TFLiteConverter) and `H` (hand-built flatbuffer, for what the converter
never emits: STRIDED_SLICE `offset`, explicit ellipsis/new-axis masks, negative
batch_dims, quantized int8/uint8 tensors), and written and checked by its `run_case`
(target op present, runs in the TFLite interpreter, non-trivial output), only into
extra/ instead of ops/. Each case writes <case>.tflite, <case>.npz (input_0, ...) and an
entry in extra/cases.json; entries of cases not rebuilt are kept.

Usage
  python3 tests/models/make_extra_models.py            # rebuild every case
  python3 tests/models/make_extra_models.py ss_ gather # only cases whose name contains these
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_op_models as mop  # noqa: E402
from make_op_models import H, T, bools, ints, randn, single_op  # noqa: E402

OUT_DIR = HERE / "extra"
I32, I64 = np.int32, np.int64


def ss_hand(x, begin, end, strides, out_shape, **masks):
    """A STRIDED_SLICE of input x with constant begin/end/strides and the given options."""
    return lambda: single_op("STRIDED_SLICE", [x(), np.array(begin, I32), np.array(end, I32),
                                               np.array(strides, I32)], [out_shape],
                             "StridedSliceOptions", consts=(1, 2, 3),
                             out_dtypes=[x().dtype], **masks)


def const_then_add(opname, const_inputs, mid_shape, opts=None, **kw):
    """out = OP(constants...) + x: the op is folded at generation time (evaluate hooks)."""
    def build():
        m = mop.HandModel()
        x = m.input(mid_shape)
        mid = m.op(opname, [m.const(a) for a in const_inputs], [m.tensor(mid_shape)], opts, **kw)
        m.output(m.op("ADD", [mid, x], [m.tensor(mid_shape)], "AddOptions",
                      FusedActivationFunction=mop.NONE))
        return m, [randn(*mid_shape)]
    return build


def resize_quant(opname, dtype, x_shape, size, **flags):
    """A resize of a quantized int8/uint8 image (same scale and zero point in and out)."""
    def build():
        m = mop.HandModel()
        lo, hi = (-128, 127) if dtype == np.int8 else (0, 255)
        x = m.input(x_shape, dtype, quant=(0.1, 3))
        out = m._tensor([x_shape[0], *size, x_shape[3]], dtype, quant=(0.1, 3))
        opts = "ResizeBilinearOptions" if opname == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
        m.output(m.op(opname, [x, m.const(np.array(size, I32))], [out], opts, **flags))
        return m, [ints(lo, hi, *x_shape, dtype=dtype)]
    return build


def define_cases():  # noqa: C901  (a long, flat table)
    import tensorflow as tf

    # ------------------------------------------------------------- STRIDED_SLICE
    T("ss_begin_end_masks_neg_strides", ["STRIDED_SLICE"], "x[::-2, 3::-1, 1:] on [5,6,4]",
      lambda: [randn(5, 6, 4)], lambda a: a[::-2, 3::-1, 1:])
    T("ss_clamped_out_of_range", ["STRIDED_SLICE"], "x[-10:10, 7:1:-3] on [4,6] (clamping)",
      lambda: [randn(4, 6)], lambda a: tf.strided_slice(a, [-10, 7], [10, 1], [1, -3]))
    T("ss_shrink_negative", ["STRIDED_SLICE"], "x[-1, :, -2] on [3,4,5] (shrink, negative)",
      lambda: [randn(3, 4, 5)], lambda a: a[-1, :, -2])
    T("ss_5d_int32", ["STRIDED_SLICE"], "int32 x[:, 1:, ::-1, 0, 1:3] on [2,3,4,2,5]",
      lambda: [ints(-50, 50, 2, 3, 4, 2, 5)], lambda a: a[:, 1:, ::-1, 0, 1:3])
    T("ss_bool_step3", ["STRIDED_SLICE"], "bool x[1::3, ::2] on [7,5]",
      lambda: [bools(7, 5)], lambda a: a[1::3, ::2])
    H("ss_offset_negative_begin", ["STRIDED_SLICE"],
      "offset=true, begin [-3, 1], end(offset) [2, 4], strides [1, 2] on [5,7]",
      ss_hand(lambda: randn(5, 7), [-3, 1], [2, 4], [1, 2], [2, 2], Offset=True))
    H("ss_offset_begin_mask", ["STRIDED_SLICE"],
      "offset=true with begin_mask on axis 1: begin [1, 9], end(offset) [3, 3] on [5,7]",
      ss_hand(lambda: randn(5, 7), [1, 9], [3, 3], [1, 1], [3, 3], Offset=True, BeginMask=2))
    H("ss_ellipsis_newaxis_shrink", ["STRIDED_SLICE"],
      "x[newaxis, ..., 1, 1:4:2] on [2,3,4,5] (new-axis + ellipsis + shrink masks)",
      ss_hand(lambda: randn(2, 3, 4, 5), [0, 0, 1, 1], [0, 0, 2, 4], [1, 1, 1, 2], [1, 2, 3, 2],
              NewAxisMask=1, EllipsisMask=2, ShrinkAxisMask=4))
    H("ss_short_spec", ["STRIDED_SLICE"], "spec shorter than rank: x[1:3] on [4,3,2]",
      ss_hand(lambda: randn(4, 3, 2), [1], [3], [1], [2, 3, 2]))

    # ------------------------------------------------------------ SLICE / SPLIT
    T("slice_bool_int64_begin", ["SLICE"], "bool [4,5,3], int64 begin [1,0,1] size [2,-1,2]",
      lambda: [bools(4, 5, 3)],
      lambda a: tf.slice(a, tf.constant([1, 0, 1], tf.int64), tf.constant([2, -1, 2], tf.int64)))
    T("split_int32_4d_axis1", ["SPLIT"], "int32 [2,6,3,2] into 3 on axis 1",
      lambda: [ints(-9, 9, 2, 6, 3, 2)], lambda a: tf.split(a, 3, axis=1))
    T("split_v_neg_axis", ["SPLIT_V"], "SPLIT_V sizes [3,-1,1] axis -2 of [2,7,3]",
      lambda: [randn(2, 7, 3)], lambda a: tf.split(a, [3, -1, 1], axis=-2))

    # -------------------------------------------------------------- PACK / UNPACK
    T("pack_int32_last_axis", ["PACK"], "PACK 3 x int32 [2,3] axis -1",
      lambda: [ints(-9, 9, 2, 3), ints(-9, 9, 2, 3), ints(-9, 9, 2, 3)],
      lambda a, b, c: tf.stack([a, b, c], axis=-1))
    T("unpack_neg_axis", ["UNPACK"], "UNPACK [2,3,4] axis -1", lambda: [randn(2, 3, 4)],
      lambda a: tf.unstack(a, axis=-1))

    # -------------------------------------------------------------------- GATHER
    T("gather_const_table", ["GATHER"], "constant [10,4] table, int32 indices [2,3] from input",
      lambda: [ints(0, 9, 2, 3)],
      lambda i: tf.gather(tf.constant(np.arange(40, dtype=np.float32).reshape(10, 4) / 7), i))
    T("gather_batch_dims2_axis3", ["GATHER"],
      "params [2,3,5,2], int64 indices [2,3,4], axis 2, batch_dims 2",
      lambda: [randn(2, 3, 5, 2), ints(0, 4, 2, 3, 4, dtype=I64)],
      lambda p, i: tf.gather(p, i, axis=2, batch_dims=2))
    T("gather_scalar_index_int32", ["GATHER"], "int32 params [4,3,2], scalar index, axis 1",
      lambda: [ints(-9, 9, 4, 3, 2), np.array(2, I32)], lambda p, i: tf.gather(p, i, axis=1))
    H("gather_neg_batch_dims", ["GATHER"], "params [2,6,3], indices [2,4], axis -2, batch_dims -1",
      lambda: single_op("GATHER", [randn(2, 6, 3), ints(0, 5, 2, 4)], [[2, 4, 3]],
                        "GatherOptions", Axis=-2, BatchDims=-1))
    T("gather_bool", ["GATHER"], "bool params [5,3], indices [4], axis 0",
      lambda: [bools(5, 3), ints(0, 4, 4)], lambda p, i: tf.gather(p, i))

    # ---------------------------------------------------------- TILE / BROADCAST
    T("tile_4d_all_axes", ["TILE"], "[2,3,2,3] multiples [2,2,3,2] (8-d copy space)",
      lambda: [randn(2, 3, 2, 3)], lambda a: tf.tile(a, [2, 2, 3, 2]))
    T("tile_int32_int64_multiples", ["TILE"], "int32 [3,1,2] multiples int64 [1,4,2]",
      lambda: [ints(-9, 9, 3, 1, 2)], lambda a: tf.tile(a, tf.constant([1, 4, 2], tf.int64)))
    T("broadcast_to_5d_int32", ["BROADCAST_TO"], "int32 [3,1,2,1] -> [2,3,4,2,3]",
      lambda: [ints(-9, 9, 3, 1, 2, 1)], lambda a: tf.broadcast_to(a, [2, 3, 4, 2, 3]))

    # ------------------------------------------------------------ spatial remaps
    T("depth_to_space_batch2", ["DEPTH_TO_SPACE"], "block 2 [2,3,2,12] -> [2,6,4,3]",
      lambda: [randn(2, 3, 2, 12)], lambda a: tf.nn.depth_to_space(a, 2))
    T("space_to_depth_batch2", ["SPACE_TO_DEPTH"], "block 2 [2,4,6,3] -> [2,2,3,12]",
      lambda: [randn(2, 4, 6, 3)], lambda a: tf.nn.space_to_depth(a, 2))
    T("mirror_pad_reflect_max_3axes", ["MIRROR_PAD"], "REFLECT [2,4,3,3] pads up to dim-1 on 3 axes",
      lambda: [randn(2, 4, 3, 3)],
      lambda a: tf.pad(a, [[1, 0], [3, 2], [0, 2], [2, 1]], mode="REFLECT"))
    T("mirror_pad_symmetric_full_int32", ["MIRROR_PAD"], "SYMMETRIC int32 [3,4] pads [[3,2],[4,4]]",
      lambda: [ints(-9, 9, 3, 4)], lambda a: tf.pad(a, [[3, 2], [4, 4]], mode="SYMMETRIC"))
    T("mirror_pad_int64_paddings", ["MIRROR_PAD"], "REFLECT [1,5,4,2] int64 paddings",
      lambda: [randn(1, 5, 4, 2)],
      lambda a: tf.pad(a, tf.constant([[0, 0], [2, 2], [1, 3], [0, 0]], tf.int64), mode="REFLECT"))

    # ------------------------------------------------------------------ resizing
    T("resize_bilinear_align_down_batch2", ["RESIZE_BILINEAR"], "[2,7,9,3] -> [4,5] align_corners",
      lambda: [randn(2, 7, 9, 3)],
      lambda a: tf.compat.v1.image.resize_bilinear(a, [4, 5], align_corners=True))
    T("resize_bilinear_half_pixel_1x1", ["RESIZE_BILINEAR"], "[1,1,3,2] -> [3,5] half_pixel_centers",
      lambda: [randn(1, 1, 3, 2)],
      lambda a: tf.compat.v1.image.resize_bilinear(a, [3, 5], half_pixel_centers=True))
    T("resize_nearest_half_pixel_down", ["RESIZE_NEAREST_NEIGHBOR"], "[1,9,7,2] -> [4,3] half_pixel",
      lambda: [randn(1, 9, 7, 2)],
      lambda a: tf.compat.v1.image.resize_nearest_neighbor(a, [4, 3], half_pixel_centers=True))
    T("resize_nearest_align_down", ["RESIZE_NEAREST_NEIGHBOR"], "[2,7,5,1] -> [3,4] align_corners",
      lambda: [randn(2, 7, 5, 1)],
      lambda a: tf.compat.v1.image.resize_nearest_neighbor(a, [3, 4], align_corners=True))
    H("resize_nearest_int8", ["RESIZE_NEAREST_NEIGHBOR"], "int8 [1,3,5,2] -> [7,4] half_pixel",
      resize_quant("RESIZE_NEAREST_NEIGHBOR", np.int8, (1, 3, 5, 2), [7, 4], HalfPixelCenters=True))
    H("resize_nearest_uint8", ["RESIZE_NEAREST_NEIGHBOR"], "uint8 [1,5,3,2] -> [7,11] (fixed point)",
      resize_quant("RESIZE_NEAREST_NEIGHBOR", np.uint8, (1, 5, 3, 2), [7, 11]))
    # 26 -> 22 rows: row 11 maps to 11 * 26 / 22 = 13 exactly; float32 gives 12.999 -> 12,
    # uint8's fixed-point scale gives 13
    H("resize_nearest_uint8_fixed_point_row", ["RESIZE_NEAREST_NEIGHBOR"], "uint8 [1,26,3,1] -> [22,5]",
      resize_quant("RESIZE_NEAREST_NEIGHBOR", np.uint8, (1, 26, 3, 1), [22, 5]))
    T("resize_nearest_float_rounding_row", ["RESIZE_NEAREST_NEIGHBOR"], "float [1,26,3,1] -> [22,5]",
      lambda: [randn(1, 26, 3, 1)], lambda a: tf.compat.v1.image.resize_nearest_neighbor(a, [22, 5]))
    for tag, x, size, flags in [("up_half_pixel", (1, 3, 4, 2), [7, 9], dict(HalfPixelCenters=True)),
                                ("down_align", (2, 7, 6, 3), [3, 4], dict(AlignCorners=True)),
                                ("plain_nonint", (1, 4, 5, 2), [6, 3], {})]:
        H(f"resize_bilinear_int8_{tag}", ["RESIZE_BILINEAR"], f"int8 {list(x)} -> {size} {flags}",
          resize_quant("RESIZE_BILINEAR", np.int8, x, size, **flags))

    # ----------------------------------------------- constant folding (evaluate hooks)
    H("fold_strided_slice", ["STRIDED_SLICE", "ADD"], "const[::-1, 1::2] + x",
      const_then_add("STRIDED_SLICE", [np.arange(24, dtype=np.float32).reshape(4, 6),
                                       np.array([0, 1], I32), np.array([0, 0], I32),
                                       np.array([-1, 2], I32)], [4, 3], "StridedSliceOptions",
                     BeginMask=1, EndMask=3))
    H("fold_mirror_pad", ["MIRROR_PAD", "ADD"], "MIRROR_PAD(const, SYMMETRIC) + x",
      const_then_add("MIRROR_PAD", [np.arange(6, dtype=np.float32).reshape(2, 3),
                                    np.array([[2, 1], [1, 3]], I32)], [5, 7], "MirrorPadOptions",
                     Mode=mop.SYMMETRIC))
    H("fold_gather", ["GATHER", "ADD"], "GATHER(const, const indices, axis 1) + x",
      const_then_add("GATHER", [np.arange(12, dtype=np.float32).reshape(3, 4),
                                np.array([3, 0, 3], I32)], [3, 3], "GatherOptions", Axis=1))
    H("fold_depth_to_space", ["DEPTH_TO_SPACE", "ADD"], "DEPTH_TO_SPACE(const) + x",
      const_then_add("DEPTH_TO_SPACE", [np.arange(16, dtype=np.float32).reshape(1, 1, 2, 8)],
                     [1, 2, 4, 2], "DepthToSpaceOptions", BlockSize=2))
    H("fold_resize_nearest", ["RESIZE_NEAREST_NEIGHBOR", "ADD"], "RESIZE_NEAREST(const) + x",
      const_then_add("RESIZE_NEAREST_NEIGHBOR", [np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2),
                                                 np.array([5, 3], I32)], [1, 5, 3, 2],
                     "ResizeNearestNeighborOptions", HalfPixelCenters=True))

    # ------------------------------------- SELECT, normalizations, SHAPE/FILL/ZEROS_LIKE
    def one_op(opname, feeds, out_shape, out_dtype=np.float32, opts=None, consts=(),
               in_quant=None, out_quant=None, **kw):
        """A one-op model whose first input / output may carry (scale, zero_point)."""
        def build():
            m = mop.HandModel()
            arrays = feeds()
            ins = [m.const(a) if i in consts else
                   m.input(a.shape, a.dtype, quant=in_quant if i == 0 else None)
                   for i, a in enumerate(arrays)]
            out = m._tensor(out_shape, out_dtype, quant=out_quant)
            m.output(m.op(opname, ins, [out], opts, **kw))
            return m, [a for i, a in enumerate(arrays) if i not in consts]
        return build

    H("select_v1_rank1_cond", ["SELECT"], "SELECT cond [3] picks whole rows of x, y [3,2,4]",
      one_op("SELECT", lambda: [np.array([True, False, True]), randn(3, 2, 4), randn(3, 2, 4)],
             [3, 2, 4], opts="SelectOptions"))
    H("select_v1_scalar_cond", ["SELECT"], "SELECT scalar cond over int8 x, y [2,3]",
      one_op("SELECT", lambda: [np.array(False), ints(-9, 9, 2, 3, dtype=np.int8),
                                ints(-9, 9, 2, 3, dtype=np.int8)], [2, 3], np.int8,
             opts="SelectOptions"))
    T("select_v2_bool_values", ["SELECT_V2"], "SELECT_V2 bool values x [3,1] y [4], cond [3,4]",
      lambda: [bools(3, 4), bools(3, 1), bools(4)], tf.where)
    T("select_v2_5d_int32", ["SELECT_V2"], "SELECT_V2 int32 cond [2,1,3,1,2] x [1,2,1,2,1] y [2,2,3,2,2]",
      lambda: [bools(2, 1, 3, 1, 2), ints(-50, 50, 1, 2, 1, 2, 1), ints(-50, 50, 2, 2, 3, 2, 2)],
      tf.where)
    H("select_v2_6d", ["SELECT_V2"], "SELECT_V2 6-D: cond [2,1,2,1,2,1] x [1,2,1,2,1,2] y [2,1,2,2,2,2]",
      one_op("SELECT_V2", lambda: [bools(2, 1, 2, 1, 2, 1), randn(1, 2, 1, 2, 1, 2),
                                   randn(2, 1, 2, 2, 2, 2)], [2, 2, 2, 2, 2, 2],
             opts="SelectV2Options"))
    T("select_v2_scalar_x", ["SELECT_V2"], "SELECT_V2 cond [2,5], x a scalar constant, y [1,5]",
      lambda: [bools(2, 5), randn(1, 5)], lambda c, y: tf.where(c, 7.5, y))
    T("l2_normalization_tiny_rows", ["L2_NORMALIZATION"],
      "l2_normalize [4,6] with a zero row and a 1e-8 row (the epsilon floor)",
      lambda: [np.concatenate([np.zeros((1, 6)), 1e-8 * randn(1, 6), randn(2, 6)]).astype(np.float32)],
      lambda a: tf.math.l2_normalize(a, -1))
    T("lrn_r3_depth5", ["LOCAL_RESPONSE_NORMALIZATION"], "LRN radius 3 on depth 5 (window clipped both sides)",
      lambda: [randn(1, 2, 2, 5)], lambda a: tf.nn.local_response_normalization(a, 3, 1.0, 0.5, 0.75))
    T("lrn_beta1", ["LOCAL_RESPONSE_NORMALIZATION"], "LRN radius 1 bias 2 alpha 0.1 beta 1, batch 2",
      lambda: [randn(2, 3, 3, 7)], lambda a: tf.nn.local_response_normalization(a, 1, 2.0, 0.1, 1.0))
    T("lrn_beta_half", ["LOCAL_RESPONSE_NORMALIZATION"], "LRN radius 2 bias 1 alpha 0.2 beta 0.5",
      lambda: [randn(1, 4, 4, 9)], lambda a: tf.nn.local_response_normalization(a, 2, 1.0, 0.2, 0.5))

    def shape_of_computed():
        m = mop.HandModel()
        x = m.input((2, 3, 4))
        y = m.op("ADD", [x, x], [m.tensor((2, 3, 4))], "AddOptions")
        m.output(m.op("SHAPE", [y], [m._tensor((3,), I64)], "ShapeOptions", OutType=4))
        m.output(y)
        return m, [randn(2, 3, 4)]
    H("shape_of_computed", ["SHAPE", "ADD"], "SHAPE (int64) of an ADD output", shape_of_computed,
      allow_const=True)
    H("fill_int32_input_value", ["FILL"], "FILL dims [3,4] with an int32 graph-input scalar",
      one_op("FILL", lambda: [np.array([3, 4], I32), np.array(-7, I32)], [3, 4], I32, consts=(0,)),
      allow_const=True)
    H("fill_bool_input_value", ["FILL"], "FILL int64 dims [2,2,3] with a bool graph-input scalar",
      one_op("FILL", lambda: [np.array([2, 2, 3], I64), np.array(True)], [2, 2, 3], np.bool_,
             consts=(0,)), allow_const=True)
    H("zeros_like_int32", ["ZEROS_LIKE"], "ZEROS_LIKE of an int32 graph input",
      one_op("ZEROS_LIKE", lambda: [ints(-5, 5, 3, 4)], [3, 4], I32, opts="ZerosLikeOptions"),
      allow_const=True)
    H("zeros_like_int64", ["ZEROS_LIKE"], "ZEROS_LIKE of an int64 graph input",
      one_op("ZEROS_LIKE", lambda: [ints(-5, 5, 2, 5, dtype=I64)], [2, 5], I64,
             opts="ZerosLikeOptions"), allow_const=True)

    # ----------------------------------------------- DEQUANTIZE (computed input), QUANTIZE
    H("dequantize_uint8_input", ["DEQUANTIZE"], "DEQUANTIZE uint8 input, scale 0.1, zp 128",
      one_op("DEQUANTIZE", lambda: [ints(0, 255, 4, 8, dtype=np.uint8)], [4, 8], in_quant=(0.1, 128)))
    H("dequantize_int16_input", ["DEQUANTIZE"], "DEQUANTIZE int16 input, scale 0.001, zp 0",
      one_op("DEQUANTIZE", lambda: [ints(-32768, 32767, 4, 8, dtype=np.int16)], [4, 8],
             in_quant=(0.001, 0)))
    H("dequantize_float16_special", ["DEQUANTIZE"], "DEQUANTIZE float16: subnormals, -0, +-65504",
      one_op("DEQUANTIZE", lambda: [np.concatenate([
          np.array([0.0, -0.0, 6e-8, -6e-8, 3e-5, 65504, -65504, 1e-4], np.float16),
          randn(8).astype(np.float16)]).reshape(2, 8)], [2, 8]))

    def ties():  # multiples of 0.125: exact .5 ties at scale 0.25, and values to clamp
        return [np.concatenate([np.arange(-6, 6.5, 0.5, dtype=np.float32) * 0.25,
                                np.array([-100, 100, 1e5, -1e5], np.float32),
                                randn(7, scale=4)]).reshape(4, 9)]
    for name, dtype, zp in (("int8", np.int8, -3), ("uint8", np.uint8, 128), ("int16", np.int16, 0)):
        H(f"quantize_{name}_ties", ["QUANTIZE"], f"QUANTIZE float -> {name}, scale 0.25 zp {zp}: "
          ".5 ties round away from zero, clamping", one_op("QUANTIZE", ties, [4, 9], dtype,
                                                          out_quant=(0.25, zp)))
    def near_ties():  # (k + 0.5) * 0.1 and both float neighbours: x / 0.1 != x * (1 / 0.1)
        x = ((np.arange(-40, 40) + 0.5) * np.float32(0.1)).astype(np.float32)
        return [np.stack([x, np.nextafter(x, np.float32(9)), np.nextafter(x, np.float32(-9))])]
    H("quantize_int8_near_ties", ["QUANTIZE"], "QUANTIZE float -> int8, scale 0.1 zp 5, values "
      "at and next to (k + 0.5) * scale", one_op("QUANTIZE", near_ties, [3, 80], np.int8,
                                                 out_quant=(0.1, 5)))

    # ------------------------- audit: integer DIV / POW, FLOOR_DIV / FLOOR_MOD signs, CAST
    def nonzero(*shape, lo=-6, hi=6):
        v = ints(lo, hi, *shape)
        return np.where(v == 0, 1, v).astype(I32)
    T("div_int32_signs", ["DIV"], "DIV int32 mixed signs (TFLite truncates toward zero)",
      lambda: [ints(-20, 20, 4, 6), nonzero(4, 6)], lambda a, b: tf.raw_ops.Div(x=a, y=b))
    T("pow_int32", ["POW"], "POW int32 base [-4,4], exponent [0,6]",
      lambda: [ints(-4, 4, 3, 7), ints(0, 6, 3, 7)], tf.math.pow)
    T("floor_div_int32_signs", ["FLOOR_DIV"], "FLOOR_DIV int32 mixed signs, [4,6] x [6]",
      lambda: [ints(-20, 20, 4, 6), nonzero(6, lo=-5, hi=5)], tf.math.floordiv)
    T("floor_div_float_signs", ["FLOOR_DIV"], "FLOOR_DIV float mixed signs incl. exact multiples",
      lambda: [np.round(randn(4, 6, scale=6)), np.array([-2, -1.5, 0.5, 1, 2, 3], np.float32)],
      tf.math.floordiv)
    T("floor_mod_int32_signs", ["FLOOR_MOD"], "FLOOR_MOD int32 mixed signs",
      lambda: [ints(-20, 20, 4, 6), nonzero(4, 6, lo=-5, hi=5)], tf.math.floormod)
    T("floor_mod_float_signs", ["FLOOR_MOD"], "FLOOR_MOD float mixed signs",
      lambda: [randn(4, 6, scale=6), np.array([-2, -1.5, 0.5, 1, 2.5, -3], np.float32)],
      tf.math.floormod)
    T("cast_float_to_int64", ["CAST"], "CAST float -> int64 (truncation, negatives)",
      lambda: [randn(3, 6, scale=4)], lambda a: tf.cast(a, tf.int64))
    T("cast_int32_to_bool", ["CAST"], "CAST int32 -> bool", lambda: [ints(-2, 2, 3, 6)],
      lambda a: tf.cast(a, tf.bool))

    # ---------- audit: integer MEAN, keep_dims, several / negative axes, ARG_MAX/MIN ties
    T("mean_int32_trunc", ["MEAN"], "MEAN int32 axis 1, mixed signs (integer division)",
      lambda: [ints(-9, 9, 4, 5)], lambda a: tf.reduce_mean(a, 1))
    T("mean_keepdims_neg_axes", ["MEAN"], "MEAN axes [-1, 1] keep_dims of [2,3,4,5]",
      lambda: [randn(2, 3, 4, 5)], lambda a: tf.reduce_mean(a, [-1, 1], keepdims=True))
    T("sum_axes_0_2", ["SUM"], "SUM axes [0, 2] of [3,4,5,2]",
      lambda: [randn(3, 4, 5, 2)], lambda a: tf.reduce_sum(a, [0, 2]))
    T("sum_int32_all_axes", ["SUM"], "SUM of int32 [3,4] over all axes -> scalar",
      lambda: [ints(-9, 9, 3, 4)], lambda a: tf.reduce_sum(a, [0, 1]))
    T("reduce_prod_keepdims", ["REDUCE_PROD"], "REDUCE_PROD axis -2 keep_dims of [2,4,3]",
      lambda: [randn(2, 4, 3)], lambda a: tf.reduce_prod(a, -2, keepdims=True))
    T("reduce_max_neg_axes", ["REDUCE_MAX"], "REDUCE_MAX axes [0, -1] of [3,4,5]",
      lambda: [randn(3, 4, 5)], lambda a: tf.reduce_max(a, [0, -1]))
    T("reduce_min_int32_keepdims", ["REDUCE_MIN"], "REDUCE_MIN int32 axis 1 keep_dims",
      lambda: [ints(-50, 50, 3, 4, 2)], lambda a: tf.reduce_min(a, 1, keepdims=True))
    T("reduce_any_axis1", ["REDUCE_ANY"], "REDUCE_ANY axis 1 of a sparse bool [3,4,2]",
      lambda: [ints(0, 6, 3, 4, 2) == 0], lambda a: tf.reduce_any(a, 1))
    T("arg_max_ties_int64", ["ARG_MAX"], "ARG_MAX axis -1 with ties, int64 output",
      lambda: [ints(0, 2, 4, 6).astype(np.float32)],
      lambda a: tf.math.argmax(a, -1, output_type=tf.int64))
    T("arg_min_ties_axis0_int32", ["ARG_MIN"], "ARG_MIN axis 0 of int32 with ties, int32 output",
      lambda: [ints(0, 2, 5, 3, 2)], lambda a: tf.math.argmin(a, 0, output_type=tf.int32))

    # ------------------------------------- audit: pools at the borders (clipped windows)
    T("avg_pool_3x3_s2_same_7x7", ["AVERAGE_POOL_2D"], "AVERAGE_POOL 3x3 s2 SAME on 7x7",
      lambda: [randn(1, 7, 7, 3)], lambda a: tf.nn.avg_pool2d(a, 3, 2, "SAME"))
    T("avg_pool_2x2_s2_same_5x6", ["AVERAGE_POOL_2D"], "AVERAGE_POOL 2x2 s2 SAME on 5x6, batch 2",
      lambda: [randn(2, 5, 6, 2)], lambda a: tf.nn.avg_pool2d(a, 2, 2, "SAME"))
    T("max_pool_3x3_s2_same_negative", ["MAX_POOL_2D"], "MAX_POOL 3x3 s2 SAME on all-negative 6x7",
      lambda: [-np.abs(randn(1, 6, 7, 2)) - 1], lambda a: tf.nn.max_pool2d(a, 3, 2, "SAME"))
    T("max_pool_2x3_s2x1_valid", ["MAX_POOL_2D"], "MAX_POOL 2x3 stride 2x1 VALID",
      lambda: [randn(1, 7, 6, 3)], lambda a: tf.nn.max_pool2d(a, [2, 3], [2, 1], "VALID"))
    T("avg_pool_relu6", ["AVERAGE_POOL_2D"], "AVERAGE_POOL 3x3 s1 SAME + RELU6 (fused)",
      lambda: [randn(1, 5, 5, 2, scale=5)], lambda a: tf.nn.relu6(tf.nn.avg_pool2d(a, 3, 1, "SAME")))

    # ------------- audit: odd transpose-conv outputs, grouped conv, depthwise multiplier
    T("tconv_3x3_s2_same_odd_out", ["TRANSPOSE_CONV"], "TRANSPOSE_CONV 3x3 s2 SAME 4x4 -> 7x7, bias",
      lambda: [randn(1, 4, 4, 3)],
      lambda a: tf.nn.conv2d_transpose(a, mop.W(3, 3, 5, 3), [1, 7, 7, 5], 2, "SAME") + mop.W(5))
    T("tconv_2x3_s2x1_valid", ["TRANSPOSE_CONV"], "TRANSPOSE_CONV 2x3 stride 2x1 VALID, batch 2",
      lambda: [randn(2, 3, 4, 2)],
      lambda a: tf.nn.conv2d_transpose(a, mop.W(2, 3, 4, 2), [2, 6, 6, 4], [1, 2, 1, 1], "VALID"))
    T("conv_grouped_g3_s2", ["CONV_2D"], "CONV_2D 3 groups (cin 6, cout 9) stride 2 SAME",
      lambda: [randn(1, 7, 7, 6)], lambda a: tf.nn.conv2d(a, mop.W(3, 3, 2, 9), 2, "SAME"))
    T("dw_mult3_dil2_valid", ["DEPTHWISE_CONV_2D"], "DEPTHWISE 3x3 depth_multiplier 3 dilation 2 VALID",
      lambda: [randn(1, 9, 8, 2)],
      lambda a: tf.nn.depthwise_conv2d(a, mop.W(3, 3, 2, 3), [1, 1, 1, 1], "VALID", dilations=[2, 2]))
    T("conv_dil_2x3_valid_batch2", ["CONV_2D"], "CONV_2D 3x3 dilation (2,3) VALID, batch 2",
      lambda: [randn(2, 9, 10, 3)],
      lambda a: tf.nn.conv2d(a, mop.W(3, 3, 3, 4), 1, "VALID", dilations=[2, 3]))

    # ------------------------ audit: FULLY_CONNECTED on 4-D input, BATCH_MATMUL broadcast
    T("fc_4d_input", ["FULLY_CONNECTED"], "x [2,3,4,5] @ const [5,6] (keep_num_dims)",
      lambda: [randn(2, 3, 4, 5)], lambda a: tf.matmul(a, mop.W(5, 6)))
    T("bmm_bcast_adj_x", ["BATCH_MATMUL"], "BATCH_MATMUL adj_x [2,1,5,3] x [1,4,5,6]",
      lambda: [randn(2, 1, 5, 3), randn(1, 4, 5, 6)], lambda a, b: tf.matmul(a, b, transpose_a=True))
    T("bmm_bcast_adj_y_rank", ["BATCH_MATMUL"], "BATCH_MATMUL adj_y [3,2,4] x [6,4] (rank broadcast)",
      lambda: [randn(3, 2, 4), randn(6, 4)], lambda a, b: tf.matmul(a, b, transpose_b=True))

    # ----------------- audit: float overflow / x / 0 clamps, integer POW overflow, FLOOR_DIV
    def big(*shape):
        v = randn(*shape)
        v.flat[:4] = [3e38, -3e38, 1.0, -2.0]
        return v
    H("div_float_by_zero", ["DIV"], "DIV float x / 0 and overflow: TFLite gives +-FLT_MAX, not inf",
      lambda: single_op("DIV", [big(2, 8), np.where(np.arange(16) % 3 == 0, 0, 1e-3 + np.abs(
          randn(16))).astype(np.float32).reshape(2, 8)], [[2, 8]], "DivOptions"))
    H("add_float_overflow_relu", ["ADD"], "ADD float overflowing to +-inf, fused RELU (-> FLT_MAX)",
      lambda: single_op("ADD", [big(2, 8), big(2, 8)], [[2, 8]], "AddOptions",
                        FusedActivationFunction=mop.RELU))
    H("mul_float_overflow", ["MUL"], "MUL float overflowing to +-inf (-> +-FLT_MAX)",
      lambda: single_op("MUL", [big(2, 8), big(2, 8)], [[2, 8]], "MulOptions"))
    H("pow_int32_overflow", ["POW"], "POW int32 whose results do not fit (TFLite: INT_MIN on x86)",
      lambda: single_op("POW", [np.array([4, -3, 2, -2, 3, 7, 0, -1, 5, 10], I32),
                                np.array([20, 21, 31, 31, 19, 11, 0, 7, 13, 9], I32)], [[10]],
                        out_dtypes=[I32]))

    def near_integer_quotients():  # a just below k * b: a / b in float rounds up onto k
        b = np.abs(randn(4000)) * 3 + 0.1
        a = np.nextafter((np.round(randn(4000) * 20) * b).astype(np.float32), np.float32(-1e9))
        keep = np.floor(a / b) != np.floor(a.astype(np.float64) / b)
        return [a[keep][:48].reshape(6, 8), b[keep][:48].reshape(6, 8)]
    H("floor_div_float_near_int", ["FLOOR_DIV"], "FLOOR_DIV float where the float quotient rounds "
      "up to an integer (TFLite divides in double)",
      lambda: single_op("FLOOR_DIV", near_integer_quotients(), [[6, 8]]))


def main(argv=None):
    return mop.build_into(OUT_DIR, define_cases, argv)

if __name__ == "__main__":
    sys.exit(main())
