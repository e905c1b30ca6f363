"""The LLM package's settings: the default provider and model of a chat whose agent names none.

Read from the environment like every settings struct (:class:`~automatos.kernel.settings.SettingsGroup`)
and handed to the kernel by the composition root (``automatos/container.py``, ``package_settings``);
both may be overridden at run time (``PUT /api/settings/LLM_MODEL``). Read them with
``kernel.current_settings.group(LLMSettings)``.
"""

from __future__ import annotations

from typing import ClassVar

from automatos.kernel.settings import FieldDoc, SettingsGroup, setting

__all__ = ["LLMSettings"]


class LLMSettings(SettingsGroup, frozen=True, kw_only=True):
    OWNER: ClassVar[str] = "llm package"
    FIELDS: ClassVar[tuple[FieldDoc, ...]] = (
        setting("LLM_PROVIDER", "llm_provider", "provider name", runtime=True),
        setting("LLM_MODEL", "llm_model", "model name", runtime=True),
    )

    llm_provider: str = "offline"
    """Default LLM provider."""
    llm_model: str = "offline-echo"
    """Default model (of the default provider)."""
