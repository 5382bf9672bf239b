"""Shape hooks of the data-movement ops (movement, slicing, spatial, extra) and of control
flow, on hand-built nodes: each computes what TFLite's Prepare computes (STRIDED_SLICE
also against numpy's slicing), and each refuses hostile nodes (axes out of range, bad
paddings, zero strides, missing inputs, counts that do not add up) with an error that
says what is wrong."""
import itertools
import random

import numpy as np
import pytest

from dlcoder.errors import InvalidModelError, UnsupportedError
from dlcoder.ir import Graph, Node, Tensor
from dlcoder.ops import TABLE
from support import const_tensor, single_op_graph

# the data-movement, indexing, creation and control-flow ops (and a few more), by name
OPS = ("RESHAPE SQUEEZE EXPAND_DIMS TRANSPOSE CONCATENATION PAD PADV2 SPLIT SPLIT_V PACK UNPACK "
       "SLICE STRIDED_SLICE TILE BROADCAST_TO GATHER DEPTH_TO_SPACE SPACE_TO_DEPTH MIRROR_PAD "
       "RESIZE_NEAREST_NEIGHBOR RESIZE_BILINEAR ADD_N SPACE_TO_BATCH_ND BATCH_TO_SPACE_ND CUMSUM "
       "GATHER_ND ONE_HOT RANGE TOPK_V2 RANK BROADCAST_ARGS REVERSE_V2 WHILE IF").split()


def t(*shape, dtype="float32", signature=None):
    return Tensor("t", tuple(shape), dtype, signature=signature)


def c(v, dtype="int32"):
    return const_tensor(v, dtype)


def shapes(op, tensors, attrs=None, outputs=1, inputs=None):
    """The op's shape hook on a one-node graph whose last `outputs` tensors are its
    outputs; `inputs` replaces the node's input list (to give -1 for an absent input)."""
    g = single_op_graph(op, tensors, attrs, outputs)
    node = g.nodes[0] if inputs is None else g.nodes[0].replace(inputs=tuple(inputs))
    return [tuple(s) for s in TABLE[op].shape(node, g)]


def refused(error, match, op, tensors, attrs=None, outputs=1, inputs=None):
    with pytest.raises(error, match=match):
        shapes(op, tensors, attrs, outputs, inputs)


def test_every_op_of_these_families_has_a_shape_hook():
    assert [op for op in OPS if TABLE[op].shape is None] == []


# ---- what TFLite computes ---------------------------------------------------------------
@pytest.mark.parametrize("op, tensors, attrs, want", [
    ("RESHAPE", [t(2, 3, 4), c([4, -1]), t(0)], {}, (4, 6)),
    # the shape input wins over the attribute when it is an int32 vector...
    ("RESHAPE", [t(2, 3, 4), c([24]), t(0)], {"new_shape": (4, 6)}, (24,)),
    # ...and only then: an int64 or a 2-D shape input leaves the attribute in charge
    ("RESHAPE", [t(2, 3, 4), c([24], "int64"), t(0)], {"new_shape": (4, 6)}, (4, 6)),
    ("RESHAPE", [t(2, 3, 4), c([[24]]), t(0)], {"new_shape": (-1, 2)}, (12, 2)),
    ("RESHAPE", [t(1, 1), t(0)], {"new_shape": (0,)}, ()),          # legacy scalar
    ("RESHAPE", [t(1, 1), c(np.zeros(0)), t(0)], {}, ()),
    ("RESHAPE", [t(1), t(0)], {}, ()),                               # no options: a scalar
    ("RESHAPE", [t(0, 3), c([-1, 5]), t(0)], {}, (0, 5)),            # -1 of an empty input
    # other dims multiply to 0: the -1 is the non-zero input dims over the non-zero others
    ("RESHAPE", [t(0, 3), c([3, -1, 0]), t(0)], {}, (3, 1, 0)),
    ("SQUEEZE", [t(1, 3, 1, 1), t(0)], {}, (3,)),
    ("SQUEEZE", [t(1, 3, 1, 1), t(0)], {"squeeze_dims": (0, -1, 0)}, (3, 1)),
    ("EXPAND_DIMS", [t(2, 3), c(2), t(0)], {}, (2, 3, 1)),
    ("EXPAND_DIMS", [t(2, 3), c([-3], "int64"), t(0)], {}, (1, 2, 3)),
    ("TRANSPOSE", [t(2, 3, 4), c([2, 0, 1]), t(0)], {}, (4, 2, 3)),
    ("TRANSPOSE", [t(2, 3, 4), c([-1, 0, 1]), t(0)], {}, (4, 2, 3)),
    ("CONCATENATION", [t(2, 3), t(2, 5), t(0)], {"axis": -1}, (2, 8)),
    ("PAD", [t(2, 3), c([[1, 0], [2, 3]]), t(0)], {}, (3, 8)),
    ("PADV2", [t(2, 3), c([[1, 0], [2, 3]], "int64"), c(7.0, "float32"), t(0)], {}, (3, 8)),
    ("PAD", [t(), c(np.zeros((0, 2))), t(0)], {}, ()),
    ("SLICE", [t(2, 6, 4), c([1, 0, 2]), c([-1, -1, 1]), t(0)], {}, (1, 6, 1)),
    ("SLICE", [t(2, 6, 4), c([2, 6, 4], "int64"), c([0, 0, 0], "int64"), t(0)], {}, (0, 0, 0)),
    ("TILE", [t(2, 3), c([3, 0]), t(0)], {}, (6, 0)),
    ("BROADCAST_TO", [t(3, 1), c([2, 3, 5]), t(0)], {}, (2, 3, 5)),
    ("BROADCAST_TO", [t(1, 3), c([0, 3], "int64"), t(0)], {}, (0, 3)),
    ("GATHER", [t(2, 3, 4, 5), c([[0, 1], [1, 0]]), t(0)], {"axis": 2, "batch_dims": 1},
     (2, 3, 2, 5)),
    ("GATHER", [t(2, 3, 4, 5), c([[0, 1], [1, 0]]), t(0)], {"axis": -3, "batch_dims": -1},
     (2, 2, 4, 5)),
    ("GATHER", [t(4, 5), c(3), t(0)], {}, (5,)),
    ("DEPTH_TO_SPACE", [t(1, 2, 3, 8), t(0)], {"block_size": 2}, (1, 4, 6, 2)),
    ("SPACE_TO_DEPTH", [t(1, 4, 6, 2), t(0)], {"block_size": 2}, (1, 2, 3, 8)),
    ("MIRROR_PAD", [t(2, 3), c([[1, 1], [2, 2]]), t(0)], {"mode": "REFLECT"}, (4, 7)),
    ("MIRROR_PAD", [t(2, 3), c([[2, 2], [3, 0]]), t(0)], {"mode": "SYMMETRIC"}, (6, 6)),
    ("RESIZE_BILINEAR", [t(1, 4, 6, 3), c([8, 2]), t(0)], {}, (1, 8, 2, 3)),
    ("RESIZE_NEAREST_NEIGHBOR", [t(1, 4, 6, 3), c([0, 2]), t(0)],
     {"align_corners": True, "half_pixel_centers": True}, (1, 0, 2, 3)),
    ("ADD_N", [t(2, 3), t(2, 3), t(2, 3), t(0)], {}, (2, 3)),
    ("SPACE_TO_BATCH_ND", [t(2, 4, 5, 3), c([2, 3]), c([[0, 2], [1, 0]]), t(0)], {},
     (12, 3, 2, 3)),
    ("SPACE_TO_BATCH_ND", [t(2, 4, 3), c([2]), c([[1, 1]]), t(0)], {}, (4, 3, 3)),
    ("BATCH_TO_SPACE_ND", [t(12, 3, 2, 3), c([2, 3]), c([[0, 2], [1, 0]]), t(0)], {},
     (2, 4, 5, 3)),
    ("CUMSUM", [t(2, 3), c(-1), t(0)], {}, (2, 3)),
    ("CUMSUM", [t(2, 3), t(dtype="int32"), t(0)], {}, (2, 3)),      # axis known at run time
    ("GATHER_ND", [t(2, 3, 4), c([[0, 1], [1, 2]]), t(0)], {}, (2, 4)),
    ("GATHER_ND", [t(2, 3), c(np.zeros((5, 0))), t(0)], {}, (5, 2, 3)),
    ("REVERSE_V2", [t(2, 3), c([-1, 0]), t(0)], {}, (2, 3)),
    ("RANK", [t(2, 3), t(dtype="int32")], {}, ()),
])
def test_computes_what_tflite_computes(op, tensors, attrs, want):
    assert shapes(op, tensors, attrs) == [want]


