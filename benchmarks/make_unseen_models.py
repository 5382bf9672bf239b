#!/usr/bin/env python3
"""Build the "models the project has never seen" of the performance issue: four Keras
applications that nothing in dlcoder was tuned on, converted to float32 .tflite.

There is no network here, so their weights are random (weights=None, fixed seed); latency
and memory do not depend on the values. ResNet-50 (dense 3x3 and 1x1 convolutions),
MobileNetV3-Large (depthwise, squeeze-excite, hard-swish), EfficientNetV2-B0 (fused
MBConv: dense 3x3 convolutions, then depthwise ones, swish) and DenseNet-121 at 160x160
(concatenations, 3x3 convolutions with 32 outputs).

Usage (TensorFlow is needed here only, never by dlcoder itself):
  python3 benchmarks/make_unseen_models.py OUTDIR
  python3 benchmarks/run.py --models OUTDIR --threads 1 --out benchmarks/unseen
"""
import sys
from pathlib import Path

import tensorflow as tf

MODELS = {
    "resnet50": (tf.keras.applications.ResNet50, 224),
    "mobilenet_v3_large": (tf.keras.applications.MobileNetV3Large, 224),
    "efficientnet_v2_b0": (tf.keras.applications.EfficientNetV2B0, 224),
    "densenet121": (tf.keras.applications.DenseNet121, 160),
}


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    tf.keras.utils.set_random_seed(0)
    for name, (make, size) in MODELS.items():
        model = make(weights=None, input_shape=(size, size, 3))
        fn = tf.function(lambda x, m=model: m(x, training=False),
                         input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32)])
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
        (out / f"{name}.tflite").write_bytes(conv.convert())
        print("wrote", out / f"{name}.tflite", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
