"""Jobs of the dashboard tests (module level, so a resume loads them again)."""

from __future__ import annotations

import os


def double(x: int, password: str = "") -> int:
    return 2 * x


def needs_file(path: str) -> str:
    """Fault until ``path`` exists: a failure an operator fixes, then retries."""
    if not os.path.exists(path):
        raise RuntimeError(f"{os.path.basename(path)} is missing")
    return "found"


def chatty(megabytes: int) -> int:
    """Print ``megabytes`` MiB of lines, then one last line."""
    line = "x" * 1023 + "\n"
    for _ in range(megabytes * 1024):
        print(line, end="")
    print("printed-it-all")
    return megabytes
