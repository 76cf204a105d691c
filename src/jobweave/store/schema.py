"""Every table of the store on one MetaData. The journal is the source of truth;
``runs`` and ``jobs`` are projections written in the same transaction."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 7
"""Bumped on every change of the tables; a store from a newer version is refused, an older
one is upgraded in place by its dialect's chain of revisions (``store/migrations``)."""
APP_ID = "jobweave"

metadata = MetaData()

meta = Table(
    "jobweave_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "jobweave_runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", Text),
    Column("digest", String(64), nullable=False),
    Column("options", Text, nullable=False),
    Column("total", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("exit_code", Integer),
    Column("owner", Text),
    Column("heartbeat_at", Float),
    Column("control", String(8)),
    # a request from outside to the owner: "cancel" or "pause"; read with each heartbeat
    Column("parent_run", String(64)),
    Column("epoch", Integer, nullable=False, server_default="0"),
    # bumped by every claim: an owner's writes are fenced by the epoch it claimed
    Column("control_by", Text),
    # who made the ``control`` request (a dashboard user, a token's name), for the journal
    Index("jobweave_runs_created", "created_at"),
    Index("jobweave_runs_status", "status"),
    # every serve process looks for runs to take over each second: the few running,
    # pending or handed-off ones, found without reading the whole history
)

jobs = Table(
    "jobweave_jobs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("output", Text),
    Column("error", Text),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("tags", Text),
    Column("lost", Integer, nullable=False, server_default="0"),
    # attempts that were running when their run's owner died (a job that kills its
    # process): counted against the job's retries on resume
)

journal = Table(
    "jobweave_journal", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", Float, nullable=False),
    Column("event", String(24), nullable=False),
    Column("node", Text),
    Column("attempt", Integer),
    Column("data", Text),
)

triggers = Table(
    "jobweave_triggers", metadata,
    # one row per served trigger: jobweave serve claims each fire here, so several serve
    # processes on one store fire it once (see jobweave.store.triggers)
    Column("key", String(255), primary_key=True),
    Column("definition", Text, nullable=False),
    Column("spec", Text, nullable=False),
    Column("last_fire", Float),
    Column("fires", Integer, nullable=False, server_default="0"),
    Column("last_run", String(64)),
    Column("queued_fire", Float),
    Column("lease_owner", Text),
    Column("lease_until", Float),
    Column("updated_at", Float),
    Column("paused", Integer, nullable=False, server_default="0"),
    # 1: paused from the dashboard or the REST API; serve starts no scheduled fire
    Column("fire_asked", Float),
    Column("fire_asked_by", Text),
    # "fire now": when and by whom a fire was asked; the serving process that claims it
    # starts the run and clears them
)

tokens = Table(
    "jobweave_tokens", metadata,
    # API tokens of the dashboard and REST API: only their sha256 is kept
    Column("digest", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
)

actions = Table(
    "jobweave_actions", metadata,
    # who asked what of a run from the dashboard or the REST API (a live run's journal
    # is its owner's alone, so requests are kept beside it)
    Column("id", String(32), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("job", Text),
    Column("actor", Text, nullable=False),
    Column("what", String(32), nullable=False),
    Column("detail", Text),
    Index("jobweave_actions_run", "run_id", "ts"),
)

attempts = Table(
    "jobweave_attempts", metadata,
    # one row per job (or graph firing) whose attempts run on remote workers
    # (executor="celery"): the fenced hand-over between the run's owner and the worker.
    # The owner writes a new attempt and token; the worker claims it with that token before
    # the job starts, renews its lease while it runs, and records the outcome with a
    # fenced write; a stale, late or duplicate delivery finds no row to take.
    Column("run_id", String(64), primary_key=True),
    Column("slot", String(255), primary_key=True),
    # the job's name, or the graph firing's id: the same in every execution of the run
    Column("attempt", Integer, nullable=False),
    Column("token", String(36)),
    # the current attempt's fencing token; NULL once it ended or was given up
    Column("state", String(16), nullable=False),
    # queued, running, done, lost, cancelled
    Column("queue", String(255)),
    Column("task", Text),
    # what the worker needs to run the attempt (encoded by the executor)
    Column("worker", Text),
    Column("queued_until", Float),
    Column("lease_until", Float),
    Column("outcome", Text),
    # the attempt's outcome, written by the worker's fenced completion
    Column("updated_at", Float),
    Index("jobweave_attempts_state", "state", "lease_until"),
)
