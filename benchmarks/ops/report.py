"""The op benchmark's report: results.json (every row as run.py measured it), RESULTS.md
(summary per family, the worst cases, a table per family) and ratios.png (the spread of
ours / XNNPACK per family).

Summaries use only the cases whose status is "ok": a WRONG case's time is not a time of
the op, and an unsupported one has none. The int8 families ("CONV_2D int8") are summed
up apart from the float32 ones: one "all" row per dtype.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from benchmarks.run import geomean, machine, versions
from roofline import describe

GOAL = 0.85
STAT_TEXT = {"median": "medians", "min": "fastest invokes (--stat min, for a machine loaded past its "
             "cores, where preemption inflates the medians of TFLite's long-lived process far more "
             "than ours; results.json keeps both)"}
WORST = 10


def family_order(rows: list) -> list:
    return list(dict.fromkeys(r["family"] for r in rows))


def timed(rows: list) -> list:
    return [r for r in rows if r["status"] == "ok"]


def dtype(row: dict) -> str:
    return row.get("dtype", "float32")      # results.json of runs before the int8 grid


def totals(rows: list) -> list:
    """(label, rows) of the summary's last lines: all rows, or all of each dtype when the
    run has several."""
    dtypes = list(dict.fromkeys(dtype(r) for r in rows))
    if len(dtypes) == 1:
        return [("**all**", rows)]
    return [(f"**all {d}**", [r for r in rows if dtype(r) == d]) for d in dtypes]


def roof(r: dict) -> str:
    """ "ours% / XNNPACK%": each engine's time as a percentage of the case's roofline."""
    if "roof" not in r:         # results.json of runs before the roofline
        return ""
    return f"{100 * r['roof']['ours']:.0f}% / {100 * r['roof']['xnnpack']:.0f}%"


def roof_geomean(rows: list, engine: str) -> str:
    vals = [r["roof"][engine] for r in rows if "roof" in r]
    return f"{100 * geomean(vals):.0f}%" if vals else ""


def summary(rows: list) -> list:
    """Markdown lines: per family, the count, geomean, max and count above 1.0 of ours /
    XNNPACK, the geomean against the builtin kernels, each engine's geomean percentage of
    the roofline, and the cases not timed."""
    lines = ["| family | cases | geomean ours/XNNPACK | max | > 1.0 | geomean ours/builtin | "
             "ours at % of roof | XNNPACK at % of roof | not ok |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups = [(fam, [r for r in rows if r["family"] == fam], False) for fam in family_order(rows)]
    for fam, mine, total in groups + [(label, mine, True) for label, mine in totals(rows)]:
        ok = timed(mine)
        ratios = [r["ratio_xnnpack"] for r in ok]
        bad = ", ".join(f"{r['name']} ({r['status'].split(':')[0]})" for r in mine if r["status"] != "ok")
        if total:
            bad = str(len(mine) - len(ok))
        lines.append(f"| {fam} | {len(ok)} | {geomean(ratios):.2f} | "
                     f"{max(ratios, default=float('nan')):.2f} | {sum(x > 1.0 for x in ratios)} | "
                     f"{geomean([r['ratio_builtin'] for r in ok]):.2f} | {roof_geomean(ok, 'ours')} | "
                     f"{roof_geomean(ok, 'xnnpack')} | {bad or '-'} |")
    return lines


def worst(rows: list) -> list:
    ok = sorted(timed(rows), key=lambda r: -r["ratio_xnnpack"])[:WORST]
    lines = ["| case | shape | ours ms | XNNPACK ms | ours/XNNPACK | at % of roof (ours / XNNPACK) | note |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['shape']} | {r['ms']['ours']:.4g} | {r['ms']['xnnpack']:.4g} | "
              f"{r['ratio_xnnpack']:.2f} | {roof(r)} | {note(r)} |" for r in ok]
    return lines


def note(r: dict) -> str:
    """What a row's numbers need said: WRONG output, or XNNPACK leaving the op to TFLite."""
    out = []
    if r["status"] == "WRONG" and r.get("exact"):
        out.append(f"**WRONG** (not byte-exact: {r['detail']})")
    elif r["status"] == "WRONG":
        out.append(f"**WRONG** (error {r['max_rel_error']:.2g} > bound {r['bound']:.2g}) {r['detail']}".strip())
    if not r.get("xnnpack_delegated", True):
        out.append("XNNPACK did not take the op")
    return "; ".join(out)


