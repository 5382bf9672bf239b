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
             emulator=()):
    """Generate, compile and run; returns (outputs, library, graph)."""
    g0 = compiler.load_graph(str(model_path))
    lib, g = compiler.compile_graph(g0, name, debug=debug)
    lib_dir = os.path.join(work, "lib")
    compiler.write_library(lib, lib_dir)
    exe = V.build_runner(lib_dir, name, str(work), cxx=cxx, flags=flags)
    outs, _ = V.run_runner(exe, g, inputs, str(work), emulator=emulator)
    return outs, lib, g


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
