"""The definition file format, as pydantic models: validation and the JSON Schema.

A file holds one top-level mapping whose ``kind`` says what it defines:

* ``batch`` (the default): a run name, a concurrency limit and a list of ``jobs``;
* ``schedule``: a run name, a concurrency limit and an ordered list of ``batches``, each
  with its own ``jobs`` (and an optional label and ``continue_on_failure``);
* ``flow``: ``steps`` (jobs and child flows) applied to ``elements`` in a ``mode``;
* ``graph``: ``nodes`` and ``edges`` (:mod:`jobweave.loader.graph_spec`).

The union of the kinds is :data:`jobweave.loader.kinds.DefinitionFile`.

Each item of a ``jobs`` list is one of

* a Python job (``target:``), a shell job (``shell:``), a sleep (``sleep:``),
* a group (``batch:``) of further items, flattened into the same run,
* a plain list of further items, flattened as well.

Which one an item is follows from the one key among ``target``/``shell``/``sleep``/
``batch`` that it holds; the models forbid unknown fields, so a typo is an error.

These models only describe and check the *shape* of a file. Names, references between
jobs and ``module:function`` targets are checked by :mod:`jobweave.loader.build`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
)
from typing_extensions import TypeAliasType

from jobweave.loader.file_triggers import TriggerData
from jobweave.model.job import MAX_NAME, NAME_PATTERN

ITEM_KEYS = {"target": "python-job", "shell": "shell-job", "sleep": "sleep-job",
             "batch": "group"}
"""The key that makes an item what it is → the tag pydantic reports it under."""

LIST_TAG = "list"
"""The tag of an item that is a plain list of further items."""

BINDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "OutputBinding",
    "description": "Pass other jobs' outputs: {output: name} gives that job's output, "
                   "{output: [a, b]} (or a group's name) the list of their outputs.",
    "properties": {"output": {"anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]}},
    "required": ["output"],
    "additionalProperties": False,
}


def _one_or_many(value: Any) -> Any:
    """Let ``after: setup`` stand for ``after: [setup]`` (and the same for ``tags``)."""
    return [value] if isinstance(value, str) else value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN)]
Names = Annotated[
    list[Annotated[str, Field(min_length=1)]],
    BeforeValidator(_one_or_many, json_schema_input_type=Union[str, list[str]]),  # noqa: UP007
]
Labels = Annotated[
    list[str],
    BeforeValidator(_one_or_many, json_schema_input_type=Union[str, list[str]]),  # noqa: UP007
]
Seconds = Annotated[float, Field(ge=0)]
ParamValue = Annotated[Any, WithJsonSchema({"anyOf": [BINDING_SCHEMA, {}]})]

_NAME = "Unique name in the file; other jobs refer to it in `after` and `output`."
_AFTER = "Names of jobs or groups that must complete first (one name or a list)."
_TAGS = "Free labels, used by selectors and shown in listings."
_RETRIES = "How many times a faulted attempt is tried again."
_RETRY_DELAY = "Seconds before the first retry."
_BACKOFF = "Each further retry waits this many times longer than the one before (>= 1)."
_TIMEOUT = "Seconds one attempt may run before it is faulted."
_RUN_ANYWAY = "Run even when a job it depends on did not complete (instead of being skipped)."


class _Spec(BaseModel):
    # strict: YAML already gives typed values, so "2" is not quietly taken for 2
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Attempted(_Spec):
    """What every job that runs code has: a name, retries, a timeout, tags, dependencies."""

    name: Name | None = Field(None, description=_NAME)
    retries: int = Field(0, ge=0, description=_RETRIES)
    retry_delay: Seconds = Field(0.0, description=_RETRY_DELAY)
    backoff: float = Field(1.0, ge=1, description=_BACKOFF)
    timeout: float | None = Field(None, gt=0, description=_TIMEOUT)
    tags: Labels = Field(default_factory=list, description=_TAGS)
    after: Names = Field(default_factory=list, description=_AFTER)
    run_anyway: bool = Field(False, description=_RUN_ANYWAY)


class PythonJob(_Attempted):
    """A job that calls a Python function."""

    target: str = Field(pattern=r"^[^:]+:[^:]+$", description=(
        "'package.module:function' or 'path/file.py:function' (a relative path is relative "
        "to the folder of the definition file)."))
    params: dict[str, ParamValue] = Field(default_factory=dict, description=(
        "Keyword arguments of the function. A value {output: ...} passes other jobs' outputs."))
    execute_when_recovering: bool = Field(False, description=(
        "Invoke this job even when a recovered journal already holds its outputs."))


class ShellJob(_Attempted):
    """A job that runs a shell command; a non-zero exit status faults it."""

    shell: str = Field(min_length=1, pattern=r"\S", description="The command line.")
    cwd: str | None = Field(None, description=(
        "Working folder (a relative path is relative to the definition file's folder)."))
    env: dict[str, str] | None = Field(None, description="Extra environment variables.")


class SleepJob(_Spec):
    """A job that waits a number of seconds."""

    name: Name | None = Field(None, description=_NAME)
    sleep: Seconds = Field(description="Seconds to wait.")
    tags: Labels = Field(default_factory=list, description=_TAGS)
    after: Names = Field(default_factory=list, description=_AFTER)


class Group(_Spec):
    """Items run in the same run; the group's name, ``after`` and ``tags`` apply to each."""

    name: Name | None = Field(None, description=(
        "Unique name in the file; referring to it means every job of the group."))
    batch: list[Item] = Field(min_length=1, description="The items of the group (flattened).")
    tags: Labels = Field(default_factory=list, description="Labels added to every job.")
    after: Names = Field(default_factory=list, description=(
        "Names of jobs or groups that every job of the group waits for."))


