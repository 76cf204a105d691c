"""The suite: run every case in a fresh process, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.merge import merge
from benchmarks.report import is_durable, machine_info, machine_lines, progress_line, table
from benchmarks.targets import TARGETS
from benchmarks.workloads import AnyWorkload, select

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: children run from here so ``benchmarks`` is importable."""
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"
DEFAULT_REPEAT = 3
CASE_TIMEOUT_S = 1800.0
"""A case still running after this long is stopped and reported as failed."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time jobweave runs (journaling on, SQLite, thread executor) against a "
                    "bare ThreadPoolExecutor; print a table and write JSON.")
    p.add_argument("--quick", action="store_true",
                   help="smallest size of each workload, 1 repeat: a smoke run")
    p.add_argument("--only", metavar="W1,W4",
                   help="workloads to run: W1, W1pg, W1+sum (or W1S), W2, W3, W4, W7, W8, W9, W10, "
                        "W11, G1, G2, G3, W5, W6, G4")
    p.add_argument("--repeat", type=int, metavar="R",
                   help=f"repetitions per case, median reported (default {DEFAULT_REPEAT}, "
                        "1 with --quick)")
    p.add_argument("--n", metavar="N[,N...]",
                   help="sizes to run instead of each workload's own (W4 keeps 200 jobs)")
    p.add_argument("--markdown", action="store_true", help="print a markdown table")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, metavar="FILE",
                   help="where to write the JSON results (default benchmarks/results/"
                        "latest.json)")
    p.add_argument("--fail-on-miss", action="store_true",
                   help="exit 1 when a target is missed (misses are reported either way)")
    p.add_argument("--show", type=Path, nargs="+", metavar="FILE",
                   help="print the table of saved results files instead of running; with "
                        "several, each figure is the median over them")
    p.add_argument("--profile", metavar="WORKLOAD",
                   help="instead of the suite, profile one workload (see benchmarks.profile); "
                        "the size is the first --n value")
    args = p.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        p.error("--repeat must be at least 1")
    try:
        args.workloads = select(args.only)
        args.sizes = _sizes(args.n)
        for w in args.workloads:
            bad = [n for n in args.sizes or () if n % w.size_step and not w.fixed_size]
            if bad:
                raise ValueError(f"{w.key} needs sizes that are multiples of {w.size_step}, "
                                 f"got {bad[0]}")
    except ValueError as exc:
        p.error(str(exc))
    if args.repeat is None:
        args.repeat = 1 if args.quick else DEFAULT_REPEAT
    return args


def _sizes(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--n takes whole numbers separated by commas, got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise ValueError("--n sizes must be at least 1")
    return sizes


def cases(workload: AnyWorkload, *, quick: bool, sizes: tuple[int, ...] | None) -> tuple[int, ...]:
    """The sizes one workload runs at."""
    if workload.fixed_size:
        return workload.sizes
    if sizes is not None:
        return sizes
    return workload.quick_sizes if quick else workload.sizes


def run_case(key: str, n: int, repeat: int) -> dict[str, Any]:
    """Measure one case in a fresh interpreter; raise RuntimeError if it fails."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.measure", key, str(n), "--repeat", str(repeat)]
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"still running after {CASE_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"exit status {done.returncode}\n{tail}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _progress(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _print(info: dict[str, Any], repeat: int, results: list[dict[str, Any]],
           judged: list[dict[str, Any]], *, markdown: bool) -> dict[str, int]:
    """Print the machine, the table and the target tally; return the tally."""
    print("\n".join(machine_lines(info)))
    print(f"median of {repeat} run(s) per case")
    if not all(is_durable(c) for c in results):
        print("run s = inside jw.run, build s = making the jobs; x bare = jobweave / bare "
              "ThreadPoolExecutor (G1-G3: / the same message flow in plain Python; jobs = "
              "firings)")
    if any(is_durable(c) for c in results):
        print("W5/W6, each timed in a fresh process: start s = process start + imports; "
              "first job s / resume s = from calling jw.resume to the first newly started "
              "job / to the end; CLI s = `jobweave resume RUN` as a subprocess, spawn to "
              "exit; recover s = jw.recover of the JSONL journal; plan s = "
              "jw.recovery_plan alone")
    if any(c["workload"] == "G4" for c in results):
        print("G4: first job s = from spawning `jobweave resume RUN` to its first new "
              "firing committed; CLI s = spawn to exit; done at kill = share of the firings")
    print()
    print(table(results, markdown=markdown))
    print()
    counts = {s: sum(1 for t in judged if t["status"] == s) for s in ("PASS", "MISS")}
    print(f"targets: {counts['PASS']} PASS, {counts['MISS']} MISS, "
          f"{len(judged) - counts['PASS'] - counts['MISS']} not run")
    return counts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        from benchmarks.profile import main as profile_main

        extra = ["--n", str(args.sizes[0])] if args.sizes else []
        return profile_main([args.profile, *extra])

    if args.show:
        try:
            shown = merge([json.loads(path.read_text()) for path in args.show])
        except (OSError, ValueError, KeyError) as exc:
            print(f"cannot read saved results: {exc}", file=sys.stderr)
            return 2
        saved = [c for w in shown["workloads"].values() for c in w["cases"]]
        runs = shown["options"].get("runs", 1)
        if runs > 1:
            print(f"medians over {runs} runs of the suite")
        _print(shown["machine"], shown["options"]["repeat"], saved, shown["targets"],
               markdown=args.markdown)
        return 0

    info = machine_info()
    began = time.time()
    results: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for workload in args.workloads:
        for n in cases(workload, quick=args.quick, sizes=args.sizes):
            _progress(f"{workload.key:<7} N={n:<8,} ... ")
            try:
                case = run_case(workload.key, n, args.repeat)
            except (RuntimeError, ValueError) as exc:
                _progress("FAILED\n")
                failures.append({"workload": workload.key, "n": n, "error": str(exc)})
                continue
            _progress(progress_line(case) + "\n")
            results.append(case)

    by_case = {(c["workload"], c["n"]): c for c in results}
    judged = [t.to_json(by_case.get((t.workload, t.n))) for t in TARGETS]
    document = {
        "machine": info,
        "options": {"quick": args.quick, "repeat": args.repeat,
                    "only": [w.key for w in args.workloads],
                    "sizes": list(args.sizes) if args.sizes else None},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(began)),
        "elapsed_s": round(time.time() - began, 2),
        "workloads": {
            w.key: {"title": w.title, "description": w.description,
                    "cases": [c for c in results if c["workload"] == w.key]}
            for w in args.workloads
        },
        "targets": judged,
        "failures": failures,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")

    counts = _print(info, args.repeat, results, judged, markdown=args.markdown)
    for failure in failures:
        print(f"FAILED {failure['workload']} N={failure['n']}: {failure['error']}",
              file=sys.stderr)
    print(f"results written to {args.output}")
    if failures:
        return 1
    return 1 if args.fail_on_miss and counts["MISS"] else 0
