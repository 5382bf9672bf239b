#!/usr/bin/env python3
"""Build the "models the project has never seen" of the performance issue: Keras
applications and small networks that nothing in dlcoder was tuned on.

There is no network here, so their weights are random (weights=None, fixed seeds); latency
and memory do not depend on the values.

Float32 (NAME.tflite): ResNet-50 (dense 3x3 and 1x1 convolutions), MobileNetV3-Large
(depthwise, squeeze-excite, hard-swish), EfficientNetV2-B0 (fused MBConv: dense 3x3
convolutions, then depthwise ones, swish) and DenseNet-121 at 160x160 (concatenations, 3x3
convolutions with 32 outputs); and three with the ops the first four lack: a
FaceMesh-like landmark net (depthwise and pointwise convolutions each followed by a
per-channel PReLU, on maps from 96x96x32), a U-Net at 128x128 (2x2 stride-2
Conv2DTranspose up to a 128x128x16 map) and a selfie-segmentation-like net (MobileNetV3-Small
encoder, 3x3 stride-2 Conv2DTranspose + PReLU decoder); and three more: a ViT-tiny-like
image transformer (16x16 stride-16 patch convolution, class token, 4 blocks of LayerNorm,
3-head attention and an exact-GELU MLP), a YAMNet-like audio classifier (MobileNet-v1's 13
depthwise-separable layers on a 96x64 log-mel patch, 521 sigmoid outputs) and a
BlazePose-like landmark net (5x5 depthwise BlazeBlocks with max-pool + channel-PAD
shortcuts, ReLU6 then hard-swish, a bilinear-upsampling heatmap decoder and three heads).

Float16 weights (NAME_f16.tflite, the converter's float16 quantization: DEQUANTIZE of
float16 constants, as MediaPipe ships its models): the FaceMesh-like net and
MobileNetV3-Large.

Full-integer int8 (NAME_int8.tflite: int8 weights and activations, int8 input and output,
calibrated on 20 random samples in the input's natural range): MobileNetV3-Large,
EfficientNet-B1 at 240x240, ResNet-50, DenseNet-121 at 160x160, NASNet-Mobile, a
MatchboxNet-like keyword spotter on [1, 49, 10, 1] MFCC frames (the tests have a DS-CNN
one), and a BERT-tiny-like encoder (token and position embeddings, 2 layers of 2-head
attention, hidden 128, GELU feed-forward, pooler). Before the int8 conversion every
BatchNormalization takes the statistics of its input on 8 of the calibration samples, and
the classifiers output logits (no softmax): a random-init deep net otherwise drifts to
near-constant activations, and a flat 1000-way softmax is the int8 constant -128; such
outputs would hide a wrong kernel.

The .tflite files are not committed (ResNet-50 alone is 98 MB in float, 26 MB in int8):
rebuild them with this script. TensorFlow is needed here only, never by dlcoder itself:

  python3 benchmarks/make_unseen_models.py OUTDIR [NAME ...]    (NAME filters, e.g. _int8)
  python3 benchmarks/run.py --models OUTDIR --select '*_int8' --threads 1 --out benchmarks/unseen/int8
  python3 benchmarks/run.py --models OUTDIR --select '*[!8]' --out benchmarks/unseen
"""
import sys
import zlib
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

L = keras.layers
CALIBRATION_SAMPLES = 20
BATCH_NORM_SAMPLES = 8      # of those, for the BatchNormalization statistics


def app(make, size, **kw):
    return lambda: make(weights=None, input_shape=(size, size, 3), **kw)


def logits(make, size):
    """A classifier without its final softmax (which, flat, would quantize to -128)."""
    return app(make, size, classifier_activation=None)


def matchbox_kws(blocks=3, width=64):
    """A MatchboxNet-like keyword spotter (Majumdar and Ginsburg 2020) on 49 frames x 10
    MFCCs: 1-D time-channel separable convolutions (a depthwise k x 1 convolution along
    time, then a pointwise one) with residual blocks, a dilated epilogue, 12 keywords. The
    MFCCs become channels of a [49, 1] time line."""
    i = keras.Input((49, 10, 1), batch_size=1)
    x = L.Reshape((49, 1, 10))(i)

    def separable(x, k, out, dilation=1, relu=True):
        x = L.DepthwiseConv2D((k, 1), padding="same", dilation_rate=(dilation, 1))(x)
        x = L.BatchNormalization()(L.Conv2D(out, 1)(x))
        return L.ReLU()(x) if relu else x
    x = separable(x, 11, 128)
    for k in (13, 15, 17)[:blocks]:
        skip = L.BatchNormalization()(L.Conv2D(width, 1)(x))
        x = separable(x, k, width)
        x = L.ReLU()(separable(x, k, width, relu=False) + skip)
    x = separable(x, 29, 128, dilation=2)
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(128, 1)(x)))
    x = L.GlobalAveragePooling2D()(L.Conv2D(12, 1)(x))
    return keras.Model(i, x, name="matchbox_kws")


