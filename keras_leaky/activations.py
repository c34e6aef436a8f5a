"""Activation names: the registry, and the hook that teaches Keras the names.

After `import keras_leaky`, `Dense(90, activation="prelu")` and every other
Keras layer that takes `activation=` resolve keras_leaky's names. Keras (3.10
to 3.15 at least) resolves activation strings only from its own table in
`keras.src.activations`, so this module wraps `keras.src.activations.get`
(and its public re-exports): that is the deliberate, contained hook, and
everything here that touches Keras internals is in this one module.

Checked against Keras 3.10.0 and 3.15.1. The hook relies on:
- `keras.src.activations.get` and `ALL_OBJECTS_DICT` (the built-in names);
- layers calling `activations.get(...)` from their `__init__` (Dense, Conv*,
  EinsumDense, Activation, RNN cells), which is how the layer that will own a
  stateful activation (the "host") is found, and a stateful activation asked
  for from a layer's `call` is caught (`_find_host`);
- Keras's convention that `host.activation` is applied last, element-wise,
  to the host's output (Dense, Conv*, EinsumDense, Activation);
- `Layer.build` and `Layer.compute_output_spec` being per-instance
  overridable, which is how the host's output activation is built together
  with its host so that its weights exist as soon as the model is built.
  (Keras's own layer-instance activations are built lazily at the first
  call, so `load_weights` into a freshly built model fails; these are not.)
  Any other activation a layer asks for (a custom block applying it to a
  hidden tensor) is built at its first call, as Keras builds its own.
If a Keras release moves these, `import keras_leaky` raises an `ImportError`
naming the Keras version, before anything is changed.

Resolution rules, in order:
1. Names Keras defines keep exactly Keras's meaning (`"leaky_relu"` is
   Keras's function, slope 0.2).
2. Other strings are normalized (lowercased; `_`, `-` and spaces dropped)
   and looked up in `NAMES`/`ALIASES`: `"prelu"`, `"PReLU"`, `"rrelu"`,
   `"LeakyRelu"`... Each lookup gives a **new** layer instance, so every
   Dense with `"prelu"` owns its alpha and every `"rrelu"` its noise.
3. Unknown strings raise a `ValueError` listing the valid names.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import keras

from keras_leaky.layers import LAYERS, PReLU
from keras_leaky.registration import PACKAGE


def normalize(name: str) -> str:
    """Lowercases `name` and drops `_`, `-` and spaces: `"Leaky_ReLU"` -> `"leakyrelu"`."""
    return "".join(ch for ch in name.lower() if ch not in "_- ")


NAMES: dict[str, type[keras.layers.Layer]] = {normalize(layer.__name__): layer for layer in LAYERS}
"""Canonical names (the normalized class names) and the layer class each one builds."""

ALIASES: dict[str, str] = {
    "lrelu": "leakyrelu",
    "leaky": "leakyrelu",
    "parametricrelu": "prelu",
    "randomizedrelu": "rrelu",
    "randomizedleakyrelu": "rrelu",
}
"""Other accepted spellings (normalized form) and the canonical name they mean."""

_SUPPORTED_KERAS = "3.10 to 3.15"
_KERAS_MODULE = "keras.src.activations"
_PUBLIC_MODULES = ("keras.activations", "keras._tf_keras.keras.activations")
_lock = threading.Lock()


def _keras_names() -> list[str]:
    return sorted(importlib.import_module(_KERAS_MODULE).ALL_OBJECTS_DICT)


def keras_activation(name: str) -> Any:
    """Keras's own activation function called `name` (`"relu"`), or None."""
    return importlib.import_module(_KERAS_MODULE).ALL_OBJECTS_DICT.get(name)


def valid_names() -> list[str]:
    """All names `activation=` accepts after `import keras_leaky`."""
    return _keras_names() + sorted(NAMES) + sorted(ALIASES)


def resolve(name: str) -> type[keras.layers.Layer]:
    """Returns the keras_leaky layer class for a name, or raises `ValueError`."""
    key = normalize(name)
    key = ALIASES.get(key, key)
    if key not in NAMES:
        raise ValueError(
            f"Unknown activation name {name!r}. Valid names (case, '_' and '-' "
            f"are ignored for keras_leaky's): {', '.join(valid_names())}. "
            f"Received: activation={name!r}"
        )
    return NAMES[key]


