"""MCP: servers a workspace adds (their tools join the registry) and the ``/mcp`` endpoint that
serves a workspace's tools (issue 14). docs/tools.md describes both."""
