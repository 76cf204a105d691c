"""Jobs that print and log, for the capture tests (importable by worker processes)."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

log = logging.getLogger("tests.chatty")
_gates: dict[str, threading.Barrier] = {}
_lock = threading.Lock()


def talk(word: str, lines: int = 1, context: Any = None) -> str:
    """Print ``word`` to stdout and stderr and log it as a warning."""
    attempt = context.attempt if context is not None else 0
    for k in range(lines):
        print(f"{word} out {k} attempt {attempt}")
    print(f"{word} err attempt {attempt}", file=sys.stderr)
    log.warning("%s logged attempt %s", word, attempt)
    return word


def talk_then_fail(word: str, fails: int, context: Any) -> str:
    """Talk, then fault the first ``fails`` attempts with an error naming the attempt."""
    talk(word, context=context)
    if context.attempt <= fails:
        raise RuntimeError(f"{word} attempt {context.attempt} went wrong")
    return word


def chorus(word: str, gate: str, parties: int, lines: int = 200) -> str:
    """Print many lines in step with the other jobs of ``gate``, so prints interleave."""
    with _lock:
        barrier = _gates.setdefault(gate, threading.Barrier(parties))
    barrier.wait(timeout=10)
    for k in range(lines):
        print(f"{word}:{k}")
        if k % 20 == 0:
            log.warning("%s:%s", word, k)
    return word


def flood(characters: int) -> int:
    """Print far more than a capture keeps: numbered lines, the last one known."""
    line = "x" * 99 + "\n"
    for _ in range(characters // 100):
        sys.stdout.write(line)
    print("the end")
    return characters
