"""Rebuild the models of the output-contract tests (tests/test_contract.py, tests/golden/).

Run: python3 tests/models/make_contract_models.py   (needs tensorflow-cpu)
Out: tests/models/contract/*.tflite
"""
import os

import numpy as np
import tensorflow as tf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contract")


def convert(module, fn, name):
    c = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], module)
    data = c.convert()
    with open(os.path.join(OUT, name + ".tflite"), "wb") as f:
        f.write(data)


class MultiIO(tf.Module):
    """Two inputs, three outputs: a conv feature map that is also consumed later, a RESHAPE
    of an intermediate (an alias written straight into the caller's buffer), and int32
    class ids."""

    def __init__(self):
        rng = np.random.default_rng(3)
        self.w = tf.constant(rng.standard_normal((3, 3, 3, 8)).astype(np.float32) * 0.3)
        self.b = tf.constant(rng.standard_normal(8).astype(np.float32) * 0.1)
        self.fc = tf.constant(rng.standard_normal((8, 5)).astype(np.float32) * 0.5)

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32, name="sensor_left_image"),
                                  tf.TensorSpec([1, 5], tf.float32, name="sensor_right_bias")])
    def __call__(self, image, bias):
        feat = tf.nn.relu(tf.nn.conv2d(image, self.w, 1, "SAME") + self.b)
        pooled = tf.reduce_mean(feat, axis=[1, 2])
        logits = tf.matmul(pooled, self.fc) + bias
        scores = tf.reshape(logits * 2.0, [5, 1])
        ids = tf.argmax(logits, axis=1, output_type=tf.int32)
        return {"feature_map_output": feat, "scores_output": scores, "class_ids_output": ids}


class Tiny(tf.Module):
    """The smallest useful model: one dense layer with a fused RELU."""

    def __init__(self):
        rng = np.random.default_rng(4)
        self.w = tf.constant(rng.standard_normal((4, 3)).astype(np.float32))
        self.b = tf.constant(np.array([0.1, -0.2, 0.3], np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="x")])
    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


