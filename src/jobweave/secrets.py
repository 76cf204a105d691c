"""Secrets: values a graph's templates read as ``secrets.NAME``, and never store.

They come from environment variables ``JOBWEAVE_SECRET_NAME`` and from a secrets file
(``JOBWEAVE_SECRETS_FILE``: a YAML or JSON mapping, or ``NAME=value`` lines). A run reads
them when it starts or resumes; they are not part of its definition. Everything a run
writes (journal records, job rows, errors, captured output, logged messages) passes
through :meth:`Secrets.mask`, which replaces each secret's value with ``***``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping

from jobweave.errors import DefinitionError

PREFIX = "JOBWEAVE_SECRET_"
MASK = "***"
MIN_LENGTH = 4
"""Shorter values are refused: masking them would garble every text they occur in."""
MAX_FILE = 1 << 20
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Secrets(Mapping[str, str]):
    """Secret values by name, and the mask that hides them."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        # longest first: a secret that contains another is masked whole
        self._hidden = sorted({v for v in self._values.values()}, key=len, reverse=True)

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __getattr__(self, name: str) -> str:
        """``secrets.NAME`` in a template; a name no secret has says where to give it."""
        if name.startswith("_"):  # Python's own protocols, and nothing a template reads
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise DefinitionError(f"no secret {name!r}: set {PREFIX}{name} in the "
                                  "environment, or give it in the secrets file that "
                                  "JOBWEAVE_SECRETS_FILE names") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self._values))})"

    def mask(self, text: str) -> str:
        """``text`` with every secret's value (and its JSON-escaped form) as ``***``."""
        for value in self._hidden:
            if value in text:
                text = text.replace(value, MASK)
            escaped = json.dumps(value)[1:-1]
            if escaped != value and escaped in text:
                text = text.replace(escaped, MASK)
        return text


def load_secrets(path: str | None = None, environ: Mapping[str, str] | None = None) -> Secrets:
    """The secrets of the environment and of the file at ``path`` (the file wins)."""
    env = os.environ if environ is None else environ
    values = {k[len(PREFIX):]: v for k, v in env.items() if k.startswith(PREFIX) and v}
    from_file = _read_file(path) if path else {}
    values.update(from_file)
    for name, value in values.items():
        # where the value came from: the file (which wins), or its environment variable
        where = {"path": path} if name in from_file else {"field": PREFIX + name}
        if not _NAME.match(name):
            raise DefinitionError(f"a secret's name is letters, digits and _, got {name!r}",
                                  **where)
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            raise DefinitionError(f"secret {name!r} must be text of at least {MIN_LENGTH} "
                                  "characters (shorter values cannot be masked)", **where)
    return Secrets(values)


def _read_file(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_FILE + 1)
    except OSError as exc:
        raise DefinitionError(f"cannot read the secrets file: {exc.strerror}",
                              path=path) from None
    if len(text) > MAX_FILE:
        raise DefinitionError(f"the secrets file is larger than {MAX_FILE:,} bytes", path=path)
    stripped = text.lstrip()
    if stripped.startswith("{") or ":" in stripped.split("\n", 1)[0]:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise DefinitionError("the secrets file is not a YAML or JSON mapping",
                                  path=path, line=None if line is None else line + 1) from None
        if not isinstance(data, dict):
            raise DefinitionError("the secrets file must hold a mapping of names to values",
                                  path=path)
        return {str(k): v if isinstance(v, str) else str(v) for k, v in data.items()}
    values: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise DefinitionError("expected NAME=value", path=path, line=n)
        values[name.strip()] = value.strip()
    return values
