"""The command line: generate, inspect, verify (with --per-tensor; more in test_verify.py),
and bench, run for real on a tiny model (the report's structure, never its speed)."""
import dataclasses
import json
import math
import subprocess
import sys

import numpy as np

from dlcoder import compiler, ops
from dlcoder.bench import format_per_op, format_result, library_size
from dlcoder.verify_cmd import verify
from support import TESTS

MULTI = TESTS / "models" / "contract" / "multi_io.tflite"
KWS = TESTS / "models" / "quantized_nets" / "ds_cnn_kws_int8.tflite"
TINY = TESTS / "models" / "contract" / "tiny_dense.tflite"
ENGINES = ("dlcoder", "tflite_xnnpack", "tflite_builtin")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)], capture_output=True, text=True)


def test_inspect_json():
    res = run_cli("inspect", "--json", MULTI)
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert r["supported"] and r["arena_bytes"] > 0 and r["weight_bytes"] > 0
    assert r["ops"]["CONV_2D"]["count"] == 1 and r["ops"]["RESHAPE"]["folded"] == 1
    assert [i["shape"] for i in r["inputs"]] == [[1, 8, 8, 3], [1, 5]]


def test_inspect_text_names_unsupported_ops():
    res = run_cli("inspect", TESTS / "models" / "errors" / "unsupported_ops.tflite")
    assert res.returncode == 0
    assert "BUCKETIZE" in res.stdout and "UNSUPPORTED" in res.stdout and "not compilable" in res.stdout


def test_verify_passes_with_given_inputs(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "in.npz", input_0=rng.standard_normal((1, 8, 8, 3)).astype(np.float32),
             input_1=rng.standard_normal((1, 5)).astype(np.float32))
    res = run_cli("verify", MULTI, "--inputs", tmp_path / "in.npz")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count(" OK") == 3 and "verify: PASS" in res.stdout


def test_per_tensor_names_the_op_that_diverges(monkeypatch, capsys):
    assert verify(str(MULTI), {}, per_tensor=True) == 0
    assert "every intermediate tensor matches" in capsys.readouterr().out
    # break MUL on purpose: the report must name it, not the ops downstream of it (the
    # model's ADD is fused into the FULLY_CONNECTED, so it has no kernel of its own to break)
    mul = ops.TABLE["MUL"]

    def broken(node, g, e):
        code = mul.emit(node, g, e)
        return [line.replace("MulOp", "SubOp").replace("BinaryKind::kMul", "BinaryKind::kSub")
                for line in ([code] if isinstance(code, str) else code)]
    monkeypatch.setitem(ops.TABLE, "MUL", dataclasses.replace(mul, emit=broken))
    assert verify(str(MULTI), {}, per_tensor=True) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "first divergence: op" in out and " MUL " in out


