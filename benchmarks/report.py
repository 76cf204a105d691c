"""What the suite prints: the machine it ran on and the table of results."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.targets import targets_for

COLUMNS = ("workload", "N", "jobs", "build s", "run s", "jobs/s", "peak MiB", "bare s",
           "x bare", "target")
_RIGHT = {"N", "jobs", "build s", "run s", "jobs/s", "peak MiB", "bare s", "x bare"}


def machine_info() -> dict[str, Any]:
    """Where the numbers come from: platform, CPUs, memory, versions, commit."""
    import sqlalchemy

    import jobweave

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model() or platform.processor(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "jobweave": jobweave.__version__,
        "jobweave_path": str(Path(jobweave.__file__).resolve().parent),
        "commit": _commit(Path(jobweave.__file__).resolve().parent),
        "load_average": _load(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("JOBWEAVE_")},
    }


def _load() -> list[float] | None:
    """1, 5 and 15 minute load averages: above the CPU count, the figures are noisy."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _commit(where: Path) -> str | None:
    """The commit of the checkout holding jobweave, with ``+dirty`` for local edits.

    Read-only queries: ``--no-optional-locks`` keeps ``git status`` from rewriting the index.
    """
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where,
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain",
                                "--untracked-files=no"],
                               cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine_lines(info: dict[str, Any]) -> list[str]:
    """The machine in two or three short lines."""
    lines = [
        f"machine: {info['platform']}, {info['processor']}, {info['cpu_count']} CPUs "
        f"({info['cpus_usable']} usable), {info['memory_gib']} GiB RAM",
        f"python {info['python']} ({info['implementation']}), sqlite {info['sqlite']}, "
        f"SQLAlchemy {info['sqlalchemy']}, jobweave {info['jobweave']}"
        + (f" at {info['commit']}" if info["commit"] else ""),
    ]
    if info.get("load_average"):
        load = info["load_average"]
        lines.append(f"load average at start: {load[0]} / {load[1]} / {load[2]} (1/5/15 min)")
    if info["env"]:
        lines.append("env: " + " ".join(f"{k}={v}" for k, v in sorted(info["env"].items())))
    return lines


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.2f}"


def _row(case: dict[str, Any]) -> list[str]:
    judged = [f"{t.text} {t.judge(case)}" for t in targets_for(case)]
    rate = case.get("jobs_per_s")
    ratio = case.get("ratio")
    return [
        case["workload"],
        f"{case['n']:,}",
        f"{case['jobs']:,}",
        _seconds(case.get("build_s")),
        _seconds(case.get("run_s")),
        "-" if rate is None else f"{rate:,.0f}",
        f"{case['peak_mib']:.0f}",
        _seconds(case.get("bare_s")),
        "-" if ratio is None else f"{ratio:.1f}",
        "; ".join(judged),
    ]


def table(cases: list[dict[str, Any]], *, markdown: bool = False) -> str:
    """The results as an aligned plain-text table, or a markdown table."""
    rows = [_row(c) for c in cases]
    if markdown:
        out = ["| " + " | ".join(COLUMNS) + " |",
               "|" + "|".join("---:" if c in _RIGHT else "---" for c in COLUMNS) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max([len(c), *(len(r[k]) for r in rows)]) for k, c in enumerate(COLUMNS)]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        parts = [cell.rjust(w) if col in _RIGHT else cell.ljust(w)
                 for cell, w, col in zip(cells, widths, COLUMNS, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)
