"""The `DeadUnitMonitor` callback: the fraction of dead units per activation."""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np

from keras_leaky.layers import LeakyReLU, PReLU, RReLU

DEAD_PREFIX = "dead_units/"
INACTIVE_PREFIX = "inactive_units/"

# Standalone activation layers whose `call` is recorded. `keras.layers.Activation`
# is not here: like Dense and Conv it holds its function in `.activation`.
_STANDALONE = (
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.PReLU,
    keras.layers.ELU,
    LeakyReLU,
    PReLU,
    RReLU,
)
# Not element-wise (a shift of every input leaves softmax unchanged), so the
# element-wise test below does not apply; and linear has nothing to die.
_SKIPPED_FUNCTIONS = (
    keras.activations.linear,
    keras.activations.softmax,
    keras.activations.log_softmax,
)
_RELATIVE_STEP = 0.01


class DeadUnitWarning(UserWarning):
    """Warned by `DeadUnitMonitor` when a layer's dead fraction reaches `threshold`."""


class _Site:
    """One monitored activation: where it lives and what it saw."""

    def __init__(self, key: str, layer: keras.layers.Layer, standalone: bool) -> None:
        self.key = key
        self.layer = layer
        self.attribute = "call" if standalone else "activation"
        # Per call: (dead, never positive), booleans over the last axis.
        self.records: list[tuple[Any, Any]] = []


def _skipped(activation: Any) -> bool:
    if activation is None or not callable(activation):
        return True
    if any(activation is function for function in _SKIPPED_FUNCTIONS):
        return True
    if isinstance(activation, keras.layers.Softmax):
        return True
    inner = getattr(activation, "activation", None)  # keras.layers.Activation("softmax")
    return isinstance(activation, keras.layers.Activation) and _skipped(inner)


def _walk(layers: list[keras.layers.Layer], seen: set[int]) -> Iterator[keras.layers.Layer]:
    for layer in layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        nested = getattr(layer, "layers", None)  # Sub-models: Sequential, Functional.
        if isinstance(nested, list):
            yield from _walk(nested, seen)


def _find_sites(model: keras.Model) -> list[_Site]:
    sites: list[_Site] = []
    keys: set[str] = set()
    for layer in _walk(model.layers, set()):
        if isinstance(layer, _STANDALONE):
            standalone = True
        elif isinstance(getattr(type(layer), "activation", None), property):
            continue  # RNN layers: the activation belongs to the cell's loop.
        elif not _skipped(getattr(layer, "activation", None)):
            standalone = False
        else:
            continue
        key, n = layer.name, 1
        while key in keys:
            n += 1
            key = f"{layer.name}_{n}"
        keys.add(key)
        sites.append(_Site(key, layer, standalone))
    return sites


