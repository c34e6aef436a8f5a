"""Tests for `keras_leaky.initializers.LeakyHeNormal` and `LeakyHeUniform`.

Statistics are checked against `torch.nn.init.kaiming_normal_`/`kaiming_uniform_`
(nonlinearity="leaky_relu") on the transposed layout, and the fans against Keras's own
initializers, which the two classes reduce to at `negative_slope` 0 and 1.
"""

import math

import keras
import numpy as np
import pytest
import torch

from keras_leaky.initializers import LeakyHeNormal, LeakyHeUniform
from tests.backend_utils import TOLERANCE, to_numpy
from tests.harness import FLOAT_DTYPES

CLASSES = (LeakyHeNormal, LeakyHeUniform)
DENSE = (1000, 1000)  # Keras (in, out); torch Linear weight (out, in).
CONV = (3, 3, 64, 128)  # Keras (kh, kw, in, out); torch Conv2d weight (out, in, kh, kw).
MODES = ("fan_in", "fan_out")


def torch_shape(shape):
    """The torch weight shape that holds the same kernel as Keras's `shape`."""
    if len(shape) == 2:
        return (shape[1], shape[0])
    return (shape[-1], shape[-2], *shape[:-2])


def torch_weights(cls, shape, slope, mode, seed=0):
    torch.manual_seed(seed)
    w = torch.empty(torch_shape(shape))
    init = torch.nn.init.kaiming_normal_ if cls is LeakyHeNormal else torch.nn.init.kaiming_uniform_
    init(w, a=slope, mode=mode, nonlinearity="leaky_relu")
    return w.numpy()


def expected_std(shape, slope, mode):
    receptive_field = int(np.prod(shape[:-2]))
    fan = shape[-2 if mode == "fan_in" else -1] * receptive_field
    return math.sqrt(2.0 / ((1.0 + slope**2) * fan))


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0])
def test_normal_matches_torch_kaiming_normal(shape, mode, slope):
    w = to_numpy(LeakyHeNormal(slope, seed=1, mode=mode)(shape))
    ref = torch_weights(LeakyHeNormal, shape, slope, mode)
    std = expected_std(shape, slope, mode)
    assert w.shape == shape and w.dtype == np.float32
    np.testing.assert_allclose(w.std(), ref.std(), rtol=0.02)
    np.testing.assert_allclose(w.std(), std, rtol=0.02)
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    # Untruncated, like torch: about 0.27% of a normal's draws lie beyond 3 stddev.
    assert np.abs(w).max() > 3.5 * std


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0, math.sqrt(5)])
def test_uniform_matches_torch_kaiming_uniform(shape, mode, slope):
    w = to_numpy(LeakyHeUniform(slope, seed=1, mode=mode)(shape))
    ref = torch_weights(LeakyHeUniform, shape, slope, mode)
    std = expected_std(shape, slope, mode)
    bound = math.sqrt(3.0) * std  # = sqrt(6 / ((1 + a**2) * fan))
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= bound * (1 + TOLERANCE["float32"])
    assert np.abs(ref).max() <= bound * (1 + TOLERANCE["float32"])
    np.testing.assert_allclose(np.abs(w).max(), np.abs(ref).max(), rtol=0.01)
    np.testing.assert_allclose(np.abs(w).max(), bound, rtol=0.01)
    np.testing.assert_allclose(w.std(), ref.std(), rtol=0.02)
    np.testing.assert_allclose(w.std(), std, rtol=0.02)
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)