@pytest.mark.parametrize("op, tensors, attrs, outputs, want", [
    ("SPLIT", [c(-1), t(2, 6), t(0), t(0), t(0)], {"num_splits": 3}, 3, [(2, 2)] * 3),
    # TFLite reads the first value of SPLIT's axis, however many there are
    ("SPLIT", [c([0, 5]), t(2, 6), t(0), t(0)], {"num_splits": 2}, 2, [(1, 6)] * 2),
    ("SPLIT_V", [t(2, 6), c([1, -1, 2]), c(1), t(0), t(0), t(0)], {"num_splits": 3}, 3,
     [(2, 1), (2, 3), (2, 2)]),
    ("SPLIT_V", [t(2, 6), c([6, 0], "int64"), c([-1]), t(0), t(0)], {"num_splits": 2}, 2,
     [(2, 6), (2, 0)]),
    ("PACK", [t(2, 3), t(2, 3), t(0)], {"values_count": 2, "axis": -1}, 1, [(2, 3, 2)]),
    ("PACK", [t(), t(), t(), t(0)], {"values_count": 3}, 1, [(3,)]),
    ("UNPACK", [t(2, 3), t(0), t(0), t(0)], {"num": 3, "axis": -1}, 3, [(2,)] * 3),
    ("TOPK_V2", [t(2, 5), c(0), t(0), t(0, dtype="int32")], {}, 2, [(2, 0)] * 2),
    ("TOPK_V2", [t(5), c(5), t(0), t(0, dtype="int32")], {}, 2, [(5,)] * 2),
])
def test_computes_what_tflite_computes_for_several_outputs(op, tensors, attrs, outputs, want):
    assert shapes(op, tensors, attrs, outputs) == want


@pytest.mark.parametrize("indices, attrs, want", [
    ((2, 3), {}, (2, 3, 4)),
    ((2, 3), {"axis": -1}, (2, 3, 4)),
    ((2, 3), {"axis": 0}, (4, 2, 3)),
    ((2, 3), {"axis": 2}, (2, 3, 4)),
    ((), {}, (4,)),
])
def test_one_hot_inserts_the_depth_at_the_axis(indices, attrs, want):
    tensors = [t(*indices, dtype="int32"), c(4), c(1.0, "float32"), c(0.0, "float32"), t(0)]
    assert shapes("ONE_HOT", tensors, attrs) == [want]


@pytest.mark.parametrize("start, limit, delta, dtype, want", [
    (0, 10, 3, "int32", 4),
    (10, 0, -3, "int64", 4),
    (5, 5, 1, "int32", 0),
    (5, 5, -1, "int32", 0),
    (3, -2**31 + 5, -7, "int32", 306783378),
    (0.1, 1.0, 0.1, "float32", 9),       # in float32, (1.0 - 0.1) / 0.1 is exactly 9
    (3.3, -2**31, -4.9, "float32", 438261952),
])
def test_range_counts_as_tflite(start, limit, delta, dtype, want):
    tensors = [c(start, dtype), c(limit, dtype), c(delta, dtype), t(0, dtype=dtype)]
    assert shapes("RANGE", tensors) == [(want,)]


def test_range_of_run_time_values_keeps_the_stored_length():
    """The kernel writes as many elements as the stored shape holds."""
    assert shapes("RANGE", [t(), c(4.0, "float32"), t(), t(7)]) == [(7,)]
    refused(InvalidModelError, r"stored with shape \[7, 1\], not as a 1-D list",
            "RANGE", [t(), c(4.0, "float32"), t(), t(7, 1)])


def test_broadcast_args_gives_the_longer_length():
    assert shapes("BROADCAST_ARGS", [c([2, 1, 3]), c([4, 3]), t(0, dtype="int32")]) == [(3,)]
    assert shapes("BROADCAST_ARGS", [t(2, dtype="int32"), t(4, dtype="int32"),
                                     t(0, dtype="int32")]) == [(4,)]
    refused(InvalidModelError, r"do not broadcast", "BROADCAST_ARGS",
            [c([2, 3]), c([4, 3]), t(0, dtype="int32")])


# ---- RESHAPE's shape known only at run time -----------------------------------------------
def test_reshape_keeps_a_stored_shape_that_fits_when_the_shape_is_computed():
    assert shapes("RESHAPE", [t(2, 3, 4), t(2, dtype="int32"), t(4, 6)]) == [(4, 6)]


@pytest.mark.parametrize("out, error", [
    (t(5, 5), InvalidModelError),                          # not the input's 24 elements
    (t(24), InvalidModelError),                            # rank 1, the shape input says 2
    (t(5, 5, signature=(-1, 5)), UnsupportedError),        # a placeholder: cannot tell
])
def test_reshape_refuses_a_stored_shape_that_cannot_be_right(out, error):
    refused(error, r"not known at generation time", "RESHAPE",
            [t(2, 3, 4), t(2, dtype="int32"), out])


