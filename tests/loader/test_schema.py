"""The published JSON Schema is current, and the documented examples follow the format."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from jobweave.loader import json_schema
from jobweave.loader.file import validate
from jobweave.loader.source import parse
from jobweave.loader.spec import ScheduleFile

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "src" / "jobweave" / "schema" / "definition.schema.json"
DOCS = ROOT / "docs" / "definitions.md"


def test_published_schema_is_current() -> None:
    expected = json.dumps(json_schema(), indent=2) + "\n"
    assert PUBLISHED.exists(), f"{PUBLISHED} is missing: run `make schema`"
    assert PUBLISHED.read_text() == expected, (
        f"{PUBLISHED.relative_to(ROOT)} is out of date with jobweave/loader/spec.py: "
        "run `make schema`")


def test_schema_describes_the_format() -> None:
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "jobweave definition"
    files = {d["$ref"].rpartition("/")[2] for d in schema["oneOf"]}
    assert files == {"BatchFile", "ScheduleFile", "FlowFile", "GraphFile"}
    defs = schema["$defs"]
    assert defs["BatchFile"]["required"] == ["jobs"]
    assert defs["BatchFile"]["additionalProperties"] is False
    # a schedule must say its kind, so exactly one of the two matches any file
    assert defs["ScheduleFile"]["required"] == ["kind", "batches"]
    assert defs["ScheduleFile"]["properties"]["kind"]["const"] == "schedule"
    assert defs["ScheduleBatch"]["required"] == ["jobs"]
    assert set(defs["FlowFile"]["required"]) == {"kind", "steps"}
    assert defs["FlowFile"]["properties"]["kind"]["const"] == "flow"
    assert defs["FlowFile"]["properties"]["mode"]["enum"] == ["serial", "parallel"]
    assert set(defs["GraphFile"]["required"]) == {"kind", "name", "nodes"}
    assert set(defs["EdgeSpec"]["required"]) == {"from", "to"}
    steps = {d.get("$ref", "").rpartition("/")[2] for d in defs["Step"]["oneOf"]}
    assert steps == {"FlowPythonJob", "FlowShellJob", "FlowSleepJob", "ChildFlow"}
    assert defs["ScheduleBatch"]["properties"]["continue_on_failure"]["type"] == "boolean"
    kinds = {d.get("$ref", "").rpartition("/")[2] for d in defs["Item"]["oneOf"]}
    assert {"PythonJob", "ShellJob", "SleepJob", "Group"} <= kinds
    retries = defs["PythonJob"]["properties"]["retries"]
    assert (retries["type"], retries["minimum"]) == ("integer", 0)


def _whole_files() -> list[str]:
    """The ```yaml blocks of the user docs that are whole definition files."""
    blocks = re.findall(r"^( *)```yaml\n(.*?)^\1```", DOCS.read_text(), flags=re.S | re.M)
    texts = [textwrap.dedent(body) for _, body in blocks]
    return [t for t in texts if re.search(r"^(jobs|batches):", t, flags=re.M)]


def test_docs_hold_examples() -> None:
    examples = _whole_files()
    assert len(examples) >= 3
    assert any(re.search(r"^kind: schedule\b", t, flags=re.M) for t in examples)


@pytest.mark.parametrize("example", _whole_files())
def test_documented_examples_follow_the_format(example: str) -> None:
    spec = validate(parse(example, "docs/definitions.md"))
    if isinstance(spec, ScheduleFile):
        assert spec.batches and all(b.jobs for b in spec.batches)
    else:
        assert spec.jobs
