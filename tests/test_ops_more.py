"""ADD_N, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, GATHER_ND, REVERSE_V2, CUMSUM, ONE_HOT,
RANGE, TOPK_V2, RANK and BROADCAST_ARGS (MORE_OPS): every case of
tests/models/more/ (make_more_op_models.py) end to end against the TFLite interpreter, the
evaluate hooks (constant folding) against the same reference, the space/batch box plans
against a numpy formulation over random shapes, and the "unsupported" messages."""
import json

import numpy as np
import pytest

from dlcoder import compiler
from dlcoder.errors import UnsupportedError
from dlcoder.ir import Graph, Node, Tensor
from dlcoder.ops import TABLE
from support import (TESTS, check_against_tflite, check_folding, const_tensor,
                     load_npz_inputs, single_op_graph)

MORE = TESTS / "models" / "more"
MORE_OPS = {"ADD_N", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "GATHER_ND", "REVERSE_V2", "CUMSUM",
            "ONE_HOT", "RANGE", "TOPK_V2", "RANK", "BROADCAST_ARGS"}
CASES = json.loads((MORE / "cases.json").read_text())


def _load(case):
    model = MORE / f"{case}.tflite"
    assert model.exists(), f"{model} is missing: rebuild it with make_more_op_models.py"
    g = compiler.load_graph(str(model))
    return model, g, load_npz_inputs(MORE / f"{case}.npz", g)


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_tflite(case, tmp_path):
    model, _, inputs = _load(case)
    check_against_tflite(model, tmp_path, inputs=inputs)


def _folds(op) -> bool:
    """One of MORE_OPS with an evaluate hook, or a helper op of the models that folds
    (TOPK_V2 has no hook: a constant top-k is rare; TANH does not fold)."""
    if op in ("ADD", "CAST", "SHAPE"):
        return True
    return TABLE[op].evaluate is not None and op in MORE_OPS


FOLDABLE = sorted(c for c, entry in CASES.items() if all(_folds(op) for op in entry["ops"]))


@pytest.mark.parametrize("case", FOLDABLE)
def test_folding_matches_tflite(case):
    """With the inputs made constants, the evaluate hooks must give TFLite's outputs."""
    model, g, inputs = _load(case)
    check_folding(model, g, inputs)


def test_rank_kernel_when_not_folded(tmp_path, monkeypatch):
    """RANK always folds; forbid folding to run the copy it emits otherwise."""
    monkeypatch.setattr("dlcoder.passes.fold_constants.MAX_GROWTH", -(1 << 40))
    model, _, inputs = _load("rank_of_input")
    _, lib = check_against_tflite(model, tmp_path, inputs=inputs)
    source = next(v for k, v in lib.files.items() if k.endswith(".cc"))
    assert b"dlcoder_rt::copy<int32_t>" in source


def test_range_with_computed_inputs_runs_the_kernel():
    g = compiler.load_graph(str(MORE / "range_runtime_float.tflite"))
    _, g = compiler.compile_graph(g, "m")
    assert [n.op for n in g.nodes] == ["RANGE"]


