"""Bazel integration (issue 3), tested with real Bazel builds, offline (Debian's 4.2.3).

- This repo: `bazel test //...` (the examples' generated tests) on the host, with
  --config=aarch64 under qemu, and with the opt-in x86-64 toolchain of toolchains/table.bzl
  (--config=x86_64); the examples' programs print their results. A plain build (fastbuild)
  compiles the generated sources with -O2 (the action command lines, from `bazel aquery`)
  and no `bazel test` warns that a test's size is too big.
- A user workspace outside the repo, made here with the snippet from README.md ("Bazel") and a model
  no example uses (mobilenet_v1_025_f32 from the shared models): name_test passes on the host
  and on aarch64; a no-op rebuild runs no action; new model bytes regenerate and relink;
  fail() messages name the target and the fix; the generator action is sandboxed, cacheable
  and has no absolute path or host variable on its command line; dl_code_library passes its
  attributes through (tags, visibility, testonly, size, timeout, copts, common attributes)
  and `optimize = False` follows -c; with --incompatible_enable_cc_toolchain_resolution (the
  default from Bazel 7) the workspace's host code keeps Bazel's auto-configured C++
  toolchain and only --platforms=@dlcoder//toolchains:linux_aarch64 selects dlcoder's.
- Caches, in another user workspace: after `bazel clean` a --disk_cache build hits for every
  action; a clean build against an nginx WebDAV server on loopback uploads, and the next clean
  build hits the remote cache for every action; two clean builds give byte-identical outputs.

Each workspace has its own output base under one temporary --output_user_root, so nothing is
shared with a developer's builds; module-scoped fixtures build once and the checks reuse the
builds. Servers are shut down and output bases deleted at the end. Needs bazel (fails
without it), g++, g++-aarch64-linux-gnu, qemu-user and nginx-light; the generator's wheels come
from PyPI (or the machine's pip mirror) through rules/requirements_lock.txt.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from support import ROOT, SHARED_MODELS

BAZEL = shutil.which("bazel")
# A real model that no example or rule test in this repo uses; where the shared suite is
# absent, a committed model the examples do not use stands in (said in the test output).
OUTSIDE_MODEL = SHARED_MODELS / "mobilenet_v1_025_f32.tflite"
if not OUTSIDE_MODEL.exists():
    print(f"test_bazel: {OUTSIDE_MODEL} is absent; the user workspace uses isa_coverage.tflite")
    OUTSIDE_MODEL = ROOT / "tests" / "models" / "contract" / "isa_coverage.tflite"
TOOLS = {"g++": "g++", "aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu",
         "qemu-aarch64": "qemu-user", "nginx": "nginx-light"}
QEMU = "qemu-aarch64 -L /usr/aarch64-linux-gnu"
# The cross-build flags of README.md ("Bazel") for a workspace without dlcoder's .bazelrc.
AARCH64 = ["--incompatible_enable_cc_toolchain_resolution",
           "--platforms=@dlcoder//toolchains:linux_aarch64", "--platform_suffix=-aarch64"]

pytestmark = [
    # One worker runs the whole module (pytest -n 2 --dist loadgroup): fixtures build once.
    pytest.mark.xdist_group("bazel"),
]


@pytest.fixture(scope="module", autouse=True)
def _bazel():
    # .ci/run installs it: a missing bazel fails the module rather than skipping it
    if BAZEL is None:
        pytest.fail("test_bazel.py needs bazel (apt-get install bazel-bootstrap)")


USER_WORKSPACE = """\
local_repository(name = "dlcoder", path = "{repo}")

load("@dlcoder//rules:deps.bzl", "dlcoder_dependencies")

dlcoder_dependencies()

load("@dlcoder//toolchains:toolchains.bzl", "dlcoder_register_toolchains")

dlcoder_register_toolchains()
"""

USER_BUILD = """\
load("@dlcoder//rules:defs.bzl", "dl_code_library", "tflite_model")

exports_files(["mobilenet.tflite"])

