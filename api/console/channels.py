"""Console: notification channels (list with a test-send button, add and edit with
write-only secrets), the routing table with its preview, the dead-letter list with
resend, each alert's deliveries, and the short acknowledge link of chat messages and
SMS (``/k/<code>``). The work is :mod:`api.resources.channels`'s, as in the API."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any

import yaml
from flask import Blueprint, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from api.accounts import has_role
from api.auth import current_user, require
from api.console.i18n import gettext as _
from api.console.i18n import language
from api.console.login import local_path
from api.context import parts
from api.errors import ApiError, describe
from api.resources import channels as api
from monitor.alerts.channels import KINDS
from monitor.alerts.channels.base import ChannelSettings
from store.localtime import local_time, zone_name
from store.model import OutboxMessage

bp = Blueprint("console_channels", __name__)

FIELD_LABELS = {
    "webhook": "Webhook 地址",
    "secret": "密钥",
    "keywords": "自定义关键词（每行一个）",
    "url": "地址",
    "headers": "请求头（每行“名称: 值”）",
    "method": "请求方法",
    "format": "请求格式",
    "fields": "请求字段（每行“名称: 模板”）",
    "template": "短信内容模板",
    "max_length": "短信最长字数",
    "ok_field": "成功标志字段",
    "ok_value": "成功标志值",
    "access_key_id": "AccessKey ID",
    "access_key_secret": "AccessKey Secret",
    "sign_name": "短信签名",
    "template_code": "模板 CODE",
    "params": "模板变量（每行“变量: 占位符”）",
    "endpoint": "接口地址",
    "region_id": "地域 ID",
    "quiet_hours": "免打扰时段（如 22:00-07:00；严重和应急预警照常送达）",
    "per_minute": "每分钟最多条数（留空按平台限制）",
}
KIND_LABELS = {"email": "电子邮件", **{k: c.label for k, c in KINDS.items()}}
STATUS_LABELS = {
    "pending": "等待发送",
    "sending": "发送中",
    "sent": "已送达",
    "failed": "失败",
    "merged": "已合并",
}
ENGLISH: dict[str, str] = {
    "第 %(n)s 行": "line %(n)s",
    "路由表": "the routing table",
    "%(where)s：%(problem)s": "%(where)s: %(problem)s",
    "路由表应是一个映射（routes、emergency、escalation…）": (
        "The routing table should be a mapping (routes, emergency, escalation…)"
    ),
    "%(name)s：第 %(n)s 行应为“名称: 值”": "%(name)s: line %(n)s should be “name: value”",
    "通知渠道": "Channels",
    "添加渠道": "Add a channel",
    "编辑渠道": "Edit channel",
    "渠道": "Channel",
    "名称": "Name",
    "类型": "Kind",
    "状态": "Status",
    "启用": "Enabled",
    "停用": "Disabled",
    "密钥": "Secrets",
    "未设置": "not set",
    "已设置": "set",
    "留空则保持不变": "leave empty to keep it",
    "测试发送": "Send a test",
    "收件人（短信、邮件）": "Recipient (SMS, email)",
    "发送成功": "Delivered",
    "发送失败": "Failed",
    "保存": "Save",
    "删除": "Delete",
    "确定删除该渠道？": "Delete this channel?",
    "已保存": "Saved",
    "已删除": "Deleted",
    "路由规则": "Routing",
    "路由表（YAML 或 JSON）": "Routing table (YAML or JSON)",
    "路由预览": "Routing preview",
    "规则": "Rule",
    "级别": "Severity",
    "地区（逗号分隔）": "Regions (comma-separated)",
    "关键词组（逗号分隔）": "Keyword groups (comma-separated)",
    "条目提及的区划代码（逗号分隔）": "Region codes its items mention (comma-separated)",
    "主属地区划代码": "Primary region code",
    "条件": "Conditions",
    "规则名（可用通配符）": "rule names (wildcards allowed)",
    "关键词组": "keyword groups",
    "地名（名称的一部分）": "part of a place name",
    "区划代码（如 500152：条目提及该地或其下属地方即命中）": (
        "administrative codes (e.g. 500152: the items mention that place or one under it)"
    ),
    "只看主属地": "their primary region only",
    "时段": "time of day",
    "时间": "Time",
    "应急模式": "Emergency mode",
    "预览": "Preview",
    "该预警将发送至": "This alert would go to",
    "命中的路由": "Matching routes",
    "无": "none",
    "免打扰，延至结束后发送": "held by quiet hours until they end",
    "渠道不存在": "no such channel",
    "失败投递": "Dead letters",
    "没有失败的投递": "No failed deliveries",
    "重发": "Resend",
    "已重新排队": "Queued again",
    "收件人": "Recipient",
    "内容": "Message",
    "原因": "Reason",
    "尝试次数": "Attempts",
    "预警": "Alert",
    "投递": "Deliveries",
    "还没有投递": "No deliveries yet",
    "送达时间": "Delivered at",
    "等待发送": "Pending",
    "发送中": "Sending",
    "已送达": "Delivered",
    "失败": "Failed",
    "已合并": "Merged",
    "时间为 %(zone)s": "Times in %(zone)s",
    "严重": "critical",
    "警告": "warning",
    "提示": "info",
    "签收链接无效": "This acknowledge link is not valid",
    "电子邮件": "Email",
    "企业微信群机器人": "WeCom group robot",
    "钉钉群机器人": "DingTalk robot",
    "飞书群机器人": "Feishu bot",
    "通用 Webhook": "Webhook",
    "短信网关": "SMS gateway",
    "阿里云短信": "Aliyun SMS",
    "Webhook 地址": "Webhook URL",
    "自定义关键词（每行一个）": "Keywords (one per line)",
    "地址": "URL",
    "请求头（每行“名称: 值”）": "Headers (one 'name: value' per line)",
    "请求方法": "Method",
    "请求格式": "Format",
    "请求字段（每行“名称: 模板”）": "Fields (one 'name: template' per line)",
    "短信内容模板": "Message template",
    "短信最长字数": "Longest message (characters)",
    "成功标志字段": "Success field",
    "成功标志值": "Success value",
    "短信签名": "SMS signature",
    "模板 CODE": "Template code",
    "模板变量（每行“变量: 占位符”）": "Template variables (one 'variable: placeholder' per line)",
    "接口地址": "Endpoint",
    "地域 ID": "Region id",
    "免打扰时段（如 22:00-07:00；严重和应急预警照常送达）": (
        "Quiet hours (e.g. 22:00-07:00; critical and emergency alerts still go)"
    ),
    "每分钟最多条数（留空按平台限制）": "Messages a minute at most (empty: the platform's limit)",
    "设置指南": "Set-up guide",
}


def _can(role: str) -> bool:
    user = current_user()
    return user is not None and has_role(user, role)


def local(value: str | datetime | None) -> str:
    """A time in the configured zone (the page says which once, so not on every row)."""
    if not value:
        return "—"
    return local_time(value, parts().zone, language(), seconds=True, named=False)


def _zone() -> str:
    return zone_name(parts().zone, language())


def _common() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "field_labels": FIELD_LABELS,
        "local": local,
        "zone": _zone(),
        "can_admin": _can("admin"),
        "can_act": _can("operator"),
    }


# -- channels ------------------------------------------------------------------------------


@bp.get("/channels")
@require("operator")
def channel_list() -> str:
    counts: dict[str, dict[str, int]] = {}
    for m in parts().store.outbox.list(limit=500):
        counts.setdefault(m.channel or "email", {}).setdefault(m.status, 0)
        counts[m.channel or "email"][m.status] += 1
    return render_template(
        "channels/index.html",
        channels=api.channels(),
        kinds={k: c for k, c in KINDS.items()},
        addressed={"email": True, **{k: c.addressed for k, c in KINDS.items()}},
        counts=counts,
        **_common(),
    )


def _fields(kind: str) -> list[dict[str, Any]]:
    """The form fields of a kind: its settings (common ones last), then its secrets."""
    cls = KINDS[kind]
    out: list[dict[str, Any]] = []
    common = set(ChannelSettings.model_fields)
    for group, model in (("s", cls.Settings), ("x", cls.Secrets)):
        names = [n for n in model.model_fields if n not in common]
        if group == "s":
            names += sorted(common)
        for name in names:
            info = model.model_fields[name]
            hint = typing.get_origin(info.annotation) or info.annotation
            shape = "lines" if hint is list else "pairs" if hint is dict else "text"
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            out.append(
                {
                    "group": group,
                    "name": name,
                    "shape": shape,
                    "required": info.is_required(),
                    "default": default,
                    "secret": group == "x",
                }
            )
    return out


def _shown(field: dict[str, Any], value: Any) -> str:
    if value is None:
        return ""
    if field["shape"] == "lines":
        return "\n".join(str(v) for v in value)
    if field["shape"] == "pairs":
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _read(field: dict[str, Any], text: str) -> Any:
    text = text.strip()
    if field["shape"] == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if field["shape"] == "pairs":
        pairs = {}
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ApiError(
                    400,
                    _("%(name)s：第 %(n)s 行应为“名称: 值”", name=field["name"], n=n),
                    field=field["name"],
                )
            pairs[name.strip()] = value.strip()
        return pairs
    return text


def _form(
    kind: str, ident: str, stored: dict[str, Any] | None, error: str = "", field: str = ""
) -> str:
    fields = _fields(kind)
    given = request.form if request.method == "POST" else {}
    settings = stored["settings"] if stored else {}
    secrets = stored["secrets"] if stored else {}
    for f in fields:
        if f["secret"]:
            f["masked"] = secrets.get(f["name"], "")
            f["value"] = ""
        elif f"{f['group']}_{f['name']}" in given:
            f["value"] = given[f"{f['group']}_{f['name']}"]
        else:
            f["value"] = _shown(f, settings.get(f["name"], f["default"] if not stored else None))
    return render_template(
        "channels/edit.html",
        kind=kind,
        ident=ident,
        stored=stored,
        fields=fields,
        name=given.get("name", stored["name"] if stored else ""),
        enabled=("enabled" in given) if given else (stored["enabled"] if stored else True),
        error=error,
        field=field,
        **_common(),
    )


@bp.get("/channels/new")
@require("admin")
def channel_new() -> str:
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        raise ApiError(404, f"no channel kind {kind!r}")
    return _form(kind, "", None)


@bp.get("/channels/<ident>/edit")
@require("admin")
def channel_edit(ident: str) -> str:
    stored = api.channel(ident)
    return _form(stored["kind"], ident, stored)


def _submitted(kind: str) -> api.ChannelIn:
    settings: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for f in _fields(kind):
        raw = request.form.get(f"{f['group']}_{f['name']}", "")
        value = _read(f, raw)
        if f["secret"]:
            secrets[f["name"]] = value
        elif value not in ("", [], {}):
            settings[f["name"]] = value
    data = {
        "kind": kind,
        "name": request.form.get("name", "").strip(),
        "settings": settings,
        "secrets": secrets,
        "enabled": "enabled" in request.form,
    }
    return api.ChannelIn.model_validate(data)


@bp.post("/channels")
@bp.post("/channels/<ident>")
@require("admin")
def channel_save(ident: str = "") -> Response | tuple[str, int]:
    creating = not ident
    kind = request.form.get("kind", "")
    if kind not in KINDS:
        raise ApiError(400, f"kind: unknown channel kind {kind!r}", field="kind")
    ident = ident or request.form.get("id", "").strip()
    stored = None if creating else api.channel(ident)
    try:
        api.save(ident, _submitted(kind), create=creating)
    except ValidationError as e:
        return _form(kind, "" if creating else ident, stored, describe(e)), 400
    except ApiError as e:
        return _form(kind, "" if creating else ident, stored, e.detail, e.field or ""), e.status
    flash(_("已保存"))
    return redirect(url_for(".channel_list"))


@bp.post("/channels/<ident>/delete")
@require("admin")
def channel_delete(ident: str) -> Response:
    try:
        api.remove(ident)
        flash(_("已删除"))
    except ApiError as e:
        flash(e.detail, "error")
    return redirect(url_for(".channel_list"))


@bp.post("/channels/<ident>/test")
@require("admin")
def channel_test(ident: str) -> str | tuple[str, int]:
    try:
        result = api.trial(ident, request.form.get("to", ""))
    except ApiError as e:
        return render_template("channels/_trial.html", ok=False, message=e.detail), e.status
    return render_template("channels/_trial.html", **result)


# -- routing -----------------------------------------------------------------------------


def _routing_text() -> str:
    settings = api.delivery.routing_doc(parts().store)["settings"]
    if not settings:
        return ""
    return str(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False))


def _routing_page(text: str, error: str = "", field: str = "", shown: Any = None) -> str:
    doc = api.delivery.routing_doc(parts().store)
    head = parts().store.library.head()
    rules = [r["name"] for r in (head.data.get("rules", []) if head else [])]
    return render_template(
        "channels/routing.html",
        text=text,
        doc=doc,
        error=error,
        field=field,
        preview=shown,
        rules=rules,
        given=request.form if request.method == "POST" else {},
        **_common(),
    )


@bp.get("/routing")
@require("operator")
def routing_page() -> str:
    return _routing_page(_routing_text())


def parse_table(text: str) -> dict[str, Any]:
    """The routing table a person typed (YAML, or JSON, which is YAML too); a 400 that
    names the line if it does not parse."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = _("第 %(n)s 行", n=mark.line + 1) if mark is not None else _("路由表")
        raise ApiError(
            400, _("%(where)s：%(problem)s", where=where, problem=e.problem), field="settings"
        ) from e
    if not isinstance(data, dict):
        raise ApiError(
            400, _("路由表应是一个映射（routes、emergency、escalation…）"), field="settings"
        )
    return data


