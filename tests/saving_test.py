"""Saving and reloading models that use keras_leaky, with only `import keras_leaky`."""

import itertools
import json

import keras
import numpy as np
import pytest

from tests import model_zoo
from tests.backend_utils import run_python

GRID = list(itertools.product(model_zoo.LAYERS, model_zoo.USAGES, model_zoo.KINDS))
NEXT_BACKEND = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}


def case_id(case):
    return "-".join(case)


RELOAD = """
    import json, sys
    import numpy as np, keras
    import keras_leaky
    from tests import model_zoo
    folder = {folder!r}
    out = {{}}
    for name in {names!r}:
        model = keras.saving.load_model(f"{{folder}}/{{name}}.keras", safe_mode=True)
        out[name] = {{
            "y": model_zoo.predict(model).tolist(),
            "alphas": [a.tolist() for a in model_zoo.leaky_weights(model)],
        }}
    print("RESULT" + json.dumps(out))
"""


def reload_in_fresh_process(folder, names, backend=None):
    code = RELOAD.format(folder=str(folder), names=list(names))
    result = run_python("-c", code, env={"KERAS_BACKEND": backend} if backend else None)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Saves the whole grid once; reloads it once in a fresh process."""
    folder = tmp_path_factory.mktemp("saved")
    expected = {}
    for case in GRID:
        keras.utils.set_random_seed(0)
        model = model_zoo.make(*case)
        for weight in model.weights:  # Distinct, non-default alphas.
            if weight.path.endswith("alpha"):
                weight.assign(np.linspace(-0.5, 0.9, int(np.prod(weight.shape))))
        model.save(str(folder / f"{case_id(case)}.keras"))
        expected[case_id(case)] = (model_zoo.predict(model), model_zoo.leaky_weights(model))
    reloaded = reload_in_fresh_process(folder, expected)
    return folder, expected, reloaded


@pytest.mark.parametrize("case", GRID, ids=case_id)
def test_keras_file_reloads_bitwise_in_fresh_process(saved, case):
    _, expected, reloaded = saved
    y, alphas = expected[case_id(case)]
    got = reloaded[case_id(case)]
    np.testing.assert_array_equal(np.asarray(got["y"], "float32"), y)
    assert len(got["alphas"]) == len(alphas)
    for value, got_value in zip(alphas, got["alphas"], strict=True):
        np.testing.assert_array_equal(np.asarray(got_value, "float32"), value)
    if case[0] == "PReLU":
        assert alphas, "a PReLU model must carry an alpha"


def test_reload_on_another_backend(saved):
    folder, expected, _ = saved
    other = NEXT_BACKEND[keras.backend.backend()]
    reloaded = reload_in_fresh_process(folder, expected, backend=other)
    for name, (y, alphas) in expected.items():
        np.testing.assert_allclose(np.asarray(reloaded[name]["y"]), y, rtol=1e-5, atol=1e-6)
        for value, got_value in zip(alphas, reloaded[name]["alphas"], strict=True):
            np.testing.assert_array_equal(np.asarray(got_value, "float32"), value)


@pytest.mark.parametrize("case", GRID, ids=case_id)
def test_weights_file_loads_into_freshly_built_model(tmp_path, case):
    model = model_zoo.make(*case)
    for weight in model.weights:
        if weight.path.endswith("alpha"):
            weight.assign(np.full(weight.shape, 0.7))
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    fresh = model_zoo.make(*case)
    fresh.load_weights(path)
    np.testing.assert_array_equal(model_zoo.predict(fresh), model_zoo.predict(model))


def test_reload_without_keras_leaky_names_it(saved):
    folder = saved[0]
    code = f"""
        import keras
        try:
            keras.saving.load_model("{folder}/PReLU-name-sequential.keras")
        except Exception as error:
            print("ERROR", error)
        """
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ERROR" in result.stdout and "keras_leaky" in result.stdout


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="SavedModel is TF-only")
@pytest.mark.parametrize("layer", list(model_zoo.LAYERS))
@pytest.mark.parametrize("usage", ["standalone", "name"])
def test_savedmodel_export_serves_same_outputs(tmp_path, layer, usage):
    import tensorflow as tf

    model = model_zoo.make(layer, usage, "functional")
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    loaded = tf.saved_model.load(path)  # Keep a reference: it owns the variables.
    served = loaded.serve(model_zoo.probe())
    np.testing.assert_allclose(served.numpy(), model_zoo.predict(model), rtol=1e-6, atol=1e-6)
