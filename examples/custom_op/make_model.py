"""Builds the custom-op example's models (run with TensorFlow's python, from anywhere):

    python examples/custom_op/make_model.py

reference.tflite  x [1,8,8,4] -> ADD (a constant) -> LEAKY_RELU (alpha 0.2) -> MUL (1.5):
                  what TFLite itself runs, the reference of the example's test.
my_op.tflite      the same model with its LEAKY_RELU and MUL made into one custom op,
                  CUSTOM:MyOp, whose FlexBuffer options are {"alpha": 0.2, "scale": 1.5}:
                  the model a team with its own kernel ships. TFLite's converter makes custom
                  ops only of TensorFlow ops it lacks (allow_custom_ops), with a TF NodeDef
                  for options, so the op is written into the flatbuffer after conversion,
                  with TFLite's own schema classes.
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import flatbuffers  # noqa: E402
import tensorflow as tf  # noqa: E402
from flatbuffers import flexbuffers  # noqa: E402
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIONS = {"alpha": 0.2, "scale": 1.5}


def reference_model() -> bytes:
    shift = np.linspace(-1.0, 1.0, 4, dtype=np.float32)

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 4], tf.float32)])
    def model(x):
        return tf.nn.leaky_relu(x + shift, alpha=OPTIONS["alpha"]) * OPTIONS["scale"]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([model.get_concrete_function()], model)
    return converter.convert()


def with_custom_op(data: bytes) -> bytes:
    """LEAKY_RELU followed by MUL -> one CUSTOM:MyOp from the first's input to the second's
    output."""
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    sg = m.subgraphs[0]
    kinds = [codes[op.opcodeIndex] for op in sg.operators]
    leaky = kinds.index(schema.BuiltinOperator.LEAKY_RELU)
    mul = kinds.index(schema.BuiltinOperator.MUL)
    assert mul == leaky + 1 and sg.operators[mul].inputs[0] == sg.operators[leaky].outputs[0]
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "MyOp"
    m.operatorCodes.append(code)
    op = sg.operators[leaky]
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.NONE, None
    op.customOptions = list(flexbuffers.Dumps(OPTIONS))
    op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    op.outputs = sg.operators[mul].outputs
    del sg.operators[mul]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def main():
    ref = reference_model()
    for name, data in (("reference.tflite", ref), ("my_op.tflite", with_custom_op(ref))):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(f"wrote {name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
