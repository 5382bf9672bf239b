"""A fuzzing campaign: N structured mutants over a list of models through `dlcoder generate`.

    python -m fuzz.campaign -n 2000 [--models M ...] [--seed 0] [--jobs 2] [--sanitize K]

Mutant i is `mutate(models[i % len(models)], seed * 1_000_000 + i)`, so any mutant can be
rebuilt with `python -m fuzz.mutate MODEL --seed S -o m.tflite`. Each runs in-process in a
pool of forked workers (harness.Pool: timeouts, memory limit), or with --subprocess through
`python -m dlcoder` in a fresh interpreter. Outcomes: ok (exit 0; "changed" when the
generated code differs from the unmutated model's), rejected (exit 2, one line on stderr,
out-dir untouched), or bad (anything else). Bad mutants are grouped by category (what went
wrong, the exception and the innermost dlcoder frame); the smallest few of each category
are saved into --save-dir as SHA256.tflite + SHA256.txt, each confirmed by the real CLI in a
subprocess. With --sanitize K, up to K changed ok mutants are compiled with ASan + UBSan
and run on random inputs; a report makes them bad too, a status where TFLite's Invoke fails
as well (4 to 7, status.h) does not.
"""
from __future__ import annotations

import argparse
import hashlib
import heapq
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fuzz import harness, mutate

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DLCODER_SHARED_MODELS", ROOT.parent / "shared" / "models"))
DEFAULT_MODELS = [SHARED / "lenet5_f32.tflite", SHARED / "transformer_enc_f32.tflite",
                  ROOT / "examples/stripes/stripes.tflite",
                  ROOT / "tests/models/ops/net_attention_block.tflite",
                  ROOT / "tests/models/ops/net_conv_dw_residual_fc.tflite",
                  ROOT / "tests/models/control_flow/if_in_while.tflite",
                  ROOT / "tests/models/contract/multi_io.tflite",
                  ROOT / "tests/models/ops/ss_ellipsis_mask.tflite"]


def show(path) -> str:
    """A path relative to the checkout when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@dataclass
class Category:
    count: int = 0
    example: tuple = ()                         # (source, mutations) of the first one
    smallest: list = field(default_factory=list)  # heap of (-size, sha, data, outcome)


@dataclass
class Report:
    models: list
    per_model: dict = field(default_factory=dict)   # model -> {ok, changed, rejected, bad}
    categories: dict = field(default_factory=dict)  # category -> Category
    changed: list = field(default_factory=list)     # tasks of ok mutants with new code
    seconds: float = 0.0
    count: int = 0

    @property
    def bad(self) -> int:
        return sum(c.count for name, c in self.categories.items() if not name.startswith(harness.GOOD))


class Mutants:
    """task (model index, seed) -> (mutant bytes, info). Built before the workers fork, so
    they inherit the models' bytes and sites."""

    def __init__(self, models):
        self.models = [Path(m) for m in models]
        self.data = [m.read_bytes() for m in self.models]
        self.sites = [mutate.sites(d) for d in self.data]

    def tasks(self, n: int, seed: int):
        return ((i % len(self.models), seed * 1_000_000 + i) for i in range(n))

    def __call__(self, task):
        k, seed = task
        data, done = mutate.mutate(self.data[k], seed, self.sites[k])
        return data, {"source": f"python -m fuzz.mutate {show(self.models[k])} --seed {seed}",
                      "mutations": done}