# ---- hostile nodes ----------------------------------------------------------------------
@pytest.mark.parametrize("op, tensors, attrs, inputs, match", [
    # missing inputs never reach the tensor list's end through index -1
    ("TRANSPOSE", [t(2, 3), c([1, 0]), t(0)], {}, (0, -1), r"required input 1 is missing"),
    ("PAD", [t(2, 3), c([[0, 0], [0, 0]]), t(0)], {}, (0, -1), r"required input 1 is missing"),
    ("STRIDED_SLICE", [t(4), c([0]), c([1]), c([1]), t(0)], {}, (0, 1, 2),
     r"has 3 inputs, the op takes 4"),
    ("GATHER", [t(4), c([0]), t(0)], {}, (-1, 1), r"required input 0 is missing"),
    # RESHAPE
    ("RESHAPE", [t(2, 3, 4), c([-1, -1]), t(0)], {}, None, r"negative dimension other than one -1"),
    ("RESHAPE", [t(2, 3, 4), c([2, -2, -6]), t(0)], {}, None, r"negative dimension"),
    ("RESHAPE", [t(2, 3, 4), c([5, 5]), t(0)], {}, None, r"does not hold the 24 elements"),
    ("RESHAPE", [t(2, 3, 4), c([5, -1]), t(0)], {}, None, r"does not hold the 24 elements"),
    ("RESHAPE", [t(2, 3, 4), t(0)], {"new_shape": (1,) * 9}, None, r"at most 8"),
    ("RESHAPE", [t(2, 3, 4), t(0)], {}, None, r"new shape \[\] does not hold the 24"),
    # SQUEEZE, EXPAND_DIMS, TRANSPOSE, CONCATENATION
    ("SQUEEZE", [t(1, 3), t(0)], {"squeeze_dims": (1,)}, None, r"axis 1 has size 3, not 1"),
    ("SQUEEZE", [t(1, 3), t(0)], {"squeeze_dims": (2,)}, None, r"squeeze axis 2 is out of range"),
    ("SQUEEZE", [t(), t(0)], {"squeeze_dims": (0,)}, None, r"out of range for rank 0"),
    ("EXPAND_DIMS", [t(2, 3), c(3), t(0)], {}, None, r"axis 3 is out of range"),
    ("EXPAND_DIMS", [t(2, 3), c(-4), t(0)], {}, None, r"axis -4 is out of range"),
    ("EXPAND_DIMS", [t(2, 3), c([0, 1]), t(0)], {}, None, r"holds 2 values, not one"),
    ("EXPAND_DIMS", [t(2, 3), t(dtype="int32"), t(0)], {}, None, UnsupportedError),
    ("TRANSPOSE", [t(2, 3, 4), c([0, 0, 1]), t(0)], {}, None, r"names an axis twice"),
    ("TRANSPOSE", [t(2, 3, 4), c([0, 1, 3]), t(0)], {}, None, r"perm entry 3 is out of range"),
    ("TRANSPOSE", [t(2, 3, 4), c([1, 0]), t(0)], {}, None, r"perm has 2 entries for an input of rank 3"),
    ("TRANSPOSE", [t(2, 3), c([1.0, 0.0], "float32"), t(0)], {}, None,
     r"perm \(input 1\) has dtype float32"),
    ("TRANSPOSE", [t(2, 3), c([1, 0]), t(0, dtype="int8")], {}, None, r"dtypes differ"),
    ("CONCATENATION", [t(2, 3), t(2, 3), t(0)], {"axis": 2}, None, r"axis 2 is out of range"),
    ("CONCATENATION", [t(2, 3), t(2, 3), t(0)], {"axis": -3}, None, r"axis -3 is out of range"),
    ("CONCATENATION", [t(), t(), t(0)], {"axis": 0}, None, r"out of range for rank 0"),
    ("CONCATENATION", [t(2, 3), t(3, 3), t(0)], {"axis": 1}, None, r"input 1 of shape \[3, 3\]"),
    ("CONCATENATION", [t(2, 3), t(2, 3, 1), t(0)], {"axis": 0}, None, r"does not fit input 0's"),
    ("CONCATENATION", [t(2, 3), t(2, 3), t(0)], {"fused_activation_function": "CUBE"}, None,
     r"fused activation CUBE"),
    # PAD
    ("PAD", [t(2, 3), c([[0, 0], [-1, 2]]), t(0)], {}, None, r"must not be negative"),
    ("PAD", [t(2, 3), c([[0, 0]]), t(0)], {}, None, r"shape \[1, 2\], not \[2, 2\]"),
    ("PAD", [t(2, 3), c([0, 0, 1, 1]), t(0)], {}, None, r"shape \[4\], not \[2, 2\]"),
    ("PAD", [t(2, 3), t(2, 2, dtype="int32"), t(0)], {}, None, UnsupportedError),
    ("PADV2", [t(2, 3), c([[0, 0], [1, 1]]), c([1.0, 2.0], "float32"), t(0)], {}, None,
     r"pad value \(input 2\) holds 2 values"),
    ("PADV2", [t(2, 3), c([[0, 0], [1, 1]]), c(1, "int32"), t(0)], {}, None, r"dtypes differ"),
    # SLICE, TILE, BROADCAST_TO
    ("SLICE", [t(2, 6), c([0, -1]), c([1, 2]), t(0)], {}, None, r"axis 1: begin -1 and size 2"),
    ("SLICE", [t(2, 6), c([0, 0]), c([1, 7]), t(0)], {}, None, r"begin 0 and size 7 do not fit"),
    ("SLICE", [t(2, 6), c([0, 0]), c([1, -2]), t(0)], {}, None, r"size -2 do not fit"),
    ("SLICE", [t(2, 6), c([3, 0]), c([-1, 1]), t(0)], {}, None, r"begin 3 and size -1"),
    ("SLICE", [t(2, 6), c([0]), c([1]), t(0)], {}, None, r"begin has 1 entries for an input of rank 2"),
    ("TILE", [t(2, 3), c([-1, 1]), t(0)], {}, None, r"must not be negative"),
    ("TILE", [t(2, 3), c([1, 1, 1]), t(0)], {}, None, r"multiples has 3 entries"),
    ("BROADCAST_TO", [t(2, 3), c([4, 3]), t(0)], {}, None, r"does not broadcast"),
    ("BROADCAST_TO", [t(2, 3), c([3]), t(0)], {}, None, r"does not broadcast"),
    ("BROADCAST_TO", [t(1, 3), c([-2, 3]), t(0)], {}, None, r"does not broadcast"),
    # GATHER
    ("GATHER", [t(2, 3), c([0]), t(0)], {"axis": 2}, None, r"axis 2 is out of range"),
    ("GATHER", [t(), c(0), t(0)], {}, None, r"out of range for rank 0"),
    ("GATHER", [t(2, 3, 4), c([[0]] * 2), t(0)], {"axis": 0, "batch_dims": 1}, None,
     r"batch_dims 1 does not fit axis 0"),
    ("GATHER", [t(2, 3, 4), c([[0]] * 3), t(0)], {"axis": 1, "batch_dims": 1}, None,
     r"batch_dims 1 does not fit"),
    ("GATHER", [t(2, 3, 4), c([[0]] * 2), t(0)], {"axis": 2, "batch_dims": 3}, None,
     r"batch_dims 3"),
    ("GATHER", [t(2, 3, 4), c([[0]] * 2), t(0)], {"axis": 1, "batch_dims": -3}, None,
     r"batch_dims -3"),
    # spatial
    ("DEPTH_TO_SPACE", [t(1, 2, 3, 8), t(0)], {"block_size": 0}, None, r"block_size = 0"),
    ("DEPTH_TO_SPACE", [t(1, 2, 3, 8), t(0)], {}, None, r"block_size = None"),
    ("DEPTH_TO_SPACE", [t(1, 2, 3, 8), t(0)], {"block_size": 3}, None, r"8 channels"),
    ("DEPTH_TO_SPACE", [t(2, 3, 8), t(0)], {"block_size": 2}, None, r"rank 3, the op takes rank 4"),
    ("SPACE_TO_DEPTH", [t(1, 4, 6, 2), t(0)], {"block_size": 4}, None, r"4x6 image"),
    ("SPACE_TO_DEPTH", [t(1, 4, 6, 2), t(0)], {"block_size": -2}, None, r"block_size = -2"),
    ("MIRROR_PAD", [t(2, 3), c([[0, 0], [3, 0]]), t(0)], {"mode": "REFLECT"}, None,
     r"REFLECT padding \(3, 0\) of axis 1 is too large for its size 3"),
    ("MIRROR_PAD", [t(2, 3), c([[0, 0], [0, 4]]), t(0)], {"mode": "SYMMETRIC"}, None,
     r"SYMMETRIC padding \(0, 4\)"),
    ("MIRROR_PAD", [t(2, 3), c([[0, -1], [0, 0]]), t(0)], {}, None, r"must not be negative"),
    ("MIRROR_PAD", [t(2, 3), c([[0, 0], [1, 1]]), t(0)], {"mode": "WRAP"}, None, r"mode WRAP"),
    ("RESIZE_BILINEAR", [t(1, 4, 6, 3), c([0, 2]), t(0)], {}, None, r"size 0x2 must be positive"),
    ("RESIZE_NEAREST_NEIGHBOR", [t(1, 4, 6, 3), c([-1, 2]), t(0)], {}, None, r"non-negative"),
    ("RESIZE_BILINEAR", [t(1, 4, 6, 3), c([2, 2]), t(0)],
     {"align_corners": True, "half_pixel_centers": True}, None, r"both set"),
    ("RESIZE_BILINEAR", [t(1, 4, 6, 3), c([2, 2, 2]), t(0)], {}, None, r"3 entries, not 2"),
    ("RESIZE_BILINEAR", [t(1, 4, 6, 3), c([2, 2], "int64"), t(0)], {}, None, r"takes int32"),
    ("RESIZE_BILINEAR", [t(4, 6, 3), c([2, 2]), t(0)], {}, None, r"rank 3, the op takes rank 4"),
    # extra
    ("ADD_N", [t(2, 3), t(0)], {}, None, r"has 1 inputs, the op takes 2"),
    ("ADD_N", [t(2, 3), t(1, 3), t(0)], {}, None, r"input 1 of shape \[1, 3\] differs"),
    ("SPACE_TO_BATCH_ND", [t(2, 4, 6, 3), c([2, 4]), c([[0, 0], [0, 0]]), t(0)], {}, None,
     r"padded size 6 is not a multiple of the block 4"),
    ("SPACE_TO_BATCH_ND", [t(2, 4, 6, 3), c([0, 2]), c([[0, 0], [0, 0]]), t(0)], {}, None,
     r"must be positive"),
    ("SPACE_TO_BATCH_ND", [t(2, 4, 6, 3), c([2, 2]), c([[-2, 0], [0, 0]]), t(0)], {}, None,
     r"must not be negative"),
    ("SPACE_TO_BATCH_ND", [t(2, 4, 6, 3), c([2]), c([[0, 0]]), t(0)], {}, None,
     r"1 entries for 2 spatial dims"),
    ("SPACE_TO_BATCH_ND", [t(2, 4), c([2]), c([[0, 0]]), t(0)], {}, None,
     r"rank 2, the op takes rank 3 to 4"),
    ("BATCH_TO_SPACE_ND", [t(6, 1, 1, 3), c([2, 2]), c([[0, 0], [0, 0]]), t(0)], {}, None,
     r"batch 6 is not a multiple of the block volume 4"),
    ("BATCH_TO_SPACE_ND", [t(8, 1, 1, 3), c([2, 2]), c([[2, 1], [0, 0]]), t(0)], {}, None,
     r"crops \(2, 1\) exceed its size 2"),
    ("BATCH_TO_SPACE_ND", [t(8, 1, 1, 3), c([2, 2]), c([[0, 0, 0], [0, 0, 0]]), t(0)], {}, None,
     r"shape \[2, 3\], not \[2, 2\]"),
    ("CUMSUM", [t(2, 3), c(2), t(0)], {}, None, r"axis 2 is out of range"),
    ("CUMSUM", [t(2, 3), c([0, 1]), t(0)], {}, None, r"holds 2 values, not one"),
    ("CUMSUM", [t(), c(0), t(0)], {}, None, r"rank 0, the op takes rank 1 or more"),
    ("GATHER_ND", [t(2, 3), c([[0, 1, 2]]), t(0)], {}, None, r"index 3 dims of params \[2, 3\]"),
    ("GATHER_ND", [t(2, 3), c(0), t(0)], {}, None, r"indices has rank 0"),
    ("ONE_HOT", [t(2, dtype="int32"), c(-1), c(1.0, "float32"), c(0.0, "float32"), t(0)], {}, None,
     r"depth -1 is negative"),
    ("ONE_HOT", [t(2, dtype="int32"), c(3), c(1.0, "float32"), c(0.0, "float32"), t(0)],
     {"axis": 2}, None, r"axis 2 is out of range \[-1, 1\]"),
    ("ONE_HOT", [t(2, dtype="int32"), c(3), c(1.0, "float32"), c(0.0, "float32"), t(0)],
     {"axis": -2}, None, r"axis -2 is out of range"),
    ("ONE_HOT", [t(2, dtype="int32"), c(3), c([1.0, 2.0], "float32"), c(0.0, "float32"), t(0)],
     {}, None, r"on_value \(input 2\) holds 2 values"),
    ("ONE_HOT", [t(2, dtype="int32"), t(dtype="int32"), c(1.0, "float32"), c(0.0, "float32"), t(0)],
     {}, None, UnsupportedError),
    ("RANGE", [c(0), c(10), c(0), t(0, dtype="int32")], {}, None, r"delta is 0"),
    ("RANGE", [c(10), c(0), c(1), t(0, dtype="int32")], {}, None, r"does not lead from start 10"),
    ("RANGE", [c(0.0, "float32"), c(np.inf, "float32"), c(1.0, "float32"), t(0)], {}, None,
     r"must be finite"),
    ("RANGE", [c([0]), c(3), c(1), t(0, dtype="int32")], {}, None, r"start \(input 0\) has shape \[1\]"),
    ("RANGE", [c(0), c(3), c(1), t(0)], {}, None, r"dtypes differ"),
    ("TOPK_V2", [t(2, 5), c(6), t(0), t(0, dtype="int32")], {}, None, r"k = 6 is out of range"),
    ("TOPK_V2", [t(2, 5), c(-1), t(0), t(0, dtype="int32")], {}, None, r"k = -1 is out of range"),
    ("TOPK_V2", [t(), c(0), t(0), t(0, dtype="int32")], {}, None, r"rank 0"),
    ("REVERSE_V2", [t(2, 3), c([2]), t(0)], {}, None, r"axis 2 is out of range"),
    ("REVERSE_V2", [t(2, 3), c([0, 1, 0]), t(0)], {}, None, r"lists 3 axes for an input of rank 2"),
    ("BROADCAST_ARGS", [c([2, 3]), c([[3]]), t(0, dtype="int32")], {}, None, r"not a 1-D list"),
])
def test_refuses_hostile_nodes(op, tensors, attrs, inputs, match):
    outputs = 2 if op == "TOPK_V2" else 1
    error, match = (match, None) if isinstance(match, type) else (InvalidModelError, match)
    refused(error, match, op, tensors, attrs, outputs, inputs)


