"""Agents and the conversations with them: the product layer above the kernel.

What lives here: the tables and rules of agents, personas, skills, the LLM model catalog, the
prompt registry, chat sessions and messages, LLM usage, the reference catalogs (credential types,
plugin categories, platform settings) and the idempotent seed that fills them.

Departure from ARCHITECTURE.md's layout, on purpose: the blueprint names five top-level parts
(kernel, extensions, marketplace, api, sandbox) and no home for the domain of agents and chat. It
cannot go in ``kernel/`` (the kernel "knows no concrete capability"), nor in ``extensions/`` (those
are pluggy plugins a workspace may disable; agents are what a workspace *is for*), nor in ``api/``
(the CLI's ``automatos seed`` and later the router and workers use the same rules without HTTP).
So the rules live here and ``api/controllers/`` stays one thin module per resource over them.

The tables share the kernel's ``Base.metadata`` and migration chain (``0004_agents``): one schema
history, one ``automatos db upgrade``. LLM and embedding providers stay extensions: this package
only asks the workspace's hook view for them.
"""
