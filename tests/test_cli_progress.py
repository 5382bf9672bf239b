"""The command line shows its work: progress lines on stderr when it is a terminal (a pty
here, as a person's shell has), none with --quiet or into a pipe, and never TFLite's own
INFO lines; bench's latency statistics; inspect's memory plan as a table and as SVG,
checked against the plan the generator used; and a closed stdout ends quietly."""
import doctest
import json
import os
import pty
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import dlcoder.bench
import dlcoder.plan.placement
import dlcoder.plan.view
from dlcoder import cli, compiler
from dlcoder.bench import latency_stats
from dlcoder.codegen.context import StateLayout
from support import TESTS

TINY = TESTS / "models" / "contract" / "tiny_dense.tflite"        # float: verify runs XNNPACK too
MULTI = TESTS / "models" / "contract" / "multi_io.tflite"
KWS = TESTS / "models" / "quantized_nets" / "ds_cnn_kws_int8.tflite"
STATEFUL = TESTS / "models" / "state" / "rnn_state_int8.tflite"
DYNAMIC = TESTS / "models" / "errors" / "dynamic_batch.tflite"
PHASE = re.compile(r"dlcoder: (.+?)(\.\.\. |: )done in \d+\.\d s")
SVG = "{http://www.w3.org/2000/svg}"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def run_on_terminal(*args):
    """The CLI with stderr on a pseudo-terminal and stdout on a pipe: (exit code, stdout,
    the terminal's text)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "dlcoder", *map(str, args)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:          # EIO: the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out = proc.stdout.read().decode()
    proc.stdout.close()
    return proc.wait(), out, seen.decode().replace("\r\n", "\n")


def test_verify_on_a_terminal_prints_each_phase_and_no_tflite_info():
    code, out, err = run_on_terminal("verify", TINY)
    assert code == 0 and out.splitlines()[-1] == "verify: PASS", out + err
    lines = err.splitlines()
    assert all(PHASE.fullmatch(line) for line in lines), err
    phases = [PHASE.fullmatch(line).group(1) for line in lines]
    assert phases[:3] == [f"reading {TINY}", "generating the C++ library",
                          "running the TFLite interpreter (the reference)"]
    assert re.fullmatch(r"compiling the generated code \(\S+ -O2\)", phases[3])
    assert phases[4:] == ["running the library"]
    assert "dlcoder:" not in out and "INFO" not in err + out


def test_quiet_or_a_pipe_gets_no_progress_and_no_tflite_info():
    """stderr into a pipe: nothing at all on it, not even the XNNPACK delegate's INFO line
    (a float model: verify asks TFLite's XNNPACK backend for the float bound)."""
    res = run_cli("verify", TINY)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    code, out, err = run_on_terminal("verify", "--quiet", TINY)
    assert code == 0 and "verify: PASS" in out and err == ""


def test_generate_progress_keeps_notes_on_their_own_lines(tmp_path):
    """The note about a dynamic input comes inside the 'reading' phase: it gets a line of its
    own, the phase's end names the phase again; --quiet keeps the note (not progress)."""
    code, out, err = run_on_terminal("generate", DYNAMIC, "--out-dir", tmp_path / "a")
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'a'}/dynamic_batch.h"), out + err
    lines = err.splitlines()
    notes = [line for line in lines if line.startswith("dlcoder: note: input 'x' has a dynamic shape")]
    assert len(notes) == 1 and lines[0] == f"dlcoder: reading {DYNAMIC}..." and lines[1] == notes[0]
    assert all(PHASE.fullmatch(line) for line in lines[2:]), err
    assert PHASE.fullmatch(lines[2]).group(2) == ": "
    assert [PHASE.fullmatch(line).group(1) for line in lines[3:]] == [
        "generating the C++ library", f"writing {tmp_path / 'a'}"]
    code, out, err = run_on_terminal("generate", "--quiet", DYNAMIC, "--out-dir", tmp_path / "b")
    assert code == 0 and err.splitlines() == notes and out.startswith("wrote "), err


