"""NaN and +-inf propagate through every layer, in training and inference.

A rectifier that turned NaN into 0 would hide a diverged model. Every layer
keeps NaN as NaN, +inf as +inf and sends -inf to -inf (its slope is > 0
here), eagerly and in Keras's compiled predict and train steps, on whichever
backend runs the suite.
"""

import keras
import numpy as np
import pytest

import keras_leaky
from tests.backend_utils import to_numpy

X = np.array([[np.nan, np.inf, -np.inf, -1.0, 1.0, 0.0]], "float32")
LAYERS = {
    "LeakyReLU": lambda: keras_leaky.LeakyReLU(negative_slope=0.1),
    "PReLU": lambda: keras_leaky.PReLU(alpha_initializer=0.3),
    "RReLU": lambda: keras_leaky.RReLU(lower=0.1, upper=0.3, seed=0),
}


def assert_propagates(y):
    y = np.asarray(y)
    assert np.isnan(y[0, 0]), y
    assert y[0, 1] == np.inf and y[0, 2] == -np.inf, y
    assert -0.3 <= y[0, 3] <= -0.1 and y[0, 4] == 1.0 and y[0, 5] == 0.0, y


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_eager_call_propagates(name, training):
    assert_propagates(to_numpy(LAYERS[name]()(X, training=training)))


@pytest.mark.parametrize("name", list(LAYERS))
def test_compiled_predict_propagates(name):
    model = keras.Sequential([keras.Input((6,)), LAYERS[name]()])
    assert_propagates(model.predict(X, verbose=0))


@pytest.mark.parametrize("name", list(LAYERS))
def test_compiled_train_step_propagates_nan_to_loss_and_gradients(name):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), LAYERS[name](), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    loss = model.train_on_batch(X, np.zeros((1, 1), "float32"))
    assert np.isnan(loss)
    # The NaN reached the weights through the gradients: nothing zeroed it.
    assert np.isnan(to_numpy(model.layers[-1].kernel)).any()
