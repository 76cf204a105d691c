"""The steps and elements of ``kind: flow`` files, as pydantic models.

A flow's ``steps`` are jobs (the items of :mod:`jobweave.loader.spec_items`, plus ``when``
and ``continue_on_failure``) and child flows (inline, or the path of another flow file);
its ``elements`` are a list of names or ``{name, context}`` mappings, or a file's path.
The flow file itself is :class:`jobweave.loader.spec.FlowFile`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag
from typing_extensions import TypeAliasType

from jobweave.loader.spec_items import Name, PythonJob, ShellJob, SleepJob, SpecModel

_WHEN = ("Run this step only where the expression is true of the job's context "
         "(`current == last`, or a template `{{ current == last }}`); see docs/flows.md.")
_STEP_TOLERATES = "A fault of this step does not stop the steps after it."
_FLOW_EXPR = ("An expression over `element` (its `name` and `context`), or a template "
              "`{{ ... }}`; see docs/expressions.md.")


class _Step(SpecModel):
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


class ElementSpec(SpecModel):
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


class FlowShape(SpecModel):
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


class InlineFlow(FlowShape):
    """A child flow written in place."""


class ChildFlow(SpecModel):
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

STEP_MODELS: dict[str, type[SpecModel]] = {
    "python-job": FlowPythonJob, "shell-job": FlowShellJob, "sleep-job": FlowSleepJob,
    "child-flow": ChildFlow, "inline-flow": InlineFlow, "element-map": ElementSpec,
}
"""Tag in a flow file → model, to name the allowed fields when an unknown one shows up."""

FlowShape.model_rebuild()
InlineFlow.model_rebuild()
ChildFlow.model_rebuild()
