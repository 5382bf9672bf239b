"""Quantization schemes dlcoder does not compile are refused from the command line with
exit 2, a message naming the op, the tensor and the scheme, and nothing written (issue 13).
Also: a quantized model's header documents every input's and output's scale and zero
point, and inspect shows each tensor's quantization."""
import json
import subprocess
import sys

import numpy as np
import pytest

from support import SHARED_MODELS, TESTS, require_shared

sys.path.insert(0, str(TESTS / "models"))
from op_hand import HandModel  # noqa: E402


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def _fc(weight_tensor):
    """FULLY_CONNECTED of an int8 input with the weights tensor that `weight_tensor(m)` adds."""
    m = HandModel()
    x = m.input((1, 8), np.int8, quant=(0.1, 0))
    w = weight_tensor(m)
    y = m.output(m._tensor((1, 4), np.int8, quant=(0.2, 0)))
    m.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    return m


def _int4(m):
    t = m.const(np.zeros((4, 4), np.int8), quant=(0.05, 0))   # 4x8 int4 values, packed 2 a byte
    m.tensors[t].update(shape=[4, 8], tflite_type=17, name="weights_int4")
    return t


def _custom(m):
    t = m.const(np.ones((4, 8), np.int8), quant=(0.05, 0))
    m.tensors[t].update(custom_quant=b"blockwise:32", name="weights_blockwise")
    return t


def _per_channel_activation():
    m = HandModel()
    x = m.input((1, 4, 4, 2), np.int8, quant=([0.1, 0.2], [0, 0], 3))
    y = m.output(m._tensor((1, 2, 2, 2), np.int8, quant=([0.1, 0.2], [0, 0], 3)))
    m.op("AVERAGE_POOL_2D", [x], [y], "Pool2DOptions", Padding=1, StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=2)
    return m


def _no_int8_kernel():
    m = HandModel()
    x = m.input((2, 6), np.int8, quant=(0.1, 3))
    y = m.output(m._tensor((2, 6), np.int8, quant=(0.1, 3)))
    m.op("SIN", [x], [y])
    return m


CASES = {
    "int4_weights": (lambda: _fc(_int4), r"node 0 \(FULLY_CONNECTED\): tensor 'weights_int4'.*int4"),
    "blockwise": (lambda: _fc(_custom), r"node 0 \(FULLY_CONNECTED\): tensor 'weights_blockwise'.*"
                                         r"custom quantization details"),
    "per_channel_activation": (_per_channel_activation, r"AVERAGE_POOL_2D.*input_0.*per channel"),
    "no_int8_kernel": (_no_int8_kernel, r"SIN has no kernel for int8 quantized tensors: "
                                        r"tensor 'input_0'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unsupported_scheme_exits_2_and_writes_nothing(case, tmp_path):
    build, message = CASES[case]
    model = tmp_path / "m.tflite"
    model.write_bytes(build().build())
    out = tmp_path / "out"
    res = run_cli("generate", model, "--out-dir", out)
    assert res.returncode == 2, (res.returncode, res.stderr)
    import re
    assert re.search(message, res.stderr), res.stderr
    assert not out.exists()


def _pool_model(tmp_path):
    m = HandModel()
    x = m.input((1, 4, 4, 3), np.int8, quant=(0.0625, -5))
    y = m.output(m._tensor((1, 2, 2, 3), np.int8, quant=(0.0625, -5)))
    m.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", Padding=1, StrideH=2, StrideW=2,
         FilterHeight=2, FilterWidth=2)
    path = tmp_path / "pool.tflite"
    path.write_bytes(m.build())
    return path


def test_header_documents_scale_and_zero_point(tmp_path):
    """The class's constants compile and hold the model's values (checked by the compiler)."""
    model = _pool_model(tmp_path)
    out = tmp_path / "lib"
    res = run_cli("generate", model, "--out-dir", out, "--name", "pool")
    assert res.returncode == 0, res.stderr
    check = tmp_path / "check.cc"
    check.write_text('#include "pool.h"\n'
                     'static_assert(pool::pool::kInput0Scale == 0.0625f, "scale");\n'
                     'static_assert(pool::pool::kInput0ZeroPoint == -5, "zero point");\n'
                     'static_assert(pool::pool::kOutput0Scale == 0.0625f, "scale");\n'
                     'static_assert(pool::pool::kOutput0ZeroPoint == -5, "zero point");\n'
                     'int main() { return 0; }\n')
    header = (out / "pool.h").read_text()
    assert "real value = kInput0Scale * (q - kInput0ZeroPoint)" in header
    namespace = "pool" if "namespace pool" in header else header.split("namespace ")[1].split()[0]
    check.write_text(check.read_text().replace("pool::pool::", f"{namespace}::pool::"))
    subprocess.run(["g++", "-std=c++17", "-fsyntax-only", f"-I{out}", str(check)], check=True)


def test_inspect_shows_quantization(tmp_path):
    model = _pool_model(tmp_path)
    res = run_cli("inspect", model)
    assert res.returncode == 0, res.stderr
    assert "input 0: input_0 int8[1, 4, 4, 3], per-tensor scale 0.0625 zero point -5" in res.stdout
    require_shared()
    res = run_cli("inspect", "--json", SHARED_MODELS / "lenet5_int8.tflite")
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    pc = [t["quantization"] for t in r["tensors"] if t["quantization"] and
          t["quantization"]["scheme"] == "per-channel"]
    assert pc and all(q["scale"][0] <= q["scale"][1] and q["channels"] > 1 for q in pc)