def get(identifier: Any) -> Any:
    """Resolves an activation identifier the way Keras layers will.

    - `None`, dicts (serialized configs) and Keras's own names go to Keras.
    - keras_leaky names and layer classes give a new layer instance.
    - Callables (functions, layer instances) pass through.

    Example:
    >>> import keras_leaky
    >>> activation = keras_leaky.activations.get("PReLU")
    >>> type(activation).__name__, activation.built   # built with its host, or at first call
    ('PReLU', False)

    Raises:
        ValueError: for an unknown name; the message lists the valid names.
    """
    keras_get = _original_get()
    if isinstance(identifier, str):
        if keras_activation(identifier) is not None:
            return keras_get(identifier)
        return resolve(identifier)()
    if isinstance(identifier, type) and issubclass(identifier, LAYERS):
        return identifier()
    return keras_get(identifier)


def _original_get() -> Any:
    current = importlib.import_module(_KERAS_MODULE).get
    return getattr(current, "_keras_leaky_original", current)


# ---------------------------------------------------------------------------
# Binding an activation layer to the layer that owns it.

# How many frames above `keras.activations.get` the asking layer method may be:
# a layer method, possibly through a helper object's `__init__` or a function.
_MAX_DEPTH = 6
# `tf__call` is the name AutoGraph gives a converted `call`.
_CALL_METHODS = ("call", "tf__call")


def _find_host(activation: keras.layers.Layer) -> keras.layers.Layer | None:
    """The layer whose `__init__` is asking Keras for `activation`, if any.

    Walks up the stack to the nearest method of a Layer (other than
    `activation` itself). From `__init__`, that layer is the host; from
    `build` (or anything else) there is no host and the activation is built
    at its first call, as Keras builds its own. From `call`, a stateful
    activation would be new at every call, its weights never trained nor
    saved: that raises.
    """
    frame = sys._getframe(3)
    for _ in range(_MAX_DEPTH):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.layers.Layer) and owner is not activation:
            name = frame.f_code.co_name
            if name == "__init__":
                return owner
            state = _state(activation)
            if name in _CALL_METHODS and state is not None:
                kind = type(activation).__name__
                raise ValueError(
                    f"keras_leaky: a {kind} activation was created inside "
                    f"`{type(owner).__name__}.call()`. It has its own {state}, "
                    "so a new one at every call would never be trained or saved (and "
                    "TensorFlow cannot create variables there). Create it once in "
                    f"`__init__` (or `build`), e.g. `self.act = keras.activations.get(...)`, "
                    "and call `self.act(x)` in `call()`."
                )
            return None
        frame = frame.f_back
    return None


def _state(layer: keras.layers.Layer) -> str | None:
    """What `layer` keeps from one call to the next: `"weights"`, `"random state"` or None.

    Read from what it holds. Keras builds a layer at construction when it
    creates no weights (`_build_at_init`), so one not yet built creates them
    in `build` (PReLU's alpha). Variables that are not weights are a
    `keras.random.SeedGenerator`'s state (RReLU's).
    """
    if layer.weights or not layer.built:
        return "weights"
    if layer.variables:
        return "random state"
    return None


def _named_data_format(host: keras.layers.Layer) -> str | None:
    """The channel layout a PReLU built by name takes from its host.

    The host's own `data_format` (Conv*, pooling...) where it has one. A
    `keras.layers.Activation` knows no layout, so the name keeps PReLU's
    default, `keras.config.image_data_format()`, as a standalone PReLU
    does. Any other host (Dense, EinsumDense, ...) puts its channels last.
    """
    data_format = getattr(host, "data_format", None)
    if data_format in ("channels_last", "channels_first"):
        return data_format
    if isinstance(host, keras.layers.Activation):
        return None
    return "channels_last"


def _single_shape(shape: Any) -> tuple | None:
    """`shape` as a tuple if it is one tensor's shape (ints or None), else None."""
    if not isinstance(shape, (tuple, list)):
        return None
    if all(size is None or isinstance(size, int) for size in shape):
        return tuple(shape)
    return None


