"""Op-level benchmark of dlcoder against TFLite (XNNPACK and builtin kernels).

One single-op model per case, float32 (cases.py) or int8 quantized as the TFLite
converter does it (qcases.py), timed in our generated code and in TFLite with and
without XNNPACK; the report goes to --out (RESULTS.md, results.json,
ratios.png).

Run:  python3 benchmarks/ops/run.py --out benchmarks/ops [--quick [--full BINARY,PRELU]]
          [--ops CONV_2D,PRELU | --ops int8 | --ops CONV_2D_INT8] [--runs N]

Method, per case:
1. Build. The model is written without TensorFlow (tests/models/op_hand.py) and compiled
   as `dlcoder bench` does it (compiler.compile_graph, then the bench driver built with
   plain `c++ -std=c++17 -O2`, one thread). The build cache (--build) keys every
   executable by the hash of the generated files it compiles (the model's code and
   weights, the runtime headers they include), so a rerun recompiles only what a model
   or a kernel change altered.
   Missing builds compile in parallel, at most two at a time (--jobs), before any timing
   (or beside it with --overlap, which saves time on a busy machine and adds noise).
2. Check. Our outputs on seeded random inputs against TFLite's builtin kernels
   (BUILTIN_WITHOUT_DEFAULT_DELEGATES) with dlcoder's verify bound (1e-4 relative, or
   twice what XNNPACK and the builtin kernels disagree by); integer outputs (the int8
   grid) must be equal to the builtin kernels' byte for byte. A case that fails is still
   timed but marked WRONG, and left out of every summary.
3. Time. The three engines run in --rounds interleaved rounds (ours, XNNPACK, builtin,
   ours, ...), so that the noise of a shared machine hits them alike; each round gives
   an engine as many invokes as fit in ROUND_SECONDS (at least 2, at most --runs/--rounds).
   Each round is a fresh start for every engine: our driver in a new process, TFLite in
   a new interpreter, each warmed up for 50 ms first (time_engines says why).
   Our time is measured inside the driver (`--repeat`), TFLite's around invoke() from
   Python, both per invoke. The tables show medians, or with --stat min the fastest
   invoke: on a machine loaded past its cores, TFLite's long-lived Python process is
   preempted in the middle of invokes far more often than our short-lived driver, and
   its median grows tenfold while its minimum stays put. The Python call adds under a
   microsecond to TFLite's times (the report measures it: invoke_overhead_us), which
   matters only for the smallest cases. TFLite runs with num_threads=1;
   "XNNPACK" is its default delegate, and a case whose op XNNPACK does not take is
   marked, since its XNNPACK time is then the builtin kernel's.
4. Roofline (roofline.py). Each case's MACs and bytes against this core's measured
   ceilings give the least time it could take; the report shows each engine's time as a
   percentage of it ("at % of roof"), the distance from the hardware's limit of a case
   that stays over the goal.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import posixpath
import re
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "models"), str(HERE)]

import numpy as np  # noqa: E402
import roofline  # noqa: E402
from benchmarks.run import machine  # noqa: E402
from cases import all_cases, select  # noqa: E402
from dlcoder import bench, compiler, verify as V  # noqa: E402
from dlcoder.console import tflite_info_dropped  # noqa: E402
from dlcoder.errors import DlcoderError  # noqa: E402
from op_hand import single_op  # noqa: E402
from report import write_report  # noqa: E402

ROUNDS = 5
ROUND_SECONDS = 0.2
WARM_SECONDS = 0.05
LIB_NAME = "opbench"
FLAGS = ("-O2",)
HARNESS = ROOT / "dlcoder" / "codegen" / "templates" / "harness.cc.j2"
INCLUDE = re.compile(r'#include\s+"([^"]+)"')


class Prepared:
    """One case after step 1: its model file, inputs, compiled graph and executable (or
    the reason it has none)."""

    def __init__(self, case, model: Path):
        self.case, self.model = case, model
        self.inputs = self.graph = self.exe = self.lib = None
        self.work = (0, 0)          # (MACs, bytes): roofline.work()
        self.error = None           # "unsupported: ..." or "build failed: ..."


def prepare(case, build: Path) -> Prepared:
    """Write the case's model and generate our library; the executable is found in the
    cache or left for compile_case()."""
    hand, inputs = case.build()
    data = hand.build()
    model = build / "models" / f"{case.name}.tflite"
    model.parent.mkdir(parents=True, exist_ok=True)
    if not model.exists() or model.read_bytes() != data:
        model.write_bytes(data)
    p = Prepared(case, model)
    p.inputs = inputs
    p.work = roofline.work(hand)
    try:
        g0 = compiler.load_graph(str(model), note=lambda _: None)
        p.lib, p.graph = compiler.compile_graph(g0, LIB_NAME)
    except DlcoderError as e:
        p.error = "unsupported: " + str(e).splitlines()[0]
        return p
    p.exe = build / library_key(p.lib.files) / "runner"
    return p


def library_key(files: dict) -> str:
    """The cache key of a generated library: a hash of the compile flags, the driver's
    template and the files the build reads (build_inputs)."""
    h = hashlib.sha256(" ".join(FLAGS).encode() + HARNESS.read_bytes())
    for name in build_inputs(files):
        h.update(name.encode() + b"\0" + files[name] + b"\0")
    return h.hexdigest()[:20]


def build_inputs(files: dict) -> list:
    """The generated files a build reads: the model's own files and the runtime headers
    they and the driver include, transitively. Every library carries the whole runtime,
    so hashing all of it would recompile every case whenever any kernel header changes."""
    harness = INCLUDE.findall(HARNESS.read_text())
    todo = [n for n in files if not n.startswith("dlcoder_rt/") or n in harness]
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for inc in INCLUDE.findall(files[name].decode(errors="replace")):
            here = posixpath.join(posixpath.dirname(name), inc)
            todo += [c for c in (inc, here) if c in files][:1]
    return sorted(seen)


def compile_case(p: Prepared) -> None:
    """Build p's executable in its cache folder (lib/ and runner), unless it is there."""
    if p.error or p.exe.exists():
        return
    folder = p.exe.parent
    staging = folder / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        compiler.write_library(p.lib, str(folder / "lib"))
        exe = V.build_runner(str(folder / "lib"), LIB_NAME, str(staging), flags=FLAGS, host_only=False)
    except DlcoderError as e:
        p.error = "build failed: " + str(e).splitlines()[0]
        return
    # moved in whole, so that a run stopped mid-link never leaves a broken runner cached
    os.replace(exe, p.exe)


