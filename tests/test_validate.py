"""The validation pass (dlcoder/validate.py) on hand-built graphs that contradict
themselves: each is refused with an error that names the problem, before any other pass
runs; and every model in the repository and the shared suite passes it unchanged."""
import json

import numpy as np
import pytest

from dlcoder import validate as V
from dlcoder.errors import DynamicShapeError, InvalidModelError, UnsupportedError
from dlcoder.ir import Graph, Node, Quant, Tensor
from dlcoder.ops import TABLE
from dlcoder.frontend import tflite as frontend
from support import ROOT, SHARED_MODELS, require_shared

X = Tensor("x", (2, 3), "float32")
Y = Tensor("y", (2, 3), "float32")
Z = Tensor("z", (2, 3), "float32")


def graph(nodes, tensors=(X, Y, Z), inputs=(0,), outputs=(2,), subgraphs=()):
    return Graph(tensors=tuple(tensors), nodes=tuple(nodes), inputs=inputs, outputs=outputs,
                 subgraphs=subgraphs)


def relu(i, o, index=0):
    return Node("RELU", (i,), (o,), {}, index)


def test_a_valid_chain_passes():
    g = graph([relu(0, 1), relu(1, 2, 1)])
    assert V.validate(g) == g


@pytest.mark.parametrize("nodes, outputs, message", [
    ([relu(0, 1), relu(1, 5, 1)], (2,), r"node 1 \(RELU\) names tensor 5, but there are 3"),
    ([relu(0, 1), relu(-2, 2, 1)], (2,), r"names tensor -2"),
    ([relu(0, 1), relu(1, 2, 1)], (7,), r"an output names tensor 7"),
    ([relu(1, 2), relu(0, 1, 1)], (2,), r"node 0 \(RELU\) reads tensor 1 'y', which is neither"),
    ([relu(0, 1), relu(0, 1, 1)], (1,), r"node 1 \(RELU\) writes tensor 1 'y', which node 0 writes too"),
    ([relu(0, 1)], (2,), r"output tensor 2 'z' is never written"),
    ([relu(0, 0)], (0,), r"writes tensor 0 'x', which is an input"),
])
def test_structure(nodes, outputs, message):
    with pytest.raises(InvalidModelError, match=message):
        V.validate(graph(nodes, outputs=outputs))


def test_writing_a_constant_is_refused():
    c = Tensor("c", (2, 3), "float32", np.zeros((2, 3), np.float32))
    with pytest.raises(InvalidModelError, match="writes tensor 1 'c', which is a constant"):
        V.validate(graph([relu(0, 1)], tensors=(X, c), outputs=(1,)))


def test_absent_required_input_is_refused():
    """-1 would index the last tensor in Python: the op's arity check refuses it."""
    g = graph([Node("ADD", (0, -1), (1,), {"fused_activation_function": "NONE"}, 0)], outputs=(1,))
    with pytest.raises(InvalidModelError, match=r"node 0 \(ADD\): required input 1 is missing"):
        V.validate(g)


def test_stored_shape_that_differs_from_the_op_is_refused():
    """The softmax that wrote past a 40-byte output: the stored shape must be computed."""
    small = Tensor("y", (2, 2), "float32")
    g = graph([Node("SOFTMAX", (0,), (1,), {"beta": 1.0}, 0)], tensors=(X, small), outputs=(1,))
    with pytest.raises(InvalidModelError, match=r"stored with shape \[2, 2\], but the op computes \[2, 3\]"):
        V.validate(g)


def test_dynamic_placeholder_shapes_are_replaced():
    dyn = Tensor("y", (1, 3), "float32", signature=(-1, 3))
    x = Tensor("x", (1, 3), "float32", signature=(-1, 3))
    g = graph([relu(0, 1)], tensors=(x, dyn), outputs=(1,))
    pinned = V.validate(g, {"x": (5, 3)})
    assert [t.shape for t in pinned.tensors] == [(5, 3), (5, 3)]


def test_unpinned_dynamic_input_takes_its_stored_shape_with_a_note():
    x = Tensor("x", (2, 3), "float32", signature=(-1, 3))
    g = graph([relu(0, 1)], tensors=(x, Tensor("y", (2, 3), "float32", signature=(-1, 3))), outputs=(1,))
    notes = []
    out = V.validate(g, note=notes.append)
    assert [t.shape for t in out.tensors] == [(2, 3), (2, 3)]
    assert notes == ["input 'x' has a dynamic shape [?x3]; generating for the shape the model "
                     "stores, 2x3 (as TFLite does); --input-shape x=... chooses another"]
    assert V.validate(g, {"x": (2, 3)}, note=notes.append) and len(notes) == 1   # pinned: silent


def test_dynamic_input_without_a_stored_size_must_be_pinned():
    x = Tensor("x", (0, 3), "float32", signature=(-1, 3))
    g = graph([relu(0, 1)], tensors=(x, Tensor("y", (0, 3), "float32", signature=(-1, 3))), outputs=(1,))
    with pytest.raises(DynamicShapeError, match=r"stores no size for it; pin it with --input-shape x=1x3"):
        V.validate(g)


