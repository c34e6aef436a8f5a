"""Keras's own `leaky_relu` function tests, ported to `keras_leaky.ops`.

From keras-team/keras `keras/src/ops/nn_test.py` (`NNOpsDynamicShapeTest`,
`NNOpsStaticShapeTest`, `NNOpsCorrectnessTest`, `NNOpsDtypeTest`: `test_leaky_relu`) and
`keras/src/activations/activations_test.py` (`test_leaky_relu`), extended from `leaky_relu`
to keras-leaky's `prelu` and `rrelu`, which Keras does not have. The symbolic tests are how the
functional API calls the ops: on a `KerasTensor` they must return one of the right shape and
dtype, as `keras.ops.leaky_relu` does.
"""

import keras
import numpy as np
from absl.testing import parameterized
from keras.src import testing

from keras_leaky import ops as leaky_ops
from tests.harness import FLOAT_DTYPES

# The ops on one input, with the arguments each needs. PReLU's alpha is one per channel of the
# last axis (3), which broadcasts against every input shape used here but the scalar one.
OPS = {
    "leaky_relu": lambda x: leaky_ops.leaky_relu(x),
    "prelu": lambda x: leaky_ops.prelu(x, np.array([0.1, 0.2, 0.3], "float32")),
    "rrelu": lambda x: leaky_ops.rrelu(x),
    "rrelu_training": lambda x: leaky_ops.rrelu(x, training=True, seed=0),
}
OP_NAMES = [(name, name) for name in OPS]
# Keras's NNOpsDtypeTest sweeps its FLOAT_TYPES but float64; keras-leaky keeps float64 too.
DTYPE_CASES = [
    (f"{name}_{dtype}", name, dtype) for name in OPS for dtype in [*FLOAT_DTYPES, "float64"]
]


def _ref_leaky_relu(x, alpha=0.2):
    """Keras's reference in `activations_test.py` (default slope 0.2, keras-leaky's too)."""
    return x if x > 0 else alpha * x


class SymbolicShapeTest(testing.TestCase):
    """`NNOpsDynamicShapeTest` and `NNOpsStaticShapeTest`."""

    @parameterized.named_parameters(OP_NAMES)
    def test_dynamic_shape(self, name):
        x = keras.KerasTensor([None, 2, 3])
        self.assertEqual(OPS[name](x).shape, (None, 2, 3))

    @parameterized.named_parameters(OP_NAMES)
    def test_static_shape(self, name):
        x = keras.KerasTensor([1, 2, 3])
        self.assertEqual(OPS[name](x).shape, (1, 2, 3))

    @parameterized.named_parameters(OP_NAMES)
    def test_functional_model(self, name):
        # The same through `keras.Input`, as the functional API uses it, and the model runs.
        inputs = keras.Input((2, 3))
        model = keras.Model(inputs, OPS[name](inputs))
        x = np.random.default_rng(0).standard_normal((4, 2, 3)).astype("float32")
        # With an int seed, RReLU's training slopes depend on the shape only: the same here.
        self.assertAllClose(model(x), OPS[name](x))
        self.assertEqual(tuple(model.output_shape), (None, 2, 3))


class CorrectnessTest(testing.TestCase):
    """`NNOpsCorrectnessTest.test_leaky_relu`: the default slope is Keras's, 0.2."""

    def test_leaky_relu(self):
        x = np.array([-1, 0, 1, 2, 3], dtype=np.float32)
        self.assertAllClose(leaky_ops.leaky_relu(x), [-0.2, 0, 1, 2, 3])
        self.assertAllClose(leaky_ops.leaky_relu(x), keras.ops.leaky_relu(x))

    def test_leaky_relu_activation(self):
        """`activations_test.py`'s test, on the function and on the name `"LeakyReLU"`."""
        rng = np.random.default_rng(0)
        leaky_relu_vectorized = np.vectorize(_ref_leaky_relu)
        for negative_slope in (0.01, 0.3):
            for values in (rng.random((2, 5)), rng.uniform(-1, 0, (2, 5))):
                result = leaky_ops.leaky_relu(values[np.newaxis, :], negative_slope)[0]
                expected = leaky_relu_vectorized(values, alpha=negative_slope)
                self.assertAllClose(result, expected, rtol=1e-5)
        # The name keras-leaky adds: a LeakyReLU layer with the default slope, 0.2.
        values = rng.uniform(-1, 1, (2, 5))
        result = keras.activations.get("LeakyReLU")(values[np.newaxis, :])[0]
        self.assertAllClose(result, leaky_relu_vectorized(values), rtol=1e-5)


class DtypeTest(testing.TestCase):
    """`NNOpsDtypeTest.test_leaky_relu`: eager and symbolic calls keep a float dtype.

    Keras takes JAX's dtype as the expected one; for an elementwise activation that is the
    input's dtype (and on JAX without `jax_enable_x64` a float64 request makes a float32
    tensor, whose dtype is then the one to keep).
    """

    def _check_dtype(self, name, dtype, symbolic):
        x = keras.ops.ones((), dtype=dtype)
        expected_dtype = keras.backend.standardize_dtype(x.dtype)
        if symbolic:
            x = keras.KerasTensor((), dtype=expected_dtype)
        # A scalar input: PReLU takes a scalar alpha there.
        op = OPS[name] if name != "prelu" else (lambda t: leaky_ops.prelu(t, 0.25))
        self.assertEqual(keras.backend.standardize_dtype(op(x).dtype), expected_dtype)

    @parameterized.named_parameters(DTYPE_CASES)
    def test_eager_dtype(self, name, dtype):
        self._check_dtype(name, dtype, symbolic=False)

    @parameterized.named_parameters(DTYPE_CASES)
    def test_symbolic_dtype(self, name, dtype):
        self._check_dtype(name, dtype, symbolic=True)
