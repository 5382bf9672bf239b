"""Static checks of the Starlark files, for the Bazel versions that cannot run here.

Only Bazel 4.2.3 runs on this machine (tests/test_bazel.py builds with it). What Bazel 7 and 8
need, MODULE.bazel and loading cc_common and the Python rules from rules_cc and
rules_python, is checked here without a Bazel:

- buildifier (`npm install -g @bazel/buildifier`; BUILDIFIER=/path overrides PATH) finds no
  lint warning and no formatting change in any Starlark file of the repository. Its lint knows
  which symbols current Bazel no longer has built in. The Bazel 4 stand-ins in
  third_party/bazel4_shims/ are linted too: each of their native calls says which warning it
  disables, and nothing else there may warn.
- MODULE.bazel agrees with the WORKSPACE side: the same rules_cc and rules_python versions as
  rules/deps.bzl, the package's version, and the same registered toolchains as
  dlcoder_register_toolchains(): the cross entries of toolchains/table.bzl only.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from support import ROOT

STARLARK_NAMES = {"BUILD", "BUILD.bazel", "WORKSPACE", "WORKSPACE.bazel", "WORKSPACE.bzlmod",
                  "MODULE.bazel"}


def starlark_files() -> list:
    """Every Starlark file of the repository, outside Bazel's output links and .git."""
    out = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(("bazel-", ".")) and d != "node_modules")
        out += [os.path.join(dirpath, f) for f in sorted(filenames)
                if f in STARLARK_NAMES or f.endswith(".bzl")]
    return [os.path.relpath(f, ROOT) for f in out]


@pytest.fixture(scope="module")
def buildifier() -> str:
    tool = os.environ.get("BUILDIFIER") or shutil.which("buildifier")
    if tool is None:
        pytest.skip("buildifier not found: npm install -g @bazel/buildifier (or BUILDIFIER=/path)")
    return tool


def test_buildifier_lint_and_format_are_clean(buildifier):
    files = starlark_files()
    assert "MODULE.bazel" in files and "rules/extensions.bzl" in files
    assert any(f.startswith("third_party/bazel4_shims/") for f in files)
    version = subprocess.run([buildifier, "--version"], capture_output=True, text=True)
    res = subprocess.run([buildifier, "--lint=warn", "--mode=check", *files], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0 and not (res.stdout + res.stderr).strip(), \
        f"{version.stdout.strip()}:\n{res.stdout}{res.stderr}"
    print(f"{version.stdout.splitlines()[0].strip()}: {len(files)} files clean")


def test_stand_ins_disable_only_native_rule_warnings():
    """A stand-in may silence exactly one kind of warning: the native rule it forwards to."""
    disabled = []
    for f in starlark_files():
        if f.startswith("third_party/bazel4_shims/"):
            disabled += re.findall(r"# buildifier: disable=(\S+)", (ROOT / f).read_text())
    assert disabled and all(w.startswith("native-") for w in disabled), disabled
    outside = [f for f in starlark_files() if not f.startswith("third_party/bazel4_shims/")
               and "buildifier: disable=native-" in (ROOT / f).read_text()]
    assert not outside, f"native rules used outside the stand-ins: {outside}"


def module_bazel() -> str:
    return (ROOT / "MODULE.bazel").read_text()


def test_module_versions_match_workspace_and_package():
    module = module_bazel()
    deps = dict(re.findall(r'bazel_dep\(name = "([\w-]+)", version = "([^"]+)"\)', module))
    assert {"platforms", "rules_cc", "rules_python"} <= set(deps), deps
    workspace = dict(re.findall(r'"(rules_\w+)": struct\(\s*version = "([^"]+)"',
                                (ROOT / "rules" / "deps.bzl").read_text()))
    assert workspace == {k: deps[k] for k in workspace} and set(workspace) == {
        "rules_cc", "rules_python"}, (workspace, deps)
    package = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(),
                        re.M).group(1)
    assert re.search(r'module\(\s*name = "dlcoder",\s*version = "%s",' % re.escape(package),
                     module), package
    assert re.search(r'use_repo\(pip, "dlcoder_pip"\)', module)


def test_module_registers_only_cross_toolchains():
    table = (ROOT / "toolchains" / "table.bzl").read_text()
    entries = dict(re.findall(r'"(\w+)": struct\(\s*cpu = "(\w+)"', table))
    exec_cpu = re.search(r'^EXEC_CPU = "(\w+)"', table, re.M).group(1)
    assert exec_cpu in entries.values() and len(entries) >= 2, entries
    block = re.search(r"^register_toolchains\((.*?)\)", module_bazel(), re.M | re.S).group(1)
    registered = set(re.findall(r'"([^"]+)"', block))
    cross = {f"//toolchains:{name}_cc_toolchain" for name, cpu in entries.items()
             if cpu != exec_cpu}
    assert registered == cross | {"//toolchains:python3_toolchain"}, registered
