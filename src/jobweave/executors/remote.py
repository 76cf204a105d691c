"""What travels through the attempts table: a task for a remote worker, its outcome back.

A task is the process executor's encoding (:func:`jobweave.executors.worker.encode_task`:
the target by reference, parameters pickled) in base64. An outcome is JSON: outputs are JSON anyway
(the engine journals them as JSON), so a value JSON cannot carry faults the attempt on
the worker, with the same message the engine would give.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from jobweave.executors.base import Outcome, Task
from jobweave.executors.worker import encode_task, load_task


def encode(task: Task) -> str:
    """The text that carries ``task`` to a worker, or raises ValueError saying why not."""
    data = encode_task(task)
    if isinstance(data, str):
        raise ValueError(data.replace("worker process", "remote worker")
                         .replace("use the threads executor", "use another executor"))
    return base64.b64encode(data).decode("ascii")


def decode(text: str) -> Task | Outcome:
    """The task a worker was sent (or the faulted Outcome that says why it cannot load)."""
    return load_task(base64.b64decode(text))


def outcome_text(o: Outcome) -> str:
    """An Outcome as JSON (the owner's adoption reads its ``"ok"`` in SQL)."""
    doc: dict[str, Any] = {"ok": o.ok, "value": o.value, "error": o.error,
                           "started": o.started, "finished": o.finished,
                           "interrupted": o.interrupted, "captured": o.captured}
    try:
        return json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        doc.update(ok=False, value=None,
                   error=f"output is not JSON-serialisable: {type(exc).__name__}: {exc}")
        return json.dumps(doc, allow_nan=False)


def outcome_of(text: str, key: int, attempt: int) -> Outcome:
    """The Outcome a worker recorded, for the owner's task ``key``/``attempt``."""
    try:
        doc = json.loads(text)
        return Outcome(key, attempt, bool(doc["ok"]), doc["value"], doc["error"],
                       float(doc["started"]), float(doc["finished"]),
                       bool(doc.get("interrupted")), doc.get("captured"))
    except (ValueError, KeyError, TypeError) as exc:
        now = time.time()
        return Outcome(key, attempt, False, None,
                       f"the worker's outcome cannot be read ({type(exc).__name__}: {exc})",
                       now, now)
