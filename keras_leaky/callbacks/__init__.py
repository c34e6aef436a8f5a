"""Keras callbacks for networks with (leaky) rectifiers."""

from keras_leaky.callbacks.dead_unit_monitor import DeadUnitMonitor, DeadUnitWarning

__all__ = ["DeadUnitMonitor", "DeadUnitWarning"]
