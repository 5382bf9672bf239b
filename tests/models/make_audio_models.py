#!/usr/bin/env python3
"""(Re)build tests/models/audio/: small audio classifiers of BirdNET's kind.

BirdNET (and most audio classifiers exported from Keras) takes a batch of raw waveforms
[-1, samples] and computes its spectrogram in the graph: framing, a window, an RFFT, a
magnitude or a complex-to-float cast, a mel filterbank product, a compression (log or
pow), a normalization by a max computed at run time; then a small conv net. With a
dynamic batch the converter cannot fold the framing's shape arithmetic (SHAPE, SPLIT_V,
FLOOR_DIV, RANGE, PACK feeding STRIDED_SLICE, GATHER and RESHAPE): TFLite computes it at
every Invoke, and so do the slices whose bounds come from values (x[:, b:b+k]). Each
model here is such a Keras model (custom layers around tf.signal and tf.math), converted
with the default converter settings (float32, builtin ops only: none needs SELECT_TF_OPS).

What the converter (TF 2.21) makes of the front-end idioms, as these models use them:
  tf.signal.stft / frame + rfft   SHAPE .. FLOOR_DIV .. STRIDED_SLICE, RANGE, GATHER,
                                  RESHAPE, MUL (window), EXPAND_DIMS, RFFT2D, SQUEEZE
  tf.abs(complex)                 COMPLEX_ABS
  tf.math.real / tf.math.imag     REAL / IMAG
  tf.cast(complex, tf.float32)    CAST complex64 -> float32 (the real part)
  tf.cast(float, tf.complex64)    CAST float32 -> complex64, then MUL complex64
  x[:, b:b+k], b a tensor         begin PACK(0, b), end PACK(0, ADD(b, k)), STRIDED_SLICE
                                  with begin_mask = end_mask = 1; its output dim is -1
  tf.slice(x, begin, end - begin)  SLICE whose size is SUB(PACK(..), PACK(..))
  tf.tensordot(spec, mel, 1)      SHAPE/GATHER/REDUCE_PROD/PACK around a RESHAPE, FC
Idioms that do not convert to builtins (and are not used): tf.complex, slicing a complex
tensor, tf.math.conj (all need SELECT_TF_OPS); tf.signal.fft(tf.cast(x, complex64))
becomes an RFFT2D of fft_length/2 + 1 bins where TF gives fft_length (the converter's
rewrite changes the output shape).

The classifiers are Keras models with two outputs, the class probabilities and the front
end's features. Two small tf.functions, window_at_offset and slice_at_offset, take the
slice offset b as an int32 input beside the waveform, so that tests can run it in and out
of range (x[:, b:b+16] as STRIDED_SLICE; tf.slice(x, begin, end - begin) as a SLICE whose
size is a SUB of two PACKs).

Every model writes <name>.tflite (well under 200 KB) and an entry in audio/cases.json:
  why           what the model is for
  ops           subgraph 0's operators in execution order
  inputs        name, shape, dtype and shape_signature of each input (the waveform first)
  outputs       name, shape, dtype and shape_signature of each output
  extra_inputs  the values of the inputs after the waveform (the offset b), as built
  batch_free    whether each row's output depends on its row only (not on the batch)
  tf_error      max |TFLite - TF| / max(1, max |TF|) over the outputs, at the stored
                batch 1 and at batch 3
Verification (at build time, ai_edge_litert, BUILTIN_WITHOUT_DEFAULT_DELEGATES): the
builder's ops are there, the batch is dynamic, the outputs are finite and within 1e-4 of
TF at batch 1 and 3; for a batch_free model each row of the batch-3 output equals that row
run alone.

Usage (build with the TF venv; --verify-only needs only ai_edge_litert, tflite, numpy)
  /work/venv-tf221/bin/python tests/models/make_audio_models.py [name ...]
  python3 tests/models/make_audio_models.py --verify-only [name ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_hand import tfl_module  # noqa: E402

OUT = HERE / "audio"
MAX_BYTES = 200_000
TF_BOUND = 1e-4
BUILDERS = {}
FRONT_END = ("SHAPE", "FLOOR_DIV", "STRIDED_SLICE", "RFFT2D")


class Built(NamedTuple):
    """A converted model, what TF computes for it and its test inputs."""
    model: bytes                 # the .tflite flatbuffer
    reference: Callable          # [input arrays] -> [output arrays], by TF / Keras
    inputs: Callable             # batch -> [input arrays] for that batch


def model(why, ops, batch_free=True):
    """Register a builder (() -> Built) under its function name; `ops` must all appear in
    the converted model."""
    def register(fn):
        BUILDERS[fn.__name__] = (fn, why, tuple(ops), batch_free)
        return fn
    return register


# =============================================================================
# Building blocks (TensorFlow / Keras)
# =============================================================================
def _mel(n_mels, fft_length, rate, fmin, fmax):
    import tensorflow as tf
    return tf.signal.linear_to_mel_weight_matrix(n_mels, fft_length // 2 + 1, rate, fmin,
                                                 fmax).numpy()


def _normalize_wave(x):
    """BirdNET's input scaling: to [-1, 1] by the min and max of each waveform."""
    import tensorflow as tf
    x = x - tf.reduce_min(x, axis=1, keepdims=True)
    x = x / (tf.reduce_max(x, axis=1, keepdims=True) + 1e-6)
    return (x - 0.5) * 2.0


