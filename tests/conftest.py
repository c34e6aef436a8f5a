"""Fixtures shared by the test modules."""

from __future__ import annotations

import keras
import pytest


@pytest.fixture
def float64_on_jax():
    """Enables 64-bit types on JAX (which computes in float32 otherwise) for one test.

    Use with `pytestmark = pytest.mark.usefixtures("float64_on_jax")`.
    """
    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    with jax.enable_x64(True):
        yield
