"""`replace_activations`: a trained model with its ReLUs swapped for leaky rectifiers.

A copy of a Sequential or functional model (nested models included) in
which every activation named in `replacements` is replaced, with every
weight copied. `PReLU` with alpha = 0 is ReLU, so
`{"relu": lambda: keras_leaky.PReLU(alpha_initializer=0.0)}` gives a model
that predicts exactly what the original does, whose dead units still get a
gradient through alpha (`x * g` where `x <= 0`): fine-tuning can revive them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import keras

from keras_leaky import activations
from keras_leaky.layers import LAYERS

Replacement = str | type | Callable[[], keras.layers.Layer]

_PLAIN_RELU = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}


def replace_activations(
    model: keras.Model, replacements: Mapping[str | type, Replacement]
) -> keras.Model:
    """Returns a copy of `model` with activations replaced and every weight copied.

    What is replaced, for each key of `replacements`:
    - a Keras activation name (`"relu"`, `"leaky_relu"`, ...): the
      `activation=` of any layer that has one (Dense, Conv*, EinsumDense,
      SeparableConv...) and `keras.layers.Activation` layers using it; for
      `"relu"`, also `keras.layers.ReLU()` layers with default arguments,
      standalone or given as `activation=`;
    - a layer class (`keras.layers.ReLU`, `keras.layers.LeakyReLU`,
      `keras.layers.PReLU`, ...): standalone layers of exactly that class,
      and layer instances of it given as `activation=`.

    A custom layer is rebuilt from its config by its own code: what it
    builds inside follows its `activation` argument, if it has one (an
    `activation` attribute and config entry), and is not reached otherwise.

    A `ReLU(max_value=6)`, `ReLU(threshold=...)` or `ReLU(negative_slope=...)`
    is not plain ReLU: it is left as it is, and a `UserWarning` lists every
    layer left so.

    The new activation inside a layer (`Dense(..., activation="prelu")`) is
    built with that layer, from its output shape and dtype policy (and,
    for a name or class, its data format), as the names are. A standalone
    layer (`Activation`, `ReLU`) is replaced by a standalone one of the
    same name and dtype policy. Every
    weight of the model is copied; new activations (PReLU's alpha) start at
    their initializers, and a replaced layer's own weights (a Keras PReLU's
    alpha) are not carried over. The original model is not changed. If it
    was compiled, the copy is compiled the same way (as `keras.models.clone_model`
    does) but with a new optimizer: compile it again to choose how to fine-tune.
    A key that matches nothing in the model is named in a `UserWarning`.

    Example:
    >>> import keras, keras_leaky, numpy as np
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")])
    >>> revived = keras_leaky.replace_activations(
    ...     model, {"relu": lambda: keras_leaky.PReLU(alpha_initializer=0.0)})
    >>> type(revived.layers[0].activation).__name__
    'PReLU'
    >>> x = np.random.default_rng(0).standard_normal((2, 4))
    >>> bool(np.array_equal(model.predict(x, verbose=0), revived.predict(x, verbose=0)))
    True

    Args:
        model: A Sequential or functional `keras.Model`; models nested in it
            (a backbone inside a classifier) are rebuilt the same way.
            Subclassed models, whose layers are made by their own Python
            code, raise a `ValueError`.
        replacements: A dict from what to replace (a Keras activation name
            or a layer class) to what replaces it: a keras-leaky name
            (`"prelu"`, `"rrelu"`, `"LeakyReLU"`) or any other activation
            name, a keras-leaky layer class, or a function of no arguments
            that returns a new layer (`lambda: keras_leaky.PReLU(alpha_initializer=0.0)`),
            called once per replaced activation.

    Returns:
        A new model of the same kind, built, which saves and reloads like
        any keras-leaky model.
    """
    functions, classes = _check_replacements(replacements)
    _check_rebuildable(model, "model")
    pairs: list[tuple[keras.layers.Layer, keras.layers.Layer, bool]] = []
    left: list[str] = []

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        new, replaced = _clone_layer(layer, functions, classes, left)
        pairs.append((layer, new, replaced))
        return new

    with activations.recording() as put_in:  # The activations layers ask Keras for.
        new_model = keras.models.clone_model(model, clone_function=clone, recursive=True)
        if model.built and not new_model.built:
            new_model.build(model.input_shape)
    new_variables = {id(v) for layer in put_in for v in layer.variables}
    for old, new, replaced in pairs:
        _copy_weights(old, new, new_variables if replaced else set())
    if left:
        warnings.warn(
            "replace_activations left these layers as they are, because they are not plain "
            f"ReLU: {', '.join(left)}. Replace them yourself if you mean to.",
            UserWarning,
            stacklevel=2,
        )
    unmatched = [
        key for key in replacements if _lookup_key(key) not in functions.seen | classes.seen
    ]
    if unmatched:
        warnings.warn(
            f"replace_activations found nothing to replace for {', '.join(map(repr, unmatched))} "
            f"in model {model.name!r}.",
            UserWarning,
            stacklevel=2,
        )
    return new_model


class _Lookup(dict):
    """A dict that remembers which of its keys were looked up and found."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set = set()

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self:
            self.seen.add(key)
        return super().get(key, default)


