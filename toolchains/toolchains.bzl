"""dlcoder_register_toolchains(): call it from WORKSPACE after dlcoder_dependencies()."""

load("@rules_python//python:repositories.bzl", "py_repositories")
load(":table.bzl", "CROSS_TOOLCHAINS")

# buildifier: disable=unnamed-macro
def dlcoder_register_toolchains():
    """Registers the cross gcc toolchains of table.bzl and the generator's Python 3 runtime.

    Only toolchains whose target CPU differs from the exec machine's are registered (today:
    linux_aarch64): they match only --platforms=@dlcoder//toolchains:linux_aarch64, never a
    host build, so with platform-based toolchain resolution (the default from Bazel 7) the
    workspace's own host code keeps Bazel's auto-configured C++ toolchain. The table's x86-64
    toolchain is opt-in: --extra_toolchains=@dlcoder//toolchains:linux_x86_64_cc_toolchain.
    The Python toolchain runs py_binary tools, the generator among them, on /usr/bin/python3.

    It also calls rules_python's py_repositories(), which WORKSPACE users of rules_python need
    after declaring it (dlcoder_dependencies() did).
    """
    py_repositories()
    native.register_toolchains(*(
        [str(Label("//toolchains:%s_cc_toolchain" % name)) for name in CROSS_TOOLCHAINS] +
        [str(Label("//toolchains:python3_toolchain"))]
    ))
