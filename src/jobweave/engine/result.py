"""What a finished run returns: per-job results and the exit code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

EXIT_OK = 0
EXIT_FAILED = 1


class JobResult(NamedTuple):
    """One job's outcome (a named tuple: a run of 100,000 jobs builds 100,000 of them)."""

    name: str
    status: str
    """completed, faulted, cancelled, skipped (or pending if the run never reached it)."""
    output: Any
    error: str | None
    attempts: int
    started_at: float | None
    finished_at: float | None
    tags: tuple[str, ...] = ()

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class RunResult:
    """A run's outcome: ``ok`` and ``exit_code`` say whether every job completed."""

    run_id: str
    name: str
    status: str
    """completed, failed or cancelled."""
    jobs: tuple[JobResult, ...]
    started_at: float
    finished_at: float

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FAILED

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at

    def job(self, name: str) -> JobResult:
        """The result of the job with this name."""
        for j in self.jobs:
            if j.name == name:
                return j
        raise KeyError(name)

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        out: dict[str, int] = {}
        for j in self.jobs:
            out[j.status] = out.get(j.status, 0) + 1
        return out

    @property
    def outputs(self) -> dict[str, Any]:
        """Outputs of completed jobs, by name."""
        return {j.name: j.output for j in self.jobs if j.status == "completed"}
