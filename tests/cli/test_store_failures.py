"""The CLI and a store in trouble: a store that fails mid-run exits 3 with one line;
commands that only read never queue behind a writer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from jobweave.store import open_store
from tests.cli.helpers import Jobweave, one_error_line, wait_for

EXIT_STORE = 3


def test_a_store_file_deleted_mid_run_exits_3_with_one_line(tmp_path: Path, store: str) -> None:
    (tmp_path / "flows.py").write_text(textwrap.dedent("""
        import time
        import jobweave as jw

        def nap() -> None:
            time.sleep(0.1)

        flow = jw.schedule([[jw.job(nap, name=f"n{i}")] for i in range(60)])
    """))
    proc = subprocess.Popen([sys.executable, "-m", "jobweave", "run", "flows.py:flow",
                             "--store", store], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        db = open_store(store)
        wait_for(lambda: any(r.status == "running" and (r.counts.get("completed") or 0) >= 2
                             for r in db.list_runs()), what="the run under way")
        os.remove(store)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == EXIT_STORE, err
    started, *rest = err.splitlines()
    assert started.startswith("run ") and started.endswith(" started"), err
    line = one_error_line("\n".join(rest))
    assert line == f"jobweave: error: store file {store} was deleted or replaced while " \
        "this process was using it; what it wrote since is lost", err


def test_list_answers_while_another_process_holds_the_write_lock(cli: Jobweave,
                                                                 store: str) -> None:
    from jobweave.store import close_all, open_store

    open_store(store)  # the store exists (a read-only command would not create it)
    close_all()
    assert cli("list").returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys, time
            conn = sqlite3.connect({store!r}, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            print("holding", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        began = time.monotonic()
        done = cli("list", timeout=40)
        took = time.monotonic() - began
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert done.returncode == 0, done.stderr
    assert took < 8, f"list waited {took:.1f}s behind the writer"
