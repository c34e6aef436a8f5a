"""Weight initializers for layers followed by a leaky rectifier."""

from keras_leaky.initializers.leaky_he_normal import LeakyHeNormal
from keras_leaky.initializers.leaky_he_uniform import LeakyHeUniform

__all__ = ["LeakyHeNormal", "LeakyHeUniform"]