def test_a_failed_phase_says_so_before_the_error():
    code, out, err = run_on_terminal("verify", TESTS / "models" / "errors" / "unsupported_ops.tflite")
    assert code == 2 and out == ""
    assert err.splitlines()[0].endswith("... failed") and err.splitlines()[1].startswith("dlcoder: error: ")


def test_bench_on_a_terminal_keeps_stdout_json_and_reports_the_statistics():
    code, out, err = run_on_terminal("bench", TINY, "--runs", "10", "--json")
    assert code == 0, err
    r = json.loads(out)                 # progress never reaches stdout
    for engine, lat in r["latency_us"].items():
        assert set(lat) == {"median", "mean", "std", "p90", "min"}, engine
        assert lat["min"] <= lat["median"] <= lat["p90"] and lat["min"] <= lat["mean"] and lat["std"] >= 0
    phases = [PHASE.fullmatch(line).group(1) for line in err.splitlines()]
    assert "timing 3 engines, 10 runs each in 5 interleaved rounds" in phases, err
    assert any(p.startswith("compiling the generated code") for p in phases) and "INFO" not in err


def test_latency_stats_are_benchmark_models():
    """Mean and population standard deviation (numpy's defaults), p90 at sorted index
    n*90/100 as tsl::StatWithPercentiles::percentile picks it, median as statistics'."""
    us = list(np.random.default_rng(3).gamma(2.0, 100.0, 37))
    s = latency_stats(us)
    assert s["mean"] == pytest.approx(np.mean(us)) and s["std"] == pytest.approx(np.std(us))
    assert s["p90"] == sorted(us)[33] and s["median"] == float(np.median(us)) and s["min"] == min(us)
    engines = ("dlcoder", "tflite_xnnpack", "tflite_builtin")
    text = dlcoder.bench.format_result({
        "model": "m", "threads": 1, "runs": 37, "latency_us": dict.fromkeys(engines, s),
        "peak_rss_bytes": dict.fromkeys(engines, 0),
        "weight_bytes": 0, "arena_bytes": 0, "tflm_arena_bytes": None, "model_bytes": 1,
        "library_bytes": dict.fromkeys(("code", "rodata", "data", "bss"), 0),
        "ratios": {"latency_vs_xnnpack": 1, "latency_vs_builtin": 1, "rss_vs_xnnpack": 1, "rss_vs_floor": 1,
                   "arena_vs_tflm": None}})
    header, row = text.splitlines()[1:3]
    assert header.split() == ["engine", "median", "ms", "mean", "ms", "std", "ms", "p90", "ms", "min", "ms",
                              "peak", "RSS", "MB"]
    assert row.split()[1:6] == [f"{s[k] / 1e3:.3f}" for k in ("median", "mean", "std", "p90", "min")]


@pytest.mark.parametrize("command", ["generate", "inspect", "verify", "bench"])
def test_every_flag_has_help(command):
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help text"


def _plan_rows(model):
    """The generator's own main-graph plan, as the rows inspect must print: by first step,
    then offset; offsets from the start of the arena, past the persistent state."""
    lib, g = compiler.compile_graph(compiler.load_graph(str(model)), "model")
    state = StateLayout(g).size
    rows = sorted(((b.first, state + lib.plan.offsets[b.key], b.key, b.size, b.last) for b in lib.plan.buffers))
    return lib, g, state, rows


