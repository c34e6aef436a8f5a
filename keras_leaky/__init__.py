"""keras-leaky: LeakyReLU, PReLU and RReLU for Keras 3, as layers, functions and names."""

from keras_leaky import activations, callbacks, initializers, ops
from keras_leaky.layers import LeakyReLU, PReLU, RReLU

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
    "__version__",
]