def _bind(host: keras.layers.Layer, activation: keras.layers.Layer, by_name: bool) -> None:
    """Builds `activation` whenever `host` is built, if it is `host`'s output activation.

    Keras's convention (Dense, Conv*, EinsumDense, Activation) is that
    `host.activation` is applied last, element-wise, to the host's output:
    only then is the host's output shape the activation's input shape, and
    only then is the activation built with the host. Any other activation a
    layer asks for in its `__init__` (a custom block applying it to a hidden
    tensor) is built at its first call, as Keras builds its own.

    An activation made from a name takes the host's dtype policy (as Keras's
    own function activations compute in the host's dtype) and, for PReLU,
    its channel layout (`_named_data_format`).
    """
    # Recurrent cells (LSTMCell, GRUCell, ...) have `get_initial_state`; they
    # set `state_size` only after asking for their activations.
    is_cell = hasattr(host, "state_size") or hasattr(host, "get_initial_state")
    if _state(activation) is not None and is_cell:
        raise ValueError(
            f"keras_leaky: a {type(activation).__name__} activation has its own "
            f"weights or noise, which Keras's recurrent cells cannot carry through "
            f"their loop ({type(host).__name__}). Use a stateless activation such as "
            f"'LeakyReLU' inside the cell, or apply keras_leaky.{type(activation).__name__} "
            "to the recurrent layer's output."
        )
    if by_name:
        activation.dtype_policy = host.dtype_policy
        data_format = _named_data_format(host)
        if isinstance(activation, PReLU) and data_format is not None:
            activation.data_format = data_format

    def needs_build() -> bool:
        return not activation.built and getattr(host, "activation", None) is activation

    def build_activation(shape: Any) -> None:
        shape = _single_shape(shape)
        if shape is not None and needs_build():
            activation.build(shape)

    host_build = host.build

    @functools.wraps(host_build)
    def build(*args: Any, **kwargs: Any) -> None:
        host_build(*args, **kwargs)
        if needs_build():
            input_shape = args[0] if args else next(iter(kwargs.values()), None)
            try:
                output_shape = host.compute_output_shape(input_shape)
            except Exception:  # noqa: BLE001 - built at its first call instead.
                return
            build_activation(output_shape)

    host_spec = host.compute_output_spec

    @functools.wraps(host_spec)
    def compute_output_spec(*args: Any, **kwargs: Any) -> Any:
        spec = host_spec(*args, **kwargs)
        # The output activation is applied last and element-wise: its input
        # has the shape of the host's output.
        if isinstance(spec, keras.KerasTensor):
            build_activation(spec.shape)
        return spec

    host.build = build
    host.compute_output_spec = compute_output_spec


_recorded = threading.local()


@contextlib.contextmanager
def recording() -> Iterator[list[keras.layers.Layer]]:
    """Collects, in a list, the keras-leaky activations that layers ask Keras for meanwhile.

    `replace_activations` uses it to tell the activations it put in from the
    weights it copies. Per thread; nested recordings each see their own.
    """
    previous = getattr(_recorded, "layers", None)
    _recorded.layers = []
    try:
        yield _recorded.layers
    finally:
        _recorded.layers = previous


def _hooked_get(identifier: Any) -> Any:
    activation = get(identifier)
    by_name = isinstance(identifier, str) or isinstance(identifier, type)
    if isinstance(activation, LAYERS):
        host = _find_host(activation)
        if host is not None:
            _bind(host, activation, by_name)
        recorded = getattr(_recorded, "layers", None)
        if recorded is not None:
            recorded.append(activation)
    return activation


# ---------------------------------------------------------------------------
# Installing the hook.


def _check_internals() -> Any:
    """Returns `keras.src.activations`, or raises a clear `ImportError`."""
    problem = None
    try:
        module = importlib.import_module(_KERAS_MODULE)
    except ImportError as error:
        module, problem = None, f"`{_KERAS_MODULE}` cannot be imported ({error})"
    if problem is None:
        if not callable(getattr(module, "get", None)):
            problem = f"`{_KERAS_MODULE}.get` is missing"
        elif not isinstance(getattr(module, "ALL_OBJECTS_DICT", None), dict):
            problem = f"`{_KERAS_MODULE}.ALL_OBJECTS_DICT` is missing"
        elif not hasattr(sys, "_getframe"):
            problem = "this Python has no `sys._getframe`"
    if problem is not None:
        raise ImportError(
            f"keras_leaky cannot register its activation names with Keras "
            f"{keras.__version__}: {problem}. keras_leaky supports Keras "
            f"{_SUPPORTED_KERAS}; install one of those, or use the layers "
            "(keras_leaky.PReLU(), ...) as `activation=` instances."
        )
    return module


def install() -> None:
    """Installs the hook; harmless to call twice."""
    with _lock:
        try:
            module = _check_internals()
        except ImportError:
            # Leave nothing half-registered: drop the serialization entries
            # that importing the layers added.
            registry = keras.saving.get_custom_objects()
            for key in [key for key in registry if key.startswith(f"{PACKAGE}>")]:
                del registry[key]
            raise
        if hasattr(module.get, "_keras_leaky_original"):
            return
        original = module.get

        @functools.wraps(original)
        def hooked(identifier: Any) -> Any:
            return _hooked_get(identifier)

        hooked._keras_leaky_original = original
        targets = [module]
        for name in _PUBLIC_MODULES:
            try:
                public = importlib.import_module(name)
            except ImportError:
                continue
            if getattr(public, "get", None) is original:
                targets.append(public)
        for target in targets:
            target.get = hooked
