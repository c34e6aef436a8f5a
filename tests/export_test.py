"""Deployment export on every backend, as far as Keras's own `model.export` goes.

Measured with Keras 3.15; the README's export section states the same:
- TensorFlow: `model.export()` writes a SavedModel; TFLite's converter and
  tf2onnx take it from there. The TFLite model must use the native
  `LEAKY_RELU` and `PRELU` kernels (RReLU exports as its inference
  LeakyReLU); the ONNX model must run in onnxruntime with the same outputs.
- JAX: the SavedModel (written through jax2tf) converts to TFLite. A model
  with RReLU needs `is_static=True`, as one with Keras's own `GaussianNoise`
  does: otherwise its seed's state is exported as a variable TFLite cannot
  hold. `format="onnx"` needs `jax2onnx`; tf2onnx fails on the SavedModel,
  for Keras's own layers too. `format="litert"` is TF and torch only.
- PyTorch: `format="onnx"` runs in onnxruntime with the native `LeakyRelu`
  and `PRelu` operators; `format="torch"` (`torch.export`) runs, and so
  does `format="litert"` where `litert-torch` is installed, with a static
  batch size. Keras cannot write a SavedModel from torch, for its own
  layers either.
Needs the `export` extra (`pip install "keras-leaky[export]"`).
"""

import functools
import warnings

import keras
import numpy as np
import pytest

import keras_leaky
from tests.model_zoo import LAYERS

BACKEND = keras.backend.backend()
only_on = {
    name: pytest.mark.skipif(BACKEND != name, reason=f"{name} backend")
    for name in ("tensorflow", "jax", "torch")
}

INPUT_SHAPE = (6, 6, 3)
# The arguments the layers are exported with. "PReLU_scalar" is PReLU with one
# alpha for all, used as a layer only (by name, PReLU has one alpha per channel).
KWARGS = {
    "LeakyReLU": {"negative_slope": 0.1},
    "PReLU_scalar": {"shared_axes": "all"},
    "RReLU": {"seed": 1},
}
# What each model's activations become: TFLite kernel, ONNX operator(s).
TFLITE_KERNEL = {"LeakyReLU": "LEAKY_RELU", "PReLU": "PRELU", "RReLU": "LEAKY_RELU"}
ONNX_OPS = {"LeakyReLU": {"LeakyRelu"}, "PReLU": {"Relu", "Neg", "Mul"}, "RReLU": {"LeakyRelu"}}
# Ops that would mean an activation was exported as generic element-wise math.
GENERIC_TFLITE = {"SELECT", "SELECT_V2", "GREATER", "MAXIMUM", "ZEROS_LIKE"}
# Keras's own counterparts (after the Conv2D, after the Dense), to show
# that a failure is Keras's: PReLU per channel, and a layer with a seed.
KERAS_OWN = {
    "PReLU": (lambda: keras.layers.PReLU(shared_axes=[1, 2]), keras.layers.PReLU),
    "RReLU": (lambda: keras.layers.GaussianNoise(0.1, seed=1),) * 2,
}
CASES = [(layer, usage) for layer in LAYERS for usage in ("name", "layer", "replaced")]
CASES += [("PReLU_scalar", "layer")]
IDS = ["-".join(case) for case in CASES]