@bp.post("/routing")
@require("admin")
def routing_save() -> Response | tuple[str, int]:
    text = request.form.get("routing", "")
    try:
        settings = parse_table(text)
        api.set_routing(
            api.RoutingIn(settings=settings, version=request.form.get("version") or None)
        )
    except ApiError as e:
        return _routing_page(text, e.detail, e.field or ""), e.status
    flash(_("已保存"))
    return redirect(url_for(".routing_page"))


@bp.post("/routing/preview")
@require("operator")
def routing_preview() -> str | tuple[str, int]:
    form = request.form
    data: dict[str, Any] = {
        "rule": form.get("rule", ""),
        "severity": form.get("severity", "warning"),
        "regions": [r.strip() for r in form.get("regions", "").split(",") if r.strip()],
        "groups": [g.strip() for g in form.get("groups", "").split(",") if g.strip()],
        "region_codes": [
            c.strip() for c in form.get("region_codes", "").replace("，", ",").split(",")
        ],
        "primary_region": form.get("primary_region", ""),
        "emergency": "emergency" in form,
    }
    if form.get("at"):
        data["at"] = form["at"]
    try:
        shown = api.route_preview(api.RoutePreviewIn.model_validate(data))
    except ValidationError as e:
        return _routing_page(_routing_text(), describe(e)), 400
    except ApiError as e:
        return _routing_page(_routing_text(), e.detail, e.field or ""), e.status
    return _routing_page(_routing_text(), shown=shown)


