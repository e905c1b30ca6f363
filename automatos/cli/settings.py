"""``automatos settings …``: the run-time settings stored in system_settings, through the one settings
registry (``kernel.settings_registry``), as ``/api/settings`` does."""

from __future__ import annotations

from typing import Any

import click

from automatos.cli.common import data_settings, init_option, with_kernel

__all__ = ["settings_group"]


@click.group("settings")
def settings_group() -> None:
    """Run-time settings stored in system_settings (take effect on every node without a restart)."""


@settings_group.command("list")
@init_option
def settings_list(init: bool) -> None:
    """Every run-time setting, its value and where the value comes from."""

    async def run(kernel: Any) -> list[Any]:
        rows: list[Any] = kernel.settings_registry.runtime()
        return rows

    for row in with_kernel(run, data_settings(init)):
        click.echo(f"{row.key:<36} {row.value!s:<24} ({row.source})")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@init_option
def settings_set(key: str, value: str, init: bool) -> None:
    """Override KEY (an environment variable name, e.g. LLM_MODEL) with VALUE."""

    async def run(kernel: Any) -> None:
        await kernel.settings_registry.set_runtime(key, value, actor_id="cli")

    with_kernel(run, data_settings(init))
    click.echo(f"{key} set")


@settings_group.command("unset")
@click.argument("key")
@init_option
def settings_unset(key: str, init: bool) -> None:
    """Remove the override of KEY: the environment's value applies again."""

    async def run(kernel: Any) -> None:
        await kernel.settings_registry.set_runtime(key, None, actor_id="cli")

    with_kernel(run, data_settings(init))
    click.echo(f"{key} unset")
