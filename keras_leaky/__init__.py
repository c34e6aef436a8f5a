"""keras-leaky: LeakyReLU, PReLU and RReLU for Keras 3, as layers, functions and names."""

# `_quiet` first: run as `python -m keras_leaky`, it quiets TensorFlow before Keras imports it.
from keras_leaky import _quiet  # noqa: F401

try:
    import keras  # noqa: F401
except ModuleNotFoundError as error:
    # The wheel brings Keras and NumPy only; Keras fails this way without its backend.
    if error.name not in ("tensorflow", "jax", "torch"):
        raise
    raise ModuleNotFoundError(
        f"Keras is set to use the {error.name!r} backend, which is not installed. Install it "
        '(pip install "keras-leaky[tensorflow]" for TensorFlow, the default; pip install '
        '"keras-leaky[demo]" for the demo), or set KERAS_BACKEND to a backend you have.',
        name=error.name,
    ) from error

from keras_leaky import activations, callbacks, initializers, ops  # noqa: F401
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
