"""Exported journals: every line sealed and checked, of the journal's run, in its sequence."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import open_store
from jobweave.store.export import export_lines, read_file


def _journal(tmp_path: Path, d: int = 5) -> tuple[str, list[str]]:
    """A finished run's id and its exported lines."""
    store = str(tmp_path / "store.db")
    result = jw.run([jw.job("tests.jobs:echo", value=1, name="a"),
                     jw.job("tests.jobs:echo", value=d, name="d")], store=store)
    assert result.ok
    return result.run_id, list(export_lines(open_store(store).journal(result.run_id)))


def _sealed(body: str) -> str:
    """``body`` (a JSON object's text) sealed as jobweave seals a line."""
    return f'{body[:-1]},"crc":"{zlib.crc32(body.encode()):08x}"}}\n'


def _unsealed(line: str) -> dict[str, object]:
    record = json.loads(line)
    del record["crc"]
    return record  # type: ignore[no-any-return]


def _refused(tmp_path: Path, lines: list[str], name: str = "j.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(lines))
    with pytest.raises(jw.JournalError) as caught:
        read_file(str(path))
    return str(caught.value)


def _completed_line(lines: list[str], node: str) -> int:
    return next(k for k, line in enumerate(lines)
                if '"event":"completed"' in line and f'"node":"{node}"' in line)


def test_an_exported_journal_reads_back_whole(tmp_path: Path) -> None:
    run_id, lines = _journal(tmp_path)
    path = tmp_path / "j.jsonl"
    path.write_text("".join(lines))
    found = read_file(str(path))
    assert found.dropped == [] and len(found.records) == len(lines)
    assert [r["seq"] for r in found.records] == list(range(1, len(lines) + 1))
    assert {r["run"] for r in found.records} == {run_id}
    assert all("crc" not in r for r in found.records)


@pytest.mark.parametrize("how, why", [
    ("missing", "not sealed: the line has no crc"),
    ("zero", 'bad seal: crc "0" is not 8 hex digits'),
    ("spaced", "reformatted after it was sealed"),
    ("spaced-and-changed", "reformatted after it was sealed"),
    ("changed", "checksum mismatch"),
])
def test_a_line_whose_seal_does_not_hold_is_refused_wherever_it_is(
        tmp_path: Path, how: str, why: str) -> None:
    _, lines = _journal(tmp_path)
    k = _completed_line(lines, "d")
    record = _unsealed(lines[k])
    crc = json.loads(lines[k])["crc"]
    if how == "missing":
        bad = json.dumps(record, separators=(",", ":")) + "\n"
    elif how == "zero":
        bad = json.dumps({**record, "crc": "0"}, separators=(",", ":")) + "\n"
    elif how == "spaced":  # json.dumps as it formats by default, the seal kept
        bad = json.dumps({**record, "crc": crc}) + "\n"
    elif how == "spaced-and-changed":
        record["data"] = {**record["data"], "output": 99}  # type: ignore[dict-item]
        bad = json.dumps({**record, "crc": crc}) + "\n"
    else:
        bad = lines[k].replace('"output":5', '"output":6')
    assert bad != lines[k]
    for at_end in (False, True):  # a complete line is never taken for a torn one
        damaged = list(lines)
        damaged[k] = bad
        if at_end:
            damaged = damaged[:k + 1]
        error = _refused(tmp_path, damaged)
        assert f"j.jsonl:{k + 1}: " in error and why in error, error


def test_a_line_spliced_in_from_another_run_is_refused(tmp_path: Path) -> None:
    ours, lines = _journal(tmp_path)
    theirs, other = _journal(tmp_path / "other", d=50)
    k = _completed_line(lines, "d")
    spliced = list(lines)
    spliced[k] = other[_completed_line(other, "d")]
    assert json.loads(spliced[k])["seq"] == json.loads(lines[k])["seq"]  # same place, too
    error = _refused(tmp_path, spliced)
    assert f"j.jsonl:{k + 1}: the line belongs to run \"{theirs}\"" in error
    assert ours in error
    # recovery refuses it too: the other run's output is not replayed as this run's
    with pytest.raises(jw.JournalError, match=f"j.jsonl:{k + 1}:"):
        jw.recovery_plan(str(tmp_path / "j.jsonl"), store=str(tmp_path / "store.db"))


def test_a_line_missing_repeated_or_moved_is_refused(tmp_path: Path) -> None:
    _, lines = _journal(tmp_path)
    k = _completed_line(lines, "d")
    gap = lines[:k] + lines[k + 1:]
    assert f"j.jsonl:{k + 1}: seq {k + 2} where seq {k + 1} was due" in _refused(tmp_path, gap)
    twice = lines[:k + 1] + lines[k:]
    assert f"j.jsonl:{k + 2}: seq {k + 1} where seq {k + 2} was due" in \
        _refused(tmp_path, twice)
    headless = lines[1:]
    assert "j.jsonl:1: the journal starts at seq 2" in _refused(tmp_path, headless)


def test_nan_and_infinity_never_pass_as_json(tmp_path: Path) -> None:
    _, lines = _journal(tmp_path)
    k = _completed_line(lines, "d")
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = json.dumps(_unsealed(lines[k]), separators=(",", ":")).replace(
            '"output":5', f'"output":{constant}')
        damaged = list(lines)
        damaged[k] = _sealed(body)  # a correct seal over a line that is not JSON
        error = _refused(tmp_path, damaged)
        assert f"j.jsonl:{k + 1}: holds {constant}, which is not JSON" in error
    # and none is exported: a record holding one is refused by name
    record = {"run": "r", "seq": 3, "event": "completed", "data": {"output": math.nan}}
    with pytest.raises(jw.JournalError, match=r"record 3 \(completed\) cannot be exported"):
        list(export_lines([record]))


def test_a_bad_byte_names_its_line_and_a_torn_tail_is_still_dropped(tmp_path: Path) -> None:
    _, lines = _journal(tmp_path)
    path = tmp_path / "j.jsonl"
    path.write_bytes("".join(lines[:2]).encode() + b"\xff\xfe\n" + "".join(lines[2:]).encode())
    with pytest.raises(jw.JournalError, match=r"j\.jsonl:3: not UTF-8 text"):
        read_file(str(path))
    path.write_text("".join(lines[:-1]) + lines[-1][:-9])  # cut inside the last seal
    found = read_file(str(path))
    assert len(found.records) == len(lines) - 1
    assert found.dropped == [f"{path}:{len(lines)}: dropped the last line (not valid JSON "
                             "(Unterminated string starting at)); it was being written when "
                             "the run stopped"]
