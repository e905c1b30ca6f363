"""``automatos route …``: evaluate and calibrate a workspace's router on labelled messages.

- ``route eval FILE.jsonl --workspace W [--json] [--with-llm]`` replays ``{text, expected}`` lines
  through the workspace's router as a dry run (nothing recorded, the decision cache neither read
  nor written; the ``llm`` tier left out unless ``--with-llm``) and prints accuracy overall, per
  tier, per label, ``none`` precision/recall and the confusion matrix
  (:mod:`automatos.routing.evaluation`).
- ``route fit FILE.jsonl --workspace W [--json]`` fits the workspace's thresholds, margins and
  few-shot examples on the file and stores them in its routing configuration
  (:mod:`automatos.routing.calibration`).
- ``route seed-agents --workspace W`` creates one active agent per seeded platform persona (slug =
  the persona's slug), skipping slugs the workspace already has: the labelled sets of
  ``tests/routing/data`` then run on a fresh workspace.

Exit status: 0 done, 1 on an error the command reports (an unknown workspace, a failed write), 2
when the file cannot be read or a line is malformed (the message names the line). ``--json`` prints
exactly one JSON object on stdout; logs go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from automatos.cli.common import UsageExit, data_settings, quiet, with_container, workspace_or_exit

if TYPE_CHECKING:
    from automatos.container import Container
    from automatos.kernel.settings import Settings
    from automatos.routing.evaluation import Labelled

__all__ = ["route"]

T = TypeVar("T")


@click.group("route")
def route() -> None:
    """The router: evaluate and calibrate it on labelled messages, seed agents from personas."""


def _with_container(fn: Callable[[Container], Awaitable[T]], settings: Settings) -> T:
    return with_container(fn, settings, before_stop=lambda container: container.router().stop())


def _read(path: Path) -> list[Labelled]:
    from automatos.kernel.errors import ValidationError
    from automatos.routing.evaluation import load_jsonl

    try:
        with path.open(encoding="utf-8") as handle:
            return load_jsonl(handle)
    except OSError as exc:
        raise UsageExit(f"{path}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        raise UsageExit(f"{path}: {exc.field}: {exc}") from None


def _print_metrics(figures: dict[str, Any]) -> None:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    click.echo(f"accuracy {pct(figures['accuracy'])} ({figures['correct']}/{figures['examples']})")
    none = figures["none"]
    click.echo(f"none precision {pct(none['precision'])}, recall {pct(none['recall'])} (support {none['support']})")
    click.echo(f"agent precision {pct(figures['agent_precision'])}")
    click.echo("\nper tier (which tier decided):")
    for name, row in figures["tiers"].items():
        click.echo(f"  {name:<12} {row['decided']:>5} decided ({pct(row['share'])}), accuracy {pct(row['accuracy'])}")
    click.echo("\nper label:")
    click.echo(f"  {'label':<28} {'support':>7} {'predicted':>9} {'recall':>7} {'precision':>9}")
    for label, row in figures["labels"].items():
        recall, precision = pct(row["recall"]), pct(row["precision"])
        click.echo(f"  {label:<28} {row['support']:>7} {row['predicted']:>9} {recall:>7} {precision:>9}")
    labels = list(figures["labels"])
    short = [label[:6] for label in labels]
    click.echo("\nconfusion (rows expected, columns predicted):")
    click.echo(f"  {'':<28} " + " ".join(f"{s:>6}" for s in short))
    for label in labels:
        row = figures["confusion"].get(label, {})
        click.echo(f"  {label:<28} " + " ".join(f"{row.get(p, 0) or '.':>6}" for p in labels))


@route.command("eval")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--workspace", "-w", required=True, help="The workspace (id or slug) whose router answers.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@click.option("--with-llm", is_flag=True, help="Keep the llm tier (left out by default: offline figures).")
def route_eval(file: Path, workspace: str, as_json: bool, with_llm: bool) -> None:
    """Replay FILE's {text, expected} lines through the workspace's router (a dry run) and score it."""
    from automatos.kernel.errors import ValidationError
    from automatos.routing.evaluation import check_labels, metrics, replay

    examples = _read(file)
    without = () if with_llm else ("llm",)

    async def run(container: Container) -> dict[str, Any]:
        space = await workspace_or_exit(container.kernel(), workspace)
        router = container.router()
        slugs = [p.slug for p in await router.profiles(space)]
        try:
            check_labels(examples, slugs, field="lines")
        except ValidationError as exc:
            raise UsageExit(f"{file}: {exc.field}: {exc}") from None
        figures = metrics(await replay(router, space, examples, without=without))
        return {"file": str(file), "workspace": space.slug, "without": list(without), **figures}

    with quiet(as_json):
        figures = _with_container(run, data_settings(False))
    if as_json:
        click.echo(json.dumps(figures))
        return
    _print_metrics(figures)


@route.command("fit")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--workspace", "-w", required=True, help="The workspace (id or slug) to calibrate.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
def route_fit(file: Path, workspace: str, as_json: bool) -> None:
    """Fit the workspace's routing thresholds and few-shot examples on FILE and store them."""
    from automatos.kernel.errors import ValidationError

    examples = _read(file)

    async def run(container: Container) -> dict[str, Any]:
        space = await workspace_or_exit(container.kernel(), workspace)
        try:
            record = await container.routing_calibration().fit(space, examples, actor_id=None)
        except ValidationError as exc:
            raise UsageExit(f"{file}: {exc.field}: {exc}") from None
        return dict(record)

    with quiet(as_json):
        record = _with_container(run, data_settings(False))
    if as_json:
        click.echo(json.dumps(record))
        return
    click.echo(json.dumps(record, indent=2))


@route.command("seed-agents")
@click.option("--workspace", "-w", required=True, help="The workspace (id or slug).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
def route_seed_agents(workspace: str, as_json: bool) -> None:
    """Create one active agent per seeded platform persona (slug = the persona's), skipping existing slugs."""
    from automatos.agents.seed_data import PERSONAS
    from automatos.agents.service import AgentCreate

    async def run(container: Container) -> dict[str, list[str]]:
        space = await workspace_or_exit(container.kernel(), workspace)
        agents = container.agents()
        existing = {a.slug for a in (await agents.list_agents(space.id, limit=1000))[0]}
        created, skipped = [], []
        for persona in PERSONAS:
            if persona.slug in existing:
                skipped.append(persona.slug)
                continue
            data = AgentCreate(name=persona.name, slug=persona.slug, persona_id=persona.slug)
            await agents.create_agent(space.id, data, providers=(), actor_id=None)
            created.append(persona.slug)
        return {"created": created, "skipped": skipped}

    with quiet(as_json):
        report = _with_container(run, data_settings(False))
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(f"created {len(report['created'])} agents, {len(report['skipped'])} slugs already there")
