"""A slim `run_layer_test` on public `keras.*` APIs only.

In the spirit of Keras's own `run_layer_test` (`keras/src/testing/test_case.py`, private) and
keras-hub's re-write on public APIs (`keras_hub/src/tests/test_case.py`). The backend is whatever
`KERAS_BACKEND` selected for this process; nothing here sets it.
"""

from __future__ import annotations

import json
from typing import Any

import keras
import numpy as np
from keras import ops

from tests.backend_utils import TOLERANCE, make_x

FLOAT_DTYPES = ("float16", "bfloat16", "float32")


def _dtype(x: Any) -> str:
    return keras.backend.standardize_dtype(x.dtype)


def _to_numpy(x: Any) -> np.ndarray:
    """Converts a backend tensor of any float dtype (bfloat16 included) to float32 NumPy."""
    return ops.convert_to_numpy(ops.cast(x, "float32"))


def count_seed_generators(layer: keras.layers.Layer) -> int:
    """Counts the `keras.random.SeedGenerator`s held as public attributes of `layer`.

    Private attributes are skipped: Keras's own bookkeeping lists them again.
    """
    count = 0
    for name, value in vars(layer).items():
        if name.startswith("_"):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        count += sum(isinstance(v, keras.random.SeedGenerator) for v in values)
    return count


def _randomize_weights(layer: keras.layers.Layer, rng: np.random.Generator) -> None:
    """Gives every weight distinct random values, so weight copies are actually exercised."""
    for weight in layer.weights:
        values = rng.uniform(-1.0, 1.0, size=tuple(weight.shape)).astype("float32")
        weight.assign(ops.cast(values, weight.dtype))


def _check_serialization(layer_cls: type, init_kwargs: dict, data: np.ndarray) -> None:
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config, "get_config() is not JSON-serializable"

    revived = layer_cls.from_config(config)
    assert type(revived) is layer_cls
    assert revived.get_config() == config, "from_config(get_config()) changed the config"

    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    deserialized = keras.saving.deserialize_keras_object(serialized)
    assert type(deserialized) is layer_cls
    assert deserialized.get_config() == config, "serialize/deserialize changed the config"

    # A reconstructed layer computes exactly what the original does on the same weights.
    layer(data)  # Builds.
    _randomize_weights(layer, np.random.default_rng(1))
    reference = layer(data)
    for other in (revived, deserialized):
        other(data)  # Builds.
        other.set_weights(layer.get_weights())
        np.testing.assert_array_equal(_to_numpy(other(data)), _to_numpy(reference))


def _check_weight_counts(
    layer: keras.layers.Layer,
    num_trainable: int,
    num_non_trainable: int,
    num_seed_generators: int,
) -> None:
    assert layer.built
    assert len(layer.trainable_weights) == num_trainable, layer.trainable_weights
    assert len(layer.non_trainable_weights) == num_non_trainable, layer.non_trainable_weights
    assert count_seed_generators(layer) == num_seed_generators
    # Each SeedGenerator holds one non-trainable state variable, which is not a weight.
    assert len(layer.non_trainable_variables) == num_non_trainable + num_seed_generators


def _check_masking(layer_cls: type, init_kwargs: dict, data: np.ndarray) -> None:
    layer = layer_cls(**init_kwargs)
    mask = np.random.default_rng(2).uniform(size=data.shape[:-1]) > 0.5
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.compute_mask(data, mask)), mask)
    if data.ndim != 3:
        return
    # End to end: a mask from `Masking` flows through the layer into a mask-aware pooling.
    masked = data.copy()
    masked[:, 0, :] = 0.0  # First timestep masked out everywhere.
    inputs = keras.Input(shape=data.shape[1:])
    outputs = keras.layers.GlobalAveragePooling1D()(layer(keras.layers.Masking(0.0)(inputs)))
    pooled = _to_numpy(keras.Model(inputs, outputs)(masked))
    expected = _to_numpy(layer(masked))[:, 1:, :].mean(axis=1)
    tolerance = TOLERANCE["float32"]
    np.testing.assert_allclose(pooled, expected, rtol=tolerance, atol=tolerance)