@pytest.mark.parametrize("op, tensors, attrs, outputs, match", [
    ("SPLIT", [c(1), t(2, 6), t(0), t(0), t(0), t(0)], {"num_splits": 4}, 4,
     r"axis 1 of size 6 does not split into 4 equal parts"),
    ("SPLIT", [c(1), t(2, 6), t(0), t(0)], {"num_splits": 3}, 2, r"has 2 outputs, the op gives 3"),
    ("SPLIT", [c(1), t(2, 6), t(0), t(0)], {}, 2, r"num_splits = 0 must be a positive count"),
    ("SPLIT", [c(2), t(2, 6), t(0), t(0)], {"num_splits": 2}, 2, r"axis 2 is out of range"),
    ("SPLIT", [c(np.zeros(0)), t(2, 6), t(0), t(0)], {"num_splits": 2}, 2, r"axis \(input 0\) is empty"),
    ("SPLIT_V", [t(2, 6), c([-1, -1]), c(1), t(0), t(0)], {"num_splits": 2}, 2, r"one -1"),
    ("SPLIT_V", [t(2, 6), c([-2, 8]), c(1), t(0), t(0)], {"num_splits": 2}, 2, r"one -1"),
    ("SPLIT_V", [t(2, 6), c([3, 4]), c(1), t(0), t(0)], {"num_splits": 2}, 2,
     r"do not add up to the size 6 of axis 1"),
    ("SPLIT_V", [t(2, 6), c([7, -1]), c(1), t(0), t(0)], {"num_splits": 2}, 2, r"do not add up"),
    ("SPLIT_V", [t(2, 6), c([1, 2, 3]), c(1), t(0), t(0)], {"num_splits": 2}, 2,
     r"size_splits has 3 entries for 2 outputs"),
    ("PACK", [t(2, 3), t(2, 3), t(0)], {"values_count": 3}, 1, r"has 2 inputs, the op takes 3"),
    ("PACK", [t(2, 3), t(3, 2), t(0)], {"values_count": 2}, 1, r"input 1 of shape \[3, 2\] differs"),
    ("PACK", [t(2, 3), t(2, 3), t(0)], {"values_count": 2, "axis": 3}, 1, r"axis 3 is out of range"),
    ("PACK", [t(2, 3), t(2, 3), t(0)], {"values_count": 2, "axis": -4}, 1, r"axis -4"),
    ("UNPACK", [t(2, 3), t(0), t(0)], {"num": 2, "axis": 1}, 2,
     r"num = 2, but axis 1 of the input \[2, 3\] has size 3"),
    ("UNPACK", [t(2, 0), t(0), t(0)], {"num": 2}, 2, r"input \[2, 0\] is empty"),
    ("UNPACK", [t(2, 3), t(0), t(0)], {"num": 2, "axis": 2}, 2, r"axis 2 is out of range"),
    ("TOPK_V2", [t(2, 5), c(2), t(0)], {}, 1, r"has 1 outputs, the op gives 2"),
])
def test_refuses_hostile_nodes_with_several_outputs(op, tensors, attrs, outputs, match):
    refused(InvalidModelError, match, op, tensors, attrs, outputs)


