"""dlcoder: compile TensorFlow Lite models into self-contained C++ libraries."""
__version__ = "0.1.0"
