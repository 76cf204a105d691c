"""The process groups of shell jobs: they die with their owner, with their run, and
before a resume runs their job again.

Every shell command leads a process group (a session) of its own. Three things make
sure no group outlives what it belongs to:

- **The keeper.** The first shell job of a process starts a small keeper process that
  reads the live groups from a pipe. When the pipe closes, because the process that
  runs the jobs died however it died (SIGKILL, the out-of-memory killer), the keeper
  SIGKILLs every group still registered and exits. This is the parent-death signal of
  ``prctl(PR_SET_PDEATHSIG)`` made independent of threads (that signal fires when the
  *thread* that forked exits) and extended to the whole group.
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
import sys
import tempfile
import threading
import time

KEEPER = r"""# jobweave: process-group keeper
import os, signal
live, rest = set(), b""
while True:
    data = os.read(0, 4096)
    if not data:
        break
    *lines, rest = (rest + data).split(b"\n")
    for line in lines:
        (live.add if line[:1] == b"+" else live.discard)(int(line[1:]))
for group in live:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""
REAP_WAIT = 5.0
"""Seconds a resume waits for a killed leftover group to be gone."""

_lock = threading.Lock()
_groups: dict[int, str] = {}
"""Live process groups of this process's shell jobs, with their run."""
_keeper: tuple[int, int, int] | None = None
"""(our pid, the pipe's write end, the keeper's pid): a forked child starts its own."""


def leftovers_dir(run_id: str | None = None) -> str:
    """Where the live groups of this user's runs are named (one file per group)."""
    base = os.path.join(tempfile.gettempdir(), f"jobweave-{os.getuid()}", "groups")
    return base if run_id is None else os.path.join(base, run_id.replace(os.sep, "_"))


def started(run_id: str, pgid: int) -> None:
    """Register a shell job's new process group (its leader's pid)."""
    folder = leftovers_dir(run_id)
    with contextlib.suppress(OSError):  # no record: only a resume's safety net is missing
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, str(pgid)), "w") as f:
            f.write(_start_time(pgid))
    with _lock:
        _groups[pgid] = run_id
        _tell(f"+{pgid}\n")


def ended(pgid: int) -> None:
    """Forget a group once nothing of it is left (a group that outlived its command
    stays registered: it dies with the run or its owner)."""
    if alive(pgid):
        return
    with _lock:
        run_id = _groups.pop(pgid, None)
        _tell(f"-{pgid}\n")
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
def _tell(line: str) -> None:
    """Send one line to this process's keeper (started on first use); under ``_lock``."""
    global _keeper
    for _ in range(2):
        if _keeper is None or _keeper[0] != os.getpid():
            _keeper = _start_keeper()
            if _keeper is None:
                return
        try:
            os.write(_keeper[1], line.encode())
            return
        except OSError:  # the keeper was killed: start another, tell it everything
            with contextlib.suppress(OSError):
                os.close(_keeper[1])
                os.waitpid(_keeper[2], os.WNOHANG)
            _keeper = None
            line = "".join(f"+{g}\n" for g in _groups) if line[0] == "+" else ""


def _start_keeper() -> tuple[int, int, int] | None:
    """Spawn a keeper reading the other end of a new pipe: (our pid, write end, its pid).

    It runs in a session of its own (a terminal's Ctrl-C is not for it) and is never
    waited for: it ends when this process does.
    """
    if not hasattr(os, "posix_spawn"):
        return None
    read, write = os.pipe()
    try:
        pid = os.posix_spawn(sys.executable, [sys.executable, "-I", "-S", "-c", KEEPER],
                             os.environ, setsid=True, file_actions=[
                                 (os.POSIX_SPAWN_DUP2, read, 0),
                                 (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                                 (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    except OSError:
        os.close(write)
        return None
    finally:
        os.close(read)
    return os.getpid(), write, pid


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
