"""Bad input: exit code 2, one line on stderr that names the problem, no traceback, and
the output folder left exactly as it was."""
import os
import subprocess
import sys

import pytest

from support import TESTS

ERRORS = TESTS / "models" / "errors"
OPS = TESTS / "models" / "ops"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def truncated(tmp_path, fraction):
    data = (OPS / "transpose_4d_nhwc_to_nchw.tflite").read_bytes()
    path = tmp_path / f"truncated_{fraction}.tflite"
    path.write_bytes(data[:int(len(data) * fraction)])
    return path


def corrupt(tmp_path):
    data = bytearray((OPS / "transpose_4d_nhwc_to_nchw.tflite").read_bytes())
    data[0:4] = b"\xff\xff\xff\x7f"          # root table offset far past the end
    path = tmp_path / "corrupt.tflite"
    path.write_bytes(bytes(data))
    return path


def write(path, data):
    path.write_bytes(data)
    return path


CASES = {
    "missing": (lambda p: p / "nope.tflite", "cannot read"),
    "empty": (lambda p: write(p / "empty.tflite", b""), "not a TFLite model"),
    "text": (lambda p: write(p / "t.tflite", b"hello world, not a model"), "not a TFLite model"),
    "truncated_half": (lambda p: truncated(p, 0.5), "truncated or corrupt"),
    "truncated_tail": (lambda p: truncated(p, 0.9), "truncated or corrupt"),
    "corrupt": (corrupt, "truncated or corrupt"),
    "unsupported_ops": (lambda p: ERRORS / "unsupported_ops.tflite",
                        "BUCKETIZE x2 (first at node 1); MATRIX_SET_DIAG x1 (first at node 3)"),
    "float64": (lambda p: ERRORS / "float64_input.tflite", "float64 tensors are not supported by CAST"),
}


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_exits_2_and_touches_nothing(case, tmp_path):
    make, expected = CASES[case]
    model = make(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.h").write_text("// the user's previous output\n")
    (out / ".dlcoder-output").write_text("")     # written by dlcoder, so it may be replaced
    before = snapshot(tmp_path)
    res = run_cli("generate", model, "--out-dir", out)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("dlcoder: error: ")
    assert expected in lines[0]
    assert "Traceback" not in res.stderr
    assert snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(tmp_path))  # no temp folders left
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".out")]


@pytest.mark.parametrize("case", ["unsupported_ops", "float64", "truncated_half"])
def test_inspect_and_verify_report_the_same_problem(case, tmp_path):
    make, expected = CASES[case]
    model = make(tmp_path)
    res = run_cli("verify", model)
    assert res.returncode == 2 and expected in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("model,shape", [("dynamic_batch", "1x4"), ("dynamic_reshape", "1x4x4x3")])
def test_dynamic_batch_generates_for_the_stored_shape_with_one_note(model, shape, tmp_path):
    """As TFLite's AllocateTensors: the stored shape (batch 1), no flag needed; one note."""
    res = run_cli("generate", ERRORS / f"{model}.tflite", "--out-dir", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines() == [
        f"dlcoder: note: input 'x' has a dynamic shape [?{shape[1:]}]; generating for the shape "
        f"the model stores, {shape} (as TFLite does); --input-shape x=... chooses another"]
    res = run_cli("verify", ERRORS / f"{model}.tflite")
    assert res.returncode == 0 and "verify: PASS" in res.stdout, res.stdout + res.stderr
    res = run_cli("generate", ERRORS / f"{model}.tflite", "--out-dir", tmp_path / "p",
                  "--input-shape", f"x={shape}")
    assert res.returncode == 0 and "note" not in res.stderr, res.stderr


def test_pinned_dynamic_shape_generates(tmp_path):
    res = run_cli("verify", ERRORS / "dynamic_batch.tflite", "--input-shape", "x=1x4")
    assert res.returncode == 0, res.stdout + res.stderr
    res = run_cli("verify", ERRORS / "dynamic_batch.tflite", "--input-shape", "x=3x4")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "float32[3, 4]" in res.stdout


@pytest.mark.parametrize("shape", ["1x4x4x3", "3x4x4x3"])
def test_pinned_dynamic_model_propagates_every_shape(shape):
    res = run_cli("verify", ERRORS / "dynamic_reshape.tflite", "--input-shape", f"x={shape}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"float32[{shape[0]}, 5]" in res.stdout


@pytest.mark.parametrize("arg,expected", [
    ("x=1x5", "does not fit"), ("y=1x4", "not an input"), ("x=0x4", "positive dims"), ("x", "NAME=")])
def test_bad_input_shape_argument(arg, expected):
    res = run_cli("generate", ERRORS / "dynamic_batch.tflite", "--out-dir", "/nonexistent/x",
                  "--input-shape", arg)
    assert res.returncode == 2 and expected in res.stderr and "Traceback" not in res.stderr


def test_bad_name_and_namespace(tmp_path):
    model = OPS / "relu.tflite"
    res = run_cli("generate", model, "--out-dir", tmp_path / "o", "--name", "3x")
    assert res.returncode == 2 and "not a C identifier" in res.stderr
    res = run_cli("generate", model, "--out-dir", tmp_path / "o", "--namespace", "a::class")
    assert res.returncode == 2 and "not a C++ namespace" in res.stderr
    assert not (tmp_path / "o").exists()


def test_pinning_runs_no_tflite_interpreter(tmp_path):
    """Shapes propagate through the ops' own shape rules: generating a pinned dynamic model
    never loads ai_edge_litert, whose crashes on a corrupt model were exit 1 or SIGSEGV."""
    code = ("import sys; sys.modules['ai_edge_litert'] = None\n"
            "from dlcoder import cli\n"
            f"sys.exit(cli.main(['generate', {str(ERRORS / 'dynamic_reshape.tflite')!r}, "
            f"'--out-dir', {str(tmp_path / 'o')!r}, '--input-shape', 'x=3x4x4x3']))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "kOutput0Elements = 15;" in (tmp_path / "o" / "dynamic_reshape.h").read_text()
