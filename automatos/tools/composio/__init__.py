"""Composio: the cached catalogue, a workspace's connected accounts, execution through the SDK,
trigger subscriptions routed by the router's trigger tier (issue 14). docs/tools.md describes it."""
