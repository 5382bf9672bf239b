"""dlcoder's public Starlark API: load everything from here.

    load("@dlcoder//rules:defs.bzl", "dl_code_library", "dlcoder_custom_op", "tflite_model")

Implementations live in rules/private/; see README.md, "Bazel".
"""

load("//rules/private:dl_code_library.bzl", _dl_code_library = "dl_code_library")
load("//rules/private:dlcoder_custom_op.bzl", _dlcoder_custom_op = "dlcoder_custom_op")
load("//rules/private:incbin_object.bzl", _incbin_object = "incbin_object")
load("//rules/private:providers.bzl", _DlcoderCustomOpInfo = "DlcoderCustomOpInfo", _TfliteModelInfo = "TfliteModelInfo")
load("//rules/private:tflite_model.bzl", _tflite_model = "tflite_model")

dl_code_library = _dl_code_library
dlcoder_custom_op = _dlcoder_custom_op
DlcoderCustomOpInfo = _DlcoderCustomOpInfo
incbin_object = _incbin_object
tflite_model = _tflite_model
TfliteModelInfo = _TfliteModelInfo
