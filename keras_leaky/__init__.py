"""keras-leaky: LeakyReLU, PReLU and RReLU for Keras 3, as layers, functions and names."""

# `_quiet` first: run as `python -m keras_leaky`, it quiets TensorFlow before Keras imports it.
from keras_leaky import _quiet, activations, callbacks, initializers, ops  # noqa: F401
from keras_leaky.layers import LeakyReLU, PReLU, RReLU
from keras_leaky.replace import replace_activations

# The version is written here only: pyproject.toml reads it at build time.
__version__ = "0.1.0"

activations.install()

__all__ = [
    "LeakyReLU",
    "PReLU",
    "RReLU",
    "activations",
    "callbacks",
    "initializers",
    "ops",
    "replace_activations",
    "__version__",
]
