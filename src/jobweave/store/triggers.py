"""The ``jobweave_triggers`` table: each served trigger's last fire, fire count and lease.

``jobweave serve`` keeps one row per trigger it serves. A fire is *claimed* with one
conditional UPDATE: it only changes the row if the row still holds the values the
claimer read (last fire, fire count, queued fire). Of several processes that read the same
row and decide the same fire, exactly one UPDATE matches; the others change nothing and
read the row again. That is the whole "fire once" guarantee, and it needs nothing but
the database's own row-level atomicity, in SQLite and in PostgreSQL alike.

Pausing a trigger and asking it to fire now are changes of its row too (``paused``,
``fire_asked``), checked by the same conditional UPDATE: once a pause is committed no
claim made from an older read matches, and an asked fire is claimed, so started, once.

The lease (``lease_owner``, ``lease_until``) says which process serves a trigger now:
the others leave it alone while the lease is live, so they do not race for every fire,
and take it over when it runs out (its owner died or stopped).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from jobweave.errors import JobweaveError
from jobweave.store import schema as s
from jobweave.store.base import owner_alive
from jobweave.store.retry import conflicts_retried
from jobweave.store.sql import SqlStore


class FireTaken(JobweaveError):
    """Another process moved the trigger on first: this claim, and what shared its
    transaction, did not happen."""

    def __init__(self, key: str) -> None:
        super().__init__(f"trigger {key}: another process claimed this fire first")


TRIGGER_LEASE_SECONDS = 15.0
"""A serve process that has not renewed its lease on a trigger for this long loses it."""


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """One trigger as stored. Times are seconds since the epoch (UTC)."""

    key: str
    definition: str
    spec: str
    last_fire: float | None
    """The latest scheduled instant dealt with (fired or skipped); None: never served."""
    fires: int
    """Runs this trigger started so far."""
    last_run: str | None
    """The run the latest fire started."""
    queued_fire: float | None
    """A fire waiting for ``last_run`` to finish (``overlap="queue"``)."""
    lease_owner: str | None
    lease_until: float | None
    paused: bool = False
    """No scheduled fire starts while paused (an asked fire still does)."""
    fire_asked: float | None = None
    """When a fire was asked ("fire now") that no serve process has started yet."""
    fire_asked_by: str | None = None

    def leased_to_other(self, owner: str, now: float) -> bool:
        """Whether another live process holds this trigger's lease at ``now``."""
        return self.lease_owner != owner and self.held(now)

    def held(self, now: float) -> bool:
        """Whether a live serve process holds this trigger's lease at ``now``."""
        if self.lease_owner is None or self.lease_until is None or self.lease_until <= now:
            return False
        # a serve process on this host that died frees its leases at once
        return owner_alive(self.lease_owner, now, now)


class TriggerNotFoundError(JobweaveError):
    """No trigger of that key (or id) is stored."""


def _row(r: Any) -> TriggerRow:
    return TriggerRow(r.key, r.definition, r.spec, r.last_fire, int(r.fires), r.last_run,
                      r.queued_fire, r.lease_owner, r.lease_until, bool(r.paused),
                      r.fire_asked, r.fire_asked_by)


