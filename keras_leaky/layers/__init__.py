"""Layers of the leaky-rectifier family."""

from keras_leaky.layers.leaky_relu import LeakyReLU
from keras_leaky.layers.prelu import PReLU
from keras_leaky.layers.rrelu import RReLU

LAYERS = (LeakyReLU, PReLU, RReLU)
"""Every keras_leaky layer, listed once: the activation names
(`keras_leaky.activations.NAMES`), the layers `DeadUnitMonitor` records and
the tests' tables all derive from it."""

__all__ = ["LAYERS", "LeakyReLU", "PReLU", "RReLU"]
