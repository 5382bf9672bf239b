"""Untrusted models: a bounded fuzzing run (fuzz/README.md). Structured mutants of small
models must make `dlcoder generate` exit 0, or exit 2 with one line on stderr and the
output folder untouched; a few of those that generate new code must build and run clean
under ASan + UBSan; and every mutant kept in fuzz/regressions/ must pass the same checks."""
import struct
import sys
from pathlib import Path

import pytest
import tflite

from support import ROOT, TESTS
from fuzz import campaign, harness, mutate   # (support puts the checkout on sys.path)

SMOKE_MODELS = [ROOT / "examples/stripes/stripes.tflite"] + [TESTS / "models" / p for p in (
    "ops/net_attention_block.tflite", "ops/net_conv_dw_residual_fc.tflite",
    "control_flow/if_in_while.tflite", "control_flow/keras_lstm.tflite", "contract/multi_io.tflite")]
SMOKE_MUTANTS = 3000
REGRESSIONS = sorted((ROOT / "fuzz" / "regressions").glob("*.tflite"))


def test_sites_are_where_tflite_reads_the_fields():
    data = SMOKE_MODELS[1].read_bytes()
    found = mutate.sites(data)
    assert {"dim", "tensor", "opcode", "buffer", "length", "op_code", "const_int",
            "const_float"} <= {s.kind for s in found}
    sg = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    checked = 0
    for s in found:
        parts = s.path.split(".")
        if parts[0] != "subgraphs[0]" or len(parts) != 3 or not parts[2][0].isupper() \
                or "[" not in parts[2]:
            continue      # shape, shape signature, input and output vectors only
        (value,) = struct.unpack_from("<" + s.fmt, data, s.pos)
        table, field = parts[1], parts[2]
        index, k = int(table.split("[")[1][:-1]), int(field.split("[")[1][:-1])
        name = field.split("[")[0]
        obj = sg.Tensors(index) if table.startswith("tensors") else sg.Operators(index)
        assert getattr(obj, name)(k) == value, s.path
        checked += 1
    assert checked > 100


def test_mutants_are_deterministic_and_in_place():
    data = SMOKE_MODELS[0].read_bytes()
    found = mutate.sites(data)
    mutants = [mutate.mutate(data, seed, found) for seed in range(200)]
    assert mutants[:20] == [mutate.mutate(data, seed) for seed in range(20)]
    assert len({m for m, _ in mutants}) > 150
    for m, done in mutants:
        assert done and (len(m) == len(data)) != done[-1].startswith("truncated")


def _cli_that(behaviour):
    def main(argv):
        out = Path(argv[argv.index("--out-dir") + 1])
        if behaviour == "raises":
            raise IndexError("boom")
        if behaviour == "two lines":
            print("dlcoder: error: a\nb", file=sys.stderr)
        elif behaviour == "writes":
            (out / "m.h").write_text("half")
        elif behaviour == "leaves":
            (out.parent / ".out.tmp").mkdir()
        print("dlcoder: error: bad model", file=sys.stderr)
        return 3 if behaviour == "exit 3" else 2
    return main


@pytest.mark.parametrize("behaviour,expected", [
    ("rejects", "rejected"), ("raises", "failure | exception | IndexError"),
    ("exit 3", "failure | exit 3"), ("two lines", "failure | not one 'dlcoder: error:' line"),
    ("writes", "failure | out-dir changed"), ("leaves", "failure | files left beside out-dir")])
def test_harness_tells_each_failure(behaviour, expected, tmp_path, monkeypatch):
    monkeypatch.setattr("dlcoder.cli.main", _cli_that(behaviour))
    model = tmp_path / "model.tflite"
    model.write_bytes(SMOKE_MODELS[0].read_bytes())
    assert harness.generate_in_process(model, tmp_path).category.startswith(expected)


def test_structured_mutants_exit_0_or_2():
    """The smoke campaign: SMOKE_MUTANTS mutants through the CLI, in-process on 2 workers."""
    report = campaign.run(SMOKE_MODELS, SMOKE_MUTANTS, seed=1, jobs=2, timeout=60, keep=0)
    print(campaign.format_report(report))
    assert report.count == SMOKE_MUTANTS
    assert report.bad == 0, campaign.format_report(report)


def test_changed_code_is_clean_under_asan_ubsan():
    """Three mutants that still generate, but other code than their model, built with
    ASan + UBSan and run on random inputs."""
    report = campaign.run(SMOKE_MODELS, 300, seed=2, jobs=2, keep=0)
    results = campaign.sanitize_changed(report, campaign.Mutants(SMOKE_MODELS), 3)
    assert len(results) == 3
    for task, outcome, _ in results:
        assert outcome.good, f"{outcome.extra['source']}: {outcome.category}\n{outcome.message}"


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.stem[:16])
def test_regression(path, tmp_path):
    txt = path.with_suffix(".txt").read_text()
    pool = harness.Pool(lambda p: (Path(p).read_bytes(), {}), jobs=1, timeout=60)
    [(_, outcome, _)] = list(pool.run([str(path)]))
    assert outcome.good, f"{outcome.category}\n{outcome.message}\n--- when found:\n{txt}"
    if outcome.kind == "ok" and txt.startswith("category: failure | sanitizer"):
        outcome = harness.sanitize(path, tmp_path)
        assert outcome.good, f"{outcome.category}\n{outcome.message}"
