"""`kind: schedule` files: batches run in order, failures stop or pass on, options reach the run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jobweave as jw
from jobweave.loader import load_file, load_target
from jobweave.model import Batch, Schedule
from jobweave.store import open_store
from tests import jobs

# Batch 1 is slow and batch 2 fast: only the batch order puts "one" before "two" in the log.
ORDERED = """\
kind: schedule
name: ordered
concurrency: 2
batches:
  - name: first
    jobs:
      - {name: one-a, shell: 'sleep 0.3; echo one >> log.txt', cwd: .}
      - {name: one-b, shell: 'sleep 0.2; echo one >> log.txt', cwd: .}
      - {name: seed, target: 'tests.jobs:add', params: {a: 1, b: 2}}
  - jobs:
      - {name: two, shell: 'echo two >> log.txt', cwd: ., after: one-a}
      - name: sum
        target: tests.jobs:total
        params: {parts: {output: [seed, three]}}
      - {name: three, target: 'tests.jobs:add', params: {a: 1, b: 2}}
  - name: last
    jobs:
      - {name: four, shell: 'echo four >> log.txt', cwd: .}
"""


def _write(tmp_path: Path, text: str, name: str = "schedule.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_file_becomes_a_schedule(tmp_path: Path) -> None:
    loaded = load_file(str(_write(tmp_path, ORDERED)))
    assert isinstance(loaded, Schedule)
    assert (loaded.name, loaded.concurrency) == ("ordered", 2)
    assert [b.name for b in loaded.batches] == ["first", None, "last"]
    assert [[j.name for j in b] for b in loaded.batches] == [
        ["one-a", "one-b", "seed"], ["two", "sum", "three"], ["four"]]
    first, second, _ = loaded.batches
    # references into an earlier batch and within the same batch are the very job objects
    assert second.jobs[0].after == (first.jobs[0],)
    parts = second.jobs[1].params["parts"]
    assert parts.many and parts.jobs == (first.jobs[2], second.jobs[2])


def test_batches_run_in_order(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    result = jw.run(load_file(str(_write(tmp_path, ORDERED))), store=store)
    assert result.ok, result.jobs
    assert result.name == "ordered"
    assert (tmp_path / "log.txt").read_text().split() == ["one", "one", "two", "four"]
    assert result.outputs["sum"] == 6
    # the file's concurrency is the run's, since the caller gave none
    opened = open_store(store)
    try:
        assert opened.get_run(result.run_id).options["concurrency"] == 2
    finally:
        opened.close()


def test_concurrency_limits_the_run(tmp_path: Path) -> None:
    key = f"schedule-{tmp_path.name}"
    counted = f"{{target: 'tests.jobs:counted', params: {{key: {key}, seconds: 0.1}}}}"
    path = _write(tmp_path, f"""\
        kind: schedule
        concurrency: 2
        batches:
          - jobs: [{", ".join([counted] * 5)}]
          - jobs: [{counted}]
        """)
    result = jw.run(load_file(str(path)), store=str(tmp_path / "s.db"))
    assert result.ok
    assert result.counts() == {"completed": 6}
    assert 1 <= jobs.MOST[key] <= 2


def test_caller_concurrency_wins(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    result = jw.run(load_file(str(_write(tmp_path, ORDERED))), store=store, concurrency=5)
    opened = open_store(store)
    try:
        assert opened.get_run(result.run_id).options["concurrency"] == 5
    finally:
        opened.close()


FAILING = """\
kind: schedule
batches:
  - continue_on_failure: {go_on}
    jobs:
      - {{name: fine, shell: 'true'}}
      - {{name: broken, shell: 'exit 3'}}
  - jobs:
      - {{name: later, shell: 'echo later >> log.txt', cwd: .}}
      - {{name: waits-for-fine, shell: 'true', after: fine}}