def start_builds(prepared: list, pool: ThreadPoolExecutor, jobs: int) -> dict:
    """Executable -> the future of its compile, one per missing library (two cases that
    generate the same files share one)."""
    todo = {p.exe: p for p in prepared if not p.error and not p.exe.exists()}
    print(f"compiling {len(todo)} of {len(prepared)} cases ({len(prepared) - len(todo)} cached), "
          f"{jobs} at a time", flush=True)
    return {exe: pool.submit(compile_case, p) for exe, p in todo.items()}


def wait_builds(builds: dict) -> None:
    t0 = time.time()
    for i, future in enumerate(as_completed(builds.values()), 1):
        future.result()
        print(f"  compiled {i}/{len(builds)} ({time.time() - t0:.0f} s)", end="\r", flush=True)
    print()


def check(p: Prepared, work: str) -> dict:
    """Our outputs against the builtin kernels' (verify.compare with verify.float_bound;
    integer outputs exactly). "exact" marks a case whose outputs are all integers, whose
    max_rel_error is then the count of values that differ."""
    ours, _ = V.run_runner(str(p.exe), p.graph, p.inputs, work)
    with tflite_info_dropped():
        builtin, _ = V.reference_run(str(p.model), p.inputs)
        bound = V.float_bound(str(p.model), p.inputs, builtin)
    cmp = [V.compare(o, r, i, bound) for i, (o, r) in enumerate(zip(ours, builtin))]
    worst = max(cmp, key=lambda c: c.relative)
    exact = not any(np.issubdtype(r.dtype, np.floating) for r in builtin)
    detail = worst.detail
    if exact and not worst.ok and not detail:
        detail = first_difference(ours[worst.index], builtin[worst.index], worst.max_abs)
    return {"correct": all(c.ok for c in cmp), "max_rel_error": worst.relative, "bound": bound,
            "detail": detail, "exact": exact}


def first_difference(ours: np.ndarray, ref: np.ndarray, max_abs: float) -> str:
    """How two integer outputs of one shape differ: how many values, by how much, and the
    first one."""
    at = np.flatnonzero(ours.ravel() != ref.ravel())
    first = list(map(int, np.unravel_index(at[0], ref.shape)))
    return (f"{at.size} of {ref.size} values differ by up to {max_abs:g}, first at {first}: "
            f"ours {ours.ravel()[at[0]]}, tflite {ref.ravel()[at[0]]}")


