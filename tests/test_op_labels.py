"""What the user reads names the model's ops, never dlcoder's internal fused ones: a node
that a pass made from several model ops carries their names (attrs["fused_ops"]), and
ir.op_label / ir.op_note turn that into "CONV_2D+RELU" and a note on the fusion, in the
unsupported-op messages and in `dlcoder bench --per-op` (rendered here without running a
benchmark)."""
import pytest

from dlcoder import bench, compiler
from dlcoder.errors import UnsupportedError
from dlcoder.ir import Graph, Node, Tensor, op_label, op_note
from support import TESTS

CONV_DW = ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D")


def t(dtype="float32", shape=(1, 4, 4, 8)):
    return Tensor("t", shape, dtype)


@pytest.mark.parametrize("node, label, note", [
    (Node("ADD", (0, 1), (2,)), "ADD", ""),
    (Node("DLCODER_CONV_DW", (0,), (1,), {"fused_ops": CONV_DW}),
     "CONV_2D+DEPTHWISE_CONV_2D+CONV_2D", "fused by dlcoder into one kernel, DLCODER_CONV_DW"),
    (Node("DLCODER_SWISH", (0,), (1,), {"fused_ops": ("LOGISTIC", "MUL")}),
     "LOGISTIC+MUL", "fused by dlcoder into one kernel, DLCODER_SWISH"),
    (Node("CONV_2D", (0,), (1,), {"fused_ops": ("CONV_2D", "RELU")}),
     "CONV_2D+RELU", "fused by dlcoder into one kernel, CONV_2D"),
    (Node("CONV_2D", (0,), (1,), {"fused_ops": ("CONV_2D",)}), "CONV_2D", ""),
    # a pass that forgot fused_ops: the internal name is all there is to show
    (Node("DLCODER_SWISH", (0,), (1,)), "DLCODER_SWISH", ""),
])
def test_label_and_note(node, label, note):
    assert (op_label(node), op_note(node)) == (label, note)


def _graph(nodes, dtype="float32"):
    n_tensors = 1 + max(max(n.outputs) for n in nodes)
    return Graph(tensors=tuple(t(dtype) for _ in range(n_tensors)), nodes=tuple(nodes),
                 inputs=(0,), outputs=(n_tensors - 1,))


def test_unsupported_message_names_the_model_ops():
    node = Node("DLCODER_CONV_DW", (0,), (1,), {"fused_ops": CONV_DW}, index=4)
    with pytest.raises(UnsupportedError) as err:
        compiler.check_supported(_graph([node], dtype="int8"))
    assert str(err.value) == (
        "unsupported: CONV_2D+DEPTHWISE_CONV_2D+CONV_2D x1 (first at node 4: int8 tensors are "
        "not supported by CONV_2D+DEPTHWISE_CONV_2D+CONV_2D; fused by dlcoder into one kernel, "
        "DLCODER_CONV_DW)")


def test_unknown_fused_op_is_reported_by_its_model_ops():
    node = Node("DLCODER_NOT_AN_OP", (0,), (1,), {"fused_ops": ("LOGISTIC", "MUL")}, index=2)
    with pytest.raises(UnsupportedError, match=r"^unsupported: LOGISTIC\+MUL x1 \(first at node 2; "
                                               r"fused by dlcoder into one kernel, DLCODER_NOT_AN_OP\)$"):
        compiler.check_supported(_graph([node]))


def test_per_op_rendering():
    nodes = [Node("CONV_2D", (0,), (1,), {"fused_ops": ("CONV_2D", "RELU")}, index=0),
             Node("DLCODER_CONV_DW", (1,), (2,), {"fused_ops": CONV_DW}, index=2),
             Node("DLCODER_CONV_DW", (2,), (3,), {"fused_ops": CONV_DW}, index=5),
             Node("ADD", (3, 1), (4,), index=8)]
    table = bench.per_op_table(_graph(nodes), [10.0, 30.0, 50.0, 10.0])
    assert [s["op"] for s in table["steps"]] == ["CONV_2D+RELU", "+".join(CONV_DW),
                                                 "+".join(CONV_DW), "ADD"]
    assert table["by_op"]["+".join(CONV_DW)] == {
        "count": 2, "us": 80.0, "note": "fused by dlcoder into one kernel, DLCODER_CONV_DW"}
    text = bench.format_per_op(table)
    lines = text.splitlines()
    assert lines[1].split() == ["CONV_2D+DEPTHWISE_CONV_2D+CONV_2D", "x2", "0.080", "ms", "80.0%",
                                "(fused", "by", "dlcoder", "into", "one", "kernel,",
                                "DLCODER_CONV_DW)"]
    # the op columns name model ops only; the internal names appear in the notes
    assert [line.split()[0] for line in lines[1:4]] == ["+".join(CONV_DW), "CONV_2D+RELU", "ADD"]
    assert lines[4] == "slowest 15 steps:"
    assert [line.split()[2] for line in lines[5:]] == ["+".join(CONV_DW), "+".join(CONV_DW),
                                                       "CONV_2D+RELU", "ADD"]


@pytest.mark.parametrize("model", ["net_conv_dw_residual_fc", "net_attention_block"])
def test_fused_steps_of_a_compiled_model_show_model_ops(model):
    """The passes give every node they make its model ops: no step of the profile table
    is labelled with an internal op."""
    g0 = compiler.load_graph(str(TESTS / "models" / "ops" / f"{model}.tflite"))
    _, g = compiler.compile_graph(g0, "m")
    assert any(n.op.startswith("DLCODER_") for n in g.nodes)
    table = bench.per_op_table(g, [1.0] * len(g.nodes))
    for step, node in zip(table["steps"], g.nodes):
        assert "DLCODER_" not in step["op"], step
        if node.op.startswith("DLCODER_"):
            assert step["note"].endswith(node.op)