def _layers():
    """The front-end layers, defined once TF is imported."""
    import keras
    import tensorflow as tf

    class BirdNetMelSpec(keras.layers.Layer):
        """BirdNET's MelSpecLayerSimple: STFT, cast to float (the real part), mel
        tensordot, power, a learned magnitude compression, flipped and transposed to
        [batch, mels, frames, 1]."""

        def __init__(self, frame_length, frame_step, n_mels, rate, fmin, fmax, **kw):
            super().__init__(**kw)
            self.frame_length, self.frame_step = frame_length, frame_step
            self.mel = _mel(n_mels, frame_length, rate, fmin, fmax)

        def build(self, input_shape):
            self.mag_scale = self.add_weight(name="magnitude_scaling", shape=(),
                                             initializer=keras.initializers.Constant(1.23))

        def call(self, x):
            spec = tf.signal.stft(_normalize_wave(x), self.frame_length, self.frame_step,
                                  window_fn=tf.signal.hann_window, pad_end=False)
            spec = tf.cast(spec, tf.float32)
            spec = tf.tensordot(spec, self.mel, 1)
            spec = tf.math.pow(spec, 2.0)
            spec = tf.math.pow(spec, 1.0 / (1.0 + tf.math.exp(self.mag_scale)))
            spec = tf.reverse(spec, axis=[2])
            return tf.expand_dims(tf.transpose(spec, [0, 2, 1]), -1)

    class LogMelSpec(keras.layers.Layer):
        """|STFT| through a mel matmul, log, minus the max of each spectrogram; `crop`
        frames from frame `start(spec)`, sliced as spec[:, b:b + crop] (b a tensor)."""

        def __init__(self, frame_length, frame_step, n_mels, rate, crop=None, start=None, **kw):
            super().__init__(**kw)
            self.frame_length, self.frame_step = frame_length, frame_step
            self.mel = _mel(n_mels, frame_length, rate, 50.0, rate / 2)
            self.crop, self.start = crop, start

        def call(self, x):
            spec = tf.abs(tf.signal.stft(_normalize_wave(x), self.frame_length, self.frame_step,
                                         window_fn=tf.signal.hann_window))
            if self.crop is not None:
                b = self.start(spec)
                spec = spec[:, b:b + self.crop]
            spec = tf.math.log(tf.matmul(spec, self.mel) + 1e-6)
            spec = spec - tf.reduce_max(spec, axis=[1, 2], keepdims=True)
            return tf.expand_dims(spec, -1)

    class PowerDb(keras.layers.Layer):
        """Framing with a Hamming window, RFFT padded to fft_length, power from the real and
        imaginary parts, mel, dB with an 80 dB floor below the run-time max."""

        def __init__(self, frame_length, frame_step, fft_length, n_mels, rate, **kw):
            super().__init__(**kw)
            self.frame_length, self.frame_step = frame_length, frame_step
            self.fft_length = fft_length
            self.window = np.hamming(frame_length).astype(np.float32)
            self.mel = _mel(n_mels, fft_length, rate, 0.0, rate / 2)

        def call(self, x):
            frames = tf.signal.frame(x, self.frame_length, self.frame_step) * self.window
            spec = tf.signal.rfft(frames, [self.fft_length])
            power = tf.math.real(spec) ** 2 + tf.math.imag(spec) ** 2
            db = 10.0 * tf.math.log(tf.maximum(tf.matmul(power, self.mel), 1e-10)) / np.log(10.0)
            db = tf.maximum(db, tf.reduce_max(db, axis=[1, 2], keepdims=True) - 80.0)
            return tf.expand_dims(tf.transpose(db, [0, 2, 1]), -1)

    class LoudestWindow(keras.layers.Layer):
        """x[:, b:b + length] where b starts the loudest block (of `block` samples, energy
        summed over the batch): slice bounds computed from the values."""

        def __init__(self, length, block, **kw):
            super().__init__(**kw)
            self.length, self.block = length, block

        def call(self, x):
            n = x.shape[1] // self.block
            blocks = tf.reshape(x[:, :n * self.block], [-1, n, self.block])
            energy = tf.reduce_sum(tf.reduce_sum(tf.square(blocks), axis=2), axis=0)
            last = (x.shape[1] - self.length) // self.block + 1
            b = tf.argmax(energy[:last], output_type=tf.int32) * self.block
            return x[:, b:b + self.length]

    class ComplexGain(keras.layers.Layer):
        """RFFT of Hann-windowed frames scaled in the complex domain by a gain computed at
        run time (tf.cast to complex64), then cast back to float (the real part) and
        paired with the magnitude as two channels."""

        def __init__(self, frame_length, frame_step, **kw):
            super().__init__(**kw)
            self.frame_length, self.frame_step = frame_length, frame_step

        def call(self, x):
            frames = tf.signal.frame(x, self.frame_length, self.frame_step)
            spec = tf.signal.rfft(frames * tf.signal.hann_window(self.frame_length))
            gain = 1.0 / (tf.reduce_max(tf.abs(x), axis=1, keepdims=True) + 1e-3)
            spec = spec * tf.cast(gain[:, :, None], tf.complex64)
            return tf.stack([tf.cast(spec, tf.float32), tf.abs(spec)], axis=-1)

    return {c.__name__: c for c in (BirdNetMelSpec, LogMelSpec, PowerDb, LoudestWindow,
                                    ComplexGain)}


