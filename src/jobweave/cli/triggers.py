"""``jobweave triggers``: the next fire times of triggers, for people and scripts; with
``list``, ``pause``, ``resume`` or ``fire`` first, the triggers a store serves
(:mod:`jobweave.cli.trigger_control`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple

import typer

from jobweave import refs
from jobweave.cli.app import EXIT_OK, JsonOption, StoreOption, app
from jobweave.errors import DefinitionError, a_or_an
from jobweave.triggers import Every, Trigger, fires_between
from jobweave.triggers.fire import fires_left
from jobweave.triggers.spec import At, Cron

_KINDS = (Cron, Every, At)
CONTROLS = ("list", "pause", "resume", "fire")
"""First words that make the command act on a store's triggers (see trigger_control)."""
MAX_COUNT = 1000
"""The most fire times ``--count`` may ask for."""


class _Found(NamedTuple):
    """A trigger a TARGET names."""

    name: str
    trigger: Trigger
    served_as: tuple[str, int] | None = None
    """A definition's trigger: the definition's source and the trigger's index, as
    ``jobweave serve`` keys it in a store."""


@app.command("triggers")
def triggers_command(
    targets: Annotated[list[str], typer.Argument(
        metavar="TARGET...",
        help="path/file.py:name or package.module:name naming a trigger, a list or dict of "
             "them, or a function returning one; or a YAML/JSON file with 'triggers'. Or: "
             "'list' (the triggers served on the store), 'pause KEY', 'resume KEY', "
             "'fire KEY' (KEY: a trigger's id from 'list', or its key).")],
    start: Annotated[str | None, typer.Option(
        "--from", metavar="ISO-TIME",
        help="Start from this instant instead of now (no offset: UTC).")] = None,
    count: Annotated[int, typer.Option(
        "--count", "-n", metavar="N",
        help="Fire times to print per trigger (none beyond its max_fires).")] = 5,
    json_out: JsonOption = False,
    store: StoreOption = None,
) -> int:
    """Print the next fire times of each trigger, with their UTC offsets; or list, pause,
    resume or fire the triggers a store serves.

    No fire time beyond a trigger's max_fires is listed; with --store, the fires a serve
    process already made of a definition's trigger count toward it."""
    if targets[0] in CONTROLS:  # never a target: those name a file or hold a ':'
        from jobweave.cli.trigger_control import control

        return control(targets, store, json_out=json_out)
    if not 1 <= count <= MAX_COUNT:
        raise DefinitionError(f"--count must be between 1 and {MAX_COUNT}, not {count}")
    origin = _parse_from(start) if start is not None else datetime.now(UTC)
    found = [named for target in targets for named in _load(target)]
    made = _fired(store, found) if store is not None else [None] * len(found)
    # an instant equal to --from is listed: "from" includes its start
    since = origin - timedelta(microseconds=1)
    rows = [(f.name, f.trigger, fired, fires_between(f.trigger, since, limit=count,
                                                      fired=fired or 0))
            for f, fired in zip(found, made, strict=True)]
    if json_out:
        data = [{"name": name, "kind": type(t).__name__.lower(), "trigger": t.describe(),
                 "tz": "UTC" if isinstance(t, Every) else t.tz,
                 "missed": t.missed.value, "overlap": t.overlap.value,
                 "max_fires": t.max_fires, "fired": fired,
                 "fires": [_local(t, f).isoformat() for f in fires]}
                for name, t, fired, fires in rows]
        sys.stdout.write(json.dumps({"from": origin.isoformat(), "triggers": data},
                                    indent=2) + "\n")
        return EXIT_OK
    lines = []
    for k, (name, trigger, fired, fires) in enumerate(rows):
        if k:
            lines.append("")
        policies = f"missed={trigger.missed.value} overlap={trigger.overlap.value}"
        if trigger.max_fires:
            policies += f" max_fires={trigger.max_fires}"
        lines.append(f"{name}: {trigger.describe()} ({policies})")
        for fire in fires:
            local = _local(trigger, fire)
            lines.append(f"  {local:%Y-%m-%d %a %H:%M:%S%z}  {fire:%Y-%m-%dT%H:%M:%SZ}")
        end = _end(trigger, fired, len(fires))
        if end:
            lines.append(f"  ({end})")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _end(trigger: Trigger, fired: int | None, listed: int) -> str:
    """Why the listing of a trigger stops, when it is not ``--count``; else empty."""
    made = f", {fired} fired so far" if fired else ""
    left = fires_left(trigger, fired or 0)
    if left is not None and listed >= left:
        if not listed:
            return f"max_fires {trigger.max_fires} reached{made}: no more fires"
        return f"max_fires {trigger.max_fires}{made}: no more fires after this"
    return "" if listed else "no more fire times"


