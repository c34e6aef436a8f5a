"""The package as installed: one version, type hints shipped, and in CI the wheel itself.

CI runs the suite a second time against the built wheel, installed into a fresh virtual
environment, from a copy of the tests that holds no `keras_leaky/` (`.ci/run`); it sets
`KERAS_LEAKY_TEST_WHEEL=1` there, so that a run which imports the checkout instead fails.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import sysconfig

import pytest

import keras_leaky
from tests.backend_utils import ROOT

PACKAGE = pathlib.Path(keras_leaky.__file__).parent


def test_version_is_the_installed_metadata():
    # pyproject.toml reads the version from keras_leaky/__init__.py at build time; an
    # editable install made before the version changed is caught here (reinstall it).
    assert keras_leaky.__version__ == importlib.metadata.version("keras-leaky")


def test_ships_py_typed():
    # PEP 561: type checkers use the public API's hints only from a package marked typed.
    assert (PACKAGE / "py.typed").is_file()


@pytest.mark.skipif(
    not os.environ.get("KERAS_LEAKY_TEST_WHEEL"),
    reason="only in CI's run against the built wheel, which sets KERAS_LEAKY_TEST_WHEEL",
)
def test_imported_from_the_installed_wheel():
    purelib = pathlib.Path(sysconfig.get_paths()["purelib"])
    assert PACKAGE == purelib / "keras_leaky"
    # The metadata found is the install's too (not an sdist's egg-info in the working
    # directory), and pip recorded installing it from a wheel file (PEP 610).
    distribution = importlib.metadata.distribution("keras-leaky")
    assert pathlib.Path(distribution.locate_file("")) == purelib
    origin = json.loads(distribution.read_text("direct_url.json"))
    assert "archive_info" in origin and origin["url"].endswith(".whl"), origin
    # The tests' subprocesses run from ROOT with it on PYTHONPATH: it must hold no package.
    assert not (pathlib.Path(ROOT) / "keras_leaky").exists()
