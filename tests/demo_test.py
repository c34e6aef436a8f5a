"""The README's demo trains by name, reloads identically and reports dead units, quietly."""

import keras
import pytest

from keras_leaky import _quiet, demo
from tests.backend_utils import run_python


def test_demo_rows():
    rows = demo.run(epochs=1)
    assert [row["activation"] for row in rows] == list(demo.NAMES)
    assert all(row["reload_identical"] for row in rows)
    assert all(0.0 <= row["dead_fraction"] <= 1.0 for row in rows)
    by_name = {row["activation"]: row for row in rows}
    assert by_name["prelu"]["params"] == by_name["relu"]["params"] + 128 + 64  # One alpha/unit.
    assert by_name["leaky_relu"]["dead_fraction"] == 0.0
    assert all(row["test_accuracy"] > 0.5 for row in rows)


# Lines TensorFlow 2.21's C++ runtime printed before the demo's table, on this CPU machine.
TENSORFLOW_NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796283655.047998   15469 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1796283655.048296   15469 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1796283665.646107   15469 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1796283680.526382   15469 device_compiler.h:208] Compiled cluster using XLA!",
    "2026-12-03 07:39:16.159900: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:31] Could "
    "not find cuda drivers on your machine, GPU will not be used.",
]
KEPT = [
    "Traceback (most recent call last):",
    "UserWarning: something a user should see",
    "E0000 00:00:1796283665.646107   15469 op_kernel.cc:1857] OP_REQUIRES failed",
    "usage: python -m keras_leaky [-h] {demo}",
]


def test_command_line_noise_filter():
    assert all(_quiet._NOISE.match(line.encode()) for line in TENSORFLOW_NOISE)
    assert not any(_quiet._NOISE.match(line.encode()) for line in KEPT)


def test_command_line_starts_quietly():
    # As a user starts it: without the suite's own TF_CPP_MIN_LOG_LEVEL.
    unset = ("TF_CPP_MIN_LOG_LEVEL",)
    result = run_python("-m", "keras_leaky", "no-such-command", unset=unset, timeout=120)
    # Only argparse's own message reaches standard error.
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("usage: python -m keras_leaky"), result.stderr
    assert "invalid choice: 'no-such-command'" in lines[-1]
    assert len(lines) == 2, result.stderr


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's own log")
def test_command_line_log_shown_when_the_user_asks():
    result = run_python(
        "-m", "keras_leaky", "no-such-command", env={"TF_CPP_MIN_LOG_LEVEL": "0"}, timeout=120
    )
    assert any(_quiet._NOISE.match(line.encode()) for line in result.stderr.splitlines())


def test_command_line_without_the_backend_says_what_to_install():
    # The wheel alone brings Keras and NumPy: `import keras` then fails for want of the
    # backend it is set to use. The import of that backend is made to fail here.
    backend = keras.backend.backend()
    code = (
        "import sys\n"
        "class NotInstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.partition('.')[0] == {backend!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NotInstalled())\n"
        "import runpy\n"
        "sys.argv = ['keras_leaky', 'demo']\n"
        "runpy.run_module('keras_leaky', run_name='__main__')\n"
    )
    result = run_python("-c", code, timeout=120)
    assert result.returncode == 1, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ModuleNotFoundError: Keras is set to use the"), result.stderr
    assert f"{backend!r} backend, which is not installed" in last_line
    assert 'pip install "keras-leaky[demo]" for the demo' in last_line
