"""Run model files through `dlcoder generate` and classify what happened.

The property under test: for any input file, `dlcoder generate MODEL --out-dir D` exits 0,
or exits 2 with exactly one line on stderr ("dlcoder: error: ...") and leaves D and its
folder exactly as they were. Anything else is a failure: another exit code, an exception
escaping the CLI, a traceback or several lines on stderr, D changed or a temporary folder
left behind, a timeout, a crash of the process.

`generate_in_process` calls `dlcoder.cli.main` with stdout/stderr captured (about 10 ms for a
small model, against 0.7 s for a fresh interpreter); `generate_subprocess` runs the real
`python -m dlcoder` with a timeout. `Pool` runs in-process generations in forked workers
with an address-space limit, a soft timeout (SIGALRM, which shows where the time went) and
a hard one (the worker is killed and replaced), so that no input can hang or exhaust the
machine. `sanitize` compiles a generated library with ASan + UBSan and runs it: a run
whose NAME_run returns a status of those where TFLite's Invoke fails (4 to 7, status.h: a
mutated constant or a random input may well be an index out of range or a 0 divisor) is a
correct outcome; a sanitizer's report, a signal or any other exit is a failure.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

import dlcoder
from dlcoder import cli, compiler, verify as V
from dlcoder.codegen import runtime_facts
from dlcoder.errors import DlcoderError
from dlcoder.outdir import MARKER, MARKER_TEXT

PACKAGE = Path(dlcoder.__file__).resolve().parent
SANITIZER_FLAGS = ("-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all")
SANITIZER_ENV = {"UBSAN_OPTIONS": "print_stacktrace=1"}
EXACT_RUNNER = Path(__file__).resolve().parent / "exact_runner.cc"
GOOD = ("ok", "rejected")
RUN_FAILED = 66          # exact_runner.cc's exit when NAME_run returns nonzero
# the statuses NAME_run returns where TFLite's Invoke fails on the data (status.h)
RUN_STATUSES = frozenset(runtime_facts.constant(k) for k in (
    "kStatusIndexOutOfRange", "kStatusShapeMismatch", "kStatusUnsetVariable",
    "kStatusDivisionByZero"))
SENTINEL = "// the user's previous output\n"


@dataclass
class Outcome:
    kind: str                    # ok | rejected | failure | timeout | died
    detail: str = ""             # what was wrong: "exit 3", "out-dir changed", ...
    error: str = ""              # exception type, for a failure with one
    where: str = ""              # innermost dlcoder frame: "dlcoder/ops/conv.py:120 in shape"
    message: str = ""            # stderr, or the exception's message
    code: str = ""               # ok: sha256 of the generated files outside dlcoder_rt/
    extra: dict = field(default_factory=dict)

    @property
    def good(self) -> bool:
        return self.kind in GOOD

    @property
    def category(self) -> str:
        return " | ".join(x for x in (self.kind, self.detail, self.error, self.where) if x)


def innermost(tb) -> str:
    """The innermost frame of a traceback inside the dlcoder package, then the innermost
    frame of all if that is elsewhere (numpy, tflite)."""
    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__]
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(PACKAGE)]
    parts = []
    if ours:
        f = ours[-1]
        parts.append(f"{Path(f.filename).resolve().relative_to(PACKAGE.parent)}:{f.lineno} in {f.name}")
    if frames and (not ours or frames[-1] is not ours[-1]):
        f = frames[-1]
        parts.append(f"via {Path(f.filename).name}:{f.lineno} in {f.name}")
    return " ".join(parts)


def _where_from_text(stderr: str) -> str:
    """innermost() for a traceback printed by another process."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', stderr)
    ours = [f for f in frames if f"{os.sep}dlcoder{os.sep}" in f[0]]
    if not ours:
        return ""
    path, line, fn = ours[-1]
    return f"dlcoder{path.rsplit(os.sep + 'dlcoder', 1)[1]}:{line} in {fn}"


