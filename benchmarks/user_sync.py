"""The user sync of ``examples/user_sync`` end to end: 100,000 users from the local API
into the local PostgreSQL (fetch, transform, upsert, journal).

    python -m benchmarks.user_sync [--users 100000] [--page-size 1000] [--batch 1000]
                                   [--runs 3] [--url postgresql://postgres@127.0.0.1:5432/test]

The API runs in a process of its own (``examples/user_sync/api.py``); each run syncs into
a fresh PostgreSQL database with a fresh SQLite store, in this process, and is checked
(every user written once, one ``sync_logs`` row). The iterator's ``batch_size`` is a
setting of the graph file, so the run uses a copy of ``sync.yaml`` with ``--batch`` as
its batch size; the page size is the graph's input. Prints the wall time of each run and
their median, then where the time goes: each part measured on its own, in one thread, on
the same data (the HTTP requests, the graph's own templates, the upserts) and the journal's
size. In a run the requests and the upserts run on executor threads beside the run's
thread, which renders the templates and routes the messages; the journal is written by the
store's writer.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import yaml

import jobweave as jw

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "user_sync"
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TOKEN = "bench-token"

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
    shutil.copy(EXAMPLE / "outcome.py", folder)  # the target of its python node
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


def one_sync(opts: argparse.Namespace, base: str, graph: str) -> tuple[float, float]:
    """One sync into a fresh database: (seconds, megabytes of journal)."""
    from examples.user_sync.migrate import migrate

    db = fresh_database(opts.url)
    folder = tempfile.mkdtemp(prefix="jobweave-user-sync-")
    try:
        migrate(db)
        os.environ["JOBWEAVE_SECRET_DB_URL"] = db
        definition = _load(graph)
        data = {"api": base, "page_size": opts.page_size, "incremental": False}
        store = os.path.join(folder, "s.db")
        started = time.perf_counter()
        result = jw.run(definition, store=store, input=data)
        elapsed = time.perf_counter() - started
        assert result.status == "completed", result
        with psycopg.connect(db) as conn:
            users = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM users")
            assert users.fetchone() == (opts.users, opts.users)
            logs = conn.execute("SELECT records_processed, pages FROM sync_logs").fetchall()
            assert logs == [(opts.users, -(-opts.users // opts.page_size))], logs
        with sqlite3.connect(store) as conn:
            (size,) = conn.execute("SELECT sum(length(data)) FROM jobweave_journal").fetchone()
        conn.close()
        return elapsed, (size or 0) / 1e6
    finally:
        drop_database(opts.url, db)
        shutil.rmtree(folder, ignore_errors=True)


def _load(path: str) -> Any:
    from jobweave.loader.file import load_file

    return load_file(path)


def parts(opts: argparse.Namespace, base: str, graph: str) -> dict[str, float]:
    """Each part of a sync on its own, in this thread, on the same data: the HTTP requests,
    the graph's own templates (page extraction, transform, the upsert's rows) and the
    upserts."""
    import httpx
    from examples.user_sync.migrate import migrate

    from jobweave.components import sql_ops
    from jobweave.expr import compile_template

    out: dict[str, float] = {}
    pages = -(-opts.users // opts.page_size)
    t0 = time.perf_counter()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        bodies = [http.get("/users", params={"page": p, "limit": opts.page_size}).json()
                  for p in range(1, pages + 1)]
    out["HTTP: the requests"] = time.perf_counter() - t0

    data = yaml.safe_load(Path(graph).read_text())
    edge = {e["to"]: e for e in data["edges"] if isinstance(e, dict)}
    page_t = compile_template(edge["page"]["data"])
    transform_t = compile_template(edge["transform"]["data"])
    rows_t = compile_template(data["nodes"]["upsert"]["settings"]["rows"])
    context = {"sync_id": 1, "sync_type": "full", "started": "2026-12-01T00:00:00.000Z",
               "page": 1, "page_size": opts.page_size, "pages": None, "fetched": 0,
               "errors": [], "since": None}
    batches: list[list[dict[str, Any]]] = []
    t0 = time.perf_counter()
    for body in bodies:
        page = page_t.render({"msg": {"body_json": body, "context": context},
                              "input": {}, "secrets": {}})
        items = page["items"]
        for i in range(0, len(items), opts.batch):
            msg = {"batch": items[i:i + opts.batch], "batch_num": i // opts.batch + 1,
                   "context": page["context"]}
            users = transform_t.render({"msg": msg, "input": {}, "secrets": {}})
            batches.append(rows_t.render({"msg": users, "input": {}, "secrets": {}}))
    out["templates: extract, transform, rows"] = time.perf_counter() - t0

    db = fresh_database(opts.url)
    try:
        migrate(db)
        t0 = time.perf_counter()
        for rows in batches:
            sql_ops.run(url=db, pool=2, operation="upsert", table="users", rows=rows,
                        key=["external_id"], batch_size=opts.batch)
        out["SQL: the upserts"] = time.perf_counter() - t0
    finally:
        drop_database(opts.url, db)
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
            seconds, journal_mb = one_sync(opts, base, graph)
            times.append(seconds)
            print(f"run {i + 1}: {opts.users:,} users in {times[-1]:.2f}s "
                  f"({opts.users / times[-1]:,.0f} users/s)", flush=True)
        median = statistics.median(times)
        print(f"median of {opts.runs}: {median:.2f}s ({opts.users / median:,.0f} users/s); "
              f"page size {opts.page_size}, batch {opts.batch}")
        print("\neach part on its own, one thread, the same data:")
        for part, seconds in parts(opts, base, graph).items():
            print(f"  {part:<38} {seconds:7.2f}s")
        print(f"  journal: {journal_mb:,.0f} MB written to the SQLite store per run")
    finally:
        api.terminate()
        api.wait(10)


if __name__ == "__main__":
    main()