tflite_model(
    name = "mobilenet_model",
    src = "mobilenet.tflite",
)

dl_code_library(
    name = "mobilenet",
    model = ":mobilenet_model",
    namespace = "user::vision",
)

cc_binary(
    name = "classify",
    srcs = ["classify.cc"],
    copts = ["-std=c++17"],
    deps = [":mobilenet"],
)
"""

USER_MAIN = """\
#include <cstdio>
#include <cstdlib>

#include "vision/mobilenet.h"

int main() {
  void* arena = std::aligned_alloc(64, user::vision::mobilenet::kArenaBytes);
  user::vision::mobilenet m(arena);
  for (size_t i = 0; i < user::vision::mobilenet::kInput0Elements; ++i) m.input_0()[i] = 0.5f;
  if (m.Run() != 0) return 1;
  int best = 0;
  for (size_t i = 1; i < user::vision::mobilenet::kOutput0Elements; ++i)
    if (m.output_0()[i] > m.output_0()[best]) best = static_cast<int>(i);
  std::printf("class %d\\n", best);
  return 0;
}
"""

# Packages whose BUILD files must fail at loading or analysis, with the message to expect.
BAD_PACKAGES = {
    "bad_name": ('dl_code_library(name = "my-model", model = "//vision:mobilenet.tflite")',
                 'must be a C identifier; rename the target, e.g. "my_model"'),
    "bad_format": ('dl_code_library(name = "net", model = "net.onnx")',
                   "is not a TensorFlow Lite model; convert it to .tflite"),
    "bad_src": ('tflite_model(name = "m", src = "BUILD")',
                "is not a .tflite file"),
    "bad_shape": ('tflite_model(name = "m", src = "//vision:mobilenet.tflite", '
                  'input_shapes = {"x": "1x?x3"})', "is not a shape"),
}


def _rmtree(path: Path) -> None:
    """Bazel leaves read-only folders in its output base."""
    def fix(func, p, _):
        os.chmod(os.path.dirname(p), stat.S_IRWXU)
        os.chmod(p, stat.S_IRWXU)
        func(p)
    shutil.rmtree(path, onerror=fix)


class Bazel:
    """Runs bazel in one workspace with this module's output_user_root and offline bazelrc."""

    def __init__(self, workspace: Path, user_root: Path, bazelrc: Path):
        self.workspace = workspace
        self.startup = [BAZEL, f"--output_user_root={user_root}", f"--bazelrc={bazelrc}"]

    def run(self, command: str, *args, ok: bool = True) -> subprocess.CompletedProcess:
        # --symlink_prefix=/: no bazel-* links in the workspace (it may be the repo itself).
        flags = ["--symlink_prefix=/"] if command in ("build", "test", "run") else []
        cmd = self.startup + [command, *flags, *map(str, args)]
        t0 = time.monotonic()
        res = subprocess.run(cmd, cwd=self.workspace, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL)
        res.seconds = time.monotonic() - t0
        res.log = res.stderr + res.stdout   # progress on stderr, test summary on stdout
        if ok and res.returncode != 0:
            pytest.fail(f"{' '.join(cmd[3:])} in {self.workspace} failed ({res.returncode}):\n"
                        f"{res.stdout[-3000:]}\n{res.stderr[-6000:]}")
        return res

    def bin_dir(self, *flags) -> Path:
        return Path(self.run("info", *flags, "bazel-bin").stdout.strip())

    def shutdown(self) -> None:
        self.run("shutdown", ok=False)


SIZE_WARNING = "specified size is too big"
HOST_PLATFORM = "@local_config_platform//:host"
AUTO_CC = "@local_config_cc//:cc-compiler-k8"


