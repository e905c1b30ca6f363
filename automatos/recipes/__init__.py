"""The home of workflow recipes: versioned definitions, runs, checkpoints; steps run on ``jobs/``.

Empty until the recipes issue lands. It may import the kernel and ``agents/``, ``chat/``, ``jobs/``,
``llm/``, ``tools/``, ``sandbox/`` (docs/architecture.md).
"""
