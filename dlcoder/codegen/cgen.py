"""C literals and identifiers: the one place that formats values for generated code."""
from __future__ import annotations

import math
import re

import numpy as np

_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char",
    "class", "const", "constexpr", "continue", "default", "delete", "do", "double", "else",
    "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if",
    "inline", "int", "long", "namespace", "new", "not", "operator", "or", "private",
    "protected", "public", "register", "return", "short", "signed", "sizeof", "static",
    "struct", "switch", "template", "this", "throw", "true", "try", "typedef", "typename",
    "union", "unsigned", "using", "virtual", "void", "volatile", "while", "main",
}


def identifier(text: str) -> str:
    """Make a C identifier from arbitrary text (a file stem, a user name).

    >>> identifier("mobilenet_v2-1.0@224"), identifier("3d_unet"), identifier("class")
    ('mobilenet_v2_1_0_224', 'm_3d_unet', 'class_')
    """
    name = re.sub(r"[^0-9A-Za-z_]", "_", text)
    name = re.sub(r"_+", "_", name).strip("_") or "model"
    if name[0].isdigit():
        name = "m_" + name
    if name in _KEYWORDS:
        name += "_"
    return name


def is_identifier(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][0-9A-Za-z_]*", text)) and text not in _KEYWORDS


def float_literal(x: float) -> str:
    """A float32 literal that reads back to the same float32.

    >>> float_literal(1.0), float_literal(0.1), float_literal(-3e-38), float_literal(float("inf"))
    ('1.0f', '0.100000001f', '-3.00000009e-38f', 'std::numeric_limits<float>::infinity()')
    """
    x = float(np.float32(x))
    if math.isnan(x):
        return "std::numeric_limits<float>::quiet_NaN()"
    if math.isinf(x):
        return ("-" if x < 0 else "") + "std::numeric_limits<float>::infinity()"
    text = "%.9g" % x
    if not re.search(r"[.e]", text):
        text += ".0"
    return text + "f"


def int_literal(x: int, ctype: str = "int32_t") -> str:
    """An integer literal of the given C type.

    >>> int_literal(-2147483648), int_literal(5, "int64_t"), int_literal(7, "size_t")
    ('(-2147483647 - 1)', 'INT64_C(5)', 'size_t{7}')
    """
    x = int(x)
    if ctype == "int64_t":
        if x == -2**63:
            return "(-INT64_C(9223372036854775807) - 1)"
        return f"INT64_C({x})"
    if ctype == "size_t":
        return f"size_t{{{x}}}"
    if x == -2**31:
        return "(-2147483647 - 1)"
    return str(x)


def literal(x, ctype: str) -> str:
    if ctype == "float":
        return float_literal(x)
    if ctype == "bool":
        return "true" if x else "false"
    return int_literal(x, ctype)


def array_init(values, ctype: str, per_line: int = 16) -> str:
    """A brace initializer, wrapped so generated code stays readable.

    >>> array_init([1, 2, 3], "int32_t")
    '{1, 2, 3}'
    """
    items = [literal(v, ctype) for v in np.asarray(values).ravel().tolist()]
    if len(items) <= per_line:
        return "{" + ", ".join(items) + "}"
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "{\n    " + ",\n    ".join(lines) + "}"


def struct_init(fields: dict) -> str:
    """A positional aggregate initializer that names each field in a comment.

    >>> struct_init({"stride": 2, "alpha": 0.5})
    '{/*stride=*/2, /*alpha=*/0.5f}'
    """
    parts = []
    for name, value in fields.items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, (bool, np.bool_)):
            text = "true" if value else "false"
        elif isinstance(value, (float, np.floating)):
            text = float_literal(value)
        else:
            text = int_literal(value)
        parts.append(f"/*{name}=*/{text}")
    return "{" + ", ".join(parts) + "}"


def string_literal(text: str) -> str:
    r"""A C string literal.

    >>> print(string_literal('a"b'))
    "a\"b"
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