def tflite_engine(model: Path, inputs: list, xnnpack: bool):
    """(timer, delegated): timer(n) invokes a ready interpreter n times and returns the
    microseconds of each; delegated says whether XNNPACK took the op. The interpreter
    keeps TFLite's default thread count, one (no XNNPACK thread pool)."""
    with tflite_info_dropped():
        interp = bench.ready_interpreter(str(model), inputs, 1, xnnpack)
    # the interpreter's op list gains a DELEGATE node when XNNPACK takes the op (no
    # public API says so)
    delegated = any(d["op_name"] == "DELEGATE" for d in interp._get_ops_details())
    return bench.invoke_timer(interp), delegated


def warmed(timer):
    """`timer` after WARM_SECONDS of invokes, the warm-up our driver gives itself."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < WARM_SECONDS:
        timer(3)
    return timer


def ours_engine(exe: Path, work: str):
    """timer(n): n runs of our library in its driver (after its own 50 ms warm-up)."""
    def timer(n):
        res = subprocess.run([str(exe), work, "--threads", "1", "--repeat", str(n)],
                             capture_output=True, text=True, check=True)
        return [float(x) for x in res.stdout.split()]
    return timer


def time_engines(p: Prepared, work: str, runs: int, rounds: int) -> tuple[dict, bool]:
    """Engine -> its per-invoke microseconds over `rounds` interleaved rounds, and whether
    XNNPACK delegated the op.

    Every round gives every engine new memory: ours is a new process, and TFLite a new
    interpreter (its arena and XNNPACK's packed weights newly allocated while the last
    round's still hold theirs, so not the same pages again), warmed up as our driver is.
    A process of either engine lands on a fast or a slow placement of its buffers (the
    same binary's memory-bound cases run at two speeds, up to 1.6x apart), so with one
    interpreter for all rounds XNNPACK drew one placement where ours drew `rounds`."""
    xnn, delegated = tflite_engine(p.model, p.inputs, True)
    fresh = {"ours": lambda: ours_engine(p.exe, work),
             "xnnpack": lambda: warmed(tflite_engine(p.model, p.inputs, True)[0]),
             "builtin": lambda: warmed(tflite_engine(p.model, p.inputs, False)[0])}
    live = {"ours": fresh["ours"](), "xnnpack": warmed(xnn), "builtin": fresh["builtin"]()}
    cap = max(2, runs // rounds)
    per_round = {k: min(cap, max(2, int(ROUND_SECONDS * 1e6 / min(fn(3)))))
                 for k, fn in live.items()}
    times = {k: [] for k in live}
    for r in range(rounds):
        for k, make in fresh.items():
            if r:
                live[k] = make()
            times[k] += live[k](per_round[k])
    return times, delegated


def measure(p: Prepared, runs: int, rounds: int, stat: str) -> dict:
    macs, nbytes = p.work
    row = {"name": p.case.name, "family": p.case.family, "op": p.case.op, "dtype": p.case.dtype,
           "shape": p.case.shape, "macs": macs, "bytes": nbytes}
    if p.error:
        return {**row, "status": p.error}
    if not p.exe.exists():      # the case shared a library whose compile failed
        return {**row, "status": "build failed"}
    work = str(p.exe.parent)
    try:
        row.update(check(p, work))
        times, delegated = time_engines(p, work, runs, rounds)
    except (DlcoderError, subprocess.CalledProcessError, RuntimeError, ValueError) as e:
        # one engine failing on one case (a crash, an interpreter that rejects the
        # model) is that case's result, not the end of the run
        return {**row, "status": "run failed: " + (str(e).splitlines() or [type(e).__name__])[0]}
    stats = {k: {"median": statistics.median(v) / 1e3, "min": min(v) / 1e3} for k, v in times.items()}
    ms = {k: v[stat] for k, v in stats.items()}
    return {**row, "status": "ok" if row["correct"] else "WRONG", "xnnpack_delegated": delegated,
            "ms": ms, "stats_ms": stats, "samples": {k: len(v) for k, v in times.items()},
            "ratio_xnnpack": ms["ours"] / ms["xnnpack"], "ratio_builtin": ms["ours"] / ms["builtin"]}


def invoke_overhead_us(build: Path) -> float:
    """What timing TFLite from Python adds to every invoke: the median time of a
    one-element ADD (builtin kernels), which is nearly all call overhead."""
    one = np.ones(1, np.float32)
    hand, inputs = single_op("ADD", [one, one], [[1]], "AddOptions", FusedActivationFunction=0)
    model = build / "models" / "invoke_overhead.tflite"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(hand.build())
    timer, _ = tflite_engine(model, inputs, False)
    return statistics.median(timer(2000))


def tree_commit() -> str:
    """The commit the measured tree is at, "+changes" when its files differ from it."""
    def git(*a):
        return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def kept_rows(out: Path, measured: set, peaks: dict) -> tuple[dict, str, dict]:
    """--update: the rows of the report already in `out` for the cases this run does not
    time (by name), that report's command, and the ceilings of both runs (roofline.best,
    when both ran on this machine), which every roof is then taken against."""
    try:
        old = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        return {}, "", peaks
    if old.get("peaks") and old.get("machine") == machine():
        peaks = roofline.best(peaks, old["peaks"])
    rows = {}
    for r in old["cases"]:
        if r["name"] in measured:
            continue
        rows[r["name"]] = roofline.attach(r, peaks) if "macs" in r else r
    return rows, old.get("command", ""), peaks


def command() -> str:
    """The command that reproduces this run (its options as given, quoted for the shell)."""
    return "python3 benchmarks/ops/run.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE), help="folder for RESULTS.md, results.json, ratios.png")
    ap.add_argument("--quick", action="store_true", help="only the first few cases of each family")
    ap.add_argument("--ops", help="comma-separated ops, families or dtypes, e.g. CONV_2D,PRELU,BINARY (float32); "
                    "CONV_2D_INT8 (the family \"CONV_2D int8\"), ADD_INT8, int8 (every int8 case)")
    ap.add_argument("--full", help="with --quick, the ops or families to run in full")
    ap.add_argument("--runs", type=int, default=50, help="most invokes per engine and case")
    ap.add_argument("--rounds", type=int, default=ROUNDS,
                    help="interleaved rounds per case (more rounds ride out more of a busy host's bursts)")
    ap.add_argument("--stat", default="median", choices=("median", "min"),
                    help="the statistic of the tables and ratios (min on an overloaded machine)")
    ap.add_argument("--build", default=str(HERE / "build"), help="the build cache")
    ap.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="parallel compiles")
    ap.add_argument("--overlap", action="store_true",
                    help="time each case as soon as it is built, while the rest compile (faster, noisier)")
    ap.add_argument("--update", action="store_true",
                    help="time only the selected cases and keep the other rows of the report in --out "
                    "(each row names the commit it was timed at)")
    args = ap.parse_args()
    cases = select(all_cases(quick=args.quick, full=args.full), args.ops)
    if not cases:
        print(f"no case matches --ops {args.ops}", file=sys.stderr)
        return 2
    build, out = Path(args.build), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    peaks = roofline.measure(build)     # first, while nothing of ours competes for the core
    overhead = invoke_overhead_us(build)
    prepared = [prepare(c, build) for c in cases]
    rows, commit = [], tree_commit()
    kept, kept_command, peaks = (kept_rows(out, {c.name for c in cases}, peaks) if args.update
                                 else ({}, "", peaks))
    cmd = command() if not kept else f"{kept_command} && {command()}"
    order = {c.name: i for i, c in enumerate(all_cases())}

    def report():
        merged = sorted(rows + list(kept.values()), key=lambda r: order.get(r["name"], len(order)))
        write_report(merged, out, command=cmd, runs=args.runs, rounds=args.rounds, flags=FLAGS,
                     seconds=time.time() - t0, overhead_us=overhead, stat=args.stat, peaks=peaks)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        builds = start_builds(prepared, pool, args.jobs)
        if not args.overlap:
            wait_builds(builds)
        for i, p in enumerate(prepared, 1):
            if p.exe in builds:
                builds[p.exe].result()
            row = {**measure(p, args.runs, args.rounds, args.stat), "commit": commit}
            rows.append(roofline.attach(row, peaks))
            r = rows[-1]
            ratio = f"{r['ratio_xnnpack']:.2f}" if "ms" in r else "-"
            print(f"[{i}/{len(prepared)}] {r['name']:<44} {r['status']:<6.40} ours/XNNPACK {ratio}", flush=True)
            if i == len(prepared) or prepared[i].case.family != p.case.family:
                # after every family, so that a run stopped early still leaves a report
                report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
