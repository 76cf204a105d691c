"""Definitions that load_target tests name as ``tests.loader.targets:NAME``."""

from __future__ import annotations

import jobweave as jw
from jobweave.model import schedule

nightly = jw.batch(jw.job("tests.jobs:add", a=1, b=2, name="add"), jw.sleep(0.01), name="n")
single = jw.shell("echo one", name="one")
nested = (jw.shell("echo 1"), [jw.shell("echo 2"), [jw.sleep(0.01)]])
number = 42
stages = schedule([[jw.shell("echo first")], [jw.shell("echo second")]], name="stages")


def make() -> list[jw.Job]:
    return [jw.job("tests.jobs:echo", value="made", name="made")]


def needs_arguments(x: int) -> list[jw.Job]:
    return []


def broken() -> list[jw.Job]:
    raise RuntimeError("no database\nconfigured")


def gives_text() -> str:
    return "echo hi"


def job_function() -> int:
    """A job's own function, where its job was meant."""
    return 1
