"""Helpers for the command-line tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from jobweave.cli.app import main

Jobweave = Callable[..., subprocess.CompletedProcess[str]]
"""The ``cli`` fixture: run ``python -m jobweave ARGS --store STORE``."""


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what or predicate}")


def one_error_line(stderr: str) -> str:
    """The single line a failed command wrote to stderr (asserting there is just one)."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("jobweave: error: "), stderr
    return lines[0]


def run_in_process(argv: list[str],
                   capsys: pytest.CaptureFixture[str]) -> subprocess.CompletedProcess[str]:
    """Run ``jobweave ARGV`` through :func:`main` here: its exit code, stdout and stderr."""
    capsys.readouterr()
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:  # pragma: no cover - main always exits
        code = 0
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["jobweave", *argv], code, out, err)
