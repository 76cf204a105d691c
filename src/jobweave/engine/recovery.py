"""Recovery: replay a run's journal (from this store or an exported file) as a new run,
reusing recorded completions and running the rest (mixed into
:class:`~jobweave.engine.engine.Engine`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from jobweave.components import groups
from jobweave.engine.bulk import gc_paused
from jobweave.engine.graph_replay import Recovered
from jobweave.engine.handle import RunHandle, new_run_id
from jobweave.engine.replay import (
    EXECUTE,
    REPLAY,
    RERUN,
    RUN,
    JournalView,
    RecoveryPlan,
    plan_recovery,
    view_journal,
)
from jobweave.engine.resume import Prior, diff_definitions
from jobweave.errors import JournalMismatch
from jobweave.events import Listener
from jobweave.plan import Plan, plan_from_definition
from jobweave.settings import Settings
from jobweave.store import SqlStore
from jobweave.store.export import read_file


class Recovery:
    """``Engine.recover`` and what it needs (the engine sets these attributes)."""

    settings: Settings
    store: SqlStore
    plan: Callable[..., Plan]
    start: Callable[..., RunHandle]

    @gc_paused()
    def journal_view(self, source: str) -> JournalView:
        """A journal to recover from: an exported JSONL file, or a run id in this store."""
        if os.path.isfile(source):
            found = read_file(source)
            return view_journal(found.records, found.dropped)
        return view_journal(self.store.journal(source))

    @gc_paused()
    def recovery_plan(self, journal: JournalView, definition: Any = None, *,
                      source: str | None = None, changed: Sequence[str] = (),
                      force: bool = False) -> tuple[Plan, RecoveryPlan]:
        """Decide what recovering ``journal`` would replay and run, without running."""
        if definition is None:
            plan = plan_from_definition(journal.definition, journal.source,
                                        digest=journal.digest)
        else:
            # a graph keeps the input its run was given (``--input``), not its file's
            plan = self.plan(definition, name=journal.definition.get("name"),
                             source=source or journal.source,
                             input=journal.definition.get("input"))
        if plan.digest != journal.digest and not (force or changed):
            diff = diff_definitions(journal.definition, plan.definition)
            raise JournalMismatch(
                f"the journal of run {journal.run_id} was written by a different definition "
                f"({len(diff.added)} added, {len(diff.removed)} removed, "
                f"{len(diff.changed)} changed); say what changed with --changed, "
                "or --force to replay it anyway")
        return plan, plan_recovery(plan, journal, changed, force=force)

    @gc_paused()
    def recover(self, journal: JournalView, definition: Any = None, *,
                source: str | None = None, changed: Sequence[str] = (), force: bool = False,
                concurrency: int | None = None, listeners: Sequence[Listener] = (),
                by: str | None = None) -> tuple[RecoveryPlan, RunHandle]:
        """Replay a journal as a new run: recorded completions are reused, the rest runs.

        Raises ``RunOwnedError`` when the journal's run is in this store and a live
        process is still running it: its unfinished jobs would run twice. For the same
        reason a crashed, pending or handed-off run is first set aside (paused, journaled
        ``by`` whoever asked), so that no serving engine takes it over beside the new run.
        """
        plan, decisions = self.recovery_plan(journal, definition, source=source,
                                             changed=changed, force=force)
        self.store.set_aside(journal.run_id, by=by)
        groups.reap(journal.run_id)  # what the journal's run left running on this host
        if concurrency is None:
            concurrency = plan.concurrency
        if plan.graph is not None:
            return decisions, self._recover_graph(journal, plan, decisions, concurrency,
                                                  listeners)
        index = {n.name: n.index for n in plan.nodes}
        prior: dict[int, Prior] = {}
        replayed: dict[int, tuple[int, str, float | None, float | None]] = {}
        recovered: dict[int, Any] = {}
        for d in decisions.decisions:
            rec = journal.completed.get(d.name)
            if rec is None:
                continue
            i = index[d.name]
            if d.action == REPLAY:
                out = rec.output
                # plain numbers need no encoder: a replay of 100,000 jobs feels it
                text = str(out) if type(out) is int else json.dumps(out)
                replayed[i] = (rec.attempt, text, rec.started, rec.finished)
                prior[i] = Prior("completed", rec.attempt, text, None, rec.started,
                                 rec.finished, out)
            elif d.action == EXECUTE:
                recovered[i] = rec.output
        run_id = self._recovery_run(journal, plan, concurrency, replayed=replayed,
                                    replayed_from=journal.run_id, encoded=plan.encoded)
        handle = self.start(run_id, plan, concurrency=concurrency, listeners=listeners,
                            prior=prior, recovered=recovered)
        return decisions, handle

    def _recover_graph(self, journal: JournalView, plan: Plan, decisions: RecoveryPlan,
                       concurrency: int | None, listeners: Sequence[Listener]) -> RunHandle:
        """A graph's recovery: the new run replays the journal's firings (journaling
        them as its own), except those of the nodes that run again; what follows
        from those fires anew."""
        again = frozenset(d.name for d in decisions.decisions if d.action == EXECUTE or (
            d.action in (RERUN, RUN) and not d.reason.startswith("downstream of")))
        run_id = self._recovery_run(journal, plan, concurrency)
        return self.start(run_id, plan, concurrency=concurrency, listeners=listeners,
                          replay=Recovered(journal.fired, again, journal.run_id,
                                           journal.starts))

    def _recovery_run(self, journal: JournalView, plan: Plan, concurrency: int | None,
                      **extra: Any) -> str:
        """Store the new run a recovery makes, linked to the journal's run."""
        run_id = new_run_id()
        options = {"executor": self.settings.executor, "workers": self.settings.workers,
                   "concurrency": concurrency, "recovered_from": journal.run_id}
        self.store.create_run(
            run_id=run_id, name=plan.name, kind=plan.kind, source=plan.source,
            definition=plan.definition, digest=plan.digest, options=options,
            jobs=plan.stored_jobs(),
            parent_run=journal.run_id, **extra)
        return run_id
