"""`jobweave serve`, run as real subprocesses on one store."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jobweave.store import close_all, open_store
from jobweave.store.triggers import TriggerTable
from tests.cli.helpers import one_error_line, wait_for

STARTED = re.compile(r"trigger (\S+): fire (\S+) started run (\S+)")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "defs.py").write_text(textwrap.dedent("""
        import jobweave as jw

        def hello():
            return "hi"

        three = jw.batch(jw.job(hello, name="hello"), name="three",
                         triggers=[jw.every("1s", max_fires=3)])
        each = jw.flow([jw.job(hello, name="hello")], elements=["x", "y"], name="each",
                       triggers=[jw.every("1s", overlap="allow")])
        plain = jw.batch(jw.job(hello), name="plain")
    """))
    (tmp_path / "nightly.yaml").write_text(textwrap.dedent("""
        name: nightly
        triggers:
          - cron: "0 2 * * *"
            tz: Europe/Warsaw
        jobs:
          - shell: "true"
    """))
    return tmp_path


def _serve(folder: Path, *targets: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "jobweave", "serve", *targets, "--store",
                             str(folder / "s.db")], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> tuple[str, float]:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    # read through the file objects: a line read before stays in their buffers
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    return out, time.monotonic() - began


def test_serve_starts_a_run_each_second_until_max_fires(folder: Path) -> None:
    proc = _serve(folder, "defs.py:three")
    out, err = proc.communicate(timeout=30)  # every trigger done: serve exits by itself
    assert proc.returncode == 0, err
    started = STARTED.findall(out)
    assert len(started) == 3, out
    fires = [f for _, f, _ in started]
    assert len(set(fires)) == 3 and all(f.endswith(".000Z") for f in fires)
    store = open_store(str(folder / "s.db"))
    runs = store.list_runs(limit=10)
    assert sorted(r.run_id for r in runs) == sorted(r for _, _, r in started)
    assert {(r.name, r.status) for r in runs} == {("three", "completed")}
    (row,) = TriggerTable(store).all()
    assert row.fires == 3 and row.lease_owner is None  # released on the way out
    close_all()


def test_two_serve_processes_fire_each_fire_once(folder: Path) -> None:
    procs = [_serve(folder, "defs.py:each") for _ in range(2)]
    firsts = [p.stdout.readline() if p.stdout else "" for p in procs]
    assert all("serving 1 trigger(s)" in line for line in firsts), firsts
    store = open_store(str(folder / "s.db"))
    wait_for(lambda: TriggerTable(store).all()[0].fires >= 4, what="four fires")
    outs = [_stop(p)[0] for p in procs]
    started = [m for out in outs for m in STARTED.findall(out)]
    fires = [f for _, f, _ in started]
    assert len(fires) >= 3, outs
    assert len(set(fires)) == len(fires), outs  # no instant fired twice
    runs = store.list_runs(limit=100)
    assert sorted(r.run_id for r in runs) == sorted(r for _, _, r in started)
    (row,) = TriggerTable(store).all()
    assert row.fires == len(runs)
    close_all()


def test_sigterm_stops_serve_promptly_with_exit_code_0(folder: Path) -> None:
    proc = _serve(folder, "nightly.yaml")
    first = proc.stdout.readline() if proc.stdout else ""
    assert "serving 1 trigger(s)" in first
    store = open_store(str(folder / "s.db"))
    wait_for(lambda: TriggerTable(store).all()[0].last_fire, what="the first round")
    out, took = _stop(proc)
    assert took < 5, took  # nothing running: it exits at once (well under a second idle)
    assert "stopping: no new fires" in out
    (row,) = TriggerTable(store).all()
    assert row.lease_owner is None and row.fires == 0 and row.last_fire is not None
    close_all()


def test_a_definition_without_triggers_is_one_error_line_and_exit_2(folder: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "jobweave", "serve", "defs.py:plain",
                           "--store", str(folder / "s.db")], cwd=folder,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "carries no triggers" in one_error_line(done.stderr)


def test_a_run_still_going_at_sigterm_is_left_resumable(folder: Path) -> None:
    (folder / "long.py").write_text(textwrap.dedent("""
        import jobweave as jw
        from tests import jobs

        long = jw.batch(jw.job(jobs.hang, seconds=4.0, name="hang"), name="long",
                        triggers=[jw.every("1h", emit_on_start=True)])
    """))
    db = str(folder / "s.db")
    # --renew 0.5: the loop looks up at least twice a second, so a stop seen late on a
    # loaded machine still leaves the 4 s job running when serve closes
    proc = subprocess.Popen([sys.executable, "-m", "jobweave", "serve", "long.py:long",
                             "--store", db, "--grace", "0.2", "--renew", "0.5"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = open_store(db)
    run_id = wait_for(lambda: [r.run_id for r in store.list_runs() if r.status == "running"
                               and r.counts.get("running")],  # its job has started
                      what="the run's job to start")[0]
    out, took = _stop(proc)
    assert took < 5 and f"run {run_id} still running" in out
    assert store.get_run(run_id).status == "crashed"  # its owner is gone
    done = subprocess.run([sys.executable, "-m", "jobweave", "resume", run_id, "--store", db],
                          cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert store.get_run(run_id).status == "completed"
    close_all()


def test_the_served_example_validates_and_lists_its_fire_times() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    checked = subprocess.run([sys.executable, "-m", "jobweave", "validate", "served.yaml"],
                             cwd=examples, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and checked.stdout.startswith("ok: 2 jobs"), checked
    listed = subprocess.run([sys.executable, "-m", "jobweave", "triggers", "served.yaml",
                             "--from", "2026-10-23T00:00:00Z", "--count", "2"],
                            cwd=examples, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "2026-10-23T00:00:00Z" in listed.stdout  # Friday 02:00+02:00
    assert "2026-10-26T01:00:00Z" in listed.stdout  # Monday 02:00+01:00, after the change
    assert "2026-10-24T04:00:00Z" in listed.stdout  # Saturday 06:00+02:00
