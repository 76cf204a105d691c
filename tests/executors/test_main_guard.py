"""What counts as a script's main guard, and which main modules workers run again."""

from __future__ import annotations

import ast
from types import ModuleType, SimpleNamespace

import pytest

from jobweave.executors.main_guard import _is_main_test, _rerun_path


@pytest.mark.parametrize(("test", "guard"), [
    ("__name__ == '__main__'", True),
    ("'__main__' == __name__", True),
    ("__name__ != '__main__'", False),
    ("__name__ == 'main'", False),
    ("name == '__main__'", False),
    ("__name__ == '__main__' == x", False),
])
def test_the_main_guard_is_told(test: str, guard: bool) -> None:
    node = ast.parse(f"if {test}:\n    pass\n").body[0]
    assert isinstance(node, ast.If)
    assert _is_main_test(node.test) is guard


def _main(file: str | None, spec: str | None) -> ModuleType:
    m = ModuleType("__main__")
    m.__file__ = file
    m.__spec__ = None if spec is None else SimpleNamespace(name=spec)  # type: ignore[assignment]
    return m


def test_workers_run_a_script_again_but_not_a_package_main() -> None:
    assert _rerun_path(_main("/srv/flow.py", None)) == "/srv/flow.py"
    assert _rerun_path(_main("/srv/flow.py", "flows.nightly")) == "/srv/flow.py"
    assert _rerun_path(_main("/srv/jobweave/__main__.py", "jobweave.__main__")) is None
    assert _rerun_path(_main(None, None)) is None  # python -c, an interactive session