"""


def test_fault_stops_the_schedule(tmp_path: Path) -> None:
    path = _write(tmp_path, FAILING.format(go_on="false"))
    result = jw.run(load_file(str(path)), store=str(tmp_path / "s.db"))
    assert result.exit_code == 1
    assert result.job("fine").status == "completed"
    assert result.job("broken").status == "faulted"
    assert result.job("later").status == "skipped"
    assert result.job("waits-for-fine").status == "skipped"
    assert not (tmp_path / "log.txt").exists()


def test_continue_on_failure_lets_the_next_batch_run(tmp_path: Path) -> None:
    path = _write(tmp_path, FAILING.format(go_on="true"))
    loaded = load_file(str(path))
    assert isinstance(loaded, Schedule) and loaded.batches[0].continue_on_failure
    result = jw.run(loaded, store=str(tmp_path / "s.db"))
    assert result.exit_code == 1  # the faulted job still fails the run
    assert result.job("broken").status == "faulted"
    assert result.job("later").status == "completed"
    assert result.job("waits-for-fine").status == "completed"
    assert (tmp_path / "log.txt").read_text() == "later\n"


def test_batch_name_stands_for_its_jobs(tmp_path: Path) -> None:
    # waiting for a batch by name: with continue_on_failure the next batch starts,
    # but a job that names the failed batch is still skipped
    path = _write(tmp_path, """\
        kind: schedule
        batches:
          - name: setup
            continue_on_failure: true
            jobs: [{shell: 'true', name: ok}, {shell: 'false', name: bad}]
          - jobs:
              - {shell: 'true', name: independent}
              - {shell: 'true', name: needs-setup, after: setup}
        """)
    loaded = load_file(str(path))
    assert isinstance(loaded, Schedule)
    assert [j.name for j in loaded.batches[1].jobs[1].after] == ["ok", "bad"]
    result = jw.run(loaded, store=str(tmp_path / "s.db"))
    assert result.job("independent").status == "completed"
    assert result.job("needs-setup").status == "skipped"


def test_json_schedule_and_load_target(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
        {"kind": "schedule", "name": "from-json",
         "batches": [{"jobs": [{"name": "a", "target": "tests.jobs:echo",
                                "params": {"value": 1}}]},
                     {"jobs": [{"name": "b", "target": "tests.jobs:echo",
                                "params": {"value": {"output": "a"}}}]}]}
        """, name="run.json")
    definition, source = load_target("run.json", cwd=str(tmp_path))
    assert source == str(path)
    assert isinstance(definition, Schedule) and definition.name == "from-json"
    result = jw.run(definition, store=str(tmp_path / "s.db"))
    assert result.outputs == {"a": 1, "b": 1}


def test_batch_file_carries_its_options(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: n\nconcurrency: 3\njobs: [{shell: 'true'}]\n", "b.yaml")
    loaded = load_file(str(path))
    assert isinstance(loaded, Batch)
    assert (loaded.name, loaded.concurrency, loaded.continue_on_failure) == ("n", 3, False)


RESUMABLE = """\
kind: schedule
name: resumable
batches:
  - jobs:
      - {name: first, target: 'tests.jobs:add', params: {a: 1, b: 2}}
  - jobs:
      - {name: gate, shell: 'test -e ok'}
"""


def test_file_schedule_is_jw_schedule_and_submit_resumes(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    loaded = load_file(str(_write(tmp_path, RESUMABLE)))
    assert type(loaded) is jw.Schedule and type(jw.schedule([jw.sleep(0)])) is jw.Schedule
    assert jw.Schedule is Schedule  # one class, whichever way it is named or made
    failed = loaded.submit(store=store)
    assert failed.status == "failed" and loaded.run_id == failed.run_id
    (tmp_path / "ok").write_text("")
    # a fresh load of the same file finds the unfinished run in the store and resumes it
    again = load_file(str(tmp_path / "schedule.yaml"))
    done = again.submit(store=store)
    assert done.ok and done.run_id == failed.run_id
    assert done.job("first").attempts == 1  # kept from the first run, not run again


def test_a_loaded_schedule_submits_in_a_process_that_used_nothing_else(tmp_path: Path) -> None:
    """jobweave's API loads on first use: a schedule from a file is its first use."""
    import subprocess
    import sys

    (tmp_path / "s.yaml").write_text(ORDERED)
    script = ("from jobweave.loader import load_file\n"
              f"r = load_file('s.yaml').submit(store='sqlite:///{tmp_path}/s.db')\n"
              "print(r.status, r.exit_code)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["completed", "0"]
    assert open_store(f"sqlite:///{tmp_path}/s.db").list_runs()[0].name == "ordered"
