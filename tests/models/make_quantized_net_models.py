#!/usr/bin/env python3
"""(Re)build tests/models/quantized_nets/: small quantized models of real architectures
(keras.applications and hand-written keras networks), converted by the TF converter, for
tests/test_quantized_nets.py.

Every model has random but deterministic weights (seeded; weights=None for
keras.applications) and is quantized by the converter the way users do it:
- full integer int8 (optimizations=DEFAULT, a representative dataset of 32 random samples,
  TFLITE_BUILTINS_INT8), with int8 I/O for most, uint8 I/O for some, mixed int8 in / uint8
  out for one, float32 I/O (QUANTIZE / DEQUANTIZE at the edges) for some;
- int16x8 (EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8);
- dynamic range (optimizations=DEFAULT, no representative dataset).

Each model writes <name>.tflite and <name>.npz. The npz holds input_<k> (the first input
set, what tests/support.load_npz_inputs reads) and set<j>_input_<k> for every input set j:
random over the whole range, the dtype's extremes, the zero point, near the zero point,
and for float inputs normal, wide, zero and data-like sets.

index.json maps each name to {"description", "expect"}; expect is "match" (dlcoder equals
TFLite byte for byte on integer outputs, within verify.float_bound on float ones),
"refused: <reason substring>" (compile_graph raises DlcoderError with that text) or
"differs: <first differing op and how>" (a known failure, recorded as of the last run).
The expectations are kept in EXPECT below; the models do not depend on them.

The output is byte-stable from run to run, except lstm_text_int8 and gru_text_int8: the
converter is not deterministic on the unrolled recurrences (some runs keep a float SPLIT
between DEQUANTIZE and QUANTIZE, others quantize it), so rebuilding those two can give a
different but equally valid graph. Both variants matched TFLite when this was written.

Run with the TF venv:
  /work/venv-tf221/bin/python tests/models/make_quantized_net_models.py [name ...]
"""
from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "quantized_nets"
N_REP = 32


def seed_all(seed: int) -> None:
    import tensorflow as tf
    import keras
    keras.backend.clear_session()   # layer names (and so tensor names) restart per model
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    keras.utils.set_random_seed(seed)


# ---- architectures -----------------------------------------------------------------------
def mnv3_small():
    import keras
    return keras.applications.MobileNetV3Small(
        input_shape=(96, 96, 3), alpha=0.75, minimalistic=False, include_top=True,
        weights=None, classes=10, include_preprocessing=True, dropout_rate=0.0)


def mnv2_035():
    import keras
    return keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35,
                                          include_top=True, weights=None, classes=10)


def _bn_random(bn, rng):
    """Give a BatchNormalization layer non-trivial statistics (fresh layers are identity)."""
    g, b, m, v = bn.get_weights()
    bn.set_weights([rng.uniform(0.5, 1.5, g.shape).astype(np.float32),
                    rng.normal(0, 0.2, b.shape).astype(np.float32),
                    rng.normal(0, 0.2, m.shape).astype(np.float32),
                    rng.uniform(0.5, 2.0, v.shape).astype(np.float32)])


def randomize_bn(model, seed=0):
    import keras
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            _bn_random(layer, rng)
    return model


def resnet_basic():
    """ResNet-v1 with basic blocks: conv7x7/2 (here 3x3/2), maxpool, 3 stages of 2 blocks,
    projection shortcuts, global average pool, FC, softmax."""
    import keras
    from keras import layers as L
    x0 = keras.Input((64, 64, 3))
    x = L.Conv2D(16, 3, 2, padding="same", use_bias=False)(x0)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    for stage, f in enumerate((16, 32, 48)):
        for blk in range(2):
            s = 2 if (blk == 0 and stage > 0) else 1
            sc = x
            y = L.Conv2D(f, 3, s, padding="same", use_bias=False)(x)
            y = L.BatchNormalization()(y)
            y = L.ReLU()(y)
            y = L.Conv2D(f, 3, 1, padding="same", use_bias=False)(y)
            y = L.BatchNormalization()(y)
            if s != 1 or sc.shape[-1] != f:
                sc = L.Conv2D(f, 1, s, use_bias=False)(sc)
                sc = L.BatchNormalization()(sc)
            x = L.ReLU()(L.Add()([y, sc]))
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10, activation="softmax")(x)
    return randomize_bn(keras.Model(x0, x), 1)