def item_tag(value: Any) -> str | None:
    """Which kind of item ``value`` is (None when it cannot tell: a clear error follows)."""
    if isinstance(value, list):
        return LIST_TAG
    if isinstance(value, dict):
        found = [tag for key, tag in ITEM_KEYS.items() if key in value]
        return found[0] if len(found) == 1 else None
    return None


if TYPE_CHECKING:  # mypy reads the plain recursive alias; pydantic needs the tagged one
    Item: TypeAlias = Union[PythonJob, ShellJob, SleepJob, Group, list["Item"]]  # noqa: UP007
else:
    Item = TypeAliasType("Item", Annotated[
        Union[  # noqa: UP007 - the tagged members read better stacked
            Annotated[PythonJob, Tag("python-job")],
            Annotated[ShellJob, Tag("shell-job")],
            Annotated[SleepJob, Tag("sleep-job")],
            Annotated[Group, Tag("group")],
            Annotated[list["Item"], Tag(LIST_TAG)],
        ],
        Discriminator(item_tag, custom_error_type="item_kind",
                      custom_error_message="an item needs exactly one of target, shell, "
                                           "sleep, batch"),
    ])
"""One entry of a ``jobs`` or ``batch`` list."""

Leaf = PythonJob | ShellJob | SleepJob
"""The items that become one job each."""

TAG_MODELS: dict[str, type[_Spec]] = {
    "python-job": PythonJob, "shell-job": ShellJob, "sleep-job": SleepJob, "group": Group,
}
"""Tag → model, to name the allowed fields when an unknown one shows up."""


_FILE_NAME = "The run's name (shown in listings)."
_CONCURRENCY = ("How many jobs run at once, unless the caller says otherwise "
                "(e.g. `jobweave run --concurrency`).")
_SCHEMA = "The JSON Schema this file follows (for editors); ignored by jobweave."
_TRIGGERS = ("When `jobweave serve` starts a run of this file: each entry has one of `cron`, "
             "`every`, `at` (see docs/triggers.md). Not part of the run's definition.")


