"""The LLM layer above the providers: the model catalogue and its prices, and which providers a
workspace can use.

- :mod:`automatos.llm.models`: the ``llm_models`` table (the platform's catalogue, seeded).
- :mod:`automatos.llm.catalog`: :class:`~automatos.llm.catalog.ModelCatalog`, the catalogue's
  reads and platform-admin writes, and the cached price lookups that usage accounting uses.
- :mod:`automatos.llm.providers`: :class:`~automatos.llm.providers.ProviderResolver`, the LLM and
  embedding providers a workspace's enabled extensions register, collected through its hook view.
- :mod:`automatos.llm.settings`: the default provider and model (``LLM_PROVIDER``, ``LLM_MODEL``).

Providers themselves are extensions (``register_llm_providers``, ``register_embedding_providers``);
this package only asks for them. It imports the kernel and nothing else (docs/architecture.md).
"""
