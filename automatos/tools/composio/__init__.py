"""Composio: the cached catalogue, a workspace's connected accounts, execution through the SDK,
trigger subscriptions routed by the router's trigger tier (issue 14). docs/tools.md describes it.

- :mod:`.client`: ``ComposioSettings`` and the one SDK client (telemetry off, its own threads);
- :mod:`.catalogue`: the sync job into the cache tables and the cache's paged reads;
- :mod:`.connections`: ``entity_connections`` through Composio's OAuth flow, tokens encrypted;
- :mod:`.provider`: the workspace's active connections' actions as tools, joined to its view;
- :mod:`.triggers`: subscriptions and the signed webhook, routed with ``trigger:<toolkit>/<trigger>``;
- :mod:`.models`: the tables (migration ``0013_composio``).
"""
