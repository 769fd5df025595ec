"""Console: the alert inbox, an alert's page with its actions, and the page behind the
emailed one-click acknowledge link. Everything goes through the functions of
:mod:`api.resources.alerts`, as the API does."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from pydantic import BaseModel, ValidationError
from werkzeug.wrappers import Response

from api.accounts import has_role
from api.auth import check_csrf, current_user, require
from api.console.i18n import gettext as _
from api.console.login import local_path
from api.console.regions import negative_percent, region_name
from api.context import parts
from api.errors import ApiError, describe
from api.resources.alerts import (
    SEVERITIES,
    STATUSES,
    AssignIn,
    CloseIn,
    HandleIn,
    InboxQuery,
    NoteIn,
    RespondIn,
    acknowledge_many,
    act,
    detail,
    get_alert,
    inbox,
    rule_names,
    summary,
)
from monitor.alerts import operations
from monitor.alerts.links import LinkError
from monitor.alerts.tickets import STEP_LABELS, TicketError

bp = Blueprint("console_alerts", __name__)
ENGLISH: dict[str, str] = {
    "新旧": "New or old",
    "新信息": "News",
    "旧闻补录": "Backfill (old news)",
    "发布已久，首次发现时即为旧闻：不计时限": (
        "Published long before it was first seen: old news, no handling deadlines"
    ),
    "最新在前": "Newest first",
    "最负面在前": "Most negative first",
    "负面度": "Negativity",
    "属地": "Region",
    "预警列表": "Alert inbox",
    "状态": "Status",
    "级别": "Severity",
    "规则": "Rule",
    "处理人": "Assignee",
    "属地代码": "Region code",
    "仅超时": "Overdue only",
    "起始日期": "From",
    "截止日期": "Until",
    "筛选": "Filter",
    "全部": "All",
    "标题": "Title",
    "时间": "Time",
    "条数": "Items",
    "期限": "Deadline",
    "批量签收": "Acknowledge selected",
    "签收": "Acknowledge",
    "指派": "Assign",
    "备注": "Note",
    "开始处置": "Start handling",
    "回应": "Respond",
    "关闭": "Close",
    "关闭原因": "Reason",
    "已处置": "Handled",
    "误报": "False positive",
    "重复": "Duplicate",
    "权威信息链接或说明": "Link or note to the authoritative information",
    "没有符合条件的预警": "No alerts match",
    "上一页": "Previous",
    "下一页": "Next",
    "共 %(total)s 条": "%(total)s in all",
    "已超时": "Overdue",
    "剩余": "left",
    "处置时限": "Deadlines",
    "完成于": "Done at",
    "时间线": "Timeline",
    "事件相关信息": "The event's items",
    "原文": "Original",
    "来源": "Source",
    "发布时间": "Published",
    "首次发现": "First seen",
    "操作": "Actions",
    "新预警": "New",
    "已签收": "Acknowledged",
    "处置中": "Handling",
    "已回应": "Responded",
    "已关闭": "Closed",
    "严重": "critical",
    "警告": "warning",
    "提示": "info",
    "紧急": "Emergency",
    "已签收 %(done)s 条": "%(done)s acknowledged",
    "%(id)s：%(detail)s": "%(id)s: %(detail)s",
    "确认签收预警": "Confirm acknowledgement",
    "确认签收": "Acknowledge now",
    "签收人": "Acknowledged as",
    "预警已签收": "Alert acknowledged",
    "链接无效": "Link not valid",
    "链接已失效": "Link no longer valid",
    "无法签收": "Cannot acknowledge",
    "该预警当前状态": "This alert is now",
    "打开控制台查看": "Open it in the console",
    "相似信息": "Similar items",
    "仅显示前 %(n)s 条": "only the first %(n)s shown",
    "签收链接无效或已被篡改": "This acknowledge link is not valid or was altered",
    "签收链接已过期": "This acknowledge link has expired",
    "该签收链接已使用过": "This acknowledge link has already been used",
    "发布权威信息": "Authoritative information",
    "处置完毕": "Handling done",
    "生成": "Created",
    "升级通知": "Escalated",
    "未执行": "refused",
    "时限提醒": "Deadline reminder",
    "邮件已送达": "Emailed",
    "邮件发送失败": "Email failed",
    "消息已送达": "Message delivered",
    "消息发送失败": "Message failed",
    "重发": "Resent",
}
STATUS_LABELS = {
    "new": "新预警",
    "acknowledged": "已签收",
    "handling": "处置中",
    "responded": "已回应",
    "closed": "已关闭",
}
SEVERITY_LABELS = {"critical": "严重", "warning": "警告", "info": "提示"}
# The timeline's details, as operators read them (never ``emergency=False``).
DETAIL_LABELS = {
    "items": "条数",
    "emergency": "紧急",
    "steps": "时限",
    "chain": "升级级别",
    "to": "发送到",
    "channel": "渠道",
    "kind": "通知类型",
    "merged": "合并条数",
    "via": "方式",
    "assignee": "处理人",
    "guidance": "权威信息",
    "reason": "关闭原因",
    "was": "当时状态",
}
VALUE_LABELS = {
    "console": "控制台",
    "email": "邮件链接",
    "api": "接口",
    "cli": "命令行",
    "new": "新预警",
    "update": "进展通知",
    "digest": "摘要",
    "escalate": "升级通知",
    "recovered": "已恢复",
    "remind": "时限提醒",
    "chain": "逐级升级",
    "test": "测试消息",
}
ENGLISH.update(
    {
        "升级级别": "Escalation step",
        "发送到": "To",
        "渠道": "Channel",
        "通知类型": "Notice",
        "合并条数": "Merged",
        "方式": "Via",
        "权威信息": "Guidance",
        "当时状态": "Status then",
        "控制台": "console",
        "邮件链接": "email link",
        "接口": "API",
        "命令行": "command line",
        "进展通知": "update",
        "摘要": "digest",
        "已恢复": "recovered",
        "逐级升级": "escalation step",
        "测试消息": "test message",
        "是": "yes",
        "否": "no",
    }
)


def _detail_value(value: Any) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(_detail_value(v) for v in value)
    if isinstance(value, str):
        known = {**STEP_LABELS, **CLOSE_LABELS, **STATUS_LABELS, **VALUE_LABELS}
        # Notice kinds carry a number: update-2, remind-guidance, chain-1.
        head, _sep, tail = value.partition("-")
        if value in known:
            return _(known[value])
        if head in VALUE_LABELS and tail:
            return f"{_(VALUE_LABELS[head])} {_detail_value(tail)}"
        return value
    return str(value)


def notice_kind(kind: str) -> str:
    """A delivery's kind (new, update-2, remind-guidance, ...) in the page's language."""
    return _detail_value(kind)


def timeline_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An entry's details as (label, value) in the page's language."""
    return [(_(DETAIL_LABELS.get(k, k)), _detail_value(v)) for k, v in details.items()]


