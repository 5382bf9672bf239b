"""A small REAPI worker for BuildGrid: takes leases over the Remote Workers API and runs them.

BuildGrid (PyPI `buildgrid`) is the Remote Execution API server; its usual workers (buildbox)
are not packaged on Debian or PyPI. This worker speaks the Bots API (RWAPI v1test2, whose protos
ship in BuildGrid's wheel): it opens a BotSession, and for each lease the server hands it

  1. reads the Action (or its digest) from the lease, then the Command and the input root
     from the CAS,
  2. lays the input root out in a fresh sandbox folder and creates the output files' folders,
  3. runs the Command's arguments there with exactly the Command's environment (nothing of the
     worker's own environment leaks in, as on a remote machine),
  4. uploads the declared outputs that exist, stdout and stderr, and completes the lease with
     the ActionResult, which BuildGrid stores in its action cache and returns to Bazel.

It is the "worker image" of the README's "Remote execution" section: whatever the actions run
outside their inputs (the interpreter the rules pin, the compilers) must exist on this machine.

    python3 tools/reapi/worker.py --server 127.0.0.1:50051 --instance dlcoder --work-dir /tmp/w

It runs until killed (SIGTERM/SIGINT); one process runs one action at a time, so start several
for parallel actions.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2 as re_pb2
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import bots_pb2, bots_pb2_grpc
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import worker_pb2
from buildgrid.server.client.cas import Downloader, Uploader

# How long one UpdateBotSession may wait for work. BuildGrid answers after 80% of it when no
# lease came, and assigns nothing when that is under its 3 s network timeout.
POLL_SECONDS = 6.0
# How often a bot that runs an action tells the server it is alive; below the keepalive
# timeout of tools/reapi/buildgrid.yml.
HEARTBEAT_SECONDS = 3.0


def _parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True, help="HOST:PORT of BuildGrid (bots + CAS)")
    p.add_argument("--instance", default="", help="REAPI instance name")
    p.add_argument("--work-dir", required=True, help="where the sandboxes are made")
    p.add_argument("--bot-id", default=f"{socket.gethostname()}-{os.getpid()}")
    return p.parse_args(argv)


def _new_session(bot_id: str) -> bots_pb2.BotSession:
    """An idle, healthy bot with one device (this machine): capacity 1, no platform keys, so
    BuildGrid may assign it any action of the instance."""
    session = bots_pb2.BotSession(bot_id=bot_id, status=bots_pb2.BotStatus.OK)
    session.worker.devices.append(worker_pb2.Device(handle=bot_id))
    return session


def _read_action(lease: bots_pb2.Lease, cas: Downloader) -> re_pb2.Action:
    """BuildGrid packs either the Action itself or its digest into the lease's payload."""
    action = re_pb2.Action()
    if lease.payload.Is(action.DESCRIPTOR):
        lease.payload.Unpack(action)
        return action
    digest = re_pb2.Digest()
    lease.payload.Unpack(digest)
    return cas.get_message(digest, action)


def _declared_outputs(command: re_pb2.Command) -> list[str]:
    """The output paths, relative to the working directory: REAPI v2.1 clients send
    output_paths, older ones (Bazel 4) output_files and output_directories."""
    return list(command.output_paths) or [*command.output_files, *command.output_directories]