# ---- SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND plans vs numpy ---------------------------------
def _space_to_batch_numpy(x, block, pads, pad_value):
    """TensorFlow's definition: pad, split each spatial dim into (J, b), move the b's first."""
    m = len(block)
    padded = np.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)] * (x.ndim - m - 1),
                    constant_values=pad_value)
    spatial = sum(((s // b, b) for s, b in zip(padded.shape[1:m + 1], block)), ())
    split = padded.reshape((x.shape[0],) + spatial + x.shape[m + 1:])
    order = [2 + 2 * d for d in range(m)] + [0] + [1 + 2 * d for d in range(m)] + list(
        range(2 * m + 1, split.ndim))
    moved = split.transpose(order)
    return moved.reshape((-1,) + moved.shape[m + 1:2 * m + 1] + x.shape[m + 1:])


def _block_graph(op, x_shape, block, pads, out_shape, dtype="float32"):
    ts = (Tensor("x", tuple(x_shape), dtype),
          Tensor("b", (len(block),), "int32", np.array(block, np.int32)),
          Tensor("p", (len(block), 2), "int32", np.array(pads, np.int32)),
          Tensor("y", tuple(out_shape), dtype))
    return Graph(tensors=ts, nodes=(Node(op, (0, 1, 2), (3,)),), inputs=(0,), outputs=(3,))


def test_space_batch_plans_match_numpy():
    rng = np.random.default_rng(3)
    for _ in range(200):
        m = int(rng.integers(1, 3))
        block = [int(b) for b in rng.integers(1, 6, m)]
        pads = [[int(v) for v in rng.integers(0, 7, 2)] for _ in range(m)]
        sizes = [int(rng.integers(1, 8)) for _ in range(m)]
        for d in range(m):      # make each padded size a multiple of its block
            pads[d][1] += -(sizes[d] + sum(pads[d])) % block[d]
        x_shape = [int(rng.integers(1, 3)), *sizes, int(rng.integers(1, 4))]
        x = rng.standard_normal(x_shape).astype(np.float32)
        want = _space_to_batch_numpy(x, block, pads, 0)
        g = _block_graph("SPACE_TO_BATCH_ND", x.shape, block, pads, want.shape)
        assert TABLE["SPACE_TO_BATCH_ND"].check(g.nodes[0], g) is None
        got = TABLE["SPACE_TO_BATCH_ND"].evaluate(g.nodes[0], g, [x, g.tensors[1].data,
                                                                  g.tensors[2].data])
        np.testing.assert_array_equal(got[0], want, err_msg=f"{x.shape} {block} {pads}")
        # BATCH_TO_SPACE_ND with the paddings as crops is its inverse
        g = _block_graph("BATCH_TO_SPACE_ND", want.shape, block, pads, x.shape)
        assert TABLE["BATCH_TO_SPACE_ND"].check(g.nodes[0], g) is None
        back = TABLE["BATCH_TO_SPACE_ND"].evaluate(g.nodes[0], g, [want, g.tensors[1].data,
                                                                   g.tensors[2].data])
        np.testing.assert_array_equal(back[0], x, err_msg=f"{x.shape} {block} {pads}")


# ---- unsupported inputs --------------------------------------------------------------------
def _t(shape_, dtype="float32"):
    return Tensor("t", shape_, dtype)


@pytest.mark.parametrize("op,tensors,attrs,outputs,message", [
    ("REVERSE_V2", [_t((2, 3, 4)), const_tensor([0, 2]), _t((2, 3, 4))], None, 1, "not contiguous"),
    ("REVERSE_V2", [_t((2, 3)), const_tensor([1], "int64"), _t((2, 3))], None, 1, "axis must be int32"),
    ("SPACE_TO_BATCH_ND", [_t((1, 2, 2, 2, 1)), const_tensor([2, 2]), const_tensor([[0, 0], [0, 0]]),
                           _t((4, 1, 1, 2, 1))], None, 1, "rank 3 or 4"),
    ("SPACE_TO_BATCH_ND", [_t((1, 3, 4, 1)), const_tensor([2, 2]), const_tensor([[0, 0], [0, 0]]),
                           _t((4, 1, 2, 1))], None, 1, "not multiples of block_shape"),
    ("BATCH_TO_SPACE_ND", [_t((4, 2, 2, 1)), _t((2,), "int32"), const_tensor([[0, 0], [0, 0]]),
                           _t((1, 4, 4, 1))], None, 1, "input 1 must be a constant"),
    ("ADD_N", [_t((2, 3), "int64"), _t((2, 3), "int64"), _t((2, 3), "int64")], None, 1,
     "int64 tensors are not supported"),
    ("ADD_N", [_t((2, 3)), _t((3,)), _t((2, 3))], None, 1, "differ in shape"),
    ("ONE_HOT", [_t((3,), "int32"), const_tensor(4), const_tensor(1, "int16"), const_tensor(0, "int16"),
                 _t((3, 4), "int16")], {"axis": -1}, 1, "int16 ONE_HOT"),
    ("ONE_HOT", [_t((3,), "int32"), const_tensor(4), const_tensor(1.0, "float32"), const_tensor(0.0, "float32"),
                 _t((4, 3))], {"axis": -2}, 1, "ONE_HOT axis -2"),
    ("TOPK_V2", [_t((2, 5)), _t((), "int32"), _t((2, 3)), _t((2, 3), "int32")], None, 2,
     "input 1 must be a constant"),
    ("TOPK_V2", [_t((2, 5)), const_tensor(3), _t((2, 3)), _t((2, 3), "int64")], None, 2,
     "indices must be int32 or int16"),
    ("GATHER_ND", [_t((3, 4)), _t((2, 3), "int32"), _t((2,))], None, 1, "GATHER_ND of params"),
    ("CUMSUM", [_t((3, 4)), const_tensor(2), _t((3, 4))], {}, 1, "axis 2 out of range"),
    ("BROADCAST_ARGS", [const_tensor([3, 2]), const_tensor([4]), _t((2,), "int32")], None, 1,
     "do not broadcast"),
])
def test_unsupported_messages_name_the_op(op, tensors, attrs, outputs, message):
    with pytest.raises(UnsupportedError, match=rf"{op} x1 .*{message}"):
        compiler.check_supported(single_op_graph(op, tensors, attrs, outputs))
