"""The nesting rule of element flows, checked from recorded start and finish times."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import jobweave as jw
from tests.flows import steps

E = ["E1", "E2"]

# the expected order: a name alone runs by itself, a tuple runs at the same time
EXPECTED = {
    ("serial", "serial"): ["A[E1]", "F2/B[E1]", "F2/C[E1]", "D[E1]",
                           "A[E2]", "F2/B[E2]", "F2/C[E2]", "D[E2]"],
    ("serial", "parallel"): ["A[E1]", "F2/B[E1]", "F2/C[E1]", "D[E1]",
                             "A[E2]", "F2/B[E2]", "F2/C[E2]", "D[E2]"],
    ("parallel", "serial"): [("A[E1]", "A[E2]"), "F2/B[E1]", "F2/C[E1]", "F2/B[E2]",
                             "F2/C[E2]", ("D[E1]", "D[E2]")],
    ("parallel", "parallel"): [("A[E1]", "A[E2]"), ("F2/B[E1]", "F2/B[E2]"),
                               ("F2/C[E1]", "F2/C[E2]"), ("D[E1]", "D[E2]")],
}


def _flow(parent: str, child: str) -> jw.Flow:
    f2 = jw.flow([jw.job(steps.work, name="B"), jw.job(steps.work, name="C")],
                 mode=child, name="F2")
    return jw.flow([jw.job(steps.work, name="A"), f2, jw.job(steps.work, name="D")],
                   elements=E, mode=parent, name="F1")


@pytest.mark.parametrize(("parent", "child"), sorted(EXPECTED))
def test_steps_run_in_the_order_the_modes_give(parent: str, child: str,
                                               store_url: str) -> None:
    result = jw.run(_flow(parent, child), store=store_url, concurrency=4)
    assert result.ok, [(j.name, j.error) for j in result.jobs]
    times = {j.name: (j.started_at, j.finished_at) for j in result.jobs}
    expected = EXPECTED[(parent, child)]
    flat = [n for item in expected for n in (item if isinstance(item, tuple) else (item,))]
    assert sorted(times) == sorted(flat)
    groups = [item if isinstance(item, tuple) else (item,) for item in expected]
    for earlier, later in itertools.pairwise(groups):
        # every job of a group ends before any job of the next one starts
        assert max(times[n][1] for n in earlier) <= min(times[n][0] for n in later), \
            (earlier, later)
    for group in groups:
        if len(group) > 1:  # at the same time: their runs overlap
            assert max(times[n][0] for n in group) < min(times[n][1] for n in group), group


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_jobs_see_their_element_and_the_flow_variables(store_url: str, executor: str) -> None:
    hosts = [{"name": "db1", "context": {"role": "replica"}},
             {"name": "db2", "context": {"role": "leader"}},
             {"name": "db3", "context": {"role": "replica"}}]
    f = jw.flow([jw.job(steps.work, name="probe", seconds=0)], elements=hosts, mode="parallel",
                order_by=steps.leader_last, name="probe")
    result = jw.run(f, store=store_url, executor=executor)
    outputs = {j.name: j.output for j in result.jobs}
    # the leader sorts last; the replicas keep their order
    assert outputs == {
        "probe[db1]": {"element": "db1", "current": 0, "first": 0, "last": 2, "count": 3},
        "probe[db3]": {"element": "db3", "current": 1, "first": 0, "last": 2, "count": 3},
        "probe[db2]": {"element": "db2", "current": 2, "first": 0, "last": 2, "count": 3},
    }


def test_filter_and_reverse_shape_the_elements(store_url: str) -> None:
    f = jw.flow([jw.job(steps.work, name="s", seconds=0)], elements=["a", "b", "c", "d"],
                filter=lambda e: e["name"] != "b", reverse=True, name="f")
    result = jw.run(f, store=store_url)
    assert [j.name for j in sorted(result.jobs, key=lambda j: j.started_at or 0)] == \
        ["s[d]", "s[c]", "s[a]"]
    assert all(j.output["count"] == 3 for j in result.jobs)


def test_when_skips_a_step_without_stopping_the_flow(store_url: str) -> None:
    f = jw.flow([jw.job(steps.work, name="drain", seconds=0),
                 jw.job(steps.work, name="report", seconds=0, when=steps.is_last),
                 jw.job(steps.work, name="after", seconds=0)],
                elements=["h1", "h2", "h3"], name="upgrade")
    result = jw.run(f, store=store_url)
    status = {j.name: j.status for j in result.jobs}
    assert result.ok
    assert status["report[h3]"] == "completed"
    assert status["report[h1]"] == status["report[h2]"] == "skipped"
    assert all(status[f"after[{h}]"] == "completed" for h in ("h1", "h2", "h3"))


def test_a_child_flow_with_its_own_elements(store_url: str) -> None:
    child = jw.flow([jw.job(steps.work, name="x", seconds=0)], elements=["k1", "k2"],
                    mode="parallel", name="keys")
    f = jw.flow([jw.job(steps.work, name="a", seconds=0), child], elements=["h1"], name="p")
    result = jw.run(f, store=store_url)
    assert sorted(j.name for j in result.jobs) == ["a[h1]", "keys/x[k1]", "keys/x[k2]"]


def test_a_step_used_twice_gets_a_numbered_name(store_url: str) -> None:
    step = jw.job(steps.work, name="s", seconds=0)
    result = jw.run(jw.flow([step, step], elements=["e"], name="f"), store=store_url)
    assert sorted(j.name for j in result.jobs) == ["s[e]", "s[e]#2"]


def test_a_step_s_default_name_leaves_its_templates_out(store_url: str) -> None:
    # a parameter filled per element would name every job with the same raw template
    f = jw.flow([jw.job(steps.work, seconds="{{ current }}"), jw.job(steps.work, seconds=0)],
                elements=["a", "b"], name="f")
    result = jw.run(f, store=store_url)
    assert sorted(j.name for j in result.jobs) == ["work[0][a]", "work[0][b]", "work[a]",
                                                   "work[b]"]
    assert result.ok


def test_when_as_an_expression(store_url: str) -> None:
    f = jw.flow([jw.job(steps.work, name="first", seconds=0, when="{{ current == first }}"),
                 jw.job(steps.work, name="odd", seconds=0, when="current % 2 == 1")],
                elements=["a", "b", "c"], name="f")
    status = {j.name: j.status for j in jw.run(f, store=store_url).jobs}
    assert [n for n, s in sorted(status.items()) if s == "completed"] == \
        ["first[a]", "odd[b]"]


def test_step_commands_and_parameters_are_filled_per_element(store_url: str,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "said.txt"
    f = jw.flow([jw.shell(f"echo 'draining {{{{ element.name }}}} "
                          f"({{{{ current + 1 }}}}/{{{{ last + 1 }}}})' >> {out}", name="drain"),
                 jw.job(steps.say, name="role", label="{{ element.context.role }}")],
                elements=[{"name": "db1", "context": {"role": "replica"}},
                          {"name": "db2", "context": {"role": "leader"}}], name="f")
    result = jw.run(f, store=store_url)
    assert result.ok, [(j.name, j.error) for j in result.jobs]
    assert out.read_text().splitlines() == ["draining db1 (1/2)", "draining db2 (2/2)"]
    outputs = {j.name: j.output for j in result.jobs if j.name.startswith("role")}
    assert outputs == {"role[db1]": "replica", "role[db2]": "leader"}


def test_a_bad_step_template_is_refused_before_anything_runs(store_url: str) -> None:
    f = jw.flow([jw.shell("echo {{ element.name.__class__ }}", name="x")],
                elements=["a"], name="f")
    with pytest.raises(jw.DefinitionError, match=r"x\[a\]\.shell"):
        jw.run(f, store=store_url)
