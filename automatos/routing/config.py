"""A workspace's routing configuration: the defaults, the merge, the checks of a write.

One JSON document per workspace (table ``routing_config``)::

    {"tiers": {"<tier name>": {"enabled": true, "order": 40, "timeout": 5, ...tier params}},
     "default_agent": "<agent id>" | null, "calibration": {...} | absent}

``calibration`` is the record :mod:`automatos.routing.calibration` writes with the values it fitted
(shown by ``GET /api/routing/config``; a ``PUT`` without it drops it, the fitted values stay).

What tiers read (``context.config``) is the stored document merged over :data:`DEFAULT_TIERS`: a
tier the document does not name keeps its defaults, a named one keeps the default keys it does not
override. ``order`` decides the cascade's order (the tier's own ``order`` when neither the defaults
nor the document name it), ``enabled: false`` takes it out, ``timeout`` (seconds) bounds it. Tier
params are the tiers' own (``semantic.threshold``, ``semantic.margin``, ``semantic.shortlist``,
``llm.threshold``, ``intent.threshold``…); the ones whose meaning is known here are checked
(:data:`UNIT_PARAMS` between 0 and 1, :data:`COUNT_PARAMS` whole numbers 1-100), others only for
being small JSON values. A write replaces the whole document (``PUT /api/routing/config``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from automatos.kernel.errors import ValidationError

__all__ = [
    "COUNT_PARAMS",
    "DEFAULT_TIERS",
    "MAX_CONFIG_BYTES",
    "RESERVED_NAMES",
    "UNIT_PARAMS",
    "check_config",
    "merged",
]

DEFAULT_TIERS: dict[str, dict[str, Any]] = {
    "override": {"enabled": True, "order": 0},
    "cache": {"enabled": True, "order": 10},
    "rules": {"enabled": True, "order": 20},
    "triggers": {"enabled": True, "order": 30},
    "semantic": {"enabled": True, "order": 40},
    "intent": {"enabled": True, "order": 50},
    "llm": {"enabled": True, "order": 60},
}
"""The built-in tiers' defaults (their params' defaults are the tiers' own)."""

