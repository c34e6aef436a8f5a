"""Keras's own layer tests, ported to keras-leaky's layers.

From keras-team/keras `keras/src/layers/activations/leaky_relu_test.py` and `prelu_test.py`
(identical in v3.10.0 and v3.15.1 except for a pytest mark), run through Keras's own harness
`keras.src.testing.TestCase.run_layer_test`: private, but it is the check Keras's layers pass
(serialization round trip with `dir()` compared, build, symbolic and eager calls, a `fit` step,
`mixed_float16`, and `assert_built_after_instantiation`). Every argument used here exists in
Keras 3.10.0's `run_layer_test`, the oldest Keras keras-leaky supports. RReLU has no Keras
counterpart; it gets the test Keras gives `GaussianNoise`, its closest kin (stateless but for
a `SeedGenerator`, noisy only when `training=True`).
"""

import keras
import numpy as np
from absl.testing import parameterized
from keras.src import testing

from keras_leaky import LeakyReLU, PReLU, RReLU


def np_prelu(x, alpha):
    """Keras's reference in `prelu_test.py`."""
    return (x > 0) * x + (x <= 0) * alpha * x


class LeakyReLUTest(testing.TestCase):
    @parameterized.named_parameters(
        ("keras", {"negative_slope": 1}),
        # keras-leaky's default slope (0.2, Keras's layer has 0.3) and its legacy spelling.
        ("default", {}),
        ("legacy_alpha", {"alpha": 0.3}),
    )
    def test_leaky_relu(self, init_kwargs):
        self.run_layer_test(
            LeakyReLU,
            init_kwargs=init_kwargs,
            input_shape=(2, 3, 4),
            expected_output_shape=(2, 3, 4),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=0,
            supports_masking=True,
            assert_built_after_instantiation=True,
        )

    def test_leaky_relu_correctness(self):
        leaky_relu_layer = LeakyReLU(negative_slope=0.5)
        inputs = np.array([-10, -5, 0.0, 5, 10])
        expected_output = np.array([-5.0, -2.5, 0.0, 5.0, 10.0])
        self.assertAllClose(leaky_relu_layer(inputs), expected_output)

    def test_invalid_usage(self):
        # Keras raises ValueError("The negative_slope value of a Leaky ReLU layer cannot be
        # None"); keras-leaky raises TypeError for any non-number, naming the argument.
        with self.assertRaisesRegex(TypeError, "negative_slope.*Received: negative_slope=None"):
            self.run_layer_test(
                LeakyReLU,
                init_kwargs={"negative_slope": None},
                input_shape=(2, 3, 4),
                supports_masking=True,
            )


class PReLUTest(testing.TestCase):
    @parameterized.named_parameters(
        ("keras", {"shared_axes": 1}, (2, 3, 4)),
        # keras-leaky's default: one alpha per channel (Keras's default is per element, which
        # is keras-leaky's `shared_axes=[]`), on either channel axis, and one scalar alpha.
        ("per_channel", {}, (2, 3, 4)),
        ("per_channel_first", {"data_format": "channels_first"}, (2, 3, 4, 5)),
        ("per_element", {"shared_axes": []}, (2, 3, 4)),
        ("scalar", {"shared_axes": "all"}, (2, 3, 4)),
    )
    def test_prelu(self, sharing, input_shape):
        self.run_layer_test(
            PReLU,
            init_kwargs={
                "alpha_initializer": "zeros",
                "alpha_regularizer": "L1",
                "alpha_constraint": "MaxNorm",
                **sharing,
            },
            input_shape=input_shape,
            expected_output_shape=input_shape,
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=0,
            expected_num_losses=1,
            supports_masking=True,
        )

    @parameterized.named_parameters(
        ("keras", (1, 2), (1, 1, 3)),
        # keras-leaky's default shares over every axis but the channels, as (1, 2) does here.
        ("per_channel", None, (3,)),
    )
    def test_prelu_correctness(self, shared_axes, alpha_shape):
        rng = np.random.default_rng(0)
        inputs = rng.standard_normal((2, 10, 5, 3))
        prelu_layer = PReLU(
            alpha_initializer="glorot_uniform",
            alpha_regularizer="l1",
            alpha_constraint="non_neg",
            shared_axes=shared_axes,
        )
        prelu_layer.build(inputs.shape)

        weights = rng.random(alpha_shape)
        prelu_layer.alpha.assign(weights)
        ref_out = np_prelu(inputs, weights)
        self.assertAllClose(prelu_layer(inputs), ref_out)


class RReLUTest(testing.TestCase):
    @parameterized.named_parameters(
        ("inference", {}),
        ("training", {"training": True}),
    )
    def test_rrelu(self, call_kwargs):
        self.run_layer_test(
            RReLU,
            init_kwargs={"lower": 0.1, "upper": 0.3, "seed": 1337},
            input_shape=(2, 3),
            call_kwargs=call_kwargs,
            expected_output_shape=(2, 3),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            expected_num_losses=0,
            supports_masking=True,
            assert_built_after_instantiation=True,
        )

    def test_rrelu_correctness(self):
        # As GaussianNoise's: the noise has the spread it should. Slopes uniform in
        # [lower, upper]: mean (lower + upper) / 2, standard deviation (upper - lower) / sqrt(12).
        inputs = -np.ones((20, 500))
        slopes = -keras.ops.convert_to_numpy(RReLU(0.1, 0.7, seed=1337)(inputs, training=True))
        self.assertAllClose(np.mean(slopes), 0.4, atol=0.02)
        self.assertAllClose(np.std(slopes), 0.6 / np.sqrt(12), atol=0.02)