def baselines(mutants: Mutants) -> list:
    """The code hash of each unmutated model (generated the same way as the mutants; None
    for a model that dlcoder rejects, such as tests/models/errors/)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for path, data in zip(mutants.models, mutants.data):
            (work / "model.tflite").write_bytes(data)
            o = harness.generate_in_process(work / "model.tflite", work)
            if not o.good:
                raise SystemExit(f"{path} itself fails: {o.category}\n{o.message}")
            out.append(o.code or None)
    return out


def run(models, n: int, seed: int = 0, jobs: int = 2, timeout: float = 60, memory_mb: int = 4096,
        keep: int = 3, use_subprocess: bool = False, log=None) -> Report:
    mutants = Mutants(models)
    base = baselines(mutants)
    report = Report([str(m) for m in mutants.models])
    for m in report.models:
        report.per_model[m] = dict(mutants=0, ok=0, changed=0, rejected=0, bad=0)
    start = time.monotonic()
    results = (_subprocess_results(mutants, mutants.tasks(n, seed), jobs, timeout) if use_subprocess
               else harness.Pool(mutants, jobs, timeout, memory_mb).run(mutants.tasks(n, seed)))
    for task, outcome, data in results:
        report.count += 1
        counts = report.per_model[report.models[task[0]]]
        counts["mutants"] += 1
        if outcome.kind == "ok" and base[task[0]] and outcome.code != base[task[0]]:
            counts["changed"] += 1
            report.changed.append(task)
        counts["ok" if outcome.kind == "ok" else "rejected" if outcome.good else "bad"] += 1
        if not outcome.good:
            _record(report, outcome, data, keep)
        if log is not None:
            log.write(f"{task[0]}\t{task[1]}\t{outcome.category}\t{outcome.message[:200]!r}\n")
    report.seconds = time.monotonic() - start
    return report


def _subprocess_results(mutants, tasks, jobs, timeout):
    def one(task):
        data, info = mutants(task)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "model.tflite").write_bytes(data)
            outcome = harness.generate_subprocess(Path(tmp) / "model.tflite", Path(tmp), timeout)
        outcome.extra.update(info)
        return task, outcome, data
    with ThreadPoolExecutor(jobs) as ex:
        yield from ex.map(one, tasks)


def _record(report: Report, outcome, data: bytes, keep: int) -> None:
    cat = report.categories.setdefault(outcome.category, Category())
    cat.count += 1
    if not cat.example:
        cat.example = (outcome.extra["source"], outcome.extra["mutations"])
    sha = hashlib.sha256(data).hexdigest()
    entry = (-len(data), sha, data, outcome)
    if any(sha == kept[1] for kept in cat.smallest):
        return
    if keep and len(cat.smallest) < keep:
        heapq.heappush(cat.smallest, entry)
    elif keep and entry[:2] > cat.smallest[0][:2]:
        heapq.heapreplace(cat.smallest, entry)


def sanitize_changed(report: Report, mutants: Mutants, k: int, jobs: int = 2) -> list:
    """Build up to k changed ok mutants (one model after the other, round robin) with ASan +
    UBSan and run them. Returns [(task, Outcome, bytes)]."""
    by_model: dict = {}
    for task in report.changed:
        by_model.setdefault(task[0], []).append(task)
    picks = []
    while len(picks) < k and any(by_model.values()):
        for tasks in by_model.values():
            if tasks and len(picks) < k:
                picks.append(tasks.pop(0))

    def one(task):
        data, info = mutants(task)
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "model.tflite"
            model.write_bytes(data)
            outcome = harness.sanitize(model, Path(tmp) / "build", seed=task[1])
        outcome.extra.update(info)
        return task, outcome, data
    with ThreadPoolExecutor(jobs) as ex:
        return list(ex.map(one, picks))


def printable(text: str) -> str:
    """Control characters (from a corrupt name, say) as escapes, newlines kept."""
    return "".join(c if c.isprintable() or c == "\n" else f"\\x{ord(c):02x}" for c in text)


def save(report: Report, folder: Path, confirm_timeout: float = 60) -> list:
    """Write the kept mutants of every category as SHA256.tflite + .txt (the .txt: the
    category, how to rebuild it, what the real CLI does with it). Returns the new paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, cat in sorted(report.categories.items()):
        for _, sha, data, outcome in sorted(cat.smallest, reverse=True):
            path = folder / f"{sha}.tflite"
            if path.exists():
                continue
            path.write_bytes(data)
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "model.tflite").write_bytes(data)
                real = harness.generate_subprocess(Path(tmp) / "model.tflite", Path(tmp), confirm_timeout)
            info = outcome.extra
            path.with_suffix(".txt").write_text(
                f"category: {name}\n"
                f"from: {info['source']}\n"
                + "".join(f"mutation: {m}\n" for m in info["mutations"])
                + f"real CLI: {real.category}\n\n{printable(outcome.message.strip())}\n")
            written.append(path)
    return written


