"""Small models that use each keras_leaky layer in each way, for saving tests.

Importable from a fresh interpreter (`import tests.model_zoo`), which is how
the saving tests reload models in a process that did nothing but import
keras_leaky (and this module's subclassed model class).
"""

import keras
import numpy as np

import keras_leaky

LAYERS = {layer.__name__: layer for layer in keras_leaky.layers.LAYERS}
"""Every keras_leaky layer, by its class name, which is also its activation name."""
KWARGS = {"LeakyReLU": {"negative_slope": 0.1}, "RReLU": {"seed": 3}}
"""Non-default arguments the layer instances get (by name, a layer takes its defaults)."""
USAGES = ("standalone", "instance", "name")
KINDS = ("sequential", "functional", "subclassed")
INPUT_SHAPE = (6,)


@keras.saving.register_keras_serializable(package="keras_leaky_tests")
class TwoDense(keras.Model):
    """A subclassed model: Dense -> (activation layer) -> Dense."""

    def __init__(self, activation=None, standalone=None, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(5, activation=activation)
        self.standalone = standalone
        self.head = keras.layers.Dense(3)

    def build(self, input_shape):
        self.hidden.build(input_shape)
        hidden_shape = self.hidden.compute_output_shape(input_shape)
        if self.standalone is not None and not self.standalone.built:
            self.standalone.build(hidden_shape)
        self.head.build(hidden_shape)

    def call(self, inputs):
        x = self.hidden(inputs)
        if self.standalone is not None:
            x = self.standalone(x)
        return self.head(x)

    def get_config(self):
        config = super().get_config()
        config["activation"] = keras.activations.serialize(self.hidden.activation)
        config["standalone"] = (
            None
            if self.standalone is None
            else keras.saving.serialize_keras_object(self.standalone)
        )
        return config

    @classmethod
    def from_config(cls, config):
        standalone = config.pop("standalone")
        if standalone is not None:
            standalone = keras.saving.deserialize_keras_object(standalone)
        return cls(standalone=standalone, **config)


def make(layer: str, usage: str, kind: str) -> keras.Model:
    """Builds (and builds the weights of) one model of the grid."""
    cls, kwargs = LAYERS[layer], KWARGS.get(layer, {})
    activation = {"standalone": None, "instance": cls(**kwargs), "name": layer}[usage]
    standalone = cls(**kwargs) if usage == "standalone" else None
    if kind == "subclassed":
        model = TwoDense(activation=activation, standalone=standalone)
        model.build((None, *INPUT_SHAPE))
        return model
    layers = [keras.layers.Dense(5, activation=activation)]
    layers += [standalone] if standalone is not None else []
    layers += [keras.layers.Dense(3)]
    if kind == "sequential":
        return keras.Sequential([keras.Input(INPUT_SHAPE), *layers])
    inputs = x = keras.Input(INPUT_SHAPE)
    for each in layers:
        x = each(x)
    return keras.Model(inputs, x)


def leaky_weights(model: keras.Model) -> list[np.ndarray]:
    """The alphas of every PReLU in `model`, in `model.weights` order."""
    return [keras.ops.convert_to_numpy(w) for w in model.weights if w.path.endswith("alpha")]


def probe() -> np.ndarray:
    return np.linspace(-3, 3, 4 * INPUT_SHAPE[0], dtype="float32").reshape(4, *INPUT_SHAPE)


def predict(model: keras.Model) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(probe(), training=False))
