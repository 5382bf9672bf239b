"""dlcoder_register_toolchains(): call it from WORKSPACE after dlcoder_dependencies()."""

load(":table.bzl", "TOOLCHAINS")

def dlcoder_register_toolchains():
    """Registers the gcc toolchains of table.bzl and the Python 3 runtime of the generator.

    The cc toolchains are picked only with --incompatible_enable_cc_toolchain_resolution,
    e.g. for `--platforms=@dlcoder//toolchains:linux_aarch64`. The Python toolchain runs
    py_binary tools, the generator among them, on /usr/bin/python3.
    """
    native.register_toolchains(*(
        [str(Label("//toolchains:%s_cc_toolchain" % name)) for name in TOOLCHAINS] +
        [str(Label("//toolchains:python3_toolchain"))]
    ))
