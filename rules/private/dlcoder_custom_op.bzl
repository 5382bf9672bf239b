"""dlcoder_custom_op: a custom-op plug-in and its kernel headers, for dl_code_library."""

load(":providers.bzl", "DlcoderCustomOpInfo")

def _dlcoder_custom_op_impl(ctx):
    src = ctx.file.src
    folder = src.dirname
    for h in ctx.files.hdrs:
        if h.dirname != folder and not h.dirname.startswith(folder + "/"):
            fail(("%s: header %s is not in the folder of %s or below it; the plug-in names " +
                  "its headers relative to its own folder, so move it there") %
                 (ctx.label, h.short_path, src.short_path))
    return [
        DefaultInfo(files = depset([src] + ctx.files.hdrs)),
        DlcoderCustomOpInfo(src = src, hdrs = ctx.files.hdrs),
    ]

dlcoder_custom_op = rule(
    implementation = _dlcoder_custom_op_impl,
    doc = """A custom-op plug-in for `dl_code_library(custom_ops = [...])`.

The generation action gets the plug-in as `--custom-ops` and sees it and its headers as
inputs: editing either regenerates the library. The generator copies every header into
the library as `dlcoder_rt/custom/<file name>`.

Example:

    dlcoder_custom_op(
        name = "my_ops",
        src = "ops.py",
        hdrs = ["my_op_kernel.h"],
    )
""",
    attrs = {
        "src": attr.label(
            mandatory = True,
            allow_single_file = [".py"],
            doc = "The Python file that registers the ops (see README.md, \"Custom ops\").",
        ),
        "hdrs": attr.label_list(
            allow_files = [".h"],
            doc = "The kernel headers, exactly those the plug-in's ops name in `header=`, " +
                  "in the plug-in's folder or below it.",
        ),
    },
    provides = [DlcoderCustomOpInfo],
)
