"""The `DeadUnitMonitor` callback: the fraction of dead units per activation."""

from __future__ import annotations

import functools
import inspect
import numbers
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np

from keras_leaky.layers import LAYERS

DEAD_PREFIX = "dead_units/"
INACTIVE_PREFIX = "inactive_units/"

# Standalone activation layers whose `call` is recorded: Keras's and every
# keras_leaky layer. `keras.layers.Activation` is not here: like Dense and Conv
# it holds its function in `.activation`.
_STANDALONE = (
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.PReLU,
    keras.layers.ELU,
    *LAYERS,
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


def _tensorboards_before(callback: keras.callbacks.Callback) -> list[keras.callbacks.TensorBoard]:
    """The `TensorBoard` callbacks that run before `callback` in its `CallbackList`.

    A callback is not told its siblings. Keras (checked on 3.10 to 3.15)
    calls every callback's `on_train_begin` from `CallbackList.on_train_begin`,
    in list order, so the list is the `self` of a calling frame. Called any
    other way (by hand), no list is found and the result is empty.
    """
    frame = inspect.currentframe()
    try:
        while frame is not None:
            owner = frame.f_locals.get("self")
            if isinstance(owner, keras.callbacks.CallbackList):
                for i, other in enumerate(owner.callbacks):
                    if other is callback:
                        before = owner.callbacks[:i]
                        return [c for c in before if isinstance(c, keras.callbacks.TensorBoard)]
            frame = frame.f_back
        return []
    finally:
        del frame  # A frame referenced from its own locals is a cycle.


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


def _probe_inputs(probe_data: Any) -> Any:
    """The inputs of a probe given as inputs, `(x, y)` or `(x, y, sample_weight)`."""
    if isinstance(probe_data, tuple) and len(probe_data) in (2, 3):
        probe_data = probe_data[0]
    if probe_data is None:
        raise ValueError("Argument `probe_data` must hold the probe inputs. Received: None")
    return probe_data


def _check_runnable(model: keras.Model) -> None:
    """Raises unless `model` defines a forward pass (Keras's own `call` only raises)."""
    if type(model).call in (keras.Model.call, keras.layers.Layer.call):
        raise ValueError(
            f"DeadUnitMonitor runs its probe through the model, but model {model.name!r} "
            f"({type(model).__name__}) has no `call()` method: it only trains, through its "
            "own `train_step` (as a GAN does). Pass the sub-model(s) to watch with `model=`, "
            "e.g. `DeadUnitMonitor(probe_data, model=gan.discriminator)`, or a list of them "
            "with one probe each."
        )


def _watched(probe_data: Any, model: Any) -> list[tuple[str, keras.Model | None, Any]]:
    """`(key prefix, model, probe inputs)` per watched model; `None`: the trained one."""
    if model is None:
        return [("", None, _probe_inputs(probe_data))]
    if isinstance(model, (list, tuple)):
        models = list(model)
        probes = list(probe_data) if isinstance(probe_data, (list, tuple)) else None
        if not models or probes is None or len(probes) != len(models):
            if probes is None:
                received = f"of type {type(probe_data).__name__}"
            else:
                received = f"of length {len(probes)}"
            raise ValueError(
                "When `model` is a list, `probe_data` must be a list (or tuple) of the same "
                "length: one probe per model, in the same order. Received: "
                f"{len(models)} model(s) and probe_data {received}"
            )
    else:
        models, probes = [model], [probe_data]
    for m in models:
        if not isinstance(m, keras.Model):
            raise TypeError(
                "Argument `model` must be None, a `keras.Model` or a list of them. "
                f"Received: model={model!r}"
            )
        _check_runnable(m)
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(
            "The models in `model` must have distinct names (they prefix the logged keys). "
            f"Received: names={names}"
        )
    return [(f"{m.name}/", m, _probe_inputs(p)) for m, p in zip(models, probes, strict=True)]


def _write_scalars(
    tensorboard: keras.callbacks.TensorBoard, prefix: str, step: int, results: dict[str, float]
) -> None:
    """Writes `results` as `tensorboard` writes logs: `<prefix><key>` in its `train` run.

    `_train_writer` is the callback's own writer (a private property of
    Keras's `TensorBoard` since 3.0, checked to 3.15): the scalars go into
    the same event file as its other epoch and batch scalars.
    """
    with tensorboard._train_writer.as_default():
        for key, value in results.items():
            tensorboard.summary.scalar(prefix + key, value, step=step)


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

    Results go into `logs`, so they land in `History` and the progress bar:
    `dead_units/<layer name>` (the dead fraction, 0 to 1) and
    `inactive_units/<layer name>` (the fraction of units whose input is
    never positive, which for ReLU is the same thing). With `model=` given,
    the keys name the watched model too: `dead_units/<model name>/<layer
    name>`.

    TensorBoard: a `keras.callbacks.TensorBoard` placed after the monitor
    in `callbacks=[...]` writes the keys from `logs` like any metric. One
    placed before it has already written the epoch's `logs` when the monitor
    runs, so the monitor writes its scalars into that callback's `train`
    run itself, under the names TensorBoard gives logs (`epoch_dead_units/
    <layer>` at step `epoch`; `batch_...` at the batch count when
    `every_n_batches` is set and the TensorBoard's `update_freq` is not
    `"epoch"`). Either order gives the same scalars. The monitor learns the
    order from the `CallbackList` that `fit` calls it from; when it is run
    by hand, outside a `CallbackList`, only a TensorBoard after it sees the
    scalars.

    Models that only train (a `keras.Model` subclass with its own
    `train_step` and no `call()`, as keras-io's GANs are) cannot run a
    probe: pass the sub-model(s) to watch, `model=gan.discriminator` or
    `model=[gan.discriminator, gan.generator]` with one probe each. A model
    the monitor cannot run fails with a `ValueError` at construction (given
    as `model=`) or at `on_train_begin` (the trained model), and the probe
    is run once at `on_train_begin`, so that a probe which does not fit
    fails before any batch is trained.

    Activations monitored: standalone layers (`keras.layers.ReLU`,
    `LeakyReLU`, `PReLU`, `ELU` and `Activation`; every keras_leaky layer,
    `keras_leaky.layers.LAYERS`), and the `activation` of any other layer
    (Dense, Conv, EinsumDense, ...), given by name or as an instance, also
    inside nested models. Skipped: linear (`None`) activations; softmax and log-softmax
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
    >>> import keras, keras_leaky, numpy as np
    >>> keras.utils.set_random_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([
    ...     keras.Input((8,)),
    ...     keras.layers.Dense(32, activation="relu", name="relu_layer"),
    ...     keras.layers.Dense(32, activation="prelu", name="prelu_layer"),
    ...     keras.layers.Dense(1),
    ... ])
    >>> model.compile("adam", "mse")
    >>> monitor = keras_leaky.callbacks.DeadUnitMonitor(x[:128], threshold=0.5)
    >>> history = model.fit(x, y, epochs=2, callbacks=[monitor], verbose=0)
    >>> len(history.history["dead_units/relu_layer"])     # one value per epoch
    2
    >>> history.history["dead_units/prelu_layer"]         # PReLU: never dead
    [0.0, 0.0]

    Args:
        probe_data: The probe batch: inputs the model accepts (an array, a
            list or dict of arrays), or a tuple `(x, y)` or
            `(x, y, sample_weight)` whose `x` is used. Keep it one batch.
            When `model` is a list: a list (or tuple) of as many probes, the
            i-th for the i-th model.
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
        model: Optional `keras.Model`, or list of them with distinct names,
            to watch instead of the model being trained: typically its
            sub-models (a GAN's `discriminator`), whose variables `fit`
            trains. Defaults to `None` (the model being trained).

    Attributes:
        fractions: The latest `{key: fraction}` measured, both prefixes.
    """

    def __init__(
        self,
        probe_data: Any,
        every_n_batches: int | None = None,
        threshold: float | None = None,
        verbose: int = 0,
        model: keras.Model | list[keras.Model] | None = None,
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
        self._watched = _watched(probe_data, model)
        self.probe_data = probe_data
        self.every_n_batches = every_n_batches
        self.threshold = threshold
        self.verbose = verbose
        self.fractions: dict[str, float] = {}
        self._above: dict[str, bool] = {}
        self._tensorboards: list[keras.callbacks.TensorBoard] = []
        self._batches = 0
        self._jax_cache: dict[int, tuple[list, Callable]] = {}
        if every_n_batches is not None:
            # Only hooked when used: Keras dispatches batch callbacks
            # asynchronously unless a callback overrides `on_train_batch_end`.
            self.on_train_batch_end = self._on_train_batch_end

    def measure(self) -> dict[str, float]:
        """Runs the probe and returns `{key: fraction}` for every activation."""
        results: dict[str, float] = {}
        for index, (prefix, model, probe) in enumerate(self._watched):
            if model is None:
                model = self.model
                _check_runnable(model)
            sites = _find_sites(model)
            if keras.backend.backend() == "jax":
                records = self._jax_records(index, model, sites, probe)
            else:
                records = _record(sites, functools.partial(model, probe, training=False))
            for site, site_records in zip(sites, records, strict=True):
                dead, inactive = _fractions(site, site_records)
                results[DEAD_PREFIX + prefix + site.key] = dead
                results[INACTIVE_PREFIX + prefix + site.key] = inactive
        self.fractions = results
        return results

    def _jax_records(self, index: int, model: keras.Model, sites: list[_Site], probe: Any) -> list:
        """The probe pass as one `jax.jit`-compiled `stateless_call`.

        Eager JAX dispatch costs more than a small model's whole epoch, so
        the recording pass is traced once (the wrappers exist only while it
        is traced) and the compiled function, which returns the per-unit
        records, is reused until the model's activations change.
        """
        import jax

        key = [model]
        for site in sites:
            key += [site.layer, getattr(site.layer, site.attribute)]
        cached = self._jax_cache.get(index)
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

            cached = self._jax_cache[index] = (key, jax.jit(run))
        return cached[1](
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            probe,
        )

    def _report(self, logs: dict | None, where: str, tag: str, step: int) -> None:
        results = self.measure()
        if logs is not None:
            logs.update(results)
        for tensorboard in self._tensorboards:
            if tag == "epoch_" or tensorboard.update_freq != "epoch":
                _write_scalars(tensorboard, tag, step, results)
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
        self._batches = 0
        self._tensorboards = _tensorboards_before(self)
        # A model it cannot run, or a probe that does not fit, fails now,
        # before any batch is trained, rather than after the first epoch.
        self.measure()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def _on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batches += 1  # Counted as TensorBoard counts its batch steps.
        if (batch + 1) % self.every_n_batches:
            return
        sync = getattr(self.model, "jax_state_sync", None)
        if keras.backend.backend() == "jax" and callable(sync):
            sync()  # JAX keeps the weights in its training state during an epoch.
        where = f"epoch {self._epoch + 1} batch {batch + 1}"
        self._report(logs, where, "batch_", self._batches)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._report(logs, f"epoch {epoch + 1}", "epoch_", epoch)
