"""The ``jobweave`` command: the Typer app, exit codes, and the one error boundary.

Every command module registers itself on :data:`app`. :func:`main` runs the app and
turns every :class:`~jobweave.errors.JobweaveError` and usage error into one line on
stderr and exit code 2, so users never see a traceback for a problem they can fix.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from jobweave.errors import JobweaveError, RunNotFoundError, StoreUnavailable, one_line
from jobweave.settings import Settings, store_path

if TYPE_CHECKING:
    from jobweave.engine import Engine
    from jobweave.store import SqlStore

EXIT_OK = 0
"""Every job completed (or the command did what it was asked)."""
EXIT_FAILED = 1
"""A job faulted, was cancelled or skipped; or the run crashed."""
EXIT_USAGE = 2
"""A bad command line, definition, store URL or run id: nothing ran."""
EXIT_STORE = 3
"""The store failed while a run was using it (unreachable for longer than jobweave retries,
its file deleted or replaced, a commit it refused); the message says what became of the
run."""
EXIT_LOST_LEASE = 75
"""Another engine took the run over: this process stopped renewing its lease for longer
than it lasts (it was frozen, or cut off from the store); the run continues there
(EX_TEMPFAIL of sysexits.h)."""
EXIT_TIMEOUT = 124
"""``wait --timeout`` gave up while the run was still going (the convention of timeout(1))."""
EXIT_INTERRUPTED = 130
"""Ctrl-C or SIGTERM stopped the command (a run it owned is recorded ``cancelled``)."""

LAST = "last"
"""The RUN argument that names the most recent run."""

_APP_SETTINGS: dict[str, Any] = {
    "name": "jobweave",
    "help": "Run and inspect durable job flows.",
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,  # plain help: rich would cost --help a tenth of a second
    "context_settings": {"help_option_names": ["-h", "--help"]},
}
app = typer.Typer(**_APP_SETTINGS)


# The command modules import the engine, the store, SQLAlchemy and rich: `jobweave
# --version` and `jobweave --help` must not wait for them. So a command's module is
# imported only when that command runs; the top-level help lists every command from this
# table (tests/cli/test_app.py checks it against the commands' own docstrings).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "Run TARGET here and wait for it: exit 0 if every job completed, 1 if not."),
    "submit": ("run", "Store TARGET as a run, start it in the background, and print the run id."),
    "wait": ("run", "Wait until RUN is final: exit 0 if every job completed, 1 if not."),
    "cancel": ("run", "Cancel RUN: its owner stops it within about a second."),
    "_work": ("run", ""),
    "resume": ("durable", "Continue RUN here where it stopped and wait: completed jobs are "
                          "kept, the rest run."),
    "pause": ("durable", "Pause RUN: running jobs finish, no new ones start; 'jobweave resume "
                         "RUN' continues it."),
    "recover": ("durable", "Replay SOURCE's journal as a new run and wait: recorded jobs are "
                           "not run again."),
    "status": ("inspect", "One line about RUN: id, name, status, job counts and times."),
    "list": ("inspect", "Recent runs, newest first."),
    "show": ("inspect", "RUN's details and its jobs (a big run: problem jobs first); --job "
                        "NAME: one in full."),
    "journal": ("inspect", "RUN's journal as JSON lines, oldest first, each sealed with a "
                           "checksum (crc)."),
    "validate": ("inspect", "Load and compile a definition without storing or running "
                            "anything."),
    "schema": ("inspect", "Print the JSON Schema of definition files (for editors and CI "
                          "checks)."),
    "delete": ("retention", "Delete runs from the store with their jobs and journals, in "
                            "one transaction."),
    "prune": ("retention", "Delete the runs that finished longer ago than --older-than."),
    "serve": ("serve", "Start runs when their triggers fire; SIGTERM or Ctrl-C stops cleanly."),
    "token": ("tokens", "Make, list or revoke API tokens (create prints the token once; the "
                        "store keeps its hash)."),
    "triggers": ("triggers", "Print the next fire times of each trigger, with their UTC "
                             "offsets; or list, pause, resume or fire the triggers a store "
                             "serves."),
    "worker": ("worker", "Run jobs of executor celery: a Celery worker on the broker and the "
                         "PostgreSQL store."),
    "db": ("db", "Upgrade the store's schema (jobweave db upgrade) or show where it stands "
                 "(current)."),
}
"""Command name -> (module under jobweave.cli, its one-line help)."""


def load_commands(name: str | None = None) -> None:
    """Import the module of command ``name`` (every command module when None)."""
    modules = {COMMANDS[name][0]} if name in COMMANDS else {m for m, _ in COMMANDS.values()}
    for module in sorted(modules):
        importlib.import_module(f"jobweave.cli.{module}")


def _help_app() -> typer.Typer:
    """The app as the top-level help shows it: every command listed, none imported."""
    listing = typer.Typer(**_APP_SETTINGS)
    listing.registered_callback = app.registered_callback
    loaded = {(c.name or getattr(c.callback, "__name__", "")): c for c in app.registered_commands}
    for name, (_, short) in COMMANDS.items():  # in this table's order, loaded or not
        if name in loaded:
            listing.registered_commands.append(loaded[name])
        elif not name.startswith("_"):
            listing.command(name, help=short, short_help=short, add_help_option=False)(_stub)
    return listing


def _stub() -> None:  # pragma: no cover - only listed in the help, never run
    raise CommandError("internal error: a command ran before its module was loaded")


def _command_name(argv: list[str]) -> str | None:
    """The command an argument list runs: its first argument that is not an option."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def _show_version(value: bool) -> None:
    if value:
        # the package's own constant: asking the installed metadata costs --version 50 ms
        # (tests/cli/test_app.py checks that the two agree)
        from jobweave import __version__

        typer.echo(f"jobweave {__version__}")
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
                      "(default: $JOBWEAVE_STORE, else .jobweave/jobweave.db in the "
                      "nearest folder upward that has a .jobweave folder, else here)"),
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
    from jobweave.engine import Engine

    return Engine(settings_for(store, **changes))


