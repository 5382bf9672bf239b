"""dlcoder_dependencies(): the external repositories dlcoder's rules need. Call from WORKSPACE:

    load("@dlcoder//rules:deps.bzl", "dlcoder_dependencies")
    dlcoder_dependencies()
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//rules/private:pip_repository.bzl", "pip_repository")
load("//toolchains:table.bzl", "EXEC_PYTHON")

def dlcoder_dependencies():
    """Declares @dlcoder_pip: the generator's Python packages, pinned by hash.

    The packages are those of rules/requirements_lock.txt (tflite, numpy, jinja2, flatbuffers
    and ai-edge-litert with their dependencies), installed for /usr/bin/python3, the
    interpreter of the Python toolchain that dlcoder_register_toolchains() registers.
    """
    maybe(
        pip_repository,
        name = "dlcoder_pip",
        requirements_lock = Label("//rules:requirements_lock.txt"),
        python = EXEC_PYTHON,
    )
