"""Every op README.md lists as supported runs its kernel in some test model.

The list is read from README.md ("## Supported ops"). The test models are every case of
tests/models/*/cases.json (each folder's tests run its cases against the TFLite
interpreter) and tests/models/contract/*.tflite (test_contract, test_signal, test_isa,
test_threads, the CLI and golden tests). Each goes through dlcoder's passes, as
`compiler.compile_graph` runs them (folding, fusions, aliases, dead code), and an op counts
only if it is still a node afterwards, in the model's graph or a subgraph it runs: then the
emitter calls its kernel. An op that was folded to a constant, fused into another op, or
turned into an alias does not count. Models dlcoder refuses do not count either.

NEVER_A_NODE lists the ops whose kernel the passes never leave to run, each with the
reason and the test that runs its kernel with folding switched off.

tests/models/coverage/ (make_coverage_models.py) holds the models for SIGN, REDUCE_ALL,
ZEROS_LIKE past the folding limit and BROADCAST_ARGS; they run here against TFLite.

Last, tests/conftest.py's rule that under CI (CI=true) a skip fails the run."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from dlcoder import compiler, verify as V
from dlcoder.errors import UnsupportedError
from dlcoder.ops import TABLE, VARIANTS
from dlcoder.passes import pipeline
from support import ROOT, TESTS, check_against_tflite, load_npz_inputs

MODELS = TESTS / "models"
COVERAGE = MODELS / "coverage"
CASES = json.loads((COVERAGE / "cases.json").read_text())

# op -> why no test model keeps it as a node after the passes (and where its kernel runs)
NEVER_A_NODE = {
    "SHAPE": "shapes are static, so its value is known at generation time and always folds "
             "(an output of at most 6 integers never passes the folding limit); its kernel "
             "runs with folding switched off in test_ops_misc.py::test_kernels_of_folded_ops",
    "RANK": "the rank is static: always folds; its kernel runs with folding switched off in "
            "test_ops_more.py::test_rank_kernel_when_not_folded",
    "BROADCAST_ARGS": "dlcoder takes only constant shapes (a graph-input shape is refused: "
                      "coverage/broadcast_args_graph_inputs), so its value is always known "
                      "and it always folds; its kernel (a copy of that value) runs with "
                      "folding switched off in test_broadcast_args_kernel_when_not_folded",
}


def readme_ops() -> list:
    """The ops of README.md's "Supported ops" list, checked against the count it states."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Supported ops\n"):]
    section = section[:section.index("\n## ", 1)]
    paragraphs = [p.strip() for p in section.split("\n\n")]
    at = next(i for i, p in enumerate(paragraphs) if re.match(r"\d+ TFLite builtin ops", p))
    count = int(paragraphs[at].split()[0])
    listing = paragraphs[at + 1]
    ops = re.findall(r"`([A-Z][A-Z0-9_]*)`", listing)
    # the paragraph is the list and nothing else
    assert re.sub(r"`[A-Z][A-Z0-9_]*`(, |\.)", "", listing.replace("\n", " ")) == "", listing
    assert len(ops) == count, f"README says {count} ops and lists {len(ops)}"
    return ops


def test_readme_lists_exactly_the_op_table():
    ops = readme_ops()
    assert ops == sorted(ops) and len(set(ops)) == len(ops)
    # not fused-only ops, nor custom ops (test_readme_lists_exactly_the_custom_ops)
    builtin = {op for op in TABLE if not op.startswith(("DLCODER_", "CUSTOM:"))}
    assert sorted(set(ops) - builtin) == [], "listed in README.md but not in the op table"
    assert sorted(builtin - set(ops)) == [], "in the op table but not listed in README.md"


def test_readme_lists_exactly_the_custom_ops():
    """README's "Supported ops" lists the custom ops of dlcoder's table (CUSTOM:<code>)
    after the count "N MediaPipe custom ops"; their tests run them (test_mediapipe_ops.py)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Supported ops\n"):]
    paragraphs = [p.strip() for p in section[:section.index("\n## ", 1)].split("\n\n")]
    at = next(i for i, p in enumerate(paragraphs) if re.match(r"\d+ MediaPipe custom ops", p))
    listed = re.findall(r"`(\w+)`", paragraphs[at + 1])
    assert len(listed) == int(paragraphs[at].split()[0])
    built_in = [op for op, d in TABLE.items()     # not the plug-ins a test may have loaded
                if op.startswith("CUSTOM:") and d.emit.__module__.startswith("dlcoder.ops.")]
    assert listed == sorted(op[len("CUSTOM:"):] for op in built_in)


def test_readme_lists_exactly_the_quantized_variants():
    """README's "Quantized models" lists, per kind, the ops with a variant of that kind."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Quantized models\n"):]
    section = section[:section.index("\n## ", 1)]
    names = {"int8": "int8", "uint8": "uint8", "int16": "int16 (int16x8)", "hybrid": "dynamic-range"}
    for kind, name in names.items():
        item = re.search(rf"^- {re.escape(name)}: (.*?)\.$", section, re.M | re.S)
        assert item, f"README lists no {name} kernels"
        listed = re.findall(r"`([A-Z][A-Z0-9_]*)`", item.group(1))
        assert listed == sorted(o for (o, k) in VARIANTS if k == kind), kind


