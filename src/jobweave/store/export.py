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


def _crc(record: dict[str, Any]) -> str:
    body = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return f"{zlib.crc32(body.encode()):08x}"


def export_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Each journal record as one JSON line (with ``crc``), newline included."""
    for record in records:
        sealed = dict(record)
        sealed["crc"] = _crc(record)
        yield json.dumps(sealed, separators=(",", ":")) + "\n"


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
        why = _check(text)
        if why is None:
            record = json.loads(text)
            record.pop("crc", None)
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


def _check(text: str) -> str | None:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg})"
    if not isinstance(record, dict) or "event" not in record:
        return "not a journal record"
    crc = record.pop("crc", None)
    if crc is not None and crc != _crc(record):
        return "checksum mismatch"
    return None


def read_file(path: str) -> JournalFile:
    """Read a journal exported with ``jobweave journal RUN > file``."""
    try:
        with open(path, encoding="utf-8") as f:
            return read_lines(f, path=path)
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror}") from None
