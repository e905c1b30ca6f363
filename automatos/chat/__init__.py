"""Chat: sessions, turns (streamed or not), usage, prompts and the OpenAI-compatible service.

- :mod:`automatos.chat.service`: :class:`~automatos.chat.service.ChatService`, sessions, messages,
  usage, and starting a turn;
- :mod:`automatos.chat.turn`: :class:`~automatos.chat.turn.Turn`, the provider call and the one
  record of how it ended;
- :mod:`automatos.chat.records`: what chat answers with;
- :mod:`automatos.chat.prompts`: the prompt registry, cached in the key-value backend;
- :mod:`automatos.chat.openai_compat`: the service behind ``/v1``;
- :mod:`automatos.chat.models`: the tables of sessions, messages, usage and prompts.

It imports the kernel, ``agents/``, ``llm/`` and ``workspaces/`` (docs/architecture.md).
"""