def test_an_absent_optional_input_is_not_read():
    """RESHAPE's shape and PADV2's value may be absent (-1): never tensors[-1]."""
    assert shapes("RESHAPE", [t(2, 3), c([9, 9]), t(0)], {"new_shape": (3, 2)},
                  inputs=(0, -1)) == [(3, 2)]
    assert shapes("PADV2", [t(2, 3), c([[0, 0], [1, 1]]), c([9.0, 9.0], "float32"), t(0)],
                  inputs=(0, 1, -1)) == [(2, 5)]


# ---- dtypes -------------------------------------------------------------------------------
I8, I16, I32, I64, U8, F32 = "int8", "int16", "int32", "int64", "uint8", "float32"
INDEX_32_64 = r"the op takes int32 or int64$"


@pytest.mark.parametrize("op, tensors, attrs, outputs, match", [
    # the data keeps its dtype from input to output
    ("RESHAPE", [t(2, 3), c([3, 2]), t(0, dtype=I32)], {}, 1,
     r"dtypes differ: input 0 float32, output 0 int32"),
    ("SQUEEZE", [t(1, 3), t(0, dtype=I8)], {}, 1, r"input 0 float32, output 0 int8"),
    ("CONCATENATION", [t(2, 3, dtype=I8), t(2, 3), t(0)], {}, 1,
     r"dtypes differ: input 0 int8, input 1 float32, output 0 float32"),
    ("CONCATENATION", [t(2, 3), t(2, 3), t(0, dtype=I32)], {}, 1, r"output 0 int32"),
    ("CONCATENATION", [t(2, 3, dtype=I32), t(2, 3, dtype=I32), t(0, dtype=I32)],
     {"fused_activation_function": "RELU"}, 1, r"fused activation RELU on int32 data"),
    ("PACK", [t(2, 3), t(2, 3, dtype=I32), t(0)], {"values_count": 2}, 1, r"input 1 int32"),
    ("UNPACK", [t(2, 3), t(0), t(0, dtype=I32)], {"num": 2}, 2, r"output 1 int32"),
    ("SPLIT", [c(0), t(2, 3), t(0), t(0, dtype=U8)], {"num_splits": 2}, 2, r"output 1 uint8"),
    ("SPLIT_V", [t(2, 3), c([1, 1]), c(0), t(0, dtype=I64), t(0)], {"num_splits": 2}, 2,
     r"input 0 float32, output 0 int64"),
    ("GATHER", [t(2, 3), c([0]), t(0, dtype=I32)], {}, 1, r"input 0 float32, output 0 int32"),
    ("GATHER_ND", [t(2, 3, dtype=I8), c([[0]]), t(0)], {}, 1, r"input 0 int8, output 0 float32"),
    ("DEPTH_TO_SPACE", [t(1, 1, 1, 4), t(0, dtype=I8)], {"block_size": 2}, 1, r"output 0 int8"),
    ("SPACE_TO_BATCH_ND", [t(1, 2, 2, 1), c([2, 2]), c([[0, 0], [0, 0]]), t(0, dtype=I32)], {}, 1,
     r"output 0 int32"),
    ("ADD_N", [t(2, 3, dtype=I32), t(2, 3), t(0)], {}, 1, r"input 0 int32, input 1 float32"),
    ("PADV2", [t(2, 3, dtype=U8), c([[0, 0], [1, 1]]), c(1.0, F32), t(0, dtype=U8)], {}, 1,
     r"input 0 uint8, input 2 float32"),
    # axes, shapes, paddings, multiples: int32 or int64 where TFLite converts them...
    ("EXPAND_DIMS", [t(2, 3), c(0.0, F32), t(0)], {}, 1,
     r"axis \(input 1\) has dtype float32, " + INDEX_32_64),
    ("EXPAND_DIMS", [t(2, 3), c(0, I16), t(0)], {}, 1, r"axis \(input 1\) has dtype int16"),
    ("PAD", [t(2, 3), c([[0, 0], [1, 1]], F32), t(0)], {}, 1,
     r"paddings \(input 1\) has dtype float32, the op takes int16 or int32 or int64 or int8"),
    ("PAD", [t(2, 3), c([[0, 0], [1, 1]], U8), t(0)], {}, 1, r"has dtype uint8"),
    ("SPLIT", [c(0.0, F32), t(2, 6), t(0), t(0)], {"num_splits": 2}, 2,
     r"axis \(input 0\) has dtype float32, " + INDEX_32_64),
    ("SPLIT_V", [t(2, 6), c([3, 3], I16), c(1), t(0), t(0)], {"num_splits": 2}, 2,
     r"size_splits \(input 1\) has dtype int16, " + INDEX_32_64),
    ("SPLIT_V", [t(2, 6), c([3, 3]), c(1.0, F32), t(0), t(0)], {"num_splits": 2}, 2,
     r"axis \(input 2\) has dtype float32"),
    ("SLICE", [t(2, 6), c([0, 0], F32), c([1, 1], F32), t(0)], {}, 1,
     r"begin \(input 1\) has dtype float32, " + INDEX_32_64),
    ("SLICE", [t(2, 6), c([0, 0], I16), c([1, 1], I16), t(0)], {}, 1, r"has dtype int16"),
    # ...and begin and size of one dtype: TFLite reads size as begin's
    ("SLICE", [t(2, 6), c([0, 0]), c([1, 1], I64), t(0)], {}, 1,
     r"dtypes differ: input 1 int32, input 2 int64"),
    ("TILE", [t(2, 3), c([1, 2], F32), t(0)], {}, 1, r"multiples \(input 1\) has dtype float32"),
    ("TILE", [t(2, 3), c([1, 2], I16), t(0)], {}, 1, r"multiples \(input 1\) has dtype int16"),
    ("BROADCAST_TO", [t(2, 3), c([2, 2, 3], F32), t(0)], {}, 1,
     r"shape \(input 1\) has dtype float32, " + INDEX_32_64),
    ("MIRROR_PAD", [t(2, 3), c([[0, 0], [1, 1]], I16), t(0)], {}, 1,
     r"paddings \(input 1\) has dtype int16, " + INDEX_32_64),
    # ...int32 only where TFLite reads them as int32 whatever they are
    ("TRANSPOSE", [t(2, 3), c([1, 0], I64), t(0)], {}, 1,
     r"perm \(input 1\) has dtype int64, the op takes int32$"),
    ("STRIDED_SLICE", [t(4), c([0]), c([2], I64), c([1]), t(0)], {}, 1,
     r"input 2 has dtype int64, the op takes int32"),
    ("STRIDED_SLICE", [t(4), c([0]), c([2]), c([1.0], F32), t(0)], {}, 1,
     r"input 3 has dtype float32"),
    ("RESIZE_NEAREST_NEIGHBOR", [t(1, 2, 2, 1), c([4, 4], F32), t(0)], {}, 1,
     r"size \(input 1\) has dtype float32, the op takes int32$"),
    ("SPACE_TO_BATCH_ND", [t(1, 2, 2, 1), c([2, 2], I64), c([[0, 0], [0, 0]]), t(0)], {}, 1,
     r"block_shape \(input 1\) has dtype int64, the op takes int32$"),
    ("SPACE_TO_BATCH_ND", [t(1, 2, 2, 1), c([2, 2]), c([[0, 0], [0, 0]], I64), t(0)], {}, 1,
     r"paddings \(input 2\) has dtype int64, the op takes int32$"),
    ("BATCH_TO_SPACE_ND", [t(4, 1, 1, 1), c([2, 2]), c([[0, 0], [0, 0]], F32), t(0)], {}, 1,
     r"crops \(input 2\) has dtype float32"),
    ("CUMSUM", [t(2, 3), c(1, I64), t(0)], {}, 1,
     r"axis \(input 1\) has dtype int64, the op takes int32$"),
    ("REVERSE_V2", [t(2, 3), c([1], I64), t(0)], {}, 1,
     r"axis \(input 1\) has dtype int64, the op takes int32$"),
    # indices
    ("GATHER", [t(2, 3), c([0.0], F32), t(0)], {}, 1,
     r"indices \(input 1\) has dtype float32, the op takes int16 or int32 or int64"),
    ("GATHER", [t(2, 3), c([0], I8), t(0)], {}, 1, r"indices \(input 1\) has dtype int8"),
    ("GATHER_ND", [t(2, 3), c([[0.0]], F32), t(0)], {}, 1,
     r"indices \(input 1\) has dtype float32, the op takes int16 or int32 or int64"),
    ("GATHER_ND", [t(2, 3), c([[0]], U8), t(0)], {}, 1, r"indices \(input 1\) has dtype uint8"),
    # ONE_HOT: int32/int64 indices and depth, on and off values of the output's dtype
    ("ONE_HOT", [t(2, dtype=F32), c(3), c(1.0, F32), c(0.0, F32), t(0)], {}, 1,
     r"indices \(input 0\) has dtype float32, " + INDEX_32_64),
    ("ONE_HOT", [t(2, dtype=U8), c(3), c(1.0, F32), c(0.0, F32), t(0)], {}, 1,
     r"indices \(input 0\) has dtype uint8"),
    ("ONE_HOT", [t(2, dtype=I32), c(3.0, F32), c(1.0, F32), c(0.0, F32), t(0)], {}, 1,
     r"depth \(input 1\) has dtype float32"),
    ("ONE_HOT", [t(2, dtype=I32), c(3), c(1, I32), c(0.0, F32), t(0)], {}, 1,
     r"dtypes differ: input 2 int32, input 3 float32, output 0 float32"),
    ("ONE_HOT", [t(2, dtype=I32), c(3), c(1, I32), c(0, I32), t(0)], {}, 1,
     r"input 2 int32, input 3 int32, output 0 float32"),
    # RANGE: start, limit, delta and output of one of TFLite's three dtypes
    ("RANGE", [c(0, I16), c(3, I16), c(1, I16), t(0, dtype=I16)], {}, 1,
     r"input 0 has dtype int16, the op takes float32 or int32 or int64"),
    ("RANGE", [c(0), c(3, I64), c(1), t(0, dtype=I32)], {}, 1, r"input 1 int64"),
    # TOPK_V2: values like the input, k and the indices int32 or int16
    ("TOPK_V2", [t(2, 5), c(2, I64), t(0), t(0, dtype=I32)], {}, 2,
     r"k \(input 1\) has dtype int64, the op takes int16 or int32"),
    ("TOPK_V2", [t(2, 5), c(2), t(0), t(0, dtype=I64)], {}, 2,
     r"output 1 has dtype int64, the op takes int16 or int32"),
    ("TOPK_V2", [t(2, 5), c(2), t(0, dtype=I32), t(0, dtype=I32)], {}, 2,
     r"input 0 float32, output 0 int32"),
    # shape values
    ("RANK", [t(2, 3), t(dtype=I64)], {}, 1, r"output 0 has dtype int64, the op takes int32"),
    ("RANK", [t(2, 3), t(dtype=F32)], {}, 1, r"output 0 has dtype float32"),
    ("BROADCAST_ARGS", [c([2, 1], F32), c([3], F32), t(0, dtype=F32)], {}, 1,
     r"input 0 has dtype float32, " + INDEX_32_64),
    ("BROADCAST_ARGS", [c([2, 1]), c([3], I64), t(0, dtype=I32)], {}, 1,
     r"input 0 int32, input 1 int64"),
    ("BROADCAST_ARGS", [c([2, 1]), c([3]), t(0, dtype=I64)], {}, 1, r"output 0 int64"),
])
def test_refuses_wrong_dtypes(op, tensors, attrs, outputs, match):
    refused(InvalidModelError, match, op, tensors, attrs, outputs)