def resnet_v2():
    """Pre-activation ResNet (v2): BN-ReLU before each conv, bottleneck blocks, identity
    adds without a trailing activation, AveragePooling, final BN-ReLU, FC (logits)."""
    import keras
    from keras import layers as L
    x0 = keras.Input((64, 64, 3))
    x = L.ZeroPadding2D(1)(x0)
    x = L.Conv2D(16, 3, 2, use_bias=True)(x)
    for stage, f in enumerate((16, 24, 32)):
        for blk in range(2):
            s = 2 if (blk == 1 and stage < 2) else 1
            pre = L.ReLU()(L.BatchNormalization()(x))
            if blk == 0:
                sc = L.Conv2D(4 * f, 1, 1)(pre)
            else:
                sc = L.MaxPooling2D(1, s)(x) if s > 1 else x
            y = L.Conv2D(f, 1, 1, use_bias=False)(pre)
            y = L.ReLU()(L.BatchNormalization()(y))
            y = L.ZeroPadding2D(1)(y)
            y = L.Conv2D(f, 3, s, use_bias=False)(y)
            y = L.ReLU()(L.BatchNormalization()(y))
            y = L.Conv2D(4 * f, 1)(y)
            x = L.Add()([sc, y])
    x = L.ReLU()(L.BatchNormalization()(x))
    x = L.AveragePooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(10)(x)
    return randomize_bn(keras.Model(x0, x), 2)


