"""Fusion decisions of the pass pipeline on real converted models: the residual ADD goes
into the GEMM epilogue of each producer kind, and a broadcast ADD does not; a GELU goes
into the epilogue of the FULLY_CONNECTED before it; a lowered layer norm becomes one op; the
TRANSPOSEs around a BATCH_MATMUL become strided views of its operands and result. (That the fused
code matches TFLite is checked for the same models by test_ops.py, test_isa.py and
test_threads.py.)"""
import pytest

from dlcoder import compiler
from dlcoder.ops.conv import _conv_padding, _is_pointwise, _is_winograd
from support import TESTS

OPS = TESTS / "models" / "ops"
CONTRACT = TESTS / "models" / "contract"


def residual_fusions(model):
    g0 = compiler.load_graph(str(model))
    _, g = compiler.compile_graph(g0, "m")
    found = []
    for n in g.nodes:
        attrs = n.attrs["pj"] if n.op == "DLCODER_CONV_DW" and "pj" in n.attrs else n.attrs
        if "residual_act" not in attrs:
            continue
        kind = n.op
        if n.op == "CONV_2D":
            kind += ("/1x1" if _is_pointwise(n, g, *_conv_padding(n, g))
                     else "/winograd" if _is_winograd(n, g) else "/implicit")
        found.append((kind, attrs["residual_act"]))
    adds = [n for n in g.nodes if n.op == "ADD"]
    return sorted(found), len(adds)


@pytest.mark.parametrize("model, fused, adds_left", [
    (OPS / "net_resnet_basic_batch2.tflite", [("CONV_2D/winograd", "RELU")], 0),
    (OPS / "net_conv3x3_c12_residual.tflite", [("CONV_2D/implicit", "RELU")], 0),
    (OPS / "net_resnet_bottleneck.tflite", [("CONV_2D/1x1", "RELU6")], 1),
    (OPS / "net_conv_dw_residual_fc.tflite", [("DLCODER_CONV_DW", "NONE")], 0),
    (CONTRACT / "multi_io.tflite", [("FULLY_CONNECTED", "NONE")], 0),
    (OPS / "add_row_bcast.tflite", [], 1),
], ids=lambda v: v.stem if hasattr(v, "stem") else None)
def test_residual_add_goes_into_the_gemm_epilogue(model, fused, adds_left):
    assert residual_fusions(model) == (fused, adds_left)


def test_gelu_goes_into_the_fc_epilogue():
    _, g = compiler.compile_graph(compiler.load_graph(str(OPS / "net_fc_gelu_epilogues.tflite")), "m")
    assert [(n.op, n.attrs.get("epilogue")) for n in g.nodes] == [
        ("FULLY_CONNECTED", "GELU"), ("FULLY_CONNECTED", "GELU_TANH")]


@pytest.mark.parametrize("case", ["layer_norm_keras_beta", "layer_norm_keras_no_center",
                                  "net_attention_block"])
def test_layer_norm_becomes_one_op(case):
    # Keras's lowering with and without beta, and tf.nn's (x - mean) * rsqrt(var + eps) form
    _, g = compiler.compile_graph(compiler.load_graph(str(OPS / f"{case}.tflite")), "m")
    ops = [n.op for n in g.nodes]
    assert ops.count("DLCODER_LAYER_NORM") == 1
    assert not {"MEAN", "SQUARED_DIFFERENCE", "RSQRT", "NEG"} & set(ops)


def test_layer_norm_with_a_visible_intermediate_stays_unfused():
    g = compiler.load_graph(str(OPS / "layer_norm_keras_beta.tflite"))
    mean = next(n for n in g.nodes if n.op == "MEAN").outputs[0]
    _, fused = compiler.compile_graph(g.replace(outputs=g.outputs + (mean,)), "m")
    assert "DLCODER_LAYER_NORM" not in [n.op for n in fused.nodes]


