"""The ``triggers`` a flow, batch or schedule carries: checked when the definition is made."""

from __future__ import annotations

from typing import Any

from jobweave.errors import DefinitionError
from jobweave.triggers import At, Cron, Every, Trigger


def check_triggers(value: Any, where: str) -> tuple[Trigger, ...]:
    """``value`` as a tuple of triggers; anything else raises ``DefinitionError``.

    Triggers say *when* ``jobweave serve`` starts a run, not *what* runs: the plan
    compiler never reads them, so they are no part of a run's definition or digest.
    """
    if isinstance(value, (Cron, Every, At)):
        return (value,)
    if isinstance(value, (str, bytes)) or value is None:
        raise DefinitionError(f"triggers must be a list of jw.cron/jw.every/jw.at, got "
                              f"{value!r:.60}", field=f"{where}.triggers")
    try:
        found = tuple(value)
    except TypeError:
        raise DefinitionError(f"triggers must be a list of jw.cron/jw.every/jw.at, got "
                              f"{value!r:.60}", field=f"{where}.triggers") from None
    for k, item in enumerate(found):
        if not isinstance(item, (Cron, Every, At)):
            raise DefinitionError(f"a trigger is jw.cron(), jw.every() or jw.at(), got "
                                  f"{item!r:.60}", field=f"{where}.triggers[{k}]")
    return found