def _run(command: re_pb2.Command, cwd: Path, timeout: float | None):
    """Runs the command with only its own environment; a timeout is exit code 124 (as
    coreutils' timeout) with a note on stderr."""
    env = {v.name: v.value for v in command.environment_variables}
    try:
        res = subprocess.run(list(command.arguments), cwd=cwd, env=env, capture_output=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
        return res.returncode, res.stdout, res.stderr
    except subprocess.TimeoutExpired as e:
        return 124, e.stdout or b"", (e.stderr or b"") + b"\nworker: action timed out\n"
    except OSError as e:  # e.g. the interpreter or compiler is missing on this worker
        return 127, b"", f"worker: cannot run {command.arguments[0]}: {e}\n".encode()


def _upload_outputs(command: re_pb2.Command, cwd: Path, exit_code: int, stdout: bytes,
                    stderr: bytes, cas: Uploader) -> re_pb2.ActionResult:
    """The ActionResult: every declared output that exists, plus stdout and stderr."""
    result = re_pb2.ActionResult(exit_code=exit_code)
    for rel in _declared_outputs(command):
        path = cwd / rel
        if path.is_dir():
            result.output_directories.add(path=rel, tree_digest=cas.upload_tree(str(path)))
        elif path.is_file():
            result.output_files.add(path=rel, digest=cas.upload_file(str(path)),
                                    is_executable=os.access(path, os.X_OK))
    result.stdout_digest.CopyFrom(cas.put_blob(io.BytesIO(stdout), length=len(stdout)))
    result.stderr_digest.CopyFrom(cas.put_blob(io.BytesIO(stderr), length=len(stderr)))
    cas.flush()
    return result


def execute(lease: bots_pb2.Lease, channel: grpc.Channel, instance: str,
            work_dir: Path) -> re_pb2.ActionResult:
    """Runs one leased action in its own sandbox folder, removed afterwards."""
    down = Downloader(channel, instance=instance)
    action = _read_action(lease, down)
    command = down.get_message(action.command_digest, re_pb2.Command())
    sandbox = Path(tempfile.mkdtemp(prefix="action-", dir=work_dir))
    try:
        t0 = time.monotonic()
        down.download_directory(action.input_root_digest, str(sandbox))
        down.flush()
        t1 = time.monotonic()
        cwd = sandbox / command.working_directory
        for rel in _declared_outputs(command):  # REAPI: the worker makes their parents
            (cwd / rel).parent.mkdir(parents=True, exist_ok=True)
        timeout = action.timeout.ToSeconds() if action.HasField("timeout") else None
        exit_code, stdout, stderr = _run(command, cwd, timeout or None)
        t2 = time.monotonic()
        result = _upload_outputs(command, cwd, exit_code, stdout, stderr,
                                 Uploader(channel, instance=instance))
        print(f"{command.arguments[0]}: exit {exit_code}; inputs {t1 - t0:.1f} s, run "
              f"{t2 - t1:.1f} s, outputs {time.monotonic() - t2:.1f} s", flush=True)
        return result
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)


def _complete(lease: bots_pb2.Lease, result: re_pb2.ActionResult | None, error: str = "") -> None:
    """Marks the lease done: OK with the result, or INTERNAL (BuildGrid then fails the
    execution and Bazel reports the message) when the worker itself failed."""
    lease.state = bots_pb2.LeaseState.COMPLETED
    if result is not None:
        lease.result.Pack(result)
    lease.status.code = 13 if error else 0  # google.rpc.Code INTERNAL / OK
    lease.status.message = error


class Bot:
    """One BotSession on the server, kept alive by long-polls and by heartbeats while an
    action runs (BuildGrid requeues the leases of a bot silent for its keepalive timeout)."""

    def __init__(self, channel: grpc.Channel, instance: str, bot_id: str):
        self.stub = bots_pb2_grpc.BotsStub(channel)
        self.session = self._call(self.stub.CreateBotSession, bots_pb2.CreateBotSessionRequest(
            parent=instance, bot_session=_new_session(bot_id)))

    @staticmethod
    def _call(rpc, request) -> bots_pb2.BotSession:
        """A timed-out or refused call is sent again: BuildGrid matches leases by bot_id, so
        a retried CreateBotSession still gets what was assigned during the lost one."""
        while True:
            try:
                return rpc(request, timeout=POLL_SECONDS, wait_for_ready=True)
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                    raise
                time.sleep(1)

    def update(self) -> None:
        """Reports the session (completed leases included) and takes what the server sends:
        new leases, or nothing after a long-poll without work."""
        self.session = self._call(self.stub.UpdateBotSession, bots_pb2.UpdateBotSessionRequest(
            name=self.session.name, bot_session=self.session))

    def lease(self, lease_id: str) -> bots_pb2.Lease | None:
        """The lease in the latest session; None once the server has dropped (cancelled) it."""
        return next((le for le in self.session.leases if le.id == lease_id), None)


def _run_with_heartbeat(bot: Bot, lease: bots_pb2.Lease, run) -> None:
    """Runs run(lease) in a thread, heartbeating meanwhile, and completes the lease in the
    bot's latest session (unless the server dropped it: cancelled)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run, lease)
        while not concurrent.futures.wait([future], timeout=HEARTBEAT_SECONDS).done:
            bot.update()
        try:
            result, error = future.result(), ""
        except Exception as e:  # report it on the lease; the bot stays up
            result, error = None, f"worker {bot.session.bot_id}: {type(e).__name__}: {e}"
    current = bot.lease(lease.id)
    if current is not None:
        _complete(current, result, error)


def serve(args: argparse.Namespace) -> None:
    """The bot loop: long-poll for work, run each ACTIVE lease, report it."""
    channel = grpc.insecure_channel(args.server)
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    bot = Bot(channel, args.instance, args.bot_id)
    while True:
        for lease in list(bot.session.leases):
            if lease.state == bots_pb2.LeaseState.ACTIVE:
                _run_with_heartbeat(bot, lease, lambda le: execute(le, channel, args.instance,
                                                                   work_dir))
        bot.update()


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(args)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
