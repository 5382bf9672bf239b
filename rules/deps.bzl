"""dlcoder_dependencies(): the external repositories dlcoder's rules need. Call from WORKSPACE:

    load("@dlcoder//rules:deps.bzl", "dlcoder_dependencies")
    dlcoder_dependencies()

Under Bzlmod, MODULE.bazel declares the same: `bazel_dep`s on the versions below and the
`pip` extension of rules/extensions.bzl for @dlcoder_pip.
"""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//rules/private:pip_repository.bzl", "pip_repository")
load("//toolchains:table.bzl", "EXEC_PYTHON")

# The generator's Python packages, pinned by hash: the one repository that
# dlcoder_dependencies() and the `pip` module extension both declare.
DLCODER_PIP = {
    "name": "dlcoder_pip",
    "python": EXEC_PYTHON,
    "requirements_lock": Label("//rules:requirements_lock.txt"),
}

# The rule sets dlcoder loads from, at the versions of MODULE.bazel's bazel_deps (sha256 of
# the release archives, as the Bazel Central Registry has them; Bazel 4's http_archive has no
# `integrity`). rules_cc 0.0.17 is the first with cc/common:cc_common.bzl.
_RULE_SETS = {
    "rules_cc": struct(
        version = "0.0.17",
        sha256 = "abc605dd850f813bb37004b77db20106a19311a96b2da1c92b789da529d28fe1",
    ),
    "rules_python": struct(
        version = "1.0.0",
        sha256 = "4f7e2aa1eb9aa722d96498f5ef514f426c1f55161c3c9ae628c857a7128ceb07",
    ),
}

def dlcoder_dependencies():
    """Declares rules_cc, rules_python and @dlcoder_pip, each unless the workspace has it.

    @dlcoder_pip holds the packages of rules/requirements_lock.txt (tflite, numpy, jinja2,
    flatbuffers and ai-edge-litert with their dependencies), installed for /usr/bin/python3,
    the interpreter of the Python toolchain that dlcoder_register_toolchains() registers.
    A workspace that declares rules_cc or rules_python first keeps its own version; offline,
    tools/offline_bazelrc.sh replaces both with the Bazel 4 stand-ins.
    """
    for name, r in _RULE_SETS.items():
        maybe(
            http_archive,
            name = name,
            sha256 = r.sha256,
            strip_prefix = "%s-%s" % (name, r.version),
            url = "https://github.com/bazelbuild/{n}/releases/download/{v}/{n}-{v}.tar.gz".format(
                n = name,
                v = r.version,
            ),
        )
    maybe(pip_repository, **DLCODER_PIP)