ACTION_LABELS = {
    "created": "生成",
    "acknowledge": "签收",
    "assign": "指派",
    "note": "备注",
    "handle": "开始处置",
    "respond": "回应",
    "close": "关闭",
    "escalated": "升级通知",
    "reminded": "时限提醒",
    "emailed": "邮件已送达",
    "email_failed": "邮件发送失败",
    "notified": "消息已送达",
    "notify_failed": "消息发送失败",
    "resend": "重发",
}
CLOSE_LABELS = {"handled": "已处置", "false_positive": "误报", "duplicate": "重复"}
FORMS: dict[str, type[BaseModel] | None] = {
    "acknowledge": None,
    "assign": AssignIn,
    "note": NoteIn,
    "handle": HandleIn,
    "respond": RespondIn,
    "close": CloseIn,
}


def labels() -> dict[str, Any]:
    """What the alert templates share: labels, and whether this user may act."""
    user = current_user()
    return {
        "can_act": user is not None and has_role(user, "operator"),
        "status_labels": STATUS_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "close_labels": CLOSE_LABELS,
        "action_labels": ACTION_LABELS,
        "timeline_details": timeline_details,
        "region_name": region_name,
        "negative_percent": negative_percent,
    }


@bp.get("/alerts")
@require("viewer")
def inbox_page() -> str | tuple[str, int]:
    # Empty form fields mean "any".
    given = {k: v for k, v in request.args.items() if v.strip() and k != "lang"}
    error, status = "", 200
    try:
        query = InboxQuery.model_validate(given)
        total, page = inbox(query)
    except (ValidationError, ApiError) as e:
        error = describe(e) if isinstance(e, ValidationError) else e.detail
        query, total, page, status = InboxQuery.model_validate({}), 0, [], 400
    now = parts().now()
    html = render_template(
        "alerts/inbox.html",
        query=query,
        given=given,
        total=total,
        alerts=[summary(a, now) for a in page],
        rules=rule_names(),
        statuses=STATUSES,
        severities=SEVERITIES,
        error=error,
        previous=_page_url(given, query.page - 1) if query.page > 1 else "",
        following=_page_url(given, query.page + 1) if query.page * query.size < total else "",
        **labels(),
    )
    return html, status


