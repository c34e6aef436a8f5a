"""The one decorator that registers keras_leaky objects for serialization."""

import keras

PACKAGE = "keras_leaky"

register = keras.saving.register_keras_serializable(package=PACKAGE)
"""Registers a class under `keras_leaky>ClassName` for `.keras` round trips."""
