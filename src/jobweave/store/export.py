"""Journals as JSON Lines: one record a line, each sealed with a checksum.

Every line is checked, whatever its formatting: it must parse as JSON (no ``NaN`` or
``Infinity``), end with its seal (``,"crc":"<8 hex digits>"}``, exactly as written: a
reformatted line fails), match the seal's checksum, belong to the journal's run (the
run of its first line) and carry the next sequence number (1, 2, 3, ...). A last line
that does not parse is a write torn by a crash and is dropped (with a note); any other
problem, on any line, is refused with :class:`JournalError` naming ``file:line`` and why.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jobweave.errors import JournalError

FORMAT = "jobweave-journal/1"


_SEAL = ',"crc":"'
_SEAL_LEN = len(_SEAL) + 10  # the marker, 8 hex digits, the closing quote and brace
_CRC = re.compile(r"[0-9a-f]{8}")


def export_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Each journal record as one JSON line, newline included.

    The line ends with a ``crc`` field: the crc32 of the line's own text without it, so
    checking a line costs no re-encoding. Raises :class:`JournalError` for a record
    holding a value JSON cannot carry (``NaN``, ``Infinity``), which jobweave never
    writes but an older version might have.
    """
    for record in records:
        try:
            body = json.dumps(record, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:
            raise JournalError(f"run {record.get('run')}: journal record {record.get('seq')} "
                               f"({record.get('event')}) cannot be exported: {exc}") from None
        yield f"{body[:-1]}{_SEAL}{zlib.crc32(body.encode()):08x}\"}}\n"


@dataclass
class JournalFile:
    """Records read back from a JSONL journal, and what was dropped from its tail."""

    records: list[dict[str, Any]]
    dropped: list[str] = field(default_factory=list)


class _Torn(Exception):
    """The line is not (complete) JSON: a torn write if it is the last one."""


class _Refused(Exception):
    """The line is complete, but not a sealed record of this journal in its place."""


def read_lines(lines: Iterable[str | bytes], *, path: str = "<journal>") -> JournalFile:
    """Parse and check journal lines (text, or UTF-8 bytes); see the module docstring."""
    records: list[dict[str, Any]] = []
    torn: tuple[int, str] | None = None
    last_no = 0
    run: str | None = None
    for no, line in enumerate(lines, 1):
        last_no = no
        if torn is not None:
            raise JournalError(f"{path}:{torn[0]}: {torn[1]}; the journal is damaged "
                               "before its end and cannot be trusted")
        try:
            text = (line.decode() if isinstance(line, bytes) else line).strip()
            if not text:
                continue
            record = _parse(text)
            if run is None:
                run = _first(record)
            else:
                _in_place(record, run, records[-1]["seq"] + 1)
        except UnicodeDecodeError:
            torn = (no, "not UTF-8 text")
            continue
        except _Torn as exc:
            torn = (no, str(exc))
            continue
        except _Refused as exc:
            raise JournalError(f"{path}:{no}: {exc}; the journal cannot be trusted") from None
        records.append(record)
    result = JournalFile(records)
    if torn is not None:
        result.dropped.append(f"{path}:{torn[0]}: dropped the last line ({torn[1]}); "
                              "it was being written when the run stopped")
    if not records:
        raise JournalError(f"{path}: no journal records" + (f" in {last_no} lines"
                                                            if last_no else ""))
    return result


def _no_constant(name: str) -> Any:
    raise _Refused(f"holds {name}, which is not JSON")


_decode = json.JSONDecoder(parse_constant=_no_constant).decode
"""``json.loads`` refusing NaN and Infinity, without building a decoder per line."""


def _parse(text: str) -> dict[str, Any]:
    """A line's record without its seal, once the seal checked out."""
    try:
        record = _decode(text)
    except json.JSONDecodeError as exc:
        raise _Torn(f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise _Refused("nested too deeply to read") from None
    if type(record) is not dict or "event" not in record:
        raise _Refused("not a journal record")
    crc = record.pop("crc", None)
    # the common case first: the line ends with its seal, and the checksum holds
    if (text[-_SEAL_LEN:-10] == _SEAL and text[-10:-2] == crc and text[-2:] == '"}'
            and f"{zlib.crc32((text[:-_SEAL_LEN] + '}').encode()):08x}" == crc):
        return record
    if crc is None:
        raise _Refused("not sealed: the line has no crc")
    if type(crc) is not str or not _CRC.fullmatch(crc):
        raise _Refused(f"bad seal: crc {json.dumps(crc)} is not 8 hex digits")
    seal = f'{_SEAL}{crc}"}}'
    if not text.endswith(seal):
        # the checksum covers the text as written: a re-encoded line cannot be checked
        raise _Refused("the line was reformatted after it was sealed (it must end with "
                       f"{seal}, exactly as exported)")
    raise _Refused("checksum mismatch: the line was changed after it was sealed")


def _first(record: dict[str, Any]) -> str:
    """The journal's run, from its first record (which must be its first, seq 1)."""
    run = record.get("run")
    if not isinstance(run, str) or not run:
        raise _Refused("the record names no run")
    if record.get("seq") != 1 or type(record.get("seq")) is not int:
        raise _Refused(f"the journal starts at seq {json.dumps(record.get('seq'))}, "
                       "not at its first record (seq 1)")
    return run


def _in_place(record: dict[str, Any], run: str, due: int) -> None:
    """Refuse a record of another run, or one out of its sequence."""
    other = record.get("run")
    if other != run:
        raise _Refused(f"the line belongs to run {json.dumps(other)}, not to this journal's "
                       f"run {run} (spliced in from another journal?)")
    seq = record.get("seq")
    if type(seq) is not int or seq != due:
        raise _Refused(f"seq {json.dumps(seq)} where seq {due} was due (a line is missing, "
                       "repeated or out of order)")


def read_file(path: str) -> JournalFile:
    """Read a journal exported with ``jobweave journal RUN > file``."""
    try:
        with open(path, "rb") as f:  # decoded line by line, so a bad byte names its line
            return read_lines(f, path=path)
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror}") from None
