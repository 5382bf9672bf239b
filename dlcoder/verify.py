"""Compile a generated library with a driver, run it, and compare with the TFLite
interpreter on the same inputs.

The bound for float outputs is max|ours - tflite| / max(1, max|finite tflite|) <= 1e-4,
where equal values (inf included) and NaN against NaN count as no error and any other
disagreement involving inf or NaN is a mismatch (compare); integer and bool outputs must
match exactly.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlcoder.codegen.emitter import BANNER, _ENV, Library
from dlcoder.errors import DlcoderError
from dlcoder.ir import Graph

FLOAT_BOUND = 1e-4


class RunFailed(DlcoderError):
    """The generated code ran but its run returned a nonzero status (`status`: the code
    NAME_run returned, as the drivers print it, or None if the driver failed otherwise,
    with `exit` its exit code)."""

    def __init__(self, message: str, exit: int, status: int | None):
        super().__init__(message)
        self.exit = exit
        self.status = status


def _run_failed(res: subprocess.CompletedProcess) -> RunFailed:
    """The RunFailed of a driver run (harness.cc.j2, fuzz/exact_runner.cc), which print
    "run failed: N" and exit 66 when NAME_run returns N != 0."""
    found = re.search(r"run failed: (-?\d+)", res.stderr) if res.returncode == 66 else None
    return RunFailed(f"generated code failed (exit {res.returncode}): {res.stderr.strip()}",
                     res.returncode, int(found.group(1)) if found else None)


def _compile(cmd: list, what: str) -> None:
    """Run a compiler command; a failure raises DlcoderError with the command and the end of
    its output."""
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise DlcoderError(f"compiling {what} failed:\n{' '.join(cmd)}\n{res.stderr[-4000:]}")


def compile_library(lib_dir: str, name: str, exe: str, cxx: str = None,
                    flags=("-O2",), extra_sources=()) -> None:
    """Build every .cc/.S in lib_dir plus extra_sources into an executable."""
    cxx = cxx or os.environ.get("CXX", "c++")
    srcs = sorted(str(p) for p in Path(lib_dir).iterdir() if p.suffix in (".cc", ".c", ".S"))
    _compile([cxx, "-std=c++17", *flags, "-I", lib_dir, *srcs, *extra_sources, "-o", exe], "the generated code")


def write_harness(lib_dir: str, name: str, path: str) -> None:
    Path(path).write_text(_ENV.get_template("harness.cc.j2").render(banner=BANNER, name=name))


# A folder where build_runner keeps compiled drivers (the test suite sets it: tests/conftest.py).
HARNESS_CACHE_ENV = "DLCODER_HARNESS_CACHE"


def _harness_object(lib_dir: str, name: str, harness: str, cxx: str, flags) -> str:
    """The driver `harness` compiled (-c) for lib_dir's library, from the HARNESS_CACHE_ENV
    folder when it holds one for the same compiler, flags, name, driver source and runtime
    headers (lib_dir/dlcoder_rt), else compiled and left there. The driver calls only the C
    API that every library of one name declares alike, so one object serves them all."""
    cache = Path(os.environ[HARNESS_CACHE_ENV])
    key = hashlib.sha256(repr((cxx, tuple(flags), name)).encode())
    key.update(Path(harness).read_bytes())
    for h in sorted(Path(lib_dir, "dlcoder_rt").glob("*.h")):
        key.update(h.name.encode() + h.read_bytes())
    obj = cache / f"harness-{key.hexdigest()[:24]}.o"
    if not obj.exists():
        cache.mkdir(parents=True, exist_ok=True)
        part = f"{obj}.{os.getpid()}.part"
        _compile([cxx, "-std=c++17", *flags, "-I", lib_dir, "-c", harness, "-o", part], "the driver")
        os.replace(part, obj)   # atomic: a parallel test sees the whole object or none
    return str(obj)


@functools.lru_cache(maxsize=None)
def cpu_features() -> frozenset:
    """This CPU's feature names as Linux lists them in /proc/cpuinfo (x86 "flags", aarch64
    "Features"); empty where it does not."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    found = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.M)
    return frozenset(found.group(1).split()) if found else frozenset()


