#!/usr/bin/env python3
"""(Re)build tests/models/state/: small stateful, multi-signature and dynamic-batch models.

Streaming models keep state between calls in resource variables: the converter writes a
VAR_HANDLE per variable (container "", shared_name = the tf.Variable's name), READ_VARIABLE
and ASSIGN_VARIABLE on its RESOURCE handle, and one CALL_ONCE at the top of every
signature's subgraph whose init_subgraph_index names a subgraph ("NoOp") that assigns every
variable its initial value. The test contract (issue 15): one stream is one TFLite
interpreter invoked once per frame, NAME_reset + NAME_run per frame on our side, every
step's outputs compared. A new stream is a new interpreter: neither reset_all_variables()
nor allocate_tensors() resets resource variables.

Every model is a tf.Module (or a Keras model) with random weights from a seeded numpy
generator (the float and int8 variants of a model share them), converted from concrete
functions (the Keras one from_keras_model); the output is byte-stable from run to run. Each
model writes <name>.tflite and an entry in state/cases.json:
  why          what the model is for
  frames       how many consecutive frames a test feeds (50)
  streams      the signature keys whose outputs depend on earlier calls (a test streams
               frames through them)
  shares       [writer, reader] signature pairs that share variables: what the writer
               stores, the reader reads
  inputs       subgraph 0's inputs in order: name, shape, dtype, shape_signature (where the
               flatbuffer stores one), scale and zero_point (quantized tensors)
  subgraphs    per subgraph: name, input and output tensor indices, and its operators in
               execution order
  call_once    {subgraph index: init subgraph index} of every CALL_ONCE
  variables    per shared_name: dtype, shape (and quantization) of the initial value the
               init subgraph assigns
  signatures   per SignatureDef in the flatbuffer's order: key, subgraph index, inputs and
               outputs in the SignatureDef's vector order (the converter sorts them by key,
               which is not the subgraph's input / output order), the variables it touches
Every model is verified in ai_edge_litert (BUILTIN_WITHOUT_DEFAULT_DELEGATES): 50 random
frames through one interpreter, finite outputs; for a stateful entry point every step after
the first differs from a fresh interpreter's output on the same frame, for a stateless one
every step equals it; signatures that share variables share the state (an init
then a step equals a fresh interpreter's init then step, and differs from a step alone).

Usage (build with the TF venv; --verify-only needs only ai_edge_litert, tflite, numpy)
  /work/venv-tf221/bin/python tests/models/make_state_models.py [name ...]
  python3 tests/models/make_state_models.py --verify-only [name ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from op_build import read_options  # noqa: E402
from op_hand import tfl_module  # noqa: E402

OUT = HERE / "state"
N_FRAMES = 50
N_REP = 100
STATE_OPS = ("ASSIGN_VARIABLE", "CALL_ONCE", "READ_VARIABLE", "VAR_HANDLE")
BUILDERS = {}


def model(why, ops=STATE_OPS, streams=("serving_default",), shares=()):
    """Register a builder (() -> model bytes) under its function name. `ops` must all
    appear in the written model; `streams` are the signature keys whose outputs depend on
    earlier calls; `shares` are (writer, reader) signature pairs: what the writer stores,
    the reader reads."""
    def register(fn):
        BUILDERS[fn.__name__] = (fn, why, tuple(ops), list(streams), [list(p) for p in shares])
        return fn
    return register


# =============================================================================
# The models (TensorFlow)
# =============================================================================
def _rng(name):
    return np.random.default_rng(sum(name.encode()))


def _w(rng, *shape, scale=0.5):
    return (rng.normal(size=shape) * scale).astype(np.float32)


def _convert(module, fns, rep_shapes=None, var_quant=False):
    """Convert tf.functions of `module` (one signature each, keyed by function name) with
    resource variables; with rep_shapes, full int8 with int8 I/O calibrated on normal frames
    of those shapes, int8 variables when var_quant."""
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_concrete_functions(
        [f.get_concrete_function() for f in fns], module)
    conv.experimental_enable_resource_variables = True
    if rep_shapes:
        def rep():
            r = np.random.default_rng(0)
            for _ in range(N_REP):
                yield [r.normal(size=s).astype(np.float32) for s in rep_shapes]
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
        conv._experimental_variable_quantization = var_quant
    return conv.convert()


def _stream_conv_module(name, k=4, c=6, filters=8, units=5):
    """Conv1D over a ring buffer [1, k-1, c] of the previous frames plus the new [1, 1, c]
    frame, relu, dense: the streaming layer of keyword-spotting models."""
    import tensorflow as tf
    rng = _rng(name)

    class StreamConv(tf.Module):
        def __init__(self):
            self.ring = tf.Variable(tf.zeros([1, k - 1, c]), name="ring")
            self.w, self.b = _w(rng, k, c, filters), _w(rng, filters, scale=0.1)
            self.dense = _w(rng, filters, units)

        @tf.function(input_signature=[tf.TensorSpec([1, 1, c], tf.float32, name="frame")])
        def serving_default(self, frame):
            window = tf.concat([self.ring, frame], axis=1)
            self.ring.assign(window[:, 1:, :])
            y = tf.nn.relu(tf.nn.conv1d(window, self.w, 1, "VALID") + self.b)
            return {"output_0": tf.matmul(tf.reshape(y, [1, filters]), self.dense)}
    m = StreamConv()
    return m, [m.serving_default], [(1, 1, c)]


@model("streaming Conv1D (K=4) over a [1, 3, 6] float ring buffer, relu, dense; zeros at start")
def stream_conv1d_float():
    m, fns, _ = _stream_conv_module("stream_conv1d")
    return _convert(m, fns)


@model("two streaming Conv1D layers (K=3, K=5), two ring buffers of different shapes, "
       "frames [1, C] expanded in the graph")
def stream_conv1d_2layer_float():
    import tensorflow as tf
    rng = _rng("stream_conv1d_2layer_float")
    c, f1, f2 = 4, 6, 5

    class TwoLayers(tf.Module):
        def __init__(self):
            self.ring1 = tf.Variable(tf.zeros([1, 2, c]), name="ring1")
            self.ring2 = tf.Variable(tf.zeros([1, 4, f1]), name="ring2")
            self.w1, self.w2 = _w(rng, 3, c, f1), _w(rng, 5, f1, f2, scale=0.3)

        @staticmethod
        def _stream(ring, x, w):
            window = tf.concat([ring, x], axis=1)
            ring.assign(window[:, 1:, :])
            return tf.nn.conv1d(window, w, 1, "VALID")

        @tf.function(input_signature=[tf.TensorSpec([1, c], tf.float32, name="frame")])
        def serving_default(self, frame):
            h = tf.nn.relu(self._stream(self.ring1, frame[:, None, :], self.w1))
            return {"output_0": tf.tanh(self._stream(self.ring2, h, self.w2))[:, 0, :]}
    m = TwoLayers()
    return _convert(m, [m.serving_default])


@model("streaming Conv1D fully int8 (int8 I/O) with int8 variables "
       "(converter._experimental_variable_quantization=True)")
def stream_conv1d_int8():
    m, fns, shapes = _stream_conv_module("stream_conv1d")
    return _convert(m, fns, rep_shapes=shapes, var_quant=True)


@model("streaming Conv1D int8 I/O as the converter makes it by default: the ring buffer "
       "stays float32, DEQUANTIZE before the float CONCATENATION and ASSIGN_VARIABLE, "
       "QUANTIZE after", ops=STATE_OPS + ("DEQUANTIZE", "QUANTIZE"))
def stream_conv1d_int8_floatvar():
    m, fns, shapes = _stream_conv_module("stream_conv1d")
    return _convert(m, fns, rep_shapes=shapes, var_quant=False)


def _rnn_module(name, n_in=5, n_h=8, read_back=False):
    """h = tanh(x W + h U + b), h kept in a variable that starts at a non-zero value; the
    output is h, or with read_back the variable read after the assignment."""
    import tensorflow as tf
    rng = _rng(name)

    class Rnn(tf.Module):
        def __init__(self):
            self.h = tf.Variable(_w(rng, 1, n_h, scale=0.3), name="h")
            self.w, self.u, self.b = _w(rng, n_in, n_h), _w(rng, n_h, n_h), _w(rng, n_h, scale=0.1)

        @tf.function(input_signature=[tf.TensorSpec([1, n_in], tf.float32, name="x")])
        def serving_default(self, x):
            h = tf.tanh(tf.matmul(x, self.w) + tf.matmul(self.h, self.u) + self.b)
            self.h.assign(h)
            return {"h": self.h.read_value() if read_back else h}
    m = Rnn()
    return m, [m.serving_default], [(1, n_in)]


@model("simple RNN cell h = tanh(x W + h U + b), h [1, 8] in a variable, initial h non-zero")
def rnn_state_float():
    m, fns, _ = _rnn_module("rnn_state")
    return _convert(m, fns)


@model("the RNN cell fully int8 with int8 variables, the output read back from the variable "
       "after ASSIGN_VARIABLE (returning h itself makes the converter fail: 'type of return "
       "operand 0 ... doesn't match function result type'); a QUANTIZE int8 -> int8 "
       "requantizes TANH's output to the variable's scale", ops=STATE_OPS + ("QUANTIZE",))
def rnn_state_int8():
    m, fns, shapes = _rnn_module("rnn_state", read_back=True)
    return _convert(m, fns, rep_shapes=shapes, var_quant=True)


@model("int32 scalar counter (starts at 7, +1 per call) and a float [3] accumulator; "
       "int32 + float inputs whose signature order (gain, x) is not the subgraph's (x, gain)")
def counter():
    import tensorflow as tf

    class Counter(tf.Module):
        def __init__(self):
            self.count = tf.Variable(7, dtype=tf.int32, name="count")
            self.acc = tf.Variable(np.array([0.5, -1.0, 2.0], np.float32), name="acc")

        @tf.function(input_signature=[tf.TensorSpec([4], tf.int32, name="x"),
                                      tf.TensorSpec([1, 3], tf.float32, name="gain")])
        def serving_default(self, x, gain):
            self.count.assign_add(1)
            self.acc.assign(self.acc * 0.75 + gain[0])
            return {"total": self.count * 3 + x,
                    "acc": self.acc * tf.cast(self.count, tf.float32) * 0.1}
    m = Counter()
    return _convert(m, [m.serving_default])


@model("two signatures sharing one variable: init(x) sets state = 2x, step(x, decay) "
       "updates it and returns y and norm", streams=("step",), shares=(("init", "step"),))
def two_signatures():
    import tensorflow as tf
    rng = _rng("two_signatures")
    n = 4

    class InitStep(tf.Module):
        def __init__(self):
            self.state = tf.Variable(tf.zeros([1, n]), name="state")
            self.w = _w(rng, n, n)

        @tf.function(input_signature=[tf.TensorSpec([1, n], tf.float32, name="x")])
        def init(self, x):
            self.state.assign(x * 2.0)
            return {"state": self.state.read_value()}

        @tf.function(input_signature=[tf.TensorSpec([1, n], tf.float32, name="x"),
                                      tf.TensorSpec([1], tf.float32, name="decay")])
        def step(self, x, decay):
            s = tf.tanh(tf.matmul(self.state, self.w) * decay + x)
            self.state.assign(s)
            return {"y": s * 3.0, "norm": tf.reduce_sum(s * s, axis=1)}
    m = InitStep()
    return _convert(m, [m.init, m.step])


@model("two stateless signatures encode(x) -> code and decode(code) -> recon "
       "(subgraph 0 is decode: the converter orders subgraphs by key)",
       ops=("FULLY_CONNECTED",), streams=())
def encode_decode():
    import tensorflow as tf
    rng = _rng("encode_decode")

    class Codec(tf.Module):
        def __init__(self):
            self.we, self.wd, self.bd = _w(rng, 8, 3), _w(rng, 3, 8), _w(rng, 8, scale=0.1)

        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32, name="x")])
        def encode(self, x):
            return {"code": tf.tanh(tf.matmul(x, self.we))}

        @tf.function(input_signature=[tf.TensorSpec([1, 3], tf.float32, name="code")])
        def decode(self, code):
            return {"recon": tf.matmul(code, self.wd) + self.bd}
    m = Codec()
    return _convert(m, [m.encode, m.decode])


@model("Keras Conv2D + MaxPool + Flatten + Dense, input [-1, 16, 16, 3] (dynamic batch, "
       "stored shape batch 1); Flatten becomes SHAPE/STRIDED_SLICE/PACK/RESHAPE",
       ops=("CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SHAPE"), streams=())
def dynamic_batch_keras():
    import keras
    import tensorflow as tf
    keras.backend.clear_session()
    keras.utils.set_random_seed(15)
    km = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                           keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                           keras.layers.Dense(5)])
    return tf.lite.TFLiteConverter.from_keras_model(km).convert()


# =============================================================================
# Description of a written model (tflite package)
# =============================================================================
def _names(module):
    return {v: k for k, v in vars(getattr(tfl_module(module), module)).items()
            if not k.startswith("_")}


def _tensor(t, types):
    d = {"name": t.Name().decode(), "shape": t.ShapeAsNumpy().tolist() if t.ShapeLength() else [],
         "dtype": types[t.Type()].lower()}
    if t.ShapeSignatureLength():
        d["shape_signature"] = t.ShapeSignatureAsNumpy().tolist()
    q = t.Quantization()
    if q is not None and q.ScaleLength():
        d["scale"] = q.ScaleAsNumpy().tolist()
        d["zero_point"] = q.ZeroPointAsNumpy().tolist()
    return d


def _subgraph(m, s, opnames, types):
    """-> (operator names, CALL_ONCE's init subgraph index or None, the shared_names of its
    VAR_HANDLEs, {shared_name: the tensor its ASSIGN_VARIABLE stores})."""
    sg = m.Subgraphs(s)
    ops, call_once, handles, assigned = [], None, {}, {}
    for i in range(sg.OperatorsLength()):
        o = sg.Operators(i)
        oc = m.OperatorCodes(o.OpcodeIndex())
        name = opnames[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())]
        ops.append(name)
        if name == "CALL_ONCE":
            call_once = read_options(o)["InitSubgraphIndex"]
        elif name == "VAR_HANDLE":
            handles[o.Outputs(0)] = read_options(o)["SharedName"].decode()
        elif name == "ASSIGN_VARIABLE":
            assigned[handles[o.Inputs(0)]] = _tensor(sg.Tensors(o.Inputs(1)), types)
    return ops, call_once, sorted(set(handles.values())), assigned


def _signature(sd, m, types, touched):
    sg = m.Subgraphs(sd.SubgraphIndex())

    def entry(tm):
        return {"key": tm.Name().decode(), "tensor": tm.TensorIndex(),
                **_tensor(sg.Tensors(tm.TensorIndex()), types)}
    return {"key": sd.SignatureKey().decode(), "subgraph": sd.SubgraphIndex(),
            "inputs": [entry(sd.Inputs(i)) for i in range(sd.InputsLength())],
            "outputs": [entry(sd.Outputs(i)) for i in range(sd.OutputsLength())],
            "variables": touched[sd.SubgraphIndex()]}


def describe(model_bytes):
    """The cases.json fields read from the flatbuffer (see the module docstring)."""
    import tflite
    m = tflite.Model.GetRootAsModel(model_bytes, 0)
    opnames, types = _names("BuiltinOperator"), _names("TensorType")
    subgraphs, call_once, touched, variables = [], {}, {}, {}
    for s in range(m.SubgraphsLength()):
        ops, init, names, _ = _subgraph(m, s, opnames, types)
        sg = m.Subgraphs(s)
        subgraphs.append({"name": sg.Name().decode(), "ops": ops,
                          "inputs": sg.InputsAsNumpy().tolist() if sg.InputsLength() else [],
                          "outputs": sg.OutputsAsNumpy().tolist() if sg.OutputsLength() else []})
        touched[s] = names
        if init is not None:
            call_once[str(s)] = init
    for init in sorted(set(call_once.values())):
        _, _, _, assigned = _subgraph(m, init, opnames, types)
        for name, value in assigned.items():
            variables[name] = {k: v for k, v in value.items() if k != "name"}
    sg0 = m.Subgraphs(0)
    inputs = [_tensor(sg0.Tensors(sg0.Inputs(i)), types) for i in range(sg0.InputsLength())]
    signatures = [_signature(m.SignatureDefs(k), m, types, touched)
                  for k in range(m.SignatureDefsLength())]
    return {"inputs": inputs, "subgraphs": subgraphs, "call_once": call_once,
            "variables": variables, "signatures": signatures}


# =============================================================================
# Verification (ai_edge_litert)
# =============================================================================
def _interpreter(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    return Interpreter(model_path=str(path),
                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def _frame(rng, details):
    """One frame for a runner's input details, the kinds of values tests/support.py's
    stream_frames draws: float normal, 8- and 16-bit integers over the whole range."""
    out = {}
    for key, d in details.items():
        shape, dt = tuple(d["shape"]), np.dtype(d["dtype"])
        if dt.kind == "f":
            out[key] = rng.normal(size=shape).astype(dt)
        else:
            lo, hi = (np.iinfo(dt).min, np.iinfo(dt).max) if dt.itemsize <= 2 else (-100, 100)
            out[key] = rng.integers(lo, hi, size=shape, endpoint=True).astype(dt)
    return out


def _run(runner, frame):
    outs = runner(**frame)
    for key, y in outs.items():
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise AssertionError(f"output {key} is not finite")
    return outs


def _same(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


def _check_stream(path, key, stateful):
    """50 frames through one interpreter against a fresh interpreter per frame."""
    stream = _interpreter(path).get_signature_runner(key)
    frames = [_frame(np.random.default_rng(k), stream.get_input_details()) for k in range(N_FRAMES)]
    steps = [_run(stream, f) for f in frames]
    fresh = [_run(_interpreter(path).get_signature_runner(key), f) for f in frames]
    if not _same(steps[0], fresh[0]):
        raise AssertionError(f"{key}: the first step differs from a fresh interpreter's")
    same = [_same(s, f) for s, f in zip(steps[1:], fresh[1:])]
    if stateful and any(same):
        raise AssertionError(f"{key}: steps {[k + 1 for k, s in enumerate(same) if s]} ignore the state")
    if not stateful and not all(same):
        raise AssertionError(f"{key}: a stateless entry point depends on earlier frames")
    if all(_same(steps[1], s) for s in steps[2:]):
        raise AssertionError(f"{key}: the output does not change from frame to frame")


def _check_shared(path, writer, reader):
    """`writer` then `reader` in one interpreter equals a fresh writer-then-reader, and
    differs from `reader` after other `reader` calls: they share the state."""
    it = _interpreter(path)
    w, r = it.get_signature_runner(writer), it.get_signature_runner(reader)
    rng = np.random.default_rng(0)
    for _ in range(3):
        _run(r, _frame(rng, r.get_input_details()))
    fw, fr = _frame(rng, w.get_input_details()), _frame(rng, r.get_input_details())
    _run(w, fw)
    got = _run(r, fr)
    it2 = _interpreter(path)
    _run(it2.get_signature_runner(writer), fw)
    if not _same(got, _run(it2.get_signature_runner(reader), fr)):
        raise AssertionError(f"{reader} after {writer} depends on earlier {reader} calls")
    if _same(got, _run(_interpreter(path).get_signature_runner(reader), fr)):
        raise AssertionError(f"{writer} does not change what {reader} sees")


def verify(path, entry, ops):
    """Raise AssertionError unless the written model is what its entry says."""
    present = {o for s in entry["subgraphs"] for o in s["ops"]}
    if missing := [o for o in ops if o not in present]:
        raise AssertionError(f"ops {missing} not in the model ({sorted(present)})")
    if not entry["streams"] and present & set(STATE_OPS):
        raise AssertionError(f"a stateless model has {sorted(present & set(STATE_OPS))}")
    for sig in entry["signatures"]:
        _check_stream(path, sig["key"], sig["key"] in entry["streams"])
    for writer, reader in entry["shares"]:
        _check_shared(path, writer, reader)


# =============================================================================
# Command line
# =============================================================================
def build(name, index):
    """Convert one model, write it and its cases.json entry into `index`."""
    fn, why, _, streams, shares = BUILDERS[name]
    model_bytes = fn()
    (OUT / f"{name}.tflite").write_bytes(model_bytes)
    index[name] = {"why": why, "frames": N_FRAMES, "streams": streams, "shares": shares,
                   **describe(model_bytes)}


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
            if not args.verify_only:
                build(name, index)
            verify(OUT / f"{name}.tflite", index[name], BUILDERS[name][2])
        except Exception as e:  # noqa: BLE001 -- report every failing model, then fail
            failures += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            continue
        size = (OUT / f"{name}.tflite").stat().st_size
        print(f"ok   {name:28s} {size:6d} B  {[s['ops'] for s in index[name]['subgraphs']]}",
              flush=True)
    if not args.verify_only:
        index_path.write_text(json.dumps(index, sort_keys=True, indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