def _classifier(x, n_classes, filters=8):
    """The conv net after the front end: conv, depthwise, pointwise (each with a batch norm
    the converter folds), max pool, global average, dense, softmax."""
    import keras
    L = keras.layers
    x = L.Conv2D(filters, 3, strides=2, padding="same", use_bias=False)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    x = L.Conv2D(2 * filters, 1, use_bias=False)(x)
    x = L.ReLU()(L.BatchNormalization()(x))
    x = L.GlobalAveragePooling2D()(L.MaxPooling2D(2)(x))
    return L.Dense(n_classes, activation="softmax")(x)


def _keras(name, samples, front, n_classes=6) -> Built:
    """Input [-1, samples] -> front(x) -> the classifier, seeded by name, batch norms given
    moving statistics that are not the identity, converted from Keras. Outputs: the class
    probabilities and the front end's features (which a comparison of probabilities alone
    would hardly see)."""
    import keras
    import tensorflow as tf
    keras.backend.clear_session()
    keras.utils.set_random_seed(sum(name.encode()))
    inp = keras.Input((samples,), name="waveform")
    features = front(inp)
    km = keras.Model(inp, [_classifier(features, n_classes), features], name=name)
    rng = np.random.default_rng(sum(name.encode()))
    for layer in km.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.2, n), rng.uniform(0.5, 2.0, n)])
    return Built(tf.lite.TFLiteConverter.from_keras_model(km).convert(),
                 lambda xs: [np.asarray(y) for y in km(xs[0], training=False)],
                 lambda batch: [waves(batch, samples)])


def _function(fn, specs, inputs) -> Built:
    """A tf.function converted from its concrete function for `specs`."""
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function(*specs)])
    return Built(conv.convert(), lambda xs: [np.asarray(fn(*xs))], inputs)


