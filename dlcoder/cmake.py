"""The CMake package shipped in the wheel: `python -m dlcoder --cmake-dir` prints its folder.

A CMake project then runs `find_package(DLCoder)` with `-DDLCoder_DIR=$(python -m dlcoder
--cmake-dir)`. The package needs the Python interpreter that has dlcoder to run the generator
at build time, so printing the folder also records this interpreter there, in
`python-executable.txt` (DLCoderConfig.cmake reads it). When the folder is read-only, nothing
is recorded and the config derives the interpreter from the install prefix instead.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

RECORD = "python-executable.txt"


def cmake_dir() -> str:
    """The folder holding DLCoderConfig.cmake; records sys.executable beside it."""
    folder = Path(__file__).resolve().parent / "cmake"
    record_interpreter(folder)
    return str(folder)


def record_interpreter(folder: Path) -> None:
    """Write sys.executable to folder/RECORD if it differs; skip silently when read-only."""
    if not sys.executable:
        return
    record = folder / RECORD
    text = sys.executable + "\n"
    try:
        if record.read_text() == text:
            return
    except OSError:
        pass
    tmp = folder / f".{RECORD}.{os.getpid()}"
    try:
        tmp.write_text(text)
        os.replace(tmp, record)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
