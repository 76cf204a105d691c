"""Journals as JSON Lines: one record a line, each sealed with a checksum.

A line that fails its checksum or does not parse is damage. Damage on the last line
is a write torn by a crash and is dropped (with a note); damage anywhere else is
refused, never silently skipped.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jobweave.errors import JournalError

FORMAT = "jobweave-journal/1"


_SEAL = ',"crc":"'
_SEAL_LEN = len(_SEAL) + 10  # the marker, 8 hex digits, the closing quote and brace


def export_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Each journal record as one JSON line, newline included.

    The line ends with a ``crc`` field: the crc32 of the line's own text without it, so
    checking a line costs no re-encoding.
    """
    for record in records:
        body = json.dumps(record, separators=(",", ":"))
        yield f"{body[:-1]}{_SEAL}{zlib.crc32(body.encode()):08x}\"}}\n"


@dataclass
class JournalFile:
    """Records read back from a JSONL journal, and what was dropped from its tail."""

    records: list[dict[str, Any]]
    dropped: list[str] = field(default_factory=list)


def read_lines(lines: Iterable[str], *, path: str = "<journal>") -> JournalFile:
    """Parse and check journal lines; see the module docstring for damage rules."""
    records: list[dict[str, Any]] = []
    problem: tuple[int, str] | None = None
    last_no = 0
    for no, line in enumerate(lines, 1):
        last_no = no
        if problem is not None:
            raise JournalError(f"{path}:{problem[0]}: {problem[1]}; the journal is damaged "
                               "before its end and cannot be trusted")
        text = line.strip()
        if not text:
            continue
        record, why = _parse(text)
        if record is not None:
            records.append(record)
        else:
            problem = (no, why)
    result = JournalFile(records)
    if problem is not None:
        result.dropped.append(f"{path}:{problem[0]}: dropped the last line ({problem[1]}); "
                              "it was being written when the run stopped")
    if not records:
        raise JournalError(f"{path}: no journal records" + (f" in {last_no} lines"
                                                            if last_no else ""))
    return result


def _parse(text: str) -> tuple[dict[str, Any] | None, str]:
    """A line's record, or None and what is wrong with it."""
    tail = text[-_SEAL_LEN:]
    if tail.startswith(_SEAL) and tail.endswith('"}'):
        body = text[:-_SEAL_LEN] + "}"
        if f"{zlib.crc32(body.encode()):08x}" != tail[len(_SEAL):-2]:
            return None, "checksum mismatch"
    else:
        body = text  # a line written without a seal (by hand, or by another tool)
    try:
        record = json.loads(body)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg})"
    if not isinstance(record, dict) or "event" not in record:
        return None, "not a journal record"
    return record, ""


def read_file(path: str) -> JournalFile:
    """Read a journal exported with ``jobweave journal RUN > file``."""
    try:
        with open(path, encoding="utf-8") as f:
            return read_lines(f, path=path)
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror}") from None
