from __future__ import annotations

from typing import Any

from simulator.core.routing import Ctx
from simulator.monitor import models
from simulator.resources.models import get_subscription


def list_activity_logs(ctx: Ctx) -> Any:
    get_subscription(ctx.world, ctx.params["sub"])
    return {"value": models.list_events(ctx.world, ctx.params["sub"], ctx.q("$filter"),
                                        ctx.q("$select"))}
