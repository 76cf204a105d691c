"""Every kind of bad definition file: one DefinitionError with the right line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobweave.errors import CycleError, DefinitionError, ReferenceError_
from jobweave.loader import load_file

CASES = [
    # (id, file text, line, field, words in the message, error class)
    ("yaml-syntax", "jobs:\n  - shell: echo\n    retries: [1, 2\n  - shell: x\n",
     4, None, "invalid YAML", DefinitionError),
    ("tab-indent", "jobs:\n\t- shell: x\n", 2, None, "invalid YAML", DefinitionError),
    ("unknown-field", "jobs:\n  - shell: echo\n    retires: 2\n",
     3, "jobs[0].retires", "unknown field 'retires' for a shell job; did you mean 'retries'?",
     DefinitionError),
    ("unknown-top-field", "name: x\njbos: []\n",
     2, "jbos", "unknown field 'jbos'; did you mean 'jobs'?", DefinitionError),
    ("negative-retries",
     "jobs:\n  - shell: a\n  - shell: b\n  - target: tests.jobs:add\n    retries: -1\n",
     5, "jobs[2].retries", "must be >= 0, got -1", DefinitionError),
    ("wrong-type", "jobs:\n  - shell: echo\n    timeout: soon\n",
     3, "jobs[0].timeout", "expected a number, got 'soon' (text)", DefinitionError),
    ("quoted-number", "jobs:\n  - sleep: 1\n    name: n\n  - shell: x\n    retries: '2'\n",
     5, "jobs[1].retries", "expected a whole number", DefinitionError),
    ("backoff-below-one", "jobs:\n  - target: tests.jobs:add\n    backoff: 0.5\n",
     3, "jobs[0].backoff", "must be >= 1", DefinitionError),
    ("env-not-text", "jobs:\n  - batch:\n    - [ {shell: a}, {shell: b, env: {A: 1}} ]\n",
     3, "jobs[0].batch[0][1].env.A", "expected text", DefinitionError),
    ("unknown-module", "jobs:\n  - shell: echo\n  - target: nosuch.module:fn\n",
     3, "jobs[1].target", "cannot import 'nosuch.module'", ReferenceError_),
    ("unknown-function", "jobs:\n  - target: tests.jobs:nosuch\n",
     2, "jobs[0].target", "has no 'nosuch'", ReferenceError_),
    ("misspelt-function", "jobs:\n  - shell: echo\n  - target: tests.jobs:totl\n",
     3, "jobs[1].target", "tests.jobs has no 'totl'; did you mean 'total'?", ReferenceError_),
    ("missing-file", "jobs:\n  - target: missing.py:fn\n",
     2, "jobs[0].target", "no such Python file", ReferenceError_),
    ("bad-target-form", "jobs:\n  - target: nocolon\n",
     2, "jobs[0].target", "must look like 'package.module:function'", DefinitionError),
    ("duplicate-name", "jobs:\n  - {shell: a, name: x}\n  - {shell: b, name: x}\n",
     3, "jobs[1].name", "duplicate name 'x' (first used on line 2)", DefinitionError),
    ("group-name-clash", "jobs:\n  - {shell: a, name: x}\n  - name: x\n    batch: [{shell: b}]\n",
     3, "jobs[1].name", "duplicate name 'x'", DefinitionError),
    ("unknown-after", "jobs:\n  - {shell: a, name: setup}\n  - shell: b\n    after: [setpu]\n",
     4, "jobs[1].after[0]", "no job or group named 'setpu' in this file; did you mean 'setup'?",
     DefinitionError),
    ("unknown-output",
     "jobs:\n  - {shell: a, name: a}\n  - target: tests.jobs:total\n    params:\n"
     "      parts: {output: [a, b]}\n",
     5, "jobs[1].params.parts.output[1]", "no job or group named 'b'", DefinitionError),
    ("bad-output", "jobs:\n  - target: tests.jobs:total\n    params:\n      parts: {output: 5}\n",
     4, "jobs[0].params.parts.output", "output takes a job name", DefinitionError),
    ("cycle",
     "jobs:\n  - {shell: a, name: a, after: c}\n  - {shell: b, name: b, after: a}\n"
     "  - {shell: c, name: c, after: b}\n",
     2, "jobs[0]", "dependency cycle: a -> b -> c -> a", CycleError),
    ("cycle-through-group",
     "jobs:\n  - {shell: a, name: a}\n  - name: g\n    after: a\n    batch:\n"
     "      - {shell: b, name: b, after: g}\n",
     6, "jobs[1].batch[0]", "dependency cycle: b -> b", CycleError),
    ("two-kinds", "jobs:\n  - {shell: a, target: 'x:y'}\n",
     2, "jobs[0]", "an item has 'target' and 'shell'", DefinitionError),
    ("no-kind", "jobs:\n  - shell: a\n  - name: lonely\n",
     3, "jobs[1]", "an item needs one of target, shell, sleep, batch (it has 'name')",
     DefinitionError),
    ("not-a-job", "jobs:\n  - 5\n", 2, "jobs[0]", "expected a job", DefinitionError),
    ("no-jobs", "name: x\njobs: []\n", 2, "jobs", "needs at least 1 item", DefinitionError),
    ("missing-jobs", "name: x\n", 1, "jobs", "this field is required", DefinitionError),
    ("top-is-a-list", "- shell: x\n", 1, None, "must hold a mapping", DefinitionError),
    ("empty-file", "", 1, None, "the file is empty", DefinitionError),
    ("duplicate-key", "jobs:\n  - shell: a\n    shell: b\n",
     3, "jobs[0].shell", "duplicate key 'shell' (first on line 2)", DefinitionError),
    ("infinite", "jobs:\n  - sleep: .inf\n", 2, "jobs[0].sleep", "finite", DefinitionError),
    ("blank-command", "jobs:\n  - shell: '  '\n", 2, "jobs[0].shell", "must not be blank",
     DefinitionError),
    ("zero-concurrency", "concurrency: 0\njobs: [{shell: x}]\n",
     1, "concurrency", "must be >= 1, got 0", DefinitionError),
    ("unknown-kind", "kind: flows\njobs: [{shell: x}]\n",
     1, "kind", "must be 'batch', 'schedule', 'flow' or 'graph', got 'flows'", DefinitionError),
    ("kind-not-text", "name: x\nkind: [schedule]\n",
     2, "kind", "must be 'batch', 'schedule', 'flow' or 'graph', got ['schedule']",
     DefinitionError),
    ("key-not-text", "jobs:\n  - target: tests.jobs:add\n    params: {1: 2}\n",
     3, "jobs[0].params", "a key must be text", DefinitionError),
    ("several-problems", "jobs:\n  - shell: x\n    timeout: -1\n    retries: -1\n",
     3, "jobs[0].timeout", "(and 1 more problem)", DefinitionError),
]


S = "kind: schedule\nbatches:\n"
"""The start of a schedule file; its first batch starts on line 3."""

SCHEDULE_CASES = [
    ("no-batches", "kind: schedule\nname: x\nbatches: []\n",
     3, "batches", "needs at least 1 item", DefinitionError),
    ("missing-batches", "kind: schedule\nname: x\n",
     1, "batches", "this field is required", DefinitionError),
    ("empty-batch", S + "  - jobs: [{shell: a}]\n  - name: second\n    jobs: []\n",
     5, "batches[1].jobs", "needs at least 1 item", DefinitionError),
    ("batch-without-jobs", S + "  - name: lonely\n",
     3, "batches[0].jobs", "this field is required", DefinitionError),
    ("unknown-batch-field", S + "  - name: a\n    jbos: [{shell: a}]\n",
     4, "batches[0].jbos",
     "unknown field 'jbos' for a batch of a schedule; did you mean 'jobs'?", DefinitionError),
    ("unknown-schedule-field", "kind: schedule\nbatchs: [{jobs: [{shell: a}]}]\n",
     2, "batchs", "unknown field 'batchs'; did you mean 'batches'?", DefinitionError),
    ("jobs-in-a-schedule", "kind: schedule\nname: x\njobs: [{shell: a}]\n",
     3, "jobs", "unknown field 'jobs' (allowed: kind, name, concurrency, batches, triggers)",
     DefinitionError),
    ("batches-without-kind", "name: x\nbatches: [{jobs: [{shell: a}]}]\n",
     2, "batches", "unknown field 'batches'; a file of batches needs 'kind: schedule'",
     DefinitionError),
    ("unknown-job-field-in-batch", S + "  - jobs:\n      - shell: a\n        retires: 1\n",
     5, "batches[0].jobs[0].retires", "did you mean 'retries'?", DefinitionError),
    ("not-a-boolean", S + "  - continue_on_failure: maybe\n    jobs: [{shell: a}]\n",
     3, "batches[0].continue_on_failure", "expected true or false, got 'maybe'",
     DefinitionError),
    ("schedule-concurrency", "kind: schedule\nconcurrency: -1\nbatches: [{jobs: [{shell: a}]}]\n",
     2, "concurrency", "must be >= 1, got -1", DefinitionError),
    ("forward-after", S + "  - jobs:\n      - {shell: a, after: [load]}\n"
     "  - jobs:\n      - {shell: b, name: load}\n",
     4, "batches[0].jobs[0].after[0]",
     "job 'load' is in a later batch (batches[1], line 6); a job may only wait for jobs of "
     "its own batch or an earlier one", DefinitionError),
    ("forward-output", S + "  - jobs:\n      - {shell: a}\n      - target: tests.jobs:total\n"
     "        params:\n          parts: {output: [pair]}\n"
     "  - jobs:\n      - name: pair\n        batch: [{shell: b}, {shell: c}]\n",
     7, "batches[0].jobs[1].params.parts.output[0]", "group 'pair' is in a later batch",
     DefinitionError),
    ("forward-batch-name", S + "  - jobs:\n      - {shell: a, after: tail}\n"
     "  - name: tail\n    jobs: [{shell: b}]\n",
     4, "batches[0].jobs[0].after[0]", "batch 'tail' is in a later batch (batches[1], line 5)",
     DefinitionError),
    ("own-batch", S + "  - name: setup\n    jobs:\n      - {shell: a, after: setup}\n",
     5, "batches[0].jobs[0].after[0]", "'setup' is the job's own batch", DefinitionError),
    ("unknown-name-in-schedule", S + "  - jobs: [{shell: a, name: setup}]\n"
     "  - jobs:\n      - {shell: b, after: [setpu]}\n",
     5, "batches[1].jobs[0].after[0]",
     "no job or group named 'setpu' in this file; did you mean 'setup'?", DefinitionError),
    ("duplicate-across-batches", S + "  - jobs:\n      - {shell: a, name: load}\n"
     "  - jobs:\n      - {shell: b}\n      - {shell: c, name: load}\n",
     7, "batches[1].jobs[1].name", "duplicate name 'load' (first used on line 4)",
     DefinitionError),
    ("batch-name-clash", S + "  - name: setup\n    jobs: [{shell: a}]\n"
     "  - jobs:\n      - {shell: b, name: setup}\n",
     6, "batches[1].jobs[0].name", "duplicate name 'setup' (first used on line 3)",
     DefinitionError),
    ("cycle-in-a-batch", S + "  - jobs: [{shell: a}]\n  - jobs:\n"
     "      - {shell: b, name: b, after: c}\n      - {shell: c, name: c, after: b}\n",
     5, "batches[1].jobs[0]", "dependency cycle: b -> c -> b", CycleError),
    ("bad-target-in-batch", S + "  - jobs: [{shell: a}]\n  - jobs:\n"
     "      - target: tests.jobs:nosuch\n",
     5, "batches[1].jobs[0].target", "has no 'nosuch'", ReferenceError_),
]


def _refused(folder: Path, text: str) -> tuple[DefinitionError, Path]:
    """The error loading ``text`` as a definition file raises, and the file."""
    path = folder / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        load_file(str(path))
    return caught.value, path


@pytest.mark.parametrize(("text", "line", "field", "words", "cls"),
                         [c[1:] for c in CASES + SCHEDULE_CASES],
                         ids=[c[0] for c in CASES + SCHEDULE_CASES])
def test_bad_yaml(tmp_path: Path, text: str, line: int, field: str | None, words: str,
                  cls: type[DefinitionError]) -> None:
    err, path = _refused(tmp_path, text)
    assert type(err) is cls
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert words in err.message
    shown = str(err)
    assert "\n" not in shown
    assert shown.startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(("text", "line", "words"), [
    ('{"jobs": [\n  {"shell": "x",\n   "retries": 2,}\n]}', 3, "invalid JSON"),
    ('{"jobs": [\n  {"shell": "x", "retries": 1.5}\n]}', 2, "expected a whole number"),
    ('{"jobs": [\n  {"shell": "x"},\n  {"shell": "y", "shell": "z"}\n]}', 3, "duplicate key"),
], ids=["syntax", "wrong-type", "duplicate-key"])
def test_bad_json(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DefinitionError) as caught:
        load_file(str(path))
    assert caught.value.line == line
    assert words in caught.value.message


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no such file"):
        load_file(str(tmp_path / "absent.yaml"))
    other = tmp_path / "notes.txt"
    other.write_text("jobs: []")
    with pytest.raises(DefinitionError, match=r"must end in \.yaml, \.yml or \.json"):
        load_file(str(other))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\njobs: [{shell: x}]\n")
    with pytest.raises(DefinitionError, match="not UTF-8"):
        load_file(str(latin))


@pytest.mark.parametrize(("text", "line", "field", "words", "more", "cls"), [
    ("jobs:\n  - {name: a, target: 'tests.jobs:nosuch'}\n"
     "  - {name: b, target: 'tests.jobs:add', params: {zz: 1}}\n"
     "  - {name: c, shell: echo, after: [nope]}\n",
     2, "jobs[0].target", "has no 'nosuch'", 2, ReferenceError_),
    ("jobs:\n  - {name: c, shell: echo, after: [nope]}\n"
     "  - {name: a, target: 'tests.jobs:nosuch'}\n",
     2, "jobs[0].after[0]", "no job or group named 'nope'", 1, DefinitionError),
    ("jobs:\n  - {name: a, shell: echo}\n  - {name: a, shell: echo, after: [x]}\n"
     "  - {name: b, shell: echo, after: [y]}\n",
     3, "jobs[1].name", "duplicate name 'a'", 2, DefinitionError),
    ("kind: flow\nelements: [e]\nsteps:\n  - {name: a, target: 'tests.jobs:nosuch'}\n"
     "  - flow:\n      steps:\n        - {name: b, target: 'tests.jobs:add', params: {q: 1}}\n"
     "  - {name: c, shell: echo, when: '= =='}\n",
     4, "steps[0].target", "has no 'nosuch'", 2, DefinitionError),
], ids=["batch", "file-order", "names", "flow"])
def test_every_problem_of_names_and_references_is_counted_the_first_reported(
        tmp_path: Path, text: str, line: int, field: str, words: str, more: int,
        cls: type[DefinitionError]) -> None:
    err, _ = _refused(tmp_path, text)
    assert (type(err), err.line, err.field) == (cls, line, field), str(err)
    assert words in err.message
    assert err.message.endswith(f"(and {more} more problem{'s' if more > 1 else ''})")
