"""Weight initializers for layers followed by a leaky rectifier."""

from keras_leaky.initializers.leaky_he import LeakyHeNormal, LeakyHeUniform

__all__ = ["LeakyHeNormal", "LeakyHeUniform"]
