"""``python -m benchmarks.failover``: how soon a serving engine takes over a run whose
owner died or froze, on PostgreSQL.

A ``jobweave serve --lease L`` engine (no triggers: it only takes over) and a ``jobweave
run`` of a chain of 0.2 s jobs share a fresh PostgreSQL database. Once a few jobs
completed, the ``run`` process is SIGKILLed (a dead pid on this host ends its lease at
once; ``kill-unreaped``: its zombie is not reaped, as an owner on another machine, so the
lease's age tells) or SIGSTOPped (a frozen owner: the lease's age tells), and the time
until the engine owns the run is measured. ``--repeat`` times each; medians and maxima.

Prints one JSON document. Speed is not asserted anywhere: this only measures.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg

from jobweave.store import close_all, open_store

ADMIN = os.environ.get("JOBWEAVE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _poll(predicate: Any, timeout: float, every: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("gave up waiting")


def _once(how: str, lease: float, folder: Path, url: str) -> float:
    env = dict(os.environ, JOBWEAVE_LEASE=str(lease))
    env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")])
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder,
             "env": env}
    with open(folder / "engine.log", "ab") as log:
        engine = subprocess.Popen([sys.executable, "-m", "jobweave", "serve", "--store", url,
                                   "--lease", str(lease)], stdout=log, stderr=log, cwd=folder,
                                  env=env)
    owner = f"{socket.gethostname()}:{engine.pid}"
    store = open_store(url, lease=lease)
    known = {r.run_id for r in store.list_runs(limit=1000)}
    run = subprocess.Popen([sys.executable, "-m", "jobweave", "run", "defs.py:chain",
                            "--store", url, "--no-progress", "--quiet"], **quiet)  # type: ignore[call-overload]
    try:
        run_id = _poll(lambda: [r.run_id for r in store.list_runs(limit=1000)
                                if r.run_id not in known], 60)[0]
        _poll(lambda: store.get_run(run_id).counts.get("completed", 0) >= 3, 60)
        run.send_signal(signal.SIGSTOP if how == "freeze" else signal.SIGKILL)
        began = time.monotonic()
        if how == "kill":  # reaped at once, as a shell would: the dead pid is seen at once
            run.wait()
        try:
            _poll(lambda: store.get_run(run_id, counts=False).owner == owner, 10 * lease)
        except TimeoutError:
            raise TimeoutError((folder / "engine.log").read_text()[-2000:]) from None
        took = time.monotonic() - began
        _poll(lambda: store.get_run(run_id, counts=False).final, 120, every=0.1)
        return took
    finally:
        for p in (run, engine):
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
            p.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lease", type=float, action="append")
    args = parser.parse_args()
    leases = args.lease or [2.0]
    name = "jobweave_b_" + secrets.token_hex(4)
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN.rsplit('/', 1)[0]}/{name}"
    out: dict[str, Any] = {"load": os.getloadavg()[0], "repeat": args.repeat, "cases": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "defs.py").write_text(textwrap.dedent(f"""
                from tests.scale.jobs import chain

                chain = chain({str(folder / "side.log")!r}, jobs=40, seconds=0.2)
            """))
            for lease in leases:
                for how in ("kill", "kill-unreaped", "freeze"):
                    times = [_once(how, lease, folder, url) for _ in range(args.repeat)]
                    out["cases"].append({
                        "owner": how, "lease": lease,
                        "median_s": round(statistics.median(times), 3),
                        "max_s": round(max(times), 3),
                        "all_s": [round(t, 3) for t in times]})
    finally:
        close_all()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
