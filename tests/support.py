"""Shared test helpers: generate + compile + run a model and compare with TFLite."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from ci import skip_unless_ci
from dlcoder import compiler, verify as V

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED_MODELS = Path(os.environ.get("DLCODER_SHARED_MODELS", ROOT.parent / "shared" / "models"))


def aarch64_toolchain():
    """(cross compiler, emulator command) for the aarch64 tests. .ci/run installs both, so a
    missing one fails the test instead of passing it as a skip."""
    cxx, qemu = shutil.which("aarch64-linux-gnu-g++"), shutil.which("qemu-aarch64")
    if not (cxx and qemu):
        pytest.fail("needs aarch64-linux-gnu-g++ and qemu-aarch64 "
                    "(apt-get install g++-aarch64-linux-gnu qemu-user)")
    return cxx, (qemu, "-L", "/usr/aarch64-linux-gnu")


def run_ours(model_path, inputs, work, name="m", debug=False, cxx=None, flags=("-O2",),
             emulator=(), threads=1):
    """Generate, compile and run (on `threads` threads); returns (outputs, library, graph)."""
    g0 = compiler.load_graph(str(model_path))
    lib, g = compiler.compile_graph(g0, name, debug=debug)
    lib_dir = os.path.join(work, "lib")
    compiler.write_library(lib, lib_dir)
    exe = V.build_runner(lib_dir, name, str(work), cxx=cxx, flags=flags)
    outs, _ = V.run_runner(exe, g, inputs, str(work), emulator=emulator, threads=threads)
    return outs, lib, g


def byte_mismatches(labels, ours, refs) -> list:
    """One line for each output whose bytes differ from TFLite's (labels name the outputs),
    with the first differing positions; dtype and shape must agree."""
    assert len(ours) == len(refs) == len(labels), (len(ours), len(refs), len(labels))
    problems = []
    for label, o, r in zip(labels, ours, refs):
        assert o.dtype == r.dtype and o.shape == r.shape, (label, o.dtype, o.shape, r.dtype, r.shape)
        bad = np.flatnonzero(o.ravel() != r.ravel())
        if bad.size:
            worst = np.abs(o.astype(np.int64) - r.astype(np.int64)).max() if o.dtype.kind in "iu" else "?"
            problems.append(f"{label}: {bad.size} of {r.size} differ, by up to {worst}; first at {bad[:5]}: "
                            f"ours {o.ravel()[bad[:5]]} tflite {r.ravel()[bad[:5]]}")
    return problems


def assert_bytes_match(model_path, inputs, labels, work, **run_kw):
    """Our outputs for `inputs` (run_ours with run_kw: flags, cxx, emulator) are TFLite's
    builtin kernels' byte for byte; labels name the outputs in the failure."""
    ours, _, _ = run_ours(model_path, inputs, work, **run_kw)
    refs, _ = V.reference_run(str(model_path), inputs)
    problems = byte_mismatches(labels, ours, refs)
    assert not problems, "\n".join(problems)


def load_npz_inputs(path, g):
    data = np.load(path)
    return [np.asarray(data[f"input_{k}"]).astype(g.tensors[t].dtype) for k, t in enumerate(g.inputs)]


def check_against_tflite(model_path, work, inputs=None, bound=V.FLOAT_BOUND, **kw):
    """Assert that our outputs match the TFLite builtin kernels within `bound`."""
    g0 = compiler.load_graph(str(model_path))
    if inputs is None:
        inputs = V.random_inputs(g0, seed=1)
    ours, lib, g = run_ours(model_path, inputs, work, **kw)
    refs, _ = V.reference_run(str(model_path), inputs)
    assert len(ours) == len(refs)
    report = []
    for k, (o, r) in enumerate(zip(ours, refs)):
        c = V.compare(o, r, k, bound=bound)
        report.append(c)
        assert c.ok, (f"output {k} of {Path(model_path).name}: max abs err {c.max_abs}, "
                      f"relative {c.relative} (bound {bound}); ours {o.ravel()[:8]} "
                      f"tflite {r.ravel()[:8]}")
    return report, lib


def check_folding(model_path, g, inputs):
    """With the inputs made constants, the op table's evaluate hooks must fold the whole
    graph and give TFLite's outputs, dtype included."""
    from dlcoder.passes.fold_constants import fold_constants
    for t, x in zip(g.inputs, inputs):
        g = g.set_tensor(t, g.tensors[t].replace(data=x))
    folded = fold_constants(g.replace(inputs=()))
    refs, _ = V.reference_run(str(model_path), inputs)
    assert folded.nodes == ()
    for t, ref in zip(folded.outputs, refs):
        got = folded.tensors[t].data
        assert got.dtype == ref.dtype and V.compare(got, ref).ok, (got, ref)


