"""Tampered `.keras` files fail cleanly under `safe_mode=True`.

A `.keras` file is a zip whose `config.json` describes every layer; keras_leaky
layers are rebuilt from it with their own validation. Each test edits one
field of a saved model's config and checks that loading raises a clear
`ValueError`/`TypeError` naming the field, runs no code, and leaves nothing
behind: the untampered file still loads and predicts as before.
"""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

import keras_leaky
from keras_leaky.layers import LAYERS
from tests.backend_utils import run_python

MARKER = "keras_leaky_pwned"


def make_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                6, kernel_initializer=keras_leaky.initializers.LeakyHeNormal(0.1, seed=0)
            ),
            keras_leaky.LeakyReLU(negative_slope=0.1),
            keras_leaky.PReLU(),
            keras_leaky.RReLU(seed=1),
            keras.layers.Dense(6, activation="prelu"),
            keras.layers.Dense(2),
        ]
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = make_model()
    path = str(tmp_path_factory.mktemp("safe") / "model.keras")
    model.save(path)
    x = np.linspace(-2, 2, 12, dtype="float32").reshape(3, 4)
    return path, x, keras.ops.convert_to_numpy(model(x))


def find(config, registered_name):
    """The first serialized object in `config` with this registered name."""
    if isinstance(config, dict):
        if config.get("registered_name") == registered_name:
            return config
        children = config.values()
    elif isinstance(config, list):
        children = config
    else:
        return None
    for child in children:
        found = find(child, registered_name)
        if found is not None:
            return found
    return None


def tamper(path, out_path, edit):
    """Copies the `.keras` file at `path` to `out_path`, with `edit(config)` applied."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out_path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            target.writestr(item, data)


def set_field(name, field, value, where="config"):
    def edit(config):
        find(config, f"keras_leaky>{name}")[where][field] = value

    return edit


def both(*edits):
    def edit(config):
        for one in edits:
            one(config)

    return edit


def chain(error):
    """`error` and the exceptions it was raised from or during."""
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


LAMBDA = {"class_name": "__lambda__", "config": {"code": "ZQ==", "defaults": None}}


def module_object(module, name, config):
    return {"module": module, "class_name": name, "config": config, "registered_name": None}


SLOPE = "negative_slope"
PER_ELEMENT_RANK_20000 = both(
    set_field("PReLU", "shared_axes", []),
    set_field("PReLU", "input_shape", [None] + [1] * 19998 + [6], where="build_config"),
)
TAMPERINGS = {
    "slope_string": (set_field("LeakyReLU", SLOPE, "0.1"), TypeError, SLOPE),
    "slope_negative": (set_field("LeakyReLU", SLOPE, -1.0), ValueError, SLOPE),
    "slope_nan": (set_field("LeakyReLU", SLOPE, float("nan")), ValueError, SLOPE),
    "slope_list": (set_field("LeakyReLU", SLOPE, [0.1]), TypeError, SLOPE),
    "lower_above_upper": (set_field("RReLU", "lower", 0.9), ValueError, "lower"),
    "upper_inf": (set_field("RReLU", "upper", float("inf")), ValueError, "upper"),
    "seed_string": (set_field("RReLU", "seed", "1"), TypeError, "seed"),
    "seed_huge": (set_field("RReLU", "seed", 2**70), ValueError, "seed"),
    "shared_axes_string": (set_field("PReLU", "shared_axes", "x"), ValueError, "shared_axes"),
    "shared_axes_batch": (set_field("PReLU", "shared_axes", [0]), ValueError, "shared_axes"),
    "data_format": (set_field("PReLU", "data_format", "nchw"), ValueError, "data_format"),
    "extra_key": (set_field("PReLU", "evil", 1), TypeError, "evil"),
    "alpha_init_string": (
        set_field("PReLU", "alpha_initializer", "no_such_initializer"),
        ValueError,
        "alpha_initializer",
    ),
    "alpha_init_lambda": (set_field("PReLU", "alpha_initializer", LAMBDA), ValueError, "lambda"),
    "alpha_init_os_system": (
        set_field(
            "PReLU",
            "alpha_initializer",
            module_object("os", "system", {"command": f"touch {MARKER}"}),
        ),
        (ValueError, TypeError),
        "alpha_initializer",
    ),
    "alpha_init_builtins_exec": (
        set_field(
            "PReLU",
            "alpha_initializer",
            module_object("builtins", "exec", f"open('{MARKER}', 'w')"),
        ),
        (ValueError, TypeError),
        "alpha_initializer",
    ),
    "huge_build_shape": (
        set_field("PReLU", "input_shape", [None, 10**12], where="build_config"),
        ValueError,
        "alphas",
    ),
    "build_shape_strings": (
        set_field("PReLU", "input_shape", [None, "6"], where="build_config"),
        ValueError,
        "input_shape",
    ),
    # Numbers beyond a float's range (an OverflowError before), and a finite
    # RReLU whose inference slope (lower + upper) / 2 is not.
    "slope_int_overflow": (set_field("LeakyReLU", SLOPE, 10**400), ValueError, SLOPE),
    "bounds_sum_overflow": (
        both(set_field("RReLU", "lower", 1e308), set_field("RReLU", "upper", 1.7e308)),
        ValueError,
        "lower",
    ),
    "alpha_init_int_overflow": (
        set_field("PReLU", "alpha_initializer", 10**400),
        ValueError,
        "alpha_initializer",
    ),
    "he_slope_variance_overflow": (set_field("LeakyHeNormal", SLOPE, 1e200), ValueError, SLOPE),
    # Rank 10**5: 165 s of quadratic work before failing; now refused in linear time.
    "shared_axes_rank_1e5": (
        both(
            set_field("PReLU", "shared_axes", [1] * 10**5),
            set_field("PReLU", "input_shape", [None] * 10**5, where="build_config"),
        ),
        ValueError,
        "at most 254 non-zero int axes",  # The message of the check made first.
    ),
    **(
        {}  # It crashed the process on JAX: see the test below, in a subprocess of its own.
        if keras.backend.backend() == "jax"
        else {"per_element_alpha_rank_20000": (PER_ELEMENT_RANK_20000, ValueError, "input_shape")}
    ),
    "build_rank_1e5_channels_first": (
        both(
            set_field("PReLU", "data_format", "channels_first"),
            set_field("PReLU", "input_shape", [None, 6] + [1] * 10**5, where="build_config"),
        ),
        ValueError,
        "input_shape",
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_tampered_file_fails_cleanly_and_runs_nothing(saved, tampering, tmp_path, monkeypatch):
    path, x, expected = saved
    edit, error, words = TAMPERINGS[tampering]
    monkeypatch.chdir(tmp_path)  # Where a MARKER file would appear.
    tampered = str(tmp_path / "tampered.keras")
    tamper(path, tampered, edit)

    with pytest.raises((ValueError, TypeError)) as info:
        keras.saving.load_model(tampered, safe_mode=True)

    # Keras wraps a layer's error in its own TypeError, which quotes it; the
    # layer's own error, with the field's name, is in the chain.
    assert words in str(info.value)
    assert any(isinstance(e, error) and words in str(e) for e in chain(info.value)), [
        f"{type(e).__name__}: {e}" for e in chain(info.value)
    ]

    assert not os.path.exists(MARKER)
    # Nothing half-built is left behind: the real file still loads and predicts.
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(x)), expected)


def test_untampered_round_trip_through_the_tamper_helper(saved, tmp_path):
    """The helper itself keeps a file loadable, so the failures above are the edits'."""
    path, x, expected = saved
    copy = str(tmp_path / "copy.keras")
    tamper(path, copy, lambda config: None)
    reloaded = keras.saving.load_model(copy, safe_mode=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(x)), expected)


