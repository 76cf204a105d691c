"""A serial flow killed part-way continues where it stopped; inventories are asked once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import open_store
from tests.flows import steps


def test_a_killed_serial_flow_resumes_at_the_element_it_stopped(tmp_path: Path) -> None:
    record, store = tmp_path / "record.txt", tmp_path / "store.db"
    env = {**os.environ, "FLOW_RECORD": str(record)}
    child = subprocess.Popen([sys.executable, "-m", "jobweave", "run",
                              "tests.flows.steps:upgrade_flow", "--store", str(store), "-q"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (record.exists() and len(record.read_text().split()) >= 13):
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "the flow never got to its 7th host"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    if child.stderr:
        child.stderr.close()
    before = record.read_text().split()
    assert len(before) < 40
    run_id = open_store(str(store)).list_runs(limit=1)[0].run_id
    os.environ["FLOW_RECORD"] = str(record)
    try:
        result = jw.resume(run_id, store=str(store))
    finally:
        del os.environ["FLOW_RECORD"]
    assert result.ok, [(j.name, j.error) for j in result.jobs if j.status != "completed"]
    calls = Counter(record.read_text().split())
    expected = [f"{step}[h{k:02d}]" for k in range(1, 21) for step in ("drain", "upgrade")]
    assert sorted(calls) == sorted(expected)
    # what completed before the kill ran once; only the job in flight may run again
    assert sum(n - 1 for n in calls.values()) <= 1
    after = record.read_text().split()[len(before):]
    assert after[0] in (before[-1], expected[len(before)])  # it continues where it stopped
    assert after[-1] == "upgrade[h20]"


def test_an_inventory_is_asked_once_and_resume_uses_its_answer(tmp_path: Path,
                                                              store_url: str) -> None:
    inv = tmp_path / "inventory.txt"
    inv.write_text("a\nb\n")
    os.environ["FLOW_INVENTORY"] = str(inv)
    try:
        f = jw.flow([jw.job(steps.fail_on, name="s", bad="b")], elements=steps.inventory,
                    name="inv")
        first = jw.run(f, store=store_url)
        assert {j.name: j.status for j in first.jobs} == {"s[a]": "completed",
                                                          "s[b]": "faulted"}
        inv.write_text("a\nb\nc\n")  # the inventory changed since: the run keeps its list
        f2 = jw.flow([jw.job(steps.fail_on, name="s", bad="zzz")], elements=steps.inventory,
                     name="inv")
        with pytest.raises(jw.DefinitionChanged):  # the step's parameters did change
            jw.resume(first.run_id, f2, store=store_url)
        again = jw.resume(first.run_id, f, store=store_url)
        assert sorted(j.name for j in again.jobs) == ["s[a]", "s[b]"]
    finally:
        del os.environ["FLOW_INVENTORY"]
