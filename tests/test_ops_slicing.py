"""Slicing, replication, spatial remapping and resizing ops (dlcoder/ops/slicing.py,
dlcoder/ops/spatial.py): every attribute combination end to end against the TFLite
interpreter, the numpy evaluate hooks (constant folding) against the same reference, the
STRIDED_SLICE spec logic against numpy indexing, and the "unsupported" messages.

Models: tests/models/ops/ (make_op_models.py) and tests/models/extra/
(make_extra_models.py) for the combinations ops/ lacks."""
import numpy as np
import pytest

from dlcoder import compiler
from dlcoder.errors import UnsupportedError
from dlcoder.ir import Graph, Node, Tensor
from dlcoder.ops import TABLE
from support import (TESTS, check_against_tflite, check_folding, const_tensor,
                     load_npz_inputs, single_op_graph)

OPS, EXTRA = TESTS / "models" / "ops", TESTS / "models" / "extra"

CASES = {  # folder -> case names (its cases.json says what each covers)
    OPS: """split_3way_axis_neg1 split_v_minus1 split_v_axis0 pack_axis0_2in pack_axis1_3in
        unpack_axis0 unpack_axis1 slice_2d_minus1 slice_4d ss_shrink_axis ss_neg_stride
        ss_neg_indices ss_4d_mixed ss_ellipsis ss_new_axis ss_offset ss_ellipsis_mask
        ss_new_axis_mask gather_axis0_int32 gather_axis1_int64 gather_batch_dims1
        gather_2d_indices tile_2d broadcast_to_rank_up broadcast_to_4d depth_to_space_b2
        depth_to_space_b3 space_to_depth_b2 space_to_depth_b3 mirror_pad_reflect
        mirror_pad_symmetric""".split()
    + [f"{op}_{tag}" for op in ("resize_bilinear", "resize_nearest")
       for tag in ("up2x_plain", "up_align_corners", "up_half_pixel_nonint",
                   "down_plain_nonint", "down_half_pixel")],
    EXTRA: """ss_begin_end_masks_neg_strides ss_clamped_out_of_range ss_shrink_negative ss_5d_int32
        ss_bool_step3 ss_offset_negative_begin ss_offset_begin_mask
        ss_ellipsis_newaxis_shrink ss_short_spec slice_bool_int64_begin split_int32_4d_axis1
        split_v_neg_axis pack_int32_last_axis unpack_neg_axis gather_const_table
        gather_batch_dims2_axis3 gather_scalar_index_int32 gather_neg_batch_dims gather_bool
        tile_4d_all_axes tile_int32_int64_multiples broadcast_to_5d_int32
        depth_to_space_batch2 space_to_depth_batch2 mirror_pad_reflect_max_3axes
        mirror_pad_symmetric_full_int32 mirror_pad_int64_paddings
        resize_bilinear_align_down_batch2 resize_bilinear_half_pixel_1x1
        resize_nearest_half_pixel_down resize_nearest_align_down resize_nearest_int8
        resize_nearest_uint8 resize_nearest_uint8_fixed_point_row
        resize_nearest_float_rounding_row resize_bilinear_int8_up_half_pixel
        resize_bilinear_int8_down_align resize_bilinear_int8_plain_nonint fold_strided_slice
        fold_mirror_pad fold_gather fold_depth_to_space fold_resize_nearest""".split(),
}
ALL = [(d, c) for d, names in CASES.items() for c in names]
IDS = [f"{d.name}/{c}" for d, c in ALL]


def _load(folder, case):
    model = folder / f"{case}.tflite"
    assert model.exists(), f"{model} is missing: rebuild it with tests/models/make_*_models.py"
    g = compiler.load_graph(str(model))
    return model, g, load_npz_inputs(folder / f"{case}.npz", g)


@pytest.mark.parametrize("folder,case", ALL, ids=IDS)
def test_against_tflite(folder, case, tmp_path):
    model, _, inputs = _load(folder, case)
    check_against_tflite(model, tmp_path, inputs=inputs)


# RESIZE_BILINEAR computes rather than moves data, so it has no evaluate hook
FOLDABLE = [(d, c) for d, c in ALL if not c.startswith("resize_bilinear")]


@pytest.mark.parametrize("folder,case", FOLDABLE, ids=[f"{d.name}/{c}" for d, c in FOLDABLE])
def test_folding_matches_tflite(folder, case):
    """With the inputs made constants, the evaluate hooks must give TFLite's outputs."""
    model, g, inputs = _load(folder, case)
    check_folding(model, g, inputs)


