"""The keeper: a small process that kills what this process started when it dies.

``prctl(PR_SET_PDEATHSIG)`` asks the kernel to signal a child when its parent dies, but
it fires when the parent *thread* that forked exits (job threads come and go), it is
lost across a fork (a command's own children never get it), and it reaches one process,
not a process group. So the first call to :func:`watch` starts a keeper instead: a
separate Python process, in a session of its own, that reads the process groups to
watch from a pipe. When the pipe closes because this process ended, however it ended
(SIGKILL, the out-of-memory killer), the keeper SIGKILLs every group still registered
and exits. A graceful group (a worker process of the process executor, which then kills
what its job started) gets ``GRACE`` seconds to end by itself first.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

GRACE = 1.0
"""Seconds a graceful group gets to end by itself once this process died."""
SOURCE = r"""# jobweave: process-group keeper
import os, signal, sys, time
live, rest = {}, b""
while True:
    data = os.read(0, 4096)
    if not data:
        break
    *lines, rest = (rest + data).split(b"\n")
    for line in lines:
        if line[:1] == b"-":
            live.pop(int(line[1:]), None)
        elif line:
            live[int(line[1:])] = line[:1]


def kill(group):
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass


def gone(group):
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass
    return False


for group, kind in live.items():
    if kind == b"+":
        kill(group)
waiting = [g for g, kind in live.items() if kind == b"~"]
deadline = time.monotonic() + float(sys.argv[1])
while waiting and time.monotonic() < deadline:
    time.sleep(0.02)
    waiting = [g for g in waiting if not gone(g)]
for group in waiting:
    kill(group)
"""

_lock = threading.Lock()
_watched: dict[int, str] = {}
"""The groups this process registered, and how ("+" at once, "~" after the grace)."""
_keeper: tuple[int, int, int] | None = None
"""(our pid, the pipe's write end, the keeper's pid); a forked child starts its own."""


def watch(pgid: int, *, graceful: bool = False) -> None:
    """Have the keeper SIGKILL process group ``pgid`` when this process dies (after
    ``GRACE`` seconds if ``graceful``)."""
    kind = "~" if graceful else "+"
    with _lock:
        _watched[pgid] = kind
        _tell(f"{kind}{pgid}\n")


def ready() -> None:
    """Start this process's keeper now, if it has none, so that a group started next is
    watched within microseconds of its birth (not after a keeper's start-up)."""
    global _keeper
    with _lock:
        if _keeper is None or _keeper[0] != os.getpid():
            _keeper = _start()


def forget(pgid: int) -> None:
    """The group ended (or is someone else's business now): stop watching it."""
    with _lock:
        if _watched.pop(pgid, None) is not None:
            _tell(f"-{pgid}\n")


def _tell(line: str) -> None:
    """Send one line to this process's keeper, started on first use; under ``_lock``."""
    global _keeper
    for _ in range(2):
        if _keeper is None or _keeper[0] != os.getpid():
            _keeper = _start()
            if _keeper is None:
                return  # no keeper here: groups die with their run and a resume only
        try:
            os.write(_keeper[1], line.encode())
            return
        except OSError:  # the keeper was killed: start another and tell it everything
            with contextlib.suppress(OSError):
                os.close(_keeper[1])
                os.waitpid(_keeper[2], os.WNOHANG)
            _keeper = None
            line = "".join(f"{k}{g}\n" for g, k in _watched.items())


def _start() -> tuple[int, int, int] | None:
    """Spawn a keeper reading the other end of a new pipe.

    It runs in a session of its own (a terminal's Ctrl-C is not for it), and is never
    waited for: it ends when this process does.
    """
    if not hasattr(os, "posix_spawn"):
        return None
    read, write = os.pipe()
    try:
        pid = os.posix_spawn(sys.executable, [sys.executable, "-I", "-S", "-c", SOURCE,
                                              str(GRACE)],
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
