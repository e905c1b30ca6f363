"""Tools agents and API callers can invoke: the registry over every source, the tools API's service,
and the catalogue of credential types (issue: tools; Composio, MCP and the chat tool loop: issue 14).

- :mod:`automatos.tools.registry`: :class:`~automatos.tools.registry.ToolRegistry`, every tool of a
  workspace's hook view — extensions' ``register_tool_providers`` and the marketplace plugins'
  proxies — by name, each provider contained; an agent's tools and content in assignment order.
- :mod:`automatos.tools.service`: :class:`~automatos.tools.service.ToolService`, listing and
  invoking (``tools.use``, arguments checked against the tool's JSON Schema, audited with a hash).
- :mod:`automatos.kernel.patterns` (in the kernel: routing rules use it too): the schemas' regular
  expressions held to what the API process can afford to run (no unbounded backtracking; bounded texts).
- :mod:`automatos.tools.models`: the ``credential_types`` table (seeded reference data).
- :mod:`automatos.tools.credential_types`: its read-only service.

It may import the kernel, ``sandbox/`` and ``jobs/`` (docs/architecture.md); tool providers are
extensions (``register_tool_providers``) or proxies joined to a workspace's view. docs/tools.md
describes it.
"""
