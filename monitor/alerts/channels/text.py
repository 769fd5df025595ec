"""A notice as short Chinese text for a phone: chat markdown (WeCom, DingTalk, Feishu)
and SMS. Crawled titles pass through :func:`rules.highlight.chat` (inert markdown, hits
in 【】) and their links through :func:`rules.highlight.chat_url`. Each platform's
length limit is kept by listing fewer of the event's items and saying how many more
(``等N条``), then by shortening the title."""

from __future__ import annotations

from monitor.alerts.notice import Entry, Notice
from rules.highlight import bracket, chat, chat_url, hit_spans

ACTION_TEXT = {
    "update": "新增 {more} 条相关信息，累计 {items} 条",
    "recovered": "采集源已恢复正常，告警已自动关闭",
    "escalate": "{step}，现升级通知",
    "remind": "{step}",
    "test": "这是一条测试消息，收到即说明渠道配置正确",
}


def short_time(text: str) -> str:
    """``2021-02-05 10:30`` as ``02-05 10:30``: the year is clear on a phone."""
    return text[5:] if len(text) == 16 and text[4] == "-" else text


def action_line(notice: Notice) -> str:
    """What happened, for updates, escalations and reminders; empty for a new alert."""
    template = ACTION_TEXT.get(notice.kind, "")
    return template.format(more=notice.more, items=notice.items, step=notice.step_label)


TITLE_CHARS = 120  # of the alert's title on a phone
ENTRY_CHARS = 60  # of each listed item's title


def clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def title_md(notice: Notice) -> str:
    return chat(clip(notice.title, TITLE_CHARS), hit_spans(notice.hits, "title"))


def entry_md(n: int, entry: Entry) -> str:
    title = chat(clip(entry.title, ENTRY_CHARS), hit_spans(entry.hits, "title"))
    link = chat_url(entry.url)
    shown = f"[{title}]({link})" if link else title
    return f"{n}. {shown} — {chat(entry.source, [])} · {short_time(entry.time)}"


def facts(notice: Notice) -> list[tuple[str, str]]:
    """(label, value) lines every chat message carries, values already inert."""
    out = [("方案", f"{chat(notice.rule, [])}（{notice.severity_label}）")]
    if notice.region:
        out.append(("地区", chat(notice.region, [])))
    if notice.source:
        out.append(("来源", f"{chat(notice.source, [])} · {short_time(notice.published)}"))
    if notice.kind != "recovered":
        out.append(("规模", f"共 {notice.items} 条相关信息"))
    if notice.deadline:
        out.append(("时限", f"{notice.deadline_label}截止 {short_time(notice.deadline)}"))
    return out


def markdown(notice: Notice, ack_url: str, limit: int, *, heading: str = "### ") -> str:
    """The message in the markdown the chat platforms share, at most ``limit`` bytes of
    UTF-8. ``heading`` starts the title line ("" where the platform shows a title of
    its own, as a Feishu card's header)."""
    head = [f"{heading}{chat(clip(notice.headline, TITLE_CHARS + 20), [])}"] if heading else []
    if notice.emergency:
        head.append("> **应急模式**")
    if action := action_line(notice):
        head.append(f"> {action}")
    if notice.kind != "recovered":
        head.append(f"**标题**：{title_md(notice)}")
    head += [f"**{label}**：{value}" for label, value in facts(notice)]
    tail, links = [], []
    if ack_url:
        links.append(f"[签收]({chat_url(ack_url)})")
    links.append(f"[查看]({chat_url(notice.console_url)})")
    tail.append(" ｜ ".join(links))
    tail.append(f"（时间为 {notice.zone_name or notice.zone}）")
    entries = [entry_md(i + 1, e) for i, e in enumerate(notice.entries)]
    return fit(head, entries, tail, notice.items, limit)


def fit(head: list[str], entries: list[str], tail: list[str], total: int, limit: int) -> str:
    """``head``, as many ``entries`` as fit, ``等N条`` for the rest of ``total``, then
    ``tail``; within ``limit`` bytes (the head's last lines are cut short if even it
    does not fit)."""
    for shown in range(len(entries), -1, -1):
        rest = total - shown
        lines = [*head]
        if shown:
            lines += ["**相关信息**：", *entries[:shown]]
        if rest > 0 and (shown or entries):
            lines.append(f"等 {rest} 条")
        text = "\n".join([*lines, *tail])
        if len(text.encode("utf-8")) <= limit:
            return text
    # Not even the facts fit: cut them short, never the links at the end.
    end = "\n".join(tail)
    return cut("\n".join(head), limit - len(end.encode("utf-8")) - 1) + "\n" + end


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8 on a character boundary, with
    an ellipsis if anything was cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: max(0, limit - 3)].decode("utf-8", errors="ignore") + "…"


def sms_values(notice: Notice, ack_url: str) -> dict[str, str]:
    """The placeholders an SMS template may use."""
    title = bracket(notice.title, [])
    return {
        "kind": action_line(notice) or "新预警",
        "headline": notice.headline,
        "severity": notice.severity_label,
        "rule": notice.rule,
        "title": title,
        "title20": title if len(title) <= 20 else title[:19] + "…",
        "region": notice.region or "—",
        "source": notice.source,
        "time": short_time(notice.published),
        "items": str(notice.items),
        "more": str(notice.more),
        "deadline": f"{notice.deadline_label}截止{short_time(notice.deadline)}"
        if notice.deadline
        else "",
        "ack": ack_url,
        "code": ack_url.rsplit("/", 1)[-1] if ack_url else "",
        "console": notice.console_url,
    }
