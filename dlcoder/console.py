"""What the slow commands (generate, verify, bench) write to stderr beside their results.

Progress: one line per phase, "dlcoder: compiling the generated code (c++ -O2)..." when
the phase starts, completed by " done in 3.2 s" when it ends, so that a person watching
a 20-second `verify` sees where the time goes. Only when stderr is a terminal: a log
file, a pipe or a build system gets no progress, and --quiet turns it off. Results stay
on stdout, and the "dlcoder: note:" lines stay whatever --quiet says: a note reports a
choice made for the user (the shape a dynamic input got), not progress.

TFLite's own log lines: the interpreter's C++ runtime writes "INFO: Created TensorFlow
Lite XNNPACK delegate for CPU." straight to file descriptor 2 the first time a process
applies the XNNPACK delegate. `tflite_info_dropped` catches fd 2 around such calls and
drops those INFO lines; anything else written there (a TFLite warning or error) passes.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager

from dlcoder.compiler import note_on_stderr


def stderr_is_terminal() -> bool:
    """Whether a person is watching stderr (tests monkeypatch this, or run under a pty)."""
    return sys.stderr.isatty()


class Progress:
    """Phase lines on stderr, or nothing at all when disabled (see the module docstring)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._open = None       # the text of the phase whose line is waiting for its end
        self._broken = False    # whether something else was written since that line began

    @classmethod
    def for_command(cls, quiet: bool) -> "Progress":
        return cls(not quiet and stderr_is_terminal())

    @contextmanager
    def phase(self, text: str):
        """Announce `text` for the duration of the block, then how long it took (or that
        it failed: the error's own line follows on a line of its own)."""
        if not self.enabled:
            yield
            return
        self._write(f"dlcoder: {text}...")
        self._open, self._broken = text, False
        start = time.perf_counter()
        try:
            yield
        except KeyboardInterrupt:
            self._end("interrupted")
            raise
        except BaseException:
            self._end("failed")
            raise
        self._end(f"done in {time.perf_counter() - start:.1f} s")

    def note(self, text: str) -> None:
        """A "dlcoder: note:" line that starts on a line of its own even inside a phase
        (the `note` argument of compiler.load_graph)."""
        self.interrupt()
        note_on_stderr(text)

    def interrupt(self) -> None:
        """Close the open phase line before other text goes to stderr; its end is then
        written on a line of its own, which names the phase again."""
        if self._open is not None and not self._broken:
            self._write("\n")
            self._broken = True

    def _end(self, how: str) -> None:
        text, self._open = self._open, None
        self._write(f"dlcoder: {text}: {how}\n" if self._broken else f" {how}\n")

    @staticmethod
    def _write(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()


QUIET = Progress(False)


@contextmanager
def tflite_info_dropped(progress: Progress = QUIET):
    """Run the block with file descriptor 2 in a temporary file, then write back to stderr
    every line but TFLite's "INFO: " ones (after closing the progress line, if any)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as caught:
            os.dup2(caught.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                caught.seek(0)
                kept = [line for line in caught.read().decode(errors="replace").splitlines(keepends=True)
                        if not line.startswith("INFO: ")]
                if kept:
                    progress.interrupt()
                    sys.stderr.write("".join(kept))
                    sys.stderr.flush()
    finally:
        os.close(saved)
