"""``POST /api/routing/calibration``: fit the workspace's routing thresholds and few-shot centroids.

Thin: the rules are :mod:`automatos.routing.calibration`'s (docs/routing.md, "Calibration").

Workspace admins (``workspace.update``: it rewrites the routing configuration). The body is either a
list of labelled examples ``[{"text", "expected"}]`` (``expected`` an active agent's slug or
``none``; at most :data:`~automatos.routing.calibration.MAX_EXAMPLES`) or an object
``{"examples"?: [...], "use_corrections": true}`` — the examples agreeing corrections made are
added. 200, the calibration record (also in ``GET /api/routing/config``). 422 naming the field at
fault: ``examples`` (empty, too many, not a list), ``examples[i].text``, ``examples[i].expected``
(an unknown agent slug), ``use_corrections``.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody

from automatos.api.dependencies import request_context, scoped, services
from automatos.kernel.errors import ValidationError
from automatos.kernel.permissions import Permission
from automatos.routing.calibration import MAX_EXAMPLES
from automatos.routing.evaluation import Labelled, parse_examples

__all__ = ["RoutingCalibrationController"]


def _body(data: Any) -> tuple[list[Labelled], bool]:
    if isinstance(data, list):
        return parse_examples(data, limit=MAX_EXAMPLES), False
    if not isinstance(data, dict):
        raise ValidationError("a list of {text, expected} or {examples?, use_corrections}", field="body")
    unknown = set(data) - {"examples", "use_corrections"}
    if unknown:
        raise ValidationError(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    use = data.get("use_corrections", False)
    if not isinstance(use, bool):
        raise ValidationError("use_corrections is true or false", field="use_corrections")
    items = data.get("examples")
    if items is None or (items == [] and use):
        if not use:
            raise ValidationError("send examples, or use_corrections: true", field="examples")
        return [], True
    return parse_examples(items, limit=MAX_EXAMPLES), use


class RoutingCalibrationController(Controller):
    path = "/api/routing"
    tags = ["routing"]

    @post("/calibration", status_code=200, summary="Fit the routing thresholds on labelled examples (workspace admins)")
    async def calibrate(self, request: Request[Any, Any, Any], data: JSONBody[Any]) -> dict[str, Any]:
        _, ctx = await request_context(request)
        scope = scoped(ctx, Permission.WORKSPACE_UPDATE)
        examples, use_corrections = _body(data)
        return await (
            services(request)
            .routing_calibration()
            .fit(
                scope.workspace,
                examples,
                actor_id=scope.principal.id,
                use_corrections=use_corrections,
                request_id=ctx.request_id,
            )
        )
