"""The ``jobweave`` command: the Typer app, exit codes, and the one error boundary.

Every command module registers itself on :data:`app`. :func:`main` runs the app and
turns every :class:`~jobweave.errors.JobweaveError` and usage error into one line on
stderr and exit code 2, so users never see a traceback for a problem they can fix.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from typing import Annotated, NoReturn

import typer

from jobweave.engine import Engine
from jobweave.errors import JobweaveError, RunNotFoundError
from jobweave.settings import Settings
from jobweave.store import SqlStore, open_store

EXIT_OK = 0
"""Every job completed (or the command did what it was asked)."""
EXIT_FAILED = 1
"""A job faulted, was cancelled or skipped; or the run crashed."""
EXIT_USAGE = 2
"""A bad command line, definition, store URL or run id: nothing ran."""
EXIT_TIMEOUT = 124
"""``wait --timeout`` gave up while the run was still going (the convention of timeout(1))."""
EXIT_INTERRUPTED = 130
"""Ctrl-C or SIGTERM stopped the command (a run it owned is recorded ``cancelled``)."""

LAST = "last"
"""The RUN argument that names the most recent run."""

app = typer.Typer(
    name="jobweave",
    help="Run and inspect durable job flows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"jobweave {version('jobweave')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _options(
    show_version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Run and inspect durable job flows."""


StoreOption = Annotated[
    str | None,
    typer.Option("--store", metavar="URL",
                 help="Store URL: a SQLite path, sqlite:///path or postgresql://... "
                      "(default: $JOBWEAVE_STORE, else .jobweave/jobweave.db)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
RunArgument = Annotated[
    str, typer.Argument(metavar="RUN", help="A run id, a unique prefix of one, or 'last'.")]


class CommandError(Exception):
    """A problem a command reports as one line on stderr, with its own exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        self.code = code
        super().__init__(message)


def settings_for(store: str | None, **changes: object) -> Settings:
    """Settings from the environment, overridden by the command line."""
    return Settings.from_env().with_(store=store, **changes)


def engine_for(store: str | None, **changes: object) -> Engine:
    """An Engine on the store the command line (or the environment) names."""
    return Engine(settings_for(store, **changes))


def store_for(store: str | None) -> SqlStore:
    """The store the command line (or the environment) names."""
    settings = settings_for(store)
    return open_store(settings.store, durability=settings.durability)


def resolve_run(store: SqlStore, ref: str) -> str:
    """The full run id a RUN argument names: an id, a unique prefix, or ``last``."""
    if ref == LAST:
        runs = store.list_runs(limit=1)
        if not runs:
            raise CommandError(f"no runs yet in store {store.url}")
        return runs[0].run_id
    try:
        return store.get_run(ref, counts=False).run_id
    except RunNotFoundError:
        pass
    matches = store.find_runs(ref) if ref else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(ref)
    shown = ", ".join(matches[:4]) + (", ..." if len(matches) > 4 else "")
    raise CommandError(f"run id prefix {ref!r} is ambiguous: it matches {shown}")


def say_error(message: str) -> None:
    """Write one line to stderr, prefixed so it stands out in logs."""
    first, *rest = (message.strip() or "unknown error").splitlines()
    # one line: a multi-line message (e.g. a validation report) is joined, not cut
    line = first if not rest else first + " | " + " | ".join(r.strip() for r in rest)
    sys.stderr.write(f"jobweave: error: {line}\n")
    sys.stderr.flush()


def _usage_line(exc: typer.TyperException) -> str:
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None)
    if path:
        message += f" (see '{path} --help')"
    return message


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line and exit with its code."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="jobweave", standalone_mode=False)
        code = rv if isinstance(rv, int) else EXIT_OK
    except typer.TyperException as exc:
        # Typer's own usage errors (bad option, missing argument, bare `jobweave`).
        if type(exc).__name__ == "NoArgsIsHelpError":
            # Typer's rich help may already be on the screen; otherwise it is the message.
            text = exc.format_message()
            if text.strip():
                sys.stdout.write(text.rstrip("\n") + "\n")
        else:
            say_error(_usage_line(exc))
        code = EXIT_USAGE
    except typer.Abort:
        code = EXIT_INTERRUPTED
    except CommandError as exc:
        say_error(str(exc))
        code = exc.code
    except JobweaveError as exc:
        say_error(str(exc))
        code = EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`jobweave journal RUN | head`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_OK
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)


# Imported last, for their side effect: each module registers its commands on `app`
# (they import the names above, so they must come after them).
from jobweave.cli import durable, inspect, run, serve, triggers  # noqa: E402, F401