SHAPES = [(), (7,), (5, 3), (4, 6, 2), (3, 3, 4, 8), (2, 3, 3, 4, 5)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_slope_zero_equals_keras_he(shape, mode):
    """Same fans and variance as Keras: identical draws for the same seed."""
    expected = keras.initializers.VarianceScaling(2.0, mode, "untruncated_normal", seed=3)(shape)
    np.testing.assert_allclose(
        to_numpy(LeakyHeNormal(0.0, seed=3, mode=mode)(shape)),
        to_numpy(expected),
        rtol=TOLERANCE["float32"],
    )
    expected = keras.initializers.VarianceScaling(2.0, mode, "uniform", seed=3)(shape)
    np.testing.assert_allclose(
        to_numpy(LeakyHeUniform(0.0, seed=3, mode=mode)(shape)),
        to_numpy(expected),
        rtol=TOLERANCE["float32"],
    )


def test_named_keras_identities():
    """Slope 0 is Keras's `HeUniform`, slope 1 its `LecunUniform`."""
    for slope, keras_cls in [
        (0.0, keras.initializers.HeUniform),
        (1.0, keras.initializers.LecunUniform),
    ]:
        np.testing.assert_allclose(
            to_numpy(LeakyHeUniform(slope, seed=5)(CONV)),
            to_numpy(keras_cls(seed=5)(CONV)),
            rtol=TOLERANCE["float32"],
        )


@pytest.mark.parametrize("cls", CLASSES)
def test_seeded_determinism(cls):
    shape = (64, 32)
    a = to_numpy(cls(0.1, seed=7)(shape))
    np.testing.assert_array_equal(a, to_numpy(cls(0.1, seed=7)(shape)))
    init = cls(0.1, seed=7)
    np.testing.assert_array_equal(to_numpy(init(shape)), to_numpy(init(shape)))
    assert not np.array_equal(a, to_numpy(cls(0.1, seed=8)(shape)))
    np.testing.assert_array_equal(a, to_numpy(init.clone()(shape)))


@pytest.mark.parametrize("cls", CLASSES)
def test_unseeded(cls):
    """As in Keras: one unseeded instance repeats itself; separate instances differ."""
    shape = (64, 32)
    init = cls(0.1)
    a = to_numpy(init(shape))
    np.testing.assert_array_equal(a, to_numpy(init(shape)))
    assert not np.array_equal(a, to_numpy(cls(0.1)(shape)))
    assert not np.array_equal(a, to_numpy(init.clone()(shape)))
    keras.utils.set_random_seed(11)
    b = to_numpy(cls(0.1)(shape))
    keras.utils.set_random_seed(11)
    np.testing.assert_array_equal(b, to_numpy(cls(0.1)(shape)))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dtypes(cls, dtype):
    w = cls(0.2, seed=0)((8, 4), dtype=dtype)
    assert keras.backend.standardize_dtype(w.dtype) == dtype
    assert np.isfinite(to_numpy(keras.ops.cast(w, "float32"))).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_default_mode_and_validated_values(cls):
    init = cls(1)
    # `seed` is kept as given in the config; the attribute is Keras's drawn seed, as for
    # every `keras.initializers.VarianceScaling`.
    assert init.mode == "fan_in" and init.get_config()["seed"] is None
    assert init.negative_slope == 1.0 and isinstance(init.negative_slope, float)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "value, error",
    [
        (-0.1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        # Finite, but the variance 2 / ((1 + negative_slope**2) * fan) is not:
        # accepted before, then a bare OverflowError at the first call.
        (1e200, ValueError),
        (10**400, ValueError),
        ("0.1", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_rejects_bad_negative_slope(cls, value, error):
    with pytest.raises(error, match=r"`negative_slope`.*Received: negative_slope="):
        cls(value)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("mode", ["fan_avg", "FAN_IN", "", None, 1])
def test_rejects_bad_mode(cls, mode):
    with pytest.raises(ValueError, match=r"`mode`.*Received: mode="):
        cls(0.1, mode=mode)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("seed", [1.5, "1", True, keras.random.SeedGenerator(1)])
def test_rejects_bad_seed(cls, seed):
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed="):
        cls(0.1, seed=seed)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("seed", [-1, 2**31, 10**40])
def test_rejects_seed_out_of_range(cls, seed):
    """The one seed bound of keras-leaky (RReLU's too): what every backend accepts."""
    with pytest.raises(ValueError, match=r"`seed`.*\[0, 2147483647\].*Received: seed="):
        cls(0.1, seed=seed)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("seed", [None, 4])
def test_config_round_trip(cls, seed):
    init = cls(0.3, seed=seed, mode="fan_out")
    config = init.get_config()
    assert config == {"negative_slope": 0.3, "seed": seed, "mode": "fan_out"}
    restored = cls.from_config(config)
    assert type(restored) is cls and restored.get_config() == config

    serialized = keras.saving.serialize_keras_object(init)
    assert serialized["registered_name"] == f"keras_leaky>{cls.__name__}"
    for restored in (
        keras.saving.deserialize_keras_object(serialized),
        keras.initializers.get(serialized),
        keras.initializers.get({"class_name": f"keras_leaky>{cls.__name__}", "config": config}),
    ):
        assert type(restored) is cls and restored.get_config() == config
    if seed is not None:
        np.testing.assert_array_equal(to_numpy(restored((6, 5))), to_numpy(init((6, 5))))


@pytest.mark.parametrize("cls", CLASSES)
def test_model_saves_and_reloads(cls, tmp_path):
    inputs = keras.Input((16,))
    x = keras.layers.Dense(32, kernel_initializer=cls(0.01, seed=2))(inputs)
    x = keras.layers.Conv1D(4, 3, kernel_initializer=cls(0.01, mode="fan_out"))(
        keras.layers.Reshape((8, 4))(x)
    )
    model = keras.Model(inputs, x)
    dense_kernel = to_numpy(model.layers[1].kernel)
    np.testing.assert_array_equal(dense_kernel, to_numpy(cls(0.01, seed=2)((16, 32))))

    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for original, restored in zip(model.layers, loaded.layers, strict=True):
        for w, v in zip(original.weights, restored.weights, strict=True):
            np.testing.assert_array_equal(to_numpy(w), to_numpy(v))
    for index in (1, 3):
        init = loaded.layers[index].kernel_initializer
        assert type(init) is cls
        assert init.get_config() == model.layers[index].kernel_initializer.get_config()
    x = np.random.default_rng(0).standard_normal((2, 16)).astype("float32")
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), rtol=TOLERANCE["float32"])


@pytest.mark.parametrize("cls", CLASSES)
def test_largest_negative_slope_gives_nonzero_weights(cls):
    init = cls(1e18, seed=1)
    with pytest.raises(ValueError, match=r"negative_slope.*\[0, 1e\+18\].*variance"):
        cls(1.01e18)
    weights = to_numpy(init((2**10, 2**10)))
    assert np.all(np.isfinite(weights)) and np.count_nonzero(weights) > 0.99 * weights.size
    expected = math.sqrt(2 / (1 + 1e36) / 2**10)
    np.testing.assert_allclose(weights.std(), expected, rtol=0.02)
