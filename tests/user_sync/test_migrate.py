"""The example's migrate script: it makes what the sync needs, or says in one line why not."""

from __future__ import annotations

import psycopg
import pytest
from examples.user_sync.migrate import main

from tests.conftest import PG_ADMIN_URL
from tests.user_sync.conftest import rows


def test_a_database_the_server_lacks_is_created_with_the_tables(
        pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:  # as a new user has it
        admin.execute(f'DROP DATABASE "{name}"')
    assert main([pg_url]) == 0
    assert capsys.readouterr().out.startswith(f"created database {name}, ")
    assert rows(pg_url, "SELECT count(*) FROM users") == [(0,)]
    assert main([pg_url]) == 0  # again: nothing to do
    assert capsys.readouterr().out == "nothing to do: the tables exist\n"


@pytest.mark.parametrize("url", ["postgresql://me:s3cret@127.0.0.1:1/app", "nonsense://x"])
def test_a_database_it_cannot_reach_is_one_line_and_exit_2(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([url]) == 2
    said = capsys.readouterr()
    assert said.out == "" and said.err.startswith("migrate.py: ")
    assert said.err.count("\n") == 1 and "s3cret" not in said.err
