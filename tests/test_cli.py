"""The command line: generate, inspect, verify (with --per-tensor), bench's report."""
import dataclasses
import json
import subprocess
import sys

import numpy as np

from dlcoder import ops
from dlcoder.verify_cmd import verify
from support import TESTS

MULTI = TESTS / "models" / "contract" / "multi_io.tflite"


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
    monkeypatch.setitem(ops.TABLE, "MUL", dataclasses.replace(
        mul, emit=lambda node, g, e: mul.emit(node, g, e).replace("MulOp", "SubOp").replace(
            "BinaryKind::kMul", "BinaryKind::kSub")))
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
