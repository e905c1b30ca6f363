"""Agents and what they are built from: the product layer a workspace is for.

- :mod:`automatos.agents.service`: :class:`~automatos.agents.service.AgentService`, a workspace's
  agents and their rules;
- :mod:`automatos.agents.owned`: one service for resources the platform and workspaces both own
  (platform rows read-only to workspaces), declared for :mod:`~automatos.agents.personas` and
  :mod:`~automatos.agents.skills`;
- :mod:`automatos.agents.records`: an agent's model settings and lookup, shared with chat;
- :mod:`automatos.agents.platform_settings`: the seeded platform settings (tuning knobs) declared
  for the kernel's one settings registry, which reads, checks and sets them;
- :mod:`automatos.agents.seed` and :mod:`automatos.agents.seed_data`: the idempotent seed of the
  platform's reference data (models, personas, credential types, categories, prompts, settings);
- :mod:`automatos.agents.models`: the tables of agents, personas and skills; ``migrations/``: the
  agents schema's revision (0004, with the tables of its neighbours), handed to the migration runner
  by the composition root.

Its neighbours: the model catalogue and a workspace's providers are ``llm/``; sessions, turns,
usage and prompts are ``chat/``; credential types ``tools/``; plugin categories ``marketplace/``.
It imports the kernel and ``llm/`` only (docs/architecture.md). LLM and embedding providers stay
extensions: nothing here imports one. Every service is a provider of the composition root
(``automatos/container.py``).
"""
