#!/usr/bin/env python3
"""(Re)build the mini networks of tests/models/ops/: a few ops in a row, for the fusions and
for graphs with several inputs and outputs.

A family of make_op_models.py (its docstring says what a case writes and how it is verified).
This family owns the case names net_* and layer_norm_* (op_build.FAMILIES): an unfiltered
run rewrites their cases.json entries and deletes only their stale files.

Usage
  python3 tests/models/make_net_models.py              # rebuild this family
  python3 tests/models/make_net_models.py resnet       # only cases whose name contains one of these
  python3 tests/models/make_net_models.py --list       # list case names
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_build import family_main  # noqa: E402
from op_common import T, W, randn  # noqa: E402

FAMILY = "net"


def define():
    import tensorflow as tf
    _residual_attention(tf)
    _layer_norm_squeeze_excite(tf)
    _epilogue_fusions(tf)
    _mobile_resnet(tf)
    _graph_shapes(tf)
    _mixed_ops(tf)


def _residual_attention(tf):
    def net_residual(a):
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(3, 3, 3, 8), 1, "SAME"), W(8, scale=0.3)))
        z = tf.nn.relu6(tf.nn.bias_add(tf.nn.depthwise_conv2d(y, W(3, 3, 8, 1, fan_in=9), [1, 1, 1, 1], "SAME"),
                                       W(8, scale=0.3)))
        z = tf.nn.bias_add(tf.nn.conv2d(z, W(1, 1, 8, 8), 1, "SAME"), W(8, scale=0.3))
        r = y + z
        g = tf.reduce_mean(r, [1, 2])
        return tf.nn.softmax(tf.matmul(g, W(8, 5)) + W(5, scale=0.3))
    T("net_conv_dw_residual_fc", ["CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"],
      "mini net: conv3x3+relu -> dw3x3+relu6 -> conv1x1 -> residual add -> mean -> FC -> softmax",
      lambda: [randn(1, 8, 8, 3)], net_residual)

    def net_attention(a):  # a: [1, 6, 8], 2 heads of 4
        def layer_norm(t):
            mu = tf.reduce_mean(t, -1, keepdims=True)
            var = tf.reduce_mean(tf.math.squared_difference(t, mu), -1, keepdims=True)
            return (t - mu) * tf.math.rsqrt(var + 1e-5) * (1.0 + W(8, scale=0.1)) + W(8, scale=0.1)
        h = layer_norm(a)

        def heads(t):
            return tf.transpose(tf.reshape(t, [1, 6, 2, 4]), [0, 2, 1, 3])
        q = heads(tf.matmul(tf.reshape(h, [6, 8]), W(8, 8)))
        k = heads(tf.matmul(tf.reshape(h, [6, 8]), W(8, 8)))
        v = heads(tf.matmul(tf.reshape(h, [6, 8]), W(8, 8)))
        att = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * 0.5)
        o = tf.reshape(tf.transpose(tf.matmul(att, v), [0, 2, 1, 3]), [6, 8])
        return a + tf.reshape(tf.matmul(o, W(8, 8)) + W(8, scale=0.1), [1, 6, 8])
    T("net_attention_block", ["BATCH_MATMUL", "SOFTMAX", "TRANSPOSE", "FULLY_CONNECTED", "RSQRT", "MEAN"],
      "mini net: layer-norm -> q/k/v FC -> heads reshape/transpose -> BATCH_MATMUL -> softmax -> "
      "BATCH_MATMUL -> FC -> residual", lambda: [randn(1, 6, 8)], net_attention)


def _layer_norm_squeeze_excite(tf):
    def keras_layer_norm(center, depth):
        def make():
            layer = tf.keras.layers.LayerNormalization(epsilon=1e-3, center=center)
            layer.build((None, 5, depth))
            layer.set_weights([1.0 + W(depth, scale=0.3)] + ([W(depth, scale=0.3)] if center else []))
            return lambda a: layer(a + 0.5)   # rows with a mean away from 0
        return make
    T("layer_norm_keras_beta", ["MEAN", "SQUARED_DIFFERENCE", "RSQRT"],
      "Keras LayerNormalization (gamma and beta) over 40 channels: fused into one op",
      lambda: [randn(2, 5, 40)], make=keras_layer_norm(True, 40))
    T("layer_norm_keras_no_center", ["MEAN", "SQUARED_DIFFERENCE", "RSQRT"],
      "Keras LayerNormalization without beta over 19 channels (a vector tail): fused into one op",
      lambda: [randn(2, 5, 19)], make=keras_layer_norm(False, 19))

    def squeeze_excite_project(h, w):
        def fn(a):  # a: [1, h, w, 24]
            s = tf.nn.sigmoid(tf.nn.conv2d(tf.reduce_mean(a, [1, 2], keepdims=True), W(1, 1, 24, 24), 1,
                                           "VALID") + W(24, scale=0.5))
            return tf.nn.conv2d(a * s, W(1, 1, 24, 32), 1, "VALID") + W(32, scale=0.3)
        return fn
    T("net_se_project", ["MEAN", "LOGISTIC", "MUL", "CONV_2D"],
      "squeeze-excite gate, then a 1x1 projection: the MUL over the 10x10 map goes into the "
      "projection's weights", lambda: [randn(1, 10, 10, 24)], squeeze_excite_project(10, 10))
    T("net_se_project_small_map", ["MEAN", "LOGISTIC", "MUL", "CONV_2D"],
      "the same on a 3x3 map with 32 outputs: scaling the weights would cost more, the MUL stays",
      lambda: [randn(1, 3, 3, 24)], squeeze_excite_project(3, 3))


def _epilogue_fusions(tf):
    def net_fc_gelu(a):  # a: [1, 6, 16]
        y = tf.nn.gelu(tf.matmul(a, W(16, 32)) + W(32, scale=0.3), approximate=False)
        return tf.nn.gelu(tf.matmul(y, W(32, 16)) + W(16, scale=0.3), approximate=True)
    T("net_fc_gelu_epilogues", ["FULLY_CONNECTED", "GELU"],
      "FC -> GELU (exact) -> FC -> GELU (tanh approximation): both GELUs go into the FC epilogues",
      lambda: [randn(1, 6, 16)], net_fc_gelu)

    def lstm_cell(order, expose_forget=False):
        """One hand-written LSTM step on batch 2, 20 units; `order`: the quarter of z that
        holds each of the (input, forget, cell, output) gates."""
        def fn(x, c0):  # x: [2, 12], c0: [2, 20]
            z = tf.matmul(x, W(12, 80)) + W(80, scale=0.5)
            q = tf.split(z, 4, axis=-1)
            i, f = tf.sigmoid(q[order[0]]), tf.sigmoid(q[order[1]])
            g, o = tf.tanh(q[order[2]]), tf.sigmoid(q[order[3]])
            c = f * c0 + i * g
            h = o * tf.tanh(c)
            return (h, c, f) if expose_forget else (h, c)
        return fn
    T("net_lstm_cell_gates_3021", ["FULLY_CONNECTED", "SPLIT", "LOGISTIC", "TANH", "MUL", "ADD"],
      "a hand-written LSTM step (gates in quarters 3, 0, 2, 1; c also an output): the gate "
      "arithmetic becomes one op", lambda: [randn(2, 12), randn(2, 20)], lstm_cell((3, 0, 2, 1)))
    T("net_lstm_cell_forget_gate_visible", ["FULLY_CONNECTED", "SPLIT", "LOGISTIC", "TANH", "MUL", "ADD"],
      "the same with the forget gate an output too: it must stay unfused",
      lambda: [randn(2, 12), randn(2, 20)], lstm_cell((0, 1, 2, 3), expose_forget=True))

    def net_conv3x3_c12_residual(a):  # a: [1, 9, 10, 20]
        y = tf.nn.relu(tf.nn.conv2d(a, W(1, 1, 20, 12), 1, "SAME"))
        y = tf.nn.bias_add(tf.nn.conv2d(y, W(3, 3, 12, 20), 1, "SAME"), W(20, scale=0.3))
        return tf.nn.relu(y + a)
    T("net_conv3x3_c12_residual", ["CONV_2D", "ADD"],
      "1x1 conv to 12 channels, then a 3x3 conv 12 -> 20 (implicit GEMM: too few input channels "
      "for Winograd) whose residual ADD + relu goes into the GEMM epilogue",
      lambda: [randn(1, 9, 10, 20)], net_conv3x3_c12_residual,
      expect={"ADD": {"FusedActivationFunction": 1}})


def _mobile_resnet(tf):
    def net_expand_dw(a):  # a: [1, 6, 7, 16]; expand -> dw, no projection after it
        y = tf.nn.relu6(tf.nn.bias_add(tf.nn.conv2d(a, W(1, 1, 16, 136), 1, "SAME"), W(136, scale=0.3)))
        y = tf.nn.relu6(tf.nn.bias_add(tf.nn.depthwise_conv2d(y, W(3, 3, 136, 1, fan_in=9), [1, 1, 1, 1], "SAME"),
                                       W(136, scale=0.3)))
        return tf.reduce_mean(y, [1, 2])
    T("net_expand_dw_c136", ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN"],
      "expand 1x1 16->136 -> dw3x3 with no projection after it (as before a squeeze-excite): "
      "tasks split its channels (8.5 panels), not its 6 rows",
      lambda: [randn(1, 6, 7, 16)], net_expand_dw)

    def net_resnet_basic(a):  # a: [2, 9, 11, 20]; ResNet basic block, batch 2
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(3, 3, 20, 20), 1, "SAME"), W(20, scale=0.3)))
        y = tf.nn.bias_add(tf.nn.conv2d(y, W(3, 3, 20, 20), 1, "SAME"), W(20, scale=0.3))
        return tf.nn.relu(y + a)
    T("net_resnet_basic_batch2", ["CONV_2D", "ADD"],
      "ResNet basic block, batch 2: conv3x3+relu -> conv3x3 -> ADD(conv, x)+relu, the ADD fused "
      "into the implicit-GEMM conv's epilogue (20 channels: a partial panel)",
      lambda: [randn(2, 9, 11, 20)], net_resnet_basic, expect={"ADD": {"FusedActivationFunction": 1}})

    def net_resnet_bottleneck(a):  # a: [1, 7, 9, 24]
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(1, 1, 24, 12), 1, "SAME"), W(12, scale=0.3)))
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(y, W(3, 3, 12, 12), 1, "SAME"), W(12, scale=0.3)))
        y = tf.nn.bias_add(tf.nn.conv2d(y, W(1, 1, 12, 24), 1, "SAME"), W(24, scale=0.3))
        z = tf.nn.relu6(a + y)
        return z + W(24, scale=0.3)   # a broadcast ADD: not a residual, stays an ADD
    T("net_resnet_bottleneck", ["CONV_2D", "ADD"],
      "ResNet bottleneck: 1x1 -> 3x3 -> 1x1, ADD(x, conv)+relu6 fused into the 1x1 GEMM epilogue "
      "(residual as the ADD's first operand), then a broadcast ADD that must stay",
      lambda: [randn(1, 7, 9, 24)], net_resnet_bottleneck, expect={"ADD": {"FusedActivationFunction": 3}})


def _graph_shapes(tf):
    def net_multi_io(x, y):
        a = tf.nn.relu(x * y + W(6, scale=0.3))
        b = tf.math.tanh(tf.matmul(a, W(6, 4)))
        c = tf.reduce_sum(b * y[:, :4], axis=-1)
        return a, b, c
    T("net_two_in_three_out", ["MUL", "ADD", "FULLY_CONNECTED", "TANH", "SUM"],
      "mini net: 2 inputs, 3 outputs; outputs a and b are also consumed by later ops",
      lambda: [randn(3, 6), randn(3, 6)], net_multi_io)

    def net_reshape_out(a):
        y = tf.nn.relu(tf.nn.conv2d(a, W(3, 3, 2, 4), 2, "SAME"))
        z = tf.reshape(y, [1, 36])
        return z, tf.matmul(z, W(36, 3))
    T("net_reshape_intermediate_output", ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"],
      "mini net: conv -> RESHAPE (graph output, also feeds FC) -> FC", lambda: [randn(1, 6, 6, 2)],
      net_reshape_out)

    def net_fp16(a):
        y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(a, W(3, 3, 4, 16), 1, "SAME"), W(16, scale=0.3)))
        y = tf.reduce_mean(y, [1, 2])
        return tf.matmul(y, W(16, 32)) + W(32, scale=0.3)
    T("net_fp16_weights", ["DEQUANTIZE", "CONV_2D", "MEAN", "FULLY_CONNECTED"],
      "mini net with float16 weights: constant DEQUANTIZE(fp16->fp32) ops feeding conv and FC",
      lambda: [randn(1, 6, 6, 4)], net_fp16, fp16=True)


def _mixed_ops(tf):
    def net_pad(a):
        p = tf.pad(a, [[0, 0], [1, 2], [2, 1], [0, 0]])
        c = tf.nn.conv2d(p, W(3, 3, 3, 4), 1, "VALID")
        m = tf.nn.max_pool2d(tf.pad(c, [[0, 0], [1, 0], [0, 1], [0, 0]]), 2, 2, "VALID")
        v = tf.nn.avg_pool2d(tf.pad(c, [[0, 0], [0, 1], [1, 1], [0, 0]]), 3, 2, "VALID")
        return m, v
    T("net_pad_conv_pools", ["PAD", "CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"],
      "mini net: explicit PAD -> VALID conv; PAD -> max pool; PAD -> avg pool", lambda: [randn(1, 6, 6, 3)],
      net_pad)

    def net_se(a):  # MobileNetV3-style block with hard-swish and squeeze-excite
        y = tf.nn.conv2d(a, W(1, 1, 4, 8), 1, "SAME") + W(8, scale=0.3)
        y = y * tf.nn.relu6(y + 3.0) / 6.0
        s = tf.reduce_mean(y, [1, 2], keepdims=True)
        s = tf.nn.relu(tf.nn.conv2d(s, W(1, 1, 8, 4), 1, "SAME"))
        s = tf.math.sigmoid(tf.nn.conv2d(s, W(1, 1, 4, 8), 1, "SAME"))
        return y * s
    T("net_hardswish_squeeze_excite", ["CONV_2D", "HARD_SWISH", "MEAN", "LOGISTIC", "MUL"],
      "mini net: conv -> hard-swish -> squeeze-excite (mean, 1x1 convs, sigmoid, mul)",
      lambda: [randn(1, 5, 5, 4)], net_se)

    def net_branches(a):
        b1 = tf.nn.relu(tf.nn.conv2d(a, W(1, 1, 6, 4), 1, "SAME"))
        s1, s2 = tf.split(a, [2, 4], axis=3)
        b2 = tf.nn.max_pool2d(s1, 3, 1, "SAME")
        b3 = tf.nn.conv2d(s2, W(3, 3, 4, 3), 1, "SAME")
        c = tf.concat([b1, b2, b3], axis=3)
        return tf.compat.v1.image.resize_bilinear(c, [8, 8], half_pixel_centers=True)
    T("net_split_branches_concat", ["SPLIT_V", "CONV_2D", "MAX_POOL_2D", "CONCATENATION", "RESIZE_BILINEAR"],
      "mini net: split into branches (conv/max-pool), concat, bilinear upsample",
      lambda: [randn(1, 4, 4, 6)], net_branches)


if __name__ == "__main__":
    sys.exit(family_main(__name__))
