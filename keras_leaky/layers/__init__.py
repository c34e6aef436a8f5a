"""Layers of the leaky-rectifier family."""

from keras_leaky.layers.leaky_relu import LeakyReLU
from keras_leaky.layers.prelu import PReLU
from keras_leaky.layers.rrelu import RReLU

__all__ = ["LeakyReLU", "PReLU", "RReLU"]
