"""Building kernels and apps for tests: real settings, real database, the test extension loaded."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from dependency_injector import providers

from automatos.kernel.container import Container
from automatos.kernel.registry import Candidate
from automatos.kernel.runtime import Kernel
from automatos.kernel.settings import load_settings

__all__ = ["EVERYTHING", "backend_factories", "candidate", "make_container", "running_kernel"]


def candidate(module: str, name: str | None = None, *, builtin: bool = False, loader: Any = None) -> Candidate:
    """A candidate that imports ``module`` in-process, as if it were an installed entry point."""
    return Candidate(
        name=name or module,
        module=module,
        distribution="automatos-tests",
        version="0",
        builtin=builtin,
        loader=loader or (lambda: importlib.import_module(module)),
    )


EVERYTHING = candidate("tests.plugins.everything", "tests.everything")


def make_container(data_dir: Path, *, plugins: tuple[Candidate, ...] = (EVERYTHING,), **settings: Any) -> Container:
    container = Container()
    container.settings.override(providers.Object(load_settings({}, data_dir=data_dir, **settings)))
    container.extra_plugins.override(providers.Object(plugins))
    return container


@asynccontextmanager
async def running_kernel(data_dir: Path, **kwargs: Any) -> AsyncIterator[Kernel]:
    kernel: Kernel = make_container(data_dir, **kwargs).kernel()
    await kernel.start()
    try:
        yield kernel
    finally:
        await kernel.stop()


def backend_factories(family: str, *modules: object) -> dict[str, Any]:
    """Call ``register_<family>_backends`` of ``modules`` through a PluginManager, as the kernel does."""
    import pluggy

    from automatos.kernel import hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for module in modules:
        pm.register(module)
    found: dict[str, Any] = {}

    def register(name: str, factory: Any) -> None:
        assert name not in found, f"{name!r} registered twice"
        found[name] = factory

    getattr(pm.hook, f"register_{family}_backends")(register=register)
    return found
