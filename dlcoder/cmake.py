"""The CMake package shipped in the wheel: `python -m dlcoder --cmake-dir` prints its folder.

A CMake project then runs `find_package(DLCoder)` with `-DDLCoder_DIR=$(python -m dlcoder
--cmake-dir)`. The folder also holds `toolchains/`, CMake toolchain files such as
`aarch64-linux-gnu.cmake`.

Printing the folder writes nothing. DLCoderConfig.cmake finds the interpreter that runs the
generator by itself (the one of the prefix it is installed in, else FindPython's), so the
installed package holds only what pip put there and `pip uninstall` removes all of it.
"""
from __future__ import annotations

from pathlib import Path


def cmake_dir() -> str:
    """The folder holding DLCoderConfig.cmake."""
    return str(Path(__file__).resolve().parent / "cmake")
