"""Flow definition files (``kind: flow``): they load into the same flows Python builds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.errors import DefinitionError
from jobweave.loader import load_file
from tests.flows import steps

HOSTS = [{"name": "db1", "context": {"role": "replica"}},
         {"name": "db2", "context": {"role": "leader"}},
         {"name": "db3", "context": {"role": "replica"}}]

WORK = "tests.flows.steps:work"

UPGRADE = f"""\
kind: flow
name: upgrade
mode: serial
elements:
  - {{name: db1, context: {{role: replica}}}}
  - {{name: db2, context: {{role: leader}}}}
  - {{name: db3, context: {{role: replica}}}}
order_by: "element.context.role == 'leader'"
steps:
  - {{name: drain, target: "{WORK}", params: {{seconds: 0}}}}
  - flow:
      name: restart
      mode: parallel
      steps:
        - {{name: stop, target: "{WORK}", params: {{seconds: 0}}}}
        - {{name: start, target: "{WORK}", params: {{seconds: 0}}}}
  - flow: check.yaml
  - {{name: report, target: "{WORK}", params: {{seconds: 0}}, when: "{{{{ current == last }}}}"}}
"""

CHECK = f"""\
kind: flow
name: check
steps:
  - {{name: probe, target: "{WORK}", params: {{seconds: 0}}}}
"""


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def _order(result: jw.RunResult) -> list[str]:
    ran = [j for j in result.jobs if j.started_at is not None]
    return [j.name for j in sorted(ran, key=lambda j: j.started_at or 0)]


def test_a_yaml_flow_runs_like_its_python_twin(tmp_path: Path, store_url: str) -> None:
    _write(tmp_path, "check.yaml", CHECK)
    loaded = load_file(_write(tmp_path, "upgrade.yaml", UPGRADE))
    assert isinstance(loaded, jw.Flow)

    def work(name: str, **extra: object) -> jw.Job:
        return jw.job(steps.work, name=name, seconds=0, **extra)  # type: ignore[arg-type]

    restart = jw.flow([work("stop"), work("start")], mode="parallel", name="restart")
    check = jw.flow([work("probe")], name="check")
    twin = jw.flow([work("drain"), restart, check, work("report", when=steps.is_last)],
                   elements=HOSTS, mode="serial", name="upgrade", order_by=steps.leader_last)

    from_file = jw.run(loaded, store=store_url)
    from_python = jw.run(twin, store=str(tmp_path / "twin.db"))
    assert from_file.ok and from_python.ok
    assert [j.name for j in from_file.jobs] == [j.name for j in from_python.jobs]
    assert _order(from_file) == _order(from_python)
    assert _order(from_file)[:5] == ["drain[db1]", "restart/stop[db1]", "restart/start[db1]",
                                      "check/probe[db1]", "drain[db3]"]  # the leader last
    status = {j.name: j.status for j in from_file.jobs}
    assert status["report[db2]"] == "completed"
    assert status["report[db1]"] == status["report[db3]"] == "skipped"


def test_filter_order_by_reverse_and_when_expressions(tmp_path: Path, store_url: str) -> None:
    path = _write(tmp_path, "f.yaml", f"""\
kind: flow
elements:
  - {{name: a, context: {{rank: 3, zone: x}}}}
  - {{name: b, context: {{rank: 1, zone: y}}}}
  - {{name: c, context: {{rank: 2, zone: x}}}}
  - d
  - 7
  - {{name: 8}}
filter: "{{{{ element.context.zone is defined }}}}"
order_by: element.context.rank
reverse: true
steps:
  - {{name: s, target: "{WORK}", params: {{seconds: 0}}, when: "element.context.zone == 'x'"}}