def test_generate_with_test_dir_builds_a_passing_self_test(tmp_path):
    res = run_cli("generate", MULTI, "--out-dir", tmp_path / "lib", "--name", "multi",
                  "--test-dir", tmp_path / "t")
    assert res.returncode == 0, res.stderr
    lib, t = tmp_path / "lib", tmp_path / "t"
    srcs = [str(p) for p in sorted(lib.iterdir()) if p.suffix in (".cc", ".S")]
    for main in ("multi_test.cc", "multi_benchmark.cc"):
        extra = [str(t / main)] + ([str(t / "multi_test_data.S")] if main == "multi_test.cc" else [])
        exe = tmp_path / main.replace(".cc", "")
        subprocess.run(["c++", "-std=c++17", "-O2", "-I", str(lib), "-I", str(t), *srcs, *extra,
                        "-o", str(exe)], check=True)
        out = subprocess.run([str(exe), "3"], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout
        assert ("PASS" in out.stdout) if main == "multi_test.cc" else ("latency_median_us" in out.stdout)


def test_bench_reports_both_engines():
    """A real `dlcoder bench` (5 runs per engine, 2 threads, --per-op): every engine's
    timings and memory, the sizes, the ratios, and a profile of every step; the text report
    from the same numbers. Nothing here depends on how fast anything was."""
    res = run_cli("bench", TINY, "--runs", "5", "--threads", "2", "--json", "--per-op")
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert set(r) == {"model", "threads", "runs", "latency_us", "peak_rss_bytes", "weight_bytes",
                      "arena_bytes", "tflm_arena_bytes", "ratios", "per_op", "library_bytes", "model_bytes"}
    assert r["model"] == str(TINY) and r["threads"] == 2 and r["runs"] == 5
    assert set(r["latency_us"]) == set(ENGINES) == set(r["peak_rss_bytes"])
    for engine in ENGINES:
        lat = r["latency_us"][engine]
        assert set(lat) == {"median", "mean", "std", "p90", "min"}, engine
        assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in lat.values())
        assert lat["min"] <= lat["median"], engine
        assert isinstance(r["peak_rss_bytes"][engine], int) and r["peak_rss_bytes"][engine] >= 0
    lib, g = compiler.compile_graph(compiler.load_graph(str(TINY)), "bench_model")
    assert r["weight_bytes"] == lib.weight_bytes > 0
    assert r["arena_bytes"] == lib.arena_bytes_threads(2)
    assert r["tflm_arena_bytes"] is None or r["tflm_arena_bytes"] > 0
    assert set(r["ratios"]) == {"latency_vs_xnnpack", "latency_vs_builtin", "rss_vs_xnnpack",
                                "rss_vs_floor", "arena_vs_tflm"}
    lat = r["latency_us"]
    if lat["tflite_xnnpack"]["median"] > 0:
        assert math.isclose(r["ratios"]["latency_vs_xnnpack"],
                            lat["dlcoder"]["median"] / lat["tflite_xnnpack"]["median"])
    p = r["per_op"]
    assert [s["op"] for s in p["steps"]] == [n.op for n in g.nodes]
    assert sum(e["count"] for e in p["by_op"].values()) == len(g.nodes)
    assert math.isclose(p["total_us"], sum(s["us"] for s in p["steps"]), abs_tol=1e-9)
    text = format_result(r)
    for engine in ENGINES:
        assert any(line.startswith(engine) for line in text.splitlines()), text
    assert "ratios: latency/XNNPACK" in text
    assert r["model_bytes"] == TINY.stat().st_size
    assert set(r["library_bytes"]) == {"code", "rodata", "data", "bss"}
    assert r["library_bytes"]["rodata"] >= r["weight_bytes"]
    assert f"vs model file {TINY.stat().st_size / 2**10:.1f} KB" in text
    assert "FULLY_CONNECTED" in format_per_op(p)


def test_library_size_counts_code_and_weights(tmp_path):
    """The size bench reports, on an int8 keyword spotter in the size layouts (the same
    as the default's: its depthwise convs have one layout): its objects hold machine code,
    and read-only data at least as large as the weight blob (the per-channel requantization
    constants come on top), and nothing writable but the arena."""
    lib, _ = compiler.compile_graph(compiler.load_graph(str(KWS)), "kws", optimize_for="size")
    speed, _ = compiler.compile_graph(compiler.load_graph(str(KWS)), "kws")
    assert lib.files == speed.files
    compiler.write_library(lib, str(tmp_path / "lib"))
    size = library_size(str(tmp_path / "lib"), str(tmp_path))
    assert size["code"] > 4096
    assert lib.weight_bytes <= size["rodata"] < lib.weight_bytes + 64 * 1024
    # bss: the static arena and a few bytes of run-time state (the ISA found by cpuid)
    assert size["data"] == 0 and lib.arena_bytes <= size["bss"] < lib.arena_bytes + 1024
    # a model this small is mostly code: weights are a minority of code+rodata
    assert size["rodata"] < KWS.stat().st_size < size["code"] + size["rodata"]
