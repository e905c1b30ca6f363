"""Which server the job queue runs on: the queue backend, built through ``register_queue_backends``.

The job queue never imports an extension: the ``redis`` queue backend is registered by the Redis
cache extension like any other backend, and found here by name through the kernel's hook facade.
A process that only submits or serves jobs (``automatos worker``, ``automatos sandbox run``) needs
no started kernel for it, only the hook facade the container builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from automatos.kernel.backends import BackendContext, QueueBackend
from automatos.kernel.errors import SettingsError

if TYPE_CHECKING:
    from automatos.kernel.hooks import Hooks
    from automatos.kernel.settings import Settings

__all__ = ["queue_backend", "queue_backend_name"]


def queue_backend_name(settings: Settings) -> str | None:
    """The queue backend the settings ask for: ``redis`` when ``REDIS_URL`` is set, else none."""
    return "redis" if settings.redis_url else None


async def queue_backend(hooks: Hooks, settings: Settings, name: str | None = None) -> QueueBackend:
    """The queue backend ``name`` (default: :func:`queue_backend_name`), built from its registered factory.

    Raises :class:`SettingsError` naming what is missing when there is none to build.
    """
    wanted = name or queue_backend_name(settings)
    if not wanted:
        raise SettingsError("the job queue needs REDIS_URL (redis://[:password@]host:port/db): its jobs live there")
    factories = await hooks.backend_factories("queue")
    pair = factories.items.get(wanted)
    if pair is None:
        available = ", ".join(sorted(factories.items)) or "none"
        raise SettingsError(
            f"no loaded extension registers a queue backend named {wanted!r} (available: {available}; "
            "the built-in 'redis' one needs the redis extra: pip install 'automatos[redis]')"
        )
    backend = pair[1](BackendContext(settings=settings))
    if not isinstance(backend, QueueBackend):
        raise TypeError(f"the {wanted!r} queue backend of {factories.sources[wanted]} is not a QueueBackend")
    return backend
