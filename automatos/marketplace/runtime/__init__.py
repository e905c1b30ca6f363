"""The marketplace runtime: approved plugins enabled per workspace, assigned to agents, run in the
sandbox through kernel-side proxies (docs/plugins.md, "Enabling a plugin in a workspace").

- :mod:`.models` — ``workspace_plugins`` and ``agent_plugins`` (migration ``0006``);
- :mod:`.records` — what the service answers and takes;
- :mod:`.catalogue` — reads: the platform's catalogue, a workspace's plugins, an agent's plugins;
- :mod:`.enablement` — the one writer of those tables (audited, versions bumped and published);
- :mod:`.declarations` — ``register(ctx)`` once per version in the sandbox, cached on the version;
- :mod:`.bundles` — a version's modules from its stored bundle (sha256 checked, LRU);
- :mod:`.content` — skills and prompts through the KV cache;
- :mod:`.proxy`, :mod:`.host` — the proxies joined to workspace views, calls, failures, pre-warm;
- :mod:`.service` — :class:`PluginsService`, the façade the container and the controllers use.
"""

from __future__ import annotations

__all__: list[str] = []  # import the modules themselves (admin.py imports enablement without the service)