def _lookup_key(key: str | type) -> Any:
    """What a key of `replacements` is looked up as: a Keras function, or the class."""
    return activations.keras_activation(key) if isinstance(key, str) else key


def _check_replacements(replacements: Any) -> tuple[_Lookup, _Lookup]:
    """Splits `replacements` into {activation function: value} and {layer class: value}."""
    if not isinstance(replacements, Mapping) or not replacements:
        raise TypeError(
            "Argument `replacements` must be a non-empty dict from what to replace (a Keras "
            "activation name such as 'relu', or a layer class such as keras.layers.ReLU) "
            "to what replaces it (a keras-leaky name such as 'prelu', a keras-leaky layer "
            f"class, or a function returning a new layer). Received: replacements={replacements!r}"
        )
    functions, classes = _Lookup(), _Lookup()  # {Keras function: value}, {class: value}
    for key, value in replacements.items():
        _check_value(key, value)
        if isinstance(key, type) and issubclass(key, keras.layers.Layer):
            classes[key] = value
        elif isinstance(key, str) and activations.keras_activation(key) is not None:
            functions[activations.keras_activation(key)] = value
        else:
            raise ValueError(
                "Each key of `replacements` must be a Keras activation name (such as 'relu') "
                f"or a layer class (such as keras.layers.ReLU). Received: key {key!r}"
            )
    return functions, classes


def _check_value(key: Any, value: Any) -> None:
    if isinstance(value, str):
        if activations.keras_activation(value) is None:
            activations.resolve(value)  # Raises a ValueError that lists the valid names.
        return
    if isinstance(value, type):
        if issubclass(value, LAYERS):
            return
    elif callable(value):
        return
    raise TypeError(
        f"The replacement for {key!r} must be an activation name (such as 'prelu'), a "
        "keras-leaky layer class, or a function of no arguments that returns a new layer. "
        f"Received: {value!r}"
    )


def _check_rebuildable(model: Any, name: str) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(f"Argument `{name}` must be a keras.Model. Received: {model!r}")
    if not isinstance(model, (keras.Sequential, keras.Function)):
        raise ValueError(
            f"replace_activations rebuilds a model from its graph of layers, but "
            f"{model.name!r} is a subclassed model ({type(model).__name__}): its layers are "
            "made by its own Python code, which cannot be rebuilt with other activations. "
            "Build it as a Sequential or functional model, or call replace_activations on "
            "its Sequential or functional parts (e.g. a GAN's discriminator), or give its "
            "constructor the activation (e.g. activation='prelu') and copy the weights "
            "into a new instance."
        )


def _clone_layer(
    layer: keras.layers.Layer,
    functions: _Lookup,
    classes: _Lookup,
    left: list[str],
) -> tuple[keras.layers.Layer, bool]:
    """A new layer like `layer`, with its activation replaced; and whether it was.

    What is replaced is `layer` itself (an `Activation`, a `ReLU`, a layer of
    a class key) or else its `activation`.
    """
    if isinstance(layer, keras.Model):  # Neither Sequential nor functional: subclassed.
        _check_rebuildable(layer, "model")
    config = layer.get_config()
    if isinstance(layer, keras.layers.Activation):
        target, value = layer, functions.get(layer.activation)
    else:
        target, value = layer, _replacement_for(layer, functions, classes)
        if value is None:
            target = getattr(layer, "activation", None)
            value = _replacement_for(target, functions, classes)
    if value is not None and _is_relu_layer(target) and not _is_plain_relu(target):
        where = "" if target is layer else "activation "
        left.append(f"{layer.name} ({where}{_describe(target)})")
        value = None
    if value is not None and target is layer:
        return _standalone(value, layer), True
    if value is not None and "activation" in config:
        config["activation"] = _in_config(value, config.get("dtype"))
        return type(layer).from_config(config), True
    return type(layer).from_config(config), False


