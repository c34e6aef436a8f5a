"""MkDocs hooks (mkdocs.yml `hooks:`): what the site reuses from the repository, and its checks.

- The notebooks (`notebooks/*.ipynb`) become pages, rendered by mkdocs-jupyter with their saved
  outputs; their plots, and the benchmark chart `benchmarks/results/cpu.png`, are served from
  where they are. Nothing is copied into `docs/`, so nothing goes stale.
- In a page, `<!-- benchmark-tables -->` becomes what `python -m benchmarks.report` prints, and
  `<!-- readme: Heading -->` the body of the README's `## Heading` section (`<!-- readme: Heading
  | from: Words -->`: from its line that starts with `Words`).
- Every public name must have a docstring and be shown by an API page (a `::: identifier`
  block in `docs/api/`): each one that is not is a warning, so `mkdocs build --strict` fails.
  The public names are `keras_leaky.__all__`, and for each public module, its `__all__`, or
  where it has none its names not starting with `_`, as griffe counts them (no imports).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
from pathlib import Path

import griffe
from jinja2 import Environment
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "keras_leaky"
NOTEBOOKS = "notebooks"
CHART = "benchmarks/results/cpu.png"
API_DIR = "api/"

log = logging.getLogger(f"mkdocs.plugins.{__name__}")
_package: griffe.Module  # the package as griffe reads it from the sources, once per build
_shown: set[str] = set()  # canonical paths of what the API pages show


def on_pre_build(config: MkDocsConfig) -> None:
    global _package
    _package = griffe.load(PACKAGE, search_paths=[str(ROOT)], docstring_parser="google")
    _shown.clear()


def _figure_uri(notebook: str, number: int) -> str:
    """Where the `number`th (from 1) PNG output of `notebooks/<notebook>.ipynb` is served."""
    return f"{NOTEBOOKS}/figures/{notebook}-{number}.png"


def _figures(path: Path) -> list[bytes]:
    cells = json.loads(path.read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return [
        base64.b64decode(o["data"]["image/png"])
        for o in outputs
        if "image/png" in o.get("data", {})
    ]


def _from_repository(uri: str, config: MkDocsConfig) -> File:
    """The repository's file `uri`, served at the same path (no copy in `docs/`).

    A `File` with `src_dir` the repository root rather than `File.generated(abs_src_path=...)`:
    mkdocs-jupyter's wrapper reads `src_dir`, which a generated file does not have.
    """
    return File(uri, str(ROOT), config.site_dir, config.use_directory_urls)


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns the notebooks into pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path in sorted((ROOT / NOTEBOOKS).glob("*.ipynb")):
        files.append(_from_repository(f"{NOTEBOOKS}/{path.name}", config))
        for number, png in enumerate(_figures(path), start=1):
            files.append(File.generated(config, _figure_uri(path.stem, number), content=png))
    files.append(_from_repository(CHART, config))
    return files


def _readme_section(heading: str, start: str | None) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        log.warning(f"README.md has no section '## {heading}'")
        return ""
    body = match.group(1)
    if start is not None:
        begins = re.search(rf"^{re.escape(start)}", body, re.M)
        if begins is None:
            log.warning(f"README.md's section '## {heading}' has no line starting '{start}'")
            return ""
        body = body[begins.start() :]
    return body.strip()


def _benchmark_tables() -> str:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.protocol import RESULTS
        from benchmarks.report import render
    finally:
        sys.path.remove(str(ROOT))
    return render(json.loads(Path(RESULTS).read_text()))


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    markdown = re.sub(
        r"<!-- readme: (.+?)(?: \| from: (.+?))? -->",
        lambda match: _readme_section(*match.groups()),
        markdown,
    )
    if "<!-- benchmark-tables -->" in markdown:
        markdown = markdown.replace("<!-- benchmark-tables -->", _benchmark_tables())
    if page.file.src_uri.startswith(API_DIR):
        # A `::: identifier` line and its indented options.
        for identifier, options in re.findall(r"^::: *(\S+)\n((?:[ \t]+.*\n)*)", markdown, re.M):
            _shown.update(_shown_by(identifier, re.search(r"members: *false", options) is None))
    return markdown


def _public(module: griffe.Module) -> dict[str, griffe.Object | griffe.Alias]:
    """A module's public names: its `__all__`, or else its own names not starting with `_`."""
    if module.exports is not None:
        return {name: module[name] for name in module.exports}
    return {name: member for name, member in module.members.items() if member.is_public}


def _shown_by(identifier: str, members: bool) -> set[str]:
    """Canonical paths an API page's `::: identifier` shows: the object, and a module's
    public members unless its options say `members: false`."""
    obj = _package if identifier == PACKAGE else _package[identifier.removeprefix(f"{PACKAGE}.")]
    shown = {obj.canonical_path}
    if obj.is_module and members:
        shown |= {member.canonical_path for member in _public(obj).values()}
    return shown


def on_env(env: Environment, config: MkDocsConfig, files: Files) -> Environment:
    """Checks every public name: a docstring, and an API page that shows it."""
    # The package, the modules its `__all__` names, and the home of its layer classes.
    modules = [_package, _package["layers"]]
    modules += [m for m in _public(_package).values() if m.is_module]
    for module in modules:
        for name, member in _public(module).items():
            public = f"{module.path}.{name}"
            if name.startswith("__") or member.is_module:  # `__version__`; modules: their names
                continue
            if not member.docstring:
                log.warning(f"{public} is public and has no docstring")
            if member.canonical_path not in _shown:
                log.warning(f"{public} is public and no page in docs/{API_DIR} shows it")
    return env