@pytest.mark.parametrize("op, tensors, attrs, outputs, want", [
    # the other index dtypes that TFLite reads right
    ("EXPAND_DIMS", [t(2, 3), c(-1, I64), t(0)], {}, 1, [(2, 3, 1)]),
    ("PAD", [t(2, 3), c([[0, 0], [1, 1]], I8), t(0)], {}, 1, [(2, 5)]),
    ("PAD", [t(2, 3), c([[0, 0], [1, 1]], I16), t(0)], {}, 1, [(2, 5)]),
    ("SPLIT", [c(-1, I64), t(2, 6), t(0), t(0)], {"num_splits": 2}, 2, [(2, 3)] * 2),
    ("SPLIT_V", [t(2, 6), c([2, -1], I64), c(1, I64), t(0), t(0)], {"num_splits": 2}, 2,
     [(2, 2), (2, 4)]),
    ("TILE", [t(2, 3), c([1, 2], I64), t(0)], {}, 1, [(2, 6)]),
    ("MIRROR_PAD", [t(2, 3), c([[0, 0], [1, 1]], I64), t(0)], {}, 1, [(2, 5)]),
    ("GATHER", [t(4, 3), c([0, 3], I16), t(0)], {}, 1, [(2, 3)]),
    ("GATHER_ND", [t(4, 3, dtype=U8), c([[0], [3]], I16), t(0, dtype=U8)], {}, 1, [(2, 3)]),
    ("ONE_HOT", [t(2, dtype=I64), c(3, I64), c(True, "bool"), c(False, "bool"), t(0, dtype="bool")],
     {}, 1, [(2, 3)]),
    ("TOPK_V2", [t(2, 5, dtype=I8), c(2, I16), t(0, dtype=I8), t(0, dtype=I16)], {}, 2,
     [(2, 2)] * 2),
    ("RANGE", [c(0, I64), c(3, I64), c(1, I64), t(0, dtype=I64)], {}, 1, [(3,)]),
    ("BROADCAST_ARGS", [c([2, 1], I64), c([3], I64), t(0, dtype=I64)], {}, 1, [(2,)]),
])
def test_takes_the_index_dtypes_tflite_reads(op, tensors, attrs, outputs, want):
    assert shapes(op, tensors, attrs, outputs) == want


