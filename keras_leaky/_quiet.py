"""A quiet command line: TensorFlow's C++ start-up log, filtered out.

`python -m keras_leaky demo` would otherwise open with a dozen lines from
TensorFlow's C++ runtime (oneDNN and CPU-feature notices, "Could not find
cuda drivers", "failed call to cuInit" on machines without a GPU, XLA
service lines, "Compiled cluster using XLA!"), which a newcomer reads as
failures. TensorFlow 2.21 writes most of them before it reads
`TF_CPP_MIN_LOG_LEVEL`, so the variable alone does not silence them: for the
command line only, this module also filters the process's standard error,
dropping the C++ runtime's INFO and WARNING lines and the cuInit error, and
passing everything else (Python's warnings and tracebacks, other errors)
through unchanged.

Only `python -m keras_leaky ...` is filtered, and only when the user has not
set `TF_CPP_MIN_LOG_LEVEL` (set it, to any value, to see everything).
Importing keras_leaky as a library changes nothing.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

_NOISE = re.compile(
    rb"^(?:"
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called"  # absl's banner
    rb"|[IW]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\]"  # absl INFO/WARNING lines
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] "  # TensorFlow's own INFO/WARNING format
    rb"|E\d{4} [\d:.]+ +\d+ cuda_\w+\.cc:\d+\] failed call to cuInit"  # no GPU here
    rb"|To enable the following instructions: .* appropriate compiler flags\."  # continuation
    rb")"
)


def launched_as_command() -> bool:
    """Whether this process is `python -m keras_leaky ...`."""
    argv = sys.orig_argv
    return "-m" in argv[:-1] and argv[argv.index("-m") + 1] == "keras_leaky"


def quiet_tensorflow() -> None:
    """Filters TensorFlow's C++ start-up log from this process's standard error.

    Call it before TensorFlow is imported. Standard error (file descriptor 2,
    which C++ and Python both write to) is redirected into a pipe; a thread
    copies each line that is not C++ runtime noise to the original standard
    error. At exit the pipe is drained before the process ends.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def copy() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not _NOISE.match(line):
                    os.write(original, line)

    thread = threading.Thread(target=copy, name="keras_leaky-stderr", daemon=True)
    thread.start()

    def drain() -> None:
        sys.stderr.flush()
        os.dup2(original, 2)  # Closes the pipe's last write end: the thread sees EOF.
        thread.join(timeout=5)

    atexit.register(drain)


# At import, before keras_leaky's package imports Keras (and so TensorFlow).
if launched_as_command():
    quiet_tensorflow()
