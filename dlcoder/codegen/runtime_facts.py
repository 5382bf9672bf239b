"""Facts that the generator shares with the runtime, read out of the runtime's headers.

The runtime (runtime/dlcoder_rt/*.h) is the one source of the constants the generator
sizes and packs data with (kPanel, kMaxMR, kWinoMaxGroup, ...) and of the field order of
the parameter structs it initializes (ConvParams, GemmParams, ...). Python reads them here
instead of copying them, so that a change on the C++ side reaches the generator, or stops
it with a message naming the header, never silently changes the numbers. Facts that Python
derives by a formula of its own (a kernel's scratch size) are checked the other way: the
generated code static_asserts them against the runtime's (e.g. params.h: wino_scratch).

The reader is strict on purpose, a grammar of two lines rather than a C++ parser:
  constant  `constexpr int32_t kName = 123;` (or int, int64_t), at the start of its line,
            defined once in all the headers (kMR, once per ISA, is not such a fact);
  struct    `struct Name {` at the start of a line, defined once, up to `};`, every line in
            between a data member `Type a, b[kDims];` (a // comment may follow) or blank.
Anything else where the generator looks raises HeaderFactError.
"""
from __future__ import annotations

import re
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime" / "dlcoder_rt"
NAMESPACE = "dlcoder_rt::"

_CONSTANT = re.compile(r"constexpr (?:int|int32_t|int64_t) (?P<name>k\w+) = (?P<value>-?\d+);(?: *//.*)?")
_STRUCT = re.compile(r"struct (?P<name>\w+) \{(?: *//.*)?")
_MEMBER = re.compile(r"(?:const )?[A-Za-z_][\w:]*(?:<[\w:, ]+>)?\**\s+"
                     r"(?P<names>\w+(?:\[\w+\])?(?:, \w+(?:\[\w+\])?)*);")


class HeaderFactError(RuntimeError):
    """The generator cannot read a fact it needs from the runtime's headers: a bug in
    dlcoder (the headers and the generator disagree), never in the user's model."""


class RuntimeHeaders:
    """The constants and struct layouts of the runtime headers in `folder` (read once)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lines = None
        self._fields = {}

    def _headers(self) -> dict:
        if self._lines is None:
            self._lines = {p.name: p.read_text().splitlines() for p in sorted(self.folder.glob("*.h"))}
            if not self._lines:
                raise HeaderFactError(f"no runtime headers in {self.folder}")
        return self._lines

    def _find(self, pattern: str, what: str) -> tuple:
        """(header, line number, lines) of the one line that starts with `pattern`."""
        hits = [(h, i, lines) for h, lines in self._headers().items()
                for i, line in enumerate(lines) if re.match(pattern, line)]
        if len(hits) != 1:
            where = ", ".join(f"{h}:{i + 1}" for h, i, _ in hits) or "none"
            raise HeaderFactError(f"{what} must be defined exactly once in {self.folder} "
                                  f"(at the start of a line); found: {where}")
        return hits[0]

    def constant(self, name: str) -> int:
        """The value of `constexpr int32_t name = <integer literal>;`."""
        header, i, lines = self._find(rf"constexpr\b[^=]*\b{name}\b\s*=", f"constant {name}")
        m = _CONSTANT.fullmatch(lines[i].strip())
        if not m:
            raise HeaderFactError(f"{header}:{i + 1}: constant {name} is not of the form "
                                  f"'constexpr int32_t {name} = <integer>;': {lines[i].strip()}")
        return int(m["value"])

    def fields(self, struct: str) -> tuple:
        """The data members of `struct` in declaration order (array members by name)."""
        name = struct[len(NAMESPACE):] if struct.startswith(NAMESPACE) else struct
        if name not in self._fields:
            self._fields[name] = self._read_struct(name)
        return self._fields[name]

    def _read_struct(self, name: str) -> tuple:
        header, start, lines = self._find(rf"struct {name}\b", f"struct {name}")
        if not _STRUCT.fullmatch(lines[start].strip()):
            raise HeaderFactError(f"{header}:{start + 1}: expected 'struct {name} {{' alone on "
                                  f"its line: {lines[start].strip()}")
        names = []
        for i in range(start + 1, len(lines)):
            line = lines[i].split("//")[0].strip()
            if line == "};":
                if not names:
                    raise HeaderFactError(f"{header}:{start + 1}: struct {name} has no fields")
                return tuple(names)
            if not line:
                continue
            m = _MEMBER.fullmatch(line)
            if not m:
                raise HeaderFactError(f"{header}:{i + 1}: struct {name}: not a plain data member "
                                      f"('Type a, b;'), which the generator cannot initialize: {line}")
            names += [n.split("[")[0] for n in m["names"].split(", ")]
        raise HeaderFactError(f"{header}:{start + 1}: struct {name} has no closing '}};'")


# The runtime that generated libraries copy (codegen/emitter.py) and that the op table
# reads its facts from.
RUNTIME = RuntimeHeaders(RUNTIME_DIR)


def constant(name: str) -> int:
    return RUNTIME.constant(name)


def fields(struct: str) -> tuple:
    return RUNTIME.fields(struct)