class BatchFile(_Spec):
    """A file of ``kind: batch``: jobs (and nested lists and groups) run concurrently."""

    model_config = ConfigDict(title="Batch file")

    schema_: str | None = Field(None, alias="$schema", description=_SCHEMA)
    kind: Literal["batch"] = Field("batch", description="What the file defines (the default).")
    name: Name | None = Field(None, description=_FILE_NAME)
    concurrency: int | None = Field(None, ge=1, description=_CONCURRENCY)
    jobs: list[Item] = Field(min_length=1, description=(
        "The jobs; items may be nested lists and groups, which are flattened."))
    triggers: list[TriggerData] = Field(default_factory=list, description=_TRIGGERS)


class ScheduleBatch(_Spec):
    """One batch of a schedule: its jobs run concurrently once the batch before completed."""

    name: Name | None = Field(None, description=(
        "A label for the batch; also a name that stands for every job of the batch in "
        "`after` and `output`."))
    continue_on_failure: bool = Field(False, description=(
        "Start the next batch even if a job of this one did not complete."))
    jobs: list[Item] = Field(min_length=1, description=(
        "The batch's jobs; `after` and `output` may name jobs of this or earlier batches."))


class ScheduleFile(_Spec):
    """A file of ``kind: schedule``: batches that run one after another."""

    model_config = ConfigDict(title="Schedule file")

    schema_: str | None = Field(None, alias="$schema", description=_SCHEMA)
    kind: Literal["schedule"] = Field(description="What the file defines.")
    name: Name | None = Field(None, description=_FILE_NAME)
    concurrency: int | None = Field(None, ge=1, description=_CONCURRENCY)
    batches: list[ScheduleBatch] = Field(min_length=1, description=(
        "The batches, in the order they run; job names are unique across all of them."))
    triggers: list[TriggerData] = Field(default_factory=list, description=_TRIGGERS)


_WHEN = ("Run this step only where the expression is true of the job's context "
         "(`current == last`, or a template `{{ current == last }}`); see docs/flows.md.")
_STEP_TOLERATES = "A fault of this step does not stop the steps after it."
_FLOW_EXPR = ("An expression over `element` (its `name` and `context`), or a template "
              "`{{ ... }}`; see docs/expressions.md.")


class _Step(_Spec):
    """What a job step of a flow adds to a job item."""

    when: str | None = Field(None, min_length=1, description=_WHEN)
    continue_on_failure: bool = Field(False, description=_STEP_TOLERATES)


class FlowPythonJob(PythonJob, _Step):
    """A step that calls a Python function."""


class FlowShellJob(ShellJob, _Step):
    """A step that runs a shell command."""


class FlowSleepJob(SleepJob, _Step):
    """A step that waits."""


