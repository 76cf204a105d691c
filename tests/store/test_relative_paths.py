"""A store named by a relative path is the file that path means when it is opened, in a
process that changes folder (a test runner, a service, a script calling ``os.chdir``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import close_all, open_store
from tests import jobs


@pytest.fixture(autouse=True)
def _close_stores() -> None:
    close_all()


def _folders(root: Path, *names: str) -> list[Path]:
    made = [root / name for name in names]
    for folder in made:
        folder.mkdir()
    return made


def test_the_same_relative_name_in_two_folders_is_two_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _folders(tmp_path, "a", "b")
    monkeypatch.chdir(first)
    in_first = jw.run([jw.job(jobs.noop)], store="s.db").run_id
    monkeypatch.chdir(second)
    in_second = jw.run([jw.job(jobs.noop)], store="s.db").run_id
    assert (first / "s.db").exists() and (second / "s.db").exists()
    assert [r.run_id for r in open_store(str(first / "s.db")).list_runs()] == [in_first]
    assert [r.run_id for r in open_store("s.db").list_runs()] == [in_second]


def test_a_store_opened_before_a_change_of_folder_keeps_reading_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, elsewhere = _folders(tmp_path, "home", "elsewhere")
    monkeypatch.chdir(home)
    store = open_store("s.db")
    run_id = jw.run([jw.job(jobs.noop)], store="s.db").run_id
    store.close()  # every connection closed: the next one is opened after the move
    monkeypatch.chdir(elsewhere)
    assert store.get_run(run_id).status == "completed"
    assert not (elsewhere / "s.db").exists()