# -- deliveries ---------------------------------------------------------------------------


def _names() -> dict[str, str]:
    return {"email": "电子邮件", **{c.id: c.name for c in parts().store.channels.list()}}


def deliveries_of(alert_id: str) -> list[dict[str, Any]]:
    """The alert's deliveries per channel, for its page (``alerts/detail.html``)."""
    names = _names()
    return [
        api.delivery_doc(m) | {"channel_name": names.get(m.channel, m.channel)}
        for m in parts().store.outbox.list(alert_id=alert_id, limit=500)
    ]


@bp.get("/channels/dead")
@require("operator")
def dead_letters() -> str:
    found = parts().store.outbox.list(status="failed", limit=500)
    names = _names()
    rows = [api.delivery_doc(m) | {"channel_name": names.get(m.channel, m.channel)} for m in found]
    return render_template("channels/dead.html", rows=rows, **_common())


@bp.post("/deliveries/<delivery_id>/resend")
@require("operator")
def delivery_resend(delivery_id: str) -> Response:
    try:
        api.resend(delivery_id)
        flash(_("已重新排队"))
    except ApiError as e:
        flash(e.detail, "error")
    back = request.form.get("back", "")
    return redirect(local_path(back) if back else url_for(".dead_letters"))


# -- the short acknowledge link ----------------------------------------------------------
# No ``require``: the code stands for the delivery's signed, expiring, single-use token,
# which the page it leads to checks (see api.console.alerts.ack_link).


@bp.get("/k/<code>")
def short_link(code: str) -> Response | tuple[str, int]:
    message: OutboxMessage | None = None
    if 8 <= len(code) <= 32 and code.replace("-", "").replace("_", "").isalnum():
        message = parts().store.outbox.by_link(code)
    if message is None or not message.ack_token:
        page = render_template("alerts/ack_link.html", state="refused", message=_("签收链接无效"))
        return page, 404
    return redirect(
        url_for("console_alerts.ack_link", alert_id=message.alert_id, t=message.ack_token)
    )


def register_globals(app: Any) -> None:
    """What other areas' templates use: an alert's deliveries."""
    app.jinja_env.globals["deliveries_of"] = deliveries_of
    app.jinja_env.globals["delivery_status_labels"] = STATUS_LABELS
    app.jinja_env.globals["local_time"] = local
    app.jinja_env.globals["zone_name"] = _zone