# ---- STRIDED_SLICE spec logic vs numpy indexing --------------------------------------------
def _encode(index):
    """TFLite's begin/end/strides and masks of a numpy index tuple, as TensorFlow builds them."""
    begin, end, step, masks = [], [], [], dict.fromkeys(
        ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"), 0)
    for i, item in enumerate(index):
        b, e, s = 0, 0, 1
        if item is Ellipsis:
            masks["ellipsis_mask"] |= 1 << i
        elif item is None:
            masks["new_axis_mask"] |= 1 << i
        elif isinstance(item, int):
            b, e = item, item + 1
            masks["shrink_axis_mask"] |= 1 << i
        else:
            s = item.step or 1
            masks["begin_mask"] |= (item.start is None) << i
            masks["end_mask"] |= (item.stop is None) << i
            b, e = item.start or 0, item.stop or 0
        begin.append(b), end.append(e), step.append(s)
    return begin, end, step, masks


def _random_index(rng, rank, rank_of_x):
    items = []
    for _ in range(rank):
        kind = rng.integers(0, 6)
        if kind == 0:
            items.append(int(rng.integers(-3, 3)))
        elif kind == 1:
            items.append(None)
        else:
            pick = lambda: None if rng.random() < 0.3 else int(rng.integers(-7, 8))  # noqa: E731
            items.append(slice(pick(), pick(), int(rng.choice([-3, -2, -1, 1, 2, 3]))))
    # TFLite's ellipsis always spans at least one axis (numpy's may span none)
    if rng.random() < 0.5 and sum(i is not None for i in items) < rank_of_x:
        items.insert(int(rng.integers(0, len(items) + 1)), Ellipsis)
    return tuple(items)


def _strided_slice_graph(x, index, out_shape):
    begin, end, step, masks = _encode(index)
    ts = (Tensor("x", x.shape, str(x.dtype), x),) + tuple(
        Tensor(n, (len(v),), "int32", np.array(v, np.int32))
        for n, v in (("begin", begin), ("end", end), ("strides", step))) + (
        Tensor("y", tuple(out_shape), str(x.dtype)),)
    node = Node("STRIDED_SLICE", (0, 1, 2, 3), (4,), masks)
    return Graph(tensors=ts, nodes=(node,), inputs=(), outputs=(4,))


def test_strided_slice_spec_matches_numpy():
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 300:
        x = rng.standard_normal(tuple(rng.integers(1, 5, rng.integers(1, 5)))).astype(np.float32)
        index = _random_index(rng, int(rng.integers(1, x.ndim + 1)), x.ndim)
        try:
            want = x[index]
        except IndexError:   # an out-of-range shrink index, which TFLite rejects too
            continue
        g = _strided_slice_graph(x, index, want.shape)
        got = TABLE["STRIDED_SLICE"].evaluate(g.nodes[0], g, [t.data for t in g.tensors[:4]])
        assert got is not None and np.array_equal(got[0], want), (x.shape, index)
        checked += 1


# ---- unsupported inputs --------------------------------------------------------------------
def test_non_constant_strides_are_unsupported():
    """(begin and end may be known only at run time: test_runtime_errors.py)"""
    g = single_op_graph("STRIDED_SLICE", [Tensor("x", (4, 6), "float32"), const_tensor([0, 0]),
                                  const_tensor([2, 3]), Tensor("s", (2,), "int32"), Tensor("y", (2, 3), "float32")])
    with pytest.raises(UnsupportedError, match=r"STRIDED_SLICE x1 .*input 3 must be a constant"):
        compiler.check_supported(g)


def test_too_large_reflect_padding_is_unsupported():
    g = single_op_graph("MIRROR_PAD", [Tensor("x", (3, 4), "float32"), const_tensor([[3, 0], [0, 0]]),
                               Tensor("y", (6, 4), "float32")], {"mode": "REFLECT"})
    with pytest.raises(UnsupportedError, match=r"MIRROR_PAD x1 .*too large"):
        compiler.check_supported(g)


def test_gather_indices_need_not_be_constant():
    g = single_op_graph("GATHER", [Tensor("p", (5, 3), "float32"), Tensor("i", (4,), "int32"),
                           Tensor("y", (4, 3), "float32")], {"axis": 0, "batch_dims": 0})
    compiler.check_supported(g)


def test_shapes_that_disagree_with_the_attributes_are_unsupported():
    g = single_op_graph("DEPTH_TO_SPACE", [Tensor("x", (1, 2, 3, 8), "float32"),
                                   Tensor("y", (1, 4, 6, 3), "float32")], {"block_size": 2})
    with pytest.raises(UnsupportedError, match=r"DEPTH_TO_SPACE x1 .*shapes do not match"):
        compiler.check_supported(g)