class IsaCoverage(tf.Module):
    """Every SIMD kernel with awkward sizes (channel tails, border pixels): the per-ISA
    tests (tests/test_isa.py) build it once for each instruction set."""

    def __init__(self):
        rng = np.random.default_rng(5)
        r = lambda *s: tf.constant(rng.standard_normal(s).astype(np.float32) * 0.4)
        self.dw5, self.dw3, self.dw7 = r(5, 5, 40, 1), r(3, 3, 40, 1), r(7, 7, 40, 1)
        self.c1, self.c3 = r(1, 1, 40, 37), r(3, 3, 40, 20)
        self.b37, self.fc = r(37), r(37, 29)
        self.e3, self.edw, self.efc = r(3, 3, 40, 24), r(3, 3, 40, 1), r(40, 19)
        self.x1, self.xdw3, self.x2, self.xdw5 = r(1, 1, 40, 36), r(3, 3, 36, 1), r(1, 1, 40, 21), r(5, 5, 21, 1)
        self.xb1, self.xb2 = r(36), r(21)
        self.pdw, self.pj1, self.pj2, self.pjb = r(3, 3, 40, 1), r(1, 1, 40, 18), r(1, 1, 36, 27), r(27)
        self.x3, self.xdw3b = r(1, 1, 40, 36), r(3, 3, 36, 1)
        self.n5, self.n12, self.n3 = r(3, 3, 40, 5), r(5, 3, 40, 12), r(3, 3, 40, 3)

    @tf.function(input_signature=[tf.TensorSpec([1, 13, 11, 40], tf.float32, name="x"),
                                  tf.TensorSpec([1, 13, 1, 1], tf.float32, name="gate")])
    def __call__(self, x, gate):
        dw5 = tf.nn.relu6(tf.nn.depthwise_conv2d(x, self.dw5, [1, 1, 1, 1], "SAME"))
        dw5s2 = tf.nn.depthwise_conv2d(x, self.dw5, [1, 2, 2, 1], "VALID")
        dw3 = tf.nn.depthwise_conv2d(x, self.dw3, [1, 2, 2, 1], "SAME")
        dw7 = tf.nn.depthwise_conv2d(x, self.dw7, [1, 1, 1, 1], "SAME")
        c1 = tf.nn.conv2d(x, self.c1, 1, "SAME") + self.b37
        c3 = tf.nn.relu(tf.nn.conv2d(x, self.c3, 2, "SAME"))
        swish = c1 * tf.sigmoid(c1)
        unary = tf.concat([tf.tanh(c1), tf.nn.elu(c1), tf.exp(tf.minimum(c1, 3.0)),
                           c1 * tf.nn.relu6(c1 + 3.0) / 6.0, tf.sqrt(tf.abs(c1) + 0.1)], axis=3)
        binary = tf.concat([c1 + self.b37, c1 - gate, c1 * gate, c1 / (tf.abs(gate) + 0.5),
                            tf.maximum(c1, gate), tf.minimum(c1, self.b37),
                            tf.math.squared_difference(c1, gate), tf.nn.relu(c1 + gate)], axis=3)
        fc = tf.matmul(tf.reduce_mean(swish, axis=[1, 2]), self.fc)
        seq = tf.reshape(c1, [1, 143, 37])
        attn = tf.matmul(seq[:, :20], seq[:, :20], transpose_b=True)
        # activations that become epilogues of their producer (passes/fuse_epilogue.py)
        e3 = tf.nn.conv2d(x, self.e3, 1, "SAME")
        hswish_conv = e3 * tf.nn.relu6(e3 + 3.0) / 6.0
        edw = tf.nn.depthwise_conv2d(x, self.edw, [1, 1, 1, 1], "SAME")
        swish_dw = edw * tf.sigmoid(edw)
        efc = tf.matmul(tf.reshape(x, [143, 40]), self.efc)
        hswish_fc = efc * tf.nn.relu6(efc + 3.0) / 6.0
        # 1x1 conv feeding a depthwise conv (passes/fuse_pw_dw.py): stride 2 with padding,
        # and a 5x5 one with swish on both
        ex = tf.nn.relu6(tf.nn.conv2d(x, self.x1, 1, "VALID") + self.xb1)
        pw_dw3 = tf.nn.depthwise_conv2d(ex, self.xdw3, [1, 2, 2, 1], "SAME")
        ex2 = tf.nn.conv2d(x, self.x2, 1, "VALID") + self.xb2
        ex2 = ex2 * tf.sigmoid(ex2)
        dw5b = tf.nn.depthwise_conv2d(ex2, self.xdw5, [1, 1, 1, 1], "SAME")
        pw_dw5 = dw5b * tf.sigmoid(dw5b)
        # depthwise -> 1x1 projection, and the whole expand -> depthwise -> project chain
        dw_pj = tf.nn.conv2d(tf.nn.relu6(tf.nn.depthwise_conv2d(x, self.pdw, [1, 1, 1, 1], "SAME")),
                             self.pj1, 1, "VALID")
        ex3 = tf.nn.relu6(tf.nn.conv2d(x, self.x3, 1, "VALID") + self.xb1)
        chain = tf.nn.conv2d(tf.nn.relu6(tf.nn.depthwise_conv2d(ex3, self.xdw3b, [1, 1, 1, 1], "SAME")),
                             self.pj2, 1, "VALID") + self.pjb
        # convs with fewer output channels than a panel (conv2d_narrow): a masked tail on
        # every ISA; stride 2 with asymmetric padding; dilation with a hard-swish epilogue
        n5 = tf.nn.relu(tf.nn.conv2d(x, self.n5, 1, "SAME"))
        n12 = tf.nn.conv2d(x, self.n12, 2, "SAME")
        n3 = tf.nn.conv2d(x, self.n3, 1, "SAME", dilations=2)
        narrow = tf.concat([tf.reshape(n5, [1, -1]), tf.reshape(n12, [1, -1]),
                            tf.reshape(n3 * tf.nn.relu6(n3 + 3.0) / 6.0, [1, -1])], axis=1)
        # pooling, channels as the vector dimension: 37 is full vectors and a tail on every ISA
        pools = tf.concat([tf.nn.avg_pool2d(c1, 3, 2, "SAME"), tf.nn.max_pool2d(c1, 3, 2, "SAME")], axis=3)
        return {"dw5": dw5, "dw5s2": dw5s2, "dw3": dw3, "dw7": dw7, "c3": c3, "swish": swish,
                "unary": unary, "binary": binary, "fc": fc, "attn": attn,
                "hswish_conv": hswish_conv, "swish_dw": swish_dw, "hswish_fc": hswish_fc,
                "pw_dw3": pw_dw3, "pw_dw5": pw_dw5, "dw_pj": dw_pj, "chain": chain,
                "pools": pools, "narrow": narrow}


class AudioStft(tf.Module):
    """A keyword-spotting style front end: STFT magnitude (RFFT2D, COMPLEX_ABS), log,
    a small CNN."""

    def __init__(self):
        rng = np.random.default_rng(6)
        self.c = tf.constant(rng.standard_normal((3, 3, 1, 8)).astype(np.float32) * 0.3)
        self.f = tf.constant(rng.standard_normal((8, 6)).astype(np.float32) * 0.3)

    @tf.function(input_signature=[tf.TensorSpec([1, 4000], tf.float32, name="waveform")])
    def __call__(self, x):
        spec = tf.math.log(tf.abs(tf.signal.stft(x, 400, 160, 512)) + 1e-6)[..., None]
        y = tf.nn.relu(tf.nn.conv2d(spec, self.c, 2, "VALID"))
        return tf.matmul(tf.reduce_mean(y, axis=[1, 2]), self.f)


class Rfft2d(tf.Module):
    """RFFT2D over two dims with cropping and zero padding, and REAL / IMAG / abs."""

    @tf.function(input_signature=[tf.TensorSpec([2, 6, 20], tf.float32, name="x")])
    def __call__(self, x):
        z = tf.signal.rfft2d(x, fft_length=[8, 16])
        return {"re": tf.math.real(z), "im": tf.math.imag(z), "mag": tf.abs(z)}


def main():
    os.makedirs(OUT, exist_ok=True)
    m = MultiIO()
    convert(m, m.__call__, "multi_io")
    t = Tiny()
    convert(t, t.__call__, "tiny_dense")
    c = IsaCoverage()
    convert(c, c.__call__, "isa_coverage")
    a = AudioStft()
    convert(a, a.__call__, "audio_stft")
    r = Rfft2d()
    convert(r, r.__call__, "rfft2d")


if __name__ == "__main__":
    main()