def cc_toolchains(res: subprocess.CompletedProcess) -> dict:
    """{target platform: {C++ toolchains selected}} from --toolchain_resolution_debug lines such
    as 'Target platform P: Selected execution platform E, type T -> toolchain X, ...'."""
    out = {}
    for platform, rest in re.findall(r"ToolchainResolution: Target platform (\S+): "
                                     r"Selected execution platform \S+, (.*)$", res.stderr, re.M):
        for tc in re.findall(r"type @bazel_tools//tools/cpp:toolchain_type -> toolchain ([^,\s]+)",
                             rest):
            out.setdefault(platform, set()).add(tc)
    assert out, f"no toolchain resolution lines in:\n{res.stderr[-3000:]}"
    return out


def compile_commands(b, query: str, *flags) -> dict:
    """{source: argv} of the CppCompile actions of query, from `bazel aquery`: the command
    lines a build with the same flags runs."""
    res = b.run("aquery", *flags, "--output=jsonproto", f'mnemonic("CppCompile", {query})')
    out = {}
    for action in json.loads(res.stdout).get("actions", []):
        argv = action["arguments"]
        out[argv[argv.index("-c") + 1]] = argv
    return out


def rules_of(res: subprocess.CompletedProcess) -> dict:
    """{name: (kind, attribute text)} from `bazel query --output=build`."""
    return {name: (kind, attrs) for kind, name, attrs in re.findall(
        r'^(\w+)\(\n  name = "(\w+)",\n(.*?)^\)', res.stdout, re.M | re.S)}


def processes(res: subprocess.CompletedProcess) -> dict:
    """{'internal': 12, 'linux-sandbox': 9} from Bazel's 'INFO: 21 processes: ...' line."""
    lines = re.findall(r"^INFO: \d+ process(?:es)?(?:: (.*))?\.$", res.stderr, re.M)
    assert lines, f"no 'processes' line in:\n{res.stderr[-3000:]}"
    parts = [p.strip() for p in (lines[-1] or "").split(",") if p.strip()]
    return {kind: int(n) for n, kind in (p.split(" ", 1) for p in parts)}


def spawns(log: Path) -> list:
    """The spawns of --execution_log_json_file: a stream of JSON objects."""
    text, decoder, pos, out = log.read_text(), json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)