@functools.lru_cache(maxsize=None)
def host_only_flags() -> tuple:
    """The -D flags that fix the runtime's CPU queries (isa.h: runtime_isa, runtime_int8_dot,
    ...) to this machine's answers, so that a library built to run here compiles only the
    kernel paths this CPU takes: the same code runs, built in about half the time. () where
    the CPU's features are unknown (cpu_features)."""
    has = cpu_features().__contains__
    force = {}
    if has("sse2"):  # x86-64
        if has("avx512f") and has("avx512vl"):
            force["ISA"] = 3
        elif has("avx2") and has("fma") and has("f16c"):
            force["ISA"] = 2
        else:
            force["ISA"] = 1
        force["BW"] = int(has("avx512bw"))
        force["VBMI"] = int(has("avx512vbmi"))
        force["DOT"] = int(has("avx512_vnni") and has("avx512bw"))
        if not (has("amx_tile") and has("amx_int8")):
            force["AMX"] = 0  # with AMX, whether Linux grants the tile state stays a run-time question
    elif has("asimd"):  # aarch64
        force["ISA"] = 4
        force["DOT"] = int(has("asimddp"))
    else:
        return ()
    return tuple(f"-DDLCODER_RT_FORCE_{k}={v}" for k, v in force.items())


def for_this_cpu(flags, cxx: str = None) -> tuple:
    """flags, plus host_only_flags for a build by the host compiler (cxx None) that forces
    no path itself: one that is built to run here."""
    if cxx is None and not any(f.startswith("-DDLCODER_RT_FORCE_") for f in flags):
        return (*flags, *host_only_flags())
    return tuple(flags)


def build_runner(lib_dir: str, name: str, work: str, cxx: str = None, flags=("-O2",),
                 host_only: bool = True) -> str:
    """The driver (harness.cc.j2) linked with the library in lib_dir: the executable; with
    host_only, built for this CPU only (for_this_cpu)."""
    harness = os.path.join(work, "harness.cc")
    write_harness(lib_dir, name, harness)
    exe = os.path.join(work, "runner")
    if host_only:
        flags = for_this_cpu(flags, cxx)
    # -pthread: the driver's --threads runs a std::thread pool (dlcoder_rt/thread_pool.h)
    flags = (*flags, "-pthread")
    if os.environ.get(HARNESS_CACHE_ENV):
        harness = _harness_object(lib_dir, name, harness, cxx or os.environ.get("CXX", "c++"), flags)
    compile_library(lib_dir, name, exe, cxx=cxx, flags=flags, extra_sources=[harness])
    return exe


def _write_inputs(folder: str, g: Graph, inputs: list) -> None:
    """input_<i>.bin in `folder`, as the driver (harness.cc.j2) reads them."""
    os.makedirs(folder, exist_ok=True)
    for i, x in enumerate(inputs):
        np.ascontiguousarray(x, dtype=g.tensors[g.inputs[i]].dtype).tofile(os.path.join(folder, f"input_{i}.bin"))


def _read_outputs(folder: str, g: Graph) -> list:
    """The driver's output_<k>.bin in `folder`, shaped as the graph's outputs."""
    return [np.fromfile(os.path.join(folder, f"output_{k}.bin"), dtype=g.tensors[t].dtype)
            .reshape(g.tensors[t].shape) for k, t in enumerate(g.outputs)]


