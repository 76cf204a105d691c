"""Kill a worker process together with the processes its job started.

A job may start commands in sessions of their own (the shell job does, so that it can
stop a whole pipeline), which a signal to the worker's process group does not reach.
On Linux the descendants are found through ``/proc``; elsewhere only the worker's own
process group is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children first), or [] when ``/proc`` is absent."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    children: dict[int, list[int]] = {}
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # the process ended while we looked
        # the command name is in parentheses and may itself hold spaces or ")"
        fields = stat.rpartition(b")")[2].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    stack = list(children.get(pid, ()))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, ()))
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``, its process group, and every process it started.

    The worker is stopped first so that it cannot start more processes while its
    descendants are collected. A descendant that leads its own process group (a command
    started with ``start_new_session``) has its whole group killed; the caller's own
    group is never signalled.
    """
    if pid <= 0:
        return  # 0 and -1 would signal our own group or every process we may signal
    _send(os.kill, pid, signal.SIGSTOP)
    found = descendants(pid)
    if pid != os.getpgrp():
        # The worker leads a group of its own (it calls setpgrp at start); until it has,
        # no group carries its id and this is a no-op.
        _send(os.killpg, pid, signal.SIGKILL)
    _send(os.kill, pid, signal.SIGKILL)
    _kill_all(found)


def kill_descendants(pid: int) -> None:
    """SIGKILL every process below ``pid`` (and the groups they lead), but not ``pid``."""
    _kill_all(descendants(pid))


def _kill_all(pids: list[int]) -> None:
    own_group = os.getpgrp()
    for pid in pids:
        try:
            leads_group = os.getpgid(pid) == pid
        except OSError:
            continue
        if leads_group and pid != own_group:
            _send(os.killpg, pid, signal.SIGKILL)
        _send(os.kill, pid, signal.SIGKILL)


def _send(kill: Callable[[int, int], None], target: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # gone, or not ours
        kill(target, sig)
