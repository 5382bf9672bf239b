"""IREE as a bench engine (dlcoder/iree.py, `dlcoder bench --iree VENV`), without IREE:
CI has no IREE venv (its importer needs TensorFlow 2.18), so these tests check the flag,
the error for a venv without IREE, the command lines, the parsing of captured tool output,
and the whole engine against a fake venv whose tools stand in for IREE's (the run tool
answers with TFLite's own outputs, the benchmark tool with a captured report)."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from dlcoder import compiler, iree, verify as V
from dlcoder import bench
from dlcoder.bench import format_result
from dlcoder.cli import build_parser
from dlcoder.console import QUIET
from dlcoder.errors import DlcoderError
from support import TESTS

TINY = TESTS / "models" / "contract" / "tiny_dense.tflite"
TOOLS = ("iree-import-tflite", "iree-compile", "iree-run-module", "iree-benchmark-module")

# iree-benchmark-module --device=local-sync --benchmark_repetitions=3 --benchmark_min_time=1x
# --benchmark_format=json on lenet5_f32, IREE 20241104.1068 (context cut, one aggregate kept)
BENCH_JSON = """{
  "context": {"date": "2026-12-06T19:47:07+00:00", "host_name": "vm", "num_cpus": 2,
              "mhz_per_cpu": 2600, "cpu_scaling_enabled": false, "library_build_type": "release"},
  "benchmarks": [
    {"name": "BM_main/process_time/real_time", "family_index": 0, "per_family_instance_index": 0,
     "run_name": "BM_main/process_time/real_time", "run_type": "iteration", "repetitions": 3,
     "repetition_index": 0, "threads": 1, "iterations": 1, "real_time": 2.3843007511459291e-02,
     "cpu_time": 2.4566999999989236e-02, "time_unit": "ms", "items_per_second": 4.1941017697510921e+04},
    {"name": "BM_main/process_time/real_time", "family_index": 0, "per_family_instance_index": 0,
     "run_name": "BM_main/process_time/real_time", "run_type": "iteration", "repetitions": 3,
     "repetition_index": 1, "threads": 1, "iterations": 1, "real_time": 2.0356004824861884e-02,
     "cpu_time": 2.0275999999999628e-02, "time_unit": "ms", "items_per_second": 4.9125553300058476e+04},
    {"name": "BM_main/process_time/real_time", "family_index": 0, "per_family_instance_index": 0,
     "run_name": "BM_main/process_time/real_time", "run_type": "iteration", "repetitions": 3,
     "repetition_index": 2, "threads": 1, "iterations": 1, "real_time": 2.3179003619588912e-02,
     "cpu_time": 2.3554000000008957e-02, "time_unit": "ms", "items_per_second": 4.3142492939380943e+04},
    {"name": "BM_main/process_time/real_time_median", "family_index": 0, "per_family_instance_index": 0,
     "run_name": "BM_main/process_time/real_time", "run_type": "aggregate", "repetitions": 3,
     "threads": 1, "aggregate_name": "median", "aggregate_unit": "time", "iterations": 3,
     "real_time": 2.3179003619588912e-02, "cpu_time": 2.3554000000008957e-02, "time_unit": "ms",
     "items_per_second": 4.3142492939380943e+04}
  ]
}
"""

# iree-compile's log on lstm_text_while_f32 (a segfault; frames cut)
CRASH_LOG = """Please report issues to https://github.com/iree-org/iree/issues and include the crash backtrace.
Stack dump:
0.	Program arguments: iree-compile --iree-input-type=tosa model.mlir -o model.vmfb
 #0 0x00007f673a88f548 llvm::sys::PrintStackTrace(llvm::raw_ostream&, int) (libIREECompiler.so+0x548f548)
 #1 0x00007f673a88d2ee llvm::sys::RunSignalHandlers() (libIREECompiler.so+0x548d2ee)
 #2 0x00007f673a88fbfd SignalHandler(int) Signals.cpp:0:0
 #3 0x00007f673525a050 (/lib/x86_64-linux-gnu/libc.so.6+0x3c050)
 #4 0x00007f673cfc7d63 mlir::iree_compiler::Explorer::getTraversalAction(mlir::Operation*) Explorer.cpp:0:0
