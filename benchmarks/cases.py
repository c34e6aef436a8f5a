"""The cases every benchmark measures: one table, each case named after whose layer it is.

The first case, `keras.ReLU`, is the reference: every figure is a ratio to it,
measured in the same run. A case's `factory(keras, keras_leaky)` builds what is
called, `fn(x)` or `fn(x, training=True)`; the modules are passed in so that
reading the table imports no backend (the driver lists the cases, then each
worker process picks its own backend).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any


@dataclasses.dataclass(frozen=True)
class Case:
    """One row of the tables.

    Attributes:
        label: whose layer or function it is, and how it is called.
        factory: `factory(keras, keras_leaky)` builds it.
        training: whether it is called with `training=True`.
        activation: the name given to `Dense`/`Conv2D(activation=...)` in the model-level
            benchmarks, which run only the cases that have one.
        backend: the only backend the case runs on (None: every backend).
    """

    label: str
    factory: Callable[[ModuleType, ModuleType], Callable[..., Any]]
    training: bool = False
    activation: str | None = None
    backend: str | None = None

    def build(self) -> Callable[..., Any]:
        import keras

        import keras_leaky

        return self.factory(keras, keras_leaky)

    def call_kwargs(self) -> dict[str, bool]:
        """Only RReLU takes `training`; inference is its default."""
        return {"training": True} if self.training else {}


def _torch_rrelu(keras: ModuleType, keras_leaky: ModuleType) -> Callable[..., Any]:
    """PyTorch's own `F.rrelu`, with RReLU's default bounds: the reference for RReLU there."""
    import torch.nn.functional as F

    return functools.partial(F.rrelu, lower=1 / 8, upper=1 / 3)


def _keras_prelu(keras: ModuleType, keras_leaky: ModuleType) -> Any:
    """Keras's PReLU with one alpha per channel, as keras_leaky's PReLU has by default."""
    alpha = keras.initializers.Constant(0.25)
    return keras.layers.PReLU(alpha_initializer=alpha, shared_axes=[1, 2])


CASES = (
    Case("keras.ReLU", lambda keras, _: keras.layers.ReLU(), activation="relu"),
    Case(
        "keras.LeakyReLU",
        lambda keras, _: keras.layers.LeakyReLU(negative_slope=0.2),
        activation="leaky_relu",  # Keras's name: its function, slope 0.2.
    ),
    Case("keras.PReLU(shared_axes=[1, 2])", _keras_prelu),
    Case(
        "keras_leaky.LeakyReLU",
        lambda _, keras_leaky: keras_leaky.LeakyReLU(negative_slope=0.2),
        activation="LeakyReLU",
    ),
    Case("keras_leaky.PReLU", lambda _, keras_leaky: keras_leaky.PReLU(), activation="prelu"),
    Case(
        "keras_leaky.RReLU(training=True)",
        lambda _, keras_leaky: keras_leaky.RReLU(seed=0),
        training=True,
        activation="rrelu",  # `fit` runs it in training.
    ),
    Case("keras_leaky.RReLU(training=False)", lambda _, keras_leaky: keras_leaky.RReLU(seed=0)),
    Case("torch.nn.functional.rrelu(training=True)", _torch_rrelu, training=True, backend="torch"),
)
REFERENCE = CASES[0].label
MODEL_CASES = tuple(case for case in CASES if case.activation)


def cases_for(backend: str) -> list[Case]:
    return [case for case in CASES if case.backend in (None, backend)]
