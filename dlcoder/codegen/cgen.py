"""C literals and identifiers: the one place that formats values for generated code, and
that decides which names (--name, --namespace) generated code may use."""
from __future__ import annotations

import math
import re

import numpy as np

from dlcoder.codegen import runtime_facts
from dlcoder.errors import DlcoderError


def _words(text: str) -> frozenset:
    return frozenset(text.split())


# The name of a model becomes the C++ class NS::NAME, the C API prefix NAME_ (global
# scope), the header NAME.h and the guard DLCODER_NAME_H_; each namespace part a C++
# namespace. A name is refused when a compiler would not take it there, or when code that
# includes the header could break: each group below is one rule, and its message.
_C_ONLY_KEYWORDS = _words("""
    restrict typeof typeof_unqual _Alignas _Alignof _Atomic _BitInt _Bool _Complex
    _Decimal32 _Decimal64 _Decimal128 _Generic _Imaginary _Noreturn _Static_assert
    _Thread_local""")      # C11 to C23 keywords that C++20 lacks
_SHARED_KEYWORDS = _words("""
    alignas alignof auto bool break case char const constexpr continue default do double
    else enum extern false float for goto if inline int long nullptr register return short
    signed sizeof static static_assert struct switch thread_local true typedef union
    unsigned void volatile while""")     # keywords of C (C11 to C23) and C++20 both
_CXX_KEYWORDS = _words("""
    asm catch char8_t char16_t char32_t class concept consteval constinit const_cast
    co_await co_return co_yield decltype delete dynamic_cast explicit export friend mutable
    namespace new noexcept operator private protected public reinterpret_cast requires
    static_cast template this throw try typeid typename using virtual wchar_t""")
_ALTERNATIVE_TOKENS = _words("and and_eq bitand bitor compl not not_eq or or_eq xor xor_eq")


def _stdint_macros() -> str:
    kinds = [f"{w}{n}" for n in (8, 16, 32, 64) for w in ("", "_LEAST", "_FAST")]
    kinds += ["PTR", "MAX"]
    names = [f"INT{k}_{s}" for k in kinds for s in ("MIN", "MAX", "WIDTH")]
    names += [f"UINT{k}_{s}" for k in kinds for s in ("MAX", "WIDTH")]
    names += [f"{u}INT{n}_C" for u in ("", "U") for n in (8, 16, 32, 64, "MAX")]
    names += [f"{w}_{s}" for w in ("PTRDIFF", "SIG_ATOMIC", "WCHAR", "WINT")
              for s in ("MIN", "MAX", "WIDTH")] + ["SIZE_MAX", "SIZE_WIDTH"]
    names += [f"{io}{c}{k}" for io, convs in (("PRI", "diouxXbB"), ("SCN", "diouxb"))
              for c in convs for k in kinds]
    return " ".join(names)


def _float_macros() -> str:
    fields = ("MANT_DIG DIG MIN_EXP MIN_10_EXP MAX_EXP MAX_10_EXP MAX EPSILON MIN TRUE_MIN "
              "DECIMAL_DIG HAS_SUBNORM NORM_MAX").split()
    return " ".join(f"{t}_{f}" for t in ("FLT", "DBL", "LDBL") for f in fields)