def face_mesh_like(size=192):
    """A FaceMesh/BlazeFace-like landmark net (MediaPipe's face models): a stride-2 stem and
    residual blocks of a depthwise 3x3 and a pointwise convolution, each followed by PReLU
    with one slope per channel (shared_axes=[1, 2]), from 96x96x32 down to 6x6x128; 1404
    landmark coordinates out."""
    def prelu(x):
        return L.PReLU(shared_axes=[1, 2])(x)

    def block(x, out, stride=1):
        y = L.DepthwiseConv2D(3, strides=stride, padding="same")(x)
        y = L.Conv2D(out, 1)(y)
        if stride == 2:
            x = L.MaxPooling2D(2)(x)
        if x.shape[-1] != out:
            x = L.Conv2D(out, 1)(x)
        return prelu(x + y)
    i = keras.Input((size, size, 3), batch_size=1)
    x = prelu(L.Conv2D(32, 3, strides=2, padding="same")(i))
    for out, n in ((32, 3), (64, 3), (96, 2), (128, 2), (128, 2)):
        x = block(x, out, stride=2 if x.shape[-1] != 32 or out != 32 else 1)
        for _ in range(n - 1):
            x = block(x, out)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(i, L.Dense(1404)(x), name="face_mesh_like")


def unet(size=128, base=16):
    """A U-Net (Ronneberger et al. 2015) for 2-class segmentation: four 2x2 max-pool
    levels down, four 2x2 stride-2 Conv2DTranspose levels up with skip concatenations;
    its last transposed convolution writes a size x size x base map."""
    def double(x, c):
        x = L.Conv2D(c, 3, padding="same", activation="relu")(x)
        return L.Conv2D(c, 3, padding="same", activation="relu")(x)
    i = keras.Input((size, size, 3), batch_size=1)
    skips, x = [], i
    for level in range(4):
        x = double(x, base << level)
        skips.append(x)
        x = L.MaxPooling2D(2)(x)
    x = double(x, base << 4)
    for level in reversed(range(4)):
        x = L.Conv2DTranspose(base << level, 2, strides=2, padding="same")(x)
        x = double(L.Concatenate()([x, skips[level]]), base << level)
    return keras.Model(i, L.Conv2D(2, 1)(x), name="unet")


def selfie_segmentation_like(size=256):
    """A MediaPipe-selfie-segmentation-like net: a MobileNetV3-Small encoder at 256x256,
    a decoder of 3x3 stride-2 Conv2DTranspose layers with PReLU back to full size."""
    i = keras.Input((size, size, 3), batch_size=1)
    enc = keras.applications.MobileNetV3Small(weights=None, input_tensor=i, include_top=False,
                                              include_preprocessing=False)
    x = enc.output
    for c in (96, 48, 24, 16, 16):
        x = L.Conv2DTranspose(c, 3, strides=2, padding="same")(x)
        x = L.PReLU(shared_axes=[1, 2])(x)
    return keras.Model(i, L.Conv2D(1, 1, activation="sigmoid")(x), name="selfie_segmentation_like")


class PositionEmbedding(L.Layer):
    """A learned [sequence, hidden] table added to the token embeddings (BERT's)."""

    def build(self, shape):
        self.table = self.add_weight(shape=shape[1:], initializer="random_normal")

    def call(self, x):
        return x + self.table


