"""A recipe's definition, and the checks it must pass before a version is written.

```json
{"inputs": {"type": "object", "properties": {"ticket": {"type": "string"}}, "required": ["ticket"]},
 "steps": [
   {"id": "triage", "agent": "triage", "input": "Triage this ticket: {{ inputs.ticket }}"},
   {"id": "draft", "agent": "writer", "input": "Answer: {{ steps.triage.output.text }}",
    "retries": 2, "backoff_seconds": 5, "timeout_seconds": 120},
   {"id": "review", "approval": "Send the draft?"},
   {"id": "file", "tool": "jira__create_issue", "if": "steps.review.output.approved",
    "arguments": {"title": "{{ inputs.ticket }}", "body": "{{ steps.draft.output.text }}"}}]}
```

- ``inputs``: a JSON Schema (an ``object`` schema) the run's inputs must fit (422 naming
  ``inputs.<name>``); ``{}`` takes anything.
- ``triggers``: events that start a run by themselves (``github/issue_opened``, ``github/*``): a
  Composio trigger event of the workspace starts one run of each active recipe listing it, with the
  inputs ``{"trigger": "<provider>/<trigger>", "payload": {…}}``.
- ``routes``: agents (id or slug, or ``*`` for any) whose routing decisions start a run:
  ``POST /api/route`` with ``"start_recipes": true`` that routes a message to one of them starts one
  run of each active recipe listing it, with the inputs ``{"message", "source", "channel",
  "route": {"agent_id", "agent_slug", "confidence", "route_type", "tier"}}``.
- ``steps``: 1-50, each with a unique ``id`` (``^[a-z0-9][a-z0-9_-]{0,63}$``) and exactly one of
  ``agent`` (an agent of the workspace, id or slug; ``input``: the message, a template), ``tool`` (a
  tool of the workspace; ``arguments``: an object of templates) or ``approval`` (the question a person
  answers; the run waits). Optional: ``if`` (a condition: the step is skipped when it does not
  hold), ``retries`` (0-10), ``backoff_seconds`` (0-3600; doubled at each retry), ``timeout_seconds``
  (1-3600, default 300).
- Templates may refer to ``inputs`` and to **earlier** steps' outputs only
  (:mod:`automatos.recipes.templates`). An agent step's output is ``{"text", "model", …}``; a tool
  step's is the tool's result; an approval's is ``{"approved", "by", "comment"}``.

:func:`check` answers the first problem as a 422 naming ``steps[i].<field>`` (or ``inputs``); the
agents and tools are checked by the service, which knows the workspace.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from automatos.kernel.errors import ValidationError
from automatos.recipes.templates import TemplateError, check_path, references

__all__ = ["Definition", "Step", "check"]

AgentRef = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
StepId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]


class Step(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    id: StepId
    agent: AgentRef | None = None
    input: Text | None = None
    tool: Annotated[str, msgspec.Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}$")] | None = None
    arguments: dict[str, Any] | None = None
    approval: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None
    if_: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = msgspec.field(default=None, name="if")
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 0
    backoff_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 1.0
    timeout_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 300.0

    @property
    def kind(self) -> str:
        return "agent" if self.agent is not None else "tool" if self.tool is not None else "approval"


TriggerKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}/([a-z0-9_.-]{1,100}|\*)$")]


class Definition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    inputs: dict[str, Any] = {}
    steps: Annotated[list[Step], msgspec.Meta(min_length=1, max_length=50)]
    triggers: Annotated[list[TriggerKey], msgspec.Meta(max_length=20)] = []
    """Trigger events that start a run (``<provider>/<trigger>`` or ``<provider>/*``, as the router's
    trigger tier keys them); the run's inputs are ``{"trigger", "payload"}``."""
    routes: Annotated[list[AgentRef], msgspec.Meta(max_length=20)] = []
    """Agents (id or slug; ``*``: any) whose routing decisions start a run (``POST /api/route`` with
    ``start_recipes``); the run's inputs are ``{"message", "source", "channel", "route"}``."""


def check(definition: Definition) -> None:
    """422 naming the field of the first problem (see the module docstring)."""
    if definition.inputs:
        try:
            Draft202012Validator.check_schema(definition.inputs)
        except SchemaError as exc:
            raise ValidationError(f"inputs: not a valid JSON Schema ({exc.message[:200]})", field="inputs") from None
        if definition.inputs.get("type", "object") != "object":
            raise ValidationError("inputs: the inputs' schema is an object schema", field="inputs")
    seen: set[str] = set()
    for i, step in enumerate(definition.steps):
        where = f"steps[{i}]"
        if step.id in seen:
            raise ValidationError(f"{where}.id: {step.id!r} is the id of an earlier step", field=f"{where}.id")
        kinds = [k for k in ("agent", "tool", "approval") if getattr(step, k) is not None]
        if len(kinds) != 1:
            raise ValidationError(
                f"{where}: a step has exactly one of agent, tool or approval (it has {', '.join(kinds) or 'none'})",
                field=where,
            )
        if step.agent is not None and step.input is None:
            raise ValidationError(f"{where}.input: an agent step needs its input (a template)", field=f"{where}.input")
        if step.agent is None and step.input is not None:
            raise ValidationError(f"{where}.input: only agent steps take an input", field=f"{where}.input")
        if step.tool is None and step.arguments is not None:
            raise ValidationError(f"{where}.arguments: only tool steps take arguments", field=f"{where}.arguments")
        for field, value in (("input", step.input), ("arguments", step.arguments)):
            _refer(value, seen, f"{where}.{field}")
        if step.if_ is not None:
            path = step.if_.strip()
            path = path[4:] if path.startswith("not ") else path
            try:
                check_path(path)
            except TemplateError as exc:
                raise ValidationError(f"{where}.if: {exc}", field=f"{where}.if") from None
            _refer("{{ " + path + " }}", seen, f"{where}.if")
        seen.add(step.id)


def _refer(value: Any, earlier: set[str], field: str) -> None:
    try:
        steps = references(value)
    except TemplateError as exc:
        raise ValidationError(f"{field}: {exc}", field=field) from None
    unknown = sorted(steps - earlier)
    if unknown:
        raise ValidationError(
            f"{field}: refers to step {unknown[0]!r}, which is not an earlier step of this recipe", field=field
        )
