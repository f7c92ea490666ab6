"""The docs run: every Python block of README.md and docs/*.md, in order, one script per page.

A page's blocks share one namespace and run in a fresh temporary folder, so a page may make the
data it reads. Conventions (see docs/design.md, "Docs that run"):

- a block whose first line is ``# requires: MODULE[, MODULE...]`` is skipped when one of them
  cannot be imported;
- a block whose first line is ``# not run`` is skipped (for fragments such as a cluster launch);
- ``<!-- docs-setup`` ... ``-->`` holds code that runs, hidden from readers, before the blocks
  after it (to make the folders and files a page reads).

Errors point at the page and its line: each block is compiled under the page's path with its
line numbers.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT_S = 180

_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```|^<!-- docs-setup\n(.*?)^-->", re.S | re.M)
_REQUIRES = re.compile(r"#\s*requires:\s*(.+)")

# Runs the blocks given as JSON on stdin in one namespace; a block's code is padded with blank
# lines so that tracebacks give the page's own line numbers.
_RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for page, line, code in json.load(sys.stdin):
    exec(compile("\\n" * (line - 1) + code, page, "exec"), namespace)
"""


def blocks(page: Path) -> list[tuple[int, str]]:
    """(first line, code) of each block of ``page`` to run, skipped ones left out."""
    text = page.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        group = 1 if match.group(1) is not None else 2
        code = match.group(group)
        first = code.split("\n", 1)[0].strip()
        if first == "# not run":
            continue
        requires = _REQUIRES.fullmatch(first)
        if requires and not all(_importable(m.strip()) for m in requires.group(1).split(",")):
            continue
        line = text.count("\n", 0, match.start(group)) + 1
        found.append((line, code))
    return found


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_python_blocks_of_a_page_run_in_order(page, tmp_path):
    page_blocks = blocks(page)
    if not page_blocks:
        pytest.skip(f"{page.name} has no Python block to run")
    script = [(str(page.relative_to(ROOT)), line, code) for line, code in page_blocks]
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps(script),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, f"{page.name} failed:\n{done.stderr[-4000:]}"


def test_the_conventions_are_honoured(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```python\nx = 1\n```\n\n```python\n# requires: no_such_module_here\nx = 2\n```\n"
        "<!-- docs-setup\ny = 3\n-->\n```python\n# not run\nz = 4\n```\n```bash\nls\n```\n"
    )
    assert blocks(page) == [(4, "x = 1\n"), (12, "y = 3\n")]
