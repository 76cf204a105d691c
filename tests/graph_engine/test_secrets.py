"""Secrets reach templates as ``secrets.NAME`` and nothing a run writes shows them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.errors import DefinitionError
from jobweave.secrets import load_secrets
from tests.graph_engine import shapes

SECRET = "s3cr3t-Tok\"en-9"


def leaky(fail: bool) -> jw.Graph:
    g = jw.graph("leaky", input={"user": "ann"})
    a = g.node("a", "modify")
    use = g.node("use", "python", target=shapes.leak, continue_on_error=True)
    g.edge(a, use, data={"token": "{{ secrets.API_TOKEN }}", "fail": fail})
    g.edge(use, g.node("log", "log"))
    return g


def everything_stored(store: str) -> str:
    conn = sqlite3.connect(store)
    try:
        parts = []
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in conn.execute(f"SELECT * FROM {table}"):
                parts.append(repr(row))
        return "\n".join(parts)
    finally:
        conn.close()


@pytest.mark.parametrize("fail", [False, True])
def test_a_secret_is_never_stored_exported_or_shown(tmp_path: Path, monkeypatch, cli,
                                                    store: str, fail: bool) -> None:
    monkeypatch.setenv("JOBWEAVE_SECRET_API_TOKEN", SECRET)
    result = jw.run(leaky(fail), store=store)
    assert result.status == "completed"
    use = {j.name: j for j in result.jobs}["use"]
    if fail:
        assert "login failed" in (use.error or "") and SECRET not in (use.error or "")
    else:
        assert use.output == {"echo": "***", "len": len(SECRET)}  # it had the real value
    stored = everything_stored(store)
    assert "***" in stored
    assert SECRET not in stored and SECRET.replace('"', '\\"') not in stored
    for args in (["show", result.run_id], ["show", result.run_id, "--job", "use"],
                 ["show", result.run_id, "--json"], ["list", "--json"]):
        out = cli(*args)
        assert out.returncode == 0 and SECRET not in out.stdout + out.stderr, args
    exported = cli("journal", result.run_id)
    assert '"event":"fired"' in exported.stdout and SECRET not in exported.stdout


def test_secrets_come_from_a_file_too(tmp_path: Path) -> None:
    f = tmp_path / "secrets.env"
    f.write_text("# comment\nAPI_TOKEN = from-the-file\n")
    assert dict(load_secrets(str(f), environ={})) == {"API_TOKEN": "from-the-file"}
    y = tmp_path / "secrets.yaml"
    y.write_text("API_TOKEN: yaml-value\nOTHER: 12345\n")
    assert dict(load_secrets(str(y), environ={"JOBWEAVE_SECRET_X": "envvalue"})) == {
        "X": "envvalue", "API_TOKEN": "yaml-value", "OTHER": "12345"}


def test_bad_secrets_are_refused_with_one_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.env"
    f.write_text("GOOD=long-enough\nnot a pair\n")
    with pytest.raises(DefinitionError, match=r"bad.env:2: expected NAME=value"):
        load_secrets(str(f), environ={})
    with pytest.raises(DefinitionError, match="at least 4 characters"):
        load_secrets(None, environ={"JOBWEAVE_SECRET_SHORT": "abc"})
    with pytest.raises(DefinitionError, match="cannot read the secrets file"):
        load_secrets(str(tmp_path / "missing"), environ={})


def test_a_secret_no_one_gave_says_how_to_give_it(tmp_path: Path, monkeypatch,
                                                 store: str) -> None:
    monkeypatch.delenv("JOBWEAVE_SECRET_API_TOKEN", raising=False)
    result = jw.run(leaky(False), store=store)
    use = {j.name: j for j in result.jobs}["use"]
    assert use.error is not None
    assert ("no secret 'API_TOKEN': set JOBWEAVE_SECRET_API_TOKEN in the environment, or "
            "give it in the secrets file") in use.error
    assert "Error:" not in use.error and "has no attribute" not in use.error


def test_a_secret_too_short_names_where_it_came_from(tmp_path: Path) -> None:
    f = tmp_path / "secrets.yaml"
    f.write_text("API_TOKEN: abc\n")
    with pytest.raises(DefinitionError) as caught:
        load_secrets(str(f), environ={"JOBWEAVE_SECRET_API_TOKEN": "long-enough"})
    assert str(caught.value).startswith(f"{f}: secret 'API_TOKEN' must be text of at least")
    with pytest.raises(DefinitionError) as caught:
        load_secrets(None, environ={"JOBWEAVE_SECRET_SHORT": "abc"})
    assert str(caught.value).startswith("JOBWEAVE_SECRET_SHORT: secret 'SHORT' must be")