def bert_tiny(seq=128, vocab=8192, hidden=128, heads=2, layers=2, ff=512):
    """BERT-tiny's shape (2 layers, hidden 128, 2 heads) with a smaller vocabulary: token
    ids in, the pooled [CLS] vector through a 2-way classifier out."""
    i = keras.Input((seq,), batch_size=1, dtype="int32")
    x = PositionEmbedding()(L.Embedding(vocab, hidden)(i))
    x = L.LayerNormalization(epsilon=1e-12)(x)
    for _ in range(layers):
        a = L.MultiHeadAttention(num_heads=heads, key_dim=hidden // heads)(x, x)
        x = L.LayerNormalization(epsilon=1e-12)(x + a)
        f = L.Dense(hidden)(L.Dense(ff, activation="gelu")(x))
        x = L.LayerNormalization(epsilon=1e-12)(x + f)
    pooled = L.Dense(hidden, activation="tanh")(x[:, 0, :])
    return keras.Model(i, L.Dense(2)(pooled), name="bert_tiny")


class ClassToken(L.Layer):
    """A learned [1, 1, hidden] vector put in front of the patch tokens (ViT's [CLS])."""

    def build(self, shape):
        self.token = self.add_weight(shape=(1, 1, shape[-1]), initializer="random_normal")

    def call(self, x):
        return keras.ops.concatenate([self.token, x], axis=1)


def vit_tiny_like(size=224, patch=16, hidden=192, heads=3, layers=4, mlp=768):
    """A ViT-Tiny-like image transformer (Dosovitskiy et al. 2020) cut to 4 encoder blocks:
    a 16x16 stride-16 patch convolution, a class token and learned positions (197 tokens of
    192), pre-LayerNorm blocks of 3-head attention and an exact-GELU MLP of 768; the class
    token through a 1000-way classifier."""
    i = keras.Input((size, size, 3), batch_size=1)
    x = L.Conv2D(hidden, patch, strides=patch)(i)
    x = L.Reshape(((size // patch) ** 2, hidden))(x)
    x = PositionEmbedding()(ClassToken()(x))
    for _ in range(layers):
        y = L.LayerNormalization(epsilon=1e-6)(x)
        x = x + L.MultiHeadAttention(num_heads=heads, key_dim=hidden // heads)(y, y)
        y = L.LayerNormalization(epsilon=1e-6)(x)
        x = x + L.Dense(hidden)(L.Dense(mlp, activation="gelu")(y))
    x = L.LayerNormalization(epsilon=1e-6)(x)
    return keras.Model(i, L.Dense(1000)(x[:, 0, :]), name="vit_tiny_like")


def yamnet_like(classes=521):
    """A YAMNet-like audio event classifier: MobileNet-v1's 13 depthwise-separable layers
    (3x3 depthwise, 1x1 pointwise, each with BatchNormalization and ReLU) on one 96 frames
    x 64 mel-bands log-mel patch, down to 3x2x1024; 521 sigmoid scores out."""
    def conv_bn(layer, x):
        return L.ReLU()(L.BatchNormalization()(layer(x)))
    i = keras.Input((96, 64, 1), batch_size=1)
    x = conv_bn(L.Conv2D(32, 3, strides=2, padding="same", use_bias=False), i)
    for out, stride in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
                        (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)):
        x = conv_bn(L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False), x)
        x = conv_bn(L.Conv2D(out, 1, use_bias=False), x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(i, L.Dense(classes, activation="sigmoid")(x), name="yamnet_like")


def blaze_pose_like(size=256):
    """A BlazePose/hand-landmark-like net (MediaPipe): BlazeBlocks (5x5 depthwise, 1x1
    pointwise, residual add; at stride 2 the shortcut is a 2x2 max-pool, and zero channels
    are PADded onto it where the width grows), ReLU6 down to 32x32 and hard-swish below, from
    128x128x24 down to 8x8x288; a bilinear-upsampling decoder back to 64x64 feeds a
    39-channel heatmap head, and the 8x8 map feeds 195 landmark coordinates and a sigmoid
    presence score. (BatchNormalization folds into the pointwise convolutions; it is there
    to be calibrated, or the random-init trunk decays to near-zero outputs.)"""
    def block(x, out, stride=1, act="relu6"):
        y = L.DepthwiseConv2D(5, strides=stride, padding="same")(x)
        y = L.BatchNormalization()(L.Conv2D(out, 1)(y))
        if stride == 2:
            x = L.MaxPooling2D(2)(x)
        if x.shape[-1] != out:
            x = keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, out - x.shape[-1]]])
        return L.Activation(act)(x + y)

    def stage(x, out, n, act):
        x = block(x, out, stride=2, act=act)
        for _ in range(n - 1):
            x = block(x, out, act=act)
        return x
    i = keras.Input((size, size, 3), batch_size=1)
    x = L.Conv2D(24, 3, strides=2, padding="same", activation="relu6")(i)
    x = block(block(x, 24), 24)
    x64 = stage(x, 48, 3, "relu6")
    x32 = stage(x64, 96, 4, "relu6")
    x16 = stage(x32, 192, 5, "hard_swish")
    x8 = stage(x16, 288, 5, "hard_swish")
    up = L.UpSampling2D(2, interpolation="bilinear")
    y = L.Conv2D(48, 1)(x32) + up(L.Conv2D(48, 1)(x16))
    y = block(y, 48)
    y = L.Conv2D(32, 1)(x64) + up(L.Conv2D(32, 1)(y))
    heatmap = L.Conv2D(39, 3, padding="same")(block(y, 32))
    pooled = L.GlobalAveragePooling2D()(x8)
    landmarks = L.Dense(195)(pooled)
    presence = L.Dense(1, activation="sigmoid")(pooled)
    return keras.Model(i, [landmarks, presence, heatmap], name="blaze_pose_like")


def bn_calibrated(make, sample):
    """A builder whose BatchNormalizations take their input's statistics on a few random
    samples, so that a random-init float net does not collapse to constant outputs."""
    def build():
        model = make()
        shape = [1, *model.inputs[0].shape[1:]]
        calibrate_batch_norm(model, [sample(np.random.default_rng(k), shape)
                                     for k in range(BATCH_NORM_SAMPLES)])
        return model
    return build


def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape).astype(np.float32)


