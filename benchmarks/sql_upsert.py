"""The ``sql`` component's batch upsert into the local PostgreSQL.

``python -m benchmarks.sql_upsert [--rows N] [--batch B] [--url URL]`` writes N rows of
six columns (text, a JSON mapping, a timestamp) into a fresh table, through the
component's executed function as a firing calls it, and prints rows/s, each the median of
``--times`` runs (default 3): into an empty table; over the same rows (every row a
conflict, its values unchanged); and over existing rows that all changed (every row a
conflict, a column's value new each run). The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import time

from jobweave.components import sql_engines, sql_ops

URL = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--rows", type=int, default=100_000)
    args.add_argument("--batch", type=int, default=1000)
    args.add_argument("--url", default=URL)
    args.add_argument("--times", type=int, default=3)
    opts = args.parse_args()
    table = "jw_bench_" + secrets.token_hex(4)
    run = dict(url=opts.url, pool=2)
    sql_ops.run(**run, operation="execute", statement=(
        f"CREATE TABLE {table} (external_id TEXT PRIMARY KEY, email TEXT, name TEXT, "
        "status TEXT, metadata JSONB, updated_at TIMESTAMPTZ)"))
    now = dt.datetime.now(dt.UTC).isoformat()
    rows = [{"external_id": f"u{i}", "email": f"u{i}@example.org", "name": f"User {i}",
             "status": "active" if i % 3 else "inactive",
             "metadata": {"source": "api", "id": i}, "updated_at": now}
            for i in range(opts.rows)]
    try:
        for what in ("into an empty table", "over existing rows, unchanged",
                     "over existing rows, all changed"):
            times = []
            for k in range(opts.times):
                given = rows
                if what.startswith("into"):
                    sql_ops.run(**run, operation="execute", statement=f"TRUNCATE {table}")
                elif what.endswith("changed"):
                    given = [{**r, "status": f"{r['status']}-{k}"} for r in rows]
                started = time.perf_counter()
                out = sql_ops.run(**run, operation="upsert", table=table, rows=given,
                                  key=["external_id"], batch_size=opts.batch)
                times.append(time.perf_counter() - started)
                assert out == {"upserted": opts.rows}
            print(f"upsert {opts.rows:,} rows {what}, batches of {opts.batch:,}: "
                  f"{opts.rows / statistics.median(times):,.0f} rows/s (median of "
                  f"{opts.times}; {', '.join(f'{t:.2f}' for t in times)} s)", flush=True)
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        sql_ops.run(**run, operation="execute", statement=f"DROP TABLE {table}")
        sql_engines.dispose_all()


if __name__ == "__main__":
    main()