def single_op_graph(op, tensors, attrs=None, outputs=1):
    """A one-node graph over `tensors`: the last `outputs` are its outputs, the others its
    inputs; inputs without data are graph inputs."""
    from dlcoder.ir import Graph, Node
    n_in = len(tensors) - outputs
    node = Node(op, tuple(range(n_in)), tuple(range(n_in, len(tensors))), attrs or {})
    inputs = tuple(i for i in range(n_in) if tensors[i].data is None)
    return Graph(tensors=tuple(tensors), nodes=(node,), inputs=inputs,
                 outputs=tuple(range(n_in, len(tensors))))


def const_tensor(v, dtype="int32"):
    from dlcoder.ir import Tensor
    v = np.asarray(v, dtype)
    return Tensor("c", v.shape, dtype, v)


def require_shared():
    """Skip a test that needs ../shared/models where the suite is absent, except under CI
    (CI=true), where a missing suite must fail rather than pass as a skip."""
    if not SHARED_MODELS.is_dir():
        skip_unless_ci(f"shared model suite not found at {SHARED_MODELS}")


# Sanitizer builds (the flags and the driver live in fuzz/harness.py, which the fuzzing
# campaign shares). -O1 keeps an instrumented build's compile time near that of -O2. ASan +
# UBSan runs use fuzz/exact_runner.cc: buffers of their exact sizes, freed at the end.
sys.path.insert(0, str(ROOT))
from fuzz.harness import SANITIZER_ENV, build_exact_runner  # noqa: E402
from fuzz.harness import SANITIZER_FLAGS as ASAN_UBSAN_FLAGS  # noqa: E402

TSAN_FLAGS = ("-O1", "-g", "-fsanitize=thread")


def sanitizer_env(monkeypatch):
    """The sanitizers' run-time options, for the runners the calling test starts."""
    for key, value in {**SANITIZER_ENV, "TSAN_OPTIONS": "halt_on_error=1"}.items():
        monkeypatch.setenv(key, value)


def check_sanitized(model_path, work, inputs, bound=V.FLOAT_BOUND, flags=ASAN_UBSAN_FLAGS,
                    threads=(1, 2)):
    """check_against_tflite for a sanitizer build run by fuzz/exact_runner.cc, with each
    thread count; a sanitizer report fails the run."""
    g0 = compiler.load_graph(str(model_path))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, os.path.join(work, "lib"))
    exe = build_exact_runner(Path(work) / "lib", "m", Path(work), flags=flags)
    refs, _ = V.reference_run(str(model_path), inputs)
    report = []
    for n in threads:
        ours, _ = V.run_runner(exe, g, inputs, str(work), threads=n)
        assert len(ours) == len(refs), f"{len(ours)} outputs, TFLite has {len(refs)}"
        report = [V.compare(o, r, k, bound=bound) for k, (o, r) in enumerate(zip(ours, refs))]
        assert all(c.ok for c in report), (n, report)
    return report, lib


# Streams: one TFLite interpreter invoked once per frame, the reference for stateful models
# (resource variables persist from one invoke to the next; a new stream is a new interpreter,
# since neither reset_all_variables() nor allocate_tensors() resets them).
def signature_keys(model_path, signature):
    """(input keys, output keys) of SignatureDef `signature` in the order the flatbuffer
    stores them (the SignatureDef's inputs / outputs vectors; the TF converter sorts them by
    key, which is not the subgraph's own input / output order)."""
    import tflite
    m = tflite.Model.GetRootAsModel(Path(model_path).read_bytes(), 0)
    for k in range(m.SignatureDefsLength()):
        sd = m.SignatureDefs(k)
        if sd.SignatureKey().decode() == signature:
            return ([sd.Inputs(i).Name().decode() for i in range(sd.InputsLength())],
                    [sd.Outputs(i).Name().decode() for i in range(sd.OutputsLength())])
    raise KeyError(f"{Path(model_path).name} has no signature {signature!r}")


def _per_frame(signature, n):
    """One signature key (or None) per frame: `signature` may be one key for all frames or
    a list with a key per frame, to interleave entry points (init, then step...)."""
    keys = list(signature) if isinstance(signature, (list, tuple)) else [signature] * n
    assert len(keys) == n, f"{len(keys)} signature keys for {n} frames"
    return keys


def _invoke(interp, frame, signature, model_path):
    """Run one frame through `interp` (subgraph 0, or the signature's runner)."""
    if signature is None:
        ins = interp.get_input_details()
        assert len(frame) == len(ins), f"{len(frame)} inputs for {len(ins)}"
        return V.invoke(interp, [np.reshape(x, d["shape"]) for d, x in zip(ins, frame)])
    in_keys, out_keys = signature_keys(model_path, signature)
    assert len(frame) == len(in_keys), f"{len(frame)} inputs for {signature} {in_keys}"
    outs = interp.get_signature_runner(signature)(**dict(zip(in_keys, frame)))
    return [np.array(outs[k]) for k in out_keys]