def _fired(store: str, found: list[_Found]) -> list[int | None]:
    """Each trigger's fires so far, as the store counts them; None: not served there."""
    from jobweave.cli.app import store_for
    from jobweave.engine.serve import trigger_key
    from jobweave.store.triggers import TriggerTable

    keys = [None if f.served_as is None else trigger_key(*f.served_as, f.trigger)
            for f in found]
    rows = TriggerTable(store_for(store)).read([k for k in keys if k is not None])
    return [rows[k].fires if k in rows else None for k in keys]


def _local(trigger: Trigger, fire: datetime) -> datetime:
    return fire if isinstance(trigger, Every) else fire.astimezone(trigger.zone)


def _parse_from(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DefinitionError(f"--from {text!r} is not an ISO 8601 time like "
                              "'2026-10-25T00:00:00+02:00'") from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _load(target: str) -> list[_Found]:
    lower = target.lower()
    if lower.endswith((".yaml", ".yml", ".json")):
        from jobweave.loader.file_triggers import triggers_in_file

        # serve names a definition file by its absolute path, its triggers by index
        source = os.path.normpath(os.path.abspath(target))
        return [_Found(name, trigger, (source, k))
                for k, (name, trigger) in enumerate(triggers_in_file(target))]
    module, sep, name = target.rpartition(":")
    if not sep or not module or not name:
        raise DefinitionError(f"target {target!r} must be 'path/file.py:name', "
                              "'package.module:name' or a YAML/JSON file")
    if refs.is_file(module):
        full = os.path.abspath(module)
        if not os.path.isfile(full):
            raise DefinitionError("no such Python file", path=module)
        source = f"{full}:{name}"
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        source = target
    value = refs.resolve(source)
    if callable(value) and not isinstance(value, type):
        try:
            value = value()
        except DefinitionError:
            raise
        except Exception as exc:
            raise DefinitionError(f"calling {target}() raised {type(exc).__name__}: {exc}"
                                  ) from exc
    return _collect(value, name, target, source)


def _collect(value: Any, label: str, target: str, source: str,
             served: bool = False) -> list[_Found]:
    """The triggers ``value`` holds; ``served``: those of a definition (``source``)."""
    if isinstance(value, _KINDS):
        return [_Found(value.name or label, value)]
    nested = getattr(value, "triggers", None)
    if nested is not None and not isinstance(value, Mapping):
        return _collect(nested, label, target, source, served=True)
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = [(f"{label}[{i}]", v) for i, v in enumerate(value)]
    else:
        raise DefinitionError(f"{target} is {_a(value)}, not a trigger (cron, every, at), a "
                              "list or dict of them, or a function returning one")
    out: list[_Found] = []
    for index, (key, item) in enumerate(items):
        if not isinstance(item, _KINDS):
            raise DefinitionError(f"{target}: {key} is {_a(item)}, not a trigger")
        out.append(_Found(item.name or key, item, (source, index) if served else None))
    if not out:
        raise DefinitionError(f"{target} holds no triggers")
    return out


def _a(value: object) -> str:
    return a_or_an(type(value).__name__)
