"""Time triggers: ``cron``, ``every`` and ``at``, and when they fire.

- :mod:`~jobweave.triggers.spec`: the trigger dataclasses, the ``Missed`` and
  ``Overlap`` policies, and the constructors ``cron()``, ``every()``, ``at()``;
- :mod:`~jobweave.triggers.cron`: five-field cron expressions;
- :mod:`~jobweave.triggers.local`: local times to instants, with the DST rules;
- :mod:`~jobweave.triggers.fire`: ``next_fire``, ``prev_fire``, ``fires_between`` and
  ``due`` (the missed policy, given the stored last fire) and ``on_overlap``;
- :mod:`~jobweave.triggers.load`: triggers from plain data (YAML/JSON mappings).
"""

from jobweave.triggers.fire import (
    GRACE,
    MAX_CATCH_UP,
    Due,
    due,
    fires_between,
    next_fire,
    on_overlap,
    prev_fire,
)
from jobweave.triggers.load import trigger_from_data, trigger_to_data
from jobweave.triggers.spec import At, Cron, Every, Missed, Overlap, Trigger, at, cron, every

__all__ = [
    "GRACE",
    "MAX_CATCH_UP",
    "At",
    "Cron",
    "Due",
    "Every",
    "Missed",
    "Overlap",
    "Trigger",
    "at",
    "cron",
    "due",
    "every",
    "fires_between",
    "next_fire",
    "on_overlap",
    "prev_fire",
    "trigger_from_data",
    "trigger_to_data",
]
