"""Skills: reusable blocks of instructions an agent can be given; the platform's or a workspace's own.

The rules are :class:`~automatos.agents.owned.OwnedResources`'; a skill adds its instructions
(put into the system prompt as ``## Skill: <name>``) and tags.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from automatos.agents import models as am
from automatos.agents.owned import Labels, LongText, OwnedCreate, OwnedRecord, OwnedResources, OwnedUpdate

__all__ = ["SkillCreate", "SkillRecord", "SkillUpdate", "Skills"]


class SkillCreate(OwnedCreate, kw_only=True):
    instructions: LongText = ""
    tags: Labels = []


class SkillUpdate(OwnedUpdate, kw_only=True):
    instructions: LongText | UnsetType = UNSET
    tags: Labels | UnsetType = UNSET


class SkillRecord(OwnedRecord, kw_only=True):
    instructions: str
    tags: list[str]


class Skills(OwnedResources[SkillRecord, SkillCreate, SkillUpdate]):
    """The ``skills`` rows of one database."""

    model = am.Skill
    noun = "skill"
    record = SkillRecord