def _page_url(given: dict[str, str], page: int) -> str:
    args: dict[str, Any] = given | {"page": page}
    return url_for(".inbox_page", **args)


@bp.post("/alerts/acknowledge")
@require("operator")
def acknowledge_selected() -> Response:
    result = acknowledge_many(request.form.getlist("ids"))
    flash(_("已签收 %(done)s 条", done=len(result["acknowledged"])))
    for refused in result["refused"]:
        flash(_("%(id)s：%(detail)s", id=refused["id"], detail=refused["detail"]), "error")
    return redirect(
        local_path(request.form.get("back")) if request.form.get("back") else url_for(".inbox_page")
    )


@bp.get("/alerts/<alert_id>")
@require("viewer")
def alert_page(alert_id: str) -> str:
    return _detail_page(alert_id)


def _detail_page(alert_id: str, error: str = "") -> str:
    return render_template(
        "alerts/detail.html", alert=detail(get_alert(alert_id)), error=error, **labels()
    )


@bp.post("/alerts/<alert_id>/<action>")
@require("operator")
def alert_action(alert_id: str, action: str) -> Response | tuple[str, int]:
    if action not in FORMS:
        raise ApiError(404, f"no action {action!r}")
    form = FORMS[action]
    try:
        data = form.model_validate(request.form.to_dict()) if form else None
        act(alert_id, action, data)
    except ValidationError as e:
        return _detail_page(alert_id, describe(e)), 400
    except TicketError as e:
        get_alert(alert_id)  # unknown: 404
        return _detail_page(alert_id, str(e)), 409
    return redirect(url_for(".alert_page", alert_id=alert_id))


# -- the emailed acknowledge link ----------------------------------------------------
# These two views have no ``require``: the signed, expiring token in the link is the
# credential (it names the alert and the recipient, and works once). GET only shows the
# alert, because mail scanners open links; acknowledging needs the POST of its form.

_LINK_PROBLEMS = {
    "invalid": (403, "签收链接无效或已被篡改"),
    "expired": (410, "签收链接已过期"),
    "used": (410, "该签收链接已使用过"),
}


def _link_refused(e: LinkError) -> tuple[str, int]:
    status, message = _LINK_PROBLEMS[e.kind]
    page = render_template("alerts/ack_link.html", state="refused", message=_(message))
    return page, status


@bp.route("/alerts/<alert_id>/ack", methods=["GET", "POST"])
def ack_link(alert_id: str) -> str | tuple[str, int]:
    token = request.args.get("t", "")
    tickets = parts().tickets
    try:
        claim = tickets.check_link(token)
        if claim.alert_id != alert_id:
            raise LinkError("this acknowledge link is for another alert", "invalid")
        if request.method == "GET":
            alert = get_alert(alert_id)
            return render_template(
                "alerts/ack_link.html",
                # Acknowledged by someone else already: nothing to confirm.
                state="confirm" if alert.status == "new" else "conflict",
                alert=summary(alert, parts().now()),
                recipient=claim.recipient,
                token=token,
                **labels(),
            )
        # Signed-in or not, the confirm form must come from this site's page.
        check_csrf()
        after = operations.acknowledge_by_link(tickets, token, alert_id)
    except LinkError as e:
        return _link_refused(e)
    except TicketError as e:
        alert = get_alert(alert_id)
        page = render_template(
            "alerts/ack_link.html",
            state="conflict",
            message=str(e),
            alert=summary(alert, parts().now()),
            **labels(),
        )
        return page, 409
    return render_template(
        "alerts/ack_link.html",
        state="done",
        alert=summary(after, parts().now()),
        recipient=claim.recipient,
        **labels(),
    )