""")
    result = jw.run(load_file(path), store=store_url)
    assert [j.name for j in result.jobs] == ["s[a]", "s[c]", "s[b]"]
    assert {j.name: j.status for j in result.jobs}["s[b]"] == "skipped"
    assert result.job("s[a]").output["count"] == 3


def test_elements_from_a_csv_file_next_to_the_definition(tmp_path: Path,
                                                         store_url: str) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "hosts.csv").write_text("name,role\nweb1,edge\nweb2,core\nweb3,edge\n")
    path = _write(folder, "f.yaml", f"""\
kind: flow
mode: parallel
elements: hosts.csv
filter: "element.context.role == 'edge'"
steps:
  - {{name: s, target: "{WORK}", params: {{seconds: 0}}}}
""")
    os.chdir(tmp_path)  # the file is found from the definition's folder, not the cwd
    result = jw.run(load_file(path), store=store_url)
    assert result.ok
    assert [j.name for j in result.jobs] == ["s[web1]", "s[web3]"]


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("kind: flow\nelements: [a]\nmode: sideways\nsteps: [{shell: echo}]\n",
     3, "mode", "must be 'serial' or 'parallel'"),
    ("kind: flow\nelements: [a]\nfilter: 'element.name =='\nsteps: [{shell: echo}]\n",
     3, "filter", "end of template"),
    ("kind: flow\nelements: [a]\nsteps:\n  - shell: echo\n    when: '{{ current == }}'\n",
     5, "steps[0].when", "unexpected"),
    ("kind: flow\nelements: [a]\nsteps:\n  - shell: echo\n    whenn: x\n",
     5, "steps[0].whenn", "did you mean 'when'?"),
    ("kind: flow\nelements: [a]\nsteps:\n  - flow: {steps: [{shell: echo}], bogus: 1}\n",
     4, "steps[0].flow.bogus", "unknown field 'bogus' for a child flow"),
    ("kind: flow\nelements: [{name: a, ctx: 1}]\nsteps: [{shell: echo}]\n",
     2, "elements[0].ctx", "did you mean 'context'?"),
    ("kind: flow\nelements: [a]\nsteps:\n  - shell: echo\n  - {shell: echo, sleep: 1}\n",
     5, "steps[1]", "give exactly one of target, shell, sleep, flow"),
    ("kind: flow\nelements: [a]\nsteps:\n  - {shell: echo, after: x}\n",
     4, "steps[0].after", "a flow orders its steps itself"),
    ("kind: flow\nsteps: [{shell: echo}]\n", 1, None, "needs elements"),
    ("kind: flow\nelements: [a]\nsteps:\n  - shell: echo\n  - flow: none.yaml\n",
     5, "steps[1].flow", "none.yaml: no such file"),
])
def test_errors_name_the_line_and_field(tmp_path: Path, text: str, line: int,
                                        field: str | None, words: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_file(_write(tmp_path, "bad.yaml", text))
    exc = caught.value
    assert (exc.line, exc.field) == (line, field), str(exc)
    assert words in exc.message
    assert str(exc).startswith(f"{tmp_path / 'bad.yaml'}:{line}:")


def test_an_expression_failing_on_an_element_names_the_file(tmp_path: Path,
                                                             store_url: str) -> None:
    path = _write(tmp_path, "f.yaml", "kind: flow\nelements: [a]\n"
                  "order_by: element.context.x.y\nsteps: [{shell: echo}]\n")
    with pytest.raises(DefinitionError) as caught:
        jw.run(load_file(path), store=store_url)
    assert (caught.value.path, caught.value.line, caught.value.field) == (path, 3, "order_by")
    assert "on element 'a'" in caught.value.message


@pytest.mark.parametrize(("step", "line", "field", "words"), [
    ("  - {name: s, shell: 'echo {{ element.nme }}'}\n", 5, "steps[0].shell",
     "has no attribute 'nme'"),
    ("  - name: s\n    shell: 'echo {{ element.__class__ }}'\n", 6, "steps[0].shell",
     "unsafe"),
    ("  - shell: echo\n  - flow:\n      steps:\n        - target: os.path:join\n"
     "          params: {a: '{{ element.context.x }}'}\n", 9,
     "steps[1].flow.steps[0].params.a", "has no attribute 'x'"),
])
def test_a_template_failing_on_an_element_names_its_line(
        tmp_path: Path, store_url: str, step: str, line: int, field: str, words: str) -> None:
    path = _write(tmp_path, "f.yaml", "kind: flow\nname: f\nelements: [a, b]\nsteps:\n" + step)
    flow = load_file(path)  # found only when the elements are known: as the run is made
    with pytest.raises(DefinitionError) as caught:
        jw.run(flow, store=store_url)
    exc = caught.value
    assert (exc.path, exc.line, exc.field) == (path, line, field), str(exc)
    assert exc.message.startswith("element 'a': ") and words in exc.message
    assert str(exc).startswith(f"{path}:{line}: {field}: element 'a': ")
    assert jw.runs(store=store_url) == []  # nothing was stored


def test_a_flow_file_that_refers_to_itself_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "kind: flow\nelements: [x]\nsteps:\n  - shell: echo\n"
           "  - flow: sub/b.yaml\n")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "b.yaml", "kind: flow\nsteps:\n  - flow: ../a.yaml\n")
    with pytest.raises(DefinitionError) as caught:
        load_file(str(tmp_path / "a.yaml"))
    exc = caught.value
    assert exc.path == str(tmp_path / "sub" / "b.yaml")
    assert (exc.line, exc.field) == (3, "steps[0].flow")
    assert "refers back to itself (a.yaml -> b.yaml -> a.yaml)" in exc.message
    _write(tmp_path, "c.yaml", "kind: flow\nelements: [x]\nsteps:\n  - flow: c.yaml\n")
    with pytest.raises(DefinitionError, match="refers back to itself"):
        load_file(str(tmp_path / "c.yaml"))


def test_a_referenced_file_must_be_a_flow(tmp_path: Path) -> None:
    _write(tmp_path, "batch.yaml", "jobs: [{shell: echo}]\n")
    path = _write(tmp_path, "f.yaml", "kind: flow\nelements: [x]\nsteps:\n"
                  "  - flow: batch.yaml\n")
    with pytest.raises(DefinitionError, match="is not a flow file") as caught:
        load_file(path)
    assert caught.value.line == 4


def test_files_reused_many_times_over_are_refused_quickly(tmp_path: Path) -> None:
    """f0 uses f1 twice, f1 uses f2 twice, ...: 2**40 steps if expanded. Each file is read
    once and the expanded size is counted as it grows, so the load stops at the limit."""
    import time

    from jobweave.loader.limits import MAX_FLOW_STEPS

    depth = 40
    for k in range(depth):
        head = "kind: flow\nelements: [x]\n" if k == 0 else "kind: flow\n"
        _write(tmp_path, f"f{k}.yaml", head + f"steps:\n  - flow: f{k + 1}.yaml\n"
               f"  - flow: f{k + 1}.yaml\n")
    _write(tmp_path, f"f{depth}.yaml", "kind: flow\nsteps: [{shell: echo}]\n")
    started = time.monotonic()
    with pytest.raises(DefinitionError, match=f"more than {MAX_FLOW_STEPS} steps") as caught:
        load_file(str(tmp_path / "f0.yaml"))
    assert time.monotonic() - started < 2
    # 2**14 > 10,000: the file whose flow first grows past the limit is reported
    assert caught.value.path == str(tmp_path / f"f{depth - 14}.yaml")
    assert (caught.value.line, caught.value.field) == (2, "steps")
    # below the limit a shared file is fine, and built once
    _write(tmp_path, "g.yaml", "kind: flow\nelements: [x]\nsteps:\n  - flow: f38.yaml\n"
           "  - flow: f38.yaml\n")
    loaded = load_file(str(tmp_path / "g.yaml"))
    assert isinstance(loaded, jw.Flow)
    assert loaded.steps[0] is loaded.steps[1]