def _install(site: _Site) -> tuple[bool, Any]:
    """Replaces the activation (or `call`) by a recording wrapper.

    The instance `__dict__` is written directly, so that neither Keras's
    attribute tracking nor `torch.nn.Module.__setattr__` sees the wrapper.
    Returns what `_restore` needs.
    """
    attributes = vars(site.layer)
    had, previous = site.attribute in attributes, attributes.get(site.attribute)
    original = getattr(site.layer, site.attribute)

    @functools.wraps(original)
    def record(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        outputs = original(inputs, *args, **kwargs)
        site.records.append(_test_units(inputs, outputs, original(_below(inputs), *args, **kwargs)))
        return outputs

    attributes[site.attribute] = record
    return had, previous


def _restore(site: _Site, saved: tuple[bool, Any]) -> None:
    had, previous = saved
    attributes = vars(site.layer)
    if had:
        attributes[site.attribute] = previous
    else:
        attributes.pop(site.attribute, None)


def _below(z: Any) -> Any:
    """`z - h`, with `h = 0.01 * max(|z|, 1)` in `z`'s dtype."""
    ops = keras.ops
    return z - _RELATIVE_STEP * ops.maximum(ops.abs(z), ops.ones_like(z))


def _test_units(z: Any, outputs: Any, outputs_below: Any) -> tuple[Any, Any]:
    """Per unit (last axis): whether f is flat at every z, whether z is never > 0."""
    ops = keras.ops
    axes = tuple(range(len(z.shape) - 1))
    flat = ops.all(ops.equal(outputs, outputs_below), axis=axes)
    never_positive = ops.all(ops.less_equal(z, ops.zeros_like(z)), axis=axes)
    return flat, never_positive


def _fractions(site: _Site, records: list[tuple[Any, Any]]) -> tuple[float, float]:
    """Returns (dead fraction, never-positive fraction) for one activation."""
    if not records:
        return float("nan"), float("nan")
    dead = np.logical_and.reduce([np.asarray(keras.ops.convert_to_numpy(r[0])) for r in records])
    never = np.logical_and.reduce([np.asarray(keras.ops.convert_to_numpy(r[1])) for r in records])
    return float(np.mean(dead)), float(np.mean(never))


def _record(sites: list[_Site], call: Callable[[], Any]) -> list[list]:
    """Runs `call` with every site recording; returns each site's records."""
    for site in sites:
        site.records = []
    saved = []
    try:
        for site in sites:
            saved.append(_install(site))
        call()
    finally:
        # `saved` is shorter than `sites` if an install failed part way.
        for site, state in zip(sites, saved, strict=False):
            _restore(site, state)
    records = [site.records for site in sites]
    for site in sites:
        site.records = []
    return records


class DeadUnitMonitor(keras.callbacks.Callback):
    """Logs the fraction of dead units of every activation in the model.

    A unit is one position along an activation's last (feature or channel)
    axis, pooled over the batch and spatial axes. It is *dead* when its
    activation passes no gradient for any input of the probe batch. At the
    end of every epoch (and every `every_n_batches` batches, if set) the
    callback runs one forward pass of the probe (`training=False`) with
    every activation wrapped so that, next to its output `f(z)`, it also
    evaluates itself a little below its input, for a backward difference:

    Formula:
    ```
    h[n, c]       = 0.01 * max(|z[n, c]|, 1)
    dead(c)       = all over n: f(z[n, c]) == f(z[n, c] - h[n, c])
    dead_fraction = (number of units c with dead(c)) / (number of units)
    ```

    `n` runs over the probe's samples and spatial positions. The test is
    exact for ReLU (dead iff `z <= 0` everywhere, as `relu'(0) = 0`) and
    holds for any element-wise function: a leaky unit with a non-zero slope,
    PReLU with `alpha != 0` and RReLU (in inference mode, slope
    `(lower + upper) / 2`) are never dead; sigmoid and tanh are dead only
    where they saturate to a constant in the activation's dtype, i.e. where
    their gradient really is 0. Only a flat stretch within `h` of a kink
    (ReLU6 just above 6) can be misread as alive.

    Results go into `logs`, so they land in `History`, the progress bar and
    TensorBoard: `dead_units/<layer name>` (the dead fraction, 0 to 1) and
    `inactive_units/<layer name>` (the fraction of units whose input is
    never positive, which for ReLU is the same thing).

    Activations monitored: standalone layers (`keras.layers.ReLU`,
    `LeakyReLU`, `PReLU`, `ELU` and `Activation`; keras_leaky's `LeakyReLU`,
    `PReLU`, `RReLU`), and the `activation` of any other layer (Dense, Conv,
    EinsumDense, ...), given by name or as an instance, also inside nested
    models. Skipped: linear (`None`) activations; softmax and log-softmax
    (also `keras.layers.Softmax`), which are not element-wise, so "dead
    unit" does not apply to them; recurrent layers, whose activations run
    inside the cell's loop; activations inside custom layers that call them
    other than through a sub-model's `layers` or their own `activation`.

    Nothing is changed for training: the recording wrappers exist only
    during the callback's own forward pass and are removed in a `finally`,
    so `fit`'s compiled step is untouched (no `run_eagerly` needed). The
    pass is eager on TensorFlow and torch; on JAX it is one `jax.jit`
    compiled `stateless_call`, traced with the wrappers in place and reused
    while the model's activations stay the same objects. The cost is one
    forward pass of the probe plus one more evaluation of each activation;
    keep the probe to one batch (a few hundred samples).

    Example:
    >>> x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([
    ...     keras.Input((8,)),
    ...     keras.layers.Dense(32, activation="relu"),
    ...     keras.layers.Dense(32, activation="prelu"),
    ...     keras.layers.Dense(1),
    ... ])
    >>> model.compile("adam", "mse")
    >>> monitor = keras_leaky.callbacks.DeadUnitMonitor(x[:128], threshold=0.5)
    >>> history = model.fit(x, y, epochs=2, callbacks=[monitor], verbose=0)
    >>> len(history.history["dead_units/dense"])     # ReLU: one value per epoch
    2
    >>> history.history["dead_units/dense_1"]        # PReLU: never dead
    [0.0, 0.0]

    Args:
        probe_data: The probe batch: inputs the model accepts (an array, a
            list or dict of arrays), or a tuple `(x, y)` or
            `(x, y, sample_weight)` whose `x` is used. Keep it one batch.
        every_n_batches: Optional positive int: also measure every this many
            training batches, writing the same keys into the batch logs.
            Defaults to `None` (only at the end of each epoch). On JAX this
            syncs the model's variables from the training state first.
        threshold: Optional dead fraction in [0, 1]. When a layer's dead
            fraction reaches it (from below, or at the first measurement),
            a `DeadUnitWarning` (a `UserWarning`) is issued with
            `warnings.warn`, once per crossing. Defaults to `None` (no
            warnings).
        verbose: 0 (default, silent) or 1 (print one line per measurement
            with every layer's dead fraction).

    Attributes:
        fractions: The latest `{key: fraction}` measured, both prefixes.
    """

    def __init__(
        self,
        probe_data: Any,
        every_n_batches: int | None = None,
        threshold: float | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if every_n_batches is not None and (
            isinstance(every_n_batches, bool)
            or not isinstance(every_n_batches, numbers.Integral)
            or every_n_batches < 1
        ):
            raise ValueError(
                "Argument `every_n_batches` must be None or a positive int. "
                f"Received: every_n_batches={every_n_batches!r}"
            )
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, numbers.Real)
            or not 0 <= threshold <= 1
        ):
            raise ValueError(
                "Argument `threshold` must be None or a number in [0, 1]. "
                f"Received: threshold={threshold!r}"
            )
        if verbose not in (0, 1):
            raise ValueError(f"Argument `verbose` must be 0 or 1. Received: verbose={verbose!r}")
        if isinstance(probe_data, tuple) and len(probe_data) in (2, 3):
            probe_data = probe_data[0]
        if probe_data is None:
            raise ValueError("Argument `probe_data` must hold the probe inputs. Received: None")
        self.probe_data = probe_data
        self.every_n_batches = every_n_batches
        self.threshold = threshold
        self.verbose = verbose
        self.fractions: dict[str, float] = {}
        self._above: dict[str, bool] = {}
        self._jax_cache: tuple[list, Callable] | None = None
        if every_n_batches is not None:
            # Only hooked when used: Keras dispatches batch callbacks
            # asynchronously unless a callback overrides `on_train_batch_end`.
            self.on_train_batch_end = self._on_train_batch_end

    def measure(self) -> dict[str, float]:
        """Runs the probe and returns `{key: fraction}` for every activation."""
        sites = _find_sites(self.model)
        if keras.backend.backend() == "jax":
            records = self._jax_records(sites)
        else:
            records = _record(sites, lambda: self.model(self.probe_data, training=False))
        results: dict[str, float] = {}
        for site, site_records in zip(sites, records, strict=True):
            dead, inactive = _fractions(site, site_records)
            results[DEAD_PREFIX + site.key] = dead
            results[INACTIVE_PREFIX + site.key] = inactive
        self.fractions = results
        return results

    def _jax_records(self, sites: list[_Site]) -> list[list]:
        """The probe pass as one `jax.jit`-compiled `stateless_call`.

        Eager JAX dispatch costs more than a small model's whole epoch, so
        the recording pass is traced once (the wrappers exist only while it
        is traced) and the compiled function, which returns the per-unit
        records, is reused until the model's activations change.
        """
        import jax

        model = self.model
        key = [model]
        for site in sites:
            key += [site.layer, getattr(site.layer, site.attribute)]
        cached = self._jax_cache
        if (
            cached is None
            or len(cached[0]) != len(key)
            or any(old is not new for old, new in zip(cached[0], key, strict=True))
        ):

            def run(trainable: list, non_trainable: list, x: Any) -> list[list]:
                return _record(
                    sites,
                    lambda: model.stateless_call(trainable, non_trainable, x, training=False),
                )

            cached = self._jax_cache = (key, jax.jit(run))
        return cached[1](
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            self.probe_data,
        )

    def _report(self, logs: dict | None, where: str) -> None:
        results = self.measure()
        if logs is not None:
            logs.update(results)
        dead = {k: v for k, v in results.items() if k.startswith(DEAD_PREFIX)}
        if self.verbose:
            parts = ", ".join(f"{k[len(DEAD_PREFIX) :]} {v:.1%}" for k, v in dead.items())
            print(f"DeadUnitMonitor {where}: dead units: {parts or 'no activations'}")
        if self.threshold is None:
            return
        for key, value in dead.items():
            above = bool(value >= self.threshold)
            if above and not self._above.get(key, False):
                warnings.warn(
                    f"DeadUnitMonitor {where}: {value:.1%} of the units of "
                    f"{key[len(DEAD_PREFIX) :]!r} are dead (threshold {self.threshold:.1%}).",
                    DeadUnitWarning,
                    stacklevel=3,
                )
            self._above[key] = above

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._above = {}
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def _on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if (batch + 1) % self.every_n_batches:
            return
        sync = getattr(self.model, "jax_state_sync", None)
        if keras.backend.backend() == "jax" and callable(sync):
            sync()  # JAX keeps the weights in its training state during an epoch.
        self._report(logs, f"epoch {self._epoch + 1} batch {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._report(logs, f"epoch {epoch + 1}")