"""

# the last line of iree-import-tflite's log on lstm_text_f32
IMPORT_ERROR = ("tensorflow.python.framework.errors_impl.UnknownError: <unknown>:0: error: "
                "'tfl.no_value' op : illegal op still exists")


def run_cli(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)], capture_output=True, text=True,
                          env=env)


def _script(path, *lines: str) -> None:
    """An executable Python script of these lines, run by this interpreter and able to
    import this dlcoder."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(iree.__file__)))
    path.write_text("\n".join([f"#!{sys.executable}", "import sys", f"sys.path.insert(0, {root!r})",
                               *lines, ""]))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def fake_venv(tmp_path, outputs_scale: float = 1.0, import_fails: bool = False):
    """A venv whose tools stand in for IREE's: import and compile carry the model's path
    along (mlir, then vmfb), the run tool writes TFLite's outputs times outputs_scale, the
    benchmark tool prints BENCH_JSON. Every call is logged to calls.txt."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = f"open({str(tmp_path / 'calls.txt')!r}, 'a').write(' '.join(sys.argv) + '\\n')"
    fail = [f"sys.stderr.write({IMPORT_ERROR!r}); sys.exit(1)"] if import_fails else []
    _script(bin_dir / "iree-import-tflite", log, *fail, "open(sys.argv[3], 'w').write(sys.argv[1])")
    _script(bin_dir / "iree-compile", log, "open(sys.argv[-1], 'w').write(open(sys.argv[-3]).read())")
    _script(bin_dir / "iree-run-module", log,
            "import numpy as np",
            "from dlcoder import verify as V",
            "model = open([a for a in sys.argv if a.startswith('--module=')][0].split('=', 1)[1]).read()",
            "inputs = [np.load(a.split('@', 1)[1]) for a in sys.argv if a.startswith('--input=@')]",
            "outs = [a.split('@', 1)[1] for a in sys.argv if a.startswith('--output=@')]",
            "for path, r in zip(outs, V.reference_run(model, inputs)[0]):",
            f"    np.save(path, (r * {outputs_scale!r}).astype(r.dtype))")
    _script(bin_dir / "iree-benchmark-module", log, f"print({BENCH_JSON!r})")
    return tmp_path / "venv"


def test_flag_parsing():
    """--iree alone means the default venv (""); with a value, that venv; absent, no IREE."""
    parse = build_parser().parse_args
    assert parse(["bench", "m.tflite"]).iree is None
    assert parse(["bench", "m.tflite", "--iree"]).iree == ""
    assert parse(["bench", "m.tflite", "--iree", "/opt/v"]).iree == "/opt/v"
    assert parse(["bench", "--iree=/opt/v", "m.tflite"]).iree == "/opt/v"


def test_venv_without_iree_is_a_usage_error(tmp_path):
    """Exit 2 and one line that names the missing tool and the script that makes the venv,
    before any work on the model."""
    (tmp_path / "bin").mkdir()
    res = run_cli("bench", TINY, "--iree", tmp_path)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == (f"dlcoder: error: --iree {tmp_path}: not an IREE venv "
                                  f"({tmp_path}/bin/iree-import-tflite is missing); make one with "
                                  f"benchmarks/setup_iree.sh {tmp_path}")


def test_default_venv_comes_from_the_environment(tmp_path, monkeypatch):
    """`--iree` alone looks in $DLCODER_IREE_VENV, else in the per-user cache that
    benchmarks/setup_iree.sh fills by default; the error names the venv it looked in."""
    monkeypatch.delenv("DLCODER_IREE_VENV", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert iree.default_venv() == str(tmp_path / "home" / ".cache" / "dlcoder" / "venv-iree")
    venv = tmp_path / "elsewhere"
    res = run_cli("bench", TINY, "--iree", env_extra={"DLCODER_IREE_VENV": str(venv)})
    assert res.returncode == 2
    assert f"--iree {venv}: not an IREE venv" in res.stderr


def test_venv_missing_one_tool(tmp_path):
    venv = fake_venv(tmp_path)
    (venv / "bin" / "iree-benchmark-module").unlink()
    with pytest.raises(DlcoderError, match="iree-benchmark-module is missing"):
        iree.tools(str(venv))


def test_command_lines(tmp_path):
    """The import, compile (TOSA in, llvm-cpu for this host out), run and benchmark commands:
    local-sync for one thread, local-task with N workers for more; one invoke per sample."""
    t = iree.tools(str(fake_venv(tmp_path)))
    b = str(tmp_path / "venv" / "bin")
    assert iree.import_cmd(t, "m.tflite", "m.mlir") == [f"{b}/iree-import-tflite", "m.tflite", "-o", "m.mlir"]
    assert iree.compile_cmd(t, "m.mlir", "m.vmfb") == [
        f"{b}/iree-compile", "--iree-input-type=tosa", "--iree-hal-target-backends=llvm-cpu",
        "--iree-llvmcpu-target-cpu=host", "m.mlir", "-o", "m.vmfb"]
    assert iree.run_cmd(t, "m.vmfb", ["a.npy", "b.npy"], ["o.npy"]) == [
        f"{b}/iree-run-module", "--device=local-sync", "--module=m.vmfb", "--function=main",
        "--input=@a.npy", "--input=@b.npy", "--output=@o.npy"]
    assert iree.benchmark_cmd(t, "m.vmfb", ["a.npy"], 7) == [
        f"{b}/iree-benchmark-module", "--device=local-sync", "--module=m.vmfb", "--function=main",
        "--input=@a.npy", "--benchmark_repetitions=7", "--benchmark_min_time=1x",
        "--benchmark_min_warmup_time=0.05", "--benchmark_format=json"]
    assert iree.benchmark_cmd(t, "m.vmfb", [], 3, threads=2)[1:3] == [
        "--device=local-task", "--task_topology_group_count=2"]


def test_parse_benchmark_output():
    """Each repetition's wall time in microseconds; the aggregates are left out."""
    assert iree.parse_benchmark(BENCH_JSON) == pytest.approx(
        [23.843007511459291, 20.356004824861884, 23.179003619588912])
    doc = json.loads(BENCH_JSON)
    doc["benchmarks"][0].update(time_unit="ns", real_time=5000.0, iterations=2)
    assert iree.parse_benchmark(json.dumps(doc))[0] == pytest.approx(2.5)
    doc["benchmarks"] = doc["benchmarks"][3:]
    with pytest.raises(iree.Unavailable, match="no runs"):
        iree.parse_benchmark(json.dumps(doc))


