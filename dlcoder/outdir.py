"""The folders `dlcoder generate` writes (--out-dir, --test-dir), and how.

A folder is built beside its place and renamed into it, which replaces whatever was there
as a whole. So dlcoder replaces a folder only when that loses nothing the user made: it
does not exist, holds no files (empty folders at most), or holds MARKER, the file dlcoder
writes into every folder it generates. Whatever it holds, it is never /, the home folder,
the current folder or one of its ancestors, a file, or a folder that contains the model.
Paths are compared resolved, symlinks followed. check() ends by making (and removing) a
folder where the new one will be built, so an unwritable place (/proc, a read-only file
system, no permission) is reported before the expensive work, not after it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dlcoder.errors import DlcoderError

MARKER = ".dlcoder-output"
MARKER_TEXT = b"dlcoder generate wrote this folder and replaces it as a whole on every run.\n"

_REPLACED = "which dlcoder would replace as a whole"


def check(path: str, flag: str = "output folder", model: str | None = None,
          apart_from: tuple[str, Path] | None = None) -> Path:
    """The resolved folder `path`, or a DlcoderError that names the rule it breaks and
    what to do. apart_from: (flag, resolved folder) of another output folder that must
    neither be `path` nor contain it nor lie inside it."""
    try:
        out = Path(path).resolve()
        why = _refusal(out, flag, model, apart_from)
    except OSError as e:
        why = f"cannot be checked: {e.strerror or e}"
    if why:
        raise DlcoderError(f"{flag} '{path}' {why}")
    place = out.parent
    while not place.exists():
        place = place.parent
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.", dir=place))
    except OSError as e:
        raise DlcoderError(f"{flag} '{path}' cannot be written: {place}: {e.strerror or e}; "
                           f"give a folder in a writable place") from None
    return out


def _refusal(out: Path, flag: str, model: str | None, apart_from) -> str | None:
    cwd = Path.cwd().resolve()
    try:
        home = Path.home().resolve()
    except (KeyError, RuntimeError):     # no HOME and no passwd entry
        home = None
    if out.parent == out:
        return f"is the root folder, {_REPLACED}; give a new or empty folder"
    if out == cwd:
        return (f"is the current folder, {_REPLACED}; give a new or empty subfolder "
                f"instead (e.g. {flag} generated)")
    if out in cwd.parents:
        return f"is an ancestor of the current folder, {_REPLACED}; give a new or empty folder"
    if out == home:
        return f"is your home folder, {_REPLACED}; give a new or empty folder"
    if out.exists() and not out.is_dir():
        return "is a file, not a folder; give a new or empty folder"
    above = next(p for p in out.parents if p.exists())
    if not above.is_dir():
        return f"is inside {above}, which is a file; give a new or empty folder"
    if model is not None and out in Path(model).resolve().parents:
        return f"contains the model {model}, {_REPLACED}; give a folder outside the model's"
    if apart_from is not None:
        other_flag, other = apart_from
        if out == other:
            return f"is the same folder as {other_flag}; give two separate folders"
        if other in out.parents:
            return f"is inside {other_flag}; give two separate folders"
        if out in other.parents:
            return f"contains {other_flag}; give two separate folders"
    if out.is_dir() and not _is_ours(out) and _holds_files(out):
        return (f"is not empty and was not written by dlcoder (it has no {MARKER} file), "
                f"{_REPLACED}; give a new or empty folder, or delete this one first")
    return None


def _is_ours(folder: Path) -> bool:
    marker = folder / MARKER
    return marker.is_file() and not marker.is_symlink()


def _holds_files(folder: Path) -> bool:
    """Anything but empty folders inside (a symlink counts, and is not followed)."""
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for e in entries:
                if not e.is_dir(follow_symlinks=False):
                    return True
                stack.append(e.path)
    return False


def write(files: dict, path: str) -> None:
    """Write `files` (relative path -> bytes) and MARKER into a fresh folder beside the
    folder `path` (which must pass check()), then swap it into place: `path` is either the
    old output or the complete new one, never half written. An OSError (no space left, a
    read-only file system, ...) becomes a DlcoderError that names `path`."""
    out = check(path)
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        for rel, data in sorted({**files, MARKER: MARKER_TEXT}.items()):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, old / "x")
            try:
                os.rename(tmp, out)
            except OSError:
                os.rename(old / "x", out)
                raise
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    except BaseException as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            where = f" ({e.filename})" if e.filename else ""
            raise DlcoderError(f"cannot write '{path}': {e.strerror or e}{where}") from e
        raise
