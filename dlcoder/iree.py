"""IREE as a second speed anchor (`dlcoder bench --iree VENV`, `benchmarks/run.py --iree VENV`).

IREE compiles a TFLite model ahead of time with LLVM, as we do with a C++ compiler, so it
is the fairest outside reference for our latency. Its tools live in a venv of their own,
made by benchmarks/setup_iree.sh: its importer needs TensorFlow 2.18 and a matching IREE,
which dlcoder's own environment must never import. Every step is therefore a subprocess
of that venv's console scripts:

  1. iree-import-tflite     .tflite -> TOSA MLIR
  2. iree-compile           TOSA -> .vmfb for llvm-cpu, tuned for this host's CPU
  3. iree-run-module        the bench's inputs once; the outputs are compared with the
                            TFLite interpreter's (builtin kernels), so that a time is never
                            reported for a wrong result
  4. iree-benchmark-module  the timing: N repetitions of one iteration each (one invoke,
                            like each of our samples), after a warm-up, on the local-sync
                            device (1 thread) or local-task with N workers

A model that IREE cannot import, compile or run, or whose outputs disagree with TFLite, is
reported as "n/a (reason)" (Unavailable), never as an error of the bench.
"""
from __future__ import annotations

import json
import os
import re
import subprocess

import numpy as np

from dlcoder import verify as V
from dlcoder.errors import DlcoderError

TOOLS = ("iree-import-tflite", "iree-compile", "iree-run-module", "iree-benchmark-module")
COMPILE_FLAGS = ("--iree-input-type=tosa", "--iree-hal-target-backends=llvm-cpu",
                 "--iree-llvmcpu-target-cpu=host")
WARMUP_S = 0.05         # google-benchmark warm-up before each batch of repetitions
TIMEOUT_S = 1800        # a compile of a large model on a busy 2-core machine takes minutes
# Float outputs: IREE reorders reductions and evaluates exp/tanh/erf by its own polynomials,
# which on a deep net (EfficientNet's logits) moves them by ~2e-4 of their range, past the
# bound verify holds us to; a wrong result is off by orders of magnitude more.
FLOAT_BOUND = 1e-3
# Integer outputs: TOSA's RESCALE and table ops round differently from TFLite's fixed-point
# kernels, and the steps add up through a deep quantized net, as they do between TFLite's
# own two backends (XNNPACK and builtin differ by 14 steps on EfficientNet int8). IREE may
# be off by INT_STEPS or by twice what those two differ by, whichever is larger.
INT_STEPS = 2


class Unavailable(Exception):
    """IREE cannot give a trustworthy time for this model; str() is the one-line reason."""


def default_venv() -> str:
    """Where `--iree` without a VENV looks: $DLCODER_IREE_VENV, else the per-user cache that
    benchmarks/setup_iree.sh fills by default (a venv outside the checkout, since it holds
    TensorFlow 2.18 and must not meet the project's own environment)."""
    return os.environ.get("DLCODER_IREE_VENV") or os.path.join(
        os.path.expanduser("~"), ".cache", "dlcoder", "venv-iree")


def tools(venv: str) -> dict:
    """Tool name -> path in the venv, or a DlcoderError (the CLI's exit 2) that says how
    to make the venv when one is missing."""
    found = {t: os.path.join(venv, "bin", t) for t in TOOLS}
    missing = [p for p in found.values() if not os.access(p, os.X_OK)]
    if missing:
        raise DlcoderError(f"--iree {venv}: not an IREE venv ({missing[0]} is missing); "
                           f"make one with benchmarks/setup_iree.sh {venv}")
    return found


def import_cmd(t: dict, model: str, mlir: str) -> list:
    return [t["iree-import-tflite"], model, "-o", mlir]


def compile_cmd(t: dict, mlir: str, vmfb: str) -> list:
    return [t["iree-compile"], *COMPILE_FLAGS, mlir, "-o", vmfb]


def device_flags(threads: int) -> list:
    """local-sync runs everything on the calling thread; local-task with a fixed group
    count is IREE's pool of N workers."""
    if threads == 1:
        return ["--device=local-sync"]
    return ["--device=local-task", f"--task_topology_group_count={threads}"]


def run_cmd(t: dict, vmfb: str, inputs: list, outputs: list, threads: int = 1) -> list:
    return [t["iree-run-module"], *device_flags(threads), f"--module={vmfb}", "--function=main",
            *[f"--input=@{p}" for p in inputs], *[f"--output=@{p}" for p in outputs]]


def benchmark_cmd(t: dict, vmfb: str, inputs: list, runs: int, threads: int = 1) -> list:
    return [t["iree-benchmark-module"], *device_flags(threads), f"--module={vmfb}", "--function=main",
            *[f"--input=@{p}" for p in inputs], f"--benchmark_repetitions={runs}",
            "--benchmark_min_time=1x", f"--benchmark_min_warmup_time={WARMUP_S}",
            "--benchmark_format=json"]