def run_runner(exe: str, g: Graph, inputs: list, work: str, arena_dump: bool = False,
               emulator=(), threads: int = 1) -> tuple[list, bytes | None]:
    _write_inputs(work, g, inputs)
    cmd = [*emulator, exe, work, "--threads", str(threads)] + (["--arena-dump"] if arena_dump else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise _run_failed(res)
    arena = Path(work, "arena.bin").read_bytes() if arena_dump else None
    return _read_outputs(work, g), arena


def run_runner_stream(exe: str, g: Graph, frames: list, work: str, emulator=(),
                      threads: int = 1) -> list:
    """One stream through the library: NAME_reset, then a run per frame (a list of
    inputs) on the same arena. Returns each frame's outputs."""
    for f, inputs in enumerate(frames):
        _write_inputs(os.path.join(work, f"frame{f}"), g, inputs)
    cmd = [*emulator, exe, work, "--threads", str(threads), "--frames", str(len(frames))]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise _run_failed(res)
    return [_read_outputs(os.path.join(work, f"frame{f}"), g) for f in range(len(frames))]


def reference_stream(model_path: str, frames: list) -> list:
    """Each frame's outputs from one TFLite interpreter (builtin kernels) invoked once per
    frame, so that its resource variables carry over as they do in a stream."""
    interp = reference_interpreter(model_path)
    interp.allocate_tensors()
    return [invoke(interp, inputs) for inputs in frames]


def invoke(interp, inputs: list) -> list:
    """Set an allocated interpreter's inputs, invoke it once, and return its outputs."""
    for d, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(d["index"], np.asarray(x, dtype=d["dtype"]))
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def random_inputs(g: Graph, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for t in g.inputs:
        ten = g.tensors[t]
        if ten.dtype == "float32" or ten.dtype == "float16":
            out.append(rng.standard_normal(ten.shape).astype(ten.dtype))
        elif ten.dtype == "complex64":
            out.append((rng.standard_normal(ten.shape) + 1j * rng.standard_normal(ten.shape))
                       .astype(np.complex64))
        elif ten.dtype == "bool":
            out.append(rng.integers(0, 2, ten.shape).astype(bool))
        else:
            info = np.iinfo(ten.dtype)
            lo, hi = (max(info.min, -128), min(info.max, 127)) if info.min < 0 else (0, min(info.max, 10))
            if ten.quant is not None and ten.dtype in ("int8", "uint8", "int16"):
                lo, hi = info.min, info.max     # quantized data: the whole range
            elif ten.dtype in ("int32", "int64"):
                lo, hi = 0, 10
            out.append(rng.integers(lo, hi, ten.shape, endpoint=True).astype(ten.dtype))
    return out


def reference_interpreter(model_path: str, preserve: bool = False, xnnpack: bool = False):
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise DlcoderError("the TFLite interpreter is needed: pip install 'dlcoder[reference]'") from None
    kw = {} if xnnpack else {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    return Interpreter(model_path=model_path, experimental_preserve_all_tensors=preserve, **kw)


def reference_run(model_path: str, inputs: list, preserve: bool = False, xnnpack: bool = False):
    """Outputs of the TFLite interpreter (and the interpreter, to read other tensors)."""
    interp = reference_interpreter(model_path, preserve=preserve, xnnpack=xnnpack)
    details = interp.get_input_details()
    for d, x in zip(details, inputs):
        if tuple(d["shape"]) != tuple(np.shape(x)):
            interp.resize_tensor_input(d["index"], list(np.shape(x)))
    interp.allocate_tensors()
    return invoke(interp, inputs), interp


def numpy_reference(g: Graph, inputs: list) -> list:
    """The outputs of g computed node by node by the op table's evaluate hooks (the numpy
    references constant folding uses): the reference of a model with custom ops, which
    the TFLite interpreter cannot run."""
    from dlcoder.ir import op_label
    from dlcoder.ops import lookup
    values = {t: np.asarray(x, g.tensors[t].dtype) for t, x in zip(g.inputs, inputs)}
    for i, node in enumerate(g.nodes):
        d = lookup(node, g)
        args = [values[t] if t in values else g.const(t) for t in node.inputs]
        outs = None if d is None or d.evaluate is None else d.evaluate(node, g, args)
        if outs is None:
            raise DlcoderError(f"no reference for this model: the TFLite interpreter cannot run "
                               f"its custom ops, and node {i} ({op_label(node)}) has no numpy "
                               f"reference (an evaluate hook)")
        for t, v in zip(node.outputs, outs):
            values[t] = np.asarray(v, g.tensors[t].dtype).reshape(g.tensors[t].shape)
    return [values[t] if t in values else g.const(t) for t in g.outputs]


@dataclass(frozen=True)
class Comparison:
    index: int
    dtype: str
    max_abs: float
    relative: float     # max|ours - ref| / max(1, max|finite ref|); exact dtypes: mismatch count
    ok: bool
    detail: str = ""    # the first non-finite disagreement, if any


def float_bound(model_path: str, inputs: list, builtin: list = None) -> float:
    """The bound on float outputs for these inputs: FLOAT_BOUND, or twice what TFLite's own
    two backends (XNNPACK and the builtin kernels) disagree by, where that is larger. A
    model with float ops ahead of dynamic-range ones needs it: the last bit of a float
    activation moves the scale that the dynamic-range op quantizes it with, and so every
    integer it computes; TFLite's backends differ there as much as we do."""
    if builtin is None:
        builtin, _ = reference_run(model_path, inputs)
    if not any(np.issubdtype(np.asarray(r).dtype, np.floating) for r in builtin):
        return FLOAT_BOUND
    xnn, _ = reference_run(model_path, inputs, xnnpack=True)
    return max([FLOAT_BOUND] + [2 * compare(a, b).relative for a, b in zip(xnn, builtin)
                                if np.issubdtype(np.asarray(b).dtype, np.floating)])


def compare(ours: np.ndarray, ref: np.ndarray, index: int = 0, bound: float = FLOAT_BOUND) -> Comparison:
    """Float outputs: positions equal by value (both inf of one sign, 0 and -0) or both NaN
    count as no error; any other disagreement that involves inf or NaN (NaN against a
    number, inf against -inf or a finite value) fails whatever the bound, with `detail`
    naming the first one and max_abs, relative = inf. The finite rest must keep
    max|ours - ref| / max(1, max|finite ref|) <= bound. Other dtypes must be equal."""
    if ours.shape != ref.shape:
        return Comparison(index, str(ref.dtype), float("inf"), float("inf"), False,
                          f"shape {list(ours.shape)} against {list(ref.shape)}")
    if np.issubdtype(ref.dtype, np.floating):
        a, b = ours.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        bad = ~same & ~(np.isfinite(a) & np.isfinite(b))
        if bad.any():
            at = np.flatnonzero(bad)
            first = np.unravel_index(at[0], ref.shape)
            detail = (f"{at.size} non-finite mismatch(es), first at {list(map(int, first))}: "
                      f"ours {float(a[at[0]])!r}, tflite {float(b[at[0]])!r}")
            return Comparison(index, str(ref.dtype), float("inf"), float("inf"), False, detail)
        max_abs = float(np.max(np.abs(a[~same] - b[~same]), initial=0.0))
        scale = max(1.0, float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)))
        rel = max_abs / scale
        return Comparison(index, str(ref.dtype), max_abs, rel, rel <= bound)
    mismatches = int(np.count_nonzero(ours != ref))
    max_abs = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64)), initial=0.0))
    return Comparison(index, str(ref.dtype), max_abs, float(mismatches), mismatches == 0)


class Workdir:
    """A temporary folder that is removed unless keep is set."""

    def __init__(self, keep: str | None = None):
        self.keep = keep
        self.path = keep or tempfile.mkdtemp(prefix="dlcoder-")
        os.makedirs(self.path, exist_ok=True)

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc):
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


def tensor_from_arena(lib: Library, g: Graph, t: int, arena: bytes, inputs: list, outputs: list):
    """Read tensor t back from a debug run (every tensor keeps its own bytes)."""
    kind, where = lib.storage[t]
    ten = g.tensors[t]
    if kind == "arena":
        return np.frombuffer(arena, dtype=ten.dtype, count=ten.size, offset=where).reshape(ten.shape)
    if kind == "in":
        return np.asarray(inputs[where]).reshape(ten.shape)
    if kind == "out":
        return np.asarray(outputs[where]).reshape(ten.shape)
    return None