def _read(path):
    return Path(path).read_bytes(), {"source": f"{Path(path).name} (added with --add)", "mutations": []}


def add(files, timeout: float = 60, memory_mb: int = 4096) -> Report:
    """Classify given files (crashes found by fuzz_reader.py, say), all to be kept, also
    those that dlcoder handles by now."""
    report = Report([])
    for path, outcome, data in harness.Pool(_read, 1, timeout, memory_mb).run([str(f) for f in files]):
        report.count += 1
        _record(report, outcome, data or Path(path).read_bytes(), len(files))
    return report


def format_report(report: Report, saved: dict | None = None) -> str:
    lines = [f"{'model':40s} {'mutants':>8s} {'ok':>6s} {'changed':>8s} {'rejected':>9s} {'bad':>6s}"]
    total = dict(mutants=0, ok=0, changed=0, rejected=0, bad=0)
    for m, c in report.per_model.items():
        lines.append(f"{Path(m).name:40s} {c['mutants']:8d} {c['ok']:6d} {c['changed']:8d} "
                     f"{c['rejected']:9d} {c['bad']:6d}")
        for key in total:
            total[key] += c[key]
    lines.append(f"{'total':40s} {total['mutants']:8d} {total['ok']:6d} {total['changed']:8d} "
                 f"{total['rejected']:9d} {total['bad']:6d}")
    rate = report.count / report.seconds if report.seconds else 0
    lines.append(f"{report.seconds:.0f} s, {rate:.1f} mutants/s")
    if report.categories:
        lines.append("\nby category (count, category, first example):")
    for name, cat in sorted(report.categories.items(), key=lambda kv: -kv[1].count):
        source, done = cat.example
        lines.append(f"{cat.count:6d}  {name}")
        lines.append(f"        {source}" + (f"   # {'; '.join(done)}" if done else ""))
        for p in (saved or {}).get(name, []):
            lines.append(f"        {p}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz.campaign", description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=[str(m) for m in DEFAULT_MODELS if m.exists()])
    p.add_argument("-n", type=int, default=2000, help="number of mutants")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=60, help="seconds per mutant")
    p.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of a worker")
    p.add_argument("--subprocess", action="store_true", help="every mutant through a fresh interpreter")
    p.add_argument("--sanitize", type=int, default=0, metavar="K",
                   help="build and run up to K changed ok mutants with ASan + UBSan")
    p.add_argument("--save-dir", default=str(ROOT / "fuzz" / "regressions"))
    p.add_argument("--keep", type=int, default=3, help="mutants saved per category (the smallest)")
    p.add_argument("--log", help="write one line per mutant: model index, seed, category")
    p.add_argument("--add", nargs="+", metavar="FILE",
                   help="no campaign: classify these files and save the bad ones")
    args = p.parse_args(argv)
    log = open(args.log, "w") if args.log else None
    if args.add:
        report = add(args.add, args.timeout, args.memory_mb)
    else:
        report = run(args.models, args.n, args.seed, args.jobs, args.timeout, args.memory_mb,
                     args.keep, args.subprocess, log)
    if args.sanitize and not args.add:
        for task, outcome, data in sanitize_changed(report, Mutants(args.models), args.sanitize, args.jobs):
            print(f"sanitized {outcome.extra['source']}: {outcome.category}")
            if not outcome.good:
                _record(report, outcome, data, args.keep)
    saved = {}
    if args.save_dir and args.keep:
        for path in save(report, Path(args.save_dir)):
            name = path.with_suffix(".txt").read_text().splitlines()[0][len("category: "):]
            saved.setdefault(name, []).append(show(path))
    print(format_report(report, saved))
    return 1 if report.bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
