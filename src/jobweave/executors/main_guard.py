"""Whether a run with worker processes is started where every worker would start it again.

A worker process of ``executor="processes"`` begins by running the main script's top level
again (as multiprocessing's spawn and forkserver do). A script that starts its run there,
outside ``if __name__ == "__main__":``, makes each worker start the run in turn, which
multiprocessing refuses with a long traceback per worker. :func:`unguarded_start` finds that
case in the process that starts the run, before any worker exists.
"""

from __future__ import annotations

import ast
import sys
from types import FrameType, ModuleType

SOURCE_LIMIT = 4 * 1024 * 1024
"""A main script larger than this is not read (the check is skipped)."""


def unguarded_start() -> str | None:
    """``FILE:LINE`` where the calling thread runs the main script's top level outside an
    ``if __name__ == "__main__":`` block, when workers would run that script again; else
    None (also when that cannot be told)."""
    main = sys.modules.get("__main__")
    path = _rerun_path(main)
    if main is None or path is None:
        return None
    frame = _top_level_frame(main)
    if frame is None:
        return None
    line = frame.f_lineno
    try:
        with open(path, "rb") as f:
            source = f.read(SOURCE_LIMIT + 1)
        if len(source) > SOURCE_LIMIT:
            return None
        tree = ast.parse(source, path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.If) and _is_main_test(node.test)
                and node.lineno <= line <= (node.end_lineno or node.lineno)):
            return None
    return f"{path}:{line}"


def _rerun_path(main: ModuleType | None) -> str | None:
    """The file of the main module when workers run it again (multiprocessing leaves a
    package's ``__main__`` and an interactive session alone)."""
    if main is None:
        return None
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name is not None and (name == "__main__" or name.endswith(".__main__")):
        return None
    path = getattr(main, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py") or getattr(sys, "frozen", False):
        return None
    return path


def _top_level_frame(main: ModuleType) -> FrameType | None:
    """The frame of the main module's top level on this thread's stack, if any."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            return frame
        frame = frame.f_back
    return None


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))