_UNIT_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def parse_benchmark(text: str) -> list:
    """Microseconds of each repetition (wall clock, `real_time`) in iree-benchmark-module's
    JSON; the aggregates it adds (mean, median, stddev, cv) are left out, the bench computes
    its own over all rounds."""
    runs = [b for b in json.loads(text)["benchmarks"] if b.get("run_type") == "iteration"]
    if not runs:
        raise Unavailable("iree-benchmark-module reported no runs")
    return [b["real_time"] * _UNIT_US[b["time_unit"]] / b["iterations"] for b in runs]


def _run(cmd: list, what: str) -> subprocess.CompletedProcess:
    """Run one IREE tool; a failure is Unavailable with the reason from its log."""
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{what} took over {TIMEOUT_S} s") from None
    if res.returncode != 0:
        raise Unavailable(f"{what} {reason(res.stderr or res.stdout)}")
    return res


_FRAME = re.compile(r"#\d+ 0x[0-9a-f]+ ([\w:~]+)\(")


def reason(log: str) -> str:
    """What a failed tool's log says went wrong, in one short phrase: a crash names the
    innermost function of its stack dump past LLVM's signal handler; otherwise the text of
    the first MLIR `error:` line (the importer wraps it in a Python exception), else the
    last line."""
    if "Stack dump:" in log:
        frames = [f for f in _FRAME.findall(log) if not f.startswith(("llvm::sys::", "SignalHandler"))]
        return "crashed" + (f" in {frames[0]}" if frames else "")
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln.rsplit("error: ", 1)[1] for ln in lines if "error: " in ln]
    text = errors[0] if errors else (lines[-1] if lines else "gave no message")
    return "failed: " + (text if len(text) <= 160 else text[:157] + "...")


class Engine:
    """A model compiled by IREE and checked against TFLite; `times(n)` is a bench engine
    (n latencies in microseconds)."""

    def __init__(self, venv: str, model: str, inputs: list, work: str, threads: int = 1):
        self.tools, self.threads = tools(venv), threads
        os.makedirs(work, exist_ok=True)
        mlir, self.vmfb = os.path.join(work, "model.mlir"), os.path.join(work, "model.vmfb")
        _run(import_cmd(self.tools, model, mlir), "iree-import-tflite")
        _run(compile_cmd(self.tools, mlir, self.vmfb), "iree-compile")
        self.inputs = []
        for i, x in enumerate(inputs):
            self.inputs.append(os.path.join(work, f"input{i}.npy"))
            np.save(self.inputs[-1], x)
        self.check = check_outputs(self._outputs(work, model), model, inputs)
        self.times(1)   # a benchmark tool that fails does so here, not amid the bench's rounds

    def _outputs(self, work: str, model: str) -> list:
        count = len(V.reference_interpreter(model).get_output_details())
        paths = [os.path.join(work, f"output{i}.npy") for i in range(count)]
        _run(run_cmd(self.tools, self.vmfb, self.inputs, paths, self.threads), "iree-run-module")
        return [np.load(p) for p in paths]

    def times(self, n: int) -> list:
        res = _run(benchmark_cmd(self.tools, self.vmfb, self.inputs, n, self.threads),
                   "iree-benchmark-module")
        return parse_benchmark(res.stdout)


def check_outputs(got: list, model: str, inputs: list) -> dict:
    """IREE's outputs against TFLite's (builtin kernels) on the same inputs: float outputs
    within FLOAT_BOUND, integer ones within INT_STEPS, or either within twice what TFLite's
    own two backends (XNNPACK, builtin) differ by, where that is larger; else Unavailable,
    since a fast wrong answer is no anchor."""
    ref, _ = V.reference_run(model, inputs)
    xnn, _ = V.reference_run(model, inputs, xnnpack=True)
    if len(got) != len(ref):
        raise Unavailable(f"IREE gives {len(got)} outputs, TFLite {len(ref)}")
    worst = {"max_abs": 0.0, "relative": 0.0}
    for i, (a, b, x) in enumerate(zip(got, ref, xnn)):
        a = np.asarray(a).reshape(b.shape) if np.size(a) == b.size else np.asarray(a)
        floating = np.issubdtype(b.dtype, np.floating)
        spread = V.compare(x, b, i)
        bound = max(FLOAT_BOUND, 2 * spread.relative) if floating else max(INT_STEPS, 2 * spread.max_abs)
        c = V.compare(a.astype(b.dtype), b, i, bound)
        if floating and not c.ok:
            raise Unavailable(f"output {i} disagrees with TFLite: " + (
                c.detail or f"max |diff| {c.max_abs:.3g}, relative {c.relative:.3g} > {bound:.3g}"))
        if not floating and c.max_abs > bound:
            raise Unavailable(f"output {i} disagrees with TFLite: max |diff| {c.max_abs:.0f} steps > {bound:.0f}")
        worst["max_abs"] = max(worst["max_abs"], c.max_abs)
        if floating:
            worst["relative"] = max(worst["relative"], c.relative)
    return worst