def normal(std):
    return lambda rng, shape: (std * rng.standard_normal(shape)).astype(np.float32)


def token_ids(vocab):
    return lambda rng, shape: rng.integers(0, vocab, shape).astype(np.int32)


# name -> builder
FLOAT = {
    "resnet50": app(keras.applications.ResNet50, 224),
    "mobilenet_v3_large": app(keras.applications.MobileNetV3Large, 224),
    "efficientnet_v2_b0": app(keras.applications.EfficientNetV2B0, 224),
    "densenet121": app(keras.applications.DenseNet121, 160),
    "face_mesh_like": face_mesh_like,
    "unet": unet,
    "selfie_segmentation_like": selfie_segmentation_like,
    "vit_tiny_like": vit_tiny_like,
    "yamnet_like": bn_calibrated(yamnet_like, normal(2.0)),
    "blaze_pose_like": bn_calibrated(blaze_pose_like, uniform(-1, 1)),
}
# Float models whose weights the converter stores as float16 (DEQUANTIZE at load), as
# MediaPipe ships them: name -> builder.
FLOAT16 = {
    "face_mesh_like_f16": face_mesh_like,
    "mobilenet_v3_large_f16": app(keras.applications.MobileNetV3Large, 224),
}
# name -> (builder, representative input in the model's natural range). Keras' own
# preprocessing decides the range: MobileNetV3 and EfficientNet rescale 0..255
# inside the model, ResNet-50 takes mean-subtracted pixels, DenseNet standardised ones,
# NASNet [-1, 1]; MFCCs spread over tens.
INT8 = {
    "mobilenet_v3_large_int8": (logits(keras.applications.MobileNetV3Large, 224), uniform(0, 255)),
    "efficientnet_b1_int8": (logits(keras.applications.EfficientNetB1, 240), uniform(0, 255)),
    "resnet50_int8": (logits(keras.applications.ResNet50, 224), uniform(-124, 152)),
    "densenet121_int8": (logits(keras.applications.DenseNet121, 160), uniform(-2.1, 2.6)),
    "nasnet_mobile_int8": (logits(keras.applications.NASNetMobile, 224), uniform(-1, 1)),
    "matchbox_kws_int8": (matchbox_kws, normal(10.0)),
    "bert_tiny_int8": (bert_tiny, token_ids(8192)),
}


def batch1_function(model):
    """The model as a tf.function on its batch-1 input (a static shape for the converter)."""
    spec = model.inputs[0]
    shape = [1, *spec.shape[1:]]
    return tf.function(lambda x: model(x, training=False),
                       input_signature=[tf.TensorSpec(shape, spec.dtype)]), shape


def calibrate_batch_norm(model, samples):
    """Give every BatchNormalization the mean and variance of its input on `samples`, in
    model order, so that activations keep unit scale through the random-init network."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            upto = keras.Model(model.inputs, layer.input)
            x = np.concatenate([np.asarray(upto(s, training=False), np.float64) for s in samples])
            axes = tuple(range(x.ndim - 1))
            layer.moving_mean.assign(x.mean(axis=axes).astype(np.float32))
            layer.moving_variance.assign(x.var(axis=axes).astype(np.float32))


def convert_float(model) -> bytes:
    fn, _ = batch1_function(model)
    return tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn).convert()


def convert_float16(model) -> bytes:
    fn, _ = batch1_function(model)
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    return conv.convert()


def convert_int8(model, sample) -> bytes:
    fn, shape = batch1_function(model)
    samples = [sample(np.random.default_rng(k), shape) for k in range(CALIBRATION_SAMPLES)]
    calibrate_batch_norm(model, samples[:BATCH_NORM_SAMPLES])
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([s] for s in samples)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    # int8 in and out where the input is float (token ids stay int32)
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def main(out: Path, filters: list) -> int:
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(n, make, convert_float) for n, make in FLOAT.items()]
    jobs += [(n, make, convert_float16) for n, make in FLOAT16.items()]
    jobs += [(n, make, lambda m, s=sample: convert_int8(m, s)) for n, (make, sample) in INT8.items()]
    for name, make, convert in jobs:
        if filters and not any(f in name for f in filters):
            continue
        # seeded by its name: a model's weights depend neither on the filters nor on the
        # models listed before it
        keras.utils.set_random_seed(zlib.crc32(name.encode()))
        (out / f"{name}.tflite").write_bytes(convert(make()))
        keras.backend.clear_session()
        print("wrote", out / f"{name}.tflite", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
