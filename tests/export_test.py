"""Deployment export: TFLite and ONNX, for each layer by name and as a layer.

`model.export()` writes a SavedModel; TFLite's converter and tf2onnx take it
from there. The TFLite model must use the native `LEAKY_RELU` and `PRELU`
kernels (RReLU exports as its inference LeakyReLU); the ONNX model must run
in onnxruntime with the same outputs. Needs the `export` extra
(`pip install "keras-leaky[export]"`); TensorFlow backend only.
"""

import keras
import numpy as np
import pytest

import keras_leaky

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="model.export() writes a TF SavedModel"
)

INPUT_SHAPE = (6, 6, 3)
LAYERS = {
    "LeakyReLU": (lambda: keras_leaky.LeakyReLU(negative_slope=0.1), "LeakyReLU"),
    "PReLU": (keras_leaky.PReLU, "prelu"),
    "PReLU_scalar": (lambda: keras_leaky.PReLU(shared_axes="all"), None),
    "RReLU": (lambda: keras_leaky.RReLU(seed=1), "rrelu"),
}
# What each model's activations become: TFLite kernel, ONNX operator(s).
TFLITE_KERNEL = {"LeakyReLU": "LEAKY_RELU", "PReLU": "PRELU", "RReLU": "LEAKY_RELU"}
ONNX_OPS = {"LeakyReLU": {"LeakyRelu"}, "PReLU": {"Relu", "Neg", "Mul"}, "RReLU": {"LeakyRelu"}}
# Ops that would mean an activation was exported as generic element-wise math.
GENERIC_TFLITE = {"SELECT", "SELECT_V2", "GREATER", "MAXIMUM", "ZEROS_LIKE"}
CASES = [("LeakyReLU", "name"), ("LeakyReLU", "layer"), ("PReLU", "name"), ("PReLU", "layer")]
CASES += [("PReLU_scalar", "layer"), ("RReLU", "name"), ("RReLU", "layer")]


def make_model(layer, usage):
    """Conv2D -> activation -> Flatten -> Dense -> activation (ranks 4 and 2)."""
    keras.utils.set_random_seed(0)
    make_layer, name = LAYERS[layer]
    inputs = keras.Input(INPUT_SHAPE)
    if usage == "name":
        x = keras.layers.Conv2D(4, 3, activation=name)(inputs)
        x = keras.layers.Dense(5, activation=name)(keras.layers.Flatten()(x))
    else:
        x = make_layer()(keras.layers.Conv2D(4, 3)(inputs))
        x = make_layer()(keras.layers.Dense(5)(keras.layers.Flatten()(x)))
    model = keras.Model(inputs, x)
    rng = np.random.default_rng(1)
    for weight in model.weights:
        if weight.path.endswith("alpha"):  # Learned slopes, negative ones included.
            weight.assign(rng.uniform(-0.5, 1.5, weight.shape).astype("float32"))
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


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
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
    runner = interpreter.get_signature_runner()
    (output,) = runner(**{runner.get_input_details().popitem()[0]: x}).values()
    np.testing.assert_allclose(output, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=["-".join(case) for case in CASES])
def test_onnx_runs_in_onnxruntime_and_matches(exported, case, tmp_path):
    import onnxruntime
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
    (output,) = onnxruntime.InferenceSession(onnx_path).run(None, {"x": x})
    np.testing.assert_allclose(output, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