def test_subgraph_that_runs_itself_is_refused():
    body = graph([Node("WHILE", (0,), (1,), {"cond_subgraph_index": 1, "body_subgraph_index": 1}, 0)],
                 tensors=(X, Y), outputs=(1,))
    g = graph([Node("WHILE", (0,), (1,), {"cond_subgraph_index": 1, "body_subgraph_index": 1}, 0)],
              tensors=(X, Y), outputs=(1,), subgraphs=(body,))
    with pytest.raises(InvalidModelError, match="subgraph 1 runs itself"):
        V.validate(g)


def test_subgraph_index_out_of_range_is_refused():
    g = graph([Node("WHILE", (0,), (1,), {"cond_subgraph_index": -1, "body_subgraph_index": 9}, 0)],
              tensors=(X, Y), outputs=(1,))
    with pytest.raises(InvalidModelError, match="cond_subgraph_index -1 names no subgraph"):
        V.validate(g)


def test_unknown_ops_are_named_before_shapes():
    g = graph([Node("BUCKETIZE", (0,), (1,), {}, 0), relu(1, 2, 1)])
    with pytest.raises(UnsupportedError, match=r"BUCKETIZE x1 \(first at node 0\)"):
        V.validate(g)


@pytest.mark.parametrize("tensor, message", [
    (Tensor("y", (2, 3), "float32", quant=Quant(np.ones(2, np.float32), np.zeros(3, np.int64))),
     "2 quantization scales but 3 zero points"),
    (Tensor("y", (2, 3), "float32", quant=Quant(np.ones(2, np.float32), np.zeros(2, np.int64), axis=1)),
     "2 quantization scales along axis 1"),
    (Tensor("y", (2, 3), "float32", signature=(2, 3, 1)), "does not fit its shape"),
])
def test_tensor_facts(tensor, message):
    with pytest.raises(InvalidModelError, match=message):
        V.validate(graph([relu(0, 1), relu(1, 2, 1)], tensors=(X, tensor, Z)))


def test_sizes_past_two_gib_are_refused():
    """The 3.4 TB static arena: a size that cannot be addressed is an error, not code."""
    big = Tensor("x", (1 << 20, 1 << 20), "float32")
    g = graph([relu(0, 1)], tensors=(big, big.replace(name="y")), outputs=(1,))
    with pytest.raises(InvalidModelError, match="past the 2147483647-byte limit"):
        V.validate(g)


def test_every_model_op_has_a_shape_rule():
    """Internal fused ops (DLCODER_*) come from passes, never from a model."""
    missing = sorted(name for name, d in TABLE.items()
                     if d.shape is None and not name.startswith("DLCODER_"))
    assert missing == []


def _model_paths():
    """The repository's models but those made to be rejected: errors/ and the
    quantized_bytes/ cases TFLite rejects (test_quantized_bytes expects InvalidModelError)."""
    paths = sorted(ROOT.glob("tests/models/**/*.tflite")) + sorted(ROOT.glob("examples/**/*.tflite"))
    qb = ROOT / "tests" / "models" / "quantized_bytes"
    rejected = {qb / f"{case}.tflite" for case, entry in
                json.loads((qb / "index.json").read_text()).items() if "rejects" in entry}
    return [p for p in paths if p.parent.name != "errors" and p not in rejected]


def test_every_repository_model_validates_unchanged():
    """Stored shapes of converter-made models equal what the shape rules compute."""
    for path in _model_paths():
        g = frontend.load(str(path))
        try:
            checked = V.validate(g)
        except UnsupportedError:
            continue      # models that test an unsupported-op message
        fixed = [k for k, t in enumerate(g.tensors) if not (t.signature and -1 in t.signature)]
        # a dim the model marks dynamic holds a placeholder that validation replaces
        assert [checked.tensors[k].shape for k in fixed] == [g.tensors[k].shape for k in fixed], path


def test_every_shared_model_validates_unchanged():
    require_shared()
    for path in sorted(SHARED_MODELS.glob("*.tflite")):
        g = frontend.load(str(path))
        checked = V.validate(g)
        assert [t.shape for t in checked.tensors] == [t.shape for t in g.tensors], path


def test_an_input_passed_straight_to_an_output_needs_a_c_type():
    """No op's dtype rule sees it, so the C API would have no type for it."""
    x = Tensor("x", (2,), "float64")
    with pytest.raises(UnsupportedError, match="input 'x' has dtype float64"):
        V.validate(graph([], tensors=(x,), inputs=(0,), outputs=(0,)))


def test_hostile_tensor_names_stay_on_one_line():
    """Messages are one line, and comments (--keep-names) cannot splice code."""
    assert frontend.tensor_name(b"a\nb\x00" + b"x" * 1000).startswith("a\\x0ab\\x00x")
    assert len(frontend.tensor_name(b"x" * 1000)) == frontend.MAX_NAME + 3


def test_a_model_without_outputs_is_refused():
    """Found by the fuzzer's sanitizer stage: its NAME_run could only fail."""
    with pytest.raises(InvalidModelError, match="no outputs"):
        V.validate(graph([relu(0, 1)], outputs=()))
