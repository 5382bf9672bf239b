"""The one table of dlcoder's platforms and their gcc toolchains.

Each entry becomes `//toolchains:<name>` (a platform), `//toolchains:<name>_cc_toolchain`
(a toolchain for `@bazel_tools//tools/cpp:toolchain_type`) and the cc_toolchain behind it.
Entries for another CPU than the exec machine's are cross toolchains and registered (WORKSPACE:
dlcoder_register_toolchains(); MODULE.bazel lists them); the others would take over host builds
under platform-based toolchain resolution, so they are opt-in with --extra_toolchains.
The compilers are Debian's: `gcc`/`g++` for x86-64 and `g++-aarch64-linux-gnu` for aarch64.
Both run on an x86-64 Linux host. Adding a target is one entry here (and, for a cross
target, one line in MODULE.bazel's register_toolchains, which cannot load this file).
"""

# A GCC-style toolchain: `tool_prefix + "gcc"` etc. are absolute paths on the exec machine;
# builtin_include_directories are prefixes of every system header the compiler may read.
TOOLCHAINS = {
    "linux_x86_64": struct(
        cpu = "x86_64",
        target_system_name = "x86_64-linux-gnu",
        tool_prefix = "/usr/bin/",
        builtin_include_directories = [
            "/usr/lib/gcc/x86_64-linux-gnu",
            "/usr/local/include",
            "/usr/include",
        ],
    ),
    "linux_aarch64": struct(
        cpu = "aarch64",
        target_system_name = "aarch64-linux-gnu",
        tool_prefix = "/usr/bin/aarch64-linux-gnu-",
        builtin_include_directories = [
            "/usr/lib/gcc-cross/aarch64-linux-gnu",
            "/usr/aarch64-linux-gnu/include",
            "/usr/include",
        ],
    ),
}

# The machine that runs the compilers and the generator.
EXEC_CPU = "x86_64"

EXEC_CONSTRAINTS = [
    "@platforms//cpu:" + EXEC_CPU,
    "@platforms//os:linux",
]

# The entries that are registered: they can never match a host build.
CROSS_TOOLCHAINS = [name for name, t in TOOLCHAINS.items() if t.cpu != EXEC_CPU]

# The interpreter of the generator (Debian has no `python`): the py_runtime in BUILD.bazel
# runs it, and dlcoder_dependencies() installs wheels for its ABI.
EXEC_PYTHON = "/usr/bin/python3"
