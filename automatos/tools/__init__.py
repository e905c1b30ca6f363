"""Tools agents can call: today the catalogue of credential types; next the tool registry over
plugins, Composio and MCP, connections and their credentials, and execution (issue: tools).

- :mod:`automatos.tools.models`: the ``credential_types`` table (seeded reference data).
- :mod:`automatos.tools.credential_types`: its read-only service.

It may import the kernel, ``sandbox/`` and ``jobs/`` (docs/architecture.md); tool providers are
extensions (``register_tool_providers``).
"""
