"""Console: the audit log (``/admin/audit``, admins): every change with who, when and the
record before and after, filtered by target or actor. Read only, like ``/api/audit``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request
from pydantic import ValidationError

from api.auth import require
from api.console.i18n import gettext as _
from api.console.i18n import language
from api.context import parts
from api.errors import describe
from api.resources.audit import AuditQuery, entries
from store.localtime import local_time

bp = Blueprint("console_audit", __name__)
SHOWN = 4000  # characters of a record's data shown on the page; the API has all of it
# What each action is called, by domain (the action names are the API's).
ACTION_LABELS = {
    "library.save": "保存词库",
    "keywords.group.create": "新建词组",
    "keywords.group.update": "修改词组",
    "keywords.group.delete": "删除词组",
    "keywords.rule.create": "新建方案",
    "keywords.rule.update": "修改方案",
    "keywords.rule.delete": "删除方案",
    "keywords.import": "导入词库",
    "keywords.rollback": "回滚词库",
    "alert.acknowledge": "签收预警",
    "alert.assign": "指派预警",
    "alert.note": "添加备注",
    "alert.handle": "开始处置",
    "alert.respond": "回应预警",
    "alert.close": "关闭预警",
    "policy.update": "修改预警策略",
    "emergency.on": "开启紧急模式",
    "emergency.off": "关闭紧急模式",
    "source.create": "添加信息源",
    "source.update": "修改信息源",
    "source.delete": "删除信息源",
    "source.seed": "导入信息源",
    "source.run": "立即运行",
    "user.create": "添加用户",
    "user.role": "修改角色",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "user.password": "重置密码",
    "token.issue": "创建令牌",
    "token.revoke": "吊销令牌",
}
ENGLISH: dict[str, str] = {
    "审计日志": "Audit log",
    "每一次修改：谁、何时、改了什么，以及修改前后的内容。": "Every change: who, when, what, "
    "and the record before and after.",
    "对象": "Target",
    "操作人": "Actor",
    "时间": "Time",
    "操作": "Action",
    "修改前": "Before",
    "修改后": "After",
    "筛选": "Filter",
    "条数": "Entries",
    "没有符合条件的记录": "No entries match",
    "时区": "Time zone",
    "（已截断，完整内容见 /api/audit）": "(cut short; /api/audit has all of it)",
    "保存词库": "Save library",
    "新建词组": "Create group",
    "修改词组": "Change group",
    "删除词组": "Delete group",
    "新建方案": "Create rule",
    "修改方案": "Change rule",
    "删除方案": "Delete rule",
    "导入词库": "Import",
    "回滚词库": "Roll back library",
    "签收预警": "Acknowledge alert",
    "指派预警": "Assign alert",
    "添加备注": "Add note",
    "开始处置": "Start handling",
    "回应预警": "Respond",
    "关闭预警": "Close alert",
    "修改预警策略": "Change alert policy",
    "开启紧急模式": "Emergency on",
    "关闭紧急模式": "Emergency off",
    "添加信息源": "Add source",
    "修改信息源": "Change source",
    "删除信息源": "Delete source",
    "导入信息源": "Seed source",
    "立即运行": "Run now",
    "添加用户": "Add user",
    "修改角色": "Change role",
    "停用用户": "Disable user",
    "启用用户": "Enable user",
    "重置密码": "Reset password",
    "创建令牌": "Issue token",
    "吊销令牌": "Revoke token",
}


def shown(data: Any) -> str:
    """A record's data as indented JSON for the page (escaped by the template), cut short
    if long."""
    if data is None:
        return ""
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    return (
        text
        if len(text) <= SHOWN
        else text[:SHOWN] + "\n… " + _("（已截断，完整内容见 /api/audit）")
    )


def when(value: datetime) -> str:
    """``value`` in the configured zone, with the zone's name."""
    return local_time(value, parts().zone, language(), seconds=True)


@bp.get("/admin/audit")
@require("admin")
def audit() -> tuple[str, int]:
    given = {k: v for k, v in request.args.items() if k in AuditQuery.model_fields}
    error, status = "", 200
    try:
        query = AuditQuery.model_validate(given)
    except ValidationError as e:
        error, status, query = describe(e), 400, AuditQuery.model_validate({})
    page = render_template(
        "admin/audit.html",
        query=query,
        entries=entries(query) if not error else [],
        labels=ACTION_LABELS,
        shown=shown,
        when=when,
        error=error,
    )
    return page, status
