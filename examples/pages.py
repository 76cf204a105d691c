"""A stand-in for a paged API: three pages of items, then no more."""

from __future__ import annotations

from typing import Any

PAGES = 3


def fetch(msg: dict[str, Any]) -> dict[str, Any]:
    """One page of ``msg["source"]``: its items, and whether another page follows."""
    page = msg["page"]
    items = [f"{msg.get('source', 'api')}-{page}-{k}" for k in range(2)]
    return {"page": page, "source": msg.get("source"), "items": items,
            "has_more": page < PAGES}