# Macros of the C library's headers as a C++ translation unit sees them (glibc with a
# GNU-mode compiler, which adds POSIX's and some of its own), whatever it includes
# before NAME.h: <stddef.h>, <stdint.h>/<inttypes.h>, <limits.h>, <float.h>, <stdlib.h>,
# <string.h>, <math.h>, <stdio.h>, <errno.h>, <assert.h>, <stdarg.h>, <setjmp.h>,
# <signal.h>, <locale.h>, <time.h>, <wchar.h>.
_MACROS = _words(_stdint_macros() + " " + _float_macros() + """
    NULL offsetof
    CHAR_BIT SCHAR_MIN SCHAR_MAX UCHAR_MAX CHAR_MIN CHAR_MAX MB_LEN_MAX SHRT_MIN SHRT_MAX
    USHRT_MAX INT_MIN INT_MAX UINT_MAX LONG_MIN LONG_MAX ULONG_MAX LLONG_MIN LLONG_MAX
    ULLONG_MAX CHAR_WIDTH SCHAR_WIDTH UCHAR_WIDTH SHRT_WIDTH USHRT_WIDTH INT_WIDTH
    UINT_WIDTH LONG_WIDTH ULONG_WIDTH LLONG_WIDTH ULLONG_WIDTH BOOL_WIDTH BOOL_MAX
    PATH_MAX NAME_MAX PIPE_BUF SSIZE_MAX LINE_MAX IOV_MAX
    FLT_RADIX FLT_ROUNDS FLT_EVAL_METHOD DECIMAL_DIG
    EXIT_FAILURE EXIT_SUCCESS MB_CUR_MAX RAND_MAX WEXITSTATUS WIFEXITED WIFSIGNALED
    WIFSTOPPED WNOHANG WSTOPSIG WTERMSIG WUNTRACED
    LITTLE_ENDIAN BIG_ENDIAN PDP_ENDIAN BYTE_ORDER
    HUGE_VAL HUGE_VALF HUGE_VALL INFINITY NAN HUGE MAXFLOAT FP_INFINITE FP_NAN FP_NORMAL
    FP_SUBNORMAL FP_ZERO FP_FAST_FMA FP_FAST_FMAF FP_FAST_FMAL FP_ILOGB0 FP_ILOGBNAN
    MATH_ERRNO MATH_ERREXCEPT math_errhandling fpclassify isfinite isinf isnan isnormal
    signbit isgreater isgreaterequal isless islessequal islessgreater isunordered
    M_E M_LOG2E M_LOG10E M_LN2 M_LN10 M_PI M_PI_2 M_PI_4 M_1_PI M_2_PI M_2_SQRTPI M_SQRT2
    M_SQRT1_2
    EOF BUFSIZ FILENAME_MAX FOPEN_MAX L_tmpnam L_ctermid P_tmpdir SEEK_CUR SEEK_END
    SEEK_SET TMP_MAX stdin stdout stderr
    errno EDOM ERANGE EILSEQ E2BIG EACCES EADDRINUSE EADDRNOTAVAIL EAFNOSUPPORT EAGAIN
    EALREADY EBADF EBADMSG EBUSY ECANCELED ECHILD ECONNABORTED ECONNREFUSED ECONNRESET
    EDEADLK EDESTADDRREQ EDQUOT EEXIST EFAULT EFBIG EHOSTUNREACH EIDRM EINPROGRESS EINTR
    EINVAL EIO EISCONN EISDIR ELOOP EMFILE EMLINK EMSGSIZE EMULTIHOP ENAMETOOLONG ENETDOWN
    ENETRESET ENETUNREACH ENFILE ENOBUFS ENODATA ENODEV ENOENT ENOEXEC ENOLCK ENOLINK
    ENOMEM ENOMSG ENOPROTOOPT ENOSPC ENOSR ENOSTR ENOSYS ENOTCONN ENOTDIR ENOTEMPTY
    ENOTRECOVERABLE ENOTSOCK ENOTSUP ENOTTY ENXIO EOPNOTSUPP EOVERFLOW EOWNERDEAD EPERM
    EPIPE EPROTO EPROTONOSUPPORT EPROTOTYPE EROFS ESPIPE ESRCH ESTALE ETIME ETIMEDOUT
    ETXTBSY EWOULDBLOCK EXDEV
    assert NDEBUG va_start va_arg va_end va_copy setjmp
    SIGABRT SIGFPE SIGILL SIGINT SIGSEGV SIGTERM SIG_DFL SIG_ERR SIG_IGN
    LC_ALL LC_COLLATE LC_CTYPE LC_MONETARY LC_NUMERIC LC_TIME CLOCKS_PER_SEC TIME_UTC WEOF""")
_PREDEFINED = _words("unix linux i386")     # by GCC and Clang in their default GNU mode
# Types of those headers: inside NS, a class or namespace of that name hides them.
_TYPES = _words(" ".join(f"{u}int{w}{n}_t" for u in ("", "u") for n in (8, 16, 32, 64)
                         for w in ("", "_least", "_fast")) + """
    size_t ssize_t ptrdiff_t max_align_t nullptr_t intptr_t uintptr_t intmax_t uintmax_t
    imaxdiv_t div_t ldiv_t lldiv_t FILE fpos_t va_list jmp_buf sig_atomic_t time_t clock_t
    tm timespec mbstate_t wint_t float_t double_t""")