def densenet():
    """DenseNet-BC-like: 2 dense blocks of 4 layers (BN-ReLU-conv1x1-BN-ReLU-conv3x3,
    concatenated onto the running features), a transition (BN-ReLU-1x1-avgpool)."""
    import keras
    from keras import layers as L
    x0 = keras.Input((48, 48, 3))
    x = L.Conv2D(24, 3, 2, padding="same", use_bias=False)(x0)
    for block in range(2):
        for _ in range(4):
            y = L.ReLU()(L.BatchNormalization()(x))
            y = L.Conv2D(32, 1, use_bias=False)(y)
            y = L.ReLU()(L.BatchNormalization()(y))
            y = L.Conv2D(12, 3, padding="same", use_bias=False)(y)
            x = L.Concatenate()([x, y])
        if block == 0:
            x = L.ReLU()(L.BatchNormalization()(x))
            x = L.Conv2D(x.shape[-1] // 2, 1, use_bias=False)(x)
            x = L.AveragePooling2D(2)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(10, activation="softmax")(x)
    return randomize_bn(keras.Model(x0, x), 3)


def ds_cnn():
    """DS-CNN keyword spotter (Hello Edge): 49x10 MFCC, conv 10x4/2, 4 depthwise-separable
    blocks with BN+ReLU, average pool over the whole map, FC, softmax."""
    import keras
    from keras import layers as L
    x0 = keras.Input((49, 10, 1))
    x = L.Conv2D(64, (10, 4), (2, 2), padding="same", use_bias=False)(x0)
    x = L.ReLU()(L.BatchNormalization()(x))
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
        x = L.Conv2D(64, 1, use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
    x = L.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = L.Flatten()(x)
    x = L.Dense(12, activation="softmax")(x)
    return randomize_bn(keras.Model(x0, x), 4)


def unet():
    """Tiny U-Net 64x64: 3 levels, conv-BN-ReLU pairs, maxpool down, one Conv2DTranspose
    and one bilinear UpSampling2D up, skip concatenations, 1x1 conv to 2 classes, sigmoid."""
    import keras
    from keras import layers as L

    def cbr(x, f):
        x = L.Conv2D(f, 3, padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization()(x))
        return x

    x0 = keras.Input((64, 64, 3))
    e1 = cbr(cbr(x0, 8), 8)
    e2 = cbr(cbr(L.MaxPooling2D()(e1), 16), 16)
    b = cbr(cbr(L.MaxPooling2D()(e2), 32), 32)
    u2 = L.Conv2DTranspose(16, 2, 2, padding="same")(b)
    d2 = cbr(cbr(L.Concatenate()([u2, e2]), 16), 16)
    u1 = L.UpSampling2D(2, interpolation="bilinear")(d2)
    u1 = L.Conv2D(8, 1)(u1)
    d1 = cbr(cbr(L.Concatenate()([u1, e1]), 8), 8)
    out = L.Conv2D(2, 1, activation="sigmoid")(d1)
    return randomize_bn(keras.Model(x0, out), 5)


def vit_encoder(seq=16, dim=32, heads=4, layers=2, gelu=True):
    """Tiny ViT/BERT-style encoder over a [seq, dim] input: learned position embedding
    (ADD of a constant), pre-LN blocks of MultiHeadAttention and an MLP (GELU), residual
    adds, final LayerNorm, mean over tokens, Dense, softmax."""
    import keras
    from keras import layers as L

    class PosEmb(L.Layer):
        def build(self, shape):
            self.pos = self.add_weight(shape=(1, shape[1], shape[2]),
                                       initializer=keras.initializers.RandomNormal(0, 0.5))

        def call(self, x):
            return x + self.pos

    x0 = keras.Input((seq, dim))
    x = PosEmb()(x0)
    for _ in range(layers):
        h = L.LayerNormalization(epsilon=1e-6)(x)
        h = L.MultiHeadAttention(heads, dim // heads)(h, h)
        x = L.Add()([x, h])
        h = L.LayerNormalization(epsilon=1e-6)(x)
        h = L.Dense(2 * dim, activation="gelu" if gelu else "relu")(h)
        h = L.Dense(dim)(h)
        x = L.Add()([x, h])
    x = L.LayerNormalization(epsilon=1e-6)(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(8, activation="softmax")(x)
    return keras.Model(x0, x)


def conv1d_audio():
    """1-D conv audio classifier on a [16000/40=400, 1]-ish waveform frame: strided Conv1D,
    dilated Conv1Ds (dilation 2 and 4: SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND), BN, ReLU,
    MaxPooling1D, GlobalAveragePooling1D, Dense."""
    import keras
    from keras import layers as L
    x0 = keras.Input((400, 1))
    x = L.Conv1D(16, 9, 4, padding="same", use_bias=False)(x0)
    x = L.ReLU()(L.BatchNormalization()(x))
    x = L.Conv1D(24, 3, dilation_rate=2, padding="same")(x)
    x = L.ReLU()(x)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(32, 3, dilation_rate=4, padding="same", use_bias=False)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    x = L.Conv1D(32, 3, 2, padding="valid")(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(6)(x)
    return randomize_bn(keras.Model(x0, x), 6)


def lstm_text(unroll=True):
    """Text classifier: int32 token ids [1, 20] -> Embedding(200, 16) -> LSTM(24) -> Dense
    softmax. Keras 3's LSTM does not become UNIDIRECTIONAL_SEQUENCE_LSTM: it converts to a
    WHILE loop, and full-integer calibration of that loop crashes the TF 2.21 converter
    (segfault), so the int8 model unrolls the LSTM (UNPACK, FULLY_CONNECTED, SPLIT,
    LOGISTIC, TANH, MUL, ADD per step); the dynamic-range one keeps the WHILE loop."""
    import keras
    from keras import layers as L
    x0 = keras.Input((20,), dtype="int32", batch_size=1)
    x = L.Embedding(200, 16)(x0)
    x = L.LSTM(24, unroll=unroll)(x)
    x = L.Dense(4, activation="softmax")(x)
    return keras.Model(x0, x)


def gru_text():
    """Text classifier: int32 token ids [1, 20] -> Embedding(200, 16) -> GRU(24) -> Dense,
    the GRU unrolled (see lstm_text)."""
    import keras
    from keras import layers as L
    x0 = keras.Input((20,), dtype="int32", batch_size=1)
    x = L.Embedding(200, 16)(x0)
    x = L.GRU(24, unroll=True)(x)
    x = L.Dense(4, activation="softmax")(x)
    return keras.Model(x0, x)


def small_cnn():
    """Small CNN + FC: conv-BN-ReLU6 x3 (one depthwise), maxpool, flatten, Dense 64, Dense."""
    import keras
    from keras import layers as L
    x0 = keras.Input((32, 32, 3))
    x = L.Conv2D(16, 3, 2, padding="same", use_bias=False)(x0)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(32, 1)(x)
    x = L.ReLU(6.0)(x)
    x = L.MaxPooling2D()(x)
    x = L.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    x = L.Dense(64, activation="relu")(x)
    x = L.Dense(10)(x)
    return randomize_bn(keras.Model(x0, x), 7)


def efficientnet_tiny():
    """EfficientNet (keras.applications' builder) at width 0.25, depth 0.34, 96x96: MBConv
    blocks with swish (LOGISTIC+MUL), squeeze-excite (MEAN, sigmoid, MUL), Rescaling and
    Normalization preprocessing, stochastic depth off (inference)."""
    from keras.src.applications import efficientnet as E
    return E.EfficientNet(0.25, 0.34, 96, dropout_rate=0.0, drop_connect_rate=0.0,
                          weights=None, input_shape=(96, 96, 3), classes=10,
                          name="efficientnet_tiny")


def yolo_tiny():
    """YOLO-v3-tiny-like detector 64x64: conv-BN-LeakyReLU(0.1) backbone with maxpools, a
    nearest UpSampling2D + concatenation neck, two heads (8x8 and 4x4 grids, 3 anchors x
    (4 box + 1 obj + 3 cls)) reshaped to [N, 8] and decoded: sigmoid of xy/obj/cls, EXP of
    wh (a SPLIT and a CONCATENATION). Two outputs."""
    import keras
    from keras import layers as L

    def cbl(x, f, k=3, s=1):
        x = L.Conv2D(f, k, s, padding="same", use_bias=False)(x)
        x = L.LeakyReLU(0.1)(L.BatchNormalization()(x))
        return x

    def decode(h, grid):
        h = L.Reshape((grid * grid * 3, 8))(h)
        xy, wh, rest = L.Lambda(lambda t: (t[..., :2], t[..., 2:4], t[..., 4:]))(h)
        return L.Concatenate()([L.Activation("sigmoid")(xy),
                                L.Lambda(lambda t: keras.ops.exp(keras.ops.clip(t, -4, 2)))(wh),
                                L.Activation("sigmoid")(rest)])

    x0 = keras.Input((64, 64, 3))
    x = cbl(x0, 8)
    x = L.MaxPooling2D()(x)
    x = cbl(x, 16)
    x = L.MaxPooling2D()(x)
    x = cbl(x, 24)
    x = L.MaxPooling2D()(x)
    route = cbl(x, 40)                               # 8x8
    x = L.MaxPooling2D()(route)
    x = cbl(x, 56)                                   # 4x4
    x = cbl(x, 28, 1)
    big = L.Conv2D(24, 1)(cbl(x, 48))
    up = L.UpSampling2D(2, interpolation="nearest")(cbl(x, 20, 1))
    small = L.Conv2D(24, 1)(cbl(L.Concatenate()([up, route]), 36))
    return randomize_bn(keras.Model(x0, [decode(small, 8), decode(big, 4)]), 8)


def convnext_tiny():
    """ConvNeXt-like 64x64: patchify stem (conv 4x4/4) + LayerNorm, blocks of depthwise 7x7,
    LayerNorm, pointwise Dense x4 (FULLY_CONNECTED on 4-D), GELU, Dense back, layer scale
    (MUL by a per-channel constant), residual ADD; a downsampling LN + conv 2x2/2; odd
    channel counts (20, 36) so vector loops have tails; GAP, LN, Dense."""
    import keras
    from keras import layers as L

    class LayerScale(L.Layer):
        def build(self, shape):
            self.g = self.add_weight(shape=(shape[-1],),
                                     initializer=keras.initializers.RandomUniform(0.1, 1.0))

        def call(self, x):
            return x * self.g

    def block(x):
        c = x.shape[-1]
        y = L.DepthwiseConv2D(7, padding="same")(x)
        y = L.LayerNormalization(epsilon=1e-6)(y)
        y = L.Dense(4 * c, activation="gelu")(y)
        y = L.Dense(c)(y)
        return L.Add()([x, LayerScale()(y)])

    x0 = keras.Input((64, 64, 3))
    x = L.Conv2D(20, 4, 4)(x0)
    x = L.LayerNormalization(epsilon=1e-6)(x)
    x = block(block(x))
    x = L.LayerNormalization(epsilon=1e-6)(x)
    x = L.Conv2D(36, 2, 2)(x)
    x = block(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.LayerNormalization(epsilon=1e-6)(x)
    x = L.Dense(10)(x)
    return keras.Model(x0, x)


def siamese():
    """Siamese verifier, two 32x32x1 inputs through one shared tower (conv + PReLU, conv +
    ELU, maxpool, GAP, Dense tanh), then |a - b| (SUB, ABS) and a * b, concatenated, Dense,
    sigmoid. Two inputs."""
    import keras
    from keras import layers as L
    t0 = keras.Input((32, 32, 1))
    t = L.Conv2D(12, 3, 2, padding="same")(t0)
    t = L.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.RandomUniform(0, 0.5))(t)
    t = L.Conv2D(20, 3, padding="same")(t)
    t = L.ELU()(t)
    t = L.MaxPooling2D()(t)
    t = L.GlobalAveragePooling2D()(t)
    t = L.Dense(16, activation="tanh")(t)
    tower = keras.Model(t0, t)
    a0, b0 = keras.Input((32, 32, 1)), keras.Input((32, 32, 1))
    a, b = tower(a0), tower(b0)
    d = L.Lambda(lambda ab: keras.ops.abs(ab[0] - ab[1]))([a, b])
    m = L.Multiply()([a, b])
    x = L.Concatenate()([d, m])
    x = L.Dense(1, activation="sigmoid")(x)
    return keras.Model([a0, b0], x)


def autoencoder():
    """Conv autoencoder 32x32x3: conv/2 + hard-sigmoid-ish (ReLU6), conv/2, Dense
    bottleneck 16, Dense + Reshape, Conv2DTranspose/2 (13 channels), nearest resize,
    conv, sigmoid."""
    import keras
    from keras import layers as L
    x0 = keras.Input((32, 32, 3))
    x = L.Conv2D(12, 3, 2, padding="same", activation="relu6")(x0)
    x = L.Conv2D(20, 3, 2, padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    z = L.Dense(16, activation="relu")(x)
    x = L.Dense(8 * 8 * 20, activation="relu")(z)
    x = L.Reshape((8, 8, 20))(x)
    x = L.Conv2DTranspose(13, 3, 2, padding="same", activation="relu")(x)
    x = L.UpSampling2D(2)(x)
    x = L.Conv2D(3, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(x0, x)


def espcn():
    """ESPCN super-resolution x3 on a 24x24x1 luma patch: conv 5x5 tanh, conv 3x3 tanh,
    conv 3x3 to 9 channels, pixel shuffle (DEPTH_TO_SPACE), clip to [0, 1] (ReLU-N1-ish
    MINIMUM/MAXIMUM or RELU6-like)."""
    import keras
    import tensorflow as tf
    from keras import layers as L
    x0 = keras.Input((24, 24, 1))
    x = L.Conv2D(32, 5, padding="same", activation="tanh")(x0)
    x = L.Conv2D(16, 3, padding="same", activation="tanh")(x)
    x = L.Conv2D(9, 3, padding="same")(x)
    x = L.Lambda(lambda t: tf.nn.depth_to_space(t, 3))(x)
    x = L.Lambda(lambda t: keras.ops.clip(t, 0.0, 1.0))(x)
    return keras.Model(x0, x)


def face_embed():
    """MobileFaceNet-like 48x48: conv, depthwise-separable blocks with PReLU, a global
    depthwise conv (6x6 valid) instead of pooling, linear 1x1, flatten, Dense 32 embedding
    L2-normalized (L2_NORMALIZATION) as output 0, and a Dense log_softmax (LOG_SOFTMAX)
    identity head as output 1."""
    import keras
    import tensorflow as tf
    from keras import layers as L
    x0 = keras.Input((48, 48, 3))
    x = L.Conv2D(16, 3, 2, padding="same", use_bias=False)(x0)
    x = L.PReLU(shared_axes=[1, 2])(L.BatchNormalization()(x))
    for f, s in ((24, 2), (24, 1), (40, 2)):
        y = L.DepthwiseConv2D(3, s, padding="same", use_bias=False)(x)
        y = L.PReLU(shared_axes=[1, 2])(L.BatchNormalization()(y))
        y = L.Conv2D(f, 1, use_bias=False)(y)
        y = L.BatchNormalization()(y)
        x = L.Add()([x, y]) if (s == 1 and x.shape[-1] == f) else y
    x = L.DepthwiseConv2D(6, padding="valid", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.Flatten()(x)
    e = L.Dense(32)(x)
    emb = L.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1))(e)
    logits = L.Dense(12, activation="log_softmax")(e)
    return randomize_bn(keras.Model(x0, [emb, logits]), 9)


# ---- conversion --------------------------------------------------------------------------
def sample(shape, rng, kind):
    if kind == "image":     # keras.applications with preprocessing take pixels in [0, 255]
        return rng.uniform(0, 255, shape).astype(np.float32)
    if kind == "tokens":
        return rng.integers(0, 200, shape).astype(np.int32)
    return (rng.standard_normal(shape) * rng.uniform(0.5, 1.5)).astype(np.float32)


def convert(model, mode, kind, io="int8", in_io=None, out_io=None, seed=0):
    import tensorflow as tf
    shapes = [(1,) + tuple(i.shape[1:]) for i in model.inputs]
    dtypes = [i.dtype for i in model.inputs]
    sig = [tf.TensorSpec(s, d) for s, d in zip(shapes, dtypes)]

    @tf.function(input_signature=sig)
    def fn(*xs):
        return model(xs[0] if len(xs) == 1 else list(xs), training=False)

    from tensorflow.python.framework.convert_to_constants import \
        convert_variables_to_constants_v2
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    conv = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode in ("int8", "int16x8", "int16x8_fallback"):
        rng = np.random.default_rng(seed + 100)

        def rep():
            for _ in range(N_REP):
                yield [sample(s, rng, kind) for s in shapes]

        conv.representative_dataset = rep
        if mode == "int8":
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            dt = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}
            conv.inference_input_type = dt[in_io or io]
            conv.inference_output_type = dt[out_io or io]
        else:   # the fallback variant leaves ops without a 16x8 kernel float
            conv.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8] + (
                [tf.lite.OpsSet.TFLITE_BUILTINS] if mode == "int16x8_fallback" else [])
            if io == "int16":
                conv.inference_input_type = tf.int16
                conv.inference_output_type = tf.int16
    return conv.convert()


# name: (builder, mode, input kind, io, description)
MODELS = {
    "mnv3s_a075_96_int8": (mnv3_small, "int8", "image", "int8",
                           "MobileNetV3Small a=0.75 96x96 (hard-swish, squeeze-excite, "
                           "Rescaling preprocessing), int8 I/O"),
    "mnv2_a035_96_i8u8": (mnv2_035, "int8", "normal", ("int8", "uint8"),
                          "MobileNetV2 a=0.35 96x96, int8 input, uint8 output"),
    "effnet_tiny_96_int8": (efficientnet_tiny, "int8", "image", "int8",
                            "EfficientNet width 0.25 depth 0.34 96x96 (swish, squeeze-excite, "
                            "Normalization preprocessing), int8 I/O"),
    "yolo_tiny_64_int8": (yolo_tiny, "int8", "normal", "int8",
                          "YOLOv3-tiny-like 64x64 (LeakyReLU, maxpool, nearest upsample, "
                          "concat, two heads decoded with sigmoid/EXP/SPLIT), 2 outputs, "
                          "int8 I/O"),
    "convnext_64_f32io": (convnext_tiny, "int8", "normal", "float32",
                          "ConvNeXt-like 64x64 (patchify conv, depthwise 7x7, LayerNorm, "
                          "GELU MLP, layer scale, odd channels 20/36), float32 I/O"),
    "siamese_32_int8": (siamese, "int8", "normal", "int8",
                        "siamese verifier, 2 inputs 32x32x1, shared tower (PReLU, ELU, "
                        "maxpool, GAP, tanh), |a-b| and a*b, sigmoid, int8 I/O"),
    "autoencoder_32_uint8": (autoencoder, "int8", "normal", "uint8",
                             "conv autoencoder 32x32x3 (strided convs, Dense bottleneck, "
                             "reshape, TRANSPOSE_CONV 13 ch, nearest upsample, sigmoid), "
                             "uint8 I/O"),
    "resnet_basic_64_int8": (resnet_basic, "int8", "normal", "int8",
                             "ResNet-v1 basic blocks 64x64 (maxpool, ADD+ReLU, projection "
                             "shortcuts, GAP, FC, softmax), int8 I/O"),
    "resnet_v2_64_uint8": (resnet_v2, "int8", "normal", "uint8",
                           "pre-activation ResNet-v2 bottleneck 64x64 (BN-ReLU before conv "
                           "= MUL/ADD, identity ADDs, strided 1x1 maxpool, avgpool), uint8 I/O"),
    "densenet_48_int8": (densenet, "int8", "normal", "int8",
                         "DenseNet-BC-like 48x48 (CONCATENATION-heavy, BN-ReLU, avgpool "
                         "transition, GAP), int8 I/O"),
    "ds_cnn_kws_int8": (ds_cnn, "int8", "normal", "int8",
                        "DS-CNN keyword spotter 49x10x1 (conv 10x4/2, 4 depthwise-separable "
                        "blocks, whole-map avgpool, FC, softmax), int8 I/O"),
    "unet_64_f32io": (unet, "int8", "normal", "float32",
                      "tiny U-Net 64x64 (maxpool, TRANSPOSE_CONV, bilinear RESIZE, "
                      "CONCATENATION, sigmoid), int8 inside, float32 I/O"),
    "vit_enc_s16_int8": (vit_encoder, "int8", "normal", "int8",
                         "tiny ViT/BERT encoder seq 16 dim 32, 2 pre-LN blocks "
                         "(LayerNorm, MultiHeadAttention, GELU MLP), int8 I/O"),
    "conv1d_audio_f32io": (conv1d_audio, "int8", "normal", "float32",
                           "1-D conv audio classifier 400x1 (strided and dilated Conv1D, "
                           "maxpool1d, GAP1d), int8 inside, float32 I/O"),
    "espcn_x3_uint8": (espcn, "int8", "normal", "uint8",
                       "ESPCN x3 super-resolution 24x24x1 (tanh convs, DEPTH_TO_SPACE, clip), "
                       "uint8 I/O"),
    "face_embed_48_int8": (face_embed, "int8", "normal", "int8",
                           "MobileFaceNet-like 48x48 (PReLU, global depthwise 6x6, "
                           "L2_NORMALIZATION embedding, LOG_SOFTMAX head), 2 outputs, int8 I/O"),
    "lstm_text_int8": (lstm_text, "int8", "tokens", "int8",
                       "Embedding(200,16) -> LSTM(24) unrolled -> Dense softmax, int32 token "
                       "input, int8 output"),
    "lstm_text_while_dynamic": (lambda: lstm_text(unroll=False), "dynamic", "tokens",
                                "float32",
                                "Embedding -> LSTM(24) as a WHILE loop -> Dense softmax, "
                                "dynamic-range (int8 weights), int32 token input"),
    "gru_text_int8": (gru_text, "int8", "tokens", "int8",
                      "Embedding(200,16) -> GRU(24) unrolled -> Dense softmax, int32 token "
                      "input, int8 output"),
    "small_cnn_int16x8": (small_cnn, "int16x8", "normal", "float32",
                          "small CNN+FC 32x32 (conv, depthwise, ReLU6, maxpool, FC), "
                          "int16 activations / int8 weights, float32 I/O"),
    "small_cnn_int16x8_i16io": (small_cnn, "int16x8", "normal", "int16",
                                "small CNN+FC 32x32, int16 activations / int8 weights, "
                                "int16 I/O"),
    "vit_enc_s16_int16x8": (vit_encoder, "int16x8_fallback", "normal", "float32",
                            "the tiny ViT encoder (LayerNorm, MultiHeadAttention, GELU), "
                            "int16 activations / int8 weights, float32 I/O; the converter has "
                            "no 16x8 NEG, so that op and its neighbours stay float"),
    "mnv3s_a075_96_int16x8": (mnv3_small, "int16x8_fallback", "image", "float32",
                              "MobileNetV3Small a=0.75 96x96 (hard-swish, squeeze-excite), "
                              "int16 activations / int8 weights, float32 I/O; HARD_SWISH has "
                              "no 16x8 converter support and stays float"),
    "small_cnn_dynamic": (small_cnn, "dynamic", "normal", "float32",
                          "small CNN+FC 32x32, dynamic-range (int8 weights, float "
                          "activations)"),
    "vit_enc_s32_dynamic": (lambda: vit_encoder(seq=32, dim=64, heads=4, layers=2),
                            "dynamic", "normal", "float32",
                            "ViT/BERT encoder seq 32 dim 64, dynamic-range (int8 weights)"),
}

# The truth as of the last run of tests/test_quantized_nets.py (see its docstring).
EXPECT = {name: "match" for name in MODELS}
EXPECT.update({
    "vit_enc_s16_int16x8": "refused: SQUARED_DIFFERENCE takes int8 quantized data only",
})


# ---- inputs ------------------------------------------------------------------------------
def input_sets(tfl_path: Path, kind: str, seed: int) -> list:
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=str(tfl_path))
    rng = np.random.default_rng(seed)
    sets = [[] for _ in range(6)]
    for d in interp.get_input_details():
        shape, dt = tuple(d["shape"]), np.dtype(d["dtype"])
        if dt == np.int32:      # tokens
            sets[0].append(rng.integers(0, 200, shape).astype(dt))
            sets[1].append(np.zeros(shape, dt))
            sets[2].append(np.full(shape, 199, dt))
            sets[3].append(rng.integers(0, 5, shape).astype(dt))
            sets[4].append(rng.integers(150, 200, shape).astype(dt))
            sets[5].append(np.arange(np.prod(shape)).reshape(shape).astype(dt) % 200)
        elif np.issubdtype(dt, np.integer):
            info = np.iinfo(dt)
            zp = int(d["quantization_parameters"]["zero_points"][0])
            full = rng.integers(info.min, info.max, shape, endpoint=True).astype(dt)
            full.reshape(-1)[:3] = [info.min, info.max, zp]
            sets[0].append(full)
            sets[1].append(np.full(shape, info.min, dt))
            sets[2].append(np.full(shape, info.max, dt))
            sets[3].append(np.full(shape, zp, dt))
            near = np.clip(zp + rng.integers(-6, 7, shape), info.min, info.max).astype(dt)
            sets[4].append(near)
            ext = rng.choice(np.array([info.min, info.max, zp], dt), shape)
            sets[5].append(ext.astype(dt))
        else:
            if kind == "image":
                data = rng.uniform(0, 255, shape)
            else:
                data = rng.standard_normal(shape)
            sets[0].append(data.astype(dt))
            sets[1].append(np.zeros(shape, dt))
            sets[2].append((rng.standard_normal(shape) * 8).astype(dt))
            sets[3].append(np.full(shape, -1.0, dt))
            sets[4].append((rng.standard_normal(shape) * 0.1).astype(dt))
            sets[5].append(rng.uniform(-3, 3, shape).astype(dt))
    return sets


def build(name: str, index: dict) -> None:
    fn, mode, kind, io, desc = MODELS[name]
    seed = sorted(MODELS).index(name)
    seed_all(seed)
    model = fn()
    in_io, out_io = io if isinstance(io, tuple) else (None, None)
    data = convert(model, mode, "image" if kind.startswith("image") else kind,
                   io=io if isinstance(io, str) else None, in_io=in_io, out_io=out_io,
                   seed=seed)
    path = OUT / f"{name}.tflite"
    path.write_bytes(data)
    sets = input_sets(path, kind, seed)
    arrays = {f"input_{k}": x for k, x in enumerate(sets[0])}
    for j, s in enumerate(sets):
        arrays.update({f"set{j}_input_{k}": x for k, x in enumerate(s)})
    np.savez(OUT / f"{name}.npz", **arrays)
    index[name] = {"description": desc, "expect": EXPECT[name]}
    print(f"{name}: {len(data)} bytes")


def main(argv) -> None:
    OUT.mkdir(exist_ok=True)
    index_path = OUT / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    names = argv or list(MODELS)
    for name in names:
        build(name, index)
    for name in MODELS:     # expectations may change without rebuilding the models
        if name in index:
            index[name]["expect"] = EXPECT[name]
    index = {k: index[k] for k in MODELS if k in index}
    index_path.write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