def test_failure_reasons():
    """A crash names the function it happened in, an MLIR error its text, else the last line."""
    assert iree.reason(CRASH_LOG) == "crashed in mlir::iree_compiler::Explorer::getTraversalAction"
    assert iree.reason("2026-12-06 I tensorflow noise\n" + IMPORT_ERROR + "\n") == \
        "failed: 'tfl.no_value' op : illegal op still exists"
    assert iree.reason("first\nlast line\n") == "failed: last line"
    assert iree.reason("") == "failed: gave no message"


def test_engine_checks_outputs_and_times(tmp_path):
    """The engine imports, compiles, runs the inputs once and checks them against TFLite,
    then times n runs; the tools see the flags above."""
    g = compiler.load_graph(str(TINY))
    inputs = V.random_inputs(g, seed=0)
    e = iree.Engine(str(fake_venv(tmp_path)), str(TINY), inputs, str(tmp_path / "work"))
    assert e.check == {"max_abs": 0.0, "relative": 0.0}
    assert e.times(3) == pytest.approx([23.843007511459291, 20.356004824861884, 23.179003619588912])
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert [c.split()[0].rsplit("/", 1)[1] for c in calls] == [*TOOLS, "iree-benchmark-module"]
    assert "--iree-input-type=tosa --iree-hal-target-backends=llvm-cpu --iree-llvmcpu-target-cpu=host" in calls[1]
    assert np.array_equal(np.load(tmp_path / "work" / "input0.npy"), inputs[0])


