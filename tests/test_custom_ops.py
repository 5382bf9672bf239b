"""Custom-op plug-ins (dlcoder/plugins.py) end to end on examples/custom_op: CUSTOM:MyOp
(a leaky ReLU and a scale, options in a FlexBuffer) generated with the CLI, compiled, run
and compared with TFLite running reference.tflite, the same graph without the custom op;
its kernel header edited and regenerated; and the errors of broken plug-ins."""
import shutil
import subprocess
import sys

import numpy as np
import pytest

from dlcoder import compiler, ops, plugins, verify as V
from support import ROOT, check_folding

EXAMPLE = ROOT / "examples" / "custom_op"
MODEL = EXAMPLE / "my_op.tflite"
REFERENCE = EXAMPLE / "reference.tflite"
PLUGIN = EXAMPLE / "ops.py"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dlcoder", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)


def generate_and_run(model, plugin, out, work, inputs):
    """`dlcoder generate --custom-ops`, then the library compiled and run on `inputs`."""
    res = run_cli("generate", model, "--custom-ops", plugin, "--out-dir", out)
    assert res.returncode == 0, res.stderr
    work.mkdir(exist_ok=True)
    exe = V.build_runner(str(out), "my_op", str(work))
    g = compiler.load_graph(str(REFERENCE))
    return V.run_runner(exe, g, inputs, str(work))[0]


def inputs(seed=1):
    return V.random_inputs(compiler.load_graph(str(REFERENCE)), seed=seed)


def test_cli_generates_the_custom_op_and_matches_tflite(tmp_path):
    x = inputs()
    ours = generate_and_run(MODEL, PLUGIN, tmp_path / "out", tmp_path / "work", x)
    refs, _ = V.reference_run(str(REFERENCE), x)
    c = V.compare(ours[0], refs[0])
    assert c.ok, c
    copied = tmp_path / "out" / "dlcoder_rt" / "custom" / "my_op_kernel.h"
    assert copied.read_bytes() == (EXAMPLE / "my_op_kernel.h").read_bytes()
    assert '#include "dlcoder_rt/custom/my_op_kernel.h"' in (tmp_path / "out" / "my_op.cc").read_text()


def test_inspect_counts_the_custom_op_as_supported():
    res = run_cli("inspect", MODEL, "--custom-ops", PLUGIN)
    assert res.returncode == 0, res.stderr
    assert "CUSTOM:MyOp" in res.stdout and "not compilable" not in res.stdout
    res = run_cli("inspect", MODEL)
    assert "CUSTOM:MyOp" in res.stdout and "not compilable" in res.stdout


@pytest.fixture
def loaded():
    """The example's plug-in in this process's op table, for the test only."""
    yield plugins.load(str(PLUGIN))
    plugins.unload(PLUGIN)
    assert "CUSTOM:MyOp" not in ops.TABLE


def test_options_decoded_and_numpy_reference_folds(loaded):
    g = compiler.load_graph(str(MODEL))
    node = next(n for n in g.nodes if n.op == "CUSTOM:MyOp")
    assert plugins.with_options(node).attrs["options"] == pytest.approx({"alpha": 0.2, "scale": 1.5})
    check_folding(REFERENCE, g, inputs(seed=2))


def test_loading_twice_replaces_the_entry(loaded):
    assert loaded == ("CUSTOM:MyOp",)
    first = ops.TABLE["CUSTOM:MyOp"]
    assert plugins.load(str(PLUGIN)) == ("CUSTOM:MyOp",)
    assert ops.TABLE["CUSTOM:MyOp"] is not first


def test_editing_the_kernel_header_changes_the_output(tmp_path):
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    x = inputs()
    out = tmp_path / "out"
    before = generate_and_run(example / "my_op.tflite", example / "ops.py", out, tmp_path / "w1", x)
    kernel = example / "my_op_kernel.h"
    kernel.write_text(kernel.read_text().replace("y[i] = p.scale * v;", "y[i] = p.scale * v + 1.0f;"))
    after = generate_and_run(example / "my_op.tflite", example / "ops.py", out, tmp_path / "w2", x)
    np.testing.assert_array_equal(after[0], before[0] + np.float32(1))


BROKEN = {
    "raises": ("raise RuntimeError('no GPU here')\n", "importing it raised RuntimeError: no GPU here"),
    "builtin_name": ("from dlcoder.ops import register\n"
                     "register('MyOp', header='my_op_kernel.h')(lambda n, g, e: '')\n",
                     "op MyOp: a plug-in registers custom ops only"),
    "missing_header": ("from dlcoder.ops import register\n"
                       "register('CUSTOM:MyOp', header='nowhere.h')(lambda n, g, e: '')\n",
                       "op CUSTOM:MyOp: kernel header nowhere.h not found"),
    "emit_raises": ("from dlcoder.ops import register\n"
                    "def emit(n, g, e):\n    raise KeyError('beta')\n"
                    "register('CUSTOM:MyOp', header='my_op_kernel.h',\n"
                    "         shape=lambda n, g: [g.tensors[n.inputs[0]].shape])(emit)\n",
                    "op CUSTOM:MyOp: its emit hook raised KeyError: 'beta'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_plugin_exits_2_naming_file_and_op(tmp_path, case):
    source, message = BROKEN[case]
    shutil.copy(EXAMPLE / "my_op_kernel.h", tmp_path)
    plugin = tmp_path / "broken.py"
    plugin.write_text(source)
    res = run_cli("generate", MODEL, "--custom-ops", plugin, "--out-dir", tmp_path / "out")
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert str(plugin) in res.stderr and message in res.stderr, res.stderr


def test_missing_plugin_exits_2(tmp_path):
    res = run_cli("inspect", MODEL, "--custom-ops", tmp_path / "nope.py")
    assert res.returncode == 2
    assert res.stderr.strip() == f"dlcoder: error: custom-op plug-in {tmp_path / 'nope.py'}: no such file"


def test_a_failed_load_leaves_nothing_behind(tmp_path):
    shutil.copy(EXAMPLE / "my_op_kernel.h", tmp_path)
    plugin = tmp_path / "half.py"
    plugin.write_text("from dlcoder.ops import register\n"
                      "register('CUSTOM:Good', header='my_op_kernel.h')(lambda n, g, e: '')\n"
                      "register('CUSTOM:Bad', header='missing.h')(lambda n, g, e: '')\n")
    with pytest.raises(plugins.PluginError, match="op CUSTOM:Bad: kernel header missing.h"):
        plugins.load(str(plugin))
    assert "CUSTOM:Good" not in ops.TABLE and "CUSTOM:Bad" not in ops.TABLE
    assert not plugins.HEADERS


def test_verify_compares_with_the_numpy_references():
    res = run_cli("verify", MODEL, "--custom-ops", PLUGIN)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "TFLite cannot run CUSTOM:MyOp" in res.stdout and "verify: PASS" in res.stdout


def test_verify_names_the_plugin_whose_code_does_not_compile(tmp_path):
    shutil.copy(EXAMPLE / "my_op_kernel.h", tmp_path)
    plugin = tmp_path / "bad_code.py"
    plugin.write_text(PLUGIN.read_text().replace("my_op::leaky_scale(", "my_op::no_such_kernel("))
    res = run_cli("verify", MODEL, "--custom-ops", plugin)
    assert res.returncode == 2, res.stdout + res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert (f"custom-op plug-in {plugin}: op CUSTOM:MyOp: its emitted code does not compile: "
            in res.stderr and "no_such_kernel" in res.stderr), res.stderr
