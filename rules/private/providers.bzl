"""Providers of dlcoder's rules."""

TfliteModelInfo = provider(
    doc = "A TensorFlow Lite model and the input shapes pinned for code generation.",
    fields = {
        "model": "File: the .tflite flatbuffer.",
        "input_shapes": "dict: input name -> shape string such as '1x224x224x3', for inputs " +
                        "whose shape is dynamic in the model.",
    },
)

DlcoderCustomOpInfo = provider(
    doc = "A custom-op plug-in of dlcoder (README.md, \"Custom ops\") and its kernel headers.",
    fields = {
        "src": "File: the Python file that registers the ops (`--custom-ops`).",
        "hdrs": "list of File: the kernel headers its ops name in `header=`.",
    },
)