# NAME.h must not hide a header that the library's own sources reach by its bare name
# through -I DIR (compared in lower case, for case-insensitive file systems): the C
# library's, the POSIX ones glibc and libstdc++ include, the compilers' SIMD intrinsics.
_HEADERS = _words("""
    assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp signal
    stdalign stdarg stdatomic stdbit stdbool stdckdint stddef stdint stdio stdlib
    stdnoreturn string tgmath threads time uchar wchar wctype
    alloca endian features pthread sched strings unistd mm_malloc arm_neon arm_fp16
    arm_bf16 arm_sve arm_acle""")
_INTRINSICS_HEADER = re.compile(r"[a-z0-9_]*intrin")    # immintrin.h, xmmintrin.h, ...
# The members of the class model.h.j2 declares: a class cannot have a member of its own
# name (test_safety.py compares this list with a generated header).
_MEMBERS = _words("""
    kArenaBytes kSecondThreadBytes kTaskScratchBytes ArenaBytes kWeightBytes kNumInputs Reset
    kNumOutputs input output Run kInputOffsets kOutputOffsets arena_""")
# (Run<Sig>: a signature's method, emitter.signature_names)
_MEMBER_PATTERN = re.compile(r"k(Input|Output)[0-9]+Elements|(input|output)_[0-9]+|Run[0-9A-Z]\w*")
# Names the language, the runtime or the header's C part already use.
_TAKEN = {
    "dlcoder_rt": "is the namespace of dlcoder's runtime",
    "dlcoder_task_fn": "is a type that the generated header declares",
    "dlcoder_parallel_for": "is a type that the generated header declares",
    "main": "is the program's entry point",
    "std": "is the C++ standard library's namespace",
    "posix": "is a namespace reserved by the C++ standard",
}


def name_problem(text: str, global_scope: bool = True) -> str | None:
    """Why `text` cannot be a C/C++ name of generated code (a namespace part; at global
    scope if `global_scope`), as the end of a sentence; None if it can.

    >>> name_problem("NULL"), name_problem("class"), name_problem("restrict")
    ('is a standard C macro', 'is a C++ keyword', 'is a C keyword')
    >>> name_problem("__x"), name_problem("_X")
    ('is reserved (double underscore)', 'is reserved (underscore and capital letter)')
    >>> name_problem("_x"), name_problem("_x", global_scope=False), name_problem("size_t")
    ('is reserved (leading underscore at global scope)', None, 'is a standard C type')
    >>> name_problem("bitor"), name_problem("int"), name_problem("math")
    ('is a C++ keyword (an alternative token)', 'is a C and C++ keyword', None)
    """
    if not re.fullmatch(r"[A-Za-z_][0-9A-Za-z_]*", text):
        return "is not a C identifier (letters, digits and underscores, not starting with a digit)"
    if text in _ALTERNATIVE_TOKENS:
        return "is a C++ keyword (an alternative token)"
    if text in _SHARED_KEYWORDS:
        return "is a C and C++ keyword"
    if text in _CXX_KEYWORDS:
        return "is a C++ keyword"
    if text in _C_ONLY_KEYWORDS:
        return "is a C keyword"
    if "__" in text:
        return "is reserved (double underscore)"
    if re.match(r"_[A-Z]", text):
        return "is reserved (underscore and capital letter)"
    if global_scope and text.startswith("_"):
        return "is reserved (leading underscore at global scope)"
    if text in _MACROS:
        return "is a standard C macro"
    if text in _PREDEFINED:
        return "is a macro that compilers predefine (GNU mode)"
    if text in _TYPES:
        return "is a standard C type"
    if text in _TAKEN:
        return _TAKEN[text]
    if text.startswith("DLCODER_"):
        return "is reserved for dlcoder's macros (DLCODER_...)"
    return None


