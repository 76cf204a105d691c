"""What the suite prints: the machine it ran on and the table of results."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.targets import targets_for

COLUMNS = ("workload", "N", "jobs", "build s", "compile µs/job", "run s", "jobs/s",
           "peak MiB", "bare s", "x bare", "target")
_RIGHT = {"N", "jobs", "build s", "compile µs/job", "run s", "jobs/s", "peak MiB", "bare s",
          "x bare"}
DURABLE_COLUMNS = ("workload", "N", "start s", "first job s", "resume s", "CLI s",
                   "recover s", "plan s", "done at kill", "ran again", "peak MiB", "target")
_DURABLE_RIGHT = set(DURABLE_COLUMNS) - {"workload", "done at kill", "ran again", "target"}


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
        "speed": machine_speed(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("JOBWEAVE_")},
    }


def machine_speed() -> dict[str, float]:
    """Two yardsticks that put machines of the same name side by side: a pure-Python loop
    (ns an iteration) and a one-row SQLite commit in WAL mode, synchronous NORMAL, as the
    store commits (µs a commit). Each is the best of five tries, so load beside the suite
    moves it less than it moves the workloads."""
    loop = []
    for _ in range(5):
        began = time.perf_counter()
        total = 0
        for i in range(LOOP_ITERATIONS):
            total += i
        loop.append((time.perf_counter() - began) / LOOP_ITERATIONS * 1e9)
    commit = []
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "speed.db", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
            for _ in range(5):
                began = time.perf_counter()
                for k in range(COMMITS):
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("INSERT OR REPLACE INTO t VALUES (?, 'x')", (k,))
                    conn.execute("COMMIT")
                commit.append((time.perf_counter() - began) / COMMITS * 1e6)
        finally:
            conn.close()
    return {"python_loop_ns": round(min(loop), 1), "sqlite_commit_us": round(min(commit), 1)}


LOOP_ITERATIONS = 200_000
COMMITS = 200


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
    speed = info.get("speed")
    if speed:
        lines.append(f"speed: a Python loop iteration {speed['python_loop_ns']} ns, "
                     f"a SQLite commit {speed['sqlite_commit_us']} µs (best of 5)")
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


def _targets(case: dict[str, Any]) -> str:
    return "; ".join(f"{t.text} {t.judge(case)}" for t in targets_for(case))


def _row(case: dict[str, Any]) -> list[str]:
    rate = case.get("jobs_per_s")
    ratio = case.get("ratio")
    return [
        case["workload"],
        f"{case['n']:,}",
        f"{case['jobs']:,}",
        _seconds(case.get("build_s")),
        "-" if case.get("compile_us_per_job") is None else f"{case['compile_us_per_job']:.1f}",
        _seconds(case.get("run_s")),
        "-" if rate is None else f"{rate:,.0f}",
        f"{case['peak_mib']:.0f}",
        _seconds(case.get("bare_s")),
        "-" if ratio is None else f"{ratio:.1f}",
        _targets(case),
    ]


def _durable_row(case: dict[str, Any]) -> list[str]:
    done = case.get("done_before")
    total = case.get("firings", case["n"])  # G4 counts firings, W5 jobs
    first = case.get("first_job_s", case.get("first_firing_s"))
    return [
        case["workload"],
        f"{case['n']:,}",
        _seconds(case.get("startup_s")),
        _seconds(first),
        _seconds(case.get("resume_s")),
        _seconds(case.get("cli_s")),
        _seconds(case.get("recover_s")),
        _seconds(case.get("plan_s")),
        "-" if not done else ", ".join(f"{d / total:.0%}" for d in done),
        "-" if not case.get("ran_again") else ", ".join(map(str, case["ran_again"])),
        "-" if case.get("peak_mib") is None else f"{case['peak_mib']:.0f}",
        _targets(case),
    ]


def is_durable(case: dict[str, Any]) -> bool:
    """Whether a case is one of the durability workloads (W5, W6, G4)."""
    return case.get("kind") == "durable"


def progress_line(case: dict[str, Any]) -> str:
    """The suite's one-line summary of a finished case."""
    if not is_durable(case):
        cpu = case.get("cpu_us_per_job")
        return (f"{case['run_s']:.3f} s (bare {case['bare_s']:.3f} s), "
                f"peak {case['peak_mib']:.0f} MiB"
                + ("" if cpu is None else f", CPU {cpu:.0f} µs/job"))
    if case["workload"] == "W5":
        return (f"first job {_seconds(case['first_job_s'])} s, resumed in "
                f"{_seconds(case['resume_s'])} s (+ {_seconds(case['startup_s'])} s start), "
                f"jobweave resume {_seconds(case.get('cli_s'))} s; finished jobs run again "
                f"{', '.join(map(str, case.get('ran_again', [])))}")
    if case["workload"] == "G4":
        return (f"first firing {_seconds(case['first_firing_s'])} s after spawning "
                f"jobweave resume, done in {_seconds(case['cli_s'])} s (CPU "
                f"{_seconds(case.get('cli_cpu_s'))} s); killed at "
                + ", ".join(f"{d / case['firings']:.0%}" for d in case["done_before"]))
    return (f"recovered in {_seconds(case['recover_s'])} s, plan {_seconds(case['plan_s'])} s "
            f"(+ {_seconds(case['startup_s'])} s start)")


def table(cases: list[dict[str, Any]], *, markdown: bool = False) -> str:
    """The results as aligned plain-text tables, or markdown tables: speed, then durability."""
    speed = [c for c in cases if not is_durable(c)]
    durable = [c for c in cases if is_durable(c)]
    parts = []
    if speed or not durable:
        parts.append(_render(COLUMNS, _RIGHT, [_row(c) for c in speed], markdown))
    if durable:
        parts.append(_render(DURABLE_COLUMNS, _DURABLE_RIGHT,
                             [_durable_row(c) for c in durable], markdown))
    return "\n\n".join(parts)


def _render(columns: tuple[str, ...], right: set[str], rows: list[list[str]],
            markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(columns) + " |",
               "|" + "|".join("---:" if c in right else "---" for c in columns) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max([len(c), *(len(r[k]) for r in rows)]) for k, c in enumerate(columns)]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        parts = [cell.rjust(w) if col in right else cell.ljust(w)
                 for cell, w, col in zip(cells, widths, columns, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)
