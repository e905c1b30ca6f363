"""The router's home: the tier pipeline that picks the agent for a request, the decision cache and the
routing headers (``X-Routing-Agent-ID``, ``X-Routing-Confidence``).

Empty until the router issue lands. Tiers are extensions (``register_routing_tiers``); this package
will hold what runs them. It may import the kernel, ``agents/`` and ``llm/`` (docs/architecture.md).
"""
