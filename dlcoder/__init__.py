"""dlcoder: compile TensorFlow Lite models into self-contained C++ libraries.

The package in layers, bottom to top. A module imports only from its own layer and the
layers below it (tests/test_layers.py walks every import and checks this list; a new
module must be placed in it):

    1. errors
    2. ir, quant, sparse, codegen.cgen, codegen.runtime_facts, shapes, outdir
    3. frontend
    4. ops
    5. validate, passes, plugins
    6. plan
    7. codegen
    8. compiler, verify, cmake, console, iree
    9. bench, inspect, verify_cmd
   10. cli, __main__

A name stands for a module or a package (every module under it); the longest name that
matches a module decides its layer. The flow of a model follows the layers: the frontend
reads it into the IR, the op table (ops) knows each op (plugins add custom ones to it),
validate and passes check and rewrite the graph, plan lays out the arena, codegen writes C++, and the drivers above call
them in order.
"""
__version__ = "0.1.0"
