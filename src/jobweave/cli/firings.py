"""``jobweave show RUN --node NAME``: one graph node's firings, from the run's journal.

Each firing is one row: its id, when it finished, the message it took and what it sent
on (one-line JSON, cut to fit), and its error. ``--json`` prints the whole records. The
firings a recovery took over from the run it recovered (not fired in this one) keep the
time they had there; their records say ``replayed_from`` that run.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from jobweave.cli.app import EXIT_OK, CommandError
from jobweave.cli.render import error_line, out_console, short_moment
from jobweave.store import RunRecord, SqlStore

VALUE_WIDTH = 40
"""Characters of a message shown in a cell."""


def show_firings(db: SqlStore, record: RunRecord, node: str, *, json_out: bool) -> int:
    """Print ``node``'s firings in run ``record``; an unknown node is a usage error."""
    if record.kind != "graph":
        raise CommandError(f"run {record.run_id} is a {record.kind} run, not a graph: --node "
                           "lists a graph node's firings (--job shows a job)")
    if not db.find_jobs(record.run_id, name=node):
        names = ", ".join(j.name for j in db.find_jobs(record.run_id, limit=20))
        raise CommandError(f"run {record.run_id} has no node named {node!r} (it has: {names})")
    rows = [(ts, json.loads(data)) for ts, _, data in db.firings(record.run_id, node)]
    if json_out:
        sys.stdout.write(json.dumps([{"ts": ts, "node": node, **data} for ts, data in rows])
                         + "\n")
        return EXIT_OK
    out = out_console()
    if not rows:
        out.print(f"node {node!r} of run {record.run_id} has not fired", markup=False)
        return EXIT_OK
    out.print(firings_table(rows))
    taken = sum(1 for _, data in rows if "replayed_from" in data)
    note = (f" ({taken} taken over from {record.parent_run}, not fired in this run)"
            if taken else "")
    out.print(f"{len(rows)} firing{'' if len(rows) == 1 else 's'} of node {node!r}{note}",
              style="dim", markup=False)
    return EXIT_OK


def firings_table(rows: list[tuple[float, dict[str, Any]]]) -> Table:
    """One row per firing: id, time, input, outputs and error."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("time", no_wrap=True)
    table.add_column("input", no_wrap=True)
    table.add_column("outputs", no_wrap=True)
    errors = any("error" in data for _, data in rows)
    if errors:
        table.add_column("error", no_wrap=True, overflow="ellipsis", max_width=50)
    for ts, data in rows:
        cells: list[str | Text] = [data.get("id", ""), short_moment(ts),
                                   Text(short(data.get("in"))), Text(_outputs(data.get("out")))]
        if errors:
            cells.append(Text(error_line(data.get("error")), style="red"))
        table.add_row(*cells)
    return table


def _outputs(out: Any) -> str:
    """``[[port, msg], ...]`` → ``port: msg; port: msg`` (cut to fit)."""
    if not out:
        return "-" if out is None else "(none)"
    return short("; ".join(f"{port}: {json.dumps(msg, sort_keys=True)}" for port, msg in out),
                 json_ok=False)


def short(value: Any, *, json_ok: bool = True, width: int = VALUE_WIDTH) -> str:
    """A value as one line of JSON, at most ``width`` characters."""
    text = json.dumps(value, sort_keys=True, default=str) if json_ok else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
