"""The process groups of shell jobs: they die with their owner, with their run, and
before a resume runs their job again.

Every shell command leads a process group (a session) of its own. Three things make
sure no group outlives what it belongs to:

- **The keeper** (:mod:`jobweave.keeper`) SIGKILLs every group still registered when
  the process that runs the jobs dies, however it dies.
- **The run's end.** ``stop_run(run_id)`` SIGKILLs whatever is left of the run's groups
  (an attempt abandoned after a timeout or cancel that ignored SIGTERM).
- **A record on disk.** While a group lives, a file under ``leftovers_dir()`` names it,
  so a resume on the same host finds and kills a group that the keeper did not reach
  (the keeper killed too) before it starts any job: ``reap(run_id)``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time

from jobweave import keeper

REAP_WAIT = 5.0
"""Seconds a resume waits for a killed leftover group to be gone."""

_lock = threading.Lock()
_groups: dict[int, str] = {}
"""Live process groups of this process's shell jobs, with their run."""


def leftovers_dir(run_id: str | None = None) -> str:
    """Where the live groups of this user's runs are named (one file per group)."""
    base = os.path.join(tempfile.gettempdir(), f"jobweave-{os.getuid()}", "groups")
    return base if run_id is None else os.path.join(base, run_id.replace(os.sep, "_"))


def starting() -> None:
    """Call before starting a group: its keeper is then ready to watch it at once."""
    keeper.ready()


def started(run_id: str, pgid: int) -> None:
    """Register a shell job's new process group (its leader's pid)."""
    keeper.watch(pgid)  # first: the owner may die any moment from now
    with _lock:
        _groups[pgid] = run_id
    folder = leftovers_dir(run_id)
    with contextlib.suppress(OSError):  # no record: only a resume's safety net is missing
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, str(pgid)), "w") as f:
            f.write(_start_time(pgid))


def ended(pgid: int) -> None:
    """Forget a group once nothing of it is left (a group that outlived its command
    stays registered: it dies with the run or its owner)."""
    if alive(pgid):
        return
    with _lock:
        run_id = _groups.pop(pgid, None)
    keeper.forget(pgid)
    if run_id is not None:
        folder = leftovers_dir(run_id)
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, str(pgid)))
            os.rmdir(folder)  # fails while another group of the run is named there


def stop_run(run_id: str, *, sweep: bool = True) -> None:
    """SIGKILL whatever is left of the run's groups in this process (the run ended);
    with ``sweep``, also those that other processes of this host left (``reap``)."""
    with _lock:
        mine = [g for g, r in _groups.items() if r == run_id]
    for pgid in mine:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        _wait_gone(pgid, REAP_WAIT)
        ended(pgid)
    if sweep:
        reap(run_id)


def reap(run_id: str) -> list[int]:
    """Kill, and wait for, the groups an earlier execution of the run left on this host.

    Returns the groups that were still alive. Called before a resume or a recovery
    starts any job, so that no job runs beside its previous attempt.
    """
    folder = leftovers_dir(run_id)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    with _lock:
        ours = set(_groups)
    killed = []
    for name in names:
        if not name.isdigit() or int(name) in ours:
            continue
        pgid = int(name)
        try:
            with open(os.path.join(folder, name)) as f:
                recorded = f.read()
        except OSError:
            continue
        # a leader still alive under a different start time is an unrelated process that
        # reused the number; a group whose leader is gone still has our members
        leader = _start_time(pgid)
        if alive(pgid) and (not leader or not recorded or leader == recorded):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            _wait_gone(pgid, REAP_WAIT)
            killed.append(pgid)
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
    shutil.rmtree(folder, ignore_errors=True)
    return killed


# -- helpers --------------------------------------------------------------------------
def alive(pgid: int) -> bool:
    """Whether any process of the group is left (zombies waiting for a parent count
    as gone)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pgid}/stat", "rb") as f:
            state = f.read().rpartition(b")")[2].split()[0]
        return state != b"Z" or _members(pgid)
    except (OSError, IndexError):
        return True


def _members(pgid: int) -> bool:
    """Whether the group has a member other than a zombie leader (Linux ``/proc``)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for name in entries:
        if not name.isdigit() or int(name) == pgid:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _wait_gone(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks after boot ('' where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[19].decode()
    except (OSError, IndexError):
        return ""