def digests(folder: Path) -> dict:
    """sha256 of every output file under folder (runfiles trees are links to the same)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if ".runfiles" in p.relative_to(folder).as_posix() or not p.is_file():
            continue
        out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


EM_X86_64, EM_AARCH64 = 62, 183


def elf_machine(path: Path) -> int:
    """e_machine of an ELF file (62 = x86-64, 183 = aarch64)."""
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(head[18:20], "little")


def make_user_workspace(path: Path) -> Path:
    (path / "vision").mkdir(parents=True)
    (path / "WORKSPACE").write_text(USER_WORKSPACE.format(repo=ROOT))
    (path / "vision" / "BUILD").write_text(USER_BUILD)
    (path / "vision" / "classify.cc").write_text(USER_MAIN)
    shutil.copyfile(OUTSIDE_MODEL, path / "vision" / "mobilenet.tflite")
    return path


def _user_root_parent(tmp_path_factory) -> Path:
    """Output bases are ~10,000 files each: on tmpfs, when it has room, they are made and
    deleted in a fraction of the time a loaded disk takes."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 6 << 30:
        return Path(tempfile.mkdtemp(prefix="dlcoder-bazel-", dir=shm))
    return tmp_path_factory.mktemp("bazel_user_root")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A Bazel factory: one output_user_root and the offline bazelrc for all workspaces."""
    missing = [f"{tool} (apt-get install {pkg})" for tool, pkg in TOOLS.items()
               if shutil.which(tool) is None]
    if missing:
        pytest.fail("test_bazel.py needs " + ", ".join(missing))
    rc = tmp_path_factory.mktemp("bazel") / "offline.bazelrc"
    text = subprocess.run([ROOT / "tools" / "offline_bazelrc.sh"], check=True,
                          capture_output=True, text=True).stdout
    rc.write_text(text + "build --jobs=2 --color=no --curses=no\n")
    user_root = _user_root_parent(tmp_path_factory)
    made = []

    def make(workspace: Path) -> Bazel:
        made.append(Bazel(workspace, user_root, rc))
        return made[-1]

    yield make
    for b in made:
        b.shutdown()
    _rmtree(user_root)


# ---------------------------------------------------------------------------------------
# This repo: examples on the host, on aarch64, and with the table's x86-64 toolchain.

@pytest.fixture(scope="module")
def repo(env):
    return env(ROOT)


def test_repo_host(repo):
    res = repo.run("test", "//...")
    assert "//examples/stripes:stripes_test" in res.log
    assert re.search(r"Executed (\d+) out of \1 tests?: \1 tests? pass", res.log), res.log[-2000:]
    assert SIZE_WARNING not in res.log, res.log[-2000:]
    out = repo.run("run", "//examples/stripes:main").stdout
    assert "4 of 4 right" in out, out
    out = repo.run("run", "//examples/vector:main").stdout
    assert re.search(r"a \. b\s+= \[44\.5\]", out) and re.search(r"mean a, b\s+= \[2\.5 2\.875\]", out), out


def test_plain_build_optimizes_generated_sources(repo):
    """No -c: fastbuild (-O0) for main.cc, -O2 for the generated library, test and benchmark."""
    repo.run("build", "//examples/stripes:all")
    commands = compile_commands(repo, "//examples/stripes:all")
    generated = {src: argv for src, argv in commands.items() if "/_dlcoder/stripes/" in src}
    assert {os.path.basename(s) for s in generated} == {
        "stripes.cc", "stripes_arena.cc", "stripes_test.cc", "stripes_benchmark.cc"}, sorted(commands)
    for src, argv in generated.items():
        assert "/k8-fastbuild/" in src and "-O2" in argv, argv
    assert "-O2" not in commands["examples/stripes/main.cc"]
    lib = next(argv for src, argv in generated.items() if src.endswith("/stripes.cc"))
    print("plain bazel build compiles:", " ".join(lib))


def test_repo_aarch64_under_qemu(repo):
    res = repo.run("test", "--config=aarch64", "//...")
    assert re.search(r"Executed (\d+) out of \1 tests?: \1 tests? pass", res.log), res.log[-2000:]
    assert SIZE_WARNING not in res.log, res.log[-2000:]
    out = repo.run("run", "--config=aarch64", "//examples/stripes:main").stdout
    assert "4 of 4 right" in out, out
    assert elf_machine(repo.bin_dir("--config=aarch64") / "examples" / "stripes" / "main") == EM_AARCH64


def test_repo_table_x86_64_toolchain(repo):
    flags = ["--config=x86_64"]   # opt-in: the toolchain is not registered (.bazelrc)
    selected = cc_toolchains(repo.run("build", "--nobuild", "--toolchain_resolution_debug",
                                      *flags, "//examples/vector:all"))
    assert selected["//toolchains:linux_x86_64"] == {"//toolchains:linux_x86_64_cc"}, selected
    res = repo.run("test", *flags, "//examples/vector:all")
    assert re.search(r"//examples/vector:vector_test +PASSED", res.log), res.log[-2000:]
    out = repo.run("run", *flags, "//examples/vector:main").stdout
    assert "a + b      = [1.5 1 5 14]" in out, out
    assert elf_machine(repo.bin_dir(*flags) / "examples" / "vector" / "main") == EM_X86_64


# ---------------------------------------------------------------------------------------
# A user workspace outside the repo, with a model the examples never use.

@pytest.fixture(scope="module")
def user(env, tmp_path_factory):
    """The user workspace, built and tested once on the host; the spawns of that build are
    in user.exec_log."""
    ws = make_user_workspace(tmp_path_factory.mktemp("user_ws"))
    b = env(ws)
    b.exec_log = ws.parent / (ws.name + "_exec.json")
    res = b.run("test", "//vision:all", f"--execution_log_json_file={b.exec_log}")
    assert re.search(r"//vision:mobilenet_test +PASSED", res.log), res.log[-2000:]
    return b


def read_test_log(b: Bazel, target: str, *flags) -> str:
    pkg, name = target.lstrip("/").split(":")
    logs = Path(b.run("info", *flags, "bazel-testlogs").stdout.strip())
    return (logs / pkg / name / "test.log").read_text()


def test_user_workspace_host(user):
    log = read_test_log(user, "//vision:mobilenet_test")
    assert re.search(r"output 0: max abs err .*, relative .* ok", log), log[-2000:]
    assert "PASS" in log
    assert user.run("run", "//vision:classify").stdout.startswith("class ")
    bench = user.run("run", "//vision:mobilenet_benchmark", "--", "3", "2").stdout
    assert re.search(r"^threads: 2$", bench, re.M), bench
    assert re.search(r"^latency_median_us: [0-9.]+$", bench, re.M), bench
    assert re.search(r"^arena_bytes: [1-9]\d*$", bench, re.M), bench
    assert re.search(r"^weight_bytes: [1-9]\d*$", bench, re.M), bench


def test_user_workspace_aarch64(user):
    res = user.run("test", *AARCH64, f"--run_under={QEMU}", "//vision:mobilenet_test")
    assert re.search(r"//vision:mobilenet_test +PASSED", res.log), res.log[-2000:]
    assert SIZE_WARNING not in res.log, res.log[-2000:]
    log = read_test_log(user, "//vision:mobilenet_test", *AARCH64)
    assert re.search(r"output 0: max abs err .*, relative .* ok", log), log[-2000:]
    user.run("build", *AARCH64, "//vision:classify")
    assert elf_machine(user.bin_dir(*AARCH64) / "vision" / "classify") == EM_AARCH64


def test_host_build_keeps_bazels_cc_toolchain(user):
    """Platform-based toolchain resolution (on by default from Bazel 7): the user's own host
    code gets Bazel's auto-configured toolchain; dlcoder's registered aarch64 toolchain is
    selected only for its platform."""
    flags = ["--nobuild", "--incompatible_enable_cc_toolchain_resolution",
             "--toolchain_resolution_debug"]
    host = cc_toolchains(user.run("build", *flags, "//vision:all"))
    assert host == {HOST_PLATFORM: {AUTO_CC}}, host
    cross = cc_toolchains(user.run("build", *flags, *AARCH64, "//vision:all"))
    assert cross.pop("@dlcoder//toolchains:linux_aarch64") == {
        "@dlcoder//toolchains:linux_aarch64_cc"}, cross
    assert cross.get(HOST_PLATFORM, {AUTO_CC}) == {AUTO_CC}, cross   # exec tools


def test_noop_rebuild_runs_no_action(user):
    user.run("build", "//vision:all")
    res = user.run("build", "//vision:all")
    assert set(processes(res)) <= {"internal"}, res.stderr[-2000:]
    print(f"no-op rebuild: {res.seconds:.2f} s")


def test_new_model_bytes_regenerate_and_relink(user, tmp_path):
    model = user.workspace / "vision" / "mobilenet.tflite"
    original = model.read_bytes()
    bin_dir = user.bin_dir() / "vision"
    user.run("build", "//vision:all")
    before = digests(bin_dir)
    data = bytearray(original)
    pos = len(data) // 2 // 4 * 4   # the low byte of a float32 weight: a small, valid change
    data[pos] ^= 0x01
    try:
        model.write_bytes(bytes(data))
        log = tmp_path / "exec.json"
        res = user.run("test", "//vision:all", f"--execution_log_json_file={log}")
        assert re.search(r"//vision:mobilenet_test +PASSED", res.log), res.log[-2000:]
        ran = [s["mnemonic"] for s in spawns(log)]
        assert ran.count("DlcoderGenerate") == 1 and "IncbinAssemble" in ran, ran
        after = digests(bin_dir)
        lib = "_dlcoder/mobilenet/lib/"
        for f in (lib + "mobilenet_weights.bin", "mobilenet_weights.o", "mobilenet_test",
                  "mobilenet_benchmark", "classify"):
            assert before[f] != after[f], f"{f} did not change"
    finally:
        model.write_bytes(original)


def test_generator_action_is_hermetic(user):
    gen = [s for s in spawns(user.exec_log) if s["mnemonic"] == "DlcoderGenerate"]
    assert len(gen) == 1
    g = gen[0]
    assert g["runner"] == "linux-sandbox" and g["remotable"] and g["cacheable"], g["runner"]
    assert not [a for a in g["commandArgs"] if a.startswith("/")], g["commandArgs"]
    names = {v["name"] for v in g.get("environmentVariables", [])}
    assert names == {"PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED"}, names
    assert "vision/mobilenet.tflite" in {i["path"] for i in g["inputs"]}


def test_gen_test_and_gen_benchmark_choose_targets(user):
    pkg = user.workspace / "variants"
    pkg.mkdir(exist_ok=True)
    (pkg / "BUILD").write_text(
        'load("@dlcoder//rules:defs.bzl", "dl_code_library")\n'
        'M = "//vision:mobilenet.tflite"\n'
        'dl_code_library(name = "bare", model = M, gen_test = False, gen_benchmark = False)\n'
        'dl_code_library(name = "bench", model = M, gen_test = False)\n')
    try:
        res = user.run("query", "kind('cc_.* rule|incbin_object', //variants:all)")
    finally:
        shutil.rmtree(pkg)
    found = {line.split()[-1] for line in res.stdout.splitlines()}
    assert found == {"//variants:bare", "//variants:bare_weights", "//variants:bench",
                     "//variants:bench_weights", "//variants:bench_benchmark"}, found


PASSTHROUGH_BUILD = """\
load("@dlcoder//rules:defs.bzl", "dl_code_library")

