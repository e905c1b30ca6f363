"""Chat: sessions, turns (streamed or not), usage, prompts and the OpenAI-compatible service."""