UNIT_PARAMS = frozenset({"threshold", "margin", "confidence"})
COUNT_PARAMS = frozenset({"shortlist"})
MAX_CONFIG_BYTES = 65_536
MAX_TIERS = 50
RESERVED_NAMES = frozenset({"tiers", "default_agent", "calibration"})
"""Keys of the document itself: tiers also find their settings at ``config[name]`` (the kernel's
``RoutingContext`` docstring), so no tier may take these names."""
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def merged(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored document over the defaults (a new dict; the stored one is not changed).

    Each tier's settings are at ``["tiers"][name]`` and, the same dict, at ``[name]``."""
    stored = stored or {}
    tiers: dict[str, dict[str, Any]] = {name: dict(values) for name, values in DEFAULT_TIERS.items()}
    for name, values in (stored.get("tiers") or {}).items():
        if isinstance(values, Mapping):
            tiers[name] = {**tiers.get(name, {}), **values}
    calibration = stored.get("calibration")
    return {**tiers, "tiers": tiers, "default_agent": stored.get("default_agent"), "calibration": calibration}


def _param(tier: str, key: str, value: Any) -> Any:
    field = f"tiers.{tier}.{key}"
    if key == "enabled":
        if not isinstance(value, bool):
            raise ValidationError("enabled is true or false", field=field)
        return value
    if key == "order":
        if isinstance(value, bool) or not isinstance(value, int) or not -1000 <= value <= 1000:
            raise ValidationError("order is a whole number from -1000 to 1000", field=field)
        return value
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if key == "timeout":
        if not number or not 0 < value <= 60:
            raise ValidationError("timeout is a number of seconds above 0, at most 60", field=field)
        return float(value)
    if key in UNIT_PARAMS:
        if not number or not 0 <= value <= 1:
            raise ValidationError(f"{key} is a number from 0 to 1", field=field)
        return float(value)
    if key in COUNT_PARAMS:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            raise ValidationError(f"{key} is a whole number from 1 to 100", field=field)
        return value
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    raise ValidationError(f"{key} must be a JSON value", field=field)


MAX_TRIGGER_ROUTES = 500


def _trigger_routes(value: Any) -> dict[str, str]:
    """``tiers.triggers.routes``: ``{"<provider>/<trigger>" | "<provider>/*": agent id or slug}``.

    Only the shape is checked here; the service checks that each names an active agent (stored as its id)."""
    field = "tiers.triggers.routes"
    if not isinstance(value, Mapping):
        raise ValidationError("routes is an object: '<provider>/<trigger>' -> agent id or slug", field=field)
    if len(value) > MAX_TRIGGER_ROUTES:
        raise ValidationError(f"at most {MAX_TRIGGER_ROUTES} trigger routes", field=field)
    routes: dict[str, str] = {}
    for key, agent in value.items():
        provider, slash, trigger = str(key).partition("/")
        if (
            not isinstance(key, str)
            or len(key) > 300
            or not (provider and slash and trigger)
            or "/" in provider
            or any(c.isspace() for c in key)
        ):
            raise ValidationError(
                "a trigger route's key is '<provider>/<trigger>' or '<provider>/*' (no spaces, at most 300 characters)",
                field=f"{field}.{str(key)[:300]}",
            )
        if not isinstance(agent, str) or not 1 <= len(agent) <= 100:
            raise ValidationError("a trigger route names an agent: its id or slug", field=f"{field}.{key}")
        routes[key] = agent
    return routes


def check_config(body: Any) -> tuple[dict[str, Any], str | None]:
    """A written document checked: ``(stored document, default_agent reference)``.

    422 naming the field at fault. The default agent is only a reference here (id or slug); the
    service checks that it is an active agent of the workspace and stores its id.
    """
    if not isinstance(body, Mapping):
        raise ValidationError("the routing configuration is an object", field="body")
    unknown = set(body) - {"tiers", "default_agent", "calibration"}
    if unknown:
        raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    if len(msgspec.json.encode(body)) > MAX_CONFIG_BYTES:
        raise ValidationError(f"the configuration is at most {MAX_CONFIG_BYTES} bytes as JSON", field="tiers")
    tiers_in = body.get("tiers", {})
    if tiers_in is None:
        tiers_in = {}
    if not isinstance(tiers_in, Mapping):
        raise ValidationError("tiers is an object: tier name -> its settings", field="tiers")
    if len(tiers_in) > MAX_TIERS:
        raise ValidationError(f"at most {MAX_TIERS} tiers", field="tiers")
    tiers: dict[str, dict[str, Any]] = {}
    for name, values in tiers_in.items():
        if not isinstance(name, str) or not 1 <= len(name) <= 100 or not set(name) <= _NAME_CHARS:
            raise ValidationError(
                "a tier name is 1-100 characters of a-z, 0-9, '-', '_' and '.'", field=f"tiers.{str(name)[:100]}"
            )
        if name in RESERVED_NAMES:
            raise ValidationError(f"{name!r} is not a tier name", field=f"tiers.{name}")
        if not isinstance(values, Mapping):
            raise ValidationError("a tier's settings are an object", field=f"tiers.{name}")
        if len(values) > 50:
            raise ValidationError("at most 50 settings per tier", field=f"tiers.{name}")
        tiers[name] = {str(k): _param(name, str(k), v) for k, v in values.items()}
    if "routes" in tiers.get("triggers", {}):
        tiers["triggers"]["routes"] = _trigger_routes(tiers["triggers"]["routes"])
    reference = body.get("default_agent")
    if reference is not None and (not isinstance(reference, str) or not 1 <= len(reference) <= 100):
        raise ValidationError("default_agent is an agent's id or slug, or null", field="default_agent")
    calibration = body.get("calibration")
    if calibration is not None and not isinstance(calibration, Mapping):
        raise ValidationError("calibration is the record calibration wrote (an object), or null", field="calibration")
    return {"tiers": tiers, **({"calibration": dict(calibration)} if calibration else {})}, reference
