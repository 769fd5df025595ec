"""``/api/audit`` (admins): the audit log, newest first: who changed what and when, with
the record before and after. The operations write it (see :mod:`store.acting`); nothing
here or anywhere changes or removes an entry. The console's audit page calls
:func:`entries` too."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from apiflask import APIBlueprint
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require
from api.context import parts
from store.model import AuditEntry

bp = APIBlueprint("audit", __name__, tag="audit")
MAX_ENTRIES = 1000


class AuditQuery(BaseModel):
    """Filters; each one given must match exactly."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field("", max_length=300, description="e.g. source:gov-news, group:地名")
    actor: str = Field("", max_length=200, description="a user name, cli:<login> or yuqing")
    limit: int = Field(100, ge=1, le=MAX_ENTRIES)


def entries(query: AuditQuery) -> list[AuditEntry]:
    return parts().store.audit.list(
        target=query.target.strip() or None, actor=query.actor.strip() or None, limit=query.limit
    )


def entry_doc(entry: AuditEntry, zone: tzinfo) -> dict[str, Any]:
    """``entry`` as JSON, its time in the configured zone."""
    return {
        "id": entry.id,
        "time": entry.time.astimezone(zone).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }


@bp.get("/audit")
@bp.input(AuditQuery, location="query")
@bp.doc(summary="The audit log, newest first (who, when, what; the record before and after)")
@require("admin")
def list_audit(query_data: AuditQuery) -> Response:
    zone = parts().zone
    return jsonify(entries=[entry_doc(e, zone) for e in entries(query_data)])