@pytest.mark.parametrize("model", [MULTI, STATEFUL])
def test_inspect_plan_matches_the_generated_code(model):
    res = run_cli("inspect", "--json", "--plan", model)
    assert res.returncode == 0, res.stderr
    p = json.loads(res.stdout)["plan"]
    lib, g, state, rows = _plan_rows(model)
    assert (p["arena_bytes"], p["plan_bytes"], p["state_bytes"]) == (lib.arena_bytes, lib.plan.size, state)
    assert [(r["first"], r["offset"], (r["kind"], r["index"]), r["bytes"], r["last"])
            for r in p["buffers"]] == rows
    assert state > 0 if model == STATEFUL else state == 0
    for r in p["buffers"]:
        if r["kind"] == "tensor":    # the address the generated code uses for that tensor
            assert lib.storage[r["index"]] == ("arena", r["offset"]) and r["name"] == g.tensors[r["index"]].name
    text = run_cli("inspect", "--plan", model).stdout
    assert f"arena {lib.arena_bytes} bytes" in text
    for r in p["buffers"]:
        assert re.search(rf"^ +{r['id']} +{r['letter']} +{r['bytes']} +{r['first']} +{r['last']} +{r['offset']} ",
                         text, re.M), r
    steps = re.findall(r"^step +\d+: [A-Za-z0-9.]+  \S", text, re.M)
    assert len(steps) == max(r["last"] for r in p["buffers"]) + 1


@pytest.mark.parametrize("model", [KWS, STATEFUL])
def test_plan_svg_draws_every_buffer_where_the_plan_puts_it(model, tmp_path):
    svg = tmp_path / "plan.svg"
    res = run_cli("inspect", model, "--plan-svg", svg)
    assert res.returncode == 0, res.stderr
    assert "memory plan" not in res.stdout          # the table only with --plan
    root = ET.parse(svg).getroot()
    lib, g, state, rows = _plan_rows(model)
    plot = root.find(f"{SVG}rect[@class='plot']")
    x0, y0, w, h = (float(plot.get(k)) for k in ("x", "y", "width", "height"))
    steps, top = int(plot.get("data-steps")), int(plot.get("data-bytes"))
    assert steps == len(g.nodes) and top >= lib.arena_bytes
    boxes = root.findall(f"{SVG}rect[@class='buffer']")
    assert len(boxes) == len(lib.plan.buffers) == len(rows)
    for box, (first, offset, _, size, last) in zip(boxes, rows):
        got = [float(box.get(k)) for k in ("x", "y", "width", "height")]
        want = [x0 + first * w / steps, y0 + h - (offset + size) * h / top,
                (last - first + 1) * w / steps, size * h / top]
        assert got == pytest.approx(want, abs=0.01)
        assert box.find(f"{SVG}title").text.endswith(f"{size} bytes at offset {offset}, steps {first}..{last}")
    arena = root.find(f"{SVG}line[@class='arena']")
    assert float(arena.get("y1")) == pytest.approx(y0 + h - lib.arena_bytes * h / top, abs=0.01)
    assert any(t.text == f"arena {lib.arena_bytes} bytes" for t in root.iter(f"{SVG}text"))
    assert (root.find(f"{SVG}rect[@class='state']") is not None) == (state > 0)
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert any(text and text.startswith("0 ") for text in labels)


def test_plan_svg_of_a_model_that_does_not_compile_is_an_error(tmp_path):
    unsupported = TESTS / "models" / "errors" / "unsupported_ops.tflite"
    res = run_cli("inspect", unsupported, "--plan-svg", tmp_path / "p.svg")
    assert res.returncode == 2 and res.stderr.startswith("dlcoder: error: no memory plan to draw")
    assert not (tmp_path / "p.svg").exists()
    res = run_cli("inspect", MULTI, "--plan-svg", tmp_path / "no" / "p.svg")
    assert res.returncode == 2 and res.stderr.startswith(f"dlcoder: error: cannot write {tmp_path}/no/p.svg")


def test_a_closed_stdout_ends_quietly():
    """`dlcoder inspect --json m | head`: the reader is gone before the report is written."""
    proc = subprocess.Popen([sys.executable, "-m", "dlcoder", "inspect", "--json", str(KWS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and err == ""
    res = subprocess.run(f"{sys.executable} -m dlcoder inspect --json {KWS} | head -n 3", shell=True,
                         capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr == "" and res.stdout.splitlines()[0] == "{"


@pytest.mark.parametrize("module", [dlcoder.bench, dlcoder.plan.view, dlcoder.plan.placement])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0