dl_code_library(
    name = "passed",
    model = "//vision:mobilenet.tflite",
    copts = ["-DUSER_FLAG"],
    deprecation = "use passed_v2",
    size = "medium",
    tags = ["manual", "team_x"],
    testonly = True,
    timeout = "long",
    visibility = ["//visibility:public"],
)

dl_code_library(
    name = "debuggable",
    model = "//vision:mobilenet.tflite",
    gen_benchmark = False,
    optimize = False,
)
"""


def test_attributes_pass_through_and_optimize_false(user):
    pkg = user.workspace / "passthrough"
    pkg.mkdir(exist_ok=True)
    (pkg / "BUILD").write_text(PASSTHROUGH_BUILD)
    try:
        rules = rules_of(user.run("query", "--output=build", "//passthrough:all"))
        commands = compile_commands(user, "//passthrough:passed + //passthrough:debuggable")
    finally:
        shutil.rmtree(pkg)
    created = {n for n in rules if n.startswith("passed")}
    assert {"passed", "passed_test", "passed_benchmark", "passed_gen", "passed_weights"} <= created
    for name in created:
        kind, attrs = rules[name]
        assert 'tags = ["manual", "team_x"]' in attrs, (name, attrs)
        assert 'deprecation = "use passed_v2"' in attrs, (name, attrs)
        assert ("testonly = 1" in attrs or "testonly = True" in attrs
                or kind == "cc_test"), (name, attrs)
        public = name in ("passed", "passed_test", "passed_benchmark")
        assert ('visibility = ["//visibility:public"]' in attrs) == public, (name, attrs)
    test = rules["passed_test"][1]
    assert 'size = "medium"' in test and 'timeout = "long"' in test, test
    assert 'size = "small"' in rules["debuggable_test"][1]
    by_name = {os.path.basename(s): argv for s, argv in commands.items()}
    passed = by_name["passed.cc"]
    assert passed.index("-O2") < passed.index("-DUSER_FLAG"), passed
    assert "-O2" not in by_name["debuggable.cc"], by_name["debuggable.cc"]


@pytest.mark.parametrize("package", sorted(BAD_PACKAGES))
def test_fail_names_target_and_fix(user, package):
    rule, message = BAD_PACKAGES[package]
    pkg = user.workspace / "errors" / package
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "BUILD").write_text(
        'load("@dlcoder//rules:defs.bzl", "dl_code_library", "tflite_model")\n' + rule + "\n")
    try:
        res = user.run("build", "--nobuild", f"//errors/{package}:all", ok=False)
    finally:
        shutil.rmtree(pkg)
    assert res.returncode != 0
    assert message in res.stderr, res.stderr[-2000:]
    assert f"//errors/{package}" in res.stderr


def test_lock_pins_every_requirement_by_hash():
    lock = (ROOT / "rules" / "requirements_lock.txt").read_text()
    reqs = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock, re.M)
    names = {n.lower().replace("_", "-") for n, _ in reqs}
    assert {"tflite", "numpy", "jinja2", "flatbuffers", "ai-edge-litert"} <= names
    blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", lock, flags=re.M)[1:]
    assert len(blocks) == len(reqs) and all("--hash=sha256:" in b for b in blocks)


# ---------------------------------------------------------------------------------------
# Caches and reproducibility, in a workspace of their own (they clean it).

class Nginx:
    """nginx with WebDAV PUT on a free loopback port: a Bazel HTTP remote cache. Bazel
    uploads an action's outputs over up to 100 connections at once (--remote_max_connections):
    with nginx's 64 the generation action's 60 outputs overflowed it, Bazel warned "errors
    during bulk transfer" and left the action out of the cache."""

    CONF = """\
{user}worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location / {{
      root {d}/cache;
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }}
  }}
}}
"""

    def __init__(self, folder: Path):
        (folder / "cache").mkdir(parents=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.folder = folder
        # As root, workers would run as nobody and could not write the 0700 pytest folder.
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = folder / "nginx.conf"
        conf.write_text(self.CONF.format(user=user, d=folder, port=self.port))
        self.proc = subprocess.Popen(["nginx", "-p", folder, "-e", folder / "error.log", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"nginx did not start: {self.proc.stderr.read().decode()[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list:
        """(method, status) of every request so far."""
        log = (self.folder / "access.log").read_text()
        return re.findall(r'"([A-Z]+) \S+ HTTP/[\d.]+" (\d+)', log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cache(env, tmp_path_factory):
    """A user workspace built once from clean with an empty --disk_cache. Its outputs are
    the first of the two clean builds compared for reproducibility."""
    b = env(make_user_workspace(tmp_path_factory.mktemp("cache_ws")))
    b.disk_cache = tmp_path_factory.mktemp("disk_cache")
    res = b.run("build", "//vision:all", f"--disk_cache={b.disk_cache}")
    b.clean_build_seconds = res.seconds
    b.first = digests(b.bin_dir() / "vision")
    b.first_processes = processes(res)
    return b


@pytest.fixture(scope="module")
def remote(cache, tmp_path_factory):
    """nginx, and one clean build against it: the cache starts empty, so every action runs
    locally (the second clean build for reproducibility) and is uploaded."""
    server = Nginx(tmp_path_factory.mktemp("nginx"))
    try:
        cache.run("clean")
        res = cache.run("build", "//vision:all", f"--remote_cache={server.url}")
        server.upload_processes = processes(res)
        server.second = digests(cache.bin_dir() / "vision")
        yield server
    finally:
        server.stop()


def test_disk_cache_hits_every_action_after_clean(cache):
    cache.run("clean")
    res = cache.run("build", "//vision:all", f"--disk_cache={cache.disk_cache}")
    counts = processes(res)
    executed = cache.first_processes.get("linux-sandbox", 0)
    assert executed > 0
    # Bazel 4 reports disk cache hits as "remote cache hit".
    assert counts.get("remote cache hit") == executed, counts
    assert set(counts) <= {"remote cache hit", "internal"}, counts
    print(f"clean build {cache.clean_build_seconds:.1f} s; after clean with --disk_cache: "
          f"{counts} in {res.seconds:.1f} s")


def test_two_clean_builds_are_byte_identical(cache, remote):
    assert remote.upload_processes.get("linux-sandbox", 0) == cache.first_processes["linux-sandbox"]
    assert cache.first.keys() == remote.second.keys()
    differ = [f for f in cache.first if cache.first[f] != remote.second[f]]
    assert not differ, f"differ between two clean builds: {differ}"
    assert "_dlcoder/mobilenet/lib/mobilenet_weights.bin" in cache.first


def test_remote_http_cache_hits(cache, remote):
    assert ("PUT", "201") in remote.requests()
    cache.run("clean")
    res = cache.run("build", "//vision:all", f"--remote_cache={remote.url}")
    counts = processes(res)
    assert counts.get("remote cache hit") == remote.upload_processes["linux-sandbox"], counts
    assert set(counts) <= {"remote cache hit", "internal"}, counts
    assert ("GET", "200") in remote.requests()
    print(f"after clean with the HTTP cache: {counts} in {res.seconds:.1f} s")


# ---------------------------------------------------------------------------------------
# Custom ops: examples/custom_op in a user workspace, on the host and on aarch64.

def _custom_op_reference():
    """TFLite on the same graph without the custom op, for main.cc's ramp input."""
    import numpy as np

    from dlcoder import verify as V
    x = ((np.arange(256) % 17 - 8) / 4).astype(np.float32).reshape(1, 8, 8, 4)
    ref = V.reference_run(str(ROOT / "examples" / "custom_op" / "reference.tflite"), [x])[0][0]
    return ref.ravel()


def _custom_op_outputs(text: str):
    import numpy as np
    return np.array(text.split(), dtype=np.float32)


def test_custom_op_example_builds_and_regenerates(env, tmp_path):
    """dlcoder_custom_op + dl_code_library(custom_ops = ...): the output matches TFLite on
    the graph without the custom op, on the host and under qemu; editing the kernel header,
    then the plug-in, regenerates the library (one DlcoderGenerate each)."""
    import numpy as np

    from dlcoder import verify as V
    ws = tmp_path / "ws"
    pkg = ws / "ops"
    shutil.copytree(ROOT / "examples" / "custom_op", pkg)
    (ws / "WORKSPACE").write_text(USER_WORKSPACE.format(repo=ROOT))
    build = (pkg / "BUILD.bazel").read_text().replace('"//rules:defs.bzl"', '"@dlcoder//rules:defs.bzl"')
    (pkg / "BUILD.bazel").write_text(build)
    b = env(ws)
    ref = _custom_op_reference()
    ours = _custom_op_outputs(b.run("run", "//ops:main").stdout)
    assert V.compare(ours, ref).ok, (ours[:8], ref[:8])
    cross = b.run("run", *AARCH64, f"--run_under={QEMU}", "//ops:main").stdout
    np.testing.assert_array_equal(_custom_op_outputs(cross), ours)
    assert elf_machine(b.bin_dir(*AARCH64) / "ops" / "main") == EM_AARCH64

    kernel = pkg / "my_op_kernel.h"
    kernel.write_text(kernel.read_text().replace("y[i] = p.scale * v;", "y[i] = p.scale * v + 1.0f;"))
    log = tmp_path / "exec.json"
    out = b.run("run", "//ops:main", f"--execution_log_json_file={log}").stdout
    assert [s["mnemonic"] for s in spawns(log)].count("DlcoderGenerate") == 1
    np.testing.assert_array_equal(_custom_op_outputs(out), ours + np.float32(1))

    plugin = pkg / "ops.py"
    plugin.write_text(plugin.read_text().replace("alpha, scale = _options(node)",
                                                 "alpha, scale = _options(node)\n    scale *= 2"))
    out = b.run("run", "//ops:main").stdout
    np.testing.assert_array_equal(_custom_op_outputs(out), 2 * ours + np.float32(1))
