"""Console strings: written in Chinese in the templates, with English available.

A user picks the language with ``?lang=en`` / ``?lang=zh`` (kept in the session);
otherwise the browser's Accept-Language decides, Chinese first. Add the English for
every new string to :data:`ENGLISH` (shared) or to the area module's ``ENGLISH``.
The other way round, refusals raised in English below the console get their Chinese in
:mod:`api.console.messages` (the ``refusal`` template filter).
"""

from __future__ import annotations

from flask import request, session

ENGLISH: dict[str, str] = {
    "舆情监测": "Public opinion monitoring",
    "登录": "Sign in",
    "退出": "Sign out",
    "用户名": "User name",
    "密码": "Password",
    "用户名或密码不正确": "Wrong user name or password",
    "尝试次数过多，请 %(seconds)s 秒后再试": "Too many attempts; try again in %(seconds)s s",
    "出错了": "Something went wrong",
    "返回首页": "Back to the start page",
    "总览": "Dashboard",
    "预警": "Alerts",
    "检索": "Search",
    "关键词库": "Keywords",
    "发现": "Discovery",
    "信息源": "Sources",
    "报告": "Reports",
    "邮件": "Mail",
    "通知渠道": "Channels",
    "接口文档": "API docs",
    "用户": "Users",
    "审计日志": "Audit log",
    "接口令牌": "API tokens",
    "紧急模式已开启": "Emergency mode is on",
    "服务暂时不可用": "Service unavailable",
    "数据存储暂时无法连接": "The data store cannot be reached",
    "监测服务正在运行，但暂时连不上数据存储（Elasticsearch 或 SQLite）。"
    "恢复后页面会自动可用，无需重启。": (
        "The monitoring service is running but cannot reach its data store (Elasticsearch or"
        " SQLite) for now. Pages work again by themselves when it is back; no restart needed."
    ),
    "请在 %(n)s 秒后刷新本页；若持续出现，请联系系统管理员。": (
        "Reload this page in %(n)s s; if this persists, call the system administrator."
    ),
}


# Role names as operators read them (the stored names stay the API's).
ROLE_LABELS = {"viewer": "查看员", "operator": "值班员", "admin": "管理员"}
ENGLISH.update(
    {"查看员": "Viewer", "值班员": "Operator", "管理员": "Administrator", "采集源": "Source"}
)


def role_label(role: str) -> str:
    return gettext(ROLE_LABELS.get(role, role))


def language() -> str:
    """``"zh"`` or ``"en"`` for this request."""
    chosen = request.args.get("lang")
    if chosen in ("zh", "en"):
        session["lang"] = chosen
        return chosen
    if session.get("lang") in ("zh", "en"):
        return str(session["lang"])
    best = request.accept_languages.best_match(["zh", "en"], default="zh")
    return "en" if best == "en" else "zh"


# Each console area's own English (blueprint name -> strings): one Chinese word may
# need different English in two areas (警告 is a severity in one, a label in another).
AREA_ENGLISH: dict[str, dict[str, str]] = {}


def gettext(text: str, **values: object) -> str:
    """``text`` in this request's language, with ``%(name)s`` filled from ``values``.
    English comes from the area of the page first, then the shared strings, then any
    area's."""
    if language() == "en":
        text = _english(text)
    return text % values if values else text


def _english(text: str) -> str:
    own = AREA_ENGLISH.get(request.blueprint or "", {})
    if text in own:
        return own[text]
    if text in ENGLISH:
        return ENGLISH[text]
    for table in AREA_ENGLISH.values():
        if text in table:
            return table[text]
    return text
