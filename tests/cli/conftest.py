"""Helpers for the command-line tests: the `jobweave` command run in this process (or, for
signals and detached processes, in a real subprocess), target files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobweave.store import SqlStore, close_all, open_store
from tests.cli.helpers import Jobweave, run_in_process


@pytest.fixture
def store(tmp_path: Path) -> str:
    """The store URL every command of a test uses: a fresh SQLite file."""
    return str(tmp_path / "cli.db")


@pytest.fixture
def cli(tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]) -> Iterator[Jobweave]:
    """Run ``jobweave ARGS --store STORE`` in this process, in tmp_path (the current folder);
    return its exit code and output as a finished process would.

    A test that sends signals, or changes a definition file that this process has already
    imported, uses :func:`cli_proc` instead."""

    def run(*args: str, timeout: float = 60,
            with_store: bool = True) -> subprocess.CompletedProcess[str]:
        extra = ["--store", store] if with_store else []
        return run_in_process([*args, *extra], capsys)

    yield run
    close_all()


@pytest.fixture
def cli_proc(tmp_path: Path, store: str) -> Jobweave:
    """Run ``python -m jobweave ARGS --store STORE`` in tmp_path; return the finished process."""

    def run(*args: str, timeout: float = 60,
            with_store: bool = True) -> subprocess.CompletedProcess[str]:
        extra = ["--store", store] if with_store else []
        return subprocess.run([sys.executable, "-m", "jobweave", *args, *extra], cwd=tmp_path,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def cli_each(cli: Jobweave) -> Callable[..., list[subprocess.CompletedProcess[str]]]:
    """Run several commands (each a list of args) one after the other; return them in order."""

    def run_all(*commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        return [cli(*args) for args in commands]

    return run_all


@pytest.fixture
def spawn(tmp_path: Path, store: str) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``python -m jobweave ARGS --store STORE`` without waiting; killed at the end."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-m", "jobweave", *args, "--store", store],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reaps it and closes its pipes


@pytest.fixture
def db(store: str) -> Iterator[SqlStore]:
    """The same store, opened in the test process to look at what the CLI recorded."""
    yield open_store(store)
    close_all()


@pytest.fixture
def target(tmp_path: Path) -> Callable[[str], str]:
    """Write ``flow.py`` (jobweave imported as jw) into tmp_path; return its file name."""

    def write(body: str, name: str = "flow.py") -> str:
        (tmp_path / name).write_text("import jobweave as jw\n\n" + textwrap.dedent(body))
        return name

    return write
