"""Personas: the voice and stance an agent takes; the platform's (seeded) or a workspace's own.

The rules are :class:`~automatos.agents.owned.OwnedResources`'; a persona adds its system prompt
(put before the agent's own instructions) and descriptive traits.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from automatos.agents import models as am
from automatos.agents.owned import Labels, LongText, OwnedCreate, OwnedRecord, OwnedResources, OwnedUpdate

__all__ = ["PersonaCreate", "PersonaRecord", "PersonaUpdate", "Personas"]


class PersonaCreate(OwnedCreate, kw_only=True):
    system_prompt: LongText = ""
    traits: Labels = []


class PersonaUpdate(OwnedUpdate, kw_only=True):
    system_prompt: LongText | UnsetType = UNSET
    traits: Labels | UnsetType = UNSET


class PersonaRecord(OwnedRecord, kw_only=True):
    system_prompt: str
    traits: list[str]


class Personas(OwnedResources[PersonaRecord, PersonaCreate, PersonaUpdate]):
    """The ``personas`` rows of one database."""

    model = am.Persona
    noun = "persona"
    record = PersonaRecord