def test_residual_of_another_rank_goes_into_the_fc_epilogue():
    # Keras 3's LSTM cell adds the input FC's [1, 4n] output to the recurrent FC's, reshaped
    # to [4n]: the same elements, so the ADD goes into the input FC's epilogue
    _, g = compiler.compile_graph(compiler.load_graph(str(TESTS / "models" / "control_flow" /
                                                          "keras_lstm.tflite")), "m")
    body = g.subgraph(g.nodes[[n.op for n in g.nodes].index("WHILE")].attrs["body_subgraph_index"])
    fcs = [n for n in body.nodes if n.op == "FULLY_CONNECTED"]
    assert len(fcs) == 2 and sum("residual_act" in n.attrs for n in fcs) == 1


@pytest.mark.parametrize("case, scaled", [("net_se_project", True), ("net_se_project_small_map", False)])
def test_channel_scale_goes_into_the_projection_weights(case, scaled):
    _, g = compiler.compile_graph(compiler.load_graph(str(OPS / f"{case}.tflite")), "m")
    projection = [n for n in g.nodes if n.op == "CONV_2D" and g.tensors[n.outputs[0]].shape[-1] == 32]
    assert len(projection) == 1
    assert (len(projection[0].inputs) > 4) == scaled
    assert ("MUL" in [n.op for n in g.nodes]) != scaled


def _ops(model):
    _, g = compiler.compile_graph(compiler.load_graph(str(model)), "m")
    return [n.op for n in g.nodes], g


def test_lstm_cell_becomes_one_op():
    """A hand-written LSTM step with its gates in a shuffled order: SPLIT, the four
    activations, three MULs and two ADDs (the bias ADD too) become one op, with the gate
    roles read off the data flow."""
    ops, g = _ops(OPS / "net_lstm_cell_gates_3021.tflite")
    assert ops.count("DLCODER_LSTM_CELL") == 1, ops
    assert not {"SPLIT", "LOGISTIC", "TANH", "MUL", "ADD"} & set(ops), ops
    cell = next(n for n in g.nodes if n.op == "DLCODER_LSTM_CELL")
    assert cell.attrs["gates"] == (3, 0, 2, 1)


def test_lstm_cell_with_a_visible_gate_stays_unfused():
    ops, _ = _ops(OPS / "net_lstm_cell_forget_gate_visible.tflite")
    assert "DLCODER_LSTM_CELL" not in ops and "SPLIT" in ops, ops


@pytest.mark.parametrize("model, fused", [("keras_lstm", True), ("keras_gru", False)])
def test_lstm_cell_in_a_loop_body(model, fused):
    """Keras 3's LSTM, lowered to a WHILE loop, gets the fused cell in its body; a GRU, whose
    gates are arranged differently, does not."""
    _, g = _ops(TESTS / "models" / "control_flow" / f"{model}.tflite")
    body_ops = [n.op for s in g.subgraphs for n in s.nodes]
    assert ("DLCODER_LSTM_CELL" in body_ops) == fused, body_ops


@pytest.mark.parametrize("case, perms", [
    ("bmm_transposed_views_heads", [{"a_perm": (0, 2, 1, 3), "b_perm": (0, 2, 3, 1)},
                                    {"b_perm": (0, 2, 1, 3), "out_perm": (0, 2, 1, 3)}]),
    ("bmm_transposed_lhs_bcast", [{"a_perm": (1, 0, 2), "out_perm": (1, 0, 2)}]),
    ("net_attention_block", [{"a_perm": (0, 2, 1, 3), "b_perm": (0, 2, 1, 3)},
                             {"b_perm": (0, 2, 1, 3), "out_perm": (0, 2, 1, 3)}]),
])
def test_transposes_become_strided_matmul_views(case, perms):
    g0 = compiler.load_graph(str(OPS / f"{case}.tflite"))
    assert any(n.op == "TRANSPOSE" for n in g0.nodes)
    _, g = compiler.compile_graph(g0, "m")
    assert not any(n.op == "TRANSPOSE" for n in g.nodes)
    found = [{k: v for k, v in n.attrs.items() if k.endswith("_perm")} for n in g.nodes if n.op == "BATCH_MATMUL"]
    assert found == perms
