"""The content scan rules in one tuple, for the module that registers the built-in rules.

Data files (:mod:`~automatos.extensions.scanning.datafiles`), typosquatting
(:mod:`~automatos.extensions.scanning.typosquat`), prompt injection
(:mod:`~automatos.extensions.scanning.injection`) and the manifest
(:mod:`~automatos.extensions.scanning.manifest_rules`); each rule is documented in
docs/scanning.md, "Content rules".
"""

from __future__ import annotations

from automatos.extensions.scanning import datafiles, injection, manifest_rules, typosquat
from automatos.kernel.scanning import TargetRule

__all__ = ["CONTENT_RULES"]

CONTENT_RULES: tuple[TargetRule, ...] = (
    *datafiles.RULES,
    *typosquat.RULES,
    *injection.RULES,
    *manifest_rules.RULES,
)
