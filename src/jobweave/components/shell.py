"""The shell job: a command in a real subprocess, killed on cancel or timeout.

The command leads a process group of its own, registered with :mod:`.groups` so that it
dies with the process that runs the job and with its run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

from jobweave.components import groups, livetail
from jobweave.context import Context
from jobweave.errors import Interrupted, JobFailure

OUTPUT_LIMIT = 64 * 1024
"""Bytes of stdout and of stderr kept (the tail), so a chatty command cannot fill memory."""
KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL when a command is stopped."""
POLL = 0.05
GATE = 'read -r _ || exit 125; exec </dev/null; exec /bin/sh -c "$1"'
"""What the job's process runs first: it waits for one line on its stdin, which this
process writes once the new process group is registered to die with it, then becomes
``/bin/sh -c COMMAND`` with stdin from ``/dev/null``. Without it, a command could start
(and start processes of its own) before its group was registered, and live on if this
process died in that moment. If this process dies first, the pipe closes and the
command never starts."""


class _Tail:
    """Reads a pipe to the end on a thread, keeping only the last OUTPUT_LIMIT bytes;
    with a ``live`` file, ``flush`` copies that tail there while the command runs."""

    def __init__(self, pipe: IO[bytes], live: livetail.LiveFile | None = None) -> None:
        self._pipe = pipe
        self._chunks = bytearray()
        self._lock = threading.Lock()
        self._live = live
        self.dropped = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        # the pipe is closed here, at its end: closing it from another thread would wait
        # for this read, as long as a process the command left behind holds it open
        with self._pipe:
            fd = self._pipe.fileno()  # unbuffered: each chunk as soon as it is written
            for chunk in iter(lambda: os.read(fd, 65536), b""):
                with self._lock:
                    self._chunks += chunk
                    excess = len(self._chunks) - OUTPUT_LIMIT
                    if excess > 0:
                        del self._chunks[:excess]
                        self.dropped += excess

    def _bytes(self) -> bytes:
        with self._lock:
            body, dropped = bytes(self._chunks), self.dropped
        return (f"[{dropped} bytes dropped]\n".encode() + body) if dropped else body

    def text(self) -> str:
        self.join()
        return self._bytes().decode(errors="replace")

    def flush(self) -> None:
        """Bring the live file up to date (at most every ``livetail.INTERVAL`` seconds)."""
        if self._live is not None:
            with self._lock:
                version = self.dropped + len(self._chunks)
            self._live.update(self._bytes(), version)

    def close(self) -> None:
        """Remove the live file: the attempt is over."""
        if self._live is not None:
            self._live.remove()

    def join(self) -> None:
        """Wait a little for the end of the output (and so for the pipe to be closed)."""
        self._thread.join(timeout=5)


def run(
    command: str,
    context: Context,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``command`` with ``/bin/sh``; return its exit status and output tails."""
    full_env = None
    if env is not None:
        full_env = {**os.environ, **env}
    groups.starting()
    gate, release = os.pipe()
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", GATE, "/bin/sh", command], cwd=cwd, env=full_env, stdin=gate,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    except BaseException:
        os.close(release)
        raise
    finally:
        os.close(gate)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        groups.started(context.run_id, proc.pid)
        os.write(release, b"\n")  # registered: the command may start
    except BaseException:
        os.close(release)  # not written to: the gate exits without starting the command
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=5)
        if proc.returncode is None:
            _stop(proc)
        groups.ended(proc.pid)  # registered, perhaps, before the write failed
        raise
    os.close(release)
    out, err = (_Tail(pipe, _live(context, stream)) for pipe, stream in
                ((proc.stdout, "stdout"), (proc.stderr, "stderr")))
    try:
        while True:
            try:
                code = proc.wait(timeout=POLL)
                break
            except subprocess.TimeoutExpired:
                out.flush()
                err.flush()
                if context.cancelled:
                    _stop(proc)
                    raise Interrupted(
                        f"{context.job}: command stopped (pid {proc.pid})") from None
        stdout, stderr = out.text(), err.text()
    finally:
        if proc.returncode is None:  # an exception of our own: leave nothing behind
            _stop(proc)
        out.join()
        err.join()
        out.close()
        err.close()
        groups.ended(proc.pid)
    if code != 0:
        raise JobFailure(failure_text(code, stdout, stderr))
    return {"returncode": code, "stdout": stdout, "stderr": stderr}


def _live(context: Context, stream: str) -> livetail.LiveFile:
    return livetail.LiveFile(livetail.live_path(
        context.run_id, context.job, context.attempt, stream))


def failure_text(code: int, stdout: str, stderr: str) -> str:
    """A failed command's error: one summary line (the status and the last lines of
    stderr), then what it wrote, so the output of a faulted job is not lost."""
    tail = stderr.strip().splitlines()[-3:]
    text = f"command exited with status {code}" + ((": " + " | ".join(tail)) if tail else "")
    for name, body in (("stderr", stderr), ("stdout", stdout)):
        if body.strip():
            text += f"\n--- {name} ---\n{body.rstrip()}"
    return text


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group, then SIGKILL the group if anything of it
    lingers after KILL_GRACE (the command itself, or a process it started)."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader, so that only live members count
            if not groups.alive(proc.pid):
                break
            time.sleep(POLL / 5)
        else:
            continue
        break
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)