def _replacement_for(activation: Any, functions: _Lookup, classes: _Lookup) -> Replacement | None:
    """What replaces `activation`: a function, a name of one, or a layer (of a class key,
    or a `ReLU`, which `"relu"` replaces too); None if nothing does."""
    if isinstance(activation, str):  # A custom layer that keeps the name it was given.
        activation = activations.keras_activation(activation)
    if isinstance(activation, keras.layers.Layer):
        value = classes.get(type(activation))
        if value is None and _is_relu_layer(activation):
            value = functions.get(keras.activations.relu)
        return value
    return functions.get(activation) if callable(activation) else None


def _is_relu_layer(layer: Any) -> bool:
    return type(layer) is keras.layers.ReLU


def _is_plain_relu(layer: keras.layers.ReLU) -> bool:
    config = layer.get_config()
    return all(config.get(name) == value for name, value in _PLAIN_RELU.items())


def _describe(layer: keras.layers.Layer) -> str:
    config = layer.get_config()
    arguments = ", ".join(
        f"{name}={config.get(name)}"
        for name, value in _PLAIN_RELU.items()
        if config.get(name) != value
    )
    return f"{type(layer).__name__}({arguments})"


def _in_config(value: Replacement, dtype: Any) -> str | dict:
    """`value` as a layer's config holds an activation: a name, or a serialized layer.

    Each layer that asks Keras for it gets a new activation layer of its own,
    also a custom layer that hands it on to several sublayers, and the
    config saves and reloads as it is. A layer from a function takes the
    host's dtype policy (`dtype`, from the host's config), as a name does.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, type):
        return value.__name__  # A keras-leaky layer class: its name resolves to it.
    serialized = keras.saving.serialize_keras_object(_call(value))
    serialized["config"].pop("name", None)  # Each one made from it gets a name of its own.
    if dtype is not None:
        serialized["config"]["dtype"] = dtype
    return serialized


def _call(factory: Callable[[], keras.layers.Layer]) -> keras.layers.Layer:
    layer = factory()
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(
            f"A replacement function must return a new keras.layers.Layer. Received: {layer!r}"
        )
    return layer


def _standalone(value: Replacement, layer: keras.layers.Layer) -> keras.layers.Layer:
    """A standalone layer from `value`, with `layer`'s name and dtype policy."""
    if isinstance(value, str) and activations.keras_activation(value) is not None:
        return keras.layers.Activation(value, name=layer.name, dtype=layer.dtype_policy)
    if isinstance(value, str):
        value = activations.resolve(value)
    if isinstance(value, type):
        return value(name=layer.name, dtype=layer.dtype_policy)
    prototype = _call(value)
    config = prototype.get_config()
    config["name"] = layer.name
    config["dtype"] = layer.dtype_policy
    return type(prototype).from_config(config)


def _copy_weights(old: keras.layers.Layer, new: keras.layers.Layer, new_variables: set) -> None:
    """Copies `old`'s variables into `new`, leaving out its new activations' own.

    `new_variables` holds the ids of the variables of the activations put in
    `new` (none if it was not changed); the activation it replaced, if it was a
    layer, had its own too, which are not copied either.
    """
    if not old.variables:
        return
    if type(old) is not type(new):
        return  # A standalone activation replaced: the new one starts at its initializers.
    replaced = getattr(old, "activation", None) if new_variables else None
    old_variables = {id(v) for v in getattr(replaced, "variables", [])}
    sources = [v for v in old.variables if id(v) not in old_variables]
    targets = [v for v in new.variables if id(v) not in new_variables]
    if len(sources) != len(targets) or any(
        tuple(s.shape) != tuple(t.shape) for s, t in zip(sources, targets, strict=False)
    ):
        raise ValueError(
            f"replace_activations could not copy the weights of layer {old.name!r}: its copy "
            "holds other variables. Please report this with the layer's config."
        )
    for source, target in zip(sources, targets, strict=True):
        # A copy: on JAX the two models' steps may donate (free) their buffers.
        target.assign(keras.ops.copy(source.value))
