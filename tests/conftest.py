"""Test-suite setup: tests/ on the import path, and under CI (CI=true) no skip passes.

A skip that depends on the machine (a missing tool, CPU feature or the ../shared suite)
would let a CI run go green without the check it skipped. Under CI=true every skip, in a
test, a fixture or at collection, is reported as a failure, except ALLOWED_SKIPS: skips
that are the same on every machine and hide no check."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ci import under_ci  # noqa: E402
from dlcoder.verify import HARNESS_CACHE_ENV  # noqa: E402


def pytest_configure(config):
    """One folder of compiled drivers for the whole run (verify.build_runner: the driver is
    the same for every library of a name, so each test need not compile it again). The
    controller makes it; xdist's workers inherit it through the environment."""
    if not os.environ.get(HARNESS_CACHE_ENV):
        os.environ[HARNESS_CACHE_ENV] = config._dlcoder_harness_cache = tempfile.mkdtemp(prefix="dlcoder-harness-")


def pytest_unconfigure(config):
    folder = getattr(config, "_dlcoder_harness_cache", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ[HARNESS_CACHE_ENV]


def _allowed_edge_value_case(item, reason: str) -> bool:
    """test_edge_values.py: the cases whose committed inputs are the point (its COMMITTED
    table); each still runs end to end on them in its own folder's test."""
    module = getattr(item, "module", None)
    return (module is not None and module.__name__ == "test_edge_values"
            and reason in getattr(module, "COMMITTED", {}).values())


ALLOWED_SKIPS = (_allowed_edge_value_case,)


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = str(longrepr)
    return text[len("Skipped: "):] if text.startswith("Skipped: ") else text


def _fail_skip(report, reason: str) -> None:
    report.outcome = "failed"
    report.longrepr = (f"skipped under CI (CI=true), where a skip must not hide a check: "
                       f"{reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (under_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if not any(allowed(item, reason) for allowed in ALLOWED_SKIPS):
        _fail_skip(report, reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if under_ci() and report.skipped:
        _fail_skip(report, _skip_reason(report))
