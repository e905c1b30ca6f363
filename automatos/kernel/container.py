"""The kernel's providers: settings, registry, hook facade, database, :class:`Kernel`.

Everything process-wide is a Singleton built from the settings. The application's container
(:class:`automatos.container.Container`) extends this one with the feature packages' services;
the kernel itself imports none of them. Tests and embedders override a provider instead of
patching modules, for example::

    container = KernelContainer()
    container.settings.override(providers.Object(load_settings({}, data_dir=tmp)))
    container.extra_plugins.override(providers.Object([Candidate(...)]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dependency_injector import containers, providers

from automatos.kernel.core import Kernel
from automatos.kernel.db.session import create_engine, make_sessionmaker
from automatos.kernel.hooks import Hooks
from automatos.kernel.metrics import KernelMetrics
from automatos.kernel.parts import Parts, collect_parts
from automatos.kernel.registry import Candidate, Registry
from automatos.kernel.secrets import SecretBox
from automatos.kernel.settings import Settings, load_settings

__all__ = ["KernelContainer", "build_registry"]


def build_registry(settings: Settings, extra: Sequence[Candidate] = ()) -> Registry:
    """Discover and load every extension (plus ``extra`` in-process candidates)."""
    registry = Registry(allow=settings.extensions_allow, deny=settings.extensions_deny)
    registry.load([*registry.discover(), *extra])
    return registry


class KernelContainer(containers.DeclarativeContainer):
    settings = providers.Singleton(load_settings)
    extra_plugins: providers.Provider[Sequence[Candidate]] = providers.Object(())
    registry = providers.Singleton(build_registry, settings=settings, extra=extra_plugins)
    hook_timeouts: providers.Provider[Mapping[str, float | None] | None] = providers.Object(None)
    """Per-hook time limits over the facade's defaults (``{"on_event": 2.0}``; ``None``: no limit)."""
    hooks = providers.Singleton(Hooks, registry=registry, settings=settings, timeouts=hook_timeouts)
    engine = providers.Singleton(create_engine, settings)
    sessionmaker = providers.Singleton(make_sessionmaker, engine)
    secret_box = providers.Singleton(SecretBox.from_settings, settings)
    metrics = providers.Singleton(KernelMetrics)
    workspace_owner: providers.Provider[Any] = providers.Object(None)
    """The owner of workspace writes the kernel attaches (:mod:`automatos.kernel.workspace_owner`):
    :class:`automatos.container.Container` overrides it with the workspaces package's service."""
    package_parts: providers.Provider[Parts] = providers.Object(Parts())
    """What the feature packages hand the kernel (settings structs, declared settings, migrations):
    :class:`automatos.container.Container` lists them; none here."""
    parts = providers.Singleton(collect_parts, hooks=hooks, packages=package_parts)
    """The packages' parts and every loaded extension's (``register_settings``, ``register_migrations``)."""
    kernel = providers.Singleton(
        Kernel,
        settings=settings,
        registry=registry,
        hooks=hooks,
        engine=engine,
        sessionmaker=sessionmaker,
        secret_box=secret_box,
        metrics=metrics,
        workspaces=workspace_owner,
        parts=parts,
    )