def _number_as_text(value: Any) -> Any:
    """An element named ``7`` is named ``"7"``."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ElementName = Annotated[
    str, Field(min_length=1, pattern=r"\S"),
    BeforeValidator(_number_as_text, json_schema_input_type=Union[str, int]),  # noqa: UP007
]


class ElementSpec(_Spec):
    """One element: a name and a mapping of attributes."""

    name: ElementName = Field(
        description="The element's name (in job names: `step[name]`); a number is read as text.")
    context: dict[str, Any] = Field(default_factory=dict, description="The element's attributes.")


FLOW_TAGS = frozenset({"child-flow", "inline-flow", "flow-path", "element-list",
                       "elements-file", "element-map", "element-name"})
"""Tags of the unions in flow files; the loader strips them from error locations."""


def _text_or(tag_text: str, tag_other: str) -> Callable[[Any], str]:
    return lambda value: tag_text if isinstance(value, str) else tag_other


Text = Annotated[str, Field(min_length=1)]
Element = Annotated[
    Union[Annotated[ElementSpec, Tag("element-map")],  # noqa: UP007
          Annotated[ElementName, Tag("element-name")]],
    Discriminator(lambda v: "element-map" if isinstance(v, dict) else "element-name")]
Elements = Annotated[
    Union[Annotated[list[Element], Tag("element-list")],  # noqa: UP007
          Annotated[Text, Tag("elements-file")]],
    Discriminator(_text_or("elements-file", "element-list")),
    Field(description=("The elements: a list of `{name, context}` mappings or plain names, "
                       "or the path of a YAML, JSON or CSV file (relative to this file's "
                       "folder)."))]


class _FlowShape(_Spec):
    """What an inline child flow and a flow file share."""

    name: Name | None = Field(None, description=(
        "The flow's name: the run's name, and the prefix of a child flow's job names."))
    mode: Literal["serial", "parallel"] = Field("serial", description=(
        "serial: each element runs every step before the next; parallel: each step runs "
        "for every element before the next step."))
    elements: Elements | None = None
    filter: str | None = Field(None, min_length=1, description=(
        "Keep the elements it is true for. " + _FLOW_EXPR))
    order_by: str | None = Field(None, min_length=1, description=(
        "Sort key of the elements (stable). " + _FLOW_EXPR))
    reverse: bool = Field(False, description="Walk the elements in reverse order.")
    continue_on_failure: bool = Field(False, description=(
        "Every step of this flow tolerates a fault."))
    steps: list[Step] = Field(min_length=1, description="Jobs and child flows, in order.")


class InlineFlow(_FlowShape):
    """A child flow written in place."""


class ChildFlow(_Spec):
    """A child flow step: inline, or the path of another flow file."""

    flow: Annotated[
        Union[Annotated[InlineFlow, Tag("inline-flow")],  # noqa: UP007
              Annotated[Text, Tag("flow-path")]],
        Discriminator(_text_or("flow-path", "inline-flow")),
    ] = Field(description=(
        "The child flow, or the path of a `kind: flow` file (relative to this file)."))


STEP_KEYS = {"target": "python-job", "shell": "shell-job", "sleep": "sleep-job",
             "flow": "child-flow"}
"""The key that makes a flow step what it is → its tag."""


def step_tag(value: Any) -> str | None:
    """Which kind of step ``value`` is (None when it cannot tell)."""
    if isinstance(value, dict):
        found = [tag for key, tag in STEP_KEYS.items() if key in value]
        return found[0] if len(found) == 1 else None
    return None


if TYPE_CHECKING:
    Step: TypeAlias = Union[FlowPythonJob, FlowShellJob, FlowSleepJob, ChildFlow]  # noqa: UP007
else:
    Step = TypeAliasType("Step", Annotated[
        Union[  # noqa: UP007
            Annotated[FlowPythonJob, Tag("python-job")],
            Annotated[FlowShellJob, Tag("shell-job")],
            Annotated[FlowSleepJob, Tag("sleep-job")],
            Annotated[ChildFlow, Tag("child-flow")],
        ],
        Discriminator(step_tag, custom_error_type="step_kind",
                      custom_error_message="a step needs exactly one of target, shell, "
                                           "sleep, flow"),
    ])
"""One entry of a flow's ``steps`` list."""

STEP_MODELS: dict[str, type[_Spec]] = {
    "python-job": FlowPythonJob, "shell-job": FlowShellJob, "sleep-job": FlowSleepJob,
    "child-flow": ChildFlow, "inline-flow": InlineFlow, "element-map": ElementSpec,
}
"""Tag in a flow file → model, to name the allowed fields when an unknown one shows up."""


class FlowFile(_FlowShape):
    """A file of ``kind: flow``: steps applied to elements, serially or in parallel."""

    model_config = ConfigDict(title="Flow file")

    schema_: str | None = Field(None, alias="$schema", description=_SCHEMA)
    kind: Literal["flow"] = Field(description="What the file defines.")
    concurrency: int | None = Field(None, ge=1, description=_CONCURRENCY)
    triggers: list[TriggerData] = Field(default_factory=list, description=_TRIGGERS)


Group.model_rebuild()
BatchFile.model_rebuild()
ScheduleBatch.model_rebuild()
ScheduleFile.model_rebuild()
InlineFlow.model_rebuild()
ChildFlow.model_rebuild()
FlowFile.model_rebuild()
