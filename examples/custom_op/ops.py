"""The plug-in of the example's custom op CUSTOM:MyOp (see README, Custom ops):

    dlcoder generate my_op.tflite --custom-ops ops.py --out-dir out

y = scale * (x >= 0 ? x : alpha * x), elementwise on float32, with alpha and scale read
from the op's custom options (a FlexBuffer map that dlcoder decodes into
node.attrs["options"]). The kernel is my_op_kernel.h, next to this file.
"""
import numpy as np

from dlcoder.codegen import cgen
from dlcoder.errors import InvalidModelError
from dlcoder.ops import register


def _options(node):
    """alpha and scale, or the model's error if an option is missing."""
    opts = node.attrs["options"]
    missing = [k for k in ("alpha", "scale") if k not in opts]
    if missing:
        raise InvalidModelError(f"custom options lack {', '.join(missing)}")
    return float(opts["alpha"]), float(opts["scale"])


def _shape(node, g):
    """One input, one output of its shape."""
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise InvalidModelError("MyOp takes one input and gives one output")
    _options(node)
    return [g.tensors[node.inputs[0]].shape]


def reference(x, alpha, scale):
    """The op in numpy, in float32 as the kernel computes it."""
    x = np.asarray(x, np.float32)
    return np.float32(scale) * np.where(x >= 0, x, np.float32(alpha) * x)


def _evaluate(node, g, values):
    """Constant folding: the output when the input is a constant."""
    if values[0] is None:
        return None
    return [reference(values[0], *_options(node))]


@register("CUSTOM:MyOp", header="my_op_kernel.h", shape=_shape, evaluate=_evaluate)
def _emit(node, g, e):
    x, y = node.inputs[0], node.outputs[0]
    alpha, scale = _options(node)
    params = e.param("my_op::Params", "{" + cgen.literal(alpha, "float") + ", "
                     + cgen.literal(scale, "float") + "}")
    return f"my_op::leaky_scale({params}, {e.src(x)}, {e.dst(y)}, {g.tensors[x].size});"
