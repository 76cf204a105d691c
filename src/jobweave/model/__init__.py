"""Definitions as plain data: jobs, batches, schedules. No I/O, no engine imports."""

from jobweave.model.batch import Batch, batch, flatten
from jobweave.model.flow import Flow, FlowMode, flow
from jobweave.model.graph import Graph, graph
from jobweave.model.job import Job, JobKind, JobState, OutputRef, job, output, shell, sleep
from jobweave.model.schedule import Schedule, schedule

__all__ = [
    "Batch",
    "Flow",
    "FlowMode",
    "Graph",
    "Job",
    "JobKind",
    "JobState",
    "OutputRef",
    "Schedule",
    "batch",
    "flatten",
    "flow",
    "graph",
    "job",
    "output",
    "schedule",
    "shell",
    "sleep",
]
