"""Bazel remote execution (REAPI) on a real engine, offline (issue 17 item 9).

BuildGrid 0.4.4 (PyPI `buildgrid`) serves the Execution, CAS, ActionCache and Bots APIs on
loopback with tools/reapi/buildgrid.yml. Its scheduler keeps jobs in PostgreSQL (it refuses
SQLite), so a throwaway cluster runs on loopback too. BuildGrid's own workers (buildbox) are
not packaged here: two tools/reapi/worker.py processes take the leases over the Remote Workers
API and run them in sandbox folders of their own.

One Bazel output base builds //examples/vector:main (the smallest example: generation, the
library's compiles, the weights' assembly, links) twice: first locally (sandboxed), then, after
`bazel clean`, with --remote_executor. The second build runs every action on the workers
(execution log: runner "remote", no cache hit; Bazel's summary counts only remote and internal
processes) and writes byte-identical outputs.

Needs bazel, g++, PostgreSQL's server (apt-get install postgresql) and the `reapi` extra
(pip install '.[reapi]': buildgrid, psycopg2-binary); a missing one fails the module.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from support import ROOT
from test_bazel import Bazel, _rmtree, _user_root_parent, digests, processes, spawns

TARGET = "//examples/vector:main"
INSTANCE = "dlcoder"
WORKERS = 2   # the machine's cores
# Every action of TARGET that is not Bazel-internal (symlinks, manifests, params files).
MNEMONICS = {"DlcoderGenerate", "CppCompile", "IncbinAssemble", "CppLink"}

pytestmark = pytest.mark.xdist_group("remote_exec")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, seconds: float) -> None:
    """Until something accepts on 127.0.0.1:port; fails with the log if proc exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[:3]} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"nothing listens on port {port} after {seconds} s:\n{log.read_text()[-3000:]}")


def _stop(procs: list) -> None:
    """SIGTERM to all, then SIGKILL to those still up after 3 s: their state is throwaway."""
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + 3
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Postgres:
    """A PostgreSQL cluster in a temporary folder, on a free loopback port, trusting local
    users. The server refuses to run as root, so under root it runs as `postgres` (the user
    Debian's package makes)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            pytest.fail("test_remote_exec.py needs PostgreSQL (apt-get install postgresql)")
        self.bin = Path(found[-1]).parent
        self.port = _free_port()
        # Not under pytest's tmp folder: `postgres` must be able to reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="dlcoder-pg-"))
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")
        data, log = self.folder / "data", self.folder / "postgres.log"
        self._run("initdb", "-D", data, "-U", "bgd", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "120", "start", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off")
        self._run("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "bgd", "bgd")
        self.url = f"postgresql+psycopg2://bgd@127.0.0.1:{self.port}/bgd"

    def _run(self, tool: str, *args) -> None:
        cmd = self.as_user + [str(self.bin / tool), *map(str, args)]
        res = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")

    def close(self) -> None:
        self._run("pg_ctl", "-D", self.folder / "data", "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _bgd(*args) -> list:
    """BuildGrid's `bgd` command on this interpreter (where the reapi extra installed it)."""
    return [sys.executable, "-c", "from buildgrid.server.app import cli; cli()", *map(str, args)]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """BuildGrid on a free loopback port, WORKERS workers; yields the server's HOST:PORT."""
    try:
        import buildgrid  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError as e:
        pytest.fail(f"test_remote_exec.py needs the reapi extra (pip install '.[reapi]'): {e}")
    folder = tmp_path_factory.mktemp("buildgrid")
    db = Postgres()
    procs = []
    try:
        subprocess.run(_bgd("migrate", "apply", db.url), check=True, capture_output=True)
        port = _free_port()
        config = folder / "buildgrid.yml"
        config.write_text((ROOT / "tools" / "reapi" / "buildgrid.yml").read_text().format(
            port=port, database=db.url))
        log = folder / "server.log"
        procs.append(subprocess.Popen(_bgd("server", "start", config), stdout=log.open("w"),
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        _wait_for_port(port, procs[0], log, 180)   # it takes 5-25 s here
        for i in range(WORKERS):
            procs.append(subprocess.Popen(
                [sys.executable, ROOT / "tools" / "reapi" / "worker.py", "--server",
                 f"127.0.0.1:{port}", "--instance", INSTANCE, "--work-dir", folder / f"w{i}",
                 "--bot-id", f"test-worker-{i}"],
                stdout=(folder / f"worker{i}.log").open("w"), stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL))
        yield f"127.0.0.1:{port}", folder
    finally:
        _stop(procs)
        db.close()


@pytest.fixture(scope="module")
def builds(grid, tmp_path_factory):
    """(local build, its outputs, remote build, its outputs, the remote build's spawns)."""
    address, folder = grid
    rc = folder / "offline.bazelrc"
    rc.write_text(subprocess.run([ROOT / "tools" / "offline_bazelrc.sh"], check=True,
                                 capture_output=True, text=True).stdout
                  + "build --jobs=2 --color=no --curses=no\n")
    user_root = _user_root_parent(tmp_path_factory)
    b = Bazel(ROOT, user_root, rc)
    try:
        local = b.run("build", TARGET)
        out = b.bin_dir() / "examples" / "vector"
        local_out = digests(out)
        b.run("clean")
        log = folder / "exec.json"
        remote = b.run("build", TARGET, f"--remote_executor=grpc://{address}",
                       f"--remote_instance_name={INSTANCE}", "--spawn_strategy=remote",
                       # fewer parallel uploads than the server's gRPC threads
                       "--remote_max_connections=8", f"--execution_log_json_file={log}")
        yield local, local_out, remote, digests(out), spawns(log)
    finally:
        b.shutdown()
        _rmtree(user_root)


def test_generation_and_compiles_execute_remotely(builds, grid):
    local, _, remote, _, spawned = builds
    gen = next(s for s in spawned if s["mnemonic"] == "DlcoderGenerate")
    print(f"local build {local.seconds:.0f} s, {processes(local)}; remote build "
          f"{remote.seconds:.0f} s, {processes(remote)}; the generation action's inputs: "
          f"{len(gen['inputs'])} files")
    counts = processes(remote)
    assert set(counts) == {"remote", "internal"}, counts
    by_mnemonic = {}
    for s in spawned:
        by_mnemonic.setdefault(s["mnemonic"], []).append(s)
    assert set(by_mnemonic) == MNEMONICS, sorted(by_mnemonic)
    for s in spawned:
        assert s["runner"] == "remote" and not s.get("remoteCacheHit"), s["mnemonic"]
    assert counts["remote"] == len(spawned)
    logs = "".join((grid[1] / f"worker{i}.log").read_text() for i in range(WORKERS))
    assert logs.count(": exit 0;") == len(spawned), logs   # each ran once, on a worker
    assert "bin/tools/dlcoder_gen: exit 0" in logs, logs


def test_remote_outputs_are_byte_identical(builds):
    _, local_out, _, remote_out, _ = builds
    assert "_dlcoder/vector/lib/vector.cc" in local_out and "main" in local_out, sorted(local_out)
    changed = sorted(p for p in local_out.keys() | remote_out.keys()
                     if local_out.get(p) != remote_out.get(p))
    assert not changed, changed
