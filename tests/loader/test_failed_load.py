"""A definition file that raises while it loads is named with the line that raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobweave import refs
from jobweave.errors import JobweaveError


@pytest.mark.parametrize(("text", "line", "error"), [
    ("import os\n\nx = 1\nraise RuntimeError('boom at import')\n", 4, "RuntimeError: boom"),
    ("def fetch():\n    return 1 / 0\n\n\nfetch()\n", 2, "ZeroDivisionError"),
    ("x = 1\ndef f(:\n    pass\n", 2, "SyntaxError"),
])
def test_the_line_that_raised_is_named(tmp_path: Path, text: str, line: int,
                                       error: str) -> None:
    path = tmp_path / "flow.py"
    path.write_text(text)
    with pytest.raises(JobweaveError) as caught:
        refs.load_file(str(path))
    assert str(caught.value).startswith(f"{path}:{line}: loading failed: {error}")