def make_model(layer, usage):
    """Conv2D -> activation -> Flatten -> Dense -> activation (ranks 4 and 2).

    `usage` is "name" (`activation=`), "layer", "replaced" (a model with
    Keras's ReLUs, `activation="relu"` and a `ReLU()` layer, through
    `replace_activations`) or "keras" (`KERAS_OWN`).
    The model has been called once, as `export` requires.
    """
    keras.utils.set_random_seed(0)
    make_layer = functools.partial(LAYERS[layer.split("_")[0]], **KWARGS.get(layer, {}))
    inputs = keras.Input(INPUT_SHAPE)
    if usage == "name":
        x = keras.layers.Conv2D(4, 3, activation=layer)(inputs)
        x = keras.layers.Dense(5, activation=layer)(keras.layers.Flatten()(x))
    elif usage == "replaced":
        x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
        x = keras.layers.ReLU()(keras.layers.Dense(5)(keras.layers.Flatten()(x)))
    else:
        after_conv, after_dense = (make_layer,) * 2 if usage == "layer" else KERAS_OWN[layer]
        x = after_conv()(keras.layers.Conv2D(4, 3)(inputs))
        x = after_dense()(keras.layers.Dense(5)(keras.layers.Flatten()(x)))
    model = keras.Model(inputs, x)
    if usage == "replaced":
        model = keras_leaky.replace_activations(model, {"relu": make_layer})
    rng = np.random.default_rng(1)
    for weight in model.weights:
        if weight.path.endswith("alpha"):  # Learned slopes, negative ones included.
            weight.assign(rng.uniform(-0.5, 1.5, weight.shape).astype("float32"))
    model(probe()[:1])
    return model


def probe():
    return np.random.default_rng(2).standard_normal((3, *INPUT_SHAPE)).astype("float32")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Exports each case once: {case: (model, SavedModel path)}."""
    folder = tmp_path_factory.mktemp("exported")
    result = {}
    for case in CASES:
        model = make_model(*case)
        path = str(folder / "-".join(case))
        model.export(path, verbose=False)
        result[case] = model, path
    return result


@only_on["tensorflow"]
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_tflite_uses_native_kernels_and_matches(exported, case):
    import tensorflow as tf

    model, path = exported[case]
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(path).convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    # The op list: the interpreter's own (private but stable) listing.
    kernels = [op["op_name"] for op in interpreter._get_ops_details()]
    expected_kernel = TFLITE_KERNEL[case[0].split("_")[0]]
    assert kernels.count(expected_kernel) == 2, kernels
    assert not GENERIC_TFLITE & set(kernels), kernels

    x = probe()
    output = run_tflite(flatbuffer, x)
    np.testing.assert_allclose(output, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@only_on["tensorflow"]
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_onnx_runs_in_onnxruntime_and_matches(exported, case, tmp_path):
    import tensorflow as tf
    import tf2onnx

    model, path = exported[case]
    loaded = tf.saved_model.load(path)  # Keep a reference: it owns the variables.
    spec = [tf.TensorSpec((None, *INPUT_SHAPE), tf.float32, name="x")]
    onnx_path = str(tmp_path / "model.onnx")
    proto, _ = tf2onnx.convert.from_function(
        tf.function(loaded.serve), input_signature=spec, opset=17, output_path=onnx_path
    )
    operators = {node.op_type for node in proto.graph.node}
    assert ONNX_OPS[case[0].split("_")[0]] <= operators, operators

    x = probe()
    np.testing.assert_allclose(
        run_onnx(onnx_path, x), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


def run_tflite(flatbuffer, x):
    import tensorflow as tf

    runner = tf.lite.Interpreter(model_content=flatbuffer).get_signature_runner()
    (output,) = runner(**{runner.get_input_details().popitem()[0]: x}).values()
    return output


def run_onnx(path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(path)
    (output,) = session.run(None, {session.get_inputs()[0].name: x})
    return output


def export_error(model, path, **kwargs):
    """The error `model.export(path, ...)` raises, as (type, first line of its message)."""
    with pytest.raises(Exception) as info:
        model.export(path, verbose=False, **kwargs)
    return type(info.value), str(info.value).splitlines()[0]


@only_on["jax"]
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jax_saved_model_converts_to_tflite_and_matches(case, tmp_path):
    import tensorflow as tf

    model = make_model(*case)
    # RReLU keeps a seed's state: without `is_static=True` it is exported as
    # a variable (see the next test).
    model.export(str(tmp_path), verbose=False, is_static=case[0] == "RReLU")
    flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path)).convert()
    x = probe()
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(run_tflite(flatbuffer, x), expected, rtol=1e-5, atol=1e-5)


def conversion_errors(layer, convert, tmp_path):
    """The error `convert(path)` raises on the SavedModel at `path` of a model using
    keras_leaky's `layer`, then Keras's own counterpart, as (type, message) pairs."""
    errors = []
    for usage in ("layer", "keras"):
        path = str(tmp_path / usage)
        make_model(layer, usage).export(path, verbose=False)
        with pytest.raises(Exception) as info:
            convert(path)
        errors.append((type(info.value), str(info.value)))
    return errors


@only_on["jax"]
def test_jax_seeded_layer_needs_is_static_for_tflite_as_keras_own_do(tmp_path):
    """Keras's `GaussianNoise` fails the same way: its seed's uint32 state."""
    import tensorflow as tf

    def convert(path):
        tf.lite.TFLiteConverter.from_saved_model(path).convert()

    (ours, ours_message), (theirs, theirs_message) = conversion_errors("RReLU", convert, tmp_path)
    assert ours is theirs
    assert "seed_generator_state" in ours_message and "seed_generator_state" in theirs_message


@only_on["jax"]
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jax_onnx_runs_in_onnxruntime_and_matches(case, tmp_path):
    pytest.importorskip("jax2onnx", reason="Keras's ONNX export on JAX needs jax2onnx")
    model = make_model(*case)
    path = str(tmp_path / "model.onnx")
    model.export(path, format="onnx", verbose=False)
    x = probe()
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x, verbose=0), atol=1e-5)


@only_on["jax"]
def test_jax_saved_model_fails_in_tf2onnx_as_keras_own_does(tmp_path):
    import tensorflow as tf
    import tf2onnx

    def convert(path):
        loaded = tf.saved_model.load(path)
        spec = [tf.TensorSpec((None, *INPUT_SHAPE), tf.float32, name="x")]
        tf2onnx.convert.from_function(tf.function(loaded.serve), input_signature=spec)

    errors = conversion_errors("PReLU", convert, tmp_path)
    assert errors[0] == errors[1]


def torch_export(model, path, **kwargs):
    """`model.export` on torch, quiet about TorchScript tracing (Keras's Conv2D warns)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        model.export(path, verbose=False, **kwargs)


@only_on["torch"]
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_torch_onnx_uses_native_operators_and_matches(case, tmp_path):
    """Per-channel PReLU used to write a `Transpose` onnxruntime refuses to load."""
    import onnx

    model = make_model(*case)
    path = str(tmp_path / "model.onnx")
    torch_export(model, path, format="onnx")
    operators = [node.op_type for node in onnx.load(path).graph.node]
    expected = {"LeakyReLU": "LeakyRelu", "PReLU": "PRelu", "RReLU": "LeakyRelu"}
    assert operators.count(expected[case[0].split("_")[0]]) == 2, operators
    x = probe()  # A batch of 3: the batch axis stays dynamic.
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x, verbose=0), atol=1e-5)


