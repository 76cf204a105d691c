"""Items of a ``jobs`` list, as pydantic models, and the base all file models share.

Each item of a ``jobs`` list is one of

* a Python job (``target:``), a shell job (``shell:``), a sleep (``sleep:``),
* a group (``batch:``) of further items, flattened into the same run,
* a plain list of further items, flattened as well.

Which one an item is follows from the one key among ``target``/``shell``/``sleep``/
``batch`` that it holds; the models forbid unknown fields, so a typo is an error.
The file kinds that hold them are in :mod:`jobweave.loader.spec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

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
_QUEUE = ("executor celery: the queue of the workers that run the job (the default queue "
          "when unset); other executors ignore it.")
_RUN_ANYWAY = "Run even when a job it depends on did not complete (instead of being skipped)."


class SpecModel(BaseModel):
    """The base of every model of the file format."""

    # strict: YAML already gives typed values, so "2" is not quietly taken for 2
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Attempted(SpecModel):
    """What every job that runs code has: a name, retries, a timeout, tags, dependencies."""

    name: Name | None = Field(None, description=_NAME)
    retries: int = Field(0, ge=0, description=_RETRIES)
    retry_delay: Seconds = Field(0.0, description=_RETRY_DELAY)
    backoff: float = Field(1.0, ge=1, description=_BACKOFF)
    timeout: float | None = Field(None, gt=0, description=_TIMEOUT)
    tags: Labels = Field(default_factory=list, description=_TAGS)
    after: Names = Field(default_factory=list, description=_AFTER)
    run_anyway: bool = Field(False, description=_RUN_ANYWAY)
    queue: str | None = Field(None, min_length=1, max_length=200, pattern=r"\S",
                              description=_QUEUE)


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


class SleepJob(SpecModel):
    """A job that waits a number of seconds."""

    name: Name | None = Field(None, description=_NAME)
    sleep: Seconds = Field(description="Seconds to wait.")
    tags: Labels = Field(default_factory=list, description=_TAGS)
    after: Names = Field(default_factory=list, description=_AFTER)
    queue: str | None = Field(None, min_length=1, max_length=200, pattern=r"\S",
                              description=_QUEUE)


class Group(SpecModel):
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

TAG_MODELS: dict[str, type[SpecModel]] = {
    "python-job": PythonJob, "shell-job": ShellJob, "sleep-job": SleepJob, "group": Group,
}
"""Tag → model, to name the allowed fields when an unknown one shows up."""

Group.model_rebuild()