def class_name_problem(text: str) -> str | None:
    """name_problem for --name, which also names the class and prefixes the C API.

    >>> class_name_problem("Run") == class_name_problem("input_0") == class_name_problem("arena_")
    True
    >>> class_name_problem("Run")
    'is a member of the generated class (see model.h.j2)'
    >>> class_name_problem("Math")
    "would name the header Math.h, which hides the system's <math.h>"
    >>> class_name_problem("m_")
    'ends with an underscore, so NAME_run would hold a reserved double underscore'
    """
    why = name_problem(text)
    if why is None and (text in _MEMBERS or _MEMBER_PATTERN.fullmatch(text)):
        why = "is a member of the generated class (see model.h.j2)"
    if why is None and (text.lower() in _HEADERS or _INTRINSICS_HEADER.fullmatch(text.lower())):
        why = f"would name the header {text}.h, which hides the system's <{text.lower()}.h>"
    if why is None and text.endswith("_"):
        why = "ends with an underscore, so NAME_run would hold a reserved double underscore"
    return why


def check_name(name: str) -> None:
    why = class_name_problem(name)
    if why:
        raise DlcoderError(f"--name '{name}' {why}; choose another name")


def check_namespace(namespace: str) -> None:
    for k, part in enumerate(namespace.split("::")):
        why = name_problem(part, global_scope=k == 0)
        if why:
            raise DlcoderError(f"--namespace '{namespace}' is not a C++ namespace: '{part}' {why}")


def identifier(text: str) -> str:
    """A valid class name (class_name_problem) made from arbitrary text, such as a model's
    file stem: other characters become '_'; a name that breaks a rule gets '_model' (and,
    for dlcoder's own DLCODER_ prefix, 'm_' too).

    >>> identifier("mobilenet_v2-1.0@224"), identifier("3d_unet"), identifier("__init__")
    ('mobilenet_v2_1_0_224', 'm_3d_unet', 'init')
    >>> identifier("class"), identifier("NULL"), identifier("Run"), identifier("DLCODER_X")
    ('class_model', 'NULL_model', 'Run_model', 'm_DLCODER_X_model')
    """
    name = re.sub(r"[^0-9A-Za-z_]", "_", text)
    name = re.sub(r"_+", "_", name).strip("_") or "model"
    if name[0].isdigit():
        name = "m_" + name
    if class_name_problem(name):
        name += "_model"
    if class_name_problem(name):
        name = "m_" + name
    return name


def comment(text: str) -> str:
    """Text for a // comment: one line, and no backslash, which at a line's end (even
    before trailing spaces, for GCC) would splice the next line of code into the comment.

    >>> comment("3: ADD -> a\\\\ \\nb")
    '3: ADD -> a/ b'
    """
    return " ".join(text.replace("\\", "/").split())


def string_literal(text: str) -> str:
    """A C string literal of printable ASCII text.

    >>> print(string_literal('a "b" \\\\ c'))
    "a \\"b\\" \\\\ c"
    """
    if not all(" " <= ch <= "~" for ch in text):
        raise ValueError(f"not printable ASCII: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


def struct_init(struct: str, fields: dict) -> str:
    """The aggregate initializer of `struct`, a struct of the runtime headers, from its
    fields by name: put in the header's declaration order (codegen/runtime_facts.py), each
    named in a comment. A field the header lacks, or one of its fields left out, raises.

    >>> struct_init("ChainSteps", {"slots": 5, "rows": 2})
    '{/*rows=*/2, /*slots=*/5}'
    >>> struct_init("dlcoder_rt::AffineParams", {"scale": 0.5, "zero_point": -3})
    '{/*scale=*/0.5f, /*zero_point=*/-3}'
    >>> struct_init("ChainSteps", {"rows": 2, "slot": 5})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dlcoder.codegen.runtime_facts.HeaderFactError: struct ChainSteps ...: no field slot; slots not given
    """
    order = runtime_facts.fields(struct)
    unknown = [name for name in fields if name not in order]
    missing = [name for name in order if name not in fields]
    if unknown or missing:
        why = "; ".join(filter(None, [unknown and "no field " + ", ".join(unknown),
                                      missing and ", ".join(missing) + " not given"]))
        raise runtime_facts.HeaderFactError(
            f"struct {struct} of the runtime headers has the fields {', '.join(order)}: {why}")
    parts = []
    for name in order:
        value = fields[name]
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