class NoStore(CommandError):
    """A command that only reads found no store: there are no runs yet."""


def store_for(store: str | None) -> SqlStore:
    """The store the command line (or the environment) names, for a command that reads.

    A command that only reads never creates a store: when the SQLite file is not there,
    it stops with :class:`NoStore` (one line, exit 2) instead.
    """
    from jobweave.store import store_for_settings

    settings = settings_for(store)
    path = store_path(settings.store)
    if path is not None and not os.path.exists(path):
        raise NoStore(f"no runs yet: there is no store at {path}")
    return store_for_settings(settings)


def cli_actor() -> str:
    """Who a request made from this command line comes from, for the run's journal:
    ``cli:<the OS user>``."""
    import getpass

    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a bare container)
        user = f"uid-{os.getuid()}"
    return f"cli:{user}"


def resolve_run(store: SqlStore, ref: str) -> str:
    """The full run id a RUN argument names: an id, a unique prefix, or ``last`` (the
    newest run that is not a graph's child run)."""
    if ref == LAST:
        runs = store.list_runs(limit=1, children=False)  # a graph's child: not what ran
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


def lost_lease(run_id: str, owner: str) -> CommandError:
    """The one line of a command whose run another engine took over (exit 75)."""
    return CommandError(f"lost run lease to {owner}: run {run_id} continues there",
                        EXIT_LOST_LEASE)


def say_error(message: str) -> None:
    """Write one line to stderr, prefixed so it stands out in logs."""
    sys.stderr.write(f"jobweave: error: {one_line(message)}\n")
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
    name = _command_name(sys.argv[1:] if argv is None else argv)
    if name in COMMANDS:
        load_commands(name)
    # --help, --version, no command, or an unknown one: the group, with every command listed
    command = (typer.main.get_command(app) if name in COMMANDS
               else typer.main.get_group(_help_app()))
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
    except StoreUnavailable as exc:
        say_error(str(exc))
        code = EXIT_STORE
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