def _tiny_model(layer: keras.layers.Layer, input_shape: tuple) -> keras.Model:
    inputs = keras.Input(shape=input_shape[1:])
    x = keras.layers.Flatten()(layer(inputs))
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs)


def _check_fit(
    layer_cls: type, init_kwargs: dict, data: np.ndarray, jit_compile: bool | str
) -> None:
    layer = layer_cls(**init_kwargs)
    model = _tiny_model(layer, data.shape)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit_compile)
    targets = np.random.default_rng(3).standard_normal((data.shape[0], 1)).astype("float32")
    before = [ops.convert_to_numpy(w) for w in layer.trainable_weights]
    history = model.fit(data, targets, batch_size=data.shape[0], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    for old, weight in zip(before, layer.trainable_weights, strict=True):
        assert not np.array_equal(old, ops.convert_to_numpy(weight)), f"{weight.path} unchanged"
    predicted = model.predict(data, batch_size=data.shape[0], verbose=0)
    assert predicted.shape == (data.shape[0], 1)
    tolerance = TOLERANCE["float32"]
    np.testing.assert_allclose(predicted, _to_numpy(model(data)), rtol=tolerance, atol=tolerance)


def _check_dtypes(layer_cls: type, init_kwargs: dict, data: np.ndarray) -> None:
    reference_layer = layer_cls(**init_kwargs)
    reference = _to_numpy(reference_layer(data))
    for dtype in FLOAT_DTYPES:
        layer = layer_cls(**{**init_kwargs, "dtype": dtype})
        layer(data)  # Builds, then takes the reference's (possibly random) weights.
        layer.set_weights(reference_layer.get_weights())
        output = layer(data)
        assert _dtype(output) == dtype, (dtype, output.dtype)
        for weight in layer.weights:
            assert _dtype(weight) == dtype, (dtype, weight.path, weight.dtype)
        symbolic = layer(keras.Input(shape=data.shape[1:], dtype=dtype))
        assert _dtype(symbolic) == dtype
        tolerance = TOLERANCE[dtype]
        np.testing.assert_allclose(_to_numpy(output), reference, rtol=tolerance, atol=tolerance)


def _check_mixed_precision(
    layer_cls: type, init_kwargs: dict, data: np.ndarray, call_kwargs: dict
) -> None:
    previous = keras.config.dtype_policy()
    try:
        keras.config.set_dtype_policy("mixed_float16")
        layer = layer_cls(**init_kwargs)
        output = layer(data, **call_kwargs)
        assert layer.compute_dtype == "float16" and layer.variable_dtype == "float32"
        assert _dtype(output) == "float16"
        for weight in layer.weights:
            assert _dtype(weight) == "float32", (weight.path, weight.dtype)
        assert _dtype(layer(keras.Input(shape=data.shape[1:]), **call_kwargs)) == "float16"
    finally:
        keras.config.set_dtype_policy(previous)


def _check_subclass_build(layer_cls: type, init_kwargs: dict, data: np.ndarray) -> None:
    """A subclass that overrides `build` is not built at construction, and its `build` runs."""

    class WithBuild(layer_cls):
        def build(self, input_shape: tuple) -> None:
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    layer = WithBuild(**init_kwargs)
    assert not layer.built
    output = layer(data)
    assert layer.built and tuple(layer.scale.shape) == (data.shape[-1],)
    np.testing.assert_array_equal(_to_numpy(output), _to_numpy(layer_cls(**init_kwargs)(data)))


def run_layer_test(
    layer_cls: type,
    init_kwargs: dict,
    *,
    input_shape: tuple | None = None,
    input_data: np.ndarray | None = None,
    call_kwargs: dict | None = None,
    expected_output_shape: tuple | None = None,
    expected_output: np.ndarray | None = None,
    expected_num_trainable_weights: int,
    expected_num_non_trainable_weights: int = 0,
    expected_num_seed_generators: int = 0,
    expected_num_losses: int | None = None,
    supports_masking: bool = True,
    run_training_check: bool = True,
    run_jit_check: bool = True,
    run_precision_checks: bool = True,
    assert_built_after_instantiation: bool = False,
) -> None:
    """Runs the standard checks every layer must pass.

    The arguments Keras's `run_layer_test` also has mean what they mean there.

    Args:
        layer_cls: The layer class.
        init_kwargs: Constructor keyword arguments.
        input_shape: Input shape, batch dimension included, all sizes known; the input is then
            `make_x(input_shape, specials=False)`. Exclusive with `input_data`.
        input_data: The input, a float32 NumPy array. Exclusive with `input_shape`.
        call_kwargs: Keyword arguments of the symbolic, eager and mixed precision calls (such
            as `{"training": True}`); as in Keras, not of the `fit` step, which trains.
        expected_output_shape: Output shape, batch dimension included. Exclusive with
            `expected_output`, whose shape it then is.
        expected_output: The eager output on `input_data`, to `TOLERANCE["float32"]`.
        expected_num_trainable_weights: Number of trainable weights once built.
        expected_num_non_trainable_weights: Number of non-trainable weights once built.
        expected_num_seed_generators: Number of `keras.random.SeedGenerator` attributes.
        expected_num_losses: Number of `layer.losses` after the eager call; unchecked if None.
        supports_masking: Expected value of `layer.supports_masking`.
        run_training_check: Whether to fit one step of `Input -> layer -> Flatten -> Dense`.
        run_jit_check: Whether to repeat the fit (and predict) with `jit_compile=True`.
        run_precision_checks: Whether to sweep float16/bfloat16/float32 and `mixed_float16`.
        assert_built_after_instantiation: Whether the layer is stateless and built at
            construction, as Keras's own stateless layers are, while a subclass that
            overrides `build` is not, and has its `build` called.
    """
    if (input_shape is None) == (input_data is None):
        raise ValueError("Pass exactly one of `input_shape` and `input_data`.")
    if expected_output_shape is not None and expected_output is not None:
        raise ValueError("Pass at most one of `expected_output_shape` and `expected_output`.")
    if expected_output is not None and input_data is None:
        raise ValueError("`expected_output` needs `input_data`.")
    call_kwargs = call_kwargs or {}
    data = make_x(tuple(input_shape), specials=False) if input_data is None else input_data
    input_shape = data.shape
    if expected_output is not None:
        expected_output_shape = np.shape(expected_output)
    expected_output_shape = tuple(expected_output_shape)
    counts = (
        expected_num_trainable_weights,
        expected_num_non_trainable_weights,
        expected_num_seed_generators,
    )

    if assert_built_after_instantiation:
        assert layer_cls(**init_kwargs).built, "a stateless layer is built at construction"
        _check_subclass_build(layer_cls, init_kwargs, data)
    _check_serialization(layer_cls, init_kwargs, data)

    # Build.
    layer = layer_cls(**init_kwargs)
    layer.build(input_shape)
    _check_weight_counts(layer, *counts)
    assert tuple(layer.compute_output_shape(input_shape)) == expected_output_shape

    # Symbolic call.
    layer = layer_cls(**init_kwargs)
    inputs = keras.Input(shape=input_shape[1:], batch_size=input_shape[0])
    symbolic = layer(inputs, **call_kwargs)
    assert tuple(symbolic.shape) == expected_output_shape
    assert _dtype(symbolic) == layer.compute_dtype
    _check_weight_counts(layer, *counts)

    # Eager call.
    layer = layer_cls(**init_kwargs)
    output = layer(data, **call_kwargs)
    assert tuple(output.shape) == expected_output_shape
    assert _dtype(output) == layer.compute_dtype == "float32"
    _check_weight_counts(layer, *counts)
    if expected_output is not None:
        tolerance = TOLERANCE["float32"]
        np.testing.assert_allclose(
            _to_numpy(output), expected_output, rtol=tolerance, atol=tolerance
        )
    if expected_num_losses is not None:
        assert len(layer.losses) == expected_num_losses, layer.losses

    assert layer.supports_masking == supports_masking
    if supports_masking:
        _check_masking(layer_cls, init_kwargs, data)

    if run_training_check:
        _check_fit(layer_cls, init_kwargs, data, jit_compile=False)
    if run_jit_check:
        _check_fit(layer_cls, init_kwargs, data, jit_compile=True)

    if run_precision_checks:
        _check_dtypes(layer_cls, init_kwargs, data)
        _check_mixed_precision(layer_cls, init_kwargs, data, call_kwargs)