def tflite_stream(model_path, frames, signature=None):
    """One TFLite interpreter (BUILTIN_WITHOUT_DEFAULT_DELEGATES) invoked once per frame;
    -> a list with each step's list of outputs.

    frames: a list of frames, each a list of input arrays. Without a signature they are
    subgraph 0's inputs in order and the outputs are subgraph 0's outputs in order. With a
    signature key (or a list of keys, one per frame, to interleave entry points that share
    state in one stream), a frame's arrays go to the signature's input keys and the outputs
    come back in the signature's output keys, both in the order the flatbuffer's SignatureDef
    stores them (its inputs / outputs vectors: see signature_keys)."""
    interp = V.reference_interpreter(str(model_path))
    interp.allocate_tensors()
    return [_invoke(interp, frame, key, model_path)
            for frame, key in zip(frames, _per_frame(signature, len(frames)))]


def _input_specs(model_path, signature):
    """[(shape, dtype)] of subgraph 0's inputs, or of the signature's in SignatureDef order;
    a dynamic dimension takes the stored shape's value (what TFLite allocates)."""
    interp = V.reference_interpreter(str(model_path))
    if signature is None:
        return [(tuple(d["shape"]), np.dtype(d["dtype"])) for d in interp.get_input_details()]
    details = interp.get_signature_runner(signature).get_input_details()
    return [(tuple(details[k]["shape"]), np.dtype(details[k]["dtype"]))
            for k in signature_keys(model_path, signature)[0]]


def _draw(rng, shape, dtype):
    """Float: normal; bool: 0/1; 8- and 16-bit integers: the whole range (quantized data);
    wider integers: -100..100."""
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    info = np.iinfo(dtype)
    lo, hi = (info.min, info.max) if dtype.itemsize <= 2 else (-100, 100)
    return rng.integers(lo, hi, shape, endpoint=True).astype(dtype)


def stream_frames(model_path, n, seed, signature=None):
    """n frames of random inputs for tflite_stream, drawn from one numpy generator seeded
    with `seed`: each frame a list of arrays fitting subgraph 0's inputs, or the signature's
    (one key, or a list of keys one per frame) in the order of the SignatureDef's inputs
    vector in the flatbuffer. int8 (and uint8, int16) inputs cover the whole range, float
    inputs are standard normal (see _draw)."""
    rng = np.random.default_rng(seed)
    specs = {}
    frames = []
    for key in _per_frame(signature, n):
        if key not in specs:
            specs[key] = _input_specs(model_path, key)
        frames.append([_draw(rng, shape, dtype) for shape, dtype in specs[key]])
    return frames


class CompiledModel:
    """A model generated and compiled once, then run on any inputs: `ours` gives its
    outputs, `status` the code NAME_run returned where TFLite's Invoke fails. `inputs`: the
    model's committed sample inputs (MODEL.npz beside it), `names` its input names.
    build(lib_dir, name, work, **kw) makes the runner (verify.build_runner by default)."""

    def __init__(self, path, work, build=V.build_runner, **kw):
        self.path = Path(path)
        g0 = compiler.load_graph(str(self.path), note=lambda text: None)
        npz = self.path.with_suffix(".npz")
        self.inputs = load_npz_inputs(npz, g0) if npz.exists() else []
        self.names = [g0.tensors[t].name for t in g0.inputs]
        lib, self.g = compiler.compile_graph(g0, "m")
        compiler.write_library(lib, str(work / "lib"))
        self.source = lib.files["m.cc"].decode()
        self.work = str(work)
        self.exe = build(str(work / "lib"), "m", self.work, **kw)

    def feeds(self, *replaced) -> list:
        """The sample inputs with input `arg` replaced by `value` for each (arg, value) pair:
        `arg` is the number in the input's name (input_<arg>, as the model function's
        argument or the hand-built model's input is named)."""
        feeds = list(self.inputs)
        for arg, value in zip(replaced[::2], replaced[1::2]):
            k = next(i for i, n in enumerate(self.names) if n.endswith(f"input_{arg}")
                     or f"input_{arg}:" in n)
            feeds[k] = np.asarray(value, feeds[k].dtype)
        return feeds

    def ours(self, feeds, threads=1) -> list:
        return V.run_runner(self.exe, self.g, feeds, self.work, threads=threads)[0]

    def status(self, feeds, threads=1) -> int:
        with pytest.raises(V.RunFailed) as failed:
            self.ours(feeds, threads)
        return failed.value.status


def compiled_cache(tmp_path_factory, make):
    """case -> make(case, work folder), built once (a module-scoped fixture returns this)."""
    built = {}

    def get(case):
        if case not in built:
            built[case] = make(case, tmp_path_factory.mktemp(case))
        return built[case]
    return get
