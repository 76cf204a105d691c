"""The shell component closes what it opens: no ResourceWarning on any way out."""

from __future__ import annotations

import contextlib
import gc
import threading
import warnings
from collections.abc import Callable

import pytest

from jobweave.components import shell
from jobweave.context import Context
from jobweave.errors import Interrupted, JobFailure


def _resource_warnings(call: Callable[[], object]) -> list[str]:
    """Run ``call``, collect garbage, and return the ResourceWarnings raised meanwhile."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with contextlib.suppress(Interrupted, JobFailure):
            call()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("command", ["echo out; echo err >&2", "echo err >&2; exit 3"])
def test_a_finished_command_leaves_no_open_pipe(command: str) -> None:
    ctx = Context("run", "sh", 1)
    assert _resource_warnings(lambda: shell.run(command, ctx)) == []


def test_a_stopped_command_leaves_no_open_pipe() -> None:
    ctx = Context("run", "sh", 1)
    threading.Timer(0.3, ctx.request_stop).start()
    assert _resource_warnings(lambda: shell.run("sleep 30", ctx)) == []