def family_table(rows: list) -> list:
    lines = ["| case | op | shape | ours ms | XNNPACK ms | builtin ms | ours/XNNPACK | ours/builtin | "
             "roof ms | at % of roof (ours / XNNPACK) | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "ms" not in r:
            lines.append(f"| {r['name']} | {r['op']} | {r['shape']} | | | | | | | | {r['status']} |")
            continue
        ms = r["ms"]
        bound = f"{r['bound_ms']:.4g}" if "bound_ms" in r else ""
        lines.append(f"| {r['name']} | {r['op']} | {r['shape']} | {ms['ours']:.4g} | {ms['xnnpack']:.4g} | "
                     f"{ms['builtin']:.4g} | {r['ratio_xnnpack']:.2f} | {r['ratio_builtin']:.2f} | "
                     f"{bound} | {roof(r)} | {note(r)} |")
    return lines


def roofline_text(peaks: dict | None) -> list:
    if not peaks:
        return []
    return ["", f"Roofline (benchmarks/ops/roofline.py): this core's ceilings, as peak.cc measured them: "
            f"{describe(peaks)}. A case's roof is the least time it could take: the larger "
            "of its multiply-accumulates at the compute ceiling (int8 ones at the dot-product rate) "
            "and the bytes of the tensors it reads and writes at the stream rate of a working set "
            "that size. \"at % of roof\" is roof / time; an engine near 100% is at this core's "
            "limit, whatever its ratio to the other. Only convolutions, FULLY_CONNECTED and "
            "BATCH_MATMUL count compute; the other ops' roofs are their bytes alone, which is loose "
            "for ops that compute per byte (SOFTMAX, LOGISTIC, TANH, GELU, resizes, pools, and int8 "
            "ops that requantize)."]


def commits_text(rows: list) -> list:
    """Where the rows of a report merged by --update come from: each commit and its count."""
    counts = Counter(r.get("commit", "an earlier run") for r in rows)
    if len(counts) < 2:
        return [f"Timed at {c}." for c in counts if c != "an earlier run"]
    return ["Timed at: " + ", ".join(f"{c} ({n} cases)" for c, n in counts.items()) +
            " (a run with --update re-times some cases and keeps the other rows)."]


def markdown(rows: list, command: str, runs: int, rounds: int, flags: tuple, seconds: float,
             overhead_us: float, stat: str, peaks: dict | None = None) -> str:
    text = ["# Op benchmark: dlcoder against TFLite (XNNPACK and builtin kernels)", "",
            f"Machine: {machine()}.", f"Versions: {versions()}.",
            f"Flags: our libraries are built with plain `c++ -std=c++17 {' '.join(flags)}` (no -march; "
            "the kernels pick their ISA at run time) and run on 1 thread; TFLite runs with "
            "num_threads=1, with its default XNNPACK delegate and with "
            "BUILTIN_WITHOUT_DEFAULT_DELEGATES. Each case is one single-op model, float32 or, in the "
            "families named \"... int8\", int8 as the TFLite converter quantizes it (int8 input and "
            "output, per-tensor activations, weights per output channel, int32 biases); the engines "
            f"run in {rounds} interleaved rounds, at most {runs} invokes each; times are the "
            f"{STAT_TEXT[stat]} in ms. Ratios below 1.0 mean our code is faster. Every case is "
            "checked against the builtin kernels first (int8 outputs byte for byte); one that "
            "disagrees is marked WRONG and left out of the summaries. TFLite's times are taken "
            "around `invoke()` from Python, which adds "
            f"about {overhead_us:.1f} us per call (a one-element ADD's invoke); it matters only for "
            f"cases under ~0.05 ms. This run took {seconds / 60:.0f} min.", *commits_text(rows),
            *roofline_text(peaks),
            "", f"Reproduce: `{command}`", "", "## Summary per family (ours / XNNPACK)", "",
            *summary(rows), "", f"## The {WORST} worst cases", "", *worst(rows), "",
            "![ours / XNNPACK per family](ratios.png)", ""]
    for fam in family_order(rows):
        text += [f"## {fam}", "", *family_table([r for r in rows if r["family"] == fam]), ""]
    return "\n".join(text)


def chart(rows: list, path: Path) -> None:
    """Every timed case's ours / XNNPACK as a dot over its family's box, log scale."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fams = [f for f in family_order(rows) if timed([r for r in rows if r["family"] == f])]
    data = [[r["ratio_xnnpack"] for r in timed(rows) if r["family"] == f] for f in fams]
    fig, ax = plt.subplots(figsize=(max(8, 0.75 * len(fams) + 2), 5))
    ax.boxplot(data, whis=(0, 100), widths=0.6)
    for i, vals in enumerate(data, 1):
        jitter = [i + 0.25 * ((k % 5) - 2) / 2 for k in range(len(vals))]
        ax.scatter(jitter, vals, s=12, alpha=0.7, zorder=3, color="tab:blue")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.1f"))
    ax.axhline(1.0, color="black", linewidth=1, label="1.0 (as fast as XNNPACK)")
    ax.axhline(GOAL, color="green", linewidth=1, linestyle="--", label=f"{GOAL} (goal)")
    ax.set_xticks(range(1, len(fams) + 1))
    ax.set_xticklabels([f"{f}\n({len(d)})" for f, d in zip(fams, data)], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("ours / TFLite+XNNPACK latency (lower is better)")
    ax.set_title("dlcoder vs XNNPACK per op family, 1 thread, single-op models")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(rows: list, out: Path, command: str, runs: int, rounds: int, flags: tuple,
                 seconds: float, overhead_us: float, stat: str, peaks: dict | None = None) -> None:
    meta = {"machine": machine(), "versions": versions(), "flags": list(flags), "runs": runs,
            "rounds": rounds, "stat": stat, "command": command, "invoke_overhead_us": overhead_us,
            "peaks": peaks}
    (out / "results.json").write_text(json.dumps({**meta, "cases": rows}, indent=1, sort_keys=True) + "\n")
    (out / "RESULTS.md").write_text(markdown(rows, command, runs, rounds, flags, seconds, overhead_us, stat,
                                             peaks))
    chart(rows, out / "ratios.png")