def set_input_shape(shape):
    """Gives a Sequential model's input and its layers' build configs `shape`."""

    def edit(config):
        config["config"]["build_input_shape"] = shape
        input_layer, *layers = config["config"]["layers"]
        input_layer["config"]["batch_shape"] = shape
        for layer in layers:
            if "build_config" in layer:
                layer["build_config"]["input_shape"] = shape

    return edit


@pytest.mark.parametrize("layer", LAYERS)
def test_input_of_too_high_a_rank_fails_cleanly(layer, tmp_path):
    """A shape reaches every layer through the model's input, not only its build config."""
    path = str(tmp_path / "model.keras")
    keras.Sequential([keras.Input((4,)), layer()]).save(path)
    tampered = str(tmp_path / "tampered.keras")
    tamper(path, tampered, set_input_shape([None] * 19999 + [4]))
    with pytest.raises((ValueError, TypeError)) as info:
        keras.saving.load_model(tampered, safe_mode=True)
    assert any(
        isinstance(e, ValueError) and "input_shape" in str(e) and "at most 254" in str(e)
        for e in chain(info.value)
    ), [f"{type(e).__name__}: {e}" for e in chain(info.value)]


CRASH_SCRIPT = """
import sys
import keras
import keras_leaky  # noqa: F401

try:
    keras.saving.load_model(sys.argv[1], safe_mode=True)
except ValueError as error:
    print(type(error).__name__, error)
"""


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="in TAMPERINGS elsewhere")
def test_per_element_alpha_of_rank_20000_fails_without_crashing_jax(saved, tmp_path):
    """It crashed the process (segfault) on JAX, so it runs in a subprocess of its own."""
    tampered = str(tmp_path / "tampered.keras")
    tamper(saved[0], tampered, PER_ELEMENT_RANK_20000)
    result = run_python("-c", CRASH_SCRIPT, tampered, env={"KERAS_BACKEND": "jax"}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "input_shape" in result.stdout and "at most 254 axes" in result.stdout, result.stdout


@pytest.mark.parametrize(
    "edit,words",
    [
        (set_field("LeakyRelu", SLOPE, 10**400), SLOPE),
        (set_field("Rrelu", "seed", None), "seed"),
        (both(set_field("Rrelu", "lower", 1e308), set_field("Rrelu", "upper", 1.7e308)), "lower"),
    ],
    ids=["leaky_relu_slope", "rrelu_seed", "rrelu_bounds"],
)
def test_tampered_functional_op_fails_cleanly(edit, words, tmp_path):
    """The functions' nodes in a functional model check their configs as the layers do."""
    inputs = keras.Input((4,))
    outputs = keras_leaky.ops.rrelu(
        keras_leaky.ops.leaky_relu(inputs, 0.1), 0.1, 0.3, training=True, seed=1
    )
    path = str(tmp_path / "model.keras")
    keras.Model(inputs, outputs).save(path)
    tampered = str(tmp_path / "tampered.keras")
    tamper(path, tampered, edit)
    with pytest.raises((ValueError, TypeError)) as info:
        keras.saving.load_model(tampered, safe_mode=True)
    assert any(
        isinstance(e, (ValueError, TypeError)) and words in str(e) for e in chain(info.value)
    ), [f"{type(e).__name__}: {e}" for e in chain(info.value)]
