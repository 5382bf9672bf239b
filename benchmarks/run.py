"""Benchmark dlcoder against TFLite (XNNPACK and builtin kernels) and TFLite Micro's
arena on the shared model suite, and write benchmarks/RESULTS.md and benchmarks/ratios.png.

Run:  pip install '.[bench]' && python3 benchmarks/run.py [--models DIR] [--select GLOB] [--runs N] [--threads 1,2]

Every number of a row comes from one run of `dlcoder bench` (interleaved latency, memory
in fresh processes), so the ratios are comparable even on a noisy machine. Each thread
count gets its own table: TFLite with num_threads=N against our library through
dlcoder_rt::ThreadPool(N). "code+rodata" is the library's machine code and read-only data
(weights included) as `c++ -std=c++17 -O2 -c` makes them, beside the .tflite file's size.
With --iree VENV (made by benchmarks/setup_iree.sh) IREE is timed in the same interleaved
rounds: the tables get "IREE ms" and "ours / IREE", the summary a geomean of ours / IREE
and the models where we are slower; a model IREE cannot compile, or where its outputs
disagree with TFLite, shows "n/a (reason)".
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dlcoder import __version__  # noqa: E402
from dlcoder.bench import measure  # noqa: E402
from dlcoder.errors import DlcoderError  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cxx = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; {cxx}"


def versions() -> str:
    out = [f"dlcoder {__version__}"]
    for pkg in ("ai-edge-litert", "tflite-micro"):
        try:
            from importlib.metadata import version
            out.append(f"{pkg} {version(pkg)}")
        except Exception:
            out.append(f"{pkg} (not installed)")
    return ", ".join(out)


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def fmt(x, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def table(rows, iree: bool = False) -> list:
    head = ("| model | dlcoder ms | XNNPACK ms | builtin ms | lat / XNNPACK | lat / builtin | "
            "RSS MB (ours / XNNPACK) | RSS / XNNPACK | RSS / floor | arena MB | TFLM arena MB | arena / TFLM | "
            "code+rodata KB / model KB |" + (" IREE ms | ours / IREE |" if iree else ""))
    lines = [head, "|" + "---|" * (15 if iree else 13)]
    for name, r in rows:
        if "error" in r:
            lines.append(f"| {name} | not supported: {r['error']} |" + " |" * (13 if iree else 11))
            continue
        lat, mem, q = r["latency_us"], r["peak_rss_bytes"], r["ratios"]
        tflm, size = r["tflm_arena_bytes"], r["library_bytes"]
        lines.append(
            f"| {name} | {lat['dlcoder']['median'] / 1e3:.2f} | {lat['tflite_xnnpack']['median'] / 1e3:.2f} | "
            f"{lat['tflite_builtin']['median'] / 1e3:.2f} | {q['latency_vs_xnnpack']:.2f} | "
            f"{q['latency_vs_builtin']:.2f} | {mem['dlcoder'] / 2**20:.1f} / {mem['tflite_xnnpack'] / 2**20:.1f} | "
            f"{q['rss_vs_xnnpack']:.2f} | {q['rss_vs_floor']:.2f} | {r['arena_bytes'] / 2**20:.2f} | "
            f"{'n/a' if tflm is None else f'{tflm / 2**20:.2f}'} | "
            f"{fmt(q['arena_vs_tflm'], '.3f')} | "
            f"{(size['code'] + size['rodata']) / 2**10:.0f} / {r['model_bytes'] / 2**10:.0f} |"
            + (iree_cells(r) if iree else ""))
    return lines


def iree_cells(r: dict) -> str:
    """The IREE ms and ours / IREE cells of a row: "n/a (reason)" where IREE has no time."""
    info = r.get("iree") or {"error": "not run"}
    if "error" in info:
        return f" n/a ({info['error'].replace('|', '/')}) | n/a |"
    return f" {r['latency_us']['iree']['median'] / 1e3:.2f} | {r['ratios']['latency_vs_iree']:.2f} |"


def iree_flags() -> list:
    """How IREE was built and timed, for the header of RESULTS.md."""
    from dlcoder.iree import COMPILE_FLAGS
    return [f"IREE (venv from benchmarks/setup_iree.sh, iree-compiler 20241104.1068): "
            f"`iree-import-tflite` then `iree-compile {' '.join(COMPILE_FLAGS)}`; timed by "
            "iree-benchmark-module, one invoke per sample after a warm-up, on local-sync (1 thread) "
            "or local-task with N workers; its outputs are checked against TFLite first. No peak RSS."]


def summarize_iree(rows, threads: int) -> list:
    """Geomean of ours / IREE over the models IREE compiles, the models where we are slower,
    and how many it cannot time."""
    got = [(n, r["ratios"]["latency_vs_iree"]) for n, r in rows
           if "error" not in r and r["ratios"].get("latency_vs_iree") is not None]
    if not got:
        return [f"- {threads} thread(s), IREE: no model timed"]
    slower = [f"{n} ({x:.2f})" for n, x in got if x > 1.0]
    return [f"- {threads} thread(s), latency / IREE ({len(got)} of {len(rows)} models): geomean "
            f"{geomean([x for _, x in got]):.2f}, we are slower on {len(slower)}"
            + (": " + ", ".join(slower) if slower else "")]


def chart(by_threads: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    first = min(by_threads)
    ok = [(n, r) for n, r in by_threads[first] if "error" not in r]
    names = [n for n, _ in ok]
    series = {}
    for t, rows in sorted(by_threads.items()):
        got = dict(rows)
        series[f"latency / TFLite+XNNPACK, {t} thread(s)"] = [
            got[n]["ratios"]["latency_vs_xnnpack"] if "error" not in got.get(n, {"error": 1}) else 0 for n in names]
    series["peak RSS / TFLite+XNNPACK"] = [r["ratios"]["rss_vs_xnnpack"] for _, r in ok]
    series["arena / TFLite Micro"] = [r["ratios"]["arena_vs_tflm"] or 0 for _, r in ok]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(names)) + 3, 4.5))
    width = 0.8 / len(series)
    for i, (label, vals) in enumerate(series.items()):
        ax.bar([x + (i - (len(series) - 1) / 2) * width for x in range(len(names))], vals, width, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("ratio (lower is better)")
    ax.set_title("dlcoder vs TFLite, one run per model")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def command_args() -> str:
    """This run's command-line arguments, for the Reproduce line (paths as given, quoted
    for the shell where they need it: a --select glob)."""
    return "".join(" " + shlex.quote(a) for a in sys.argv[1:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=str(HERE.parent.parent / "shared" / "models"))
    ap.add_argument("--select", default="*", help="only the models whose file stem matches this glob")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts, one table each")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--iree", metavar="VENV", help="also time IREE from this venv (benchmarks/setup_iree.sh)")
    args = ap.parse_args()
    models = sorted(Path(args.models).glob(f"{args.select}.tflite"))
    if not models:
        print(f"no models {args.select}.tflite in {args.models}", file=sys.stderr)
        return 2
    thread_counts = [int(t) for t in args.threads.split(",")]
    by_threads, summary, tables = {}, [], []
    for threads in thread_counts:
        rows = []
        for m in models:
            try:
                r = measure(str(m), threads=threads, runs=args.runs, iree=args.iree)
            except DlcoderError as e:
                r = {"error": str(e).splitlines()[0].replace("|", "/")}
            rows.append((m.stem, r))
            print(threads, m.stem, json.dumps(r.get("ratios", r)), flush=True)
        by_threads[threads] = rows
        summary += summarize(rows, threads) + (summarize_iree(rows, threads) if args.iree else [])
        tables += [f"## {threads} thread(s)", "", *table(rows, bool(args.iree)), ""]
    text = ["# Benchmark results", "",
            f"Machine: {machine()}.", f"Versions: {versions()}.",
            f"Flags: our libraries are compiled with plain `c++ -std=c++17 -O2` (no -march; the "
            f"kernels pick AVX-512/AVX2/SSE2 at run time); {args.runs} interleaved runs per engine; "
            "medians. With N threads TFLite runs with num_threads=N and our library through "
            "dlcoder_rt::ThreadPool(N). Peak RSS is incremental (after the model is loaded and "
            "run once, minus before), each engine in a fresh process.",
            *(iree_flags() if args.iree else []),
            "", f"Reproduce: `pip install '.[bench]' && python3 benchmarks/run.py{command_args()}`", "",
            "## Summary", "", *summary, "", *tables, "![ratios](ratios.png)", ""]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text("\n".join(text))
    (out / "results.json").write_text(json.dumps({str(t): dict(rows) for t, rows in by_threads.items()},
                                                 indent=1, sort_keys=True))
    chart(by_threads, out / "ratios.png")
    print("\n".join(summary))
    return 0


def min_ratio(r: dict) -> float:
    """Our fastest run over XNNPACK's: the ratio a burst of the host cannot move, which a
    median can on a shared VM (a burst over one engine's rounds shifts its median)."""
    lat = r["latency_us"]
    return lat["dlcoder"]["min"] / lat["tflite_xnnpack"]["min"]


def by_min(rows: list) -> str:
    got = [min_ratio(r) for r in rows]
    return f"; by fastest run {geomean(got):.2f}, max {max(got):.2f}"


def summarize(rows, threads: int) -> list:
    ok = [r for _, r in rows if "error" not in r]
    # the suite names its quantized models _int8 and _dq8; the rest are float
    quantized = [r for n, r in rows if "error" not in r and n.endswith(("_int8", "_dq8"))]
    float_rows = [(n, r) for n, r in rows if "error" not in r and not n.endswith(("_int8", "_dq8"))]
    lat = [r["ratios"]["latency_vs_xnnpack"] for _, r in float_rows]
    feed_forward = [x for (n, _), x in zip(float_rows, lat) if "lstm" not in n]
    lines = []
    if float_rows:
        lines += [
            f"- {threads} thread(s), float models: geomean latency / TFLite+XNNPACK = {geomean(lat):.2f} "
            f"(goal <= 0.80), max {max(lat):.2f} (goal <= 1.0); geomean latency / "
            f"TFLite builtin kernels = {geomean([r['ratios']['latency_vs_builtin'] for r in ok]):.2f}"
            + by_min([r for _, r in float_rows]),
            # recurrent models are where XNNPACK does nothing (it leaves the LSTM to TFLite's
            # own kernel); the feed-forward geomean shows the CNNs and the transformer alone
            f"  - without the LSTM models: geomean {geomean(feed_forward):.2f}"]
    if quantized:
        qlat = [r["ratios"]["latency_vs_xnnpack"] for r in quantized]
        lines.append(
            f"- {threads} thread(s), quantized models: geomean latency / TFLite+XNNPACK = {geomean(qlat):.2f}, "
            f"max {max(qlat):.2f}; geomean latency / TFLite builtin kernels = "
            f"{geomean([r['ratios']['latency_vs_builtin'] for r in quantized]):.2f}" + by_min(quantized))
    if threads == 1 and ok:
        code = [r["library_bytes"]["code"] for r in ok]
        size = [(r["library_bytes"]["code"] + r["library_bytes"]["rodata"]) / r["model_bytes"] for r in ok]
        lines += [
            f"- geomean peak RSS / TFLite+XNNPACK = {geomean([r['ratios']['rss_vs_xnnpack'] for r in ok]):.2f} "
            f"(goal <= 0.45); max RSS / (weights + arena + 2 MB) = "
            f"{max(r['ratios']['rss_vs_floor'] for r in ok):.2f} (goal <= 1.15)",
            f"- arena / TFLite Micro arena: max "
            f"{max((r['ratios']['arena_vs_tflm'] for r in ok if r['ratios']['arena_vs_tflm']), default=float('nan')):.3f}"
            " (goal <= 1.0)",
            f"- library code+rodata / .tflite file: geomean {geomean(size):.2f}, max {max(size):.2f}; "
            f"machine code {min(code) / 2**10:.0f} to {max(code) / 2**10:.0f} KB"]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
