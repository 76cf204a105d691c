"""The live tail of a running shell job: its output so far, in a file the dashboard reads.

While a shell attempt runs, the last ``OUTPUT_LIMIT`` bytes of its stdout and stderr are
kept in ``live_dir(run_id)/<job hash>.a<attempt>.out`` (and ``.err``),
rewritten atomically (a new file renamed over the old) at most every ``INTERVAL``
seconds (first at the command's start, so that a file a crashed execution left is
replaced at once), and removed when the attempt ends. The store receives the output only then, so
a page on the same host reads these files to show a job's output while it runs.

Writing is best effort: a file that cannot be written only loses the live view, never
the job.

A process killed with SIGKILL leaves its files behind. :func:`sweep` (run by
``jobweave serve`` when it starts and every hour) removes the folders of runs that no
live process runs any more (finished, paused, crashed), and the half-written ``.tmp``
files of processes that are gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable

INTERVAL = 0.2
"""Seconds between two writes of one live file, at least."""
STREAMS = {"stdout": "out", "stderr": "err"}
"""The file suffix of each stream."""


def live_root() -> str:
    """The folder of this user's live tails: one folder per run in it."""
    return os.path.join(tempfile.gettempdir(), f"jobweave-{os.getuid()}", "live")


def live_dir(run_id: str) -> str:
    """Where this user's running shell attempts of the run keep their live tails."""
    return os.path.join(live_root(), run_id.replace(os.sep, "_"))


def sweep(running: Callable[[str], bool | None]) -> int:
    """Remove the live tails that no attempt will finish; how many files went.

    ``running(run_id)`` says whether a live process runs the run (True: its folder is
    kept), or not (False: the folder goes), or None when the run is unknown (a run of
    another store on this host: kept). In the folders kept, a ``.tmp`` file of a process
    that is gone goes too.
    """
    removed = 0
    try:
        runs = os.listdir(live_root())
    except OSError:
        return 0
    for run_id in runs:
        folder = os.path.join(live_root(), run_id)
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if running(run_id) is False:
            shutil.rmtree(folder, ignore_errors=True)
            removed += sum(1 for n in names if not os.path.exists(os.path.join(folder, n)))
            continue
        for name in names:
            if name.endswith(".tmp") and not _alive(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


def _alive(temp: str) -> bool:
    """Whether the process that writes the temp file ``<path>.<pid>.<thread>.tmp`` lives."""
    try:
        pid = int(temp.rsplit(".", 3)[1])
    except (IndexError, ValueError):
        return True  # not ours to judge
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (another user's)
    return True


def live_path(run_id: str, job: str, attempt: int, stream: str) -> str:
    """The live file of one stream of one attempt (the job's name hashed: it may hold
    any character)."""
    digest = hashlib.sha256(job.encode()).hexdigest()[:32]
    return os.path.join(live_dir(run_id),
                        f"{digest}.a{attempt}.{STREAMS[stream]}")


def read(run_id: str, job: str, attempt: int, stream: str) -> str | None:
    """The live tail of a running attempt's stream, or None where there is none (the
    attempt is over, runs on another host, or has not written yet)."""
    try:
        with open(live_path(run_id, job, attempt, stream), "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return None


class LiveFile:
    """One stream's live file: ``update`` rewrites it when the tail changed and
    ``INTERVAL`` has passed; ``remove`` deletes it at the attempt's end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._written = -INTERVAL
        self._size = -1

    def update(self, data: bytes, version: int, *, force: bool = False) -> None:
        """Write ``data`` (the tail after ``version`` bytes read in all) if it is new."""
        now = time.monotonic()
        if version == self._size or (not force and now - self._written < INTERVAL):
            return
        temp = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
        for _ in range(2):  # again if the folder went away with another attempt's end
            try:
                os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(temp, self.path)
            except FileNotFoundError:
                continue
            except OSError:
                break  # no live view this time; the job goes on
            self._written, self._size = now, version
            return
        self._written = now
        with contextlib.suppress(OSError):
            os.unlink(temp)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(self.path))  # fails while another attempt writes there