# ---- STRIDED_SLICE ------------------------------------------------------------------------
def ss(dims, begin, end, step, **masks):
    tensors = [t(*dims), c(begin), c(end), c(step), t(0)]
    return shapes("STRIDED_SLICE", tensors, masks)


def numpy_index(begin, end, step, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                shrink_axis_mask=0):
    """The numpy index that TensorFlow's strided_slice spec stands for."""
    index = []
    for i, (b, e, s) in enumerate(zip(begin, end, step)):
        if ellipsis_mask >> i & 1:
            index.append(Ellipsis)
        elif new_axis_mask >> i & 1:
            index.append(np.newaxis)
        elif shrink_axis_mask >> i & 1:
            index.append(b)
        else:
            index.append(slice(None if begin_mask >> i & 1 else b,
                               None if end_mask >> i & 1 else e, s))
    return tuple(index)


def _spec_cases(n_cases=400, seed=5):
    """Random well-formed specs (at most one ellipsis, which no other mask shares); shrunk
    indices are kept only where numpy finds them inside the dim."""
    rng = random.Random(seed)
    for _ in range(n_cases):
        dims = [rng.randint(0, 6) for _ in range(rng.randint(1, 4))]
        n = rng.randint(1, len(dims))
        spec = dict(begin=[rng.randint(-8, 8) for _ in range(n)],
                    end=[rng.randint(-8, 8) for _ in range(n)],
                    step=[rng.choice([-3, -2, -1, 1, 2, 3]) for _ in range(n)])
        full = (1 << n) - 1
        ell = 1 << rng.randrange(n) if rng.random() < 0.3 else 0
        new = rng.randint(0, full) & ~ell if rng.random() < 0.3 else 0
        masks = dict(begin_mask=rng.randint(0, full), end_mask=rng.randint(0, full),
                     ellipsis_mask=ell, new_axis_mask=new,
                     shrink_axis_mask=rng.randint(0, full) & ~ell & ~new)
        try:
            np.zeros(dims)[numpy_index(**spec, **masks)]
        except IndexError:
            masks["shrink_axis_mask"] = 0
        yield dims, spec, masks


@pytest.mark.parametrize("dims, spec, masks", list(_spec_cases()))
def test_strided_slice_matches_numpy(dims, spec, masks):
    x = np.zeros(dims)
    want = x[numpy_index(**spec, **masks)].shape
    assert ss(dims, spec["begin"], spec["end"], spec["step"], **masks) == [want]


@pytest.mark.parametrize("dims, begin, end, step, masks, want", [
    # offset: end is a size, counted from the begin: TFLite sizes the output ceil(end/step)
    ((4, 6), [1, 2], [2, 3], [1, 1], {"offset": True}, (2, 3)),
    ((5, 7), [-3, 1], [2, 4], [1, 2], {"offset": True}, (2, 2)),
    ((4, 6), [1, 2], [10, 3], [1, 1], {"offset": True}, (10, 3)),   # unclamped, as TFLite
    # an ellipsis in the middle, a new axis, a shrunk axis, a negative step
    ((2, 3, 4, 5), [1, 0, 0, 4], [2, 0, 0, 0], [1, 1, 1, -2],
     {"ellipsis_mask": 2, "new_axis_mask": 4, "shrink_axis_mask": 1}, (3, 4, 1, 2)),
    # specs shorter than the rank take the remaining axes whole
    ((2, 3, 4), [1], [2], [1], {}, (1, 3, 4)),
    # a shrunk index below -dim is clamped to 0 first (with a positive step): TFLite takes it
    ((4, 6), [-5], [5], [1], {"shrink_axis_mask": 1}, (6,)),
])
def test_strided_slice_special_cases(dims, begin, end, step, masks, want):
    assert ss(dims, begin, end, step, **masks) == [want]


def test_strided_slice_offset_does_not_need_a_constant_begin():
    tensors = [t(4, 6), t(2, dtype="int32"), c([2, 3]), c([1, 1]), t(0)]
    assert shapes("STRIDED_SLICE", tensors, {"offset": True}) == [(2, 3)]
    refused(UnsupportedError, r"needs a constant begin", "STRIDED_SLICE", tensors)


@pytest.mark.parametrize("dims, begin, end, step, masks, match", [
    ((4, 6), [0, 0], [4, 6], [1, 0], {}, r"give axis 1 a zero step"),
    ((4, 6), [0, 0], [4], [1, 1], {}, r"begin has 2 entries, end 1"),
    ((4, 6), [0, 0], [4, 6], [1], {}, r"begin has 2 entries, strides 1"),
    ((4, 6), [4], [5], [1], {"shrink_axis_mask": 1}, r"shrunk axis 0: index 4 is out of range"),
    ((4, 6), [-5], [5], [-1], {"shrink_axis_mask": 1}, r"index -5 is out of range"),
    ((0, 6), [0], [1], [1], {"shrink_axis_mask": 1, "begin_mask": 1}, r"for its size 0"),
    # with offset, TFLite reads end at the effective axis: past the list here
    ((4, 6), [0], [2], [1], {"offset": True}, r"reads end\[1\], past its 1 entries"),
    ((4, 6), [0], [2], [1], {"offset": True, "new_axis_mask": 1}, r"reads end\[1\]"),
])
def test_strided_slice_refuses(dims, begin, end, step, masks, match):
    refused(InvalidModelError, match, "STRIDED_SLICE", [t(*dims), c(begin), c(end), c(step), t(0)],
            masks)


def test_strided_slice_takes_int32_lists_only():
    refused(InvalidModelError, r"input 1 has dtype int64", "STRIDED_SLICE",
            [t(4), c([0], "int64"), c([2]), c([1]), t(0)])