def _snapshot(folder: Path) -> dict:
    """Every path under folder with its bytes (the model's only by name)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and p.name != "model.tflite"
                                         else None)
            for p in sorted(folder.rglob("*"))}


def _prepare(work: Path) -> Path:
    """work/out holds a previous output of dlcoder, which a failed run must leave alone."""
    out = work / "out"
    for p in work.iterdir():
        if p.name != "model.tflite":
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    out.mkdir()
    (out / MARKER).write_bytes(MARKER_TEXT)
    (out / "m.h").write_text(SENTINEL)
    return out


def code_hash(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        if p.is_file() and "dlcoder_rt" not in p.parts:
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def classify(rc, stderr: str, work: Path, before: dict) -> Outcome:
    """Outcome of a finished run (exit code rc) given the folder's snapshot from before."""
    lines = stderr.strip().splitlines()
    out = work / "out"
    if rc == 0 and "Traceback" not in stderr and (out / "m.cc").is_file():
        return Outcome("ok", code=code_hash(out))
    problems = []
    if rc not in (0, 2):
        problems.append(f"exit {rc}")
    elif rc == 0:
        problems.append("exit 0 without m.cc" if "Traceback" not in stderr else "traceback on stderr")
    elif "Traceback" in stderr:
        problems.append("traceback on stderr")
    elif len(lines) != 1 or not lines[0].startswith("dlcoder: error: "):
        problems.append("not one 'dlcoder: error:' line on stderr")
    if rc != 0 and _snapshot(work) != before:
        old_out = {k[len("out/"):]: v for k, v in before.items() if k.startswith("out/")}
        problems.append("out-dir changed" if _snapshot(out) != old_out else "files left beside out-dir")
    if not problems:
        return Outcome("rejected", message=lines[0])
    return Outcome("failure", detail=", ".join(problems), message=stderr[-2000:],
                   where=_where_from_text(stderr))


class Timeout(BaseException):
    """Raised by SIGALRM; not an Exception, so that no catch-all in the CLI swallows it."""


def _alarm(signum, frame):
    raise Timeout()


def generate_in_process(model: Path, work: Path, timeout: float = 0) -> Outcome:
    """`dlcoder generate model --out-dir work/out --name m`, in this process."""
    out = _prepare(work)
    before = _snapshot(work)
    if timeout:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        outcome = _generate(model, work, out, before)
        if not outcome.good and not outcome.where:
            _diagnose(model, outcome)
        return outcome
    except Timeout as e:
        return Outcome("timeout", detail=f"over {timeout:g} s", where=innermost(e.__traceback__))
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _generate(model: Path, work: Path, out: Path, before: dict) -> Outcome:
    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            rc = cli.main(["generate", str(model), "--out-dir", str(out), "--name", "m"])
    except (Exception, SystemExit) as e:
        return Outcome("failure", detail="exception", error=type(e).__name__,
                       where=innermost(e.__traceback__), message=str(e)[:2000])
    return classify(rc, err.getvalue(), work, before)


def _diagnose(model: Path, outcome: Outcome) -> None:
    """Where a failure that the CLI reported without a traceback (exit 3 from a catch-all)
    comes from: the same load + compile, outside the CLI."""
    try:
        compiler.compile_graph(compiler.load_graph(str(model)), "m")
    except DlcoderError:
        pass
    except Exception as e:   # noqa: BLE001 - any other exception is what we are after
        outcome.error, outcome.where = type(e).__name__, innermost(e.__traceback__)