# =============================================================================
# The models
# =============================================================================
@model("BirdNET's front end as BirdNET writes it (min/max wave normalization, tf.signal.stft "
       "with a Hann window, tf.cast complex64 -> float32, mel tensordot, pow 2, learned "
       "pow compression, reverse, transpose) at two resolutions whose frames line up, "
       "concatenated as channels, then the conv net",
       FRONT_END + ("CAST", "REVERSE_V2", "POW", "CONCATENATION"))
def birdnet_melspec():
    import keras
    layers = _layers()
    samples = 8192

    def front(x):
        hi = layers["BirdNetMelSpec"](256, 128, 24, 16000, 0.0, 8000.0)(x)
        lo = layers["BirdNetMelSpec"](128, 130, 24, 16000, 150.0, 3000.0)(x)
        return keras.layers.Concatenate(axis=-1)([hi, lo])
    return _keras("birdnet_melspec", samples, front)


@model("tf.signal.stft, tf.abs (COMPLEX_ABS), mel matmul, log, minus the run-time max of "
       "each spectrogram, conv net",
       FRONT_END + ("COMPLEX_ABS", "LOG", "REDUCE_MAX"))
def stft_logmel():
    return _keras("stft_logmel", 8000, _layers()["LogMelSpec"](256, 128, 32, 16000))


@model("tf.signal.frame, Hamming window, tf.signal.rfft padded from 400 to 512, power from "
       "tf.math.real / tf.math.imag, mel, dB floored 80 dB below the run-time max, conv net",
       ("SHAPE", "FLOOR_DIV", "RFFT2D", "REAL", "IMAG", "LOG", "REDUCE_MAX"))
def frame_rfft_db():
    return _keras("frame_rfft_db", 16000, _layers()["PowerDb"](400, 160, 512, 24, 16000))


@model("x[:, b:b+6000] where b (ARG_MAX of block energies summed over the batch, times the "
       "block) is computed at run time: STRIDED_SLICE with begin PACK(0, b) and end "
       "PACK(0, ADD(b, 6000)), output dim -1; then the log-mel front end and the conv net",
       FRONT_END + ("ARG_MAX", "PACK", "COMPLEX_ABS"), batch_free=False)
def loudest_window():
    layers = _layers()

    def front(x):
        return layers["LogMelSpec"](256, 128, 24, 16000)(layers["LoudestWindow"](6000, 500)(x))
    return _keras("loudest_window", 12000, front)


@model("the log-mel front end keeping the middle 40 frames, spec[:, b:b+40] with b = "
       "(tf.shape(spec)[1] - 40) // 2: bounds computed from a shape that is dynamic for "
       "the converter (folded when the batch is the stored 1)",
       FRONT_END + ("COMPLEX_ABS",))
def center_frames():
    def middle(spec):
        import tensorflow as tf
        return (tf.shape(spec)[1] - 40) // 2
    return _keras("center_frames", 10000,
                  _layers()["LogMelSpec"](256, 128, 24, 16000, crop=40, start=middle))


@model("the log-mel front end keeping 24 frames from the loudest, spec[:, f:f+24] with f = "
       "ARG_MAX of the frame energies of the first row clipped to [0, frames - 24]: a value-"
       "dependent slice of a rank-3 spectrogram", FRONT_END + ("ARG_MAX", "MINIMUM"),
       batch_free=False)
def loudest_frames():
    def loudest(spec):
        import tensorflow as tf
        energy = tf.reduce_sum(spec[0], axis=1)
        return tf.minimum(tf.argmax(energy, output_type=tf.int32), tf.shape(spec)[1] - 24)
    return _keras("loudest_frames", 9000,
                  _layers()["LogMelSpec"](256, 128, 24, 16000, crop=24, start=loudest))


@model("RFFT scaled by tf.cast(gain, tf.complex64) (gain = 1 / max|x| at run time), cast "
       "back to float32 and |.| as two channels, conv net",
       FRONT_END + ("CAST", "COMPLEX_ABS", "PACK"))
def complex_gain():
    return _keras("complex_gain", 8000, _layers()["ComplexGain"](256, 128))