# ---- control flow ---------------------------------------------------------------------------
def sub(ins, outs):
    """A subgraph with inputs `ins` and outputs `outs`: the hooks read only their dtypes and
    shapes, not the nodes in between (validated on their own)."""
    n = len(ins)
    return Graph(tensors=tuple(ins) + tuple(outs), nodes=(), inputs=tuple(range(n)),
                 outputs=tuple(range(n, n + len(outs))))


def while_graph(cond, body, ins=(t(2, 3), t(dtype="int32")), outs=None, attrs=None):
    outs = ins if outs is None else outs
    n = len(ins)
    node = Node("WHILE", tuple(range(n)), tuple(range(n, n + len(outs))),
                attrs or {"cond_subgraph_index": 1, "body_subgraph_index": 2})
    return Graph(tensors=tuple(ins) + tuple(outs), nodes=(node,), inputs=tuple(range(n)),
                 outputs=node.outputs, subgraphs=(cond, body))


VARS = (t(2, 3), t(dtype="int32"))
COND = sub(VARS, [t(dtype="bool")])
BODY = sub(VARS, VARS)


def while_shapes(g):
    return [tuple(s) for s in TABLE["WHILE"].shape(g.nodes[0], g)]


def test_while_gives_the_loop_variables():
    assert while_shapes(while_graph(COND, BODY)) == [(2, 3), ()]


@pytest.mark.parametrize("g, error, match", [
    (while_graph(COND, BODY, attrs={"cond_subgraph_index": 1, "body_subgraph_index": 3}),
     InvalidModelError, r"body_subgraph_index 3 names no subgraph"),
    (while_graph(COND, BODY, attrs={"cond_subgraph_index": 0, "body_subgraph_index": 2}),
     InvalidModelError, r"cond_subgraph_index 0 names no subgraph"),
    (while_graph(COND, BODY, attrs={"cond_subgraph_index": 2, "body_subgraph_index": 2}),
     InvalidModelError, r"the same subgraph"),
    (while_graph(COND, BODY, attrs={"body_subgraph_index": 2}), InvalidModelError,
     r"cond_subgraph_index None"),
    (while_graph(COND, BODY, outs=VARS[:1]), InvalidModelError, r"has 1 outputs, the op gives 2"),
    (while_graph(sub(VARS[:1], [t(dtype="bool")]), BODY), InvalidModelError, r"cond takes 1"),
    (while_graph(COND, sub(VARS, VARS[:1])), InvalidModelError, r"body takes 2 and gives 1"),
    (while_graph(sub(VARS, [t(dtype="bool")] * 2), BODY), InvalidModelError, r"and gives 2"),
    (while_graph(sub(VARS, [t(dtype="int32")]), BODY), InvalidModelError, r"not one bool"),
    (while_graph(sub(VARS, [t(2, dtype="bool")]), BODY), InvalidModelError, r"not one bool"),
    (while_graph(COND, sub((t(2, 3), t(dtype="int64")), VARS)), InvalidModelError,
     r"body's input 1 is int64, the node's is int32"),
    (while_graph(COND, sub((t(3, 2), VARS[1]), VARS)), InvalidModelError,
     r"body's input 0 has shape \[3, 2\], the node's \[2, 3\]"),
    (while_graph(COND, sub((t(3, 2, signature=(-1, 2)), VARS[1]), VARS)), UnsupportedError,
     r"dynamic shape"),
    (while_graph(COND, sub(VARS, (t(2, 4), VARS[1]))), UnsupportedError,
     r"changes loop variable 0 from shape \[2, 3\] to \[2, 4\]"),
    (while_graph(COND, sub(VARS, (t(2, 3, dtype="int8"), VARS[1]))), InvalidModelError,
     r"body's output 0 is int8"),
    (while_graph(COND, BODY, outs=(t(2, 3), t(dtype="int8"))), InvalidModelError,
     r"loop variable 1 is int32 in and int8 out"),
])
def test_while_refuses(g, error, match):
    with pytest.raises(error, match=match):
        while_shapes(g)


def if_graph(then, other, ins=(t(dtype="bool"), t(2, 3)), outs=(t(4),), attrs=None):
    n = len(ins)
    node = Node("IF", tuple(range(n)), tuple(range(n, n + len(outs))),
                attrs or {"then_subgraph_index": 1, "else_subgraph_index": 2})
    return Graph(tensors=tuple(ins) + tuple(outs), nodes=(node,), inputs=tuple(range(n)),
                 outputs=node.outputs, subgraphs=(then, other))


def if_shapes(g):
    return [tuple(s) for s in TABLE["IF"].shape(g.nodes[0], g)]


BRANCH = sub([t(2, 3)], [t(6)])


def test_if_gives_the_branches_outputs():
    """The output follows the branches, not the stored shape (validate compares them)."""
    assert if_shapes(if_graph(BRANCH, BRANCH)) == [(6,)]


@pytest.mark.parametrize("g, error, match", [
    (if_graph(BRANCH, BRANCH, ins=(t(2, dtype="bool"), t(2, 3))), InvalidModelError,
     r"condition \(input 0\) is bool\[2\], not one bool"),
    (if_graph(BRANCH, BRANCH, ins=(t(dtype="int32"), t(2, 3))), InvalidModelError, r"not one bool"),
    (if_graph(BRANCH, BRANCH, ins=()), InvalidModelError, r"has 0 inputs, the op takes 1"),
    (if_graph(BRANCH, BRANCH, attrs={"then_subgraph_index": 1, "else_subgraph_index": 5}),
     InvalidModelError, r"else_subgraph_index 5 names no subgraph"),
    (if_graph(BRANCH, sub([t(2, 3), t(2, 3)], [t(6)])), InvalidModelError,
     r"the else branch takes 2 and gives 1, the node passes 1 and takes 1"),
    (if_graph(sub([t(2, 3)], [t(6), t(6)]), BRANCH), InvalidModelError,
     r"then branch takes 1 and gives 2"),
    (if_graph(BRANCH, sub([t(3, 2)], [t(6)])), InvalidModelError,
     r"else branch's input 0 has shape \[3, 2\]"),
    (if_graph(BRANCH, sub([t(2, 3, dtype="int32")], [t(6)])), InvalidModelError,
     r"else branch's input 0 is int32"),
    (if_graph(BRANCH, sub([t(2, 3)], [t(6, dtype="int32")])), InvalidModelError,
     r"else branch's output 0 is int32, the node's float32"),
    (if_graph(BRANCH, sub([t(2, 3)], [t(5)])), UnsupportedError,
     r"output 0: the branches give shapes \[6\] and \[5\]"),
])
def test_if_refuses(g, error, match):
    with pytest.raises(error, match=match):
        if_shapes(g)


def test_missing_output_is_refused():
    g = single_op_graph("RANK", [t(2, 3), t(dtype="int32")])
    node = g.nodes[0].replace(outputs=(-1,))
    with pytest.raises(InvalidModelError, match=r"an output is missing"):
        TABLE["RANK"].shape(node, g)


def test_all_mask_combinations_of_a_short_spec_stay_in_bounds():
    """Every combination of the five masks over a 2-entry spec either computes a shape
    with no negative dims or is refused: never an IndexError or a silent wrap."""
    for bits in itertools.product(range(4), repeat=5):
        masks = dict(zip(("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                          "shrink_axis_mask"), bits), offset=False)
        try:
            out = ss((3, 4), [1, -1], [3, 0], [1, -1], **masks)
        except (InvalidModelError, UnsupportedError):
            continue
        assert min(out[0], default=0) >= 0
