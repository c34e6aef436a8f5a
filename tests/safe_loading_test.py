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

MARKER = "keras_leaky_pwned"


def make_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(6),
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
