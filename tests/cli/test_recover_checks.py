"""`jobweave recover`: a changed definition reruns what changed, and a journal file that is
not this run's sealed sequence is refused with one line naming file:line and why."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave, one_error_line
from tests.cli.test_durable import NIGHTLY, calls, completed_nightly, export


def test_plan_and_run_rerun_a_changed_job_no_selector_names(
        cli_proc: Jobweave, target: Callable[..., str], store: str,
        tmp_path: Path, db: SqlStore) -> None:
    cli = cli_proc  # the file changes: each command must load it afresh
    run_id = completed_nightly(target, tmp_path, store)
    export(db, run_id, tmp_path / "run.jsonl")
    # load_orders' parameter changed; the selector names another job
    target(NIGHTLY.replace('label="load_orders"', 'label="load_orders2"'))

    table, as_json, forced = (
        cli("recover", "run.jsonl", "--changed", "name=extract", "--plan"),
        cli("recover", "run.jsonl", "--changed", "name=extract", "--plan", "--json"),
        cli("recover", "run.jsonl", "--force", "--plan", "--json"))
    assert table.returncode == 0, table.stderr
    rows = {c[0]: (c[1], c[2]) for c in (line.strip().split(None, 2)
                                         for line in table.stdout.splitlines())
            if c and c[0] in ("extract", "load_orders", "transform")}
    assert rows == {"extract": ("rerun", "selected as changed"),
                    "load_orders": ("rerun", "definition changed (params)"),
                    "transform": ("rerun", "downstream of extract")}
    assert "0 replay, 3 rerun" in table.stdout
    assert "the definition differs from the journal's" in table.stdout
    plan = json.loads(as_json.stdout)
    assert {j["name"]: j["reason"] for j in plan["jobs"]}["load_orders"] == \
        "definition changed (params)"
    assert plan["digest_matches"] is False
    # --force replays it deliberately, and says so
    reasons = {j["name"]: (j["action"], j["reason"]) for j in json.loads(forced.stdout)["jobs"]}
    assert reasons["load_orders"] == ("replay", "definition changed (params); replayed (--force)")
    assert len(calls(tmp_path)) == 3  # planning ran nothing

    p = cli("recover", "run.jsonl", "--changed", "name=extract", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert sorted(calls(tmp_path)[3:]) == ["extract", "load_orders2", "transform"]


def test_a_journal_file_out_of_seal_run_or_sequence_is_refused_naming_the_line(
        cli_each: Callable[..., list], target: Callable[..., str], store: str, tmp_path: Path,
        db: SqlStore) -> None:
    run_id = completed_nightly(target, tmp_path, store)
    lines = export(db, run_id, tmp_path / "run.jsonl")
    (tmp_path / "calls.txt").unlink()
    other = completed_nightly(target, tmp_path, store)
    theirs = export(db, other, tmp_path / "other.jsonl")
    k = next(i for i, line in enumerate(lines) if '"event":"completed"' in line)
    record = json.loads(lines[k])
    cases = {
        "unsealed.jsonl": json.dumps({key: v for key, v in record.items() if key != "crc"},
                                     separators=(",", ":")) + "\n",
        "zero.jsonl": json.dumps({**record, "crc": "0"}, separators=(",", ":")) + "\n",
        "spaced.jsonl": json.dumps(record) + "\n",
        "spliced.jsonl": theirs[k],
    }
    for name, line in cases.items():
        (tmp_path / name).write_text("".join([*lines[:k], line, *lines[k + 1:]]))
    (tmp_path / "gap.jsonl").write_text("".join(lines[:k] + lines[k + 1:]))
    names = [*cases, "gap.jsonl"]

    done = cli_each(*(["recover", name, "--plan"] for name in names))
    why = {"unsealed.jsonl": "not sealed", "zero.jsonl": "bad seal",
           "spaced.jsonl": "reformatted", "spliced.jsonl": f"belongs to run \"{other}\"",
           "gap.jsonl": "was due"}
    for name, p in zip(names, done, strict=True):
        assert p.returncode == 2, (name, p.stdout, p.stderr)
        error = one_error_line(p.stderr)
        assert f"{name}:{k + 1}: " in error and why[name] in error, error
    assert len(db.list_runs()) == 2  # nothing was recovered
