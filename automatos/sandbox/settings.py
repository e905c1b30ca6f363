"""The sandbox's settings: where runs go, how many workers, each workspace's share, private addresses.

:class:`SandboxSettings` is read from the environment like every settings struct
(:class:`~automatos.kernel.settings.SettingsGroup`: same variable names as ever, a malformed one
stops start-up naming it) and handed to the kernel by the composition root (``automatos/container.py``,
``package_parts``), so the README's settings table lists it. Read it with
``settings.group(SandboxSettings)``. Whether the sandbox runs at all stays the kernel's feature flag
(``FEATURE_SANDBOX``, overridable at run time).

:data:`SANDBOX_DECLARED` are the platform settings stored in the database that bound one run
(``sandbox.timeout_seconds``, ``sandbox.memory_mb``, ``sandbox.max_output_bytes``): their keys,
defaults and bounds, which :mod:`automatos.sandbox.limits` reads them by.
"""

from __future__ import annotations

from typing import Any, ClassVar

from automatos.kernel.errors import SettingsError
from automatos.kernel.settings import FieldDoc, Settings, SettingsGroup, setting
from automatos.kernel.settings_registry import Declared

__all__ = ["HOSTS_SETTING", "METHODS_SETTING", "SANDBOX_DECLARED", "SandboxSettings"]

HOSTS_SETTING = "sandbox_http_allow_hosts"
"""Workspace setting: the hosts a run in this workspace may be granted ``http`` to."""
METHODS_SETTING = "sandbox_http_allow_methods"
"""Workspace setting (optional): the HTTP methods such a grant may include."""


class SandboxSettings(SettingsGroup, frozen=True, kw_only=True):
    OWNER: ClassVar[str] = "sandbox package"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("SANDBOX_MODE", "sandbox_mode", "local|queue", valid=lambda v: v in ("local", "queue")),
        setting("SANDBOX_POOL_SIZE", "sandbox_pool_size", "integer 1-64", valid=lambda v: 1 <= v <= 64),
        setting("SANDBOX_QUEUE_NAME", "sandbox_queue_name", "queue name"),
        setting(
            "SANDBOX_WORKSPACE_MAX_SHARE",
            "sandbox_workspace_max_share",
            "number in (0, 1]",
            valid=lambda v: 0 < v <= 1,
        ),
        setting("SANDBOX_HTTP_ALLOW_PRIVATE", "sandbox_http_allow_private", "true|false"),
        setting(
            "SANDBOX_CONFINEMENT",
            "sandbox_confinement",
            "auto|require|off",
            valid=lambda v: v in ("auto", "require", "off"),
        ),
    )

    sandbox_mode: str = "local"
    """``local``: runs go to this process's own pool of sandbox worker processes. ``queue``: runs
    go to the Redis job queue (``REDIS_URL``) served by ``automatos worker`` processes, possibly on
    other machines."""
    sandbox_pool_size: int = 2
    """Warm sandbox worker processes per API process (local mode) or per ``automatos worker``."""
    sandbox_queue_name: str = "automatos-sandbox"
    """Name of the Redis job queue of sandbox runs (queue mode)."""
    sandbox_workspace_max_share: float = 0.5
    """Fraction of the sandbox workers one workspace's runs may hold at once (at least one worker):
    its further runs wait in line for their share, so a flooding workspace never starves another.
    In queue mode it bounds each submitting process (share of ``SANDBOX_POOL_SIZE``). 1 disables it."""
    sandbox_http_allow_private: bool = False
    """Whether the sandbox's ``http`` capability may reach loopback, private, link-local and other
    non-public addresses (for a deployment whose allowed services live on its own network). Off, a
    workspace's host allow list never opens the platform's network or a cloud metadata endpoint."""
    sandbox_confinement: str = "auto"
    """The OS confinement of every sandbox worker, behind the policy (docs/sandbox.md, "Second wall"):
    a network namespace, no new privileges, landlock (no writes, reads only of the interpreter's
    files) and a seccomp filter (no sockets, exec, fork, ptrace…). ``auto``: every layer the kernel
    allows, with a warning naming what is missing (``/health/ready`` shows what holds); ``require``: a
    worker that cannot apply every layer refuses to start, so the sandbox does not start; ``off``: none."""

    @classmethod
    def validate(cls, values: dict[str, Any], settings: Settings | None) -> None:
        super().validate(values, settings)
        if values.get("sandbox_mode") == "queue" and settings is not None and not settings.redis_url:
            raise SettingsError("SANDBOX_MODE=queue needs REDIS_URL (the job queue lives in Redis)")


SANDBOX_DECLARED: tuple[Declared, ...] = (
    Declared(
        key="sandbox.timeout_seconds",
        scope="platform",
        kind="integer",
        default=30,
        description="Wall-clock limit of one sandboxed code run, in seconds.",
        minimum=1,
        maximum=600,
    ),
    Declared(
        key="sandbox.memory_mb",
        scope="platform",
        kind="integer",
        default=256,
        description="Memory limit of one sandboxed code run, in MiB.",
        minimum=16,
        maximum=8192,
    ),
    Declared(
        key="sandbox.max_output_bytes",
        scope="platform",
        kind="integer",
        default=1_048_576,
        description="Most bytes of stdout and stderr kept from one sandboxed run; the rest is cut.",
        minimum=0,
        maximum=16_777_216,
    ),
    Declared(
        key=HOSTS_SETTING,
        scope="workspace",
        kind="string_list",
        default=[],
        description="Hosts a run in this workspace may be granted http to (exact names, or *.domain).",
    ),
    Declared(
        key=METHODS_SETTING,
        scope="workspace",
        kind="string_list",
        default=None,
        description="HTTP methods an http grant in this workspace may include (absent: any standard method).",
        choices=("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
    ),
)
"""The platform settings that bound one run (``GET /api/platform-settings``; platform admins change
them) and the workspace settings of the ``http`` grant (a workspace's admins set them;
:mod:`automatos.sandbox.grants` reads them itself, so that a malformed list closes the grant rather
than falling back to a default)."""
