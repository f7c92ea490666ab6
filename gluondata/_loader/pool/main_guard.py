"""The missing ``if __name__ == "__main__":`` guard, under spawn and forkserver.

Those start methods begin each worker by importing the main script again.
Without the guard, that import runs the script's loop too, which tries to start
workers of its own from inside a worker that is still starting: the worker
dies before it can serve, and without help the only trace is in its stderr.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import multiprocess

__all__ = [
    "MainGuardError",
    "check_not_bootstrapping",
    "describe_unguarded",
    "unguarded_main_script",
]

_HOW_TO_FIX = (
    "start_method={method!r} starts each worker by importing the main script again, so the "
    "code that makes and iterates a DataLoader must run only in the main process: put it "
    'under `if __name__ == "__main__":` (or use start_method="fork")'
)


class MainGuardError(RuntimeError):
    """Workers could not start: the main script has no ``if __name__ == "__main__":`` guard."""


def check_not_bootstrapping(method: str) -> None:
    """Raise :class:`MainGuardError` in a worker that is still importing the main script."""
    if getattr(multiprocess.current_process(), "_inheriting", False):
        raise MainGuardError(
            "gluondata: a worker process tried to start workers while importing the main "
            "script; " + _HOW_TO_FIX.format(method=method)
        )


def unguarded_main_script() -> str | None:
    """The main script's path if it has no top-level ``__name__ == "__main__"`` test, else None.

    None too when there is no script to read (an interactive session, ``python -c``).
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if path is None:
        return None
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    return None if any(_is_main_test(node) for node in tree.body) else str(path)


def _is_main_test(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides)
    main = any(isinstance(side, ast.Constant) and side.value == "__main__" for side in sides)
    return names and main


def describe_unguarded(path: str, method: str) -> str:
    """The error message for workers that died starting, under an unguarded script."""
    return (
        f"gluondata: the worker processes died while starting, and the main script {path} "
        "has no `if __name__ == \"__main__\":` guard. " + _HOW_TO_FIX.format(method=method)
    )
