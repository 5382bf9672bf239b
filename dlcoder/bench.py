"""`dlcoder bench`: the generated library against TFLite (XNNPACK and builtin kernels),
measured in one run.

Latency: the three engines run in interleaved rounds (ours, XNNPACK, builtin, ours, ...)
so that machine noise hits them alike; median, mean, standard deviation, p90 and min over
all runs, as TFLite's benchmark_model reports them (latency_stats). Our library is built
with plain -O2 (what an optimised Bazel or CMake build uses) and timed inside its driver.
With --threads N, TFLite gets num_threads=N and our library runs NAME_run_threads through
dlcoder_rt::ThreadPool(N).
Memory: each engine runs once in a fresh process that reports its resident set before
loading the model and its peak after one inference; the difference is the incremental peak.
TFLite Micro's arena comes from a binary search over `arena_size` (tflite-micro package).
Size: every source of the library compiled alone with `c++ -std=c++17 -O2 -c`, then `size`
on the objects: machine code, read-only data (the weights and the generated constants),
data and bss (the static arena), beside the .tflite file's size.
With --iree VENV, IREE (compiled ahead of time for this CPU, dlcoder/iree.py) is a fourth
engine in the interleaved rounds, where it compiles the model and agrees with TFLite.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from dlcoder import compiler, verify as V
from dlcoder.console import QUIET, Progress, tflite_info_dropped
from dlcoder.errors import DlcoderError
from dlcoder.ir import Graph, op_label, op_note

ROUNDS = 5

_TFLITE_RSS = r"""
import sys, numpy as np
def kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
from ai_edge_litert.interpreter import Interpreter, OpResolverType
path, mode = sys.argv[1], sys.argv[2]
kw = {} if mode == "xnnpack" else {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
start = kb("VmRSS:")
it = Interpreter(model_path=path, num_threads=int(sys.argv[3]), **kw)
it.allocate_tensors()
for d in it.get_input_details():
    it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
it.invoke()
print(start, kb("VmHWM:"))
"""


def _tflite_times(model, inputs, threads, xnnpack):
    """A function that times n invokes of a ready TFLite interpreter (microseconds each)."""
    return invoke_timer(ready_interpreter(model, inputs, threads, xnnpack))


def ready_interpreter(model, inputs, threads, xnnpack):
    """A TFLite interpreter with `inputs` set, invoked once (the warm-up)."""
    if threads == 1:
        interp = V.reference_interpreter(model, xnnpack=xnnpack)
    else:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        kw = {} if xnnpack else {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
        interp = Interpreter(model_path=model, num_threads=threads, **kw)
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), inputs):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    return interp


def invoke_timer(interp):
    """run(n): n invokes of `interp`, the microseconds of each."""
    def run(n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            interp.invoke()
            out.append((time.perf_counter() - t0) * 1e6)
        return out
    return run


_TFLM_ARENA = r"""
import sys
import tflite_micro as tm
def fits(size):
    try:
        tm.runtime.Interpreter.from_file(sys.argv[1], arena_size=size)
        return True
    except Exception:
        return False
lo, hi = 0, 1 << 30
if not fits(hi):
    print("none")
    sys.exit()
while hi - lo > 64:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if fits(mid) else (mid, hi)
print(hi)
"""


def tflm_arena(model: str):
    """Smallest arena TFLite Micro accepts for the model (binary search over arena_size in
    a child process, which also keeps TFLM's allocation messages off our output), or None
    if tflite-micro is not installed or cannot load the model."""
    res = subprocess.run([sys.executable, "-c", _TFLM_ARENA, model], capture_output=True, text=True)
    last = res.stdout.split()[-1:] if res.returncode == 0 else []
    return int(last[0]) if last and last[0].isdigit() else None


def library_size(lib_dir: str, work: str, cxx: str = None) -> dict:
    """Bytes of the library's objects, as `c++ -std=c++17 -O2 -c` makes them: "code" is
    size's text without the read-only data (.text and the unwind tables), "rodata" the
    .rodata* sections and the .data.rel.ro* ones (constants holding addresses, such as a
    struct of weight pointers the compiler builds from a constant pool: read-only once
    relocated, RELRO), "data" and "bss" size's own columns, data without .data.rel.ro*."""
    cxx = cxx or os.environ.get("CXX", "c++")
    total = {"code": 0, "rodata": 0, "data": 0, "bss": 0}
    for src in sorted(Path(lib_dir).iterdir()):
        if src.suffix not in (".cc", ".c", ".S"):
            continue
        obj = os.path.join(work, src.name + ".o")
        cmd = [cxx, "-std=c++17", "-O2", "-I", lib_dir, "-c", str(src), "-o", obj]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise DlcoderError(f"compiling the generated code failed:\n{' '.join(cmd)}\n{res.stderr[-4000:]}")
        # Berkeley format: text (code, read-only data, unwind tables), data, bss
        text, data, bss = (int(x) for x in _size(obj).splitlines()[1].split()[:3])
        sections = [line.split()[:2] for line in _size("-A", obj).splitlines()[2:] if line.strip()]
        rodata = sum(int(n) for name, n in sections if name.startswith(".rodata"))
        relro = sum(int(n) for name, n in sections if name.startswith(".data.rel.ro"))
        total["code"] += text - rodata
        total["rodata"] += rodata + relro
        total["data"] += data - relro
        total["bss"] += bss
    return total


def _size(*args) -> str:
    return subprocess.run(["size", *args], capture_output=True, text=True, check=True).stdout


def measure(model: str, shapes: dict | None = None, threads: int = 1, runs: int = 30,
            progress: Progress = QUIET, iree: str | None = None) -> dict:
    if iree:
        from dlcoder.iree import tools
        tools(iree)     # a wrong venv is the user's error: report it before any work
    with progress.phase(f"reading {model}"):
        g0 = compiler.load_graph(model, shapes, note=progress.note)
    with progress.phase("generating the C++ library"):
        lib, g = compiler.compile_graph(g0, "bench_model")
    inputs = V.random_inputs(g0, seed=0)
    with V.Workdir() as work:
        compiler.write_library(lib, f"{work}/lib")
        with progress.phase(f"measuring the code size ({_cxx()} -O2 -c, each source alone)"):
            sizes = library_size(f"{work}/lib", work)
        with progress.phase(f"compiling the generated code ({_cxx()} -O2)"):
            exe = V.build_runner(f"{work}/lib", "bench_model", work, host_only=False)
        extra, iree_info = _iree_engine(iree, model, inputs, work, threads, progress) if iree else ({}, None)
        times = _time_engines(exe, work, g, model, inputs, runs, threads, progress, extra)
        with progress.phase("measuring peak memory (one fresh process per engine)"):
            mem = _peak_rss(exe, work, model, threads)
    with progress.phase("finding TFLite Micro's smallest arena"):
        tflm = tflm_arena(model)
    result = {"model": model, "threads": threads, "runs": len(times["dlcoder"]),
              "latency_us": {k: latency_stats(v) for k, v in times.items()},
              "peak_rss_bytes": mem, "weight_bytes": lib.weight_bytes,
              "arena_bytes": lib.arena_bytes_threads(threads),
              "tflm_arena_bytes": tflm,
              "library_bytes": sizes, "model_bytes": os.path.getsize(model)}
    lat = result["latency_us"]
    result["ratios"] = {
        "latency_vs_xnnpack": lat["dlcoder"]["median"] / lat["tflite_xnnpack"]["median"],
        "latency_vs_builtin": lat["dlcoder"]["median"] / lat["tflite_builtin"]["median"],
        "rss_vs_xnnpack": mem["dlcoder"] / max(1, mem["tflite_xnnpack"]),
        "rss_vs_floor": mem["dlcoder"] / (lib.weight_bytes + result["arena_bytes"] + 2 * 2**20),
        "arena_vs_tflm": (result["arena_bytes"] / tflm) if tflm else None,
    }
    if iree:
        result["iree"] = iree_info
        result["ratios"]["latency_vs_iree"] = (lat["dlcoder"]["median"] / lat["iree"]["median"]
                                               if "iree" in lat else None)
    return result


def _iree_engine(venv, model, inputs, work, threads, progress) -> tuple:
    """IREE as an extra engine ({"iree": its timer}) and what the result says of it: how
    far its outputs are from TFLite's, or why it has no time ({"error": reason})."""
    from dlcoder import iree
    with progress.phase("compiling the model with IREE (import, iree-compile) and checking its outputs"), \
            tflite_info_dropped(progress):
        try:
            engine = iree.Engine(venv, model, inputs, os.path.join(work, "iree"), threads)
        except iree.Unavailable as e:
            return {}, {"error": str(e)}
    return {"iree": engine.times}, {"check": engine.check, "device": iree.device_flags(threads)[0].split("=")[1]}


def _cxx() -> str:
    """The compiler verify.compile_library runs, for the progress lines."""
    return os.environ.get("CXX", "c++")


def _time_engines(exe, work, g, model, inputs, runs, threads, progress, extra=None) -> dict:
    """Engine -> its latencies in microseconds, from ROUNDS interleaved rounds; `extra`
    adds engines (name -> a function that times n runs)."""
    with progress.phase("loading the TFLite interpreters (XNNPACK and builtin kernels)"), \
            tflite_info_dropped(progress):
        tflite = {"tflite_xnnpack": _tflite_times(model, inputs, threads, True),
                  "tflite_builtin": _tflite_times(model, inputs, threads, False)}
    per_round = max(1, runs // ROUNDS)
    with progress.phase(f"timing {3 + len(extra or {})} engines, {per_round * ROUNDS} runs each in {ROUNDS} "
                        "interleaved rounds"):
        V.run_runner(exe, g, inputs, work)          # writes the inputs, warms up

        def ours(n):
            res = subprocess.run([exe, work, "--threads", str(threads), "--repeat", str(n)],
                                 capture_output=True, text=True, check=True)
            return [float(x) for x in res.stdout.split()]
        engines = {"dlcoder": ours, **tflite, **(extra or {})}
        times = {k: [] for k in engines}
        for _ in range(ROUNDS):
            for name, fn in engines.items():
                times[name] += fn(per_round)
    return times


def _peak_rss(exe, work, model, threads) -> dict:
    """Engine -> bytes its resident set grows by from before the model is loaded to the
    peak of one inference, each in a fresh process."""
    rss = subprocess.run([exe, work, "--threads", str(threads), "--rss"], capture_output=True, text=True,
                         check=True).stdout.split()
    mem = {"dlcoder": (int(rss[3]) - int(rss[1])) * 1024}
    for mode in ("xnnpack", "builtin"):
        out = subprocess.run([sys.executable, "-c", _TFLITE_RSS, model, mode, str(threads)],
                             capture_output=True, text=True, check=True).stdout.split()
        mem[f"tflite_{mode}"] = (int(out[1]) - int(out[0])) * 1024
    return mem


def latency_stats(us: list) -> dict:
    """The statistics TFLite's benchmark_model prints (tsl::Stat, StatWithPercentiles):
    mean, population standard deviation, and p90 as the value at sorted index n*90/100;
    with the median (between the two middle values for an even count) and the min.

    >>> latency_stats([4.0, 1.0, 3.0, 2.0])
    {'median': 2.5, 'min': 1.0, 'mean': 2.5, 'std': 1.118033988749895, 'p90': 4.0}
    """
    ordered = sorted(us)
    return {"median": statistics.median(ordered), "min": ordered[0],
            "mean": statistics.fmean(ordered), "std": statistics.pstdev(ordered),
            "p90": ordered[len(ordered) * 90 // 100]}


LATENCY_COLUMNS = (("median", 11), ("mean", 9), ("std", 8), ("p90", 9), ("min", 9))


def format_result(r: dict) -> str:
    lat, mem = r["latency_us"], r["peak_rss_bytes"]
    lines = [f"model: {r['model']}  (threads {r['threads']}, {r['runs']} runs each, interleaved)",
             f"{'engine':<16}" + "".join(f"{c + ' ms':>{w}}" for c, w in LATENCY_COLUMNS)
             + f"{'peak RSS MB':>13}"]
    for k in ("dlcoder", "tflite_xnnpack", "tflite_builtin"):
        lines.append(f"{k:<16}" + "".join(f"{lat[k][c] / 1e3:>{w}.3f}" for c, w in LATENCY_COLUMNS)
                     + f"{mem[k] / 2**20:>13.2f}")
    lines += _iree_lines(r)
    tflm = r["tflm_arena_bytes"]
    lines.append(f"weights {r['weight_bytes'] / 2**20:.2f} MB, arena {r['arena_bytes'] / 2**20:.3f} MB, "
                 f"TFLite Micro arena {'n/a' if tflm is None else f'{tflm / 2**20:.3f} MB'}")
    size = r["library_bytes"]
    lines.append(f"library (c++ -O2 -c): code {size['code'] / 2**10:.1f} KB, rodata {size['rodata'] / 2**10:.1f} KB, "
                 f"data {size['data'] / 2**10:.1f} KB, bss {size['bss'] / 2**10:.1f} KB; code+rodata "
                 f"{(size['code'] + size['rodata']) / 2**10:.1f} KB vs model file {r['model_bytes'] / 2**10:.1f} KB")
    q = r["ratios"]
    lines.append(f"ratios: latency/XNNPACK {q['latency_vs_xnnpack']:.2f}, latency/builtin "
                 f"{q['latency_vs_builtin']:.2f}, RSS/XNNPACK {q['rss_vs_xnnpack']:.2f}, RSS/floor "
                 f"{q['rss_vs_floor']:.2f}" + ("" if q["arena_vs_tflm"] is None else
                                                f", arena/TFLM {q['arena_vs_tflm']:.3f}")
                 + ("" if q.get("latency_vs_iree") is None else f", latency/IREE {q['latency_vs_iree']:.2f}"))
    return "\n".join(lines)


def _iree_lines(r: dict) -> list:
    """The IREE line of the engine table (no peak RSS: not measured), or why it has none."""
    info = r.get("iree")
    if info is None:
        return []
    if "error" in info:
        return [f"{'iree':<16}n/a ({info['error']})"]
    lat = r["latency_us"]["iree"]
    return [f"{'iree':<16}" + "".join(f"{lat[c] / 1e3:>{w}.3f}" for c, w in LATENCY_COLUMNS)
            + f"{'n/a':>13}  ({info['device']}; outputs vs TFLite: max |diff| {info['check']['max_abs']:.3g})"]


def per_op(model: str, shapes=None, runs: int = 30, threads: int = 1, progress: Progress = QUIET) -> dict:
    """Microseconds per step of our library (a profiling build that times every step)."""
    g0 = compiler.load_graph(model, shapes, note=progress.note)
    with progress.phase("generating a profiling build (times every op)"):
        lib, g = compiler.compile_graph(g0, "bench_model", profile=True)
    with V.Workdir() as work:
        compiler.write_library(lib, f"{work}/lib")
        with progress.phase(f"compiling the profiling build ({_cxx()} -O2)"):
            exe = V.build_runner(f"{work}/lib", "bench_model", work, flags=("-O2", "-DDLCODER_PROFILE"),
                                 host_only=False)
        with progress.phase(f"timing every op, {runs} runs"):
            V.run_runner(exe, g, V.random_inputs(g0, seed=0), work)
            subprocess.run([exe, work, "--threads", str(threads), "--repeat", str(runs)], capture_output=True,
                           check=True)
        with open(f"{work}/profile.txt") as f:
            us = [float(x) for x in f.read().split()]
    return per_op_table(g, us)


def per_op_table(g: Graph, us: list) -> dict:
    """The steps of graph g (the compiled one) with their microseconds `us`, and their sums
    by op. An op is named by the model's op names (ir.op_label: a fused step shows the ops
    it runs, "CONV_2D+RELU"), with what dlcoder made of them as a note (ir.op_note)."""
    steps = [{"step": i, "op": op_label(n), "note": op_note(n), "model_node": n.index,
              "us": us[i], "output_shape": list(g.tensors[n.outputs[0]].shape)}
             for i, n in enumerate(g.nodes)]
    by_op: dict = {}
    for s in steps:
        e = by_op.setdefault(s["op"], {"count": 0, "us": 0.0, "note": s["note"]})
        e["count"] += 1
        e["us"] += s["us"]
    return {"total_us": sum(us), "steps": steps, "by_op": by_op}


def format_per_op(p: dict, top: int = 15) -> str:
    total = p["total_us"]
    width = max([24] + [len(op) for op in p["by_op"]])
    lines = [f"per op (our library, profiling build), total {total / 1e3:.3f} ms:"]
    for op, e in sorted(p["by_op"].items(), key=lambda kv: -kv[1]["us"]):
        lines.append(f"  {op:<{width}} x{e['count']:<4} {e['us'] / 1e3:8.3f} ms  "
                     f"{100 * e['us'] / total:5.1f}%" + (f"  ({e['note']})" if e["note"] else ""))
    lines.append(f"slowest {top} steps:")
    for s in sorted(p["steps"], key=lambda s: -s["us"])[:top]:
        lines.append(f"  step {s['step']:<4} {s['op']:<{width}} {str(s['output_shape']):<22} "
                     f"{s['us']:9.1f} us")
    return "\n".join(lines)


def bench(model: str, shapes=None, threads: int = 1, as_json: bool = False, runs: int = 30,
          with_per_op: bool = False, progress: Progress = QUIET, iree: str | None = None) -> int:
    r = measure(model, shapes, threads=threads, runs=runs, progress=progress, iree=iree)
    if with_per_op:
        r["per_op"] = per_op(model, shapes, runs=runs, threads=threads, progress=progress)
    if as_json:
        print(json.dumps(r, indent=1, sort_keys=True))
    else:
        print(format_result(r))
        if with_per_op:
            print(format_per_op(r["per_op"]))
    return 0


__all__ = ["bench", "measure", "format_result", "np"]
