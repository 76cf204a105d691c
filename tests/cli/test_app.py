"""The command line starts fast: --version and --help import no engine, store or rich, and
the help lists every command from a table that must match the commands themselves."""

from __future__ import annotations

import inspect
import statistics
import subprocess
import sys
import time

import pytest

from jobweave.cli import app as cli_app
from tests.cli.conftest import run_in_process

HEAVY = ("sqlalchemy", "alembic", "rich", "pydantic", "yaml", "jobweave.engine", "jobweave.store",
         "jobweave.loader", "jobweave.api")

PROBE = """
import sys
from jobweave.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = {heavy!r}
sys.stderr.write("LOADED " + " ".join(m for m in heavy if m in sys.modules) + "\\n")
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"], []])
def test_version_and_help_import_nothing_heavy(args: list[str]) -> None:
    p = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.stderr.splitlines()[-1] == "LOADED ", p.stderr
    if args != ["--version"]:
        assert "delete" in p.stdout and "prune" in p.stdout and "_work" not in p.stdout


COMMAND_HEAVY = ("sqlalchemy", "alembic", "jobweave.engine", "jobweave.store.sql",
                 "jobweave.api")
"""What a command's own --help must not wait for (rich and the loader's light parts it may
use to describe its options)."""


def test_each_command_s_help_imports_no_engine_and_no_sqlalchemy() -> None:
    # one process asks every command for its help in turn: what any of them imported stays
    # loaded, so the last line names whatever one of them pulled in
    probe = ("import sys\nfrom jobweave.cli.app import COMMANDS, main\n"
             "for name in COMMANDS:\n"
             "    if name.startswith('_'):\n        continue\n"
             "    try:\n        main([name, '--help'])\n    except SystemExit:\n        pass\n"
             f"heavy = {COMMAND_HEAVY!r}\n"
             "sys.stderr.write('LOADED ' + ' '.join(m for m in heavy if m in sys.modules)"
             " + '\\n')\n")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       timeout=60)
    assert p.stderr.splitlines()[-1] == "LOADED ", p.stderr
    for name in ("run", "show", "resume", "recover", "serve", "token", "db"):
        assert f"Usage: jobweave {name}" in p.stdout, name


def test_the_help_table_matches_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    cli_app.load_commands()
    registered = {(c.name or c.callback.__name__): c for c in cli_app.app.registered_commands
                  if c.callback is not None}
    assert set(registered) == set(cli_app.COMMANDS)
    for name, (module, short) in cli_app.COMMANDS.items():
        callback = registered[name].callback
        assert callback.__module__ == f"jobweave.cli.{module}", name
        doc = inspect.getdoc(callback) or ""
        assert doc.split("\n\n")[0].replace("\n", " ") == short or name.startswith("_"), name
    listed = run_in_process(["--help"], capsys).stdout
    assert listed.index("run ") < listed.index("status ") < listed.index("prune ")


def test_the_help_lists_commands_in_its_table_s_order_whatever_was_imported() -> None:
    # a process that imported some command modules first (a test worker, a program that
    # uses jobweave.cli) listed those commands first
    probe = ("import jobweave.cli.inspect, jobweave.cli.retention\n"
             "from jobweave.cli.app import main\nmain(['--help'])\n")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       timeout=60)
    listed = [line.split()[0] for line in p.stdout.split("Commands:", 1)[1].splitlines()
              if line.startswith("  ") and not line.startswith("   ")]
    assert listed == [name for name in cli_app.COMMANDS if not name.startswith("_")]


def test_an_unknown_command_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    p = run_in_process(["lst"], capsys)
    assert p.returncode == 2
    assert p.stderr.startswith("jobweave: error: No such command 'lst'")


def test_the_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    p = run_in_process(["--version"], capsys)
    assert p.stdout == f"jobweave {version('jobweave')}\n"


def test_start_up_time_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    # Not a pass/fail timing (the machine is shared); it prints the median for the record.
    # The check that holds everywhere is the import test above.
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jobweave", "--version"], capture_output=True,
                       check=True, timeout=60)
        times.append(time.perf_counter() - start)
    with capsys.disabled():
        print(f"\njobweave --version: median {statistics.median(times):.3f}s of 3")
    assert statistics.median(times) < 5.0


def test_recover_plan_styles_every_action_the_engine_decides() -> None:
    # cli/durable.py names the actions itself, so that its --help need not import the engine
    from jobweave.cli.durable import ACTION_STYLES
    from jobweave.engine import replay

    assert set(ACTION_STYLES) == {replay.REPLAY, replay.RERUN, replay.EXECUTE, replay.RUN}