def _offset_inputs(samples, offset):
    return lambda batch: [waves(batch, samples), np.asarray(offset, np.int32)]


@model("a 16-sample window of a [-1, 64] waveform at the offset b, an int32 input: "
       "x[:, b:b+16] (STRIDED_SLICE, begin PACK(0, b), end PACK(0, ADD(b, 16)), output dim "
       "-1), Hann window, RFFT, |.|; an offset past 48 gives TFLite fewer columns, and the "
       "window's MUL then fails", ("STRIDED_SLICE", "PACK", "ADD", "RFFT2D", "COMPLEX_ABS"))
def window_at_offset():
    import tensorflow as tf

    @tf.function
    def window(x, b):
        return tf.abs(tf.signal.rfft(x[:, b:b + 16] * tf.signal.hann_window(16)))
    return _function(window, [tf.TensorSpec([None, 64], tf.float32, name="waveform"),
                              tf.TensorSpec([], tf.int32, name="offset")],
                     _offset_inputs(64, 20))


@model("tf.slice of a [-1, 64] waveform from [0, b] (b an int32 input) with size end - begin, "
       "end = [batch, b + 16]: SLICE whose size is a SUB of two PACKs (of SHAPE and of an "
       "ADD), output dims -1; TFLite fails where the slice leaves the waveform",
       ("SLICE", "SUB", "SHAPE", "PACK"))
def slice_at_offset():
    import tensorflow as tf

    @tf.function
    def window(x, b):
        begin = tf.stack([0, b])
        end = tf.stack([tf.shape(x)[0], b + 16])
        return tf.slice(x, begin, end - begin) * 2.0
    return _function(window, [tf.TensorSpec([None, 64], tf.float32, name="waveform"),
                              tf.TensorSpec([], tf.int32, name="offset")],
                     _offset_inputs(64, 20))


# =============================================================================
# Description and verification (tflite package, ai_edge_litert)
# =============================================================================
def _names(module):
    return {v: k for k, v in vars(getattr(tfl_module(module), module)).items()
            if not k.startswith("_")}


def _tensor(t, types):
    d = {"name": t.Name().decode(), "shape": t.ShapeAsNumpy().tolist() if t.ShapeLength() else [],
         "dtype": types[t.Type()].lower()}
    if t.ShapeSignatureLength():
        d["shape_signature"] = t.ShapeSignatureAsNumpy().tolist()
    return d


def describe(model_bytes):
    """ops, inputs and outputs of subgraph 0, read from the flatbuffer."""
    import tflite
    m = tflite.Model.GetRootAsModel(model_bytes, 0)
    opnames, types = _names("BuiltinOperator"), _names("TensorType")
    sg = m.Subgraphs(0)
    ops = []
    for i in range(sg.OperatorsLength()):
        oc = m.OperatorCodes(sg.Operators(i).OpcodeIndex())
        ops.append(opnames[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())])
    return {"ops": ops,
            "inputs": [_tensor(sg.Tensors(sg.Inputs(i)), types) for i in range(sg.InputsLength())],
            "outputs": [_tensor(sg.Tensors(sg.Outputs(i)), types)
                        for i in range(sg.OutputsLength())]}


def waves(batch, samples, seed=0):
    """Test waveforms: a few tones with noise, one loud burst per row."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000.0
    out = []
    for _ in range(batch):
        f = rng.uniform(200, 4000, 3)
        w = sum(np.sin(2 * np.pi * fk * t + rng.uniform(0, 6)) for fk in f) / 3
        w = w + 0.3 * rng.normal(size=samples)
        at, n = rng.integers(0, samples - samples // 8), samples // 8
        w[at:at + n] *= 4.0
        out.append(w)
    return np.asarray(out, np.float32)


def tflite_run(path, xs):
    """Outputs of the TFLite interpreter with the inputs resized to those of `xs`."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    it = Interpreter(model_path=str(path),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    details = it.get_input_details()
    for d, x in zip(details, xs):
        it.resize_tensor_input(d["index"], list(np.shape(x)))
    it.allocate_tensors()
    for d, x in zip(details, xs):
        if np.dtype(d["dtype"]) != x.dtype:
            raise AssertionError(f"input {d['name']} is {d['dtype']}, the test gives {x.dtype}")
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(o["index"]).copy() for o in it.get_output_details()]


