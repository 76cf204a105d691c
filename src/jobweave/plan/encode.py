"""The stored definition of a compiled plan, its digest and its JSON text, encoded once.

The digest is a sha256 over the canonical encoding of the nodes (sorted keys, compact);
that same text becomes the ``nodes`` of the definition's JSON, which the store writes as
it is instead of encoding the definition a second time (for 10,000 jobs of twenty
inputs each, an encoding costs about 7 µs a job). The digest is the one
:func:`jobweave.plan.nodes.digest_of` computes from the stored definition.

Nodes build their definitions with keys in sorted order, so when every parameter dict is
sorted too (the usual case: a few keyword arguments given in order) the canonical text
is encoded without ``sort_keys``, which costs a quarter of the encoding of fan-in shapes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from jobweave.plan.nodes import DEFINITION_FORMAT, PlanNode


def encode_definition(
    name: str, kind: str, nodes: Sequence[PlanNode], extra: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str, str]:
    """The stored definition of a plan, its digest, and the definition as JSON text."""
    names = [n.name for n in nodes]
    node_defs = [n.definition(names) for n in nodes]
    options = dict(extra or {})
    definition = {"format": DEFINITION_FORMAT, "name": name, "kind": kind, "nodes": node_defs,
                  **options}
    # NaN and Infinity are not JSON: refused in the nodes (as digest_of refuses them)
    try:
        ordered = all(map(_sorted_params, nodes))
        # without the encoder's check for cycles (a tenth of its time): a parameter that
        # refers to itself recurses until Python stops it, and is named by the caller
        nodes_text = json.dumps(node_defs, sort_keys=not ordered, separators=(",", ":"),
                                allow_nan=False, check_circular=False)
    except RecursionError:
        raise ValueError("a parameter refers to itself or is nested too deeply") from None
    digest = hashlib.sha256(json.dumps({"kind": kind, **options}, sort_keys=True).encode()
                            + nodes_text.encode()).hexdigest()
    head = json.dumps({"format": DEFINITION_FORMAT, "name": name, "kind": kind},
                      separators=(",", ":"))
    tail = json.dumps(options, separators=(",", ":"))[1:] if options else "}"
    text = f'{head[:-1]},"nodes":{nodes_text}{"," if options else ""}{tail}'
    return definition, digest, text


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _sorted_params(node: PlanNode) -> bool:
    """Whether the node's parameters encode the same with and without ``sort_keys``."""
    params = node.params
    if not params:
        return True
    if len(params) == 1:
        (key, value), = params.items()
        return type(key) is str and (type(value) in _SCALARS or _sorted(value))
    return _sorted(params)


def _sorted(value: Any) -> bool:
    """Whether every dict inside ``value`` has string keys in sorted order."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        keys = list(value)
        if not all(type(k) is str for k in keys) or keys != sorted(keys):
            return False
        return all(map(_sorted, value.values()))
    if kind is list or kind is tuple:
        return all(map(_sorted, value))
    return False  # anything else is left to the sorting encoder (and its errors)