class TriggerTable:
    """Reads and claims on ``jobweave_triggers``, beside a :class:`SqlStore`."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        p = store.placeholder
        self._sql_add = (f"INSERT INTO {s.triggers.name} (key, definition, spec, fires) "
                         f"VALUES ({p}, {p}, {p}, 0) ON CONFLICT (key) DO NOTHING")

    @conflicts_retried
    def register(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Add a row per ``(key, definition, spec)`` that has none yet (never served)."""
        values = sorted(rows)  # inserted in key order: two processes never deadlock
        if not values:
            return
        with self.store._tx() as conn:
            conn.exec_driver_sql(self._sql_add, values)

    def read(self, keys: Sequence[str]) -> dict[str, TriggerRow]:
        """The stored rows of ``keys`` (a key with no row is left out)."""
        out: dict[str, TriggerRow] = {}
        t = s.triggers
        with self.store._read() as conn:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                for r in conn.execute(select(t).where(t.c.key.in_(chunk))):
                    out[r.key] = _row(r)
        return out

    @conflicts_retried
    def claim(self, seen: TriggerRow, owner: str, *, last_fire: float | None,
              started: int, last_run: str | None, queued_fire: float | None,
              asked_done: bool = False, now: float | None = None) -> bool:
        """Move a trigger on from the state ``seen``, in one conditional UPDATE.

        Sets the last fire, adds ``started`` to the fire count, records the run and the
        queued fire, and takes the lease for ``owner``; ``asked_done`` clears the asked
        fire ``seen`` holds (this claim starts it). Returns False, changing nothing, when
        the row no longer holds what ``seen`` read (another process claimed first, or the
        trigger was paused, resumed or asked to fire since).
        """
        query = self._claim_query(seen, owner, last_fire=last_fire, started=started,
                                  last_run=last_run, queued_fire=queued_fire,
                                  asked_done=asked_done, now=now)
        with self.store._tx() as conn:
            return bool(conn.execute(query).rowcount == 1)

    def claim_in(self, conn: Connection, seen: TriggerRow, owner: str, *,
                 last_fire: float | None, started: int, last_run: str | None,
                 queued_fire: float | None, asked_done: bool = False,
                 now: float | None = None) -> None:
        """:meth:`claim` inside the caller's transaction (the one that stores the fire's
        run, so a fire is counted if and only if its run is stored); raises
        :class:`FireTaken` when the row no longer holds what ``seen`` read."""
        query = self._claim_query(seen, owner, last_fire=last_fire, started=started,
                                  last_run=last_run, queued_fire=queued_fire,
                                  asked_done=asked_done, now=now)
        if conn.execute(query).rowcount != 1:
            raise FireTaken(seen.key)

    def _claim_query(self, seen: TriggerRow, owner: str, *, last_fire: float | None,
                     started: int, last_run: str | None, queued_fire: float | None,
                     asked_done: bool, now: float | None) -> Any:
        now = time.time() if now is None else now
        t = s.triggers
        query = t.update().where(and_(
            t.c.key == seen.key,
            t.c.last_fire.is_not_distinct_from(seen.last_fire),
            t.c.fires == seen.fires,
            t.c.queued_fire.is_not_distinct_from(seen.queued_fire),
            t.c.lease_owner.is_not_distinct_from(seen.lease_owner),
            t.c.paused == int(seen.paused),
            t.c.fire_asked.is_not_distinct_from(seen.fire_asked),
        )).values(last_fire=last_fire, fires=t.c.fires + started, last_run=last_run,
                  queued_fire=queued_fire, lease_owner=owner,
                  lease_until=now + TRIGGER_LEASE_SECONDS, updated_at=now)
        if asked_done:
            query = query.values(fire_asked=None, fire_asked_by=None)
        return query

    @conflicts_retried
    def renew(self, keys: Sequence[str], owner: str, now: float | None = None) -> int:
        """Renew ``owner``'s leases on ``keys``, and take the free or expired ones.

        Returns how many leases ``owner`` holds afterwards. A lease of a dead process on
        this host is taken at its owner's next claim; here only expired ones are.
        """
        now = time.time() if now is None else now
        t = s.triggers
        held = 0
        keys = sorted(keys)
        with self.store._tx() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                # the rows locked in key order first: an UPDATE locks them in whatever
                # order its plan visits them, and two serve processes could deadlock
                conn.execute(select(t.c.key).where(t.c.key.in_(chunk)).order_by(t.c.key)
                             .with_for_update())
                held += conn.execute(t.update().where(and_(
                    t.c.key.in_(chunk),
                    or_(t.c.lease_owner.is_(None), t.c.lease_owner == owner,
                        t.c.lease_until.is_(None), t.c.lease_until < now),
                )).values(lease_owner=owner, lease_until=now + TRIGGER_LEASE_SECONDS)).rowcount
        return held

    @conflicts_retried
    def release(self, owner: str) -> None:
        """Give up every lease ``owner`` holds (a serve process that stops cleanly)."""
        t = s.triggers
        with self.store._tx() as conn:
            conn.execute(select(t.c.key).where(t.c.lease_owner == owner).order_by(t.c.key)
                         .with_for_update())  # key order, as renew takes them
            conn.execute(t.update().where(t.c.lease_owner == owner)
                         .values(lease_owner=None, lease_until=None))

    def all(self) -> list[TriggerRow]:
        """Every stored trigger, by key (for listings and tests)."""
        t = s.triggers
        with self.store._read() as conn:
            rows = conn.execute(select(t).order_by(t.c.key)).all()
        return [_row(r) for r in rows]

    def asked(self, keys: Sequence[str]) -> list[str]:
        """Those of ``keys`` with a fire asked and not started yet."""
        t = s.triggers
        out: list[str] = []
        with self.store._read() as conn:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                out += conn.execute(select(t.c.key).where(
                    t.c.key.in_(chunk), t.c.fire_asked.is_not(None))).scalars().all()
        return out

    @conflicts_retried
    def set_paused(self, key: str, paused: bool, now: float | None = None) -> TriggerRow:
        """Pause or resume the trigger ``key``; return its row afterwards.

        Resuming moves its last fire up to ``now``: the fire times that passed while it
        was paused are skipped, not caught up.
        """
        now = time.time() if now is None else now
        t = s.triggers
        values: dict[str, Any] = {"paused": int(paused), "updated_at": now}
        with self.store._tx() as conn:
            row = conn.execute(select(t).where(t.c.key == key).with_for_update()).first()
            if row is None:
                raise TriggerNotFoundError(f"no trigger {key!r} in this store")
            if not paused and row.paused and row.last_fire is not None:
                values["last_fire"] = max(row.last_fire, now)
            conn.execute(t.update().where(t.c.key == key).values(**values))
            found = conn.execute(select(t).where(t.c.key == key)).first()
        return _row(found)

    @conflicts_retried
    def ask_fire(self, key: str, actor: str, now: float | None = None) -> bool:
        """Ask for one fire of ``key`` now; False if one asked before is still waiting."""
        now = time.time() if now is None else now
        t = s.triggers
        with self.store._tx() as conn:
            done = conn.execute(t.update().where(t.c.key == key, t.c.fire_asked.is_(None))
                                .values(fire_asked=now, fire_asked_by=actor,
                                        updated_at=now)).rowcount
            if not done and conn.execute(select(t.c.key).where(t.c.key == key)).first() is None:
                raise TriggerNotFoundError(f"no trigger {key!r} in this store")
        return bool(done)
