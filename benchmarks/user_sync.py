"""The user sync of ``examples/user_sync`` end to end: 100,000 users from the local API
into the local PostgreSQL (fetch, transform, upsert, journal).

    python -m benchmarks.user_sync [--users 100000] [--page-size 1000] [--batch 1000]
                                   [--runs 3] [--url postgresql://postgres@127.0.0.1:5432/test]

The API runs in a process of its own (``examples/user_sync/api.py``); each run syncs into
a fresh PostgreSQL database with a fresh SQLite store, in this process, and is checked
(every user written once, one ``sync_logs`` row). The iterator's ``batch_size`` is a
setting of the graph file, so the run uses a copy of ``sync.yaml`` with ``--batch`` as
its batch size; the page size is the graph's input. Prints the wall time of each run and
their median, then one more run under cProfile (every thread profiled, so slower) split
into where the time goes: seconds spent in each part, summed over threads (the HTTP
requests and the upserts run on executor threads beside the run's own thread, so the
parts add up to more than the wall time).
"""

from __future__ import annotations

import argparse
import os
import pstats
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import yaml

import jobweave as jw
from benchmarks.profile import ThreadProfiles

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "user_sync"
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TOKEN = "bench-token"

PARTS: dict[str, Callable[[str, str], bool]] = {
    "HTTP (requests, on workers)": lambda f, n: f.endswith("components/http.py")
    and n == "request",
    "SQL (statements, on workers)": lambda f, n: f.endswith("components/sql_ops.py")
    and n == "run",
    "templates (edge data, settings)": lambda f, n: f.endswith("expr/__init__.py")
    and n == "render",
    "journal (store commits)": lambda f, n: "jobweave/store/" in f and n == "commit",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_api(users: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(EXAMPLE / "api.py"), "--port", str(port),
                             "--users", str(users), "--token", TOKEN],
                            stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/admin/stats", timeout=1).read()
            return proc, base
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def graph_file(folder: str, batch: int) -> str:
    data = yaml.safe_load((EXAMPLE / "sync.yaml").read_text())
    data["nodes"]["batches"]["settings"]["batch_size"] = batch
    data.pop("triggers", None)
    path = os.path.join(folder, "sync.yaml")
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def fresh_database(admin: str) -> str:
    name = "jw_user_sync_" + secrets.token_hex(4)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_database(admin: str, url: str) -> None:
    from jobweave.components import sql_engines

    sql_engines.dispose_all()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def one_sync(opts: argparse.Namespace, base: str, graph: str,
             profiles: ThreadProfiles | None = None) -> float:
    from examples.user_sync.migrate import migrate

    db = fresh_database(opts.url)
    folder = tempfile.mkdtemp(prefix="jobweave-user-sync-")
    try:
        migrate(db)
        os.environ["JOBWEAVE_SECRET_DB_URL"] = db
        definition = _load(graph)
        data = {"api": base, "page_size": opts.page_size, "incremental": False}
        started = time.perf_counter()
        if profiles is None:
            result = jw.run(definition, store=os.path.join(folder, "s.db"), input=data)
        else:
            with profiles:
                result = jw.run(definition, store=os.path.join(folder, "s.db"), input=data)
        elapsed = time.perf_counter() - started
        assert result.status == "completed", result
        with psycopg.connect(db) as conn:
            users = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM users")
            assert users.fetchone() == (opts.users, opts.users)
            logs = conn.execute("SELECT records_processed, pages FROM sync_logs").fetchall()
            assert logs == [(opts.users, -(-opts.users // opts.page_size))], logs
        return elapsed
    finally:
        drop_database(opts.url, db)


def _load(path: str) -> Any:
    from jobweave.loader.file import load_file

    return load_file(path)


def breakdown(stats: pstats.Stats) -> dict[str, float]:
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    out = dict.fromkeys(PARTS, 0.0)
    for (filename, _, name), (_, _, _, cumulative, _) in table.items():
        for part, match in PARTS.items():
            if match(filename, name):
                out[part] += cumulative
    return out


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--users", type=int, default=100_000)
    args.add_argument("--page-size", type=int, default=1000)
    args.add_argument("--batch", type=int, default=1000)
    args.add_argument("--runs", type=int, default=3)
    args.add_argument("--url", default=ADMIN)
    opts = args.parse_args()
    os.environ["JOBWEAVE_SECRET_API_TOKEN"] = TOKEN
    api, base = start_api(opts.users)
    folder = tempfile.mkdtemp(prefix="jobweave-user-sync-graph-")
    try:
        graph = graph_file(folder, opts.batch)
        times = []
        for i in range(opts.runs):
            times.append(one_sync(opts, base, graph))
            print(f"run {i + 1}: {opts.users:,} users in {times[-1]:.2f}s "
                  f"({opts.users / times[-1]:,.0f} users/s)", flush=True)
        median = statistics.median(times)
        print(f"median of {opts.runs}: {median:.2f}s ({opts.users / median:,.0f} users/s); "
              f"page size {opts.page_size}, batch {opts.batch}")
        profiles = ThreadProfiles(workers=True, clock="wall")
        profiled = one_sync(opts, base, graph, profiles)
        print(f"\nunder cProfile: {profiled:.2f}s wall; seconds per part, over all threads:")
        for part, seconds in breakdown(profiles.stats()).items():
            print(f"  {part:<34} {seconds:7.2f}s")
    finally:
        api.terminate()
        api.wait(10)


if __name__ == "__main__":
    main()
