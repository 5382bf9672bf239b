"""HandModel: a minimal writer of one-subgraph TFLite flatbuffers (tensors, buffers, ops),
for the op / attribute combinations the TFLite converter cannot produce. It uses the
generated flatbuffers builder functions of the ``tflite`` package; no TensorFlow.
"""
from __future__ import annotations

import importlib

import numpy as np

_NP2TFL = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.int32): 2,
           np.dtype(np.uint8): 3, np.dtype(np.int64): 4, np.dtype(np.bool_): 6,
           np.dtype(np.int16): 7, np.dtype(np.int8): 9}


def tfl_module(name):
    """A flatbuffers-generated module of the tflite package (tflite.<name> is the class)."""
    return importlib.import_module(f"tflite.{name}")


class HandModel:
    """Minimal writer for a one-subgraph TFLite model (tensors, buffers, ops)."""

    def __init__(self):
        self.tensors = []  # dict(name, shape, dtype, data, quant)
        # (opname, inputs, outputs, options_name, options_kwargs, version), and a seventh
        # item, the operator's intermediates, when the operator has any
        self.operators = []
        self.inputs, self.outputs = [], []

    def _tensor(self, shape, dtype, data=None, name=None, quant=None, variable=False):
        idx = len(self.tensors)
        self.tensors.append(dict(name=name or f"t{idx}", shape=list(shape), dtype=np.dtype(dtype),
                                 data=data, quant=quant, variable=variable))
        return idx

    def input(self, shape, dtype=np.float32, quant=None):
        t = self._tensor(shape, dtype, name=f"input_{len(self.inputs)}", quant=quant)
        self.inputs.append(t)
        return t

    def const(self, arr, dtype=None, quant=None):
        """quant: (scale, zero point), or (scales, zero points, axis) per channel."""
        arr = np.asarray(arr, dtype=dtype)
        return self._tensor(arr.shape, arr.dtype, data=np.ascontiguousarray(arr), quant=quant)

    def tensor(self, shape, dtype=np.float32):
        return self._tensor(shape, dtype)

    def variable(self, shape, dtype=np.float32):
        """A variable tensor without a buffer (an LSTM's state): TFLite zeroes it."""
        return self._tensor(shape, dtype, variable=True)

    def output(self, t):
        self.outputs.append(t)
        self.tensors[t]["name"] = f"output_{len(self.outputs) - 1}"
        return t

    def op(self, opname, inputs, outputs, opts=None, version=1, intermediates=None, **kw):
        """opts: options table name (e.g. "Conv2DOptions"); kw: its fields (Add<Key>).
        intermediates: tensor indices written to the operator's `intermediates` field (the
        integer LSTM's gate quantization); None writes no field."""
        op = (opname, list(inputs), list(outputs), opts, kw, version)
        if intermediates is not None:
            op += (list(intermediates),)
        self.operators.append(op)
        return outputs[0] if len(outputs) == 1 else outputs

    # -- serialisation --------------------------------------------------------
    def build(self):
        """The model as flatbuffer bytes (file identifier TFL3)."""
        import flatbuffers
        b = flatbuffers.Builder(4096)
        buf_offs, tensor_buf = self._write_buffers(b)
        ten_offs = [self._write_tensor(b, t, bi) for t, bi in zip(self.tensors, tensor_buf)]
        op_offs, codes = self._write_operators(b)
        sg = self._write_subgraph(b, ten_offs, op_offs)
        self._write_model(b, codes, sg, buf_offs)
        return bytes(b.Output())

    @staticmethod
    def _ivec(b, vals, dtype=np.int32):
        return b.CreateNumpyVector(np.asarray(vals, dtype=dtype))

    @staticmethod
    def _table_vec(b, offs):
        b.StartVector(4, len(offs), 4)
        for o in reversed(offs):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    def _write_buffers(self, b):
        """-> (buffer table offsets, each tensor's buffer index); buffer 0 is the empty one."""
        Buffer = tfl_module("Buffer")
        buf_data = [None]
        tensor_buf = []
        for t in self.tensors:
            if t["data"] is None:
                tensor_buf.append(0)
            else:
                tensor_buf.append(len(buf_data))
                buf_data.append(t["data"].tobytes())
        buf_offs = []
        for data in buf_data:
            dvec = None
            if data is not None:  # 16-byte aligned raw bytes
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                dvec = b.EndVector()
            Buffer.BufferStart(b)
            if dvec is not None:
                Buffer.BufferAddData(b, dvec)
            buf_offs.append(Buffer.BufferEnd(b))
        return buf_offs, tensor_buf

    def _write_tensor(self, b, t, buffer_index):
        Q, Tensor = tfl_module("QuantizationParameters"), tfl_module("Tensor")
        name = b.CreateString(t["name"])
        shape = self._ivec(b, t["shape"])
        q = None
        if t["quant"] is not None:
            # (scale, zero point) per tensor, or (scales, zero points, axis) per channel
            scale, zp, axis = (tuple(t["quant"]) + (0,))[:3]
            sv = b.CreateNumpyVector(np.asarray(scale, np.float32).reshape(-1))
            zv = b.CreateNumpyVector(np.asarray(zp, np.int64).reshape(-1))
            details = None
            if t.get("custom_quant") is not None:   # QuantizationDetails: CustomQuantization
                CQ = tfl_module("CustomQuantization")
                raw = b.CreateNumpyVector(np.frombuffer(t["custom_quant"], np.uint8))
                CQ.CustomQuantizationStart(b)
                CQ.CustomQuantizationAddCustom(b, raw)
                details = CQ.CustomQuantizationEnd(b)
            Q.QuantizationParametersStart(b)
            Q.QuantizationParametersAddScale(b, sv)
            Q.QuantizationParametersAddZeroPoint(b, zv)
            Q.QuantizationParametersAddQuantizedDimension(b, axis)
            if details is not None:
                Q.QuantizationParametersAddDetailsType(b, 1)
                Q.QuantizationParametersAddDetails(b, details)
            q = Q.QuantizationParametersEnd(b)
        Tensor.TensorStart(b)
        Tensor.TensorAddShape(b, shape)
        Tensor.TensorAddType(b, t.get("tflite_type", _NP2TFL[t["dtype"]]))
        Tensor.TensorAddBuffer(b, buffer_index)
        Tensor.TensorAddName(b, name)
        if q is not None:
            Tensor.TensorAddQuantization(b, q)
        if t["variable"]:
            Tensor.TensorAddIsVariable(b, True)
        return Tensor.TensorEnd(b)

    def _write_options(self, b, opts, kw):
        """-> (options table offset, BuiltinOptions type) of one operator's options."""
        mod = tfl_module(opts)
        vecs = {k: self._ivec(b, v) for k, v in kw.items() if isinstance(v, (list, tuple, np.ndarray))}
        getattr(mod, f"{opts}Start")(b)
        for k, v in kw.items():
            getattr(mod, f"{opts}Add{k}")(b, vecs[k] if k in vecs else v)
        return getattr(mod, f"{opts}End")(b), getattr(tfl_module("BuiltinOptions").BuiltinOptions, opts)

    def _write_operators(self, b):
        """-> (operator table offsets, [(builtin code, version)] in opcode-index order)."""
        import tflite
        Operator = tfl_module("Operator")
        codes, op_offs = [], []
        for opname, ins, outs, opts, kw, version, *rest in self.operators:
            inter = rest[0] if rest else None
            code = getattr(tflite.BuiltinOperator, opname)
            if (code, version) not in codes:
                codes.append((code, version))
            opt_off, opt_type = (None, 0) if opts is None else self._write_options(b, opts, kw)
            iv, ov = self._ivec(b, ins), self._ivec(b, outs)
            xv = None if inter is None else self._ivec(b, inter)
            Operator.OperatorStart(b)
            Operator.OperatorAddOpcodeIndex(b, codes.index((code, version)))
            Operator.OperatorAddInputs(b, iv)
            Operator.OperatorAddOutputs(b, ov)
            if xv is not None:
                Operator.OperatorAddIntermediates(b, xv)
            if opt_off is not None:
                Operator.OperatorAddBuiltinOptionsType(b, opt_type)
                Operator.OperatorAddBuiltinOptions(b, opt_off)
            op_offs.append(Operator.OperatorEnd(b))
        return op_offs, codes

    def _write_subgraph(self, b, ten_offs, op_offs):
        SubGraph = tfl_module("SubGraph")
        tv, opv = self._table_vec(b, ten_offs), self._table_vec(b, op_offs)
        iv, ov = self._ivec(b, self.inputs), self._ivec(b, self.outputs)
        sname = b.CreateString("main")
        SubGraph.SubGraphStart(b)
        SubGraph.SubGraphAddTensors(b, tv)
        SubGraph.SubGraphAddInputs(b, iv)
        SubGraph.SubGraphAddOutputs(b, ov)
        SubGraph.SubGraphAddOperators(b, opv)
        SubGraph.SubGraphAddName(b, sname)
        return SubGraph.SubGraphEnd(b)

    def _write_model(self, b, codes, sg, buf_offs):
        Model, OperatorCode = tfl_module("Model"), tfl_module("OperatorCode")
        oc_offs = []
        for code, version in codes:
            OperatorCode.OperatorCodeStart(b)
            OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            OperatorCode.OperatorCodeAddBuiltinCode(b, code)
            OperatorCode.OperatorCodeAddVersion(b, version)
            oc_offs.append(OperatorCode.OperatorCodeEnd(b))
        ocv, sgv, bv = (self._table_vec(b, oc_offs), self._table_vec(b, [sg]),
                        self._table_vec(b, buf_offs))
        desc = b.CreateString("dlcoder hand-built test model")
        Model.ModelStart(b)
        Model.ModelAddVersion(b, 3)
        Model.ModelAddOperatorCodes(b, ocv)
        Model.ModelAddSubgraphs(b, sgv)
        Model.ModelAddDescription(b, desc)
        Model.ModelAddBuffers(b, bv)
        b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")


def single_op(opname, in_arrays, out_shapes, opts=None, *, consts=(), out_dtypes=None, version=1,
              **kw):
    """Hand-built model with one operator.

    in_arrays: list of np arrays; graph inputs are those at positions not in `consts`
    (constant positions become constant tensors, None means an omitted optional input).
    """
    m = HandModel()
    ins, feeds = [], []
    for i, a in enumerate(in_arrays):
        if a is None:
            ins.append(-1)
        elif i in consts:
            ins.append(m.const(a))
        else:
            ins.append(m.input(a.shape, a.dtype))
            feeds.append(a)
    out_dtypes = out_dtypes or [np.float32] * len(out_shapes)
    outs = [m.output(m.tensor(s, d)) for s, d in zip(out_shapes, out_dtypes)]
    m.op(opname, ins, outs, opts, version=version, **kw)
    return m, feeds
