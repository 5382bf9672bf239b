"""Providers of dlcoder's rules."""

TfliteModelInfo = provider(
    doc = "A TensorFlow Lite model and the input shapes pinned for code generation.",
    fields = {
        "model": "File: the .tflite flatbuffer.",
        "input_shapes": "dict: input name -> shape string such as '1x224x224x3', for inputs " +
                        "whose shape is dynamic in the model.",
    },
)