def _error(outs, refs) -> float:
    """max |out - ref| / max(1, max |ref|) over the outputs (dlcoder's float comparison),
    matched by shape: the converter may order a Keras model's outputs otherwise."""
    refs = sorted(refs, key=lambda r: r.shape)
    outs = sorted(outs, key=lambda o: o.shape)
    if [o.shape for o in outs] != [r.shape for r in refs]:
        raise AssertionError(f"shapes {[o.shape for o in outs]} against {[r.shape for r in refs]}")
    return max(float(np.max(np.abs(o - r))) / max(1.0, float(np.max(np.abs(r))))
               for o, r in zip(outs, refs))


def _rows(xs, lo, hi):
    """The inputs for batch rows lo..hi (the waveform; other inputs are not batched)."""
    return [xs[0][lo:hi]] + xs[1:]


def verify(path, entry, ops, built=None):
    """Raise AssertionError unless the written model is what its entry says."""
    present = set(entry["ops"])
    if missing := [o for o in ops if o not in present]:
        raise AssertionError(f"ops {missing} not in the model ({sorted(present)})")
    if (size := path.stat().st_size) > MAX_BYTES:
        raise AssertionError(f"{size} bytes, more than {MAX_BYTES}")
    wave = entry["inputs"][0]
    if wave.get("shape_signature", [None])[0] != -1:
        raise AssertionError(f"the batch is not dynamic: {wave}")
    xs = [waves(3, wave["shape"][1])] + [np.asarray(x, d["dtype"]) for x, d in
                                         zip(entry["extra_inputs"], entry["inputs"][1:])]
    outs = {b: tflite_run(path, _rows(xs, 0, b)) for b in (1, 3)}
    for b, ys in outs.items():
        if not all(np.isfinite(y).all() for y in ys):
            raise AssertionError(f"batch {b}: an output is not finite")
        if built is not None and (err := _error(ys, built.reference(_rows(xs, 0, b)))) > TF_BOUND:
            raise AssertionError(f"batch {b}: TFLite differs from TF by {err}")
    if entry["batch_free"]:
        for r in range(3):
            alone = tflite_run(path, _rows(xs, r, r + 1))
            if any(np.max(np.abs(y[r] - a[0])) > 1e-5 for y, a in zip(outs[3], alone)):
                raise AssertionError(f"row {r} of a batch of 3 differs from the row alone")


# =============================================================================
# Command line
# =============================================================================
def build(name, index) -> Built:
    """Convert one model, write it and its cases.json entry."""
    fn, why, _, batch_free = BUILDERS[name]
    built = fn()
    path = OUT / f"{name}.tflite"
    path.write_bytes(built.model)
    xs = built.inputs(3)
    index[name] = {"why": why, "batch_free": batch_free, **describe(built.model),
                   "extra_inputs": [x.tolist() for x in xs[1:]]}
    index[name]["tf_error"] = {str(b): _error(tflite_run(path, _rows(xs, 0, b)),
                                              built.reference(_rows(xs, 0, b)))
                               for b in (1, 3)}
    return built


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="only these models (default: all)")
    ap.add_argument("--verify-only", action="store_true",
                    help="verify the written models against cases.json, build nothing")
    args = ap.parse_args(argv)
    names = args.names or list(BUILDERS)
    if unknown := [n for n in names if n not in BUILDERS]:
        ap.error(f"unknown model(s) {unknown}; known: {list(BUILDERS)}")
    index_path = OUT / "cases.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    OUT.mkdir(exist_ok=True)
    failures = 0
    for name in names:
        try:
            built = None if args.verify_only else build(name, index)
            verify(OUT / f"{name}.tflite", index[name], BUILDERS[name][2], built)
        except Exception as e:  # noqa: BLE001 -- report every failing model, then fail
            failures += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            continue
        size = (OUT / f"{name}.tflite").stat().st_size
        print(f"ok   {name:18s} {size:6d} B  tf_error {index[name]['tf_error']}  "
              f"{index[name]['ops']}", flush=True)
    if not args.verify_only:
        index_path.write_text(json.dumps(index, sort_keys=True, indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
