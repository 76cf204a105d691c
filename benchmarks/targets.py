"""The targets printed beside the figures, each judged PASS or MISS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobweave.engine.pending import GROUP_ROWS
from jobweave.settings import DEFAULT_THREADS

W4_IDEAL_S = 0.2
"""200 jobs of 0.05 s at concurrency 50: four waves of sleeping."""
W4_TOLERANCE = 0.15
SHAPE_RATIO = 3.0
"""W7-W9: jobweave's time at most this many times the bare DAG runner's (the goal on a
busy machine; on a quiet one the goal is 2)."""
COMPILE_US = 20.0
"""W7-W9: compiling the definition, at most this many microseconds a job."""
RERUN_BOUND = DEFAULT_THREADS + GROUP_ROWS
"""W5: the most jobs finished before the kill that may run again on resume (the jobs
running at the kill, at the default concurrency, plus one commit's worth)."""


@dataclass(frozen=True)
class Target:
    """A limit on one figure of one case."""

    workload: str
    n: int
    metric: str
    """A key of the case's figures: ``run_s``, ``peak_mib``, ``first_job_s``, ``recover_s``,
    ``first_firing_s``."""
    limit: float
    """The figure must not exceed this."""
    text: str
    """How the table shows the target."""

    def judge(self, case: dict[str, Any]) -> str:
        value = case.get(self.metric)
        if value is None:
            return "n/a"
        return "PASS" if value <= self.limit else "MISS"

    def to_json(self, case: dict[str, Any] | None) -> dict[str, Any]:
        return {"workload": self.workload, "n": self.n, "metric": self.metric,
                "limit": self.limit, "target": self.text,
                "value": None if case is None else case.get(self.metric),
                "status": "not run" if case is None else self.judge(case)}


TARGETS: tuple[Target, ...] = (
    Target("W1", 10_000, "run_s", 1.0, "< 1.0 s"),
    Target("W1", 100_000, "run_s", 12.0, "< 12 s"),
    Target("W1", 100_000, "peak_mib", 400.0, "< 400 MiB"),
    Target("W1pg", 10_000, "run_s", 2.0, "< 2 s (5,000 jobs/s)"),
    Target("W1+sum", 10_000, "run_s", 2.0, "< 2 s"),
    Target("W2", 10_000, "run_s", 2.0, "< 2 s"),
    Target("W3", 10_000, "run_s", 2.0, "< 2 s"),
    Target("W4", 200, "run_s", W4_IDEAL_S * (1 + W4_TOLERANCE),
           f"<= {W4_IDEAL_S * (1 + W4_TOLERANCE):.2f} s (0.2 s + 15%)"),
    *(t for key in ("W7", "W8", "W9") for t in (
        Target(key, 10_000, "ratio", SHAPE_RATIO, f"<= {SHAPE_RATIO:.0f}x bare"),
        Target(key, 10_000, "compile_us_per_job", COMPILE_US,
               f"compile < {COMPILE_US:.0f} µs/job"))),
    Target("W10", 10_000, "run_s", 2.0, "< 2 s (30,000 jobs)"),
    Target("W11", 1_000, "run_s", 2.0, "< 2 s (3,000 jobs)"),
    Target("W5", 10_000, "ran_again_max", RERUN_BOUND, f"ran again <= {RERUN_BOUND}"),
    Target("W5", 100_000, "first_job_s", 2.0, "first job < 2 s"),
    Target("W5", 100_000, "ran_again_max", RERUN_BOUND, f"ran again <= {RERUN_BOUND}"),
    Target("W6", 100_000, "recover_s", 3.0, "< 3 s"),
    Target("G1", 10_000, "run_s", 3.0, "< 3 s (100,001 firings)"),
    Target("G2", 1_000, "run_s", 1.0, "< 1 s"),
    Target("G3", 1_000, "run_s", 1.0, "< 1 s"),
    Target("G4", 10_000, "first_firing_s", 2.0, "first firing < 2 s"),
)


def targets_for(case: dict[str, Any]) -> list[Target]:
    """The targets that apply to one case."""
    return [t for t in TARGETS if t.workload == case["workload"] and t.n == case["n"]]
