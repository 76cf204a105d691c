"""A definition file is compiled from its source as it is now, never from __pycache__."""

from __future__ import annotations

import os
import py_compile
from pathlib import Path

from jobweave import refs


def test_an_edit_that_keeps_size_and_second_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "flow.py"
    path.write_text("b = 2\n")
    # what an earlier process left: the file's bytecode, stamped with its mtime and size
    py_compile.compile(str(path), doraise=True)
    stamp = path.stat()
    path.write_text("b = 5\n")  # the same size, and (below) the same mtime
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert refs.load_file(str(path)).b == 5