def generate_subprocess(model: Path, work: Path, timeout: float = 60) -> Outcome:
    """The real CLI in a fresh interpreter."""
    out = _prepare(work)
    before = _snapshot(work)
    cmd = [sys.executable, "-m", "dlcoder", "generate", str(model), "--out-dir", str(out), "--name", "m"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome("timeout", detail=f"over {timeout:g} s (subprocess)")
    if res.returncode < 0:
        return Outcome("died", detail=f"signal {-res.returncode}", message=res.stderr[-2000:])
    return classify(res.returncode, res.stderr, work, before)


# --- a pool of forked workers ------------------------------------------------------------

def _worker(conn, memory_mb: int, timeout: float, make_input) -> None:
    if memory_mb:
        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    work = Path(tempfile.mkdtemp(prefix="dlcoder-fuzz-"))
    model = work / "model.tflite"
    try:
        while True:
            task = conn.recv()
            if task is None:
                break
            data, info = make_input(task)
            model.write_bytes(data)
            outcome = generate_in_process(model, work, timeout)
            outcome.extra.update(info)
            conn.send((outcome, data if not outcome.good else None))
    except EOFError:
        pass
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Pool:
    """Runs `make_input(task) -> (bytes, info)` then an in-process generation for each task,
    on `jobs` forked workers, which inherit dlcoder's modules already imported. A worker
    silent for `timeout` + GRACE seconds is killed and replaced."""

    GRACE = 30

    def __init__(self, make_input, jobs: int = 2, timeout: float = 60, memory_mb: int = 4096):
        self.make_input, self.jobs, self.timeout, self.memory_mb = make_input, jobs, timeout, memory_mb
        self.ctx = multiprocessing.get_context("fork")

    def _start(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker, args=(child, self.memory_mb, self.timeout, self.make_input),
                             daemon=True)
        p.start()
        child.close()
        return p, parent

    def run(self, tasks):
        """Yields (task, Outcome, mutant bytes or None when good), in completion order."""
        tasks = iter(tasks)
        workers = [self._start() for _ in range(self.jobs)]
        busy = {}          # conn -> (task, hard deadline)
        try:
            for w in workers:
                self._feed(w[1], tasks, busy)
            while busy:
                ready = wait(list(busy), timeout=1.0)
                now = time.monotonic()
                for i, (proc, conn) in enumerate(workers):
                    if conn not in busy:
                        continue
                    task, deadline = busy[conn]
                    if conn in ready:
                        try:
                            outcome, data = conn.recv()
                        except (EOFError, OSError):
                            outcome, data = self._replace(workers, i, "died"), None
                    elif now > deadline:
                        outcome, data = self._replace(workers, i, "timeout"), None
                    else:
                        continue
                    del busy[conn]
                    if data is None and not outcome.good:
                        data, info = self.make_input(task)
                        outcome.extra.update(info)
                    yield task, outcome, data
                    self._feed(workers[i][1], tasks, busy)
        finally:
            for proc, conn in workers:
                with contextlib.suppress(OSError):
                    conn.send(None)
                proc.join(timeout=5)
                if proc.is_alive():
                    proc.kill()

    def _feed(self, conn, tasks, busy) -> None:
        task = next(tasks, None)
        if task is not None:
            conn.send(task)
            busy[conn] = (task, time.monotonic() + self.timeout + self.GRACE)

    def _replace(self, workers, i, kind) -> Outcome:
        proc, conn = workers[i]
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()
        code = proc.exitcode
        workers[i] = self._start()
        if kind == "died":
            detail = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
            return Outcome("died", detail=f"worker {detail}")
        return Outcome("timeout", detail=f"hard, over {self.timeout + self.GRACE:g} s")


# --- sanitizers ----------------------------------------------------------------------------

def build_exact_runner(lib_dir: Path, name: str, work: Path, flags=SANITIZER_FLAGS, cxx=None) -> str:
    """The library with exact_runner.cc, which gives ASan buffers of their exact sizes;
    it runs like the verify harness (verify.run_runner), and is built for this CPU only
    (verify.for_this_cpu: the paths it does not take would never run)."""
    exe = str(work / "exact_runner")
    V.compile_library(str(lib_dir), name, exe, cxx=cxx, extra_sources=[str(EXACT_RUNNER)],
                      flags=(*V.for_this_cpu(flags, cxx), "-pthread", f"-DDLCODER_NAME={name}"))
    return exe


def run_status(res: subprocess.CompletedProcess):
    """The status NAME_run returned in a run of exact_runner.cc with a sanitizer clean
    stderr, if it is one where TFLite fails too (RUN_STATUSES); else None."""
    if res.returncode != RUN_FAILED or "runtime error" in res.stderr or "Sanitizer" in res.stderr:
        return None
    found = re.search(r"^run failed: (\d+)$", res.stderr, re.MULTILINE)
    status = int(found.group(1)) if found else None
    return status if status in RUN_STATUSES else None


def sanitize(model: Path, work: Path, seed: int = 0, timeout: float = 120) -> Outcome:
    """Generate, build with ASan + UBSan (exact_runner.cc), run on random inputs with 1 and
    2 threads: ok (its detail names a status the run returned), or a failure that carries
    the sanitizer's report."""
    work.mkdir(parents=True, exist_ok=True)
    g0 = compiler.load_graph(str(model))
    lib, g = compiler.compile_graph(g0, "m")
    compiler.write_library(lib, str(work / "lib"))
    try:
        exe = build_exact_runner(work / "lib", "m", work)
    except DlcoderError as e:
        return Outcome("failure", detail="generated code does not compile", message=str(e)[-3000:])
    for i, x in enumerate(V.random_inputs(g0, seed)):
        x.tofile(work / f"input_{i}.bin")
    env = {**os.environ, **SANITIZER_ENV}
    statuses = set()
    for threads in (1, 2):
        try:
            res = subprocess.run([exe, str(work), "--threads", str(threads)], capture_output=True,
                                 text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return Outcome("timeout", detail=f"sanitized run over {timeout:g} s")
        status = run_status(res)
        if status is not None:
            statuses.add(status)
        elif res.returncode != 0 or "runtime error" in res.stderr or "Sanitizer" in res.stderr:
            first = next((ln for ln in res.stderr.splitlines() if "ERROR" in ln or "runtime error" in ln), "")
            return Outcome("failure", detail=f"sanitizer, exit {res.returncode}", error=first.strip()[:200],
                           message=f"{threads} thread(s)\n{res.stderr[-6000:]}")
    return Outcome("ok", detail=", ".join(f"run status {s}" for s in sorted(statuses)))