def gathered_models():
    """(name, path) of every test model whose cases its tests run end to end."""
    out = []
    for index in sorted(MODELS.glob("*/cases.json")):
        out += [(f"{index.parent.name}/{case}", index.parent / f"{case}.tflite")
                for case in sorted(json.loads(index.read_text()))]
    out += [(f"contract/{p.stem}", p) for p in sorted((MODELS / "contract").glob("*.tflite"))]
    return out


def kernel_ops() -> dict:
    """op -> the test models where it is still a node after dlcoder's passes."""
    found = {}
    for name, path in gathered_models():
        try:
            g = pipeline.run(compiler.load_graph(str(path)))
            compiler.check_supported(g)
        except UnsupportedError:
            continue        # refused on purpose (e.g. an unsupported op in a loop body)
        for _, graph in g.reachable():
            for node in graph.nodes:
                found.setdefault(node.op, []).append(name)
    return found


def test_every_supported_op_runs_its_kernel_in_some_test_model():
    ops, found = readme_ops(), kernel_ops()
    assert len(gathered_models()) > 400
    missing = [op for op in ops if op not in found and op not in NEVER_A_NODE]
    assert missing == [], (f"no test model keeps these ops as nodes after the passes, so "
                           f"their kernels never run in the tests: {missing}")
    # the exemptions stay true: drop one once a test model runs its kernel
    assert sorted(set(NEVER_A_NODE) - set(ops)) == []
    still = {op: found[op] for op in NEVER_A_NODE if op in found}
    assert still == {}, f"these ops now keep a node; remove them from NEVER_A_NODE: {still}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_coverage_case(case, tmp_path):
    model = COVERAGE / f"{case}.tflite"
    assert model.exists(), f"{model} is missing: rebuild it with make_coverage_models.py"
    g0 = compiler.load_graph(str(model))
    inputs = load_npz_inputs(COVERAGE / f"{case}.npz", g0)
    if "refused" in CASES[case]:
        V.reference_run(str(model), inputs)     # a valid model: TFLite runs it
        with pytest.raises(UnsupportedError, match=CASES[case]["refused"]):
            compiler.compile_graph(g0, "m")
        return
    check_against_tflite(model, tmp_path, inputs=inputs)
    _, g = compiler.compile_graph(g0, "m")
    folded_ops = {"broadcast_args_const_shapes": {"BROADCAST_ARGS"}}.get(case, set())
    assert set(CASES[case]["ops"]) - folded_ops <= {n.op for n in g.nodes}


def test_broadcast_args_kernel_when_not_folded(tmp_path, monkeypatch):
    """BROADCAST_ARGS always folds; forbid folding to run the copy it emits otherwise."""
    monkeypatch.setattr("dlcoder.passes.fold_constants.MAX_GROWTH", -(1 << 40))
    model = COVERAGE / "broadcast_args_const_shapes.tflite"
    g0 = compiler.load_graph(str(model))
    inputs = load_npz_inputs(model.with_suffix(".npz"), g0)
    _, lib = check_against_tflite(model, tmp_path, inputs=inputs)
    _, g = compiler.compile_graph(g0, "m")
    assert [n.op for n in g.nodes] == ["BROADCAST_ARGS", "ADD"]
    source = next(v for k, v in lib.files.items() if k.endswith(".cc"))
    assert b"dlcoder_rt::copy<int32_t>" in source


CI_PROBE = """
import pytest

def test_skips():
    pytest.skip("needs a tool this machine lacks")

@pytest.fixture
def tool():
    pytest.skip("fixture: no tool")

def test_fixture_skips(tool):
    pass

def test_passes():
    pass
"""


@pytest.mark.parametrize("ci", ["true", ""])
def test_a_skip_fails_under_ci(ci, tmp_path):
    """With tests/conftest.py, a skip in a test or a fixture is a failure under CI=true and
    stays a skip elsewhere."""
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(TESTS / "ci.py", tmp_path / "ci.py")   # conftest imports it
    (tmp_path / "test_probe.py").write_text(CI_PROBE)
    env = {**os.environ, "CI": ci}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "-p", "no:benchmark", "-rA", str(tmp_path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    summary = res.stdout.strip().splitlines()[-1]
    if ci:
        assert res.returncode == 1 and "1 failed, 1 passed, 1 error" in summary, res.stdout
        assert "skipped under CI (CI=true)" in res.stdout and "needs a tool" in res.stdout
    else:
        assert res.returncode == 0 and "1 passed, 2 skipped" in summary, res.stdout
