"""``--input``: a graph run's input on the command line, as JSON or ``@file.json``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from jobweave.cli.app import CommandError
from jobweave.model import Graph

InputOption = Annotated[str | None, typer.Option(
    "--input", "-i", metavar="JSON",
    help="A graph run's input (instead of the file's `input:`): JSON, or @FILE holding JSON.")]

def read_input(text: str | None, definition: object) -> Any:
    """The input ``--input`` gives, or ``None`` without it; any problem is one line."""
    if text is None:
        return None
    if not isinstance(definition, Graph):
        raise CommandError("--input is a graph run's input; this definition is not a graph")
    where = "--input"
    if text.startswith("@"):
        where = text[1:]
        try:
            with open(where, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise CommandError(f"--input: cannot read {where}: {exc.strerror or exc}"
                               ) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{where}: not JSON: {exc.msg} (line {exc.lineno}, column "
                           f"{exc.colno})") from None
    except RecursionError:
        raise CommandError(f"{where}: not JSON: nested too deeply") from None
    return value