def test_engine_with_wrong_outputs_is_unavailable(tmp_path):
    """A fast wrong answer is no anchor: outputs off by 50% make the model n/a."""
    g = compiler.load_graph(str(TINY))
    with pytest.raises(iree.Unavailable, match="output 0 disagrees with TFLite"):
        iree.Engine(str(fake_venv(tmp_path, outputs_scale=1.5)), str(TINY), V.random_inputs(g), str(tmp_path / "w"))


def test_bench_with_iree(tmp_path):
    """A real `dlcoder bench --iree` against the fake venv: IREE is a fourth engine in the
    interleaved rounds, with its line and its ratio."""
    res = run_cli("bench", TINY, "--runs", "5", "--json", "--iree", fake_venv(tmp_path))
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert set(r["latency_us"]) == {"dlcoder", "tflite_xnnpack", "tflite_builtin", "iree"}
    assert r["latency_us"]["iree"]["median"] == pytest.approx(23.179003619588912)
    assert r["iree"] == {"check": {"max_abs": 0.0, "relative": 0.0}, "device": "local-sync"}
    assert r["ratios"]["latency_vs_iree"] == pytest.approx(
        r["latency_us"]["dlcoder"]["median"] / r["latency_us"]["iree"]["median"])
    text = format_result(r)
    assert [ln.split()[0] for ln in text.splitlines()[2:6]] == ["dlcoder", "tflite_xnnpack", "tflite_builtin", "iree"]
    assert "latency/IREE" in text
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert sum("iree-benchmark-module" in c for c in calls) == 1 + bench.ROUNDS


def test_model_iree_cannot_import_is_na(tmp_path):
    """A model IREE cannot import gives no IREE engine and "n/a (reason)" in the report,
    not an error."""
    g = compiler.load_graph(str(TINY))
    extra, info = bench._iree_engine(str(fake_venv(tmp_path, import_fails=True)), str(TINY),
                                     V.random_inputs(g), str(tmp_path), 1, QUIET)
    assert extra == {}
    assert info == {"error": "iree-import-tflite failed: 'tfl.no_value' op : illegal op still exists"}
    assert bench._iree_lines({"iree": info}) == [
        "iree            n/a (iree-import-tflite failed: 'tfl.no_value' op : illegal op still exists)"]


def _run_py():
    """benchmarks/run.py as a module (it is a script, not part of the package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_run", TESTS.parent / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_results_tables_and_summary():
    """run.py --iree: two more columns (IREE ms, ours / IREE, "n/a (reason)" where IREE has
    no time), and a summary line with the geomean and the models where we are slower."""
    run = _run_py()
    stats = {"median": 2000.0}
    timed = {"latency_us": {"iree": stats}, "ratios": {"latency_vs_iree": 1.25}, "iree": {"check": {}}}
    na = {"ratios": {"latency_vs_iree": None}, "iree": {"error": "iree-compile crashed in f|g"}}
    assert run.iree_cells(timed) == " 2.00 | 1.25 |"
    assert run.iree_cells(na) == " n/a (iree-compile crashed in f/g) | n/a |"
    fast = {"ratios": {"latency_vs_iree": 0.8}}
    rows = [("a", timed), ("b", na), ("c", fast), ("d", {"error": "unsupported op"})]
    assert run.summarize_iree(rows, 1) == [
        "- 1 thread(s), latency / IREE (2 of 4 models): geomean 1.00, we are slower on 1: a (1.25)"]
    head, rule, row = run.table([("d", {"error": "unsupported op"})], iree=True)
    assert head.endswith("| IREE ms | ours / IREE |") and rule.count("---") == 15 and row.count("|") == 16
