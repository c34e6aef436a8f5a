"""Runs the documentation's code: each page's ```python blocks, in order, as one script.

    python docs/run_code.py                           # every page under docs/
    python docs/run_code.py docs/guides/dead-units.md

Each page runs in a fresh Python process, in an empty temporary directory, as a reader
would run it, on the TensorFlow backend (the export example needs it). Needs the test
environment (`pip install -e ".[test]"`) and Keras Tuner (`keras-tuner`), which the
activation-names guide uses. Exits non-zero, naming the page, if any page fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def run(page: Path) -> bool:
    """Runs `page`'s python blocks; True if they ran (or there are none)."""
    code = "\n".join(BLOCK.findall(page.read_text()))
    if not code:
        return True
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / f"{page.stem}.py"
        script.write_text(code)
        environment = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        result = subprocess.run([sys.executable, script.name], cwd=folder, env=environment)
    print(f"{'ok' if result.returncode == 0 else 'FAILED'}: {page}", flush=True)
    return result.returncode == 0


def main() -> None:
    pages = [Path(p) for p in sys.argv[1:]] or sorted(DOCS.rglob("*.md"))
    failed = [page for page in pages if not run(page)]
    if failed:
        sys.exit(f"the code of {len(failed)} page(s) failed: {', '.join(map(str, failed))}")


if __name__ == "__main__":
    main()