@only_on["torch"]
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_torch_export_program_runs_and_matches(case, tmp_path):
    import torch

    model = make_model(*case)
    path = str(tmp_path / "model.pt2")
    torch_export(model, path, format="torch")
    x = probe()[:1]  # Keras exports the batch axis as 1.
    output = torch.export.load(path).module()(torch.from_numpy(x))
    np.testing.assert_allclose(output.detach().numpy(), model.predict(x, verbose=0), atol=1e-5)


@only_on["torch"]
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_torch_litert_runs_and_matches(case, tmp_path):
    pytest.importorskip("litert_torch", reason="Keras's LiteRT export on torch needs litert-torch")
    model = make_model(*case)
    path = tmp_path / "model.tflite"
    x = probe()  # Keras's LiteRT export on torch takes a static batch.
    signature = [keras.InputSpec(shape=x.shape)]
    torch_export(model, str(path), format="litert", input_signature=signature)
    output = run_tflite(path.read_bytes(), x)
    np.testing.assert_allclose(output, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@only_on["torch"]
def test_torch_saved_model_fails_as_keras_own_does(tmp_path):
    errors = [
        export_error(make_model("PReLU", usage), str(tmp_path / usage))
        for usage in ("layer", "keras")
    ]
    assert errors[0] == errors[1]
