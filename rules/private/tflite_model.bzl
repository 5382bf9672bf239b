"""tflite_model: a .tflite file as a target, with the input shapes to generate code for."""

load(":providers.bzl", "TfliteModelInfo")

def _check_shape(ctx, name, shape):
    dims = shape.split("x")
    for d in dims:
        if not d.isdigit() or int(d) < 1:
            fail(("%s: input_shapes[%r] = %r is not a shape; write positive dimensions " +
                  "joined by 'x', e.g. \"1x224x224x3\"") % (ctx.label, name, shape))

def _tflite_model_impl(ctx):
    src = ctx.file.src
    if src.extension != "tflite":
        fail(("%s: src %s is not a .tflite file; convert the model with " +
              "tf.lite.TFLiteConverter first, or point src at its .tflite output") % (ctx.label, src.short_path))
    for name, shape in ctx.attr.input_shapes.items():
        _check_shape(ctx, name, shape)
    return [
        DefaultInfo(files = depset([src]), runfiles = ctx.runfiles(files = [src])),
        TfliteModelInfo(model = src, input_shapes = dict(ctx.attr.input_shapes)),
    ]

tflite_model = rule(
    implementation = _tflite_model_impl,
    doc = """A TensorFlow Lite model for `dl_code_library(model = ...)`.

Example:

    tflite_model(
        name = "detector",
        src = "detector.tflite",
        input_shapes = {"serving_default_images:0": "1x320x320x3"},
    )
""",
    attrs = {
        "src": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "The .tflite file (a source file or a rule that outputs one).",
        ),
        "input_shapes": attr.string_dict(
            doc = "Shapes for inputs that are dynamic in the model, by input tensor name: " +
                  "{\"input\": \"1x224x224x3\"}. Passed as `--input-shape NAME=SHAPE`.",
        ),
    },
    provides = [TfliteModelInfo],
)
